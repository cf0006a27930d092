//! The audit log of admin actions: who did what, when.

use serde_json::Value;
use sqlx::PgExecutor;
use sqlx::types::Json;
use time::OffsetDateTime;
use uuid::Uuid;

/// An admin action as recorded.
#[derive(Debug, Clone)]
pub struct Record {
    pub id: Uuid,
    pub at: OffsetDateTime,
    pub actor: String,
    /// Such as `directory.created` or `token.revoked`.
    pub action: String,
    pub directory_id: Option<Uuid>,
    pub details: Value,
}

pub async fn record(
    db: impl PgExecutor<'_>,
    actor: &str,
    action: &str,
    directory_id: Option<Uuid>,
    details: &Value,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO audit_log (id, actor, action, directory_id, details) VALUES ($1, $2, $3, $4, $5)",
        Uuid::now_v7(),
        actor,
        action,
        directory_id,
        Json(details) as _
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Which records to list.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<'a> {
    /// Of one directory (a deleted one too); of all when `None`.
    pub directory: Option<Uuid>,
    /// Older than this record: the next page.
    pub before: Option<Uuid>,
    /// Whose action or actor contains this (case ignored).
    pub search: Option<&'a str>,
}

/// The newest records matching `q`, newest first.
pub async fn recent(
    db: impl PgExecutor<'_>,
    q: Query<'_>,
    limit: i64,
) -> Result<Vec<Record>, sqlx::Error> {
    sqlx::query_as!(
        Record,
        r#"SELECT id, at, actor, action, directory_id, details
           FROM audit_log
           WHERE ($1::uuid IS NULL OR directory_id = $1)
             AND ($2::uuid IS NULL OR id < $2)
             AND ($3::text IS NULL OR strpos(lower(action || ' ' || actor), lower($3)) > 0)
           ORDER BY id DESC LIMIT $4"#,
        q.directory as Option<Uuid>,
        q.before as Option<Uuid>,
        q.search,
        limit
    )
    .fetch_all(db)
    .await
}
