//! The ingress's metrics: SCIM requests by route, method, status and directory kind
//! with their latency, the outbox backlog, events published and set aside, token cache hits and
//! request log entries dropped. Served on `METRICS_ADDR`.

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use scim_core::profile::Idp;
use scim_service::metrics::{Registry, latency_buckets};
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

use crate::AppState;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// The route template, such as `/scim/v2/{directory_id}/Users/{id}`.
    pub route: String,
    pub method: String,
    pub status: u16,
    /// The directory's identity provider kind (`okta`, `entra`, `generic`), or
    /// `unauthenticated`.
    pub idp: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub route: String,
    pub method: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CacheLabels {
    /// `hit` or `miss`.
    pub result: String,
}

fn latency_histogram() -> Histogram {
    Histogram::new(latency_buckets())
}

#[derive(Clone)]
pub struct Metrics {
    pub requests: Family<RequestLabels, Counter>,
    pub latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    pub outbox_events: Gauge,
    pub outbox_oldest_seconds: Gauge<f64, AtomicU64>,
    pub outbox_parked: Gauge,
    pub events_published: Counter,
    pub events_parked: Counter,
    pub token_cache: Family<CacheLabels, Counter>,
    pub request_log_dropped: Counter,
    pub requests_retried: Counter,
    pub tokens_expiring: Gauge,
    pub tokens_expired: Gauge,
}

impl Metrics {
    pub fn new() -> (Metrics, Registry) {
        let m = Metrics {
            requests: Family::default(),
            latency: Family::new_with_constructor(latency_histogram),
            outbox_events: Gauge::default(),
            outbox_oldest_seconds: Gauge::default(),
            outbox_parked: Gauge::default(),
            events_published: Counter::default(),
            events_parked: Counter::default(),
            token_cache: Family::default(),
            request_log_dropped: Counter::default(),
            requests_retried: Counter::default(),
            tokens_expiring: Gauge::default(),
            tokens_expired: Gauge::default(),
        };
        let mut r = Registry::with_prefix("scim");
        r.register("requests", "SCIM requests answered", m.requests.clone());
        r.register(
            "request_duration_seconds",
            "Time to answer a SCIM request",
            m.latency.clone(),
        );
        r.register(
            "outbox_events",
            "Committed events waiting to be published",
            m.outbox_events.clone(),
        );
        r.register(
            "outbox_oldest_event_age_seconds",
            "Age of the oldest event waiting to be published (0 when none)",
            m.outbox_oldest_seconds.clone(),
        );
        r.register(
            "outbox_parked_events",
            "Events set aside because NATS refused them for good (scimctl outbox parked)",
            m.outbox_parked.clone(),
        );
        r.register(
            "events_published",
            "Events this replica's relay published to JetStream",
            m.events_published.clone(),
        );
        r.register(
            "events_parked",
            "Events this replica's relay set aside because NATS refused them for good",
            m.events_parked.clone(),
        );
        r.register(
            "token_cache_lookups",
            "Bearer token checks, answered from the cache (hit) or the database (miss)",
            m.token_cache.clone(),
        );
        r.register(
            "request_log_dropped",
            "Request log entries dropped because the writer fell behind",
            m.request_log_dropped.clone(),
        );
        r.register(
            "requests_retried",
            "SCIM requests run again because a database connection was lost (a failover)",
            m.requests_retried.clone(),
        );
        r.register(
            "tokens_expiring",
            "Live SCIM tokens that expire within TOKEN_EXPIRY_WARNING_DAYS: rotate them",
            m.tokens_expiring.clone(),
        );
        r.register(
            "tokens_expired",
            "SCIM tokens past their expiry and not revoked: identity providers holding one get 401s",
            m.tokens_expired.clone(),
        );
        (m, r)
    }

    pub fn token_cache(&self, hit: bool) {
        let result = if hit { "hit" } else { "miss" };
        self.token_cache
            .get_or_create(&CacheLabels {
                result: result.into(),
            })
            .inc();
    }
}

/// Counts and times every request of a matched SCIM route.
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = RouteLabels {
        route: req
            .extensions()
            .get::<MatchedPath>()
            .map_or("unmatched", |p| p.as_str())
            .to_owned(),
        method: req.method().to_string(),
    };
    let started = Instant::now();
    let res = next.run(req).await;
    let m = &state.metrics;
    // Labels are looked up by reference: they are copied only the first time a series
    // is seen.
    m.latency
        .get_or_create(&route)
        .observe(started.elapsed().as_secs_f64());
    // The directory kind of an authenticated request (`auth::require_token` puts it in
    // the response's extensions).
    let idp = res
        .extensions()
        .get::<Idp>()
        .map_or("unauthenticated", |i| i.as_str())
        .to_owned();
    m.requests
        .get_or_create(&RequestLabels {
            route: route.route,
            method: route.method,
            status: res.status().as_u16(),
            idp,
        })
        .inc();
    res
}

/// Keeps the outbox gauges current until `shutdown`.
pub async fn watch_outbox(state: AppState, every: Duration, shutdown: CancellationToken) {
    loop {
        let backlog = match state.pool.acquire().await {
            Ok(mut conn) => scim_store::outbox::backlog(&mut conn).await,
            Err(e) => Err(e),
        };
        match backlog {
            Ok(backlog) => {
                state.metrics.outbox_events.set(backlog.waiting);
                state
                    .metrics
                    .outbox_oldest_seconds
                    .set(backlog.oldest_seconds);
                state.metrics.outbox_parked.set(backlog.parked);
            }
            Err(e) => tracing::debug!(error = %e, "reading the outbox backlog"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
    }
}
