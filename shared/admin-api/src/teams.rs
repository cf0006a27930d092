//! Teams, how provisioning fills them, and the product's members.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Source;

/// A team with the group names mapped to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Team {
    pub id: Uuid,
    pub name: String,
    pub groups: Vec<String>,
    /// Mirrored mode: the id of the SCIM group the team mirrors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mirrors: Option<Uuid>,
    /// Mapped names pinned to the group they matched (by its id): they follow it through
    /// renames.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub pinned: std::collections::BTreeMap<String, Uuid>,
}

/// `POST /directories/{id}/teams`, and `PATCH /directories/{id}/teams/{team}` (a
/// rename).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTeam {
    pub name: String,
}

/// `PUT /directories/{id}/teams/{team}/groups`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupMapping {
    /// Group names spelled exactly as in the identity provider; empty unmaps.
    pub groups: Vec<String>,
    /// Pin each name to the one group that has it now, so a later rename of that group
    /// keeps the team (instead of matching whatever group has the name).
    #[serde(default)]
    pub pin: bool,
}

/// `POST /directories/{id}/teams/{team}/members`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewMember {
    pub email: String,
}

/// A member removed by hand (`DELETE /directories/{id}/teams/{team}/members/{member}`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RemovedMember {
    pub team: Uuid,
    pub member: Uuid,
    /// Whether the member is still in the team through provisioning.
    pub still_provisioned: bool,
}

/// A member added by hand.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AddedMember {
    pub team: Uuid,
    pub email: String,
    pub source: Source,
    /// While the member is not active, the membership is held but not in effect.
    pub suspended: bool,
}

/// `GET`/`PUT /directories/{id}/team-values`: attribute mode's value table, from each
/// attribute value (exactly as the identity provider sends it) to the name of an
/// existing team; several values may name one team.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValueTable {
    pub values: std::collections::BTreeMap<String, String>,
}
