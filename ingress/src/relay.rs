//! The outbox relay: publishes committed outbox rows to JetStream, then deletes them.
//!
//! The outbox's rows are in slots by directory ([`outbox::SLOTS`]). Every ingress replica
//! runs `RELAY_LANES` lanes, lane k wanting the slots `s` with `s mod lanes = k`; a lane
//! publishes the slots it holds an advisory lock on, so each slot has one publisher at a
//! time, and each directory's events (all in one slot) leave in the order of their
//! outbox rows, while the lanes publish different directories' events at once. Lanes of
//! other replicas stand by, and take a slot over when its holder's connection goes
//! away; a lane without all of its slots asks for the missing ones again every second.
//! Each event's id is its `Nats-Msg-Id`, so a batch re-published after a failure is
//! de-duplicated by JetStream.
//!
//! A slot is a lease, not a lock held for as long as a connection seems alive: a lane's
//! connection asks Postgres to end it when it has been idle for `RELAY_LEASE_SECONDS`
//! (`idle_session_timeout`, and `idle_in_transaction_session_timeout`), which frees its
//! slots however the lane stopped (killed, frozen, cut off by a partition); a lane
//! speaks on it at least every second while it lives. A lane publishes only while its
//! last statement is recent enough that Postgres cannot have ended its session yet
//! (fencing): a lane that was frozen and thawed publishes nothing from a slot that may
//! have moved before its connection has proved alive again.
//!
//! An event NATS refuses for good (larger than the server's `max_payload`, or than the
//! stream accepts) is set aside in `outbox_parked` with the reason, so it cannot stop
//! the events behind it, of every directory; an operator re-publishes or discards it.

use async_nats::jetstream::context::{PublishError, PublishErrorKind};
use async_nats::jetstream::{self, ErrorCode, message::PublishMessage};
use backon::{BackoffBuilder, ExponentialBuilder};
use prometheus_client::metrics::counter::Counter;
use scim_service::nats::ensure_streams;
use scim_service::telemetry::TRACEPARENT;
use scim_store::outbox::{self, Pending};
use sqlx::{Connection, PgConnection};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("setting up streams: {0}")]
    Streams(#[from] jetstream::context::CreateStreamError),
}

#[derive(Clone)]
pub struct Relay {
    pub database_url: String,
    pub nats: async_nats::Client,
    pub stream_replicas: usize,
    /// Days the event stream keeps events.
    pub retention_days: u32,
    /// Outbox rows a lane publishes per pipelined batch, the oldest of its slots.
    pub batch_size: i64,
    /// Lanes on this replica ([`outbox::SLOTS`] at most), each publishing its slots.
    pub lanes: usize,
    /// How long to wait before looking again when the outbox is empty.
    pub idle_poll: Duration,
    /// How long a lane's slots outlive its last statement (`RELAY_LEASE_SECONDS`).
    pub lease: Duration,
    /// Events published, for the metrics.
    pub published: Counter,
    /// Events set aside, for the metrics.
    pub parked: Counter,
}

/// How publishing one outbox row ended.
#[derive(Debug, PartialEq)]
enum Outcome {
    Published,
    /// NATS refused it for a reason that publishing it again cannot change.
    Refused(String),
}

/// JetStream API errors that mean the message itself can never be stored.
const MESSAGE_TOO_LARGE: [ErrorCode; 2] = [
    ErrorCode::STREAM_MESSAGE_EXCEEDS_MAXIMUM,
    ErrorCode::STREAM_HEADER_EXCEEDS_MAXIMUM,
];

/// Whether a publish failed because of the message, not of the moment.
fn refused_for_good(e: &PublishError) -> bool {
    match e.kind() {
        PublishErrorKind::MaxPayloadExceeded => true,
        PublishErrorKind::Other => std::error::Error::source(e)
            .and_then(|s| s.downcast_ref::<jetstream::Error>())
            .is_some_and(|js| MESSAGE_TOO_LARGE.contains(&js.error_code())),
        _ => false,
    }
}

