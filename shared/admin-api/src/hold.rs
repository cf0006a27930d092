//! The mass-deprovisioning hold: its policy, what an open hold keeps, and deciding it.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// A directory's threshold: deprovisionings within the window past more than
/// `min_members` **and** more than `share_percent` % of its active members are held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct HoldPolicy {
    #[cfg_attr(feature = "openapi", schema(maximum = 2147483647))]
    pub min_members: u32,
    /// 1 to 100.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 100))]
    pub share_percent: u32,
}

/// `PUT /directories/{id}/hold-policy`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"hold_policy": {"min_members": 10, "share_percent": 10}})))]
#[serde(deny_unknown_fields)]
pub struct HoldPolicySetting {
    /// `null` turns the hold off.
    pub hold_policy: Option<HoldPolicy>,
}

/// `GET /directories/{id}/hold`: the directory's policy and its open hold, if any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HoldStatus {
    pub directory_id: Uuid,
    /// `null`: the hold is off.
    pub policy: Option<HoldPolicy>,
    /// The rolling window deprovisionings are counted in.
    pub window_minutes: i64,
    pub hold: Option<Hold>,
}

/// An open hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Hold {
    #[serde(with = "time::serde::rfc3339")]
    pub since: OffsetDateTime,
    /// Why, in a sentence: the counts against the threshold as the hold began.
    pub reason: String,
    /// The threshold as the hold began.
    pub threshold: HoldPolicy,
    /// Members active when the window began.
    pub active_members: i64,
    /// Deprovisionings that took effect within the window before the hold began.
    pub deprovisioned: i64,
    /// Held deactivations and deletions.
    pub deactivations: i64,
    pub removals: i64,
    /// Members who stay active and keep teams they would have left.
    #[serde(default)]
    pub team_removals: i64,
    /// A page of the held members, in `scim_user_id` order.
    pub held: Vec<HeldMember>,
    /// Where the next page starts (`?after=`); `null` on the last.
    pub next_after: Option<Uuid>,
}

/// A member the hold keeps active.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HeldMember {
    pub member_id: Uuid,
    pub scim_user_id: Uuid,
    pub email: Option<String>,
    pub display_name: Option<String>,
    /// What the identity provider asked.
    pub change: HeldChange,
    /// `leave_teams`: the teams the member keeps, by name.
    #[serde(default)]
    pub teams: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub held_at: OffsetDateTime,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum HeldChange {
    Deactivate,
    Remove,
    /// Leave teams, staying active (a group that feeds them emptied).
    LeaveTeams,
}

/// `POST /directories/{id}/hold/apply` and `/hold/keep`: what was decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HoldDecision {
    pub decision: Decision,
    pub deactivations: i64,
    pub removals: i64,
    #[serde(default)]
    pub team_removals: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// The held deprovisionings took effect.
    Applied,
    /// The held members keep their access.
    Kept,
}
