//! The transactional outbox: rows written beside each change, read and deleted by the relay.

use crate::event::Event;
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

/// Records `event` in the caller's transaction.
pub async fn enqueue(db: impl PgExecutor<'_>, event: &Event) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO outbox (event_id, subject, payload) VALUES ($1, $2, $3)")
        .bind(event.id)
        .bind(event.subject())
        .bind(sqlx::types::Json(event))
        .execute(db)
        .await?;
    Ok(())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Pending {
    pub seq: i64,
    pub event_id: Uuid,
    pub subject: String,
    /// The event JSON exactly as committed.
    pub payload: String,
}

/// The oldest unpublished events, in commit order for any one resource.
pub async fn oldest(conn: &mut PgConnection, limit: i64) -> Result<Vec<Pending>, sqlx::Error> {
    sqlx::query_as(
        "SELECT seq, event_id, subject, payload::text AS payload FROM outbox ORDER BY seq LIMIT $1",
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
