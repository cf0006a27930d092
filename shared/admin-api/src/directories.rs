//! Directories, their controls and their SCIM bearer tokens.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::IssuedToken;
pub use scim_core::profile::Idp;
/// `PUT /directories/{id}/team-mapping`, and a directory's team mode.
pub use scim_store::directories::{TeamMapping, Unmapped};

/// `POST /directories`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewDirectory {
    pub name: String,
    #[serde(default)]
    pub idp: Idp,
}

/// A directory: settings, counts and the SCIM base URL its identity provider uses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Directory {
    pub id: Uuid,
    pub name: String,
    pub idp: Idp,
    /// Most active users; `None` for no limit.
    pub seat_limit: Option<i32>,
    /// Email domains users must be on; empty accepts any.
    pub trusted_domains: Vec<String>,
    /// How provisioning assigns teams: `team_mode`, with `team_attribute` or
    /// `mirror_pattern` where the mode has one.
    #[serde(flatten)]
    pub team_mapping: TeamMapping,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_request_at: Option<OffsetDateTime>,
    pub users: i64,
    pub active_users: i64,
    pub groups: i64,
    pub teams: i64,
    /// Raised by every change of the directory's settings (its events' version).
    pub version: i64,
    pub scim_base_url: String,
    /// Until when the request log keeps what every request sends, not only failed
    /// ones; `None` when that window is not open.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub inspect_until: Option<OffsetDateTime>,
}

/// `POST /directories` answers the directory with its first token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreatedDirectory {
    #[serde(flatten)]
    pub directory: Directory,
    pub token: IssuedToken,
}

/// `DELETE /directories/{id}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeletedDirectory {
    pub deleted: Uuid,
    pub removed: Removed,
}

/// What a deleted directory held.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Removed {
    pub name: String,
    pub users: i64,
    pub groups: i64,
    pub teams: i64,
}

/// `PUT /directories/{id}/seat-limit`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeatLimit {
    /// `None` removes the limit.
    pub seat_limit: Option<i32>,
}

/// `PUT /directories/{id}/trusted-domains`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustedDomains {
    /// Empty accepts users on any domain.
    pub domains: Vec<String>,
}

/// `PUT /directories/{id}/access-rules`: the trusted domains and the seat limit in
/// one change.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessRules {
    /// Empty accepts users on any domain.
    pub trusted_domains: Vec<String>,
    /// `None`: no limit.
    pub seat_limit: Option<i32>,
}

/// `PUT /directories/{id}/inspection`: keep what every request sends for `minutes`
/// (at most [`scim_core::limits::INSPECTION_MINUTES`]), or stop (0).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inspection {
    pub minutes: u32,
}

/// `POST /directories/{id}/tokens` (the body may be left out: a token that does not
/// expire).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// When the token stops working; in the future.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
}

/// `POST /directories/{id}/tokens`: the token, and where to use it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewToken {
    #[serde(flatten)]
    pub token: IssuedToken,
    pub scim_base_url: String,
}
