//! Events the relay set aside because NATS refused them for good, over HTTP: list,
//! republish, discard ([`crate::commands::undelivered`]).

use axum::extract::{Extension, Path, Query, State};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use scim_admin_api::{Discarded, ParkedEvent, Republished};
use serde::Deserialize;
use uuid::Uuid;

use super::{Actor, AdminError};
use crate::AppState;
use crate::commands::undelivered;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/v1/outbox/parked", get(list))
        .route("/admin/v1/outbox/parked/{seq}", delete(discard))
        .route("/admin/v1/outbox/parked/{seq}/republish", post(republish))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    directory: Option<Uuid>,
}

/// The events set aside, oldest first; of one directory with `?directory=`.
async fn list(
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Vec<ParkedEvent>>, AdminError> {
    Ok(Json(undelivered::parked(&state, q.directory).await?))
}

async fn republish(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(raw): Path<String>,
) -> Result<Json<Republished>, AdminError> {
    Ok(Json(undelivered::republish(&state, &actor, &raw).await?))
}

async fn discard(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(raw): Path<String>,
) -> Result<Json<Discarded>, AdminError> {
    Ok(Json(undelivered::discard(&state, &actor, &raw).await?))
}
