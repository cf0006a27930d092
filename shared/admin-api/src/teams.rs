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
}

/// `POST /directories/{id}/teams`.
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
}

/// `POST /directories/{id}/teams/{team}/members`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewMember {
    pub email: String,
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
