//! Per-directory quotas, on each replica: how fast one directory's requests may come
//! (`DIRECTORY_RATE_LIMIT`, off by default: `429` with `Retry-After` past it, which Okta
//! and Entra back off on), how many of its lists and searches may run at once
//! (`DIRECTORY_LIST_CONCURRENCY`: the rest wait their turn, up to the list time limit),
//! and how much database time its lists may take (`DIRECTORY_LIST_SHARE` seconds a
//! second, in bursts of up to `LIST_TIMEOUT_MS`: past it, `429` until the time is made
//! up). So one directory's identity provider, or anyone holding its token, cannot take
//! the database connections or the time every directory shares.

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
    /// How long a list waits for its turn before it is refused; also the most list time
    /// a directory may spend at once.
    pub list_wait: Duration,
    /// Seconds of list time a second one directory may spend over a longer stretch.
    pub list_share: f64,
}

pub struct Quotas {
    settings: Settings,
    /// One bucket and one list semaphore per directory seen (directories are few: one
    /// per customer organization).
    requests: Rate<Uuid>,
    lists: Mutex<HashMap<Uuid, Arc<Semaphore>>>,
    /// Each directory's list time, in seconds; shared with the turns, which charge it
    /// when they end (a turn can outlive the handler: a group's members are read as the
    /// response is written).
    list_time: Arc<Mutex<HashMap<Uuid, Bucket>>>,
}

/// A turn to run a list: the directory's other lists wait while it is held, and the
/// time it was held is charged to the directory when it ends.
pub struct ListTurn {
    settings: Settings,
    list_time: Arc<Mutex<HashMap<Uuid, Bucket>>>,
    directory: Uuid,
    started: Instant,
    _permit: OwnedSemaphorePermit,
}

