//! The deployment's pipeline at a glance (the console's header), as
//! [`commands::pipeline`] reads it.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use scim_admin_api::Pipeline;

use super::AdminError;
use super::wire::Wire;
use crate::{AppState, commands};

pub fn router() -> Router<AppState> {
    Router::new().route("/admin/v1/pipeline", get(pipeline))
}

async fn pipeline(State(state): State<AppState>) -> Result<Json<Pipeline>, AdminError> {
    let status = commands::pipeline::status(&state).await?;
    Ok(Json(Pipeline {
        outbox: status.outbox.wire(),
        consumers: status.consumers,
        dead_letters: status.dead_letters,
    }))
}
