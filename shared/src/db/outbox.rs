//! The transactional outbox: rows written with each change (see `users`), read and
//! deleted by the relay.
//!
//! Every read goes by index, with sequential scans off (the relay's connection, and
//! [`backlog`]'s transaction): the table is nearly always empty, so its statistics say
//! "a few rows", while its file stays as large as the biggest backlog ever was, and a
//! plan by the statistics read the whole file (81 MB, seconds) for every batch.

use crate::event::Event;
use sqlx::{Connection, PgConnection, PgExecutor};
use uuid::Uuid;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Pending {
    pub seq: i64,
    pub event_id: Uuid,
    pub subject: String,
    /// The event JSON exactly as committed.
    pub payload: String,
    /// The W3C trace context of the change, when traces are exported.
    pub traceparent: Option<String>,
}

/// The oldest unpublished events, in commit order for any one resource.
pub async fn oldest(conn: &mut PgConnection, limit: i64) -> Result<Vec<Pending>, sqlx::Error> {
    sqlx::query_as(
        "SELECT seq, event_id, subject, payload::text AS payload, traceparent FROM outbox ORDER BY seq LIMIT $1",
    )
    .bind(limit)
    .fetch_all(conn)
    .await
}

pub async fn remove(conn: &mut PgConnection, seqs: &[i64]) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM outbox WHERE seq = ANY($1)")
        .bind(seqs)
        .execute(conn)
        .await?;
    Ok(())
}

/// Writes events in order, in one statement (for changes made by several statements
/// in one transaction; single-statement writes embed their event instead).
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
        traces.push(e.traceparent.as_deref());
    }
    sqlx::query(
        "INSERT INTO outbox (event_id, subject, payload, traceparent)
         SELECT id, subject, payload::json, traceparent
         FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[])
             WITH ORDINALITY AS t(id, subject, payload, traceparent, n)
         ORDER BY n",
    )
    .bind(ids)
    .bind(subjects)
    .bind(payloads)
    .bind(traces)
    .execute(db)
    .await?;
    Ok(())
}

/// Events waiting to be published, and the age in seconds of the oldest (0 if none).
pub async fn backlog(conn: &mut PgConnection) -> Result<(i64, f64), sqlx::Error> {
    let mut tx = conn.begin().await?;
    sqlx::query("SET LOCAL enable_seqscan = off")
        .execute(&mut *tx)
        .await?;
    let backlog = sqlx::query_as(
        "SELECT count(*),
                coalesce(extract(epoch FROM now() - (SELECT created_at FROM outbox ORDER BY seq LIMIT 1))::float8, 0)
         FROM outbox",
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(backlog)
}
