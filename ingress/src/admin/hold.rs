//! The mass-deprovisioning hold over HTTP: see it, apply or keep it, set its policy;
//! what each does is [`commands::hold`].

use axum::Json;
use axum::extract::{Extension, Path, Query, State};
use scim_admin_api::{Decision, Hold, HoldDecision, HoldPolicySetting, HoldStatus};
use serde::Deserialize;
use uuid::Uuid;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::directories::view;
use super::openapi::{ChangeFailures, Failures};
use super::views::limit;
use super::wire::Wire;
use super::{Actor, AdminError, Body};
use crate::commands::hold::{self as hold_cmd, Decision as Decide};
use crate::{AppState, commands};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(show))
        .routes(routes!(apply))
        .routes(routes!(keep))
        .routes(routes!(set_policy))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct HeldQuery {
    /// The next page: held members after this SCIM user id.
    after: Option<Uuid>,
    /// How many (100 unless given).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
}

/// The directory's hold policy and its open hold with a page of the held members.
#[utoipa::path(
    get,
    path = "/admin/v1/directories/{id}/hold",
    operation_id = "get_hold",
    tag = "hold",
    params(("id" = Uuid, Path, description = "The directory's id"), HeldQuery),
    responses((status = 200, description = "The policy and the open hold, with a page of its held members", body = HoldStatus), Failures)
)]
async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<HeldQuery>,
) -> Result<Json<HoldStatus>, AdminError> {
    let limit = limit(q.limit)?;
    let status = hold_cmd::status(&state, &id, q.after, limit).await?;
    let hold = status.hold.map(|(h, held)| {
        let next_after = (held.len() as i64 == limit)
            .then(|| held.last().map(|m| m.scim_user_id))
            .flatten();
        Hold {
            since: h.since,
            reason: hold_cmd::reason(&h),
            threshold: h.policy.wire(),
            active_members: h.active_members,
            deprovisioned: h.deprovisioned,
            deactivations: h.deactivations,
            removals: h.removals,
            team_removals: h.team_removals,
            held: held.wire(),
            next_after,
        }
    });
    Ok(Json(HoldStatus {
        directory_id: status.directory,
        policy: status.policy.wire(),
        window_minutes: scim_core::hold::WINDOW_MINUTES,
        hold,
    }))
}

#[utoipa::path(
    post,
    path = "/admin/v1/directories/{id}/hold/apply",
    operation_id = "apply_hold",
    tag = "hold",
    params(("id" = Uuid, Path, description = "The directory's id")),
    responses((status = 200, description = "What was applied", body = HoldDecision), ChangeFailures)
)]
async fn apply(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
) -> Result<Json<HoldDecision>, AdminError> {
    decide(&state, &actor, &id, Decide::Apply).await
}

#[utoipa::path(
    post,
    path = "/admin/v1/directories/{id}/hold/keep",
    operation_id = "keep_hold",
    tag = "hold",
    params(("id" = Uuid, Path, description = "The directory's id")),
    responses((status = 200, description = "What was kept", body = HoldDecision), ChangeFailures)
)]
async fn keep(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
) -> Result<Json<HoldDecision>, AdminError> {
    decide(&state, &actor, &id, Decide::Keep).await
}

async fn decide(
    state: &AppState,
    actor: &Actor,
    id: &str,
    decision: Decide,
) -> Result<Json<HoldDecision>, AdminError> {
    let ended = hold_cmd::decide(state, actor, id, decision).await?;
    Ok(Json(HoldDecision {
        decision: match decision {
            Decide::Apply => Decision::Applied,
            Decide::Keep => Decision::Kept,
        },
        deactivations: ended.deactivations,
        removals: ended.removals,
        team_removals: ended.team_removals,
    }))
}

#[utoipa::path(
    put,
    path = "/admin/v1/directories/{id}/hold-policy",
    operation_id = "set_hold_policy",
    tag = "hold",
    params(("id" = Uuid, Path, description = "The directory's id")),
    request_body = HoldPolicySetting,
    responses((status = 200, description = "The directory, changed", body = scim_admin_api::Directory), ChangeFailures)
)]
async fn set_policy(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
    Body(body): Body<HoldPolicySetting>,
) -> Result<Json<scim_admin_api::Directory>, AdminError> {
    let policy = body
        .hold_policy
        .map(|p| hold_cmd::policy(p.min_members, p.share_percent))
        .transpose()?;
    let after = commands::hold::set_policy(&state, &actor, &id, policy).await?;
    Ok(Json(view(&state, &after)))
}
