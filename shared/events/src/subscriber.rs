//! A subscriber on async-nats: a durable pull consumer on `SCIM_EVENTS` with the settings
//! `docs/events.md` gives, the ordering rule ([`crate::order`]) applied to every event,
//! and each message acknowledged by what became of it:
//!
//! - applied (or ignored as a type this crate does not know): `Ack`;
//! - seen before (a redelivery, a duplicate publish): `Ack`, the handler is not called;
//! - ahead of an event of its resource not applied yet: `Nak` with [`Settings::hold_back`];
//! - the handler asks for a retry: `Nak` with [`Settings::retry_delay`];
//! - the handler rejects it, or it is not an event of this contract: `Term` (route it to
//!   a dead letter of your own first, if you keep them).
//!
//! Where it starts is what the subscriber kept ([`Start`]): positions kept with its data
//! resume the durable consumer; a snapshot, or nothing at all, makes the consumer anew,
//! so a subscriber that lost its data never resumes a consumer that already delivered
//! what it lost. Run one process per durable consumer.

use async_nats::jetstream::ErrorCode;
use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, PullConsumer, pull};
use async_nats::jetstream::stream::ConsumerErrorKind;
use async_nats::jetstream::{self, AckKind};
use futures::StreamExt;
use std::collections::HashMap;
use std::future::Future;
use std::time::{Duration, Instant};

use crate::order::ResourceKey;
use crate::{Event, Positions, STREAM, Verdict};

/// How the consumer reads.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The durable consumer's name: one per subscribing service, never the worker's
    /// (`member-sync`). The NATS permissions let a subscriber create its own only.
    pub durable: String,
    /// The subjects to read: `scim.v1.>` for everything, `scim.v1.<directory>.>` for one
    /// directory.
    pub filter: String,
    /// How long an event may be in the handler before JetStream delivers it again.
    pub ack_wait: Duration,
    /// How long an event ahead of its resource's next waits before it comes back.
    pub hold_back: Duration,
    /// How long an event the handler could not apply yet waits before it comes back.
    pub retry_delay: Duration,
    /// How long an event may wait for one of its resource that is never delivered
    /// before [`run`] stops with [`Error::Gap`]: the stream no longer holds it (it
    /// expired), or what the subscriber kept is behind what its consumer delivered.
    pub gap_timeout: Duration,
    /// The server deletes the durable consumer after this long without the subscriber
    /// (`None`: never). For demos and tests; a service keeps its consumer.
    pub inactive_threshold: Option<Duration>,
}

impl Settings {
    /// The settings docs/events.md gives, for the durable consumer `durable`.
    pub fn new(durable: impl Into<String>) -> Settings {
        Settings {
            durable: durable.into(),
            filter: crate::SUBJECTS.into(),
            ack_wait: Duration::from_secs(30),
            hold_back: Duration::from_millis(500),
            retry_delay: Duration::from_secs(5),
            gap_timeout: Duration::from_secs(120),
            inactive_threshold: None,
        }
    }
}

/// What the subscriber kept, which decides where its consumer starts.
#[derive(Debug, Clone)]
pub enum Start {
    /// The positions kept with the subscriber's data, each written with the event it
    /// applied (before that event was acknowledged): the durable consumer resumes where
    /// it stands (made from the stream's oldest event if it is gone: what was applied
    /// is then dropped as seen).
    Kept(Positions),
    /// A loaded snapshot ([`crate::snapshot::Loaded`]): the consumer is made anew from
    /// the sequence after it, with the positions it gives.
    Snapshot {
        /// The snapshot's `start_after_sequence`.
        start_after_sequence: u64,
        /// The positions it gives.
        positions: Positions,
    },
    /// Nothing kept: the consumer is made anew from the stream's first event, which is
    /// only whole while the stream still holds every event it was given; otherwise
    /// [`consumer`] answers [`Error::SnapshotNeeded`].
    Nothing,
    /// Nothing kept and nothing before now needed: the consumer is made anew with new
    /// events only, each resource taken where it is first seen ([`Positions::from_now`]).
    FromNow,
}

/// Why the handler did not apply an event.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// Something it needs is down: the event comes back after [`Settings::retry_delay`].
    #[error("retry: {0}")]
    Retry(String),
    /// It can never be applied: the event is terminated.
    #[error("rejected: {0}")]
    Reject(String),
}

#[derive(Debug, thiserror::Error)]
/// Why [`consumer`] or [`run`] stopped.
pub enum Error {
    #[error("setting up the consumer: {0}")]
    /// The stream or the consumer could not be read, made or deleted.
    Consumer(String),
    #[error("reading messages: {0}")]
    /// Messages could not be read.
    Messages(String),
    /// [`Start::Nothing`] on a stream whose first events expired: start from a snapshot.
    #[error(
        "the stream no longer holds its first events (it starts at sequence {first_sequence}): \
         start from a snapshot (docs/events.md, \"Starting on an existing directory\")"
    )]
    SnapshotNeeded {
        /// The oldest sequence the stream holds.
        first_sequence: u64,
    },
    /// An event waited longer than [`Settings::gap_timeout`] for an earlier one of its
    /// resource that never came.
    #[error(
        "{resource:?}: version {expected} never came (waited {waited:?}); the stream no \
         longer holds it, or what this subscriber kept is behind its consumer: start from \
         a snapshot"
    )]
    Gap {
        /// The resource whose event waited.
        resource: ResourceKey,
        /// The version that never came.
        expected: i64,
        /// How long the event waited.
        waited: Duration,
    },
}