impl Drop for ListTurn {
    fn drop(&mut self) {
        let Settings {
            list_share,
            list_wait,
            ..
        } = self.settings;
        let now = Instant::now();
        let spent = now.duration_since(self.started).as_secs_f64();
        let mut time = lock(&self.list_time);
        let bucket = time
            .entry(self.directory)
            .or_insert_with(|| Bucket::full(list_wait.as_secs_f64(), now));
        bucket.charge(now, list_share, list_wait.as_secs_f64(), spent);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Quotas {
    pub fn new(settings: Settings) -> Quotas {
        Quotas {
            settings,
            requests: Rate::new(settings.rate, settings.burst),
            lists: Mutex::new(HashMap::new()),
            list_time: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// Counts one request (or one operation of a `/Bulk` request) of the directory
    /// against its rate: `429` with the seconds to wait past it.
    pub fn admit_request(&self, directory: Uuid) -> Result<(), ApiError> {
        self.admit_or_retry_after(directory)
            .map_err(|retry_after| ApiError::TooManyRequests {
                retry_after,
                detail: format!(
                    "this directory sends more than {} requests a second; retry later",
                    self.settings.rate
                ),
            })
    }

    /// Takes one request from the directory's allowance, or says in whole seconds (a
    /// `Retry-After`, at least 1) how long to wait.
    pub(crate) fn admit_or_retry_after(&self, directory: Uuid) -> Result<(), u64> {
        self.requests.admit(directory)
    }

    /// How long a list may wait for its turn, and run (`LIST_TIMEOUT_MS`).
    pub fn list_wait(&self) -> Duration {
        self.settings.list_wait
    }

    /// Waits for the directory's turn to run a list, at most the list wait; refused at
    /// once while the directory's lists have spent more than their share of time.
    pub async fn list_turn(&self, directory: Uuid) -> Result<ListTurn, ApiError> {
        let Settings {
            list_share,
            list_wait,
            lists,
            ..
        } = self.settings;
        let now = Instant::now();
        let owed = lock(&self.list_time)
            .get_mut(&directory)
            .map_or(0.0, |b| -b.refill(now, list_share, list_wait.as_secs_f64()));
        if owed > 0.0 {
            return Err(ApiError::TooManyRequests {
                retry_after: (owed / list_share).ceil().max(1.0) as u64,
                detail: format!(
                    "this directory's lists and searches took more than their share of the \
                     database ({list_share} s a second); retry later"
                ),
            });
        }
        let semaphore = lock(&self.lists)
            .entry(directory)
            .or_insert_with(|| Arc::new(Semaphore::new(lists)))
            .clone();
        match tokio::time::timeout(list_wait, semaphore.acquire_owned()).await {
            Ok(Ok(permit)) => Ok(ListTurn {
                settings: self.settings,
                list_time: self.list_time.clone(),
                directory,
                started: Instant::now(),
                _permit: permit,
            }),
            _ => Err(ApiError::TooManyRequests {
                retry_after: 1,
                detail: format!(
                    "this directory already runs {lists} lists and searches at once; retry when they are done"
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

    /// The tokens now, refilled at `rate` a second since the last look, up to `burst`.
    fn refill(&mut self, now: Instant, rate: f64, burst: f64) -> f64 {
        let refilled = now.saturating_duration_since(self.at).as_secs_f64() * rate;
        self.tokens = (self.tokens + refilled).min(burst);
        self.at = now;
        self.tokens
    }

    /// Takes one token, or says how long until there is one.
    fn take(&mut self, now: Instant, rate: f64, burst: f64) -> Result<(), Duration> {
        if self.refill(now, rate, burst) >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - self.tokens) / rate))
        }
    }

    /// Takes `cost` tokens after the fact, into debt if need be.
    fn charge(&mut self, now: Instant, rate: f64, burst: f64, cost: f64) {
        self.refill(now, rate, burst);
        self.tokens -= cost;
    }
}

/// A rate per key (a directory, a client address, a setup link): `rate` a second, and
/// `burst` at once after a quiet spell; 0: no limit. Keys are forgotten all at once past
/// [`Rate::KEYS`], so keys a client chooses cannot grow it without bound.
pub(crate) struct Rate<K> {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<K, Bucket>>,
}

impl<K: std::hash::Hash + Eq> Rate<K> {
    const KEYS: usize = 100_000;

    pub(crate) fn new(rate: f64, burst: f64) -> Rate<K> {
        Rate {
            rate,
            burst,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one from `key`'s allowance, or says in whole seconds (a `Retry-After`, at
    /// least 1) how long to wait.
    pub(crate) fn admit(&self, key: K) -> Result<(), u64> {
        if self.rate <= 0.0 {
            return Ok(());
        }
        let now = Instant::now();
        let mut buckets = lock(&self.buckets);
        if buckets.len() >= Self::KEYS && !buckets.contains_key(&key) {
            buckets.clear();
        }
        buckets
            .entry(key)
            .or_insert_with(|| Bucket::full(self.burst, now))
            .take(now, self.rate, self.burst)
            .map_err(|wait| wait.as_secs_f64().ceil().max(1.0) as u64)
    }
}

/// Refuses a directory's request past its rate with `429` and the seconds to wait.
pub async fn limit_rate(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let Some(DirectoryId(directory)) = req.extensions().get::<DirectoryId>().copied() else {
        return next.run(req).await;
    };
    match state.quotas.admit_request(directory) {
        Ok(()) => next.run(req).await,
        Err(e) => axum::response::IntoResponse::into_response(e),
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
    fn time_charged_after_the_fact_is_owed_until_made_up() {
        let start = Instant::now();
        let mut b = Bucket::full(5.0, start);
        // A list of 8 s, from a full bucket of 5 s, leaves 3 s owed...
        b.charge(start, 0.5, 5.0, 8.0);
        assert_eq!(b.refill(start, 0.5, 5.0), -3.0);
        // ...made up at half a second a second: 6 s later, nothing is owed.
        assert_eq!(b.refill(start + Duration::from_secs(6), 0.5, 5.0), 0.0);
    }

    #[tokio::test]
    async fn a_directory_that_spent_its_list_time_is_refused_until_it_is_made_up() {
        let settings = Settings {
            rate: 0.0,
            burst: 0.0,
            lists: 2,
            list_wait: Duration::from_millis(50),
            list_share: 0.5,
        };
        let q = Quotas::new(settings);
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        {
            let _turn = q.list_turn(a).await.unwrap();
            tokio::time::sleep(Duration::from_millis(120)).await;
        }
        match q.list_turn(a).await {
            Err(ApiError::TooManyRequests {
                retry_after,
                detail,
            }) => {
                assert_eq!(retry_after, 1);
                assert!(detail.contains("share of the database"), "{detail}");
            }
            _ => panic!("a directory past its share runs another list"),
        }
        assert!(
            q.list_turn(b).await.is_ok(),
            "another directory is not held back"
        );
        // Two turns at once are the most one directory gets.
        let (_one, _two) = (q.list_turn(b).await.unwrap(), q.list_turn(b).await.unwrap());
        assert!(matches!(
            q.list_turn(b).await,
            Err(ApiError::TooManyRequests { .. })
        ));
    }

    #[test]
    fn directories_have_buckets_of_their_own_and_no_rate_means_no_limit() {
        let settings = Settings {
            rate: 1.0,
            burst: 1.0,
            lists: 1,
            list_wait: Duration::from_secs(1),
            list_share: 0.5,
        };
        let q = Quotas::new(settings);
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        assert!(q.admit_or_retry_after(a).is_ok());
        assert_eq!(q.admit_or_retry_after(a), Err(1));
        assert!(
            q.admit_or_retry_after(b).is_ok(),
            "another directory is not held back"
        );
        let off = Quotas::new(Settings {
            rate: 0.0,
            ..settings
        });
        assert!((0..1000).all(|_| off.admit_or_retry_after(a).is_ok()));
    }

    #[test]
    fn keys_a_client_chooses_cannot_grow_a_rate_without_bound() {
        let rate = Rate::new(1.0, 1.0);
        for k in 0..Rate::<u32>::KEYS as u32 + 10 {
            assert!(rate.admit(k).is_ok());
        }
        assert!(lock(&rate.buckets).len() <= Rate::<u32>::KEYS);
    }
}
