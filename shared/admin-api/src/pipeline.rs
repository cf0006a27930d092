//! Where the deployment's events stand: the outbox, the stream's consumers, the dead
//! letters; and each directory's recent errors.

use serde::{Deserialize, Serialize};

pub use scim_store::outbox::Backlog as OutboxBacklog;
pub use scim_store::request_log::ErrorRate;

/// `GET /pipeline`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pipeline {
    /// Events committed and not yet published (the relay's backlog), and those parked.
    pub outbox: OutboxBacklog,
    /// Every durable consumer of the events stream (the worker's, subscribers'), with
    /// its lag.
    pub consumers: Vec<ConsumerLag>,
    /// Events the worker gave up on, waiting for a replay.
    pub dead_letters: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsumerLag {
    pub name: String,
    /// Events in the stream not yet delivered to it.
    pub pending: u64,
    /// Delivered and not yet acknowledged.
    pub ack_pending: u64,
}
