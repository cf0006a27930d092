//! The deployment's pipeline at a glance (the console's header), as
//! [`commands::pipeline`] reads it.

use axum::Json;
use axum::extract::State;
use scim_admin_api::Pipeline;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AdminError;
use super::openapi::Failures;
use super::wire::Wire;
use crate::{AppState, commands};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(pipeline))
}

#[utoipa::path(
    get,
    path = "/admin/v1/pipeline",
    operation_id = "get_pipeline",
    tag = "events",
    responses((status = 200, description = "The outbox, each consumer's lag, the dead letters", body = Pipeline), Failures)
)]
async fn pipeline(State(state): State<AppState>) -> Result<Json<Pipeline>, AdminError> {
    let status = commands::pipeline::status(&state).await?;
    Ok(Json(Pipeline {
        outbox: status.outbox.wire(),
        consumers: status.consumers,
        dead_letters: status.dead_letters,
    }))
}
