//! SQL for the `scim_users` table. Writers take a transaction so the caller can add the
//! outbox row to the same commit.

use crate::filter::sql::{Bind, Condition};
use crate::user::User;
use serde_json::{Map, Value};
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::{AssertSqlSafe, PgConnection, PgExecutor, Row};
use time::OffsetDateTime;
use uuid::Uuid;

/// The unique index behind `409 uniqueness` on userName.
pub const USER_NAME_UNIQUE: &str = "scim_users_user_name_key";

#[derive(Debug, Clone, PartialEq)]
pub struct StoredUser {
    pub id: Uuid,
    pub user: User,
    pub version: i64,
    pub created: OffsetDateTime,
    pub last_modified: OffsetDateTime,
}

const COLUMNS: &str = "id, resource, version, created_at, updated_at";

fn from_row(row: &PgRow) -> Result<StoredUser, sqlx::Error> {
    let Json(attrs): Json<Map<String, Value>> = row.try_get("resource")?;
    Ok(StoredUser {
        id: row.try_get("id")?,
        user: User::from_stored(attrs),
        version: row.try_get("version")?,
        created: row.try_get("created_at")?,
        last_modified: row.try_get("updated_at")?,
    })
}

pub async fn insert(
    conn: &mut PgConnection,
    directory_id: Uuid,
    user: &User,
) -> Result<StoredUser, sqlx::Error> {
    let row = sqlx::query(
        "INSERT INTO scim_users (directory_id, id, user_name, external_id, active, resource, version, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, 1, now(), now())
         RETURNING id, resource, version, created_at, updated_at",
    )
    .bind(directory_id)
    .bind(Uuid::now_v7())
    .bind(user.user_name())
    .bind(user.external_id())
    .bind(user.active())
    .bind(Json(user.attrs()))
    .fetch_one(conn)
    .await?;
    from_row(&row)
}

pub async fn get(
    db: impl PgExecutor<'_>,
    directory_id: Uuid,
    id: Uuid,
) -> Result<Option<StoredUser>, sqlx::Error> {
    let row = sqlx::query("SELECT id, resource, version, created_at, updated_at FROM scim_users WHERE directory_id = $1 AND id = $2")
        .bind(directory_id)
        .bind(id)
        .fetch_optional(db)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Reads and locks a user for the rest of the transaction, so concurrent changes to
/// one user are serialized and their events are committed in version order.
pub async fn get_for_update(
    conn: &mut PgConnection,
    directory_id: Uuid,
    id: Uuid,
) -> Result<Option<StoredUser>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT id, resource, version, created_at, updated_at FROM scim_users WHERE directory_id = $1 AND id = $2 FOR UPDATE",
    )
    .bind(directory_id)
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Replaces a locked user's attributes and bumps its version.
pub async fn update(
    conn: &mut PgConnection,
    directory_id: Uuid,
    id: Uuid,
    user: &User,
) -> Result<StoredUser, sqlx::Error> {
    let row = sqlx::query(
        "UPDATE scim_users
         SET user_name = $3, external_id = $4, active = $5, resource = $6, version = version + 1, updated_at = now()
         WHERE directory_id = $1 AND id = $2
         RETURNING id, resource, version, created_at, updated_at",
    )
    .bind(directory_id)
    .bind(id)
    .bind(user.user_name())
    .bind(user.external_id())
    .bind(user.active())
    .bind(Json(user.attrs()))
    .fetch_one(conn)
    .await?;
    from_row(&row)
}

/// Deletes a user, returning its last state (with the version its deletion takes).
pub async fn delete(
    conn: &mut PgConnection,
    directory_id: Uuid,
    id: Uuid,
) -> Result<Option<StoredUser>, sqlx::Error> {
    let row = sqlx::query(
        "DELETE FROM scim_users WHERE directory_id = $1 AND id = $2
         RETURNING id, resource, version + 1 AS version, created_at, now() AS updated_at",
    )
    .bind(directory_id)
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// One page of a directory's users matching `condition` (whose placeholders start at
/// `$2`), in creation order, with the total count. `offset` counts from zero.
pub async fn list(
    db: &sqlx::PgPool,
    directory_id: Uuid,
    condition: Option<&Condition>,
    offset: i64,
    limit: i64,
) -> Result<(i64, Vec<StoredUser>), sqlx::Error> {
    let filter_sql = condition
        .map(|c| format!(" AND ({})", c.sql))
        .unwrap_or_default();
    let n = condition.map_or(0, |c| c.binds.len());
    let (limit_param, offset_param) = (n + 2, n + 3);
    // The window count saves a second query on the common single-page lookup.
    let page_sql = format!(
        "SELECT {COLUMNS}, count(*) OVER () AS total FROM scim_users WHERE directory_id = $1{filter_sql}
         ORDER BY seq LIMIT ${limit_param} OFFSET ${offset_param}"
    );
    let mut page = sqlx::query(AssertSqlSafe(page_sql)).bind(directory_id);
    for b in condition.map(|c| c.binds.as_slice()).unwrap_or_default() {
        page = bind(page, b);
    }
    let rows = page.bind(limit).bind(offset).fetch_all(db).await?;
    if let Some(first) = rows.first() {
        let total: i64 = first.try_get("total")?;
        let users = rows.iter().map(from_row).collect::<Result<_, _>>()?;
        return Ok((total, users));
    }
    if limit > 0 && offset == 0 {
        return Ok((0, Vec::new()));
    }
    // An empty page past the end (or count=0): the total needs its own query.
    let count_sql = format!("SELECT count(*) FROM scim_users WHERE directory_id = $1{filter_sql}");
    let mut count = sqlx::query(AssertSqlSafe(count_sql)).bind(directory_id);
    for b in condition.map(|c| c.binds.as_slice()).unwrap_or_default() {
        count = bind(count, b);
    }
    let total: i64 = count.fetch_one(db).await?.try_get(0)?;
    Ok((total, Vec::new()))
}

type PgQuery<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;

fn bind<'q>(q: PgQuery<'q>, b: &Bind) -> PgQuery<'q> {
    match b {
        Bind::Text(s) => q.bind(s.clone()),
        Bind::Bool(v) => q.bind(*v),
        Bind::Time(t) => q.bind(*t),
    }
}
