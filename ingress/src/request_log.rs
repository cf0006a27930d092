//! The request log: every SCIM request under a directory's base URL, with its status,
//! duration and, for errors, the detail returned; of its query string only what names
//! nothing personal, by default ([`redact::query`]), and never a credential. Entries are handed to a background
//! writer and stored in batches, off the request path, within [`GATHER`] of the
//! request; when the writer falls behind, entries are dropped (and counted in the log)
//! rather than slowing provisioning.
//!
//! Each entry names the user or group it was about (the path's id, or the created
//! resource's from `Location`). A failed request of an authenticated identity provider
//! (every request, while the directory's inspector window is open) also keeps what it
//! sent, for the request inspector: the body is copied as it
//! streams in, up to [`KEPT_BODY_BYTES`], then redacted and cut to
//! [`INSPECTED_BYTES`] ([`redact::body`]).

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::Response;
use http_body_util::BodyExt;
use prometheus_client::metrics::counter::Counter;
use scim_core::redact;
use scim_store::failure::Failure;
use scim_store::request_log::{self, Entry};
use serde_json::Value;
use sqlx::PgPool;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::AppState;
use crate::auth::{Inspecting, TokenId, directory_of};
use crate::error::ErrorDetail;

/// Entries waiting for the writer at most.
const QUEUE: usize = 10_000;
/// Entries stored per statement at most.
const BATCH: usize = 1_000;
/// How long the writer gathers entries before it stores them: one statement per
/// moment rather than per request, at the price of entries showing up this much later.
const GATHER: Duration = Duration::from_millis(200);
/// Bytes of a request body copied while it streams in, in case the request fails: a
/// longer body is described, not kept (it could not be redacted once cut).
const KEPT_BODY_BYTES: usize = 64 * 1024;
/// Bytes of a failed request's redacted body the log keeps.
const INSPECTED_BYTES: usize = 4 * 1024;
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
    /// Attributes whose values a kept body hides, beyond credentials
    /// (`REQUEST_LOG_REDACT`).
    hidden: Arc<[String]>,
}

impl RequestLog {
    /// Starts the writer. It stores what is queued until every handle is dropped, then
    /// returns; entries older than `days` are deleted as it goes.
    pub fn start(
        pool: PgPool,
        days: u32,
        query_values: bool,
        hidden: &str,
        dropped: Counter,
    ) -> (RequestLog, tokio::task::JoinHandle<()>) {
        let (queue, rx) = mpsc::channel(QUEUE);
        let writer = tokio::spawn(write(pool, rx, days, dropped.clone()));
        let hidden = hidden
            .split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(str::to_owned)
            .collect();
        let log = RequestLog {
            queue,
            dropped,
            query_values,
            hidden,
        };
        (log, writer)
    }

    pub(crate) fn record(&self, entry: Entry) {
        if self.queue.try_send(entry).is_err() {
            self.dropped.inc();
        }
    }

    /// What the inspector keeps of a failed request's body (`complete`: all of it was
    /// copied), and the userName or displayName it names.
    fn inspect(&self, raw: &[u8], complete: bool) -> (String, Option<String>) {
        match complete
            .then(|| serde_json::from_slice::<Value>(raw).ok())
            .flatten()
        {
            Some(value) => self.inspect_value(&value),
            None => (
                redact::body(raw, complete, &self.hidden, INSPECTED_BYTES),
                None,
            ),
        }
    }

    /// [`RequestLog::inspect`] of a body already parsed (a `/Bulk` operation's data).
    pub(crate) fn inspect_value(&self, data: &Value) -> (String, Option<String>) {
        (
            redact::json(data.clone(), &self.hidden, INSPECTED_BYTES),
            named(data),
        )
    }
}

/// The userName or displayName a user or group body names.
fn named(body: &Value) -> Option<String> {
    ["userName", "displayName"]
        .iter()
        .find_map(|k| body.get(k)?.as_str())
        .map(|n| n.chars().take(256).collect())
}

/// Whether a request was refused for what it sent (a 4xx other than 429), so what it
/// sent is worth keeping. A rate refusal or an outage says nothing about the body, and
/// keeping a flood of them would only fill the log.
fn refused_for_content(status: u16) -> bool {
    (400..500).contains(&status) && status != 429
}

/// The user or group a SCIM path names: `/scim/v2/<directory>/Users/<id>`.
pub(crate) fn resource_of(path: &str) -> Option<Uuid> {
    let mut parts = path.strip_prefix("/scim/v2/")?.split('/').skip(1);
    match (parts.next(), parts.next()) {
        (Some("Users" | "Groups"), Some(id)) => Uuid::try_parse(id).ok(),
        _ => None,
    }
}

