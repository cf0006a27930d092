//! The JetStream consumer loop: a durable pull consumer with explicit acks, applying
//! events in batches. Handling one message ([`handle`]) is separate from the loop so
//! tests can call it directly.

use async_nats::jetstream::{self, AckKind, consumer::pull, message::PublishMessage};
use futures::StreamExt;
use scim_events::{DeadLetter, STREAM};
use scim_product::affected::{self, Work, apply};
use scim_service::telemetry::{TRACEPARENT, parent_from, record_trace_id};
use scim_store::failure::Failure;
use sqlx::PgPool;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    /// The message can never be applied (not an event of this contract).
    #[error("malformed event: {0}")]
    Poison(String),
    /// The database is unreachable, refusing connections, overloaded, or the
    /// transaction lost a race: retried until it works, never dead-lettered.
    #[error("transient: {0}")]
    Transient(sqlx::Error),
    /// The database refused the data itself (or the code is wrong); retried until the
    /// attempt limit, then dead-lettered.
    #[error("{0}")]
    Failed(sqlx::Error),
}

impl From<sqlx::Error> for HandleError {
    /// Only outages are transient (unreachable, restarting, out of connections, a lost
    /// race); anything the database refused, or a bug, fails the same way next time,
    /// so it counts against the attempts and is dead-lettered in the end.
    fn from(e: sqlx::Error) -> Self {
        if Failure::of(&e).is_transient() {
            HandleError::Transient(e)
        } else {
            HandleError::Failed(e)
        }
    }
}

/// Applies one event's payload to the product's data.
pub async fn handle(pool: &PgPool, payload: &[u8]) -> Result<(), HandleError> {
    apply(pool, &[parse(payload)?]).await?;
    Ok(())
}

/// What the event asks to bring up to date; not an event of this contract: poison.
fn parse(payload: &[u8]) -> Result<Work, HandleError> {
    affected::parse(payload).map_err(|e| HandleError::Poison(e.to_string()))
}

#[derive(Debug, Clone)]
pub struct ConsumerSettings {
    pub name: String,
    /// Batches applied at once.
    pub concurrency: usize,
    /// Most events applied in one batch (two statements per batch).
    pub batch_size: usize,
    /// How long a batch waits for more events after its first.
    pub batch_gather: Duration,
    pub max_attempts: i64,
    pub metrics: crate::metrics::Metrics,
}

/// The delay before redelivery after the `attempt`-th failure: 200 ms doubling to 30 s.
pub fn retry_delay(attempt: i64) -> Duration {
    let exp = attempt.clamp(1, 20) as u32 - 1;
    Duration::from_millis(200u64.saturating_mul(1 << exp.min(8))).min(Duration::from_secs(30))
}

pub async fn consumer(
    js: &jetstream::Context,
    settings: &ConsumerSettings,
) -> Result<jetstream::consumer::Consumer<pull::Config>, async_nats::Error> {
    let stream = js.get_stream(STREAM).await?;
    Ok(stream
        .get_or_create_consumer(
            &settings.name,
            pull::Config {
                durable_name: Some(settings.name.clone()),
                ack_policy: jetstream::consumer::AckPolicy::Explicit,
                ack_wait: Duration::from_secs(30),
                // Redelivery is unbounded on the server: the worker decides when to give
                // up (dead-letter), so an outage never silently drops events.
                max_deliver: -1,
                max_ack_pending: 10_000,
                ..Default::default()
            },
        )
        .await?)
}

/// Consumes until `shutdown`, then finishes the batches in flight.
pub async fn run(
    pool: PgPool,
    js: jetstream::Context,
    settings: ConsumerSettings,
    shutdown: CancellationToken,
) -> Result<(), async_nats::Error> {
    let consumer = consumer(&js, &settings).await?;
    while !shutdown.is_cancelled() {
        let messages = match consumer.messages().await {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(error = %e, "cannot pull messages; retrying");
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                }
            }
        };
        let messages = messages.take_until(shutdown.cancelled());
        tokio_stream::StreamExt::chunks_timeout(
            messages,
            settings.batch_size,
            settings.batch_gather,
        )
        .for_each_concurrent(settings.concurrency, |chunk| async {
            let batch = chunk
                .into_iter()
                .filter_map(|m| {
                    m.inspect_err(|e| tracing::warn!(error = %e, "pull error"))
                        .ok()
                })
                .collect();
            process_batch(&pool, &js, &settings, batch).await;
        })
        .await;
    }
    Ok(())
}

