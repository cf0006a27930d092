//! The mass-deprovisioning hold as admins decide it: its policy, what an open hold
//! keeps, and applying or keeping it. Each decision is audited and is an event
//! (`directory.deprovisioning_applied` / `_kept`); what it does to members is
//! [`scim_product::hold`], the code the worker screens with.

use scim_core::hold::Policy;
use scim_events::Action;
use scim_product::hold::{self, HeldMember, Hold};
use scim_store::directories::{self, Summary};
use serde_json::json;
use uuid::Uuid;

use super::admin::{Actor, AdminError, record};
use super::directories::change_setting;
use super::directory::{existing, locked};
use crate::AppState;

/// What an admin decides about an open hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    Apply,
    Keep,
}

/// The directory's policy and a page of its open hold (members after `after`).
pub(crate) struct Status {
    pub directory: Uuid,
    pub policy: Option<Policy>,
    pub hold: Option<(Hold, Vec<HeldMember>)>,
}

pub(crate) async fn status(
    state: &AppState,
    id: &str,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Status, AdminError> {
    let dir = existing(&state.pool, id).await?;
    let policy = directories::hold_policy(&state.pool, dir).await?;
    let hold = match hold::show(&state.pool, dir).await? {
        Some(h) => Some((h, hold::held_page(&state.pool, dir, after, limit).await?)),
        None => None,
    };
    Ok(Status {
        directory: dir,
        policy,
        hold,
    })
}

/// Applies or keeps the directory's open hold; 409 when none is open.
pub(crate) async fn decide(
    state: &AppState,
    actor: &Actor,
    id: &str,
    decision: Decision,
) -> Result<Hold, AdminError> {
    let mut tx = state.pool.begin().await?;
    let dir = locked(&mut tx, id).await?;
    let dir_id = dir.directory.id;
    let ended = match decision {
        Decision::Apply => hold::decide::apply(&mut tx, dir_id).await?,
        Decision::Keep => hold::decide::keep(&mut tx, dir_id).await?,
    };
    let ended = ended.ok_or_else(|| {
        AdminError::Conflict(format!(
            "directory {dir_id} has no open hold: nothing is held"
        ))
    })?;
    let version = directories::bump_version(&mut tx, dir_id).await?;
    let action = match decision {
        Decision::Apply => Action::DeprovisioningApplied,
        Decision::Keep => Action::DeprovisioningKept,
    };
    let event = ended.event(&Summary { version, ..dir }, action, version);
    let details = json!({
        "deactivations": ended.deactivations,
        "removals": ended.removals,
        "team_removals": ended.team_removals,
    });
    record(&mut tx, state, actor, dir_id, event, details).await?;
    tx.commit().await?;
    Ok(ended)
}

/// Sets the directory's hold policy (`None`: off); recorded as `directory.updated` when
/// it changed. An open hold stays open: turning the hold off does not decide it.
pub(crate) async fn set_policy(
    state: &AppState,
    actor: &Actor,
    id: &str,
    policy: Option<Policy>,
) -> Result<Summary, AdminError> {
    change_setting(
        state,
        actor,
        id,
        |s| &mut s.hold,
        |p| *p = policy,
        async |tx, dir, p| directories::set_hold_policy(tx, dir, *p).await,
    )
    .await
}

/// Why a hold holds, in a sentence.
pub(crate) fn reason(h: &Hold) -> String {
    format!(
        "more than {} members and more than {} % of the {} members active were deprovisioned \
         within {} minutes ({} took effect before the hold): the rest are held",
        h.policy.min_members,
        h.policy.share_percent,
        h.active_members,
        scim_core::hold::WINDOW_MINUTES,
        h.deprovisioned,
    )
}

/// A hold policy as a request sends it: a share of 1 to 100 %.
pub(crate) fn policy(min_members: u32, share_percent: u32) -> Result<Policy, AdminError> {
    Policy::new(min_members, share_percent).map_err(AdminError::Invalid)
}