/// The first [`KEPT_BODY_BYTES`] of a body, copied as it streams past (the chunks are
/// shared, not copied), and whether that was all of it.
#[derive(Clone, Default)]
struct Copied(Arc<Mutex<(Vec<Bytes>, usize, bool)>>);

impl Copied {
    fn tee(&self, body: Body) -> Body {
        let copied = self.clone();
        Body::new(body.map_frame(move |frame| {
            if let Some(data) = frame.data_ref()
                && let Ok(mut c) = copied.0.lock()
            {
                let (chunks, len, over) = &mut *c;
                *len += data.len();
                if *len > KEPT_BODY_BYTES {
                    *over = true;
                    chunks.clear();
                } else {
                    chunks.push(data.clone());
                }
            }
            frame
        }))
    }

    fn take(&self) -> Option<(Vec<u8>, bool)> {
        let c = self.0.lock().ok()?;
        let (chunks, len, over) = &*c;
        (*len > 0).then(|| (chunks.concat(), !over))
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
    let copied = Copied::default();
    let sends_body = [Method::POST, Method::PUT, Method::PATCH].contains(req.method());
    let req = match sends_body {
        true => req.map(|body| copied.tee(body)),
        false => req,
    };
    let named = resource_of(req.uri().path());
    let at = OffsetDateTime::now_utc();
    let started = Instant::now();
    let res = next.run(req).await;
    let token = res.extensions().get::<TokenId>().map(|t| t.0);
    let status = res.status().as_u16();
    let created = || {
        let location = res.headers().get(header::LOCATION)?.to_str().ok()?;
        Uuid::try_parse(location.rsplit('/').next()?).ok()
    };
    // Only an identity provider that proved who it is has its body kept: a stranger
    // may not write into a directory's inspector. Within the directory's inspector
    // window, a success's body too.
    let inspected = res.extensions().get::<Inspecting>().is_some();
    let keep = inspected || (refused_for_content(status) && token.is_some());
    let (body, resource) = match (keep, copied.take()) {
        (true, Some((raw, complete))) => {
            let (body, name) = state.requests.inspect(&raw, complete);
            (Some(body), name)
        }
        _ => (None, None),
    };
    state.requests.record(Entry {
        directory_id,
        token,
        at,
        method,
        path,
        status,
        duration_ms: started.elapsed().as_secs_f32() * 1000.0,
        detail: res.extensions().get::<ErrorDetail>().map(|d| d.0.clone()),
        resource_id: named.or_else(created),
        resource,
        body,
    });
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_names_the_user_or_group_its_path_does() {
        let id = Uuid::now_v7();
        let dir = Uuid::now_v7();
        assert_eq!(resource_of(&format!("/scim/v2/{dir}/Users/{id}")), Some(id));
        assert_eq!(
            resource_of(&format!("/scim/v2/{dir}/Groups/{id}")),
            Some(id)
        );
        assert_eq!(resource_of(&format!("/scim/v2/{dir}/Users")), None);
        assert_eq!(resource_of(&format!("/scim/v2/{dir}/Schemas/{id}")), None);
        assert_eq!(
            resource_of(&format!("/scim/v2/{dir}/Users/not-an-id")),
            None
        );
    }

    #[test]
    fn a_body_is_kept_for_what_was_refused_for_it() {
        for kept in [400, 404, 409, 413, 422] {
            assert!(refused_for_content(kept), "{kept}");
        }
        for not in [200, 201, 204, 429, 500, 503] {
            assert!(!refused_for_content(not), "{not}");
        }
    }

    #[tokio::test]
    async fn a_body_is_copied_as_it_streams_up_to_a_bound() {
        let copied = Copied::default();
        let body = copied.tee(Body::from(r#"{"userName":"ann"}"#));
        let read = axum::body::to_bytes(body, usize::MAX).await.unwrap();
        assert_eq!(&read[..], br#"{"userName":"ann"}"#);
        assert_eq!(copied.take(), Some((read.to_vec(), true)));

        let long = Copied::default();
        let body = long.tee(Body::from(vec![b'x'; KEPT_BODY_BYTES + 1]));
        let read = axum::body::to_bytes(body, usize::MAX).await.unwrap();
        assert_eq!(
            read.len(),
            KEPT_BODY_BYTES + 1,
            "the handler gets all of it"
        );
        assert_eq!(long.take(), Some((Vec::new(), false)));
        assert_eq!(Copied::default().take(), None);
    }
}
