//! Group memberships (`scim_group_members`): who is in which group, changed set-based
//! under the directory's membership lock, so a user's deletion and an addition of that
//! user can never leave a member without a user.

use scim_core::resource::Reference;
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

/// Takes the directory's membership lock until the transaction ends: shared by group
/// changes that add members, exclusive for deleting a user. A user deletion thus waits
/// for the additions in flight and removes what they added, and an addition after it
/// finds the user gone. One advisory lock in memory, unlike locking each user row
/// (what a foreign key would do), which rewrites the users' pages.
pub async fn lock(
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
    lock(conn, directory_id, false).await?;
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
/// ([`super::groups::lock`], or just inserted) in one statement; returns those that were not members
/// already. The group lock is what makes the plain anti-join safe: no other change of
/// this group's members can commit in between (and it writes a quarter less WAL than
/// `ON CONFLICT DO NOTHING`). The lateral lookups (a `LIMIT` keeps the planner from
/// flattening them) probe the indexes once per user named: a plan cached while the
/// group was small hashed all of its members instead, 27 ms to add one to 100,000.
pub async fn add(
    conn: &mut PgConnection,
    directory_id: Uuid,
    group_id: Uuid,
    ids: &[Uuid],
) -> Result<Vec<Uuid>, sqlx::Error> {
    let mut added = sqlx::query_scalar!(
        "INSERT INTO scim_group_members (directory_id, group_id, user_id, display)
         SELECT $1, $2, u.id, scim_member_display(u.resource, u.user_name)
         FROM unnest($3::uuid[]) AS t(id)
         CROSS JOIN LATERAL (SELECT id, resource, user_name FROM scim_users
                             WHERE directory_id = $1 AND id = t.id LIMIT 1) u
         LEFT JOIN LATERAL (SELECT 1 AS member FROM scim_group_members gm
                            WHERE gm.group_id = $2 AND gm.user_id = t.id LIMIT 1) m ON true
         WHERE m.member IS NULL
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
pub async fn remove(
    conn: &mut PgConnection,
    directory_id: Uuid,
    group_id: Uuid,
    ids: Option<&[Uuid]>,
) -> Result<Vec<Uuid>, sqlx::Error> {
    // Two statements, not one with `$3 IS NULL OR …`: a plan made for both reads every
    // member of the group to remove one (27 ms at 100,000 members).
    let mut removed = match ids {
        Some(ids) => {
            sqlx::query_scalar!(
                "DELETE FROM scim_group_members
                 WHERE group_id = $2 AND user_id = ANY($3) AND directory_id = $1
                 RETURNING user_id",
                directory_id,
                group_id,
                ids
            )
            .fetch_all(conn)
            .await?
        }
        None => {
            sqlx::query_scalar!(
                "DELETE FROM scim_group_members WHERE group_id = $2 AND directory_id = $1
                 RETURNING user_id",
                directory_id,
                group_id
            )
            .fetch_all(conn)
            .await?
        }
    };
    removed.sort();
    Ok(removed)
}

/// The ids of a group's members.
pub async fn ids(
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

/// A batch of a group's members after the user id `after` (`Uuid::nil()`: from the
/// first), in id order, with the users' display names, for responses: a group can have
/// 100,000, read a batch at a time. A batch holds at most `limit` members and stops
/// after the member whose display names reach `max_bytes`. `None` if the group is no
/// longer at `version`: a response showing the group at that version must not show
/// members of another.
pub async fn of_group(
    db: &sqlx::PgPool,
    directory_id: Uuid,
    group_id: Uuid,
    version: i64,
    after: Uuid,
    limit: i64,
    max_bytes: i64,
) -> Result<Option<Vec<Reference>>, sqlx::Error> {
    // Migration 0018: a plan that reads the batch along the key, whatever the
    // statistics say.
    let batch = sqlx::query_as!(
        Reference,
        r#"SELECT id AS "id!", display AS "display!" FROM (
               SELECT id, display,
                      sum(octet_length(display)) OVER (ORDER BY id ROWS UNBOUNDED PRECEDING)
                        - octet_length(display) AS before
               FROM scim_group_members_after($1, $2, $3, $4)
               WHERE (SELECT version FROM scim_groups WHERE directory_id = $1 AND id = $2) = $6
           ) m
           WHERE before < $5 ORDER BY id"#,
        directory_id,
        group_id,
        after,
        limit,
        max_bytes,
        version
    )
    .fetch_all(db)
    .await?;
    if !batch.is_empty() {
        return Ok(Some(batch));
    }
    // Nothing: past the last member, or the group changed (or went).
    let now = sqlx::query_scalar!(
        "SELECT version FROM scim_groups WHERE directory_id = $1 AND id = $2",
        directory_id,
        group_id
    )
    .fetch_optional(db)
    .await?;
    Ok((now == Some(version)).then_some(batch))
}

/// What showing each of `groups`' members would weigh: (group, members, bytes of their
/// display names). Groups without members are left out.
pub async fn sizes(
    db: &sqlx::PgPool,
    directory_id: Uuid,
    groups: &[Uuid],
) -> Result<Vec<(Uuid, i64, i64)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT group_id, count(*) AS "members!", coalesce(sum(octet_length(display)), 0)::int8 AS "bytes!"
           FROM scim_group_members WHERE directory_id = $1 AND group_id = ANY($2)
           GROUP BY group_id"#,
        directory_id,
        groups
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.group_id, r.members, r.bytes))
        .collect())
}
