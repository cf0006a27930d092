//! The transactional outbox: rows written with each change (see `users`), read and
//! deleted by the relay.

use sqlx::PgConnection;
use uuid::Uuid;

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
