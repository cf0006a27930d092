//! Per-directory quotas, on each replica: how fast one directory's requests may come
//! (`DIRECTORY_RATE_LIMIT`, off by default: `429` with `Retry-After` past it, which Okta
//! and Entra back off on), and how many of its lists and searches may run at once
//! (`DIRECTORY_LIST_CONCURRENCY`: the rest wait their turn, up to the list time limit).
//! So one directory's identity provider, or anyone holding its token, cannot take the
//! database connections or the time every directory shares.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use uuid::Uuid;

use crate::AppState;
use crate::auth::DirectoryId;
use crate::error::ApiError;

/// The quota settings, from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Requests per second per directory (0: no limit) and how many may come at once
    /// after a quiet spell.
    pub rate: f64,
    pub burst: f64,
    /// Lists and searches of one directory running at once.
    pub lists: usize,
    /// How long a list waits for its turn before it is refused.
    pub list_wait: Duration,
}

pub struct Quotas {
    settings: Settings,
    /// One bucket and one list semaphore per directory seen (directories are few: one
    /// per customer organization).
    buckets: Mutex<HashMap<Uuid, Bucket>>,
    lists: Mutex<HashMap<Uuid, Arc<Semaphore>>>,
}

/// A turn to run a list: the directory's other lists wait while it is held.
pub struct ListTurn {
    _permit: OwnedSemaphorePermit,
}

impl Quotas {
    pub fn new(settings: Settings) -> Quotas {
        Quotas {
            settings,
            buckets: Mutex::new(HashMap::new()),
            lists: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request from the directory's allowance, or says how long to wait.
    fn admit(&self, directory: Uuid) -> Result<(), Duration> {
        let Settings { rate, burst, .. } = self.settings;
        if rate <= 0.0 {
            return Ok(());
        }
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        buckets
            .entry(directory)
            .or_insert_with(|| Bucket::full(burst, now))
            .take(now, rate, burst)
    }

    /// Waits for the directory's turn to run a list, at most the list wait.
    pub async fn list_turn(&self, directory: Uuid) -> Result<ListTurn, ApiError> {
        let semaphore = self
            .lists
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(directory)
            .or_insert_with(|| Arc::new(Semaphore::new(self.settings.lists)))
            .clone();
        match tokio::time::timeout(self.settings.list_wait, semaphore.acquire_owned()).await {
            Ok(Ok(permit)) => Ok(ListTurn { _permit: permit }),
            _ => Err(ApiError::TooManyRequests {
                retry_after: 1,
                detail: format!(
                    "this directory already runs {} lists or searches; retry when they are done",
                    self.settings.lists
                ),
            }),
        }
    }
}

/// A token bucket: `tokens` requests may come now; it refills at the rate, up to the
/// burst.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn full(burst: f64, now: Instant) -> Bucket {
        Bucket {
            tokens: burst,
            at: now,
        }
    }

    fn take(&mut self, now: Instant, rate: f64, burst: f64) -> Result<(), Duration> {
        let refilled = now.saturating_duration_since(self.at).as_secs_f64() * rate;
        self.tokens = (self.tokens + refilled).min(burst);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - self.tokens) / rate))
        }
    }
}

/// Refuses a directory's request past its rate with `429` and the seconds to wait.
pub async fn limit_rate(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let Some(DirectoryId(directory)) = req.extensions().get::<DirectoryId>().copied() else {
        return next.run(req).await;
    };
    match state.quotas.admit(directory) {
        Ok(()) => next.run(req).await,
        Err(wait) => axum::response::IntoResponse::into_response(ApiError::TooManyRequests {
            retry_after: wait.as_secs_f64().ceil().max(1.0) as u64,
            detail: format!(
                "this directory sends more than {} requests a second; retry later",
                state.quotas.settings.rate
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_lets_a_burst_through_then_the_rate() {
        let start = Instant::now();
        let mut b = Bucket::full(3.0, start);
        for _ in 0..3 {
            assert_eq!(b.take(start, 2.0, 3.0), Ok(()));
        }
        let wait = b.take(start, 2.0, 3.0).unwrap_err();
        assert_eq!(wait, Duration::from_millis(500));
        // Half a second later one more request fits, and only one.
        let later = start + Duration::from_millis(500);
        assert_eq!(b.take(later, 2.0, 3.0), Ok(()));
        assert!(b.take(later, 2.0, 3.0).is_err());
        // A long quiet spell refills it to the burst, no further.
        let quiet = later + Duration::from_secs(60);
        for _ in 0..3 {
            assert_eq!(b.take(quiet, 2.0, 3.0), Ok(()));
        }
        assert!(b.take(quiet, 2.0, 3.0).is_err());
    }

    #[test]
    fn directories_have_buckets_of_their_own_and_no_rate_means_no_limit() {
        let settings = Settings {
            rate: 1.0,
            burst: 1.0,
            lists: 1,
            list_wait: Duration::from_secs(1),
        };
        let q = Quotas::new(settings);
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        assert!(q.admit(a).is_ok());
        assert!(q.admit(a).is_err());
        assert!(q.admit(b).is_ok(), "another directory is not held back");
        let off = Quotas::new(Settings {
            rate: 0.0,
            ..settings
        });
        assert!((0..1000).all(|_| off.admit(a).is_ok()));
    }
}
