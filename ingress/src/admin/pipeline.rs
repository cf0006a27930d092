//! The deployment's pipeline at a glance (the console's header), as
//! [`commands::pipeline`] reads it.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use scim_admin_api::Pipeline;

use super::AdminError;
use crate::{AppState, commands};

pub fn router() -> Router<AppState> {
    Router::new().route("/admin/v1/pipeline", get(pipeline))
}

async fn pipeline(State(state): State<AppState>) -> Result<Json<Pipeline>, AdminError> {
    Ok(Json(commands::pipeline::status(&state).await?))
}
