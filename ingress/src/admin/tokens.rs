//! SCIM bearer tokens of a directory: issue (shown once), list, revoke. A directory
//! holds at most two live tokens, so a token is rotated by issuing the new one, pasting
//! it into the identity provider, and revoking the old one.

use axum::Json;
use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use scim_admin_api::{NewToken, Token, TokenRequest};
use scim_store::directories;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::openapi::{ChangeFailures, Failures};
use super::wire::Wire;
use super::{Actor, AdminError, OptionalBody, parse_id};
use crate::AppState;
use crate::commands::directory::existing;
use crate::commands::tokens;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(revoke))
}

#[utoipa::path(
    get,
    path = "/admin/v1/directories/{id}/tokens",
    operation_id = "list_tokens",
    tag = "tokens",
    params(("id" = Uuid, Path, description = "The directory's id")),
    responses((status = 200, description = "The directory's tokens (never their secrets)", body = [Token]), Failures)
)]
async fn list(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Vec<Token>>, AdminError> {
    let dir = existing(&state.pool, &id).await?;
    Ok(Json(directories::tokens(&state.pool, dir).await?.wire()))
}

#[utoipa::path(
    post,
    path = "/admin/v1/directories/{id}/tokens",
    operation_id = "create_token",
    tag = "tokens",
    params(("id" = Uuid, Path, description = "The directory's id")),
    request_body = Option<TokenRequest>,
    responses((status = 201, description = "The token, with its secret (shown only here)", body = NewToken), ChangeFailures)
)]
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
#[utoipa::path(
    delete,
    path = "/admin/v1/directories/{id}/tokens/{token_id}",
    operation_id = "revoke_token",
    tag = "tokens",
    params(("id" = Uuid, Path, description = "The directory's id"), ("token_id" = Uuid, Path, description = "The token's id")),
    responses((status = 204, description = "Revoked"), ChangeFailures)
)]
async fn revoke(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path((id, token_id)): Path<(String, String)>,
) -> Result<StatusCode, AdminError> {
    let token_id = parse_id(&token_id, "token")?;
    tokens::revoke(&state, &actor, &id, token_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
