//! SQL of what names a team: group names mapped to teams (pinned or not), and attribute
//! mode's value table; and whether a group change can matter to anyone's teams.

use sqlx::{PgConnection, PgExecutor};

use uuid::Uuid;

use super::membership::Held;

/// A row of attribute mode's value table.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ValueRow {
    /// The attribute value, exactly as the identity provider sends it.
    pub value: String,
    pub team: Uuid,
    pub team_name: String,
}

/// The directory's value table, by value.
pub async fn value_table(
    db: impl PgExecutor<'_>,
    directory: Uuid,
) -> Result<Vec<ValueRow>, sqlx::Error> {
    sqlx::query_as!(
        ValueRow,
        r#"SELECT v.value, v.team_id AS team, t.name AS team_name
           FROM team_value_mappings v JOIN teams t ON t.id = v.team_id
           WHERE v.directory_id = $1 ORDER BY v.value"#,
        directory
    )
    .fetch_all(db)
    .await
}

/// Replaces the directory's value table with `rows` (value, team); returns the previous
/// table.
pub async fn set_value_table(
    conn: &mut PgConnection,
    directory: Uuid,
    rows: &[(String, Uuid)],
) -> Result<Vec<ValueRow>, sqlx::Error> {
    let previous = value_table(&mut *conn, directory).await?;
    sqlx::query!(
        "DELETE FROM team_value_mappings WHERE directory_id = $1",
        directory
    )
    .execute(&mut *conn)
    .await?;
    let (values, teams): (Vec<String>, Vec<Uuid>) = rows.iter().cloned().unzip();
    sqlx::query!(
        "INSERT INTO team_value_mappings (directory_id, value, team_id)
         SELECT $1, value, team FROM unnest($2::text[], $3::uuid[]) AS r(value, team)",
        directory,
        &values,
        &teams
    )
    .execute(conn)
    .await?;
    Ok(previous)
}

/// Replaces the team's group mappings: each name, pinned to a group id or not;
/// returns the previous ones.
pub async fn set_group_mapping(
    conn: &mut PgConnection,
    directory: Uuid,
    team: Uuid,
    mappings: &[(String, Option<Uuid>)],
) -> Result<Vec<(String, Option<Uuid>)>, sqlx::Error> {
    let mut previous: Vec<(String, Option<Uuid>)> = sqlx::query!(
        "DELETE FROM team_group_mappings WHERE team_id = $1 RETURNING group_name, group_id",
        team
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|r| (r.group_name, r.group_id))
    .collect();
    previous.sort();
    let (names, ids): (Vec<String>, Vec<Option<Uuid>>) = mappings.iter().cloned().unzip();
    sqlx::query!(
        "INSERT INTO team_group_mappings (team_id, directory_id, group_name, group_id)
         SELECT $1, $2, name, id FROM unnest($3::text[], $4::uuid[]) AS t(name, id)
         ON CONFLICT DO NOTHING",
        team,
        directory,
        &names,
        &ids as &[Option<Uuid>]
    )
    .execute(conn)
    .await?;
    Ok(previous)
}

/// The directory's groups with these exact names: (name, id).
pub async fn groups_named(
    conn: &mut PgConnection,
    directory: Uuid,
    names: &[String],
) -> Result<Vec<(String, Uuid)>, sqlx::Error> {
    let rows = sqlx::query!(
        "SELECT display_name, id FROM scim_groups WHERE directory_id = $1 AND display_name = ANY($2)",
        directory,
        names
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.display_name, r.id)).collect())
}

