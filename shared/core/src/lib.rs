//! SCIM 2.0 (RFC 7643, RFC 7644) as this service speaks it, as pure functions and
//! types: no database, no network, no runtime. The schema table drives normalization,
//! filters and PATCH alike, so they agree on names, types and case rules.

pub mod controls;
pub mod error;
pub mod filter;
pub mod group;
pub mod hold;
pub mod limits;
pub mod patch;
pub mod profile;
pub mod projection;
pub mod redact;
pub mod resource;
pub mod roles;
pub mod schema;
pub mod user;

pub use error::{ScimError, ScimType};
