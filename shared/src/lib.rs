//! The SCIM model, filter and PATCH engines, event contract, configuration and storage
//! shared by the `ingress` and `worker` binaries.

pub mod config;
pub mod controls;
pub mod db;
pub mod error;
pub mod event;
pub mod filter;
pub mod group;
pub mod health;
pub mod metrics;
pub mod nats;
pub mod patch;
pub mod projection;
pub mod schema;
pub mod shutdown;
pub mod team;
pub mod telemetry;
pub mod user;

pub use error::{ScimError, ScimType};