/// For each user: the teams whose mapped names match groups the user is in (or whose
/// pinned mappings name them).
pub async fn mapped_groups(
    conn: &mut PgConnection,
    directory: Uuid,
    users: &[Uuid],
) -> Result<Vec<Held>, sqlx::Error> {
    // Starts from the users' memberships and looks each group up by primary key, so
    // the cost follows the users asked about, not the directory's size, whatever the
    // planner's statistics say.
    sqlx::query_as!(
        Held,
        r#"WITH theirs AS MATERIALIZED (
             SELECT gm.user_id, gm.group_id,
                    (SELECT g.display_name FROM scim_groups g
                     WHERE g.directory_id = gm.directory_id AND g.id = gm.group_id) AS group_name
             FROM scim_group_members gm
             WHERE gm.directory_id = $1 AND gm.user_id = ANY($2)
         )
         SELECT DISTINCT theirs.user_id AS "user!", m.team_id AS team,
                theirs.group_name AS "name!", theirs.group_id AS "group!"
         FROM theirs JOIN team_group_mappings m ON m.directory_id = $1
           AND (m.group_id = theirs.group_id
                OR (m.group_id IS NULL AND m.group_name = theirs.group_name))"#,
        directory,
        users
    )
    .fetch_all(conn)
    .await
}

/// Each user's value of the extension attribute `attr` of schema `urn`, as stored.
pub async fn attribute_values(
    conn: &mut PgConnection,
    directory: Uuid,
    users: &[Uuid],
    urn: &str,
    attr: &str,
) -> Result<Vec<(Uuid, serde_json::Value)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT id, resource->$3->$4 AS "value!" FROM scim_users
           WHERE directory_id = $1 AND id = ANY($2) AND resource->$3->$4 IS NOT NULL"#,
        directory,
        users,
        urn,
        attr
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.id, r.value)).collect())
}

/// Whether joining the group can change anyone's teams: the directory maps teams by
/// group name and the group, if it still exists, has a mapped name; or it mirrors
/// groups and the group, if it still exists, has its team.
pub async fn joining_can_matter(
    db: impl PgExecutor<'_>,
    directory: Uuid,
    group: Uuid,
) -> Result<bool, sqlx::Error> {
    let can = sqlx::query_scalar!(
        "SELECT CASE d.team_mode
                  WHEN 'mapped' THEN g.id IS NULL OR EXISTS (
                    SELECT 1 FROM team_group_mappings m
                    WHERE m.directory_id = d.id
                      AND (m.group_id = g.id OR (m.group_id IS NULL AND m.group_name = g.display_name)))
                  WHEN 'mirrored' THEN g.id IS NULL OR EXISTS (
                    SELECT 1 FROM teams t WHERE t.directory_id = d.id AND t.group_id = g.id)
                  ELSE false END
         FROM directories d
         LEFT JOIN scim_groups g ON g.directory_id = d.id AND g.id = $2
         WHERE d.id = $1",
        directory,
        group
    )
    .fetch_optional(db)
    .await?;
    Ok(can.flatten().unwrap_or(false))
}

/// Whether renaming the group from `previous` can change anyone's teams in mapped mode:
/// a mapping names its new or its previous name, or is pinned to it. (In mirrored mode
/// the team follows the group by id; [`super::mirror::sync`] says when one is made or
/// ends. In attribute mode groups do not make teams.)
pub async fn renaming_can_matter(
    db: impl PgExecutor<'_>,
    directory: Uuid,
    group: Uuid,
    previous: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let can = sqlx::query_scalar!(
        r#"SELECT d.team_mode = 'mapped' AND EXISTS (
                  SELECT 1 FROM team_group_mappings m
                  LEFT JOIN scim_groups g ON g.directory_id = d.id AND g.id = $2
                  WHERE m.directory_id = d.id
                    AND (m.group_id = $2
                         OR (m.group_id IS NULL AND (m.group_name = g.display_name OR m.group_name = $3))))
                AS "can!"
           FROM directories d WHERE d.id = $1"#,
        directory,
        group,
        previous
    )
    .fetch_optional(db)
    .await?;
    Ok(can.unwrap_or(false))
}

/// Users in any of the directory's groups with one of these exact names.
pub async fn users_in_groups_named(
    db: impl PgExecutor<'_>,
    directory: Uuid,
    names: &[String],
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT DISTINCT gm.user_id FROM scim_group_members gm
         JOIN scim_groups g ON g.directory_id = gm.directory_id AND g.id = gm.group_id
         WHERE g.directory_id = $1 AND g.display_name = ANY($2)",
        directory,
        names
    )
    .fetch_all(db)
    .await
}
