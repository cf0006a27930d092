//! What a directory was sent and what was done: the SCIM request log, the users and
//! groups received, the audit log of admin actions.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

/// `GET /directories/{id}/requests`: a SCIM request as answered (never its token).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RequestEntry {
    pub directory_id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub method: String,
    pub path: String,
    pub status: u16,
    pub duration_ms: f32,
    /// The SCIM Error detail returned, for errors.
    pub detail: Option<String>,
    /// The user or group the request was about: the path's id, or the created one's.
    #[serde(default)]
    pub resource_id: Option<Uuid>,
    /// Its userName or displayName: as stored now, or as a failed request sent it.
    #[serde(default)]
    pub resource: Option<String>,
    /// What a failed request (or any, while the inspector window is open) sent,
    /// redacted and bounded.
    #[serde(default)]
    pub body: Option<String>,
}

/// `GET /directories/{id}/users`: a user as received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReceivedUser {
    pub id: Uuid,
    pub user_name: String,
    pub active: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// `GET /directories/{id}/groups`: a group's id and name, and when the identity
/// provider last changed it (its members included).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GroupName {
    pub id: Uuid,
    pub display_name: String,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// `GET /audit`: an admin action.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditRecord {
    pub id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub actor: String,
    /// Such as `directory.created` or `token.revoked`.
    pub action: String,
    pub directory_id: Option<Uuid>,
    pub details: Value,
}
