//! The JetStream consumer loop: a durable pull consumer with explicit acks. Handling one
//! message ([`handle`]) is separate from the loop so tests can call it directly.

use async_nats::jetstream::{self, AckKind, consumer::pull, message::PublishMessage};
use futures::StreamExt;
use scim_shared::event::{Event, ResourceType, STREAM};
use serde_json::json;
use sqlx::PgPool;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

use crate::members;

#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    /// The message can never be applied (not an event of this contract).
    #[error("malformed event: {0}")]
    Poison(String),
    /// Worth retrying soon, without counting against the attempt limit: the database
    /// is unreachable or the transaction lost a race.
    #[error("transient: {0}")]
    Transient(sqlx::Error),
    /// Failed for another reason; retried until the attempt limit, then dead-lettered.
    #[error("{0}")]
    Failed(sqlx::Error),
}

impl From<sqlx::Error> for HandleError {
    fn from(e: sqlx::Error) -> Self {
        let transient = match &e {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_) => true,
            // Connection exceptions (08…), shutdown (57P…), serialization and deadlock.
            sqlx::Error::Database(db) => db.code().is_some_and(|c| {
                c.starts_with("08") || c.starts_with("57P") || c == "40001" || c == "40P01"
            }),
            _ => false,
        };
        if transient {
            HandleError::Transient(e)
        } else {
            HandleError::Failed(e)
        }
    }
}

/// Applies one event's payload to the product's data.
pub async fn handle(pool: &PgPool, payload: &[u8]) -> Result<(), HandleError> {
    let event: Event =
        serde_json::from_slice(payload).map_err(|e| HandleError::Poison(e.to_string()))?;
    match event.resource_type {
        ResourceType::User => {
            members::apply_user(
                pool,
                event.directory_id,
                event.resource_id,
                event.resource_version,
            )
            .await?;
        }
    }
    Ok(())
}

#[derive(Debug, Clone)]
pub struct ConsumerSettings {
    pub name: String,
    pub concurrency: usize,
    pub max_attempts: i64,
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

/// Consumes until `shutdown`, then finishes the messages in flight.
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
        messages
            .take_until(shutdown.cancelled())
            .for_each_concurrent(settings.concurrency, |m| async {
                match m {
                    Ok(msg) => process(&pool, &js, &settings, msg).await,
                    Err(e) => tracing::warn!(error = %e, "pull error"),
                }
            })
            .await;
    }
    Ok(())
}

async fn process(
    pool: &PgPool,
    js: &jetstream::Context,
    settings: &ConsumerSettings,
    msg: jetstream::Message,
) {
    let attempt = msg.info().map(|i| i.delivered).unwrap_or(1);
    let outcome = match handle(pool, &msg.payload).await {
        Ok(()) => AckKind::Ack,
        Err(HandleError::Transient(e)) => {
            tracing::warn!(error = %e, subject = %msg.subject, attempt, "transient failure; will retry");
            AckKind::Nak(Some(retry_delay(attempt)))
        }
        Err(e @ HandleError::Poison(_)) => {
            dead_letter(js, settings, &msg, attempt, &e.to_string()).await
        }
        Err(e @ HandleError::Failed(_)) if attempt >= settings.max_attempts => {
            dead_letter(js, settings, &msg, attempt, &e.to_string()).await
        }
        Err(e) => {
            tracing::warn!(error = %e, subject = %msg.subject, attempt, "failed; will retry");
            AckKind::Nak(Some(retry_delay(attempt)))
        }
    };
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
    let body = json!({
        "reason": reason,
        "consumer": settings.name,
        "attempts": attempt,
        "subject": original,
        "payload": String::from_utf8_lossy(&msg.payload),
    });
    tracing::error!(subject = original, attempt, reason, "dead-lettering event");
    let published = match js
        .send_publish(
            subject,
            PublishMessage::build().payload(body.to_string().into()),
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
