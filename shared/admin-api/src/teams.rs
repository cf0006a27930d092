//! Teams, how provisioning fills them, and the product's members.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use uuid::Uuid;

use crate::MemberStatus;

/// A team with the group names mapped to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Team {
    pub id: Uuid,
    pub name: String,
    pub groups: Vec<String>,
    /// Mirrored mode: the id of the SCIM group the team mirrors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mirrors: Option<Uuid>,
    /// Mapped names pinned to the group they matched (by its id): they follow it through
    /// renames.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub pinned: BTreeMap<String, Uuid>,
}

/// `POST /directories/{id}/teams`, and `PATCH /directories/{id}/teams/{team}` (a
/// rename).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"name": "Customer Success"})))]
#[serde(deny_unknown_fields)]
pub struct NewTeam {
    /// 1 to 200 bytes of UTF-8, unique in the directory.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200))]
    pub name: String,
}

/// `PUT /directories/{id}/teams/{team}/groups`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"groups": ["Support EMEA", "Support US"], "pin": false})))]
#[serde(deny_unknown_fields)]
pub struct GroupMapping {
    /// Group names spelled exactly as in the identity provider (1 to 1024 bytes of
    /// UTF-8 each, at most 500); empty unmaps.
    #[cfg_attr(feature = "openapi", schema(max_items = 500))]
    pub groups: Vec<String>,
    /// Pin each name to the one group that has it now, so a later rename of that group
    /// keeps the team (instead of matching whatever group has the name).
    #[serde(default)]
    pub pin: bool,
}

/// `POST /directories/{id}/teams/{team}/members`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"email": "ada@acme.com"})))]
#[serde(deny_unknown_fields)]
pub struct NewMember {
    pub email: String,
}

/// A member removed by hand (`DELETE /directories/{id}/teams/{team}/members/{member}`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RemovedMember {
    pub team: Uuid,
    pub member: Uuid,
    /// Whether the member is still in the team through provisioning.
    pub still_provisioned: bool,
}

/// A member added by hand.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"values": {"Customer Success EMEA": "Customer Success", "Customer Success US": "Customer Success"}})))]
#[serde(deny_unknown_fields)]
pub struct ValueTable {
    /// Attribute value (1 to 200 bytes of UTF-8, as the identity provider sends it) →
    /// the name of an existing team; at most 500 rows.
    pub values: BTreeMap<String, String>,
}

/// Where a team membership comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// Added in the product; provisioning never removes it.
    Manual,
    /// Derived from the directory by provisioning.
    Provisioned,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Manual => "manual",
            Source::Provisioned => "provisioned",
        }
    }
}

/// `GET /directories/{id}/teams/{team}/members`: a membership and its member.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TeamMember {
    pub member_id: Uuid,
    pub scim_user_id: Option<Uuid>,
    pub email: Option<String>,
    pub display_name: Option<String>,
    pub member_status: MemberStatus,
    pub source: Source,
    /// Provisioned: the group names (or attribute values) that hold the member here.
    pub via: Vec<String>,
    /// Held while the member is not active: not in effect.
    pub suspended: bool,
}

/// What a change of a directory's teams would do (every `…/preview`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Preview {
    /// Teams that would be made.
    pub created: Vec<String>,
    pub renamed: Vec<Renamed>,
    /// Teams that would be deleted, with every membership in them.
    pub deleted: Vec<String>,
    /// By team: who would come into it (emails).
    pub joined: BTreeMap<String, Vec<String>>,
    /// By team: who would leave it (emails), those of deleted teams included.
    pub left: BTreeMap<String, Vec<String>>,
    /// By team: memberships added by hand, kept as they are under a mode where the
    /// identity provider owns membership.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub manual_kept: BTreeMap<String, Vec<String>>,
}

impl Preview {
    /// Whether a preview changes nothing (memberships kept as they are change nothing).
    pub fn is_empty(&self) -> bool {
        self.created.is_empty()
            && self.renamed.is_empty()
            && self.deleted.is_empty()
            && self.joined.is_empty()
            && self.left.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Renamed {
    pub from: String,
    pub to: String,
}
