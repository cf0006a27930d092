//! The one mapping from every failure to a SCIM Error response.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use scim_core::error::error_body;
use scim_core::{ScimError, ScimType};
use scim_store::failure::Failure;
use scim_store::users::USER_NAME_UNIQUE;

use scim_core::schema::SCIM_CONTENT_TYPE;

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
    /// A database connection was lost (a failover): 503 with Retry-After, unless the
    /// request is run again ([`crate::retry`]).
    #[error("database connection lost: {0}")]
    ConnectionLost(String),
    /// Optimistic writes to one resource kept colliding: 503 with Retry-After.
    #[error("too many concurrent changes to one resource")]
    Contention,
    /// A statement ran past `statement_timeout`: 503 with Retry-After.
    #[error("a database statement timed out")]
    TimedOut,
    /// The directory is over one of its quotas: 429 with Retry-After.
    #[error("{detail}")]
    TooManyRequests { retry_after: u64, detail: String },
    /// Anything else: an opaque 500; the detail goes to the log only.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<sqlx::Error> for ApiError {
    /// Outages are 503 (the identity provider retries); data Postgres refused is the
    /// client's mistake, a 4xx; only the rest is a 500.
    fn from(e: sqlx::Error) -> Self {
        match Failure::of(&e) {
            Failure::Lost => ApiError::ConnectionLost(e.to_string()),
            Failure::Outage => ApiError::Unavailable(e.to_string()),
            Failure::Timeout => ApiError::TimedOut,
            Failure::Data { code, constraint } => {
                tracing::warn!(error = %e, "the database refused a request's data");
                refused_data(&code, constraint.as_deref()).into()
            }
            Failure::Bug => ApiError::Internal(e.to_string()),
        }
    }
}

/// What a client is told when Postgres refuses its data. The edges refuse what they
/// know to be unstorable (NUL characters, oversized keys); this answers whatever
/// slips past them.
fn refused_data(code: &str, constraint: Option<&str>) -> ScimError {
    match (code, constraint) {
        (_, Some(USER_NAME_UNIQUE)) => {
            ScimError::Conflict("a user with this userName already exists".into())
        }
        ("22021" | "22P05", _) => {
            ScimError::invalid_value("a value holds a character that cannot be stored")
        }
        // A member deleted while a group change naming it was in flight.
        ("23503", _) => ScimError::invalid_value("a member named in the request no longer exists"),
        ("23505", _) => ScimError::Conflict("a resource with this value already exists".into()),
        ("54000", _) => ScimError::invalid_value("a value is too long to be stored or indexed"),
        _ => ScimError::invalid_value("the request holds a value that cannot be stored"),
    }
}

impl ApiError {
    /// The error's status and SCIM Error body; what is not the client's to know goes
    /// to the log instead.
    pub fn status_and_body(&self) -> (u16, serde_json::Value) {
        match self {
            ApiError::Scim(e) => (e.status(), e.to_body()),
            ApiError::Unavailable(e) | ApiError::ConnectionLost(e) => {
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
            ApiError::TimedOut => (
                503,
                error_body(
                    503,
                    None,
                    "the request took longer than the service allows; retry, or narrow its filter",
                ),
            ),
            ApiError::TooManyRequests { detail, .. } => (429, error_body(429, None, detail)),
            ApiError::Internal(e) => {
                tracing::error!(error = %e, "internal error");
                (500, error_body(500, None, "internal server error"))
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, body) = self.status_and_body();
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
        if let ApiError::ConnectionLost(_) = self {
            res.extensions_mut().insert(crate::retry::ConnectionLost);
        }
        if let ApiError::TooManyRequests { retry_after, .. } = self {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
        }
        res
    }
}

/// An error response the framework made itself, without a body of the content type
/// `ours` (axum's extractors answer a path that is not UTF-8, or a query that does not
/// parse, in plain text): its status, the text it carried, and the response with that
/// body taken out. Every other response comes back unchanged as the error.
pub async fn framework_error(
    res: Response,
    ours: &str,
) -> Result<(StatusCode, String, Response), Response> {
    let status = res.status();
    let typed = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with(ours));
    if !(status.is_client_error() || status.is_server_error()) || typed {
        return Err(res);
    }
    let (parts, body) = res.into_parts();
    // Framework rejections are a line of text; anything longer is cut.
    let text = match axum::body::to_bytes(body, 4096).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).trim().to_owned(),
        Err(_) => String::new(),
    };
    let detail = match text.as_str() {
        "" => status.canonical_reason().unwrap_or("error").to_owned(),
        t => t.to_owned(),
    };
    let mut res = Response::from_parts(parts, axum::body::Body::empty());
    res.headers_mut().remove(header::CONTENT_LENGTH);
    Ok((status, detail, res))
}

/// Gives every error the framework answers itself a SCIM Error body, as the handlers'
/// errors have: a client never sees plain text.
pub async fn scim_error_bodies(res: Response) -> Response {
    let (status, detail, res) = match framework_error(res, SCIM_CONTENT_TYPE).await {
        Ok(error) => error,
        Err(res) => return res,
    };
    let scim_type = (status == StatusCode::BAD_REQUEST).then_some(ScimType::InvalidSyntax);
    let body = error_body(status.as_u16(), scim_type, &detail).to_string();
    let (mut parts, _) = res.into_parts();
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(SCIM_CONTENT_TYPE),
    );
    parts.extensions.insert(ErrorDetail(detail));
    Response::from_parts(parts, axum::body::Body::from(body))
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
    refused_data("23505", Some(USER_NAME_UNIQUE)).into()
}
