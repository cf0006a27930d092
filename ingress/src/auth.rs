//! Bearer-token authentication: a token belongs to exactly one directory, and is only
//! accepted under that directory's base URL.

use axum::extract::{Path, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;
use scim_shared::ScimError;
use scim_shared::db::directories;
use std::collections::HashMap;
use uuid::Uuid;

use crate::AppState;
use crate::error::ApiError;

/// The authenticated directory, put in request extensions for handlers.
#[derive(Debug, Clone, Copy)]
pub struct DirectoryId(pub Uuid);

pub async fn require_token(
    State(state): State<AppState>,
    Path(params): Path<HashMap<String, String>>,
    mut req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let unauthorized = || {
        ApiError::from(ScimError::Unauthorized(
            "a valid bearer token is required".into(),
        ))
    };
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .ok_or_else(unauthorized)?;
    let directory = directories::authenticate(&state.pool, token)
        .await?
        .ok_or_else(unauthorized)?;
    // A token is only good under its own directory's base URL.
    let path_directory = params
        .get("directory_id")
        .and_then(|d| Uuid::try_parse(d).ok());
    if path_directory != Some(directory) {
        return Err(unauthorized());
    }
    req.extensions_mut().insert(DirectoryId(directory));
    Ok(next.run(req).await)
}
