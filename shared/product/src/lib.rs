//! The product side of provisioning: the member records and teams a SaaS product keeps,
//! derived from the directory. The only writer of `members` and `team_members` (their
//! first migration still says the worker owns them: migrations are never edited): the
//! worker calls it for every event, the admin API for what people do by hand.
//!
//! - [`affected`]: what an event asks to bring up to date, and doing it;
//! - [`members`]: member records (one per SCIM user, and those made by hand);
//! - [`hold`]: the mass-deprovisioning hold the member records pass through;
//! - [`teams`]: how teams follow the directory ([`teams::plan`], pure), their SQL
//!   ([`teams::store`]) and the recomputation ([`teams::reconcile`]).

pub mod affected;
pub mod hold;
pub mod members;
pub mod teams;
