//! Dead pooled connections, found before a statement is sent on them.
//!
//! A database failover, a pgbouncer restart or `pg_terminate_backend` ends every
//! connection a pool holds, and nothing tells the pool: each would fail the next
//! statement sent on it (twice, in fact: the server's farewell is read as that
//! statement's error, and the connection goes back to the pool to fail once more).
//! Pinging every connection before use would find them, at the cost of a round trip
//! on every acquire. Instead, the first lost connection a process sees (any error
//! classified by [`Failure::of`](crate::failure::Failure::of)) marks the moment, and
//! for [`SUSPECT_FOR`] after it every pool of the process pings the connections it hands
//! out that are older than that moment: the dead ones are closed and replaced before
//! anyone uses them. Connections opened since are not pinged, and neither is anything
//! when no connection was lost.

use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long after a lost connection older connections are pinged before use.
pub const SUSPECT_FOR: Duration = Duration::from_secs(10);

/// When this process last saw a lost connection, in milliseconds since [`START`]
/// (plus one; 0: never).
static LOST_AT: AtomicU64 = AtomicU64::new(0);
static START: LazyLock<Instant> = LazyLock::new(Instant::now);

/// Notes that a connection was found dead now.
pub(crate) fn lost() {
    let at = START.elapsed().as_millis() as u64 + 1;
    LOST_AT.fetch_max(at, Ordering::Relaxed);
}

/// Whether a connection of age `age` may be dead and must be pinged before use.
pub(crate) fn suspect(age: Duration) -> bool {
    let lost = LOST_AT.load(Ordering::Relaxed);
    let now = START.elapsed().as_millis() as u64 + 1;
    lost != 0 && must_ping(Duration::from_millis(now.saturating_sub(lost)), age)
}

/// A connection must be pinged if a connection was lost `since` ago, recently, and it
/// was open already then.
fn must_ping(since: Duration, age: Duration) -> bool {
    since < SUSPECT_FOR && age > since
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_connections_older_than_a_recent_loss_are_pinged() {
        let s = Duration::from_secs;
        // Open before the loss, 2 s ago: pinged.
        assert!(must_ping(s(2), s(60)));
        // Opened after the loss: a fresh connection, not pinged.
        assert!(!must_ping(s(2), s(1)));
        // The loss is old news: nothing is pinged any more.
        assert!(!must_ping(SUSPECT_FOR, s(3600)));
    }

    #[test]
    fn nothing_is_suspect_until_a_connection_is_lost() {
        // Run in its own process by nextest: no other test of this binary notes a loss
        // before this one reads.
        if LOST_AT.load(Ordering::Relaxed) == 0 {
            assert!(!suspect(Duration::from_secs(3600)));
        }
        lost();
        assert!(suspect(Duration::from_secs(3600)));
        assert!(!suspect(Duration::ZERO));
    }
}
