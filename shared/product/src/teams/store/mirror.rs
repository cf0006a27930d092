//! SQL of mirrored teams: the groups a directory mirrors, the teams that mirror them.

use sqlx::PgConnection;
use std::collections::HashMap;
use uuid::Uuid;

use super::membership::Held;

/// A SCIM group as mirroring sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub id: Uuid,
    pub name: String,
}

/// A team that mirrors a SCIM group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MirrorTeam {
    pub id: Uuid,
    pub group: Uuid,
    pub name: String,
}

/// Makes the directory's mirror syncs take turns (until the transaction ends).
pub async fn lock_mirroring(conn: &mut PgConnection, directory: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "SELECT pg_advisory_xact_lock(hashtextextended('mirror:' || $1::uuid::text, 0))",
        directory
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The directory's groups (those in `scope`, or all).
pub async fn groups_to_mirror(
    conn: &mut PgConnection,
    directory: Uuid,
    scope: Option<&[Uuid]>,
) -> Result<Vec<Group>, sqlx::Error> {
    sqlx::query_as!(
        Group,
        r#"SELECT id, display_name AS name FROM scim_groups
           WHERE directory_id = $1 AND ($2::uuid[] IS NULL OR id = ANY($2))
           ORDER BY id"#,
        directory,
        scope as Option<&[Uuid]>
    )
    .fetch_all(conn)
    .await
}

/// The teams mirroring a group in `scope` (or any), and every team of the directory
/// by name with the group it mirrors.
#[allow(clippy::type_complexity)]
pub async fn mirrored_teams(
    conn: &mut PgConnection,
    directory: Uuid,
    scope: Option<&[Uuid]>,
) -> Result<(Vec<MirrorTeam>, HashMap<String, (Uuid, Option<Uuid>)>), sqlx::Error> {
    let all = sqlx::query!(
        "SELECT id, name, group_id FROM teams WHERE directory_id = $1 ORDER BY id",
        directory
    )
    .fetch_all(conn)
    .await?;
    let mirrored = all
        .iter()
        .filter_map(|t| {
            let group = t.group_id?;
            scope
                .is_none_or(|s| s.contains(&group))
                .then(|| MirrorTeam {
                    id: t.id,
                    group,
                    name: t.name.clone(),
                })
        })
        .collect();
    let names = all
        .into_iter()
        .map(|t| (t.name, (t.id, t.group_id)))
        .collect();
    Ok((mirrored, names))
}

/// A new team mirroring `group`, at version 1 (its `team.created`).
pub async fn create_mirrored(
    conn: &mut PgConnection,
    directory: Uuid,
    name: &str,
    group: Uuid,
) -> Result<Uuid, sqlx::Error> {
    sqlx::query_scalar!(
        "INSERT INTO teams (id, directory_id, name, group_id, version) VALUES ($1, $2, $3, $4, 1)
         RETURNING id",
        Uuid::now_v7(),
        directory,
        name,
        group
    )
    .fetch_one(conn)
    .await
}

/// The team now mirrors `group`; returns its new version.
pub async fn adopt(conn: &mut PgConnection, team: Uuid, group: Uuid) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        "UPDATE teams SET group_id = $2, version = version + 1 WHERE id = $1 RETURNING version",
        team,
        group
    )
    .fetch_one(conn)
    .await
}

/// The members in effect of each mirrored team (a preview's view of what deleting one
/// would end), by team: its name and the members' emails.
pub async fn effective_members(
    conn: &mut PgConnection,
    directory: Uuid,
) -> Result<std::collections::BTreeMap<Uuid, (String, Vec<String>)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT t.id, t.name, array_agg(DISTINCT coalesce(m.email, m.id::text)) AS "emails!"
           FROM teams t
           JOIN team_members tm ON tm.team_id = t.id AND NOT tm.suspended
           JOIN members m ON m.id = tm.member_id
           WHERE t.directory_id = $1 AND t.group_id IS NOT NULL
           GROUP BY t.id, t.name"#,
        directory
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.id, (r.name, r.emails)))
        .collect())
}

/// For each user: the mirrored teams of the groups the user is in, with the group's
/// name.
pub async fn mirrored_groups(
    conn: &mut PgConnection,
    directory: Uuid,
    users: &[Uuid],
) -> Result<Vec<Held>, sqlx::Error> {
    sqlx::query_as!(
        Held,
        r#"SELECT gm.user_id AS user, t.id AS team, g.display_name AS name, g.id AS group
           FROM scim_group_members gm
           JOIN teams t ON t.directory_id = gm.directory_id AND t.group_id = gm.group_id
           JOIN scim_groups g ON g.directory_id = gm.directory_id AND g.id = gm.group_id
           WHERE gm.directory_id = $1 AND gm.user_id = ANY($2)"#,
        directory,
        users
    )
    .fetch_all(conn)
    .await
}
