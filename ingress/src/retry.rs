//! SCIM requests answered as if a database failover had not happened.
//!
//! A failover, a pgbouncer restart or `pg_terminate_backend` ends the connections a
//! request may be using or about to use. What was sent on a lost connection did not
//! take effect (Postgres rolls its transaction back), so the request runs again, on
//! fresh connections ([`scim_store`]'s pools check their older connections after a
//! loss), instead of answering the identity provider 503. Only a commit lost in
//! flight may have taken effect; running the request again then answers what the
//! identity provider's own retry would have got: a `PUT` or `PATCH` finds its change
//! made, a create finds its userName or displayName taken (409), a delete finds the
//! resource gone (404). `/Bulk` is not run again: its operations commit one by one.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::Response;
use std::time::Duration;

use crate::AppState;

/// Set on a response that failed only because a database connection was lost.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConnectionLost;

/// Runs of one request, the first included.
const ATTEMPTS: u32 = 4;

/// Runs the request again, up to [`ATTEMPTS`] times, while it fails with a lost
/// connection. Its body is kept for that when its length is declared and within the
/// body limit; a body sent without a length runs once.
pub(crate) async fn after_lost_connections(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let repeatable = match declared {
        Some(n) => n <= state.max_body_bytes,
        None => req.method() == Method::GET || req.method() == Method::DELETE,
    };
    if !repeatable || is_bulk(&req) {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let Ok(body) = axum::body::to_bytes(body, state.max_body_bytes).await else {
        // Shorter than declared, or the client went away: nothing to answer well.
        let req = Request::from_parts(parts, Body::empty());
        return next.run(req).await;
    };
    let mut attempt = 1;
    loop {
        let req = Request::from_parts(parts.clone(), Body::from(body.clone()));
        let res = next.clone().run(req).await;
        if attempt == ATTEMPTS || res.extensions().get::<ConnectionLost>().is_none() {
            return res;
        }
        state.metrics.requests_retried.inc();
        tokio::time::sleep(Duration::from_millis(20 << attempt)).await;
        attempt += 1;
    }
}

fn is_bulk(req: &Request) -> bool {
    req.uri().path().trim_end_matches('/').ends_with("/Bulk")
}