/// Applies the messages that arrived together in one batch. Malformed ones are
/// dead-lettered at once; if the batch fails for a reason other than an outage, each
/// message is retried on its own so one bad event cannot hold up the others.
async fn process_batch(
    pool: &PgPool,
    js: &jetstream::Context,
    settings: &ConsumerSettings,
    batch: Vec<jetstream::Message>,
) {
    let mut parsed = Vec::with_capacity(batch.len());
    for msg in batch {
        match parse(&msg.payload) {
            Ok(work) => parsed.push((msg, work)),
            Err(e) => acknowledge(settings, &msg, settle(js, settings, &msg, Some(&e)).await).await,
        }
    }
    if parsed.is_empty() {
        return;
    }
    let work: Vec<Work> = parsed.iter().map(|(_, w)| w.clone()).collect();
    // One span per event, in the trace of the request that made it, open while the
    // batch is applied.
    let spans: Vec<tracing::Span> = parsed.iter().map(|(msg, _)| event_span(msg)).collect();
    let started = std::time::Instant::now();
    let applied = apply(pool, &work).await.map_err(HandleError::from);
    drop(spans);
    settings
        .metrics
        .batch_seconds
        .observe(started.elapsed().as_secs_f64());
    match applied {
        Ok(_) => {
            futures::future::join_all(
                parsed
                    .iter()
                    .map(|(msg, _)| acknowledge(settings, msg, AckKind::Ack)),
            )
            .await;
        }
        Err(e) if parsed.len() == 1 || matches!(e, HandleError::Transient(_)) => {
            for (msg, _) in &parsed {
                acknowledge(settings, msg, settle(js, settings, msg, Some(&e)).await).await;
            }
        }
        Err(_) => {
            for (msg, _) in &parsed {
                let result = handle(pool, &msg.payload).await;
                acknowledge(
                    settings,
                    msg,
                    settle(js, settings, msg, result.err().as_ref()).await,
                )
                .await;
            }
        }
    }
}

/// The processing span of one event, a child of the trace its `traceparent` header names.
fn event_span(msg: &jetstream::Message) -> tracing::Span {
    let span = tracing::info_span!(
        "scim.event.apply",
        // `scim.v1.<directory>.user.created` → `apply user.created`
        otel.name = %format!("apply {}", msg.subject.as_str().splitn(4, '.').nth(3).unwrap_or_default()),
        otel.kind = "consumer",
        messaging.system = "nats",
        messaging.destination.name = %msg.subject,
        trace_id = tracing::field::Empty,
    );
    if let Some(tp) = msg
        .headers
        .as_ref()
        .and_then(|h| h.get(TRACEPARENT))
        .map(|v| v.as_str())
    {
        parent_from(&span, tp);
    }
    record_trace_id(&span);
    span
}

/// How to acknowledge a message given how handling it went: ack on success; retry
/// after a delay; dead-letter malformed events, and failing ones once attempts run out.
/// Outages never count against the attempts.
async fn settle(
    js: &jetstream::Context,
    settings: &ConsumerSettings,
    msg: &jetstream::Message,
    error: Option<&HandleError>,
) -> AckKind {
    let attempt = msg.info().map(|i| i.delivered).unwrap_or(1);
    match error {
        None => AckKind::Ack,
        Some(e @ HandleError::Poison(_)) => {
            dead_letter(js, settings, msg, attempt, &e.to_string()).await
        }
        Some(e @ HandleError::Failed(_)) if attempt >= settings.max_attempts => {
            dead_letter(js, settings, msg, attempt, &e.to_string()).await
        }
        Some(e) => {
            tracing::warn!(error = %e, subject = %msg.subject, attempt, "will retry");
            AckKind::Nak(Some(retry_delay(attempt)))
        }
    }
}

async fn acknowledge(settings: &ConsumerSettings, msg: &jetstream::Message, outcome: AckKind) {
    settings.metrics.settled(&outcome);
    if let Err(e) = msg.ack_with(outcome).await {
        tracing::warn!(error = %e, "acknowledging failed; the message will be redelivered");
    }
}

/// Publishes the message with the reason to `scim.dlq.…` and answers `Term`; if the
/// dead-letter publish fails, the message is retried instead of dropped.
async fn dead_letter(
    js: &jetstream::Context,
    settings: &ConsumerSettings,
    msg: &jetstream::Message,
    attempt: i64,
    reason: &str,
) -> AckKind {
    let original = msg.subject.as_str();
    let subject = format!(
        "scim.dlq.{}.{}",
        settings.name,
        original.strip_prefix("scim.").unwrap_or(original)
    );
    let body = DeadLetter {
        reason: reason.to_owned(),
        consumer: settings.name.clone(),
        attempts: attempt,
        subject: original.to_owned(),
        payload: String::from_utf8_lossy(&msg.payload).into_owned(),
    };
    tracing::error!(subject = original, attempt, reason, "dead-lettering event");
    let published = match js
        .send_publish(
            subject,
            PublishMessage::build().payload(serde_json::to_vec(&body).unwrap_or_default().into()),
        )
        .await
    {
        Ok(ack) => ack.await.map(|_| ()).map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    match published {
        Ok(()) => AckKind::Term,
        Err(e) => {
            tracing::warn!(error = %e, "dead-letter publish failed; retrying the event");
            AckKind::Nak(Some(retry_delay(attempt)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delay_doubles_and_is_capped() {
        assert_eq!(retry_delay(1), Duration::from_millis(200));
        assert_eq!(retry_delay(2), Duration::from_millis(400));
        assert_eq!(retry_delay(100), Duration::from_secs(30));
        assert_eq!(retry_delay(0), Duration::from_millis(200));
    }
}