fn backoff() -> impl Iterator<Item = Duration> {
    ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(100))
        .with_max_delay(Duration::from_secs(5))
        .with_jitter()
        .without_max_times()
        .build()
}

/// Sleeps for `d`, or returns false at once if shutdown was requested.
async fn pause(shutdown: &CancellationToken, d: Duration) -> bool {
    tokio::select! {
        _ = shutdown.cancelled() => false,
        _ = tokio::time::sleep(d) => true,
    }
}

/// How often a lane without all of its slots asks for them again, and a lane without
/// any looks again whether it may publish.
const CLAIM_EVERY: Duration = Duration::from_secs(1);

impl Relay {
    /// When a lane that last sent a statement at `spoke` stops publishing: a fifth of
    /// the lease before Postgres may end its idle session, so that the last message
    /// sent is stored before another lane can hold the slot.
    fn fenced_at(&self, spoke: Instant) -> Instant {
        spoke + self.lease - self.lease / 5
    }

    /// Runs the lanes until `shutdown`; on shutdown, each first drains what it can.
    pub async fn run(self, shutdown: CancellationToken) {
        let lanes = self.lanes.clamp(1, outbox::SLOTS as usize);
        let tasks: Vec<_> = (0..lanes)
            .map(|lane| {
                let wanted: Vec<i16> = (0..outbox::SLOTS)
                    .filter(|s| *s as usize % lanes == lane)
                    .collect();
                tokio::spawn(self.clone().lane(wanted, shutdown.clone()))
            })
            .collect();
        for task in tasks {
            let _ = task.await;
        }
    }

    async fn lane(self, wanted: Vec<i16>, shutdown: CancellationToken) {
        // A context of its own: its publishes awaiting their acks are the lane's batch
        // at most (a shared bound, reached before a batch's acks are awaited, would
        // hold every lane up for good).
        let js = jetstream::ContextBuilder::new()
            .max_ack_inflight(self.batch_size.max(1) as usize)
            .build(self.nats.clone());
        let mut delays = backoff();
        loop {
            match self.lead(&js, &wanted, &shutdown).await {
                Ok(()) => return,
                Err(e) => {
                    tracing::warn!(error = %e, "outbox relay interrupted; retrying");
                    let delay = delays.next().unwrap_or(Duration::from_secs(5));
                    if !pause(&shutdown, delay).await {
                        return;
                    }
                }
            }
        }
    }

