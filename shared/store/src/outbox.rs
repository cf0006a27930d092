//! The transactional outbox: rows written with each change (see `users`), read and
//! deleted by the relay.
//!
//! Every read goes by index, with sequential scans off (the relay's connection, and
//! [`backlog`]'s transaction): the table is nearly always empty, so its statistics say
//! "a few rows", while its file stays as large as the biggest backlog ever was, and a
//! plan by the statistics read the whole file (81 MB, seconds) for every batch.

use scim_events::Event;
use sqlx::{Connection, PgConnection, PgExecutor};
use uuid::Uuid;

/// Arbitrary, fixed: the advisory lock that elected the one publishing relay before the
/// outbox had slots. Relays now hold it shared, so a relay of an older release (which
/// takes it exclusively) and the relays of this one never publish at the same time
/// while a deployment rolls.
const LEADER_LOCK: i64 = 0x5c1d_7e1a_7001;

/// The outbox's slots (migration 0017): each row is in the slot of its directory, so
/// all of a directory's events are in one.
pub const SLOTS: i16 = 16;

/// Arbitrary, fixed: the class of the advisory locks (one per slot) that give a relay
/// a slot to publish.
const SLOT_LOCK: i32 = 0x5c1d_7e1a;

/// Whether this connection may publish (it holds the lock shared until it closes): no
/// relay of an older release is publishing.
pub async fn try_lead(conn: &mut PgConnection) -> Result<bool, sqlx::Error> {
    let led = sqlx::query_scalar!("SELECT pg_try_advisory_lock_shared($1)", LEADER_LOCK)
        .fetch_one(conn)
        .await?;
    Ok(led == Some(true))
}

/// Takes the slots among `wanted` that no other connection holds, until this one
/// closes, and returns them: only the holder of a slot publishes its events, so each
/// directory's leave in commit order. Ask only for slots not held already (a lock
/// taken twice must be released twice).
pub async fn claim(conn: &mut PgConnection, wanted: &[i16]) -> Result<Vec<i16>, sqlx::Error> {
    let mut held = sqlx::query_scalar!(
        r#"SELECT s AS "slot!" FROM unnest($1::int2[]) AS s WHERE pg_try_advisory_lock($2, s)"#,
        wanted,
        SLOT_LOCK
    )
    .fetch_all(conn)
    .await?;
    held.sort();
    Ok(held)
}

#[derive(Debug, Clone)]
pub struct Pending {
    pub seq: i64,
    pub event_id: Uuid,
    pub subject: String,
    /// The event JSON exactly as committed.
    pub payload: String,
    /// The W3C trace context of the change, when traces are exported.
    pub traceparent: Option<String>,
}

/// The oldest unpublished events of the slots, at most `limit`, shared evenly among the
/// slots that have any (so one directory's backlog does not hold up the others of its
/// lane), in commit order for any one resource.
pub async fn oldest(
    conn: &mut PgConnection,
    slots: &[i16],
    limit: i64,
) -> Result<Vec<Pending>, sqlx::Error> {
    // Each slot by its index: a lane reads its own rows alone, however many another
    // lane has waiting (reading along the key instead, an idle lane's every poll passed
    // over a busy lane's whole backlog). `ORDER BY slot, seq` is the index's order, so
    // no plan reads the key instead. Sorted here, not by Postgres, which would sort the
    // payloads too.
    let mut rows = sqlx::query_as!(
        Pending,
        r#"WITH busy AS (
               SELECT s.slot FROM unnest($1::int2[]) AS s(slot)
               WHERE EXISTS (SELECT 1 FROM outbox WHERE slot = s.slot)
           ), share AS (
               SELECT ceil($2::float8 / greatest(count(*), 1))::int8 AS n FROM busy
           )
           SELECT o.seq AS "seq!", o.event_id AS "event_id!", o.subject AS "subject!",
                  o.payload AS "payload!", o.traceparent
           FROM busy CROSS JOIN share
           CROSS JOIN LATERAL (SELECT seq, event_id, subject, payload::text AS payload, traceparent
                               FROM outbox WHERE slot = busy.slot
                               ORDER BY slot, seq LIMIT share.n) o"#,
        slots,
        limit as f64
    )
    .fetch_all(conn)
    .await?;
    rows.sort_by_key(|row| row.seq);
    // The shares are rounded up; what is cut is each slot's newest, read again next.
    // Never more: the relay awaits a batch's acks only once all of it is sent.
    rows.truncate(limit.max(0) as usize);
    Ok(rows)
}

