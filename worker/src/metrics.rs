//! The worker's metrics: events applied, retried and dead-lettered, the consumer's lag,
//! how long batches take, and the directories whose deprovisioning is held. Served on `WORKER_METRICS_ADDR`.

use async_nats::jetstream::{self, AckKind};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use scim_events::STREAM;
use scim_service::metrics::{Registry, latency_buckets};
use sqlx::PgPool;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone)]
pub struct Metrics {
    pub applied: Counter,
    pub retried: Counter,
    pub dead_lettered: Counter,
    pub pending: Gauge,
    pub ack_pending: Gauge,
    pub batch_seconds: Histogram,
    pub holds_open: Gauge,
}

impl Metrics {
    pub fn new() -> (Metrics, Registry) {
        let m = Metrics {
            applied: Counter::default(),
            retried: Counter::default(),
            dead_lettered: Counter::default(),
            pending: Gauge::default(),
            ack_pending: Gauge::default(),
            batch_seconds: Histogram::new(latency_buckets()),
            holds_open: Gauge::default(),
        };
        let mut r = Registry::with_prefix("scim_worker");
        r.register(
            "events_applied",
            "Events applied and acknowledged",
            m.applied.clone(),
        );
        r.register(
            "events_retried",
            "Event deliveries that failed and were scheduled again",
            m.retried.clone(),
        );
        r.register(
            "events_dead_lettered",
            "Events given up on and moved to SCIM_DEAD_LETTERS",
            m.dead_lettered.clone(),
        );
        r.register(
            "consumer_pending",
            "Events in the stream not yet delivered to the consumer (its lag)",
            m.pending.clone(),
        );
        r.register(
            "consumer_ack_pending",
            "Events delivered and not yet acknowledged",
            m.ack_pending.clone(),
        );
        r.register(
            "batch_duration_seconds",
            "Time to apply one batch of events",
            m.batch_seconds.clone(),
        );
        r.register(
            "holds_open",
            "Directories whose mass-deprovisioning hold is open (held members wait for a decision)",
            m.holds_open.clone(),
        );
        (m, r)
    }

    /// Counts how a delivery was settled.
    pub fn settled(&self, outcome: &AckKind) {
        match outcome {
            AckKind::Ack => self.applied.inc(),
            AckKind::Term => self.dead_lettered.inc(),
            _ => self.retried.inc(),
        };
    }
}

/// Keeps the consumer lag and open hold gauges current until `shutdown`.
pub async fn watch(
    pool: PgPool,
    js: jetstream::Context,
    consumer: String,
    metrics: Metrics,
    every: Duration,
    shutdown: CancellationToken,
) {
    loop {
        let info = async {
            let mut c: jetstream::consumer::PullConsumer =
                js.get_consumer_from_stream(&consumer, STREAM).await?;
            Ok::<_, async_nats::Error>(c.info().await?.clone())
        };
        match info.await {
            Ok(info) => {
                metrics.pending.set(info.num_pending as i64);
                metrics.ack_pending.set(info.num_ack_pending as i64);
            }
            Err(e) => tracing::debug!(error = %e, "reading the consumer's lag"),
        }
        match scim_product::hold::open_count(&pool).await {
            Ok(n) => {
                metrics.holds_open.set(n);
            }
            Err(e) => tracing::debug!(error = %e, "counting open holds"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
    }
}
