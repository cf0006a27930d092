//! The one mapping from every failure to a SCIM Error response.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use scim_shared::ScimError;
use scim_shared::db::users::USER_NAME_UNIQUE;
use scim_shared::error::error_body;

use crate::extract::SCIM_CONTENT_TYPE;

/// The detail of an error response, put in its extensions for the request log.
#[derive(Debug, Clone)]
pub struct ErrorDetail(pub String);

#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    /// The client's mistake: its status and `scimType` are in the error.
    #[error(transparent)]
    Scim(#[from] ScimError),
    /// A dependency is down: 503 with Retry-After, so the identity provider retries.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Optimistic writes to one resource kept colliding: 503 with Retry-After.
    #[error("too many concurrent changes to one resource")]
    Contention,
    /// Anything else: an opaque 500; the detail goes to the log only.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Database(db) if db.constraint() == Some(USER_NAME_UNIQUE) => {
                user_name_taken()
            }
            // Text Postgres cannot represent (NUL): the edges refuse it, this catches
            // any path that does not.
            sqlx::Error::Database(db)
                if matches!(db.code().as_deref(), Some("22021" | "22P05")) =>
            {
                ScimError::invalid_value("a value holds a character that cannot be stored").into()
            }
            // A member deleted while a group change naming it was in flight.
            sqlx::Error::Database(db)
                if db.kind() == sqlx::error::ErrorKind::ForeignKeyViolation =>
            {
                ScimError::invalid_value("a member named in the request no longer exists").into()
            }
            sqlx::Error::PoolTimedOut
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolClosed => ApiError::Unavailable(e.to_string()),
            _ => ApiError::Internal(e.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, body) = match &self {
            ApiError::Scim(e) => (e.status(), e.to_body()),
            ApiError::Unavailable(e) => {
                tracing::warn!(error = %e, "database unavailable");
                (
                    503,
                    error_body(
                        503,
                        None,
                        "the service is temporarily unavailable; retry later",
                    ),
                )
            }
            ApiError::Contention => (
                503,
                error_body(
                    503,
                    None,
                    "the resource is being changed concurrently; retry",
                ),
            ),
            ApiError::Internal(e) => {
                tracing::error!(error = %e, "internal error");
                (500, error_body(500, None, "internal server error"))
            }
        };
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let detail = body["detail"].as_str().unwrap_or_default().to_owned();
        let mut res = (
            status,
            [(header::CONTENT_TYPE, SCIM_CONTENT_TYPE)],
            body.to_string(),
        )
            .into_response();
        res.extensions_mut().insert(ErrorDetail(detail));
        match status {
            StatusCode::UNAUTHORIZED => {
                res.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            StatusCode::SERVICE_UNAVAILABLE => {
                res.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            }
            _ => {}
        }
        res
    }
}

/// Body for a panic caught by the panic layer: a SCIM 500, never an HTML page.
pub fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    ApiError::Internal("handler panicked".into()).into_response()
}

pub async fn not_found() -> ApiError {
    ScimError::NotFound("no such endpoint".into()).into()
}

pub async fn method_not_allowed() -> ApiError {
    ScimError::MethodNotAllowed("method not allowed on this endpoint".into()).into()
}

/// 409 `uniqueness`: the userName is taken in this directory.
pub fn user_name_taken() -> ApiError {
    ScimError::Conflict("a user with this userName already exists".into()).into()
}
