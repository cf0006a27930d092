//! The admin API's contract: the body of every request to `/admin/v1` and of every
//! answer, as the ingress's handlers write them and `scimctl` reads them. Changing a
//! type here changes both sides at once; `docs/admin-api.md` lists the endpoints.

mod directories;
mod pipeline;
mod setup;
mod teams;
mod undelivered;

pub use directories::{
    AccessRules, CreatedDirectory, DeletedDirectory, Directory, Idp, Inspection, NewDirectory,
    NewToken, Removed, SeatLimit, TeamMapping, TokenRequest, TrustedDomains, Unmapped,
};
pub use pipeline::{ConsumerLag, ErrorRate, OutboxBacklog, Pipeline};
pub use setup::{IssuedSetupLink, NewSetupLink, SetupLink};
pub use teams::{AddedMember, GroupMapping, NewMember, NewTeam, RemovedMember, Team, ValueTable};
pub use undelivered::{DeadLetter, Discarded, ParkedEvent, Replayed, Republished};

// Rows the API shows as their owners read them: their types are the contract.
pub use scim_product::members::MemberStatus;
pub use scim_product::teams::preview::{Preview, Renamed};
pub use scim_product::teams::store::Source;
pub use scim_product::teams::store::views::{MemberView as Member, TeamMember};
pub use scim_store::audit::Record as AuditRecord;
pub use scim_store::directories::{IssuedToken, TokenInfo as Token};
pub use scim_store::groups::GroupName;
pub use scim_store::request_log::Entry as RequestEntry;
pub use scim_store::users::Listed as ReceivedUser;

/// The body of every error answer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ErrorBody {
    pub error: String,
}
