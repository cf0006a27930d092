//! Request extraction and response helpers that speak SCIM on every path.

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use scim_core::ScimError;
use scim_core::schema::SCIM_CONTENT_TYPE;
use serde_json::Value;

use crate::error::ApiError;

/// A JSON request body. Bad JSON is `400 invalidSyntax`, an oversized body `413`, a
/// non-JSON media type `415`, all as SCIM Errors. Both `application/scim+json` and
/// `application/json` are accepted, as is a missing Content-Type.
pub struct ScimJson(pub Value);

impl<S: Send + Sync> FromRequest<S> for ScimJson {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(ct) = req.headers().get(header::CONTENT_TYPE) {
            let ct = ct.to_str().unwrap_or_default().to_ascii_lowercase();
            let essence = ct.split(';').next().unwrap_or_default().trim();
            if !(essence == "application/json"
                || essence == SCIM_CONTENT_TYPE
                || essence.ends_with("+json"))
            {
                return Err(ScimError::UnsupportedMediaType(format!(
                    "unsupported Content-Type {essence:?}"
                ))
                .into());
            }
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::from(ScimError::PayloadTooLarge(
                    "request body is too large".into(),
                ))
            } else {
                ApiError::from(ScimError::invalid_syntax("could not read the request body"))
            }
        })?;
        let value = serde_json::from_slice(&bytes)
            .map_err(|e| ScimError::invalid_syntax(format!("invalid JSON: {e}")))?;
        // Refused here, before the request can share a batch with others.
        if has_nul(&value) {
            return Err(ScimError::invalid_value(NUL_REFUSED).into());
        }
        Ok(ScimJson(value))
    }
}

/// Why a body holding `\u0000` is refused.
pub const NUL_REFUSED: &str = "strings must not contain the NUL character (\\u0000)";

/// Whether a key or string anywhere in `value` holds NUL, which Postgres cannot store.
pub fn has_nul(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains('\0'),
        Value::Array(a) => a.iter().any(has_nul),
        Value::Object(o) => o.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
        _ => false,
    }
}

/// A SCIM resource response with its content type and, when given, its ETag.
pub fn scim(status: StatusCode, body: &Value, etag: Option<String>) -> Response {
    // Straight into bytes (`to_string` goes through `Display`, slower); a `Value`
    // always serializes.
    scim_bytes(status, serde_json::to_vec(body).unwrap_or_default(), etag)
}

/// [`scim`] with a body already written, or being written (a stream).
pub fn scim_bytes(status: StatusCode, body: impl Into<Body>, etag: Option<String>) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(SCIM_CONTENT_TYPE),
    );
    if let Some(etag) = etag.and_then(|e| header::HeaderValue::from_str(&e).ok()) {
        headers.insert(header::ETAG, etag);
    }
    (status, headers, body.into()).into_response()
}
