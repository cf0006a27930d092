//! Where the deployment's events stand: the outbox, the stream's consumers, the dead
//! letters; and each directory's recent errors.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// `GET /pipeline`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConsumerLag {
    pub name: String,
    /// Events in the stream not yet delivered to it.
    pub pending: u64,
    /// Delivered and not yet acknowledged.
    pub ack_pending: u64,
}

/// What the outbox holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OutboxBacklog {
    /// Events committed and not yet published.
    pub waiting: i64,
    /// The age of the oldest of those, in seconds (0 if none).
    pub oldest_seconds: f64,
    /// Events set aside: NATS refused them for good.
    pub parked: i64,
}

/// `GET /error-rates`: a directory's share of errors among its latest requests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorRate {
    pub directory_id: Uuid,
    /// Its latest requests looked at (fewer than asked when it has made fewer).
    pub requests: i64,
    /// Of those, answered 400 or more.
    pub errors: i64,
}
