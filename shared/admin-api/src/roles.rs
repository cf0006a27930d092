//! The product's roles: a directory's catalogue, group → role mappings, and members'
//! roles.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use uuid::Uuid;

/// One role of the product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Role {
    /// What identity providers assign (Okta's role value, an Entra app role's value)
    /// and the product keys on: 1 to 64 ASCII letters, digits, `_`, `-` or `.`.
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 64, pattern = r"^[A-Za-z0-9_.-]+$")
    )]
    pub id: String,
    /// 1 to 200 bytes of UTF-8.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200))]
    pub display_name: String,
    /// At most 200 bytes of UTF-8.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 200))]
    pub description: String,
}

/// `GET` and `PUT /directories/{id}/roles`: the directory's roles, highest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "roles": [
        {"id": "owner", "display_name": "Owner", "description": "Full control"},
        {"id": "admin", "display_name": "Admin", "description": "Manages members"},
        {"id": "member", "display_name": "Member", "description": "Uses the product"}
    ],
    "default_role": "member"
})))]
#[serde(deny_unknown_fields)]
pub struct Roles {
    /// Highest first: where a member has several roles (from its groups, or assigned
    /// by the identity provider), the first of them in this list is its role. 1 to 50.
    #[cfg_attr(feature = "openapi", schema(min_items = 1, max_items = 50))]
    pub roles: Vec<Role>,
    /// The role of provisioned members nothing else gives one: one of `roles`.
    pub default_role: String,
}

/// `GET` and `PUT /directories/{id}/role-mappings` (and `…/preview`): group names,
/// spelled exactly as in the identity provider, each with the id of its role.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"groups": {"Engineering leads": "admin", "Founders": "owner"}})))]
#[serde(deny_unknown_fields)]
pub struct RoleMappings {
    /// Group name (1 to 1024 bytes of UTF-8) → role id; at most 500.
    pub groups: BTreeMap<String, String>,
}

/// Where a member's role came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RoleSource {
    /// The user's `roles`, as the identity provider assigned them.
    IdentityProvider,
    /// A role mapped to one of the member's groups.
    Group,
    /// The directory's default role.
    Default,
    /// Set by hand (members made by hand only).
    Admin,
}

/// `PUT /directories/{id}/members/{member_id}/role`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"role": "admin"})))]
#[serde(deny_unknown_fields)]
pub struct NewRole {
    /// A role id of the directory's catalogue.
    pub role: String,
}

/// A member's role, as set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MemberRole {
    pub member_id: Uuid,
    pub role: String,
    pub source: RoleSource,
}

/// What a change of a directory's roles or role mappings would do: whose role would
/// change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RolePreview {
    /// The members whose role would change (the first 1000), by email.
    pub changes: Vec<RoleChange>,
    /// How many would change.
    pub changed: usize,
}

/// A member's role before and after a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RoleChange {
    pub member_id: Uuid,
    pub email: Option<String>,
    /// `null`: the member had no role yet.
    pub from: Option<String>,
    pub to: String,
    pub source: RoleSource,
}
