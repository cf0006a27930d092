//! Events the worker gave up on, over HTTP: list, replay
//! ([`crate::commands::undelivered`]).

use axum::extract::{Extension, Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use scim_admin_api::{DeadLetter as View, Replayed};
use serde::Deserialize;

use super::{Actor, AdminError};
use crate::AppState;
use crate::commands::undelivered;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/v1/dead-letters", get(list))
        .route("/admin/v1/dead-letters/{seq}/replay", post(replay))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    limit: Option<usize>,
}

/// The oldest dead letters first, at most `limit` (100).
async fn list(
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Vec<View>>, AdminError> {
    Ok(Json(undelivered::dead_letters(&state, q.limit).await?))
}

async fn replay(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(seq): Path<String>,
) -> Result<Json<Replayed>, AdminError> {
    Ok(Json(undelivered::replay(&state, &actor, &seq).await?))
}
