//! What a directory's snapshot reads (`scim_events::snapshot`), in one REPEATABLE READ
//! transaction started under the relays' publishing lock ([`super::outbox::snapshot_start`]).
//! The large parts are streams: a million users never sit in memory at once.

use futures::stream::{BoxStream, StreamExt, TryStreamExt};
use sqlx::PgConnection;
use std::sync::LazyLock;
use uuid::Uuid;

use super::groups::{self, StoredGroup};
use super::users::{self, StoredUser};

/// Makes the transaction just begun on `tx` the snapshot's: read only, one view of the
/// database throughout, fixed now.
pub async fn fix(tx: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query!("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await?;
    // The first query fixes the view.
    sqlx::query!("SELECT 1 AS fixed").fetch_one(tx).await?;
    Ok(())
}

/// The directory's users, in creation order.
pub fn users(
    conn: &mut PgConnection,
    directory: Uuid,
) -> BoxStream<'_, Result<StoredUser, sqlx::Error>> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "SELECT {} FROM scim_users WHERE directory_id = $1 ORDER BY id",
            users::COLUMNS
        )
    });
    sqlx::query(SQL.as_str())
        .bind(directory)
        .fetch(conn)
        .map(|row| users::from_row(&row?))
        .boxed()
}

/// The directory's groups, in creation order, without members.
pub fn groups(
    conn: &mut PgConnection,
    directory: Uuid,
) -> BoxStream<'_, Result<StoredGroup, sqlx::Error>> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "SELECT {} FROM scim_groups WHERE directory_id = $1 ORDER BY id",
            groups::COLUMNS
        )
    });
    sqlx::query(SQL.as_str())
        .bind(directory)
        .fetch(conn)
        .map(|row| groups::from_row(&row?))
        .boxed()
}

/// Every membership of the directory, (group, user), grouped by group.
pub fn memberships(
    conn: &mut PgConnection,
    directory: Uuid,
) -> BoxStream<'_, Result<(Uuid, Uuid), sqlx::Error>> {
    sqlx::query!(
        "SELECT group_id, user_id FROM scim_group_members WHERE directory_id = $1
         ORDER BY group_id, user_id",
        directory
    )
    .fetch(conn)
    .map_ok(|r| (r.group_id, r.user_id))
    .boxed()
}

/// A team with its mapped group names and version.
#[derive(Debug, Clone)]
pub struct Team {
    pub id: Uuid,
    pub name: String,
    pub groups: Vec<String>,
    pub version: i64,
}

pub async fn teams(conn: &mut PgConnection, directory: Uuid) -> Result<Vec<Team>, sqlx::Error> {
    sqlx::query_as!(
        Team,
        r#"SELECT t.id, t.name, t.version,
                  coalesce(array_agg(m.group_name ORDER BY m.group_name)
                           FILTER (WHERE m.group_name IS NOT NULL), '{}') AS "groups!"
           FROM teams t LEFT JOIN team_group_mappings m ON m.team_id = t.id
           WHERE t.directory_id = $1 GROUP BY t.id ORDER BY t.id"#,
        directory
    )
    .fetch_all(conn)
    .await
}

/// A membership of a team, with its member as team events show it.
#[derive(Debug, Clone)]
pub struct TeamMember {
    pub team_id: Uuid,
    pub member_id: Uuid,
    pub scim_user_id: Option<Uuid>,
    pub email: Option<String>,
    pub source: String,
    pub suspended: bool,
}

pub fn team_members(
    conn: &mut PgConnection,
    directory: Uuid,
) -> BoxStream<'_, Result<TeamMember, sqlx::Error>> {
    sqlx::query_as!(
        TeamMember,
        "SELECT tm.team_id, m.id AS member_id, m.scim_user_id, m.email, tm.source, tm.suspended
         FROM team_members tm JOIN teams t ON t.id = tm.team_id JOIN members m ON m.id = tm.member_id
         WHERE t.directory_id = $1 ORDER BY tm.team_id, m.id, tm.source",
        directory
    )
    .fetch(conn)
    .boxed()
}

/// The directory's events the snapshot sees still in the outbox: (resource type as
/// the event names it, resource, version).
pub async fn pending(
    conn: &mut PgConnection,
    directory: Uuid,
) -> Result<Vec<(String, Uuid, i64)>, sqlx::Error> {
    sqlx::query!(
        r#"SELECT payload->>'resource_type' AS "resource_type!",
                  (payload->>'resource_id')::uuid AS "resource_id!",
                  (payload->>'resource_version')::int8 AS "resource_version!"
           FROM outbox WHERE subject LIKE 'scim.v1.' || $1::text || '.%' ORDER BY seq"#,
        directory.to_string()
    )
    .fetch(conn)
    .map_ok(|r| (r.resource_type, r.resource_id, r.resource_version))
    .try_collect()
    .await
}
