//! Setup links: a directory's way in for the customer's IT admin.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// A setup link as listed: never its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SetupLink {
    pub id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
    /// When the link first opened a session.
    #[serde(with = "time::serde::rfc3339::option")]
    pub first_used_at: Option<OffsetDateTime>,
    /// Whether the page may change the directory's trusted domains, seat limit and
    /// team mode.
    pub allow_controls: bool,
}

/// `POST /directories/{id}/setup-links` (the body may be left out: a link that expires
/// in 72 hours and may not change the directory's controls).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"expires_at": "2026-12-14T12:00:00Z", "allow_controls": true})))]
#[serde(deny_unknown_fields)]
pub struct NewSetupLink {
    /// When the link stops working; in the future, at most 30 days ahead.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    /// Whether the page may change the directory's trusted domains and seat limit.
    #[serde(default)]
    pub allow_controls: bool,
}

/// A new setup link: its URL (holding the secret) is shown only now.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IssuedSetupLink {
    /// `{PUBLIC_BASE_URL}/setup#setup_…`: the secret travels in the fragment, which
    /// browsers never send to a server, so it stays out of every access log.
    pub url: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    pub link: SetupLink,
}
