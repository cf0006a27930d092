//! SCIM bearer tokens of a directory: issue (shown once), list, revoke. A directory
//! holds at most two live tokens, so a token is rotated by issuing the new one, pasting
//! it into the identity provider, and revoking the old one.

use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use scim_admin_api::{NewToken, Token, TokenRequest};
use scim_store::directories;

use super::wire::Wire;
use super::{Actor, AdminError, OptionalBody, parse_id};
use crate::AppState;
use crate::commands::directory::existing;
use crate::commands::tokens;

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
    Ok(Json(directories::tokens(&state.pool, dir).await?.wire()))
}

async fn create(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
    OptionalBody(request): OptionalBody<TokenRequest>,
) -> Result<(StatusCode, Json<NewToken>), AdminError> {
    let (dir_id, token) = tokens::issue(&state, &actor, &id, request.expires_at).await?;
    let new = NewToken {
        token: token.wire(),
        scim_base_url: state.base_url(dir_id),
    };
    Ok((StatusCode::CREATED, Json(new)))
}

/// Revokes a token; every replica stops accepting it at once.
async fn revoke(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path((id, token_id)): Path<(String, String)>,
) -> Result<StatusCode, AdminError> {
    let token_id = parse_id(&token_id, "token")?;
    tokens::revoke(&state, &actor, &id, token_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
