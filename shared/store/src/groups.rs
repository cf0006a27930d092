//! SQL for `scim_groups` and `scim_group_members`. Group writes take several
//! statements (the group row, set-based membership changes, the events), so they run in
//! a transaction that first locks the group row: concurrent changes to one group queue
//! up instead of losing each other's members.

use super::PageBounds;
use scim_core::filter::sql::{Condition, Order};
use scim_core::group::{Group, Reference};
use serde_json::{Map, Value};
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::{PgConnection, PgExecutor, Row};
use std::collections::HashMap;
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

/// Deletes the group; the caller removed its members first ([`remove_members`]).
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

/// Takes the directory's membership lock until the transaction ends: shared by group
/// changes that add members, exclusive for deleting a user. A user deletion thus waits
/// for the additions in flight and removes what they added, and an addition after it
/// finds the user gone. One advisory lock in memory, unlike locking each user row
/// (what a foreign key would do), which rewrites the users' pages.
pub async fn lock_memberships(
    conn: &mut PgConnection,
    directory_id: Uuid,
    exclusive: bool,
) -> Result<(), sqlx::Error> {
    let directory = directory_id.to_string();
    if exclusive {
        sqlx::query!(
            "SELECT pg_advisory_xact_lock(hashtext('scim_group_members'), hashtext($1))",
            directory
        )
        .fetch_one(conn)
        .await?;
    } else {
        sqlx::query!(
            "SELECT pg_advisory_xact_lock_shared(hashtext('scim_group_members'), hashtext($1))",
            directory
        )
        .fetch_one(conn)
        .await?;
    }
    Ok(())
}

/// The directory's users among `ids`, with the membership lock held (shared) until
/// the transaction ends, so they stay users while it adds them to a group.
pub async fn lock_users(
    conn: &mut PgConnection,
    directory_id: Uuid,
    ids: &[Uuid],
) -> Result<Vec<Uuid>, sqlx::Error> {
    lock_memberships(conn, directory_id, false).await?;
    sqlx::query_scalar!(
        "SELECT u.id FROM unnest($2::uuid[]) AS t(id)
         JOIN scim_users u ON u.directory_id = $1 AND u.id = t.id
         ORDER BY u.id",
        directory_id,
        ids
    )
    .fetch_all(conn)
    .await
}

/// Adds the users (distinct, locked with [`lock_users`]) to a group the caller holds
/// ([`lock`], or just inserted) in one statement; returns those that were not members
/// already. The group lock is what makes the plain anti-join safe: no other change of
/// this group's members can commit in between (and it writes a quarter less WAL than
/// `ON CONFLICT DO NOTHING`).
pub async fn add_members(
    conn: &mut PgConnection,
    directory_id: Uuid,
    group_id: Uuid,
    ids: &[Uuid],
) -> Result<Vec<Uuid>, sqlx::Error> {
    let mut added = sqlx::query_scalar!(
        "INSERT INTO scim_group_members (directory_id, group_id, user_id)
         SELECT $1, $2, t.id FROM unnest($3::uuid[]) AS t(id)
         WHERE NOT EXISTS (SELECT 1 FROM scim_group_members gm WHERE gm.group_id = $2 AND gm.user_id = t.id)
         RETURNING user_id",
        directory_id,
        group_id,
        ids
    )
    .fetch_all(conn)
    .await?;
    added.sort();
    Ok(added)
}

/// Removes the users in one statement (all members with `None`); returns those that
/// were members.
pub async fn remove_members(
    conn: &mut PgConnection,
    directory_id: Uuid,
    group_id: Uuid,
    ids: Option<&[Uuid]>,
) -> Result<Vec<Uuid>, sqlx::Error> {
    let mut removed = sqlx::query_scalar!(
        "DELETE FROM scim_group_members
         WHERE directory_id = $1 AND group_id = $2 AND ($3::uuid[] IS NULL OR user_id = ANY($3))
         RETURNING user_id",
        directory_id,
        group_id,
        ids as Option<&[Uuid]>
    )
    .fetch_all(conn)
    .await?;
    removed.sort();
    Ok(removed)
}

/// The ids of a group's members.
pub async fn member_ids(
    db: impl PgExecutor<'_>,
    directory_id: Uuid,
    group_id: Uuid,
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT user_id FROM scim_group_members WHERE directory_id = $1 AND group_id = $2 ORDER BY user_id",
        directory_id,
        group_id
    )
    .fetch_all(db)
    .await
}

/// The members of each of the groups, with the users' display names, for responses.
pub async fn members(
    db: impl PgExecutor<'_>,
    directory_id: Uuid,
    group_ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<Reference>>, sqlx::Error> {
    // The user's name by primary key per member (see `users::COLUMNS`).
    let rows = sqlx::query!(
        r#"SELECT gm.group_id, gm.user_id AS id,
                (SELECT coalesce(u.resource->>'displayName', u.user_name) FROM scim_users u
                 WHERE u.directory_id = gm.directory_id AND u.id = gm.user_id) AS "display!"
         FROM scim_group_members gm
         WHERE gm.directory_id = $1 AND gm.group_id = ANY($2)
         ORDER BY gm.group_id, gm.user_id"#,
        directory_id,
        group_ids
    )
    .fetch_all(db)
    .await?;
    let mut out: HashMap<Uuid, Vec<Reference>> = HashMap::new();
    for row in rows {
        out.entry(row.group_id).or_default().push(Reference {
            id: row.id,
            display: row.display,
        });
    }
    Ok(out)
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
        "scim_groups",
        COLUMNS,
        directory_id,
        condition,
        order,
        bounds,
    )
    .await?;
    Ok((total, rows.iter().map(from_row).collect::<Result<_, _>>()?))
}
