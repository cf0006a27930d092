//! The product's members, as provisioning made them.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A member's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum MemberStatus {
    /// Can sign in.
    Active,
    /// Lost access: deactivated in the identity provider.
    Deactivated,
    /// Deleted in the identity provider; only its email is kept.
    Removed,
}

impl MemberStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MemberStatus::Active => "active",
            MemberStatus::Deactivated => "deactivated",
            MemberStatus::Removed => "removed",
        }
    }
}

/// `GET /directories/{id}/members`: a member's state and the teams it is in now.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Member {
    pub id: Uuid,
    pub scim_user_id: Option<Uuid>,
    pub email: Option<String>,
    pub display_name: Option<String>,
    pub status: MemberStatus,
    /// Who manages it.
    pub managed_by: ManagedBy,
    /// Teams the member is in now (suspended memberships left out).
    pub teams: Vec<String>,
    /// The member's role (`null`: none yet, or removed).
    #[serde(default)]
    pub role: Option<String>,
    /// Where that role came from.
    #[serde(default)]
    pub role_source: Option<crate::RoleSource>,
}

/// Who manages a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum ManagedBy {
    /// Created from the directory's user.
    Provisioned,
    /// Made by hand (or by sign-in) and taken over by the first push with its email.
    Adopted,
    /// Made by hand: provisioning never changes it.
    Manual,
}

/// `POST /directories/{id}/reconcile` (applied) and `…/reconcile/preview` (a dry run):
/// what recomputing the directory's members and teams from the directory changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Reconciliation {
    /// Nothing was changed: this is what applying would do.
    pub dry_run: bool,
    /// The member records that differed from their users (the first 1000).
    pub members: Vec<MemberChange>,
    /// How many differed.
    pub changed: usize,
    /// Of those, deprovisionings the mass-deprovisioning hold keeps.
    pub held: usize,
    /// What it did to teams.
    pub teams: crate::Preview,
}

/// A member record that differed from its user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MemberChange {
    pub scim_user_id: Uuid,
    /// `null`: the record did not exist.
    pub member_id: Option<Uuid>,
    pub email: Option<String>,
    pub change: MemberChangeKind,
    /// A deprovisioning the hold keeps.
    pub held: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum MemberChangeKind {
    /// The user had no member record.
    Created,
    /// Its email or name differed.
    Updated,
    Deactivated,
    Reactivated,
    /// Its user is gone.
    Removed,
}
