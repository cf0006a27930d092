//! The request log: every SCIM request under a directory's base URL, with its status,
//! duration and, for errors, the detail returned; of its query string only what names
//! nothing personal, by default ([`redact::query`]), and never a credential. Entries are handed to a background
//! writer and stored in batches, off the request path, within [`GATHER`] of the
//! request; when the writer falls behind, entries are dropped (and counted in the log)
//! rather than slowing provisioning.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::metrics::counter::Counter;
use scim_core::redact;
use scim_store::failure::Failure;
use scim_store::request_log::{self, Entry};
use sqlx::PgPool;
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use tokio::sync::mpsc;

use crate::AppState;
use crate::auth::{TokenId, directory_of};
use crate::error::ErrorDetail;

/// Entries waiting for the writer at most.
const QUEUE: usize = 10_000;
/// Entries stored per statement at most.
const BATCH: usize = 1_000;
/// How long the writer gathers entries before it stores them: one statement per
/// moment rather than per request, at the price of entries showing up this much later.
const GATHER: Duration = Duration::from_millis(200);
/// How often expired entries are deleted, and how many per statement.
const EXPIRE_EVERY: Duration = Duration::from_secs(3600);
const EXPIRE_BATCH: i64 = 10_000;

#[derive(Clone)]
pub struct RequestLog {
    queue: mpsc::Sender<Entry>,
    /// Entries dropped in all (a metric; the writer logs its increase).
    dropped: Counter,
    /// Whether query values are kept as sent (`REQUEST_LOG_QUERY_VALUES`), rather than
    /// reduced to what names nothing personal ([`redact::query`]).
    query_values: bool,
}

impl RequestLog {
    /// Starts the writer. It stores what is queued until every handle is dropped, then
    /// returns; entries older than `days` are deleted as it goes.
    pub fn start(
        pool: PgPool,
        days: u32,
        query_values: bool,
        dropped: Counter,
    ) -> (RequestLog, tokio::task::JoinHandle<()>) {
        let (queue, rx) = mpsc::channel(QUEUE);
        let writer = tokio::spawn(write(pool, rx, days, dropped.clone()));
        let log = RequestLog {
            queue,
            dropped,
            query_values,
        };
        (log, writer)
    }

    pub(crate) fn record(&self, entry: Entry) {
        if self.queue.try_send(entry).is_err() {
            self.dropped.inc();
        }
    }
}

async fn write(pool: PgPool, mut rx: mpsc::Receiver<Entry>, days: u32, dropped: Counter) {
    let mut batch = Vec::with_capacity(BATCH);
    let mut last_expiry: Option<Instant> = None;
    // Drops already logged.
    let mut reported = 0;
    while rx.recv_many(&mut batch, BATCH).await > 0 {
        let gathered = tokio::time::sleep(GATHER);
        tokio::pin!(gathered);
        while batch.len() < BATCH {
            let room = BATCH - batch.len();
            tokio::select! {
                _ = &mut gathered => break,
                n = rx.recv_many(&mut batch, room) => if n == 0 { break },
            }
        }
        let mut stored = request_log::insert(&pool, &batch).await;
        // A connection lost to a failover stored nothing: once more, on a fresh one.
        if let Err(e) = &stored
            && Failure::of(e) == Failure::Lost
        {
            stored = request_log::insert(&pool, &batch).await;
        }
        if let Err(e) = stored {
            tracing::warn!(error = %e, entries = batch.len(), "could not store request log entries");
        }
        batch.clear();
        let lost = dropped.get() - reported;
        reported += lost;
        if lost > 0 {
            tracing::warn!(lost, "request log entries dropped: the writer fell behind");
        }
        if last_expiry.is_none_or(|at| at.elapsed() >= EXPIRE_EVERY) {
            last_expiry = Some(Instant::now());
            match request_log::expire(&pool, days, EXPIRE_BATCH).await {
                Ok(n) if n > 0 => tracing::info!(deleted = n, "expired request log entries"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "could not expire request log entries"),
            }
        }
    }
}

/// Records every request whose path names a directory, once it has been answered.
pub async fn record(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let Some(directory_id) = directory_of(req.uri().path()) else {
        return next.run(req).await;
    };
    let method = req.method().to_string();
    let path = match req.uri().query() {
        Some(query) => format!(
            "{}?{}",
            req.uri().path(),
            redact::query(query, state.requests.query_values)
        ),
        None => req.uri().path().to_owned(),
    };
    let at = OffsetDateTime::now_utc();
    let started = Instant::now();
    let res = next.run(req).await;
    state.requests.record(Entry {
        directory_id,
        token: res.extensions().get::<TokenId>().map(|t| t.0),
        at,
        method,
        path,
        status: res.status().as_u16(),
        duration_ms: started.elapsed().as_secs_f32() * 1000.0,
        detail: res.extensions().get::<ErrorDetail>().map(|d| d.0.clone()),
    });
    res
}
