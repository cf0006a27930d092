//! SCIM protocol errors (RFC 7644 §3.12): what a client did wrong, with the status and
//! `scimType` it must see. Infrastructure failures are not here: each binary maps them.

use thiserror::Error;

/// The schema of a SCIM Error message (RFC 7644 §3.12).
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// The `scimType` values of RFC 7644 §3.12 table 9 that this service returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScimType {
    InvalidFilter,
    TooMany,
    Uniqueness,
    Mutability,
    InvalidSyntax,
    InvalidPath,
    NoTarget,
    InvalidValue,
    InvalidVers,
}

impl ScimType {
    pub fn as_str(self) -> &'static str {
        match self {
            ScimType::InvalidFilter => "invalidFilter",
            ScimType::TooMany => "tooMany",
            ScimType::Uniqueness => "uniqueness",
            ScimType::Mutability => "mutability",
            ScimType::InvalidSyntax => "invalidSyntax",
            ScimType::InvalidPath => "invalidPath",
            ScimType::NoTarget => "noTarget",
            ScimType::InvalidValue => "invalidValue",
            ScimType::InvalidVers => "invalidVers",
        }
    }
}

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ScimError {
    /// 400 with a `scimType`.
    #[error("{detail}")]
    BadRequest { scim_type: ScimType, detail: String },
    /// 401: missing, malformed, unknown or revoked bearer token.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: the directory's controls do not allow it (such as its seat limit).
    #[error("{0}")]
    Forbidden(String),
    /// 404: the resource does not exist in the caller's directory.
    #[error("{0}")]
    NotFound(String),
    /// 409 `uniqueness`.
    #[error("{0}")]
    Conflict(String),
    /// 412: an `If-Match` precondition did not hold.
    #[error("{0}")]
    PreconditionFailed(String),
    /// 413: body larger than the advertised limit.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// 415: a body that is not JSON.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 405 for a method the endpoint does not support.
    #[error("{0}")]
    MethodNotAllowed(String),
}

impl ScimError {
    pub fn bad_request(scim_type: ScimType, detail: impl Into<String>) -> Self {
        ScimError::BadRequest {
            scim_type,
            detail: detail.into(),
        }
    }
    pub fn invalid_value(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidValue, detail)
    }
    pub fn invalid_syntax(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidSyntax, detail)
    }
    pub fn invalid_filter(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidFilter, detail)
    }
    pub fn invalid_path(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidPath, detail)
    }
    pub fn no_target(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::NoTarget, detail)
    }
    pub fn mutability(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::Mutability, detail)
    }

    pub fn status(&self) -> u16 {
        match self {
            ScimError::BadRequest { .. } => 400,
            ScimError::Unauthorized(_) => 401,
            ScimError::Forbidden(_) => 403,
            ScimError::NotFound(_) => 404,
            ScimError::MethodNotAllowed(_) => 405,
            ScimError::Conflict(_) => 409,
            ScimError::PreconditionFailed(_) => 412,
            ScimError::PayloadTooLarge(_) => 413,
            ScimError::UnsupportedMediaType(_) => 415,
        }
    }

    pub fn scim_type(&self) -> Option<ScimType> {
        match self {
            ScimError::BadRequest { scim_type, .. } => Some(*scim_type),
            ScimError::Conflict(_) => Some(ScimType::Uniqueness),
            _ => None,
        }
    }

    /// The RFC 7644 §3.12 Error resource. `status` is a string, as the RFC and Okta's
    /// SPEC test require.
    pub fn to_body(&self) -> serde_json::Value {
        error_body(self.status(), self.scim_type(), &self.to_string())
    }
}

/// An RFC 7644 §3.12 Error resource for any status, used also for server-side failures.
pub fn error_body(status: u16, scim_type: Option<ScimType>, detail: &str) -> serde_json::Value {
    let mut body = serde_json::json!({
        "schemas": [ERROR_SCHEMA],
        "status": status.to_string(),
        "detail": detail,
    });
    if let Some(t) = scim_type {
        body["scimType"] = t.as_str().into();
    }
    body
}
