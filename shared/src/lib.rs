//! The SCIM model, filter and PATCH engines, event contract, configuration and storage
//! shared by the `ingress` and `worker` binaries. Without the `service` feature (on by
//! default) it is the pure model and engines only.

#[cfg(feature = "service")]
pub mod config;
pub mod controls;
#[cfg(feature = "service")]
pub mod db;
pub mod error;
/// The event contract, from its own crate (what subscribers use too).
#[cfg(feature = "service")]
pub use scim_events as event;
pub mod filter;
pub mod group;
#[cfg(feature = "service")]
pub mod health;
pub mod limits;
#[cfg(feature = "service")]
pub mod metrics;
#[cfg(feature = "service")]
pub mod nats;
pub mod patch;
pub mod projection;
pub mod redact;
pub mod schema;
#[cfg(feature = "service")]
pub mod shutdown;
#[cfg(feature = "service")]
pub mod telemetry;
pub mod user;

pub use error::{ScimError, ScimType};
