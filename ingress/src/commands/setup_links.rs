//! A directory's setup links as admin changes make them: issued for a bounded time,
//! revoked; each audited, the link's secret never.

use scim_store::audit;
use scim_store::setup::{self, IssuedLink, LinkInfo};
use serde_json::json;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::admin::{Actor, AdminError};
use super::directory::locked;
use crate::AppState;

/// How long a link lives unless the operator says otherwise, and at most.
const DEFAULT_HOURS: i64 = 72;
const MAX_DAYS: i64 = 30;

/// Issues a link to the setup page of the directory `id` names, until `expires_at`
/// (72 h when not given); with `allow_controls` its page may change the access rules and
/// the team mode.
pub(crate) async fn issue(
    state: &AppState,
    actor: &Actor,
    id: &str,
    expires_at: Option<OffsetDateTime>,
    allow_controls: bool,
) -> Result<IssuedLink, AdminError> {
    let now = OffsetDateTime::now_utc();
    let expires_at = expires_at.unwrap_or(now + Duration::hours(DEFAULT_HOURS));
    if expires_at <= now || expires_at > now + Duration::days(MAX_DAYS) {
        return Err(AdminError::Invalid(format!(
            "expires_at must be in the future and at most {MAX_DAYS} days ahead"
        )));
    }
    let mut tx = state.pool.begin().await?;
    let dir = locked(&mut tx, id).await?.directory.id;
    let issued = setup::issue_link(&mut *tx, dir, expires_at, allow_controls).await?;
    let details = json!({
        "link": issued.info.id,
        "expires_at": issued.info.expires_at.unix_timestamp(),
        "allow_controls": allow_controls,
    });
    audit::record(
        &mut *tx,
        &actor.0,
        "setup_link.created",
        Some(dir),
        &details,
    )
    .await?;
    tx.commit().await?;
    Ok(issued)
}

/// Revokes the link, which ends its sessions at once.
pub(crate) async fn revoke(
    state: &AppState,
    actor: &Actor,
    id: &str,
    link: Uuid,
) -> Result<LinkInfo, AdminError> {
    let mut tx = state.pool.begin().await?;
    let dir = locked(&mut tx, id).await?.directory.id;
    let revoked = setup::revoke_link(&mut tx, dir, link)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("no setup link {link} in directory {dir}")))?;
    let details = json!({"link": link});
    audit::record(
        &mut *tx,
        &actor.0,
        "setup_link.revoked",
        Some(dir),
        &details,
    )
    .await?;
    tx.commit().await?;
    Ok(revoked)
}