/// The durable pull consumer of `settings`, where `start` says, with the positions to
/// apply the ordering rule from.
pub async fn consumer(
    js: &jetstream::Context,
    settings: &Settings,
    start: Start,
) -> Result<(PullConsumer, Positions), Error> {
    let failed = |e: &dyn std::fmt::Display| Error::Consumer(e.to_string());
    let stream = js.get_stream(STREAM).await.map_err(|e| failed(&e))?;
    let start = match start {
        Start::Kept(positions) if positions.is_empty() => Start::Nothing,
        start => start,
    };
    if !matches!(start, Start::Kept(_)) {
        // What a consumer of this name delivered belongs to data the subscriber no
        // longer has.
        match stream.delete_consumer(&settings.durable).await {
            Ok(_) => {}
            Err(e)
                if matches!(e.kind(), ConsumerErrorKind::JetStream(ref j)
                if j.error_code() == ErrorCode::CONSUMER_NOT_FOUND) => {}
            Err(e) => return Err(failed(&e)),
        }
    }
    let (deliver_policy, positions) = match start {
        Start::Kept(positions) => (DeliverPolicy::All, positions),
        Start::Snapshot {
            start_after_sequence,
            positions,
        } => {
            let start_sequence = start_after_sequence + 1;
            (DeliverPolicy::ByStartSequence { start_sequence }, positions)
        }
        Start::Nothing => {
            let info = stream.get_info().await.map_err(|e| failed(&e))?;
            // Sequences start at 1; a stream that never held an event is at 0.
            if info.state.first_sequence > 1 {
                return Err(Error::SnapshotNeeded {
                    first_sequence: info.state.first_sequence,
                });
            }
            (DeliverPolicy::All, Positions::new())
        }
        Start::FromNow => (DeliverPolicy::New, Positions::from_now()),
    };
    let consumer = stream
        .get_or_create_consumer(
            &settings.durable,
            pull::Config {
                durable_name: Some(settings.durable.clone()),
                filter_subject: settings.filter.clone(),
                deliver_policy,
                ack_policy: AckPolicy::Explicit,
                ack_wait: settings.ack_wait,
                // Unbounded: the subscriber decides when to give up (Term), so an
                // outage of its own never drops events.
                max_deliver: -1,
                inactive_threshold: settings.inactive_threshold.unwrap_or_default(),
                ..Default::default()
            },
        )
        .await
        .map_err(|e| failed(&e))?;
    Ok((consumer, positions))
}

/// Reads events until `stop` completes, calling `handler` with each that is next for
/// its resource, one at a time, in delivery order.
pub async fn run<H, F>(
    consumer: &PullConsumer,
    settings: &Settings,
    positions: &mut Positions,
    stop: impl Future<Output = ()>,
    mut handler: H,
) -> Result<(), Error>
where
    H: FnMut(Event) -> F,
    F: Future<Output = Result<(), Failure>>,
{
    let messages = consumer
        .messages()
        .await
        .map_err(|e| Error::Messages(e.to_string()))?;
    let mut messages = std::pin::pin!(messages.take_until(stop));
    let mut gaps = Gaps::default();
    while let Some(message) = messages.next().await {
        let message = message.map_err(|e| Error::Messages(e.to_string()))?;
        let ack = match serde_json::from_slice::<Event>(&message.payload) {
            Err(e) => {
                tracing::warn!(subject = %message.subject, error = %e, "not an event of contract v1");
                AckKind::Term
            }
            Ok(event) => match positions.verdict(&event) {
                Verdict::Seen => AckKind::Ack,
                Verdict::Early { expected } => {
                    gaps.waiting(&event, expected, settings.gap_timeout)?;
                    AckKind::Nak(Some(settings.hold_back))
                }
                Verdict::Apply => {
                    gaps.delivered(&event);
                    let applied = event.clone();
                    match handler(event).await {
                        Ok(()) => {
                            positions.applied(&applied);
                            AckKind::Ack
                        }
                        Err(Failure::Retry(why)) => {
                            tracing::warn!(id = %applied.id, why, "event not applied yet");
                            AckKind::Nak(Some(settings.retry_delay))
                        }
                        Err(Failure::Reject(why)) => {
                            tracing::error!(id = %applied.id, why, "event rejected");
                            AckKind::Term
                        }
                    }
                }
            },
        };
        if let Err(e) = message.ack_with(ack).await {
            // Not acknowledged: JetStream delivers it again after ack_wait.
            tracing::warn!(error = %e, "acknowledging failed");
        }
    }
    Ok(())
}

/// Since when each resource has waited for its next event, which has not been
/// delivered since: a wait longer than the gap timeout is a gap that never closes.
#[derive(Default)]
struct Gaps {
    since: HashMap<ResourceKey, Instant>,
}

impl Gaps {
    fn waiting(&mut self, early: &Event, expected: i64, timeout: Duration) -> Result<(), Error> {
        let resource = crate::order::key(early);
        let waited = self
            .since
            .entry(resource)
            .or_insert_with(Instant::now)
            .elapsed();
        if waited > timeout {
            return Err(Error::Gap {
                resource,
                expected,
                waited,
            });
        }
        Ok(())
    }

    /// The resource's next event came (applied or not): it is not missing.
    fn delivered(&mut self, event: &Event) {
        self.since.remove(&crate::order::key(event));
    }
}
