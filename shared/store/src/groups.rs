//! SQL for `scim_groups` and `scim_group_members`. Group writes take several
//! statements (the group row, set-based membership changes, the events), so they run in
//! a transaction that first locks the group row: concurrent changes to one group queue
//! up instead of losing each other's members.

use super::PageBounds;
use scim_core::filter::sql::{Condition, Order};
use scim_core::group::Group;
use serde_json::{Map, Value};
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::{PgConnection, PgExecutor, Row};
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq)]
pub struct StoredGroup {
    pub id: Uuid,
    pub group: Group,
    pub version: i64,
    pub created: OffsetDateTime,
    pub last_modified: OffsetDateTime,
}

impl StoredGroup {
    /// A group about to be created now, at version 1.
    pub fn new(group: Group) -> StoredGroup {
        let now = super::users::now();
        StoredGroup {
            id: Uuid::now_v7(),
            group,
            version: 1,
            created: now,
            last_modified: now,
        }
    }

    /// The next version of this group, with `group` as its attributes, modified now.
    pub fn next(&self, group: Group) -> StoredGroup {
        StoredGroup {
            group,
            version: self.version + 1,
            last_modified: super::users::now(),
            ..self.clone()
        }
    }
}

pub(super) const COLUMNS: &str = "id, resource, version, created_at, updated_at";

pub(super) fn from_row(row: &PgRow) -> Result<StoredGroup, sqlx::Error> {
    let Json(attrs): Json<Map<String, Value>> = row.try_get("resource")?;
    Ok(StoredGroup {
        id: row.try_get("id")?,
        group: Group::from_stored(attrs),
        version: row.try_get("version")?,
        created: row.try_get("created_at")?,
        last_modified: row.try_get("updated_at")?,
    })
}

pub async fn insert(
    conn: &mut PgConnection,
    directory_id: Uuid,
    g: &StoredGroup,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO scim_groups (directory_id, id, display_name, external_id, resource, version, updated_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
        directory_id,
        g.id,
        g.group.display_name(),
        g.group.external_id(),
        Json(g.group.attrs()) as _,
        g.version,
        g.last_modified
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Writes the group's attributes and version; the caller holds its lock ([`lock`]).
pub async fn write(
    conn: &mut PgConnection,
    directory_id: Uuid,
    g: &StoredGroup,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE scim_groups SET display_name = $3, external_id = $4, resource = $5, version = $6, updated_at = $7
         WHERE directory_id = $1 AND id = $2",
        directory_id,
        g.id,
        g.group.display_name(),
        g.group.external_id(),
        Json(g.group.attrs()) as _,
        g.version,
        g.last_modified
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn get(
    db: impl PgExecutor<'_>,
    directory_id: Uuid,
    id: Uuid,
) -> Result<Option<StoredGroup>, sqlx::Error> {
    read(db, directory_id, id, "").await
}

/// Reads the group and locks it until the transaction ends.
pub async fn lock(
    conn: &mut PgConnection,
    directory_id: Uuid,
    id: Uuid,
) -> Result<Option<StoredGroup>, sqlx::Error> {
    read(conn, directory_id, id, " FOR UPDATE").await
}

async fn read(
    db: impl PgExecutor<'_>,
    directory_id: Uuid,
    id: Uuid,
    locking: &'static str,
) -> Result<Option<StoredGroup>, sqlx::Error> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM scim_groups WHERE directory_id = $1 AND id = $2{locking}"
    )))
    .bind(directory_id)
    .bind(id)
    .fetch_optional(db)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Deletes the group; the caller removed its members first
/// ([`super::memberships::remove`]).
pub async fn delete(
    conn: &mut PgConnection,
    directory_id: Uuid,
    id: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "DELETE FROM scim_groups WHERE directory_id = $1 AND id = $2",
        directory_id,
        id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// One page of a directory's groups matching `condition` (placeholders from `$2`), in
/// `order`, with the total count.
pub async fn list(
    db: &sqlx::PgPool,
    directory_id: Uuid,
    condition: Option<&Condition>,
    order: &Order,
    bounds: PageBounds,
) -> Result<(i64, Vec<StoredGroup>), sqlx::Error> {
    let (total, rows) = super::page(
        db,
        super::Listed {
            table: "scim_groups",
            columns: COLUMNS,
            counted: "groups",
        },
        directory_id,
        condition,
        order,
        bounds,
    )
    .await?;
    Ok((total, rows.iter().map(from_row).collect::<Result<_, _>>()?))
}

/// A group's id and name: what a mapping table offers to choose from, and when the
/// identity provider last changed it (its members included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupName {
    pub id: Uuid,
    pub display_name: String,
    pub updated_at: time::OffsetDateTime,
}

/// A page of a directory's group names, in name order: those containing `search`
/// (case ignored) when given, after the group `after` when given.
pub async fn names(
    db: impl PgExecutor<'_>,
    directory_id: Uuid,
    search: Option<&str>,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<GroupName>, sqlx::Error> {
    sqlx::query_as!(
        GroupName,
        "SELECT id, display_name, updated_at FROM scim_groups
         WHERE directory_id = $1
           AND ($2::text IS NULL OR strpos(lower(display_name), lower($2)) > 0)
           AND ($3::uuid IS NULL OR (lower(display_name), id) >
                (SELECT lower(display_name), id FROM scim_groups WHERE directory_id = $1 AND id = $3))
         ORDER BY lower(display_name), id LIMIT $4",
        directory_id,
        search,
        after,
        limit
    )
    .fetch_all(db)
    .await
}