/// Arbitrary, fixed: the advisory lock a relay holds (shared) while it publishes a batch
/// and removes it from the outbox, and a snapshot takes (exclusively) for the instant it
/// starts ([`snapshot_start`]).
const PUBLISHING: i64 = 0x5c1d_7e1a_7002;

/// Takes (`true`) or releases the publishing lock, shared, on the relay's connection.
pub async fn publishing(conn: &mut PgConnection, held: bool) -> Result<(), sqlx::Error> {
    if held {
        sqlx::query!("SELECT pg_advisory_lock_shared($1)", PUBLISHING)
            .fetch_one(conn)
            .await?;
    } else {
        sqlx::query!("SELECT pg_advisory_unlock_shared($1)", PUBLISHING)
            .fetch_one(conn)
            .await?;
    }
    Ok(())
}

/// Holds every relay between batches while `start` runs: what the stream holds then is
/// exactly what was removed from the outbox. A snapshot reads the stream's last sequence
/// and takes its database snapshot inside `start`, so every event after that sequence
/// is either after the snapshot or still in the outbox the snapshot sees.
pub async fn snapshot_start<T>(
    lock: &mut PgConnection,
    start: impl AsyncFnOnce() -> T,
) -> Result<T, sqlx::Error> {
    sqlx::query!("SELECT pg_advisory_lock($1)", PUBLISHING)
        .fetch_one(&mut *lock)
        .await?;
    let started = start().await;
    sqlx::query!("SELECT pg_advisory_unlock($1)", PUBLISHING)
        .fetch_one(lock)
        .await?;
    Ok(started)
}

/// An event the relay set aside ([`park`]).
#[derive(Debug, Clone)]
pub struct Parked {
    pub seq: i64,
    pub event_id: Uuid,
    pub subject: String,
    /// The event's size as JSON text, in bytes.
    pub bytes: i32,
    pub created_at: time::OffsetDateTime,
    pub parked_at: time::OffsetDateTime,
    pub reason: String,
}

/// Moves events that can never be published as they are out of the outbox, each with
/// the reason, so the events behind them flow.
pub async fn park(conn: &mut PgConnection, rows: &[(i64, String)]) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let (seqs, reasons): (Vec<i64>, Vec<String>) = rows.iter().cloned().unzip();
    sqlx::query!(
        "WITH moved AS (
             DELETE FROM outbox WHERE seq = ANY($1)
             RETURNING seq, event_id, subject, payload, traceparent, created_at
         )
         INSERT INTO outbox_parked (seq, event_id, subject, payload, traceparent, created_at, reason)
         SELECT m.seq, m.event_id, m.subject, m.payload, m.traceparent, m.created_at, r.reason
         FROM moved m JOIN unnest($1::int8[], $2::text[]) AS r(seq, reason) ON r.seq = m.seq
         ON CONFLICT (seq) DO NOTHING",
        &seqs,
        &reasons
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The events set aside, oldest first; of one directory when given.
pub async fn parked(
    db: impl PgExecutor<'_>,
    directory: Option<Uuid>,
) -> Result<Vec<Parked>, sqlx::Error> {
    sqlx::query_as!(
        Parked,
        r#"SELECT seq, event_id, subject, octet_length(payload::text) AS "bytes!", created_at,
                  parked_at, reason
           FROM outbox_parked
           WHERE $1::uuid IS NULL OR subject LIKE 'scim.v1.' || $1::text || '.%' ORDER BY seq"#,
        directory as Option<Uuid>
    )
    .fetch_all(db)
    .await
}

