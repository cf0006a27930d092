//! A directory's SCIM tokens as admin changes record them: each new or revoked token is
//! an audit record and a directory event naming it (never its secret).

use scim_events::{Action, Event, ResourceType};
use scim_store::directories::{self, IssuedToken, MAX_LIVE_TOKENS, Summary};
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use super::admin::{Actor, AdminError, record};
use super::directory::locked;
use crate::AppState;
use crate::auth::announce_change;

/// Issues a token for the directory `id` names (at most [`MAX_LIVE_TOKENS`] live), with
/// the origin its actor gives it; the directory and the token, whose secret exists only
/// in this answer.
pub(crate) async fn issue(
    state: &AppState,
    actor: &Actor,
    id: &str,
    expires_at: Option<time::OffsetDateTime>,
) -> Result<(Uuid, IssuedToken), AdminError> {
    if expires_at.is_some_and(|e| e <= time::OffsetDateTime::now_utc()) {
        return Err(AdminError::Invalid(
            "expires_at must be in the future".into(),
        ));
    }
    let mut tx = state.pool.begin().await?;
    let dir = locked(&mut tx, id).await?;
    let dir_id = dir.directory.id;
    if directories::live_tokens(&mut *tx, dir_id).await? >= MAX_LIVE_TOKENS {
        return Err(AdminError::Conflict(format!(
            "the directory already has {MAX_LIVE_TOKENS} live tokens; revoke one first"
        )));
    }
    let token =
        directories::issue_token(&mut *tx, dir_id, expires_at, actor.1.token_origin()).await?;
    announce_token(&mut tx, state, actor, &dir, &token).await?;
    tx.commit().await?;
    Ok((dir_id, token))
}

/// Revokes a live token of the directory `id` names; every replica stops accepting it
/// at once.
pub(crate) async fn revoke(
    state: &AppState,
    actor: &Actor,
    id: &str,
    token_id: Uuid,
) -> Result<(), AdminError> {
    let mut tx = state.pool.begin().await?;
    let dir = locked(&mut tx, id).await?;
    let dir_id = dir.directory.id;
    if !directories::revoke_token(&mut *tx, dir_id, token_id).await? {
        return Err(AdminError::NotFound(format!(
            "no live token {token_id} in directory {dir_id}"
        )));
    }
    let version = directories::bump_version(&mut tx, dir_id).await?;
    let revoked = directories::tokens(&mut *tx, dir_id)
        .await?
        .into_iter()
        .find(|t| t.id == token_id);
    let prefix = revoked
        .as_ref()
        .map(|t| t.prefix.clone())
        .unwrap_or_default();
    let expires_at = revoked.and_then(|t| t.expires_at);
    let event = token_event(
        &dir,
        Action::TokenRevoked,
        version,
        (token_id, &prefix, expires_at),
    );
    record(
        &mut tx,
        state,
        actor,
        dir_id,
        event,
        json!({"token": prefix}),
    )
    .await?;
    tx.commit().await?;
    announce_change(state, dir_id).await;
    Ok(())
}

/// Records a new token of the directory: its audit record and `directory.token_created`
/// (its id and prefix, never the secret), at the directory's next version, which it
/// returns.
pub(crate) async fn announce_token(
    tx: &mut PgConnection,
    state: &AppState,
    actor: &Actor,
    dir: &Summary,
    token: &IssuedToken,
) -> Result<i64, AdminError> {
    let dir_id = dir.directory.id;
    let version = directories::bump_version(tx, dir_id).await?;
    let event = token_event(
        dir,
        Action::TokenCreated,
        version,
        (token.id, &token.prefix, token.expires_at),
    );
    record(
        tx,
        state,
        actor,
        dir_id,
        event,
        json!({"token": token.prefix}),
    )
    .await?;
    Ok(version)
}

/// A directory event about one of its tokens (`directory.token_created`,
/// `token_revoked`, `token_expiring`): the directory, with the token as `token`, which
/// one (id and prefix, never its secret) and when it expires.
pub(crate) fn token_event(
    dir: &Summary,
    action: Action,
    version: i64,
    (id, prefix, expires_at): (uuid::Uuid, &str, Option<time::OffsetDateTime>),
) -> Event {
    let mut res = dir.event_resource();
    res["token"] = json!({"id": id, "prefix": prefix, "expires_at": expires_at.map(scim_core::resource::rfc3339)});
    let dir_id = dir.directory.id;
    Event::new(
        dir_id,
        ResourceType::Directory,
        dir_id,
        action,
        version,
        res,
        None,
    )
}
