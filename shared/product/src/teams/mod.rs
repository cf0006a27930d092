//! Teams: how they follow the directory (a mapping of group names, or a user attribute)
//! and what people add by hand.

pub mod mirror;
pub mod plan;
pub mod preview;
pub mod reconcile;
pub mod store;
