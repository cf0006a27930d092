//! The outbox relay: publishes committed outbox rows to JetStream, then deletes them.
//!
//! Every ingress replica runs one, but only the holder of a Postgres advisory lock
//! publishes, so events of one resource leave in commit order; the others stand by and
//! take over when the leader's connection goes away. Each event's id is its
//! `Nats-Msg-Id`, so a batch re-published after a failure is de-duplicated by JetStream.

use async_nats::jetstream::{self, message::PublishMessage};
use backon::{BackoffBuilder, ExponentialBuilder};
use prometheus_client::metrics::counter::Counter;
use scim_shared::db::outbox::{self, Pending};
use scim_shared::nats::ensure_streams;
use scim_shared::telemetry::TRACEPARENT;
use sqlx::{Connection, PgConnection};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Arbitrary, fixed: the advisory lock that elects the publishing relay.
const LEADER_LOCK: i64 = 0x5c1d_7e1a_7001;

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
    pub js: jetstream::Context,
    pub stream_replicas: usize,
    pub batch_size: i64,
    /// How long to wait before looking again when the outbox is empty.
    pub idle_poll: Duration,
    /// Events published, for the metrics.
    pub published: Counter,
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

impl Relay {
    /// Runs until `shutdown`; on shutdown, the leader first drains what it can.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut delays = backoff();
        loop {
            match self.lead(&shutdown).await {
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

    async fn lead(&self, shutdown: &CancellationToken) -> Result<(), RelayError> {
        // This connection only reads and deletes the outbox, by index (see `outbox`).
        let options = scim_shared::db::connect_options(&self.database_url, "scim-relay")?
            .options([("enable_seqscan", "off")]);
        let mut conn = PgConnection::connect_with(&options).await?;
        loop {
            let leader: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
                .bind(LEADER_LOCK)
                .fetch_one(&mut conn)
                .await?;
            if leader {
                break;
            }
            if !pause(shutdown, Duration::from_secs(1)).await {
                return Ok(());
            }
        }
        tracing::info!("outbox relay is the leader");
        ensure_streams(&self.js, self.stream_replicas).await?;
        let mut delays = backoff();
        loop {
            let batch = outbox::oldest(&mut conn, self.batch_size).await?;
            if batch.is_empty() {
                if shutdown.is_cancelled() || !pause(shutdown, self.idle_poll).await {
                    return Ok(());
                }
                continue;
            }
            let (published, failure) = self.publish(&batch).await;
            if published > 0 {
                let seqs: Vec<i64> = batch[..published].iter().map(|p| p.seq).collect();
                outbox::remove(&mut conn, &seqs).await?;
                self.published.inc_by(published as u64);
            }
            match failure {
                None => delays = backoff(),
                Some(e) => {
                    tracing::warn!(error = %e, published, pending = batch.len() - published, "publishing to JetStream failed");
                    let delay = delays.next().unwrap_or(Duration::from_secs(5));
                    if shutdown.is_cancelled() || !pause(shutdown, delay).await {
                        return Ok(());
                    }
                }
            }
        }
    }

    /// Publishes a batch pipelined (all sends, then all acks) and returns how many
    /// from the start were acknowledged, with the first failure.
    async fn publish(&self, batch: &[Pending]) -> (usize, Option<String>) {
        let mut acks = Vec::with_capacity(batch.len());
        let mut failure = None;
        for p in batch {
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
            match self.js.send_publish(p.subject.clone(), msg).await {
                Ok(ack) => acks.push(ack),
                Err(e) => {
                    failure = Some(e.to_string());
                    break;
                }
            }
        }
        let mut published = 0;
        for ack in acks {
            match ack.await {
                Ok(_) => published += 1,
                Err(e) => {
                    failure = Some(e.to_string());
                    break;
                }
            }
        }
        (published, failure)
    }
}
