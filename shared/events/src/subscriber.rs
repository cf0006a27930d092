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
//! Run one process per durable consumer with [`Positions`] in memory, or keep the
//! positions where you keep what you apply and share them between replicas.

use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, PullConsumer, pull};
use async_nats::jetstream::{self, AckKind};
use futures::StreamExt;
use std::future::Future;
use std::time::Duration;

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
    /// Where a new consumer starts: [`DeliverPolicy::All`] from the oldest event the
    /// stream keeps (its first start on a bootstrap, docs/events.md), or
    /// [`DeliverPolicy::New`] with [`Positions::from_now`].
    pub deliver: DeliverPolicy,
    /// How long an event may be in the handler before JetStream delivers it again.
    pub ack_wait: Duration,
    /// How long an event ahead of its resource's next waits before it comes back.
    pub hold_back: Duration,
    /// How long an event the handler could not apply yet waits before it comes back.
    pub retry_delay: Duration,
}

impl Settings {
    pub fn new(durable: impl Into<String>) -> Settings {
        Settings {
            durable: durable.into(),
            filter: crate::SUBJECTS.into(),
            deliver: DeliverPolicy::All,
            ack_wait: Duration::from_secs(30),
            hold_back: Duration::from_millis(500),
            retry_delay: Duration::from_secs(5),
        }
    }
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
pub enum Error {
    #[error("setting up the consumer: {0}")]
    Consumer(String),
    #[error("reading messages: {0}")]
    Messages(String),
}

/// The durable pull consumer of `settings`, created if it does not exist.
pub async fn consumer(js: &jetstream::Context, settings: &Settings) -> Result<PullConsumer, Error> {
    let stream = js
        .get_stream(STREAM)
        .await
        .map_err(|e| Error::Consumer(e.to_string()))?;
    stream
        .get_or_create_consumer(
            &settings.durable,
            pull::Config {
                durable_name: Some(settings.durable.clone()),
                filter_subject: settings.filter.clone(),
                deliver_policy: settings.deliver,
                ack_policy: AckPolicy::Explicit,
                ack_wait: settings.ack_wait,
                // Unbounded: the subscriber decides when to give up (Term), so an
                // outage of its own never drops events.
                max_deliver: -1,
                ..Default::default()
            },
        )
        .await
        .map_err(|e| Error::Consumer(e.to_string()))
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
    while let Some(message) = messages.next().await {
        let message = message.map_err(|e| Error::Messages(e.to_string()))?;
        let ack = match serde_json::from_slice::<Event>(&message.payload) {
            Err(e) => {
                tracing::warn!(subject = %message.subject, error = %e, "not an event of contract v1");
                AckKind::Term
            }
            Ok(event) => match positions.verdict(&event) {
                Verdict::Seen => AckKind::Ack,
                Verdict::Early { .. } => AckKind::Nak(Some(settings.hold_back)),
                Verdict::Apply => {
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
