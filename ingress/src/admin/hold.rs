//! The mass-deprovisioning hold over HTTP: see it, apply or keep it, set its policy;
//! what each does is [`commands::hold`].

use axum::extract::{Extension, Path, Query, State};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use scim_admin_api::{Decision, Hold, HoldDecision, HoldPolicySetting, HoldStatus};
use serde::Deserialize;

use super::directories::view;
use super::views::{limit, query_id};
use super::wire::Wire;
use super::{Actor, AdminError, Body};
use crate::commands::hold::{self as hold_cmd, Decision as Decide};
use crate::{AppState, commands};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/v1/directories/{id}/hold", get(show))
        .route("/admin/v1/directories/{id}/hold/apply", post(apply))
        .route("/admin/v1/directories/{id}/hold/keep", post(keep))
        .route("/admin/v1/directories/{id}/hold-policy", put(set_policy))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HeldQuery {
    /// The next page: held members after this SCIM user id.
    after: Option<String>,
    limit: Option<i64>,
}

/// The directory's hold policy and its open hold with a page of the held members.
async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<HeldQuery>,
) -> Result<Json<HoldStatus>, AdminError> {
    let limit = limit(q.limit)?;
    let after = q
        .after
        .as_deref()
        .map(|a| query_id(a, "after"))
        .transpose()?;
    let status = hold_cmd::status(&state, &id, after, limit).await?;
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

async fn apply(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
) -> Result<Json<HoldDecision>, AdminError> {
    decide(&state, &actor, &id, Decide::Apply).await
}

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
