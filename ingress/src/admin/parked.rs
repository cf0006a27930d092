//! Events the relay set aside because NATS refused them for good, over HTTP: list,
//! republish, discard ([`crate::commands::undelivered`]).

use axum::Json;
use axum::extract::{Extension, Path, Query, State};
use scim_admin_api::{Discarded, ParkedEvent, Republished};
use serde::Deserialize;
use uuid::Uuid;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::openapi::{ChangeFailures, Failures};
use super::{Actor, AdminError};
use crate::AppState;
use crate::commands::undelivered;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(discard))
        .routes(routes!(republish))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    directory: Option<Uuid>,
}

/// The events set aside, oldest first; of one directory with `?directory=`.
#[utoipa::path(
    get,
    path = "/admin/v1/outbox/parked",
    operation_id = "list_parked_events",
    tag = "events",
    params(ListQuery),
    responses((status = 200, description = "The events set aside, oldest first", body = [ParkedEvent]), Failures)
)]
async fn list(
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Vec<ParkedEvent>>, AdminError> {
    Ok(Json(undelivered::parked(&state, q.directory).await?))
}

#[utoipa::path(
    post,
    path = "/admin/v1/outbox/parked/{seq}/republish",
    operation_id = "republish_parked_event",
    tag = "events",
    params(("seq" = u64, Path, description = "The event's sequence in the outbox")),
    responses((status = 200, description = "Back in the outbox, to be published", body = Republished), ChangeFailures)
)]
async fn republish(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(raw): Path<String>,
) -> Result<Json<Republished>, AdminError> {
    Ok(Json(undelivered::republish(&state, &actor, &raw).await?))
}

#[utoipa::path(
    delete,
    path = "/admin/v1/outbox/parked/{seq}",
    operation_id = "discard_parked_event",
    tag = "events",
    params(("seq" = u64, Path, description = "The event's sequence in the outbox")),
    responses((status = 200, description = "Discarded", body = Discarded), ChangeFailures)
)]
async fn discard(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(raw): Path<String>,
) -> Result<Json<Discarded>, AdminError> {
    Ok(Json(undelivered::discard(&state, &actor, &raw).await?))
}
