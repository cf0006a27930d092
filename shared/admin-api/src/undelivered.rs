//! Events that did not reach their consumers: those the worker gave up on (dead
//! letters) and those NATS refused for good (set aside by the relay).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// A dead letter, with its place in the dead-letter stream.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeadLetter {
    pub seq: u64,
    /// The subject the event was published on.
    pub subject: String,
    /// Why the worker gave up on it.
    pub reason: String,
    pub attempts: i64,
    /// The consumer that gave up.
    pub consumer: String,
    pub event_id: Option<Uuid>,
    pub event_type: Option<String>,
    pub directory_id: Option<Uuid>,
}

/// `POST /dead-letters/{seq}/replay`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Replayed {
    pub replayed: DeadLetter,
}

/// An event the relay set aside.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ParkedEvent {
    pub seq: i64,
    pub event_id: Uuid,
    pub subject: String,
    pub directory_id: Option<Uuid>,
    /// The event's size as JSON, in bytes.
    pub bytes: i32,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub parked_at: OffsetDateTime,
    /// NATS's reason.
    pub reason: String,
}

/// `POST /outbox/parked/{seq}/republish`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Republished {
    pub republished: ParkedEvent,
    /// Its new place in the outbox.
    pub outbox_seq: i64,
}

/// `DELETE /outbox/parked/{seq}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Discarded {
    pub discarded: ParkedEvent,
}
