//! What users and groups share as SCIM resources: their `meta`, the references between
//! them (a group's members, a user's groups), and SCIM's booleans, which some identity
//! providers send as strings (`"True"`).

use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Resource metadata (RFC 7643 §3.1).
#[derive(Debug, Clone, PartialEq)]
pub struct Meta {
    pub created: OffsetDateTime,
    pub last_modified: OffsetDateTime,
    pub location: String,
    pub version: i64,
}

impl Meta {
    pub fn etag(&self) -> String {
        format!("W/\"{}\"", self.version)
    }

    pub fn to_json(&self, resource_type: &str) -> Value {
        serde_json::json!(self.view(resource_type))
    }

    pub(crate) fn view<'a>(&'a self, resource_type: &'a str) -> MetaView<'a> {
        MetaView {
            resource_type,
            created: rfc3339(self.created),
            last_modified: rfc3339(self.last_modified),
            location: &self.location,
            version: self.etag(),
        }
    }
}

/// `meta` as a representation shows it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MetaView<'a> {
    resource_type: &'a str,
    created: String,
    last_modified: String,
    location: &'a str,
    version: String,
}

/// A reference between a group and a user, as responses show it: a group's member,
/// or one of a user's groups.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct Reference {
    pub id: uuid::Uuid,
    /// The user's displayName (or userName), or the group's displayName.
    pub display: String,
}

/// A time as SCIM writes it (RFC 3339).
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// `true` or `false` in any case, as a boolean attribute or filter value may be sent.
pub fn parse_bool(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}
