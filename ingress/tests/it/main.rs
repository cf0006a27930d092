//! The ingress's integration tests, one binary: in-process on port 0, each test against
//! a fresh database and a nats-server of its own (`common`), one module per area.

mod admin;
mod api;
mod common;
mod filter_property;
mod fixtures;
mod groups;
mod isolation;
mod roles;
mod setup;