    async fn lead(
        &self,
        js: &jetstream::Context,
        wanted: &[i16],
        shutdown: &CancellationToken,
    ) -> Result<(), RelayError> {
        // This connection only reads and deletes the outbox, by index (see `outbox`).
        // Postgres ends it, and frees its slots, once the lane has been silent for its
        // lease.
        let lease = self.lease.as_millis().to_string();
        let options = scim_store::connect_options(&self.database_url, "scim-relay")?.options([
            ("enable_seqscan", "off"),
            ("idle_session_timeout", lease.as_str()),
            ("idle_in_transaction_session_timeout", lease.as_str()),
        ]);
        let mut conn = PgConnection::connect_with(&options).await?;
        loop {
            if outbox::try_lead(&mut conn).await? {
                break;
            }
            if !pause(shutdown, CLAIM_EVERY).await {
                return Ok(());
            }
        }
        ensure_streams(js, self.stream_replicas, self.retention_days).await?;
        let mut held: Vec<i16> = Vec::new();
        let mut claimed: Option<Instant> = None;
        let mut delays = backoff();
        loop {
            if held.len() < wanted.len() && claimed.is_none_or(|at| at.elapsed() >= CLAIM_EVERY) {
                let missing: Vec<i16> = wanted
                    .iter()
                    .filter(|s| !held.contains(s))
                    .copied()
                    .collect();
                let taken = outbox::claim(&mut conn, &missing).await?;
                if !taken.is_empty() {
                    held.extend(taken);
                    held.sort();
                    tracing::info!(slots = ?held, "outbox relay lane publishes these slots");
                }
                claimed = Some(Instant::now());
            }
            if held.is_empty() {
                if shutdown.is_cancelled() || !pause(shutdown, CLAIM_EVERY).await {
                    return Ok(());
                }
                continue;
            }
            let batch = outbox::oldest(&mut conn, &held, self.batch_size).await?;
            if batch.is_empty() {
                if shutdown.is_cancelled() || !pause(shutdown, self.idle_poll).await {
                    return Ok(());
                }
                continue;
            }
            // A snapshot's start waits for this batch to be published and removed from
            // the outbox (or starts before it), never sees it half done.
            let spoke = Instant::now();
            outbox::publishing(&mut conn, true).await?;
            let (outcomes, failure) = publish(js, &batch, self.fenced_at(spoke)).await;
            let mut published = Vec::with_capacity(outcomes.len());
            let mut refused = Vec::new();
            for (row, outcome) in batch.iter().zip(outcomes) {
                match outcome {
                    Outcome::Published => published.push(row.seq),
                    Outcome::Refused(reason) => {
                        tracing::error!(
                            seq = row.seq, event_id = %row.event_id, subject = %row.subject,
                            bytes = row.payload.len(), reason = %reason,
                            "NATS refuses this event for good: setting it aside (scimctl outbox parked)"
                        );
                        refused.push((row.seq, reason));
                    }
                }
            }
            outbox::remove(&mut conn, &published).await?;
            outbox::park(&mut conn, &refused).await?;
            outbox::publishing(&mut conn, false).await?;
            self.published.inc_by(published.len() as u64);
            self.parked.inc_by(refused.len() as u64);
            match failure {
                None => delays = backoff(),
                Some(e) => {
                    let settled = published.len() + refused.len();
                    tracing::warn!(error = %e, settled, pending = batch.len() - settled, "publishing to JetStream failed");
                    let delay = delays.next().unwrap_or(Duration::from_secs(5));
                    if shutdown.is_cancelled() || !pause(shutdown, delay).await {
                        return Ok(());
                    }
                }
            }
        }
    }
}

/// Publishes a batch pipelined (all sends, then all acks) and returns how each row
/// from the start ended, up to the first failure that may pass (which it returns).
/// Nothing is sent from `fenced` on: the lane's slots may have moved to another lane.
async fn publish(
    js: &jetstream::Context,
    batch: &[Pending],
    fenced: Instant,
) -> (Vec<Outcome>, Option<String>) {
    let mut acks = Vec::with_capacity(batch.len());
    let mut failure = None;
    for p in batch {
        if Instant::now() >= fenced {
            failure = Some("the lane's lease may have run out: it speaks to Postgres first".into());
            break;
        }
        let mut msg = PublishMessage::build()
            .payload(p.payload.clone().into())
            .message_id(p.event_id.to_string());
        // Written by our own propagator, but a header must never carry CR or LF.
        if let Some(tp) = p
            .traceparent
            .as_deref()
            .filter(|t| t.chars().all(|c| c.is_ascii_graphic()))
        {
            msg = msg.header(TRACEPARENT, tp);
        }
        match js.send_publish(p.subject.clone(), msg).await {
            Ok(ack) => acks.push(Ok(ack)),
            Err(e) if refused_for_good(&e) => acks.push(Err(e.to_string())),
            Err(e) => {
                failure = Some(e.to_string());
                break;
            }
        }
    }
    let mut outcomes = Vec::with_capacity(acks.len());
    for ack in acks {
        let outcome = match ack {
            Err(refused) => Outcome::Refused(refused),
            Ok(ack) => match ack.await {
                Ok(_) => Outcome::Published,
                Err(e) if refused_for_good(&e) => Outcome::Refused(e.to_string()),
                Err(e) => {
                    failure = Some(e.to_string());
                    break;
                }
            },
        };
        outcomes.push(outcome);
    }
    (outcomes, failure)
}