/// The event set aside as `seq`, locked until the transaction ends.
pub async fn parked_one(conn: &mut PgConnection, seq: i64) -> Result<Option<Parked>, sqlx::Error> {
    sqlx::query_as!(
        Parked,
        r#"SELECT seq, event_id, subject, octet_length(payload::text) AS "bytes!", created_at,
                  parked_at, reason
           FROM outbox_parked WHERE seq = $1 FOR UPDATE"#,
        seq
    )
    .fetch_optional(conn)
    .await
}

/// Puts a set-aside event back at the end of the outbox, for the relay to publish
/// again (and set aside again if it still cannot). Returns its new outbox seq, or
/// `None` if no event is set aside under `seq`.
pub async fn republish(db: impl PgExecutor<'_>, seq: i64) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar!(
        "WITH p AS (DELETE FROM outbox_parked WHERE seq = $1 RETURNING *)
         INSERT INTO outbox (event_id, subject, payload, traceparent, created_at)
         SELECT event_id, subject, payload, traceparent, created_at FROM p
         RETURNING seq",
        seq
    )
    .fetch_optional(db)
    .await
}

/// Deletes a set-aside event for good.
pub async fn discard(db: impl PgExecutor<'_>, seq: i64) -> Result<(), sqlx::Error> {
    sqlx::query!("DELETE FROM outbox_parked WHERE seq = $1", seq)
        .execute(db)
        .await?;
    Ok(())
}

pub async fn remove(conn: &mut PgConnection, seqs: &[i64]) -> Result<(), sqlx::Error> {
    sqlx::query!("DELETE FROM outbox WHERE seq = ANY($1)", seqs)
        .execute(conn)
        .await?;
    Ok(())
}

/// Writes events in order, in one statement (for changes made by several statements
/// in one transaction; single-statement writes embed their event instead), each with
/// the trace context it was given ([`Event::traced`]).
pub async fn insert(db: impl PgExecutor<'_>, events: &[Event]) -> Result<(), sqlx::Error> {
    if events.is_empty() {
        return Ok(());
    }
    let mut ids = Vec::with_capacity(events.len());
    let mut subjects = Vec::with_capacity(events.len());
    let mut payloads = Vec::with_capacity(events.len());
    let mut traces = Vec::with_capacity(events.len());
    for e in events {
        ids.push(e.id);
        subjects.push(e.subject());
        payloads.push(serde_json::to_string(e).map_err(|err| sqlx::Error::Encode(err.into()))?);
        traces.push(e.traceparent.clone());
    }
    sqlx::query!(
        "INSERT INTO outbox (event_id, subject, payload, traceparent)
         SELECT id, subject, payload::json, traceparent
         FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[])
             WITH ORDINALITY AS t(id, subject, payload, traceparent, n)
         ORDER BY n",
        &ids,
        &subjects,
        &payloads,
        &traces as &[Option<String>]
    )
    .execute(db)
    .await?;
    Ok(())
}

/// What the outbox holds: events waiting to be published, the age in seconds of the
/// oldest (0 if none), and events set aside.
#[derive(Debug, Clone, PartialEq)]
pub struct Backlog {
    pub waiting: i64,
    pub oldest_seconds: f64,
    pub parked: i64,
}

pub async fn backlog(conn: &mut PgConnection) -> Result<Backlog, sqlx::Error> {
    let mut tx = conn.begin().await?;
    sqlx::query!("SET LOCAL enable_seqscan = off")
        .execute(&mut *tx)
        .await?;
    let backlog = sqlx::query_as!(
        Backlog,
        r#"SELECT count(*) AS "waiting!",
                coalesce(extract(epoch FROM now() - (SELECT created_at FROM outbox ORDER BY seq LIMIT 1))::float8, 0) AS "oldest_seconds!",
                (SELECT count(*) FROM outbox_parked) AS "parked!"
           FROM outbox"#
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(backlog)
}
