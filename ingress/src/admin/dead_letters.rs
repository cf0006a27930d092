//! Events the worker gave up on, over HTTP: list, replay
//! ([`crate::commands::undelivered`]).

use axum::Json;
use axum::extract::{Extension, Path, Query, State};
use scim_admin_api::{DeadLetter as View, Replayed};
use serde::Deserialize;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::openapi::{ChangeFailures, Failures};
use super::{Actor, AdminError};
use crate::AppState;
use crate::commands::undelivered;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(replay))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    /// How many (100 unless given).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
}

/// The oldest dead letters first, at most `limit` (100 unless given, 1 to 1000).
#[utoipa::path(
    get,
    path = "/admin/v1/dead-letters",
    operation_id = "list_dead_letters",
    tag = "events",
    params(ListQuery),
    responses((status = 200, description = "The oldest dead letters first", body = [View]), Failures)
)]
async fn list(
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Vec<View>>, AdminError> {
    let limit = super::views::limit(q.limit)?;
    // 1 to 1000: a usize.
    let limit = usize::try_from(limit).unwrap_or(1);
    Ok(Json(undelivered::dead_letters(&state, limit).await?))
}

#[utoipa::path(
    post,
    path = "/admin/v1/dead-letters/{seq}/replay",
    operation_id = "replay_dead_letter",
    tag = "events",
    params(("seq" = u64, Path, description = "The event's sequence in its stream")),
    responses((status = 200, description = "Published again, and removed from the dead letters", body = Replayed), ChangeFailures)
)]
async fn replay(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(seq): Path<String>,
) -> Result<Json<Replayed>, AdminError> {
    Ok(Json(undelivered::replay(&state, &actor, &seq).await?))
}
