//! SCIM bearer tokens of a directory: issue (shown once), list, revoke. A directory
//! holds at most two live tokens, so a token is rotated by issuing the new one, pasting
//! it into the identity provider, and revoking the old one.

use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use scim_admin_api::{NewToken, Token, TokenRequest};
use scim_events::{Action, Event, ResourceType};
use scim_store::directories::{self, IssuedToken, MAX_LIVE_TOKENS, Summary};
use serde_json::json;
use sqlx::PgConnection;

use super::directories::{existing, locked, resource};
use super::{Actor, AdminError, OptionalBody, parse_id, record};
use crate::AppState;
use crate::auth::announce_change;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/v1/directories/{id}/tokens", get(list).post(create))
        .route(
            "/admin/v1/directories/{id}/tokens/{token_id}",
            delete(revoke),
        )
}

async fn list(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Vec<Token>>, AdminError> {
    let dir = existing(&state.pool, &id).await?;
    Ok(Json(directories::tokens(&state.pool, dir).await?))
}

async fn create(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
    OptionalBody(request): OptionalBody<TokenRequest>,
) -> Result<(StatusCode, Json<NewToken>), AdminError> {
    if request
        .expires_at
        .is_some_and(|e| e <= time::OffsetDateTime::now_utc())
    {
        return Err(AdminError::Invalid(
            "expires_at must be in the future".into(),
        ));
    }
    let mut tx = state.pool.begin().await?;
    let dir = locked(&mut tx, &id).await?;
    let dir_id = dir.directory.id;
    if directories::live_tokens(&mut *tx, dir_id).await? >= MAX_LIVE_TOKENS {
        return Err(AdminError::Conflict(format!(
            "the directory already has {MAX_LIVE_TOKENS} live tokens; revoke one first"
        )));
    }
    let token =
        directories::issue_token(&mut *tx, dir_id, request.expires_at, actor.1.token_origin())
            .await?;
    announce_token(&mut tx, &state, &actor, &dir, &token).await?;
    tx.commit().await?;
    let new = NewToken {
        token,
        scim_base_url: state.base_url(dir_id),
    };
    Ok((StatusCode::CREATED, Json(new)))
}

/// Records a new token of the directory: its audit record and `directory.token_created`
/// (its id and prefix, never the secret), at the directory's next version, which it
/// returns.
pub(super) async fn announce_token(
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
    let mut res = resource(dir);
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

/// Revokes a token; every replica stops accepting it at once.
async fn revoke(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path((id, token_id)): Path<(String, String)>,
) -> Result<StatusCode, AdminError> {
    let mut tx = state.pool.begin().await?;
    let dir = locked(&mut tx, &id).await?;
    let dir_id = dir.directory.id;
    let token_id = parse_id(&token_id, "token")?;
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
        &state,
        &actor,
        dir_id,
        event,
        json!({"token": prefix}),
    )
    .await?;
    tx.commit().await?;
    announce_change(&state, dir_id).await;
    Ok(StatusCode::NO_CONTENT)
}
