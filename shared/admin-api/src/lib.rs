//! The admin API's contract: the body of every request to `/admin/v1` and of every
//! answer, as the ingress's handlers write them and `scimctl` reads them. Changing a
//! type here changes both sides at once; `docs/admin-api.md` lists the endpoints.

mod directories;
mod hold;
mod logs;
mod members;
mod pipeline;
mod roles;
mod setup;
mod teams;
mod undelivered;

pub use directories::{
    AccessRules, CreatedDirectory, DeletedDirectory, Directory, ExistingMembers,
    ExistingMembersSetting, Idp, Inspection, IssuedToken, NewDirectory, NewToken, Removed,
    RetentionSetting, SeatLimit, TeamMapping, Token, TokenOrigin, TokenRequest, TrustedDomains,
    Unmapped,
};
pub use hold::{
    Decision, HeldChange, HeldMember, Hold, HoldDecision, HoldPolicy, HoldPolicySetting, HoldStatus,
};
pub use logs::{AuditRecord, GroupName, ReceivedUser, RequestEntry};
pub use members::{
    ManagedBy, Member, MemberChange, MemberChangeKind, MemberStatus, Reconciliation,
};
pub use pipeline::{ConsumerLag, ErrorRate, OutboxBacklog, Pipeline};
pub use roles::{
    MemberRole, NewRole, Role, RoleChange, RoleMappings, RolePreview, RoleSource, Roles,
};
pub use setup::{IssuedSetupLink, NewSetupLink, SetupLink};
pub use teams::{
    AddedMember, GroupMapping, NewMember, NewTeam, Preview, RemovedMember, Renamed, Source, Team,
    TeamMember, ValueTable,
};
pub use undelivered::{DeadLetter, Discarded, ParkedEvent, Replayed, Republished};

/// The body of every error answer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"error": "no directory 0191f0d4-5e2a-7cc1-9a3b-5d1c2e3f4a5b"})))]
pub struct ErrorBody {
    pub error: String,
}
