//! SQL for teams, their group mappings and memberships. Provisioned memberships are
//! written only by reconciliation ([`super::reconcile`]), which locks the members it
//! recomputes; manual memberships only by team administration.

use crate::members::MemberStatus;
use sqlx::{PgConnection, PgExecutor};
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Team {
    pub id: Uuid,
    pub name: String,
    /// The SCIM group a mirrored team mirrors.
    pub group: Option<Uuid>,
    /// Mapped mode: the mapped names pinned to the group they matched, with its id.
    pub pinned: BTreeMap<String, Uuid>,
}

/// Where a team membership comes from.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// Added in the product; provisioning never removes it.
    Manual,
    /// Derived from the directory by the worker.
    Provisioned,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Manual => "manual",
            Source::Provisioned => "provisioned",
        }
    }

    fn parse(text: &str) -> Option<Source> {
        [Source::Manual, Source::Provisioned]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// The `team_members.source` column holds the source as text.
impl sqlx::Type<sqlx::Postgres> for Source {
    fn type_info() -> sqlx::postgres::PgTypeInfo {
        <&str as sqlx::Type<sqlx::Postgres>>::type_info()
    }

    fn compatible(ty: &sqlx::postgres::PgTypeInfo) -> bool {
        <&str as sqlx::Type<sqlx::Postgres>>::compatible(ty)
    }
}

impl<'r> sqlx::Decode<'r, sqlx::Postgres> for Source {
    fn decode(value: sqlx::postgres::PgValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        let text = <&str as sqlx::Decode<sqlx::Postgres>>::decode(value)?;
        Source::parse(text).ok_or_else(|| format!("no membership source {text:?}").into())
    }
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
) -> Result<Vec<super::mirror::Group>, sqlx::Error> {
    sqlx::query_as!(
        super::mirror::Group,
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

/// Renames the team; returns its new version.
pub async fn rename(conn: &mut PgConnection, team: Uuid, name: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        "UPDATE teams SET name = $2, version = version + 1 WHERE id = $1 RETURNING version",
        team,
        name
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

/// Every membership added by hand in the directory: (team name, member email).
pub async fn manual_memberships(
    conn: &mut PgConnection,
    directory: Uuid,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT t.name, coalesce(m.email, m.id::text) AS "email!"
           FROM team_members tm
           JOIN teams t ON t.id = tm.team_id
           JOIN members m ON m.id = tm.member_id
           WHERE t.directory_id = $1 AND tm.source = 'manual'
           ORDER BY t.name, 2"#,
        directory
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.name, r.email)).collect())
}

/// Removes a member's manual membership of the team; returns whether there was one.
pub async fn remove_manual(
    conn: &mut PgConnection,
    team: Uuid,
    member: Uuid,
) -> Result<bool, sqlx::Error> {
    let removed = sqlx::query!(
        "DELETE FROM team_members WHERE team_id = $1 AND member_id = $2 AND source = 'manual'",
        team,
        member
    )
    .execute(conn)
    .await?;
    Ok(removed.rows_affected() > 0)
}

/// The directory's member with this id, locked.
pub async fn lock_member(
    conn: &mut PgConnection,
    directory: Uuid,
    member: Uuid,
) -> Result<Option<LockedMember>, sqlx::Error> {
    sqlx::query_as!(
        LockedMember,
        r#"SELECT id, scim_user_id, status AS "status: MemberStatus", email FROM members
           WHERE directory_id = $1 AND id = $2 FOR UPDATE"#,
        directory,
        member
    )
    .fetch_optional(conn)
    .await
}

/// Deletes the team with its memberships and mappings; returns the version its
/// `team.deleted` takes and the group it mirrored.
pub async fn delete(
    conn: &mut PgConnection,
    team: Uuid,
) -> Result<(i64, Option<Uuid>), sqlx::Error> {
    let row = sqlx::query!(
        "DELETE FROM teams WHERE id = $1 RETURNING version + 1 AS \"version!\", group_id",
        team
    )
    .fetch_one(conn)
    .await?;
    Ok((row.version, row.group_id))
}

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

/// One row of `team_members`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub team: Uuid,
    pub member: Uuid,
    pub source: Source,
    /// The mapped group names or attribute values behind a provisioned membership.
    pub via: Vec<String>,
    /// Group modes: the ids of the groups `via` names.
    pub via_groups: Vec<Uuid>,
    pub suspended: bool,
}

/// A provisioned member, locked for reconciliation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockedMember {
    pub id: Uuid,
    /// `None` for members made by hand in the product.
    pub scim_user_id: Option<Uuid>,
    pub status: MemberStatus,
    pub email: Option<String>,
}

/// Creates the team, or returns the directory's team of that name.
pub async fn create(
    db: impl PgExecutor<'_>,
    directory: Uuid,
    name: &str,
) -> Result<Team, sqlx::Error> {
    let id = sqlx::query_scalar!(
        "INSERT INTO teams (id, directory_id, name) VALUES ($1, $2, $3)
         ON CONFLICT (directory_id, name) DO UPDATE SET name = EXCLUDED.name
         RETURNING id",
        Uuid::now_v7(),
        directory,
        name
    )
    .fetch_one(db)
    .await?;
    Ok(Team {
        id,
        name: name.to_owned(),
        group: None,
        pinned: BTreeMap::new(),
    })
}

/// The directory's teams with their mapped group names, by name.
pub async fn list(
    db: impl PgExecutor<'_>,
    directory: Uuid,
) -> Result<Vec<(Team, Vec<String>)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT t.id, t.name, t.group_id,
                  coalesce(array_agg(m.group_name ORDER BY m.group_name) FILTER (WHERE m.group_name IS NOT NULL), '{}') AS "groups!",
                  coalesce(array_agg(m.group_name ORDER BY m.group_name) FILTER (WHERE m.group_id IS NOT NULL), '{}') AS "pinned_names!",
                  coalesce(array_agg(m.group_id ORDER BY m.group_name) FILTER (WHERE m.group_id IS NOT NULL), '{}') AS "pinned_ids!"
           FROM teams t LEFT JOIN team_group_mappings m ON m.team_id = t.id
           WHERE t.directory_id = $1 GROUP BY t.id, t.name ORDER BY t.name"#,
        directory
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            (
                Team {
                    id: r.id,
                    name: r.name,
                    group: r.group_id,
                    pinned: r.pinned_names.into_iter().zip(r.pinned_ids).collect(),
                },
                r.groups,
            )
        })
        .collect())
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

/// Locks the members provisioned from these users, in user order (the order every
/// member write uses, so concurrent reconciliations cannot deadlock).
pub async fn lock_members(
    conn: &mut PgConnection,
    directory: Uuid,
    users: &[Uuid],
) -> Result<Vec<LockedMember>, sqlx::Error> {
    sqlx::query_as!(
        LockedMember,
        r#"SELECT id, scim_user_id, status AS "status: MemberStatus", email FROM members
           WHERE directory_id = $1 AND scim_user_id = ANY($2)
           ORDER BY scim_user_id FOR UPDATE"#,
        directory,
        users
    )
    .fetch_all(conn)
    .await
}

/// Those of `users` that the directory no longer has.
pub async fn deleted_users(
    conn: &mut PgConnection,
    directory: Uuid,
    users: &[Uuid],
) -> Result<std::collections::HashSet<Uuid>, sqlx::Error> {
    let gone = sqlx::query_scalar!(
        r#"SELECT u AS "u!" FROM unnest($2::uuid[]) AS u
           WHERE NOT EXISTS (SELECT 1 FROM scim_users s WHERE s.directory_id = $1 AND s.id = u)"#,
        directory,
        users
    )
    .fetch_all(conn)
    .await?;
    Ok(gone.into_iter().collect())
}

/// A user's team through one of the user's groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    pub user: Uuid,
    pub team: Uuid,
    /// The group's name and id.
    pub name: String,
    pub group: Uuid,
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

/// The teams with these names, created where missing (attribute mapping), and which
/// of them this call created.
pub async fn ensure(
    conn: &mut PgConnection,
    directory: Uuid,
    names: &[String],
) -> Result<(HashMap<String, Uuid>, Vec<(Uuid, String)>), sqlx::Error> {
    let ids: Vec<Uuid> = names.iter().map(|_| Uuid::now_v7()).collect();
    let created = sqlx::query!(
        "INSERT INTO teams (id, directory_id, name)
         SELECT id, $2, name FROM unnest($1::uuid[], $3::text[]) AS t(id, name)
         ORDER BY name
         ON CONFLICT (directory_id, name) DO NOTHING
         RETURNING id, name",
        &ids,
        directory,
        names
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|r| (r.id, r.name))
    .collect();
    let all = sqlx::query!(
        "SELECT name, id FROM teams WHERE directory_id = $1 AND name = ANY($2)",
        directory,
        names
    )
    .fetch_all(conn)
    .await?
    .into_iter()
    .map(|r| (r.name, r.id))
    .collect();
    Ok((all, created))
}

/// Every team membership of these members.
pub async fn memberships(
    conn: &mut PgConnection,
    members: &[Uuid],
) -> Result<Vec<Membership>, sqlx::Error> {
    sqlx::query_as!(
        Membership,
        r#"SELECT team_id AS team, member_id AS member, source AS "source: Source", via, via_groups,
                  suspended
           FROM team_members WHERE member_id = ANY($1)"#,
        members
    )
    .fetch_all(conn)
    .await
}

/// Writes memberships (insert or update) and deletes others, set-based.
pub async fn write_memberships(
    conn: &mut PgConnection,
    upserts: &[Membership],
    deletes: &[(Uuid, Uuid, Source)],
) -> Result<(), sqlx::Error> {
    if !deletes.is_empty() {
        let (teams, members, sources) =
            unzip3(deletes.iter().map(|(t, m, s)| (*t, *m, s.as_str())));
        sqlx::query!(
            "DELETE FROM team_members tm USING unnest($1::uuid[], $2::uuid[], $3::text[]) AS d(team_id, member_id, source)
             WHERE tm.team_id = d.team_id AND tm.member_id = d.member_id AND tm.source = d.source",
            &teams,
            &members,
            &sources as &[&str]
        )
        .execute(&mut *conn)
        .await?;
    }
    if !upserts.is_empty() {
        // Arrays of arrays must be rectangular in Postgres: `via` travels as JSON.
        let (teams, members, sources) = unzip3(
            upserts
                .iter()
                .map(|m| (m.team, m.member, m.source.as_str())),
        );
        let via: Vec<String> = upserts
            .iter()
            .map(|m| serde_json::to_string(&m.via).unwrap_or_else(|_| "[]".into()))
            .collect();
        let via_groups: Vec<String> = upserts
            .iter()
            .map(|m| serde_json::to_string(&m.via_groups).unwrap_or_else(|_| "[]".into()))
            .collect();
        let suspended: Vec<bool> = upserts.iter().map(|m| m.suspended).collect();
        sqlx::query!(
            "INSERT INTO team_members (team_id, member_id, source, via, via_groups, suspended)
             SELECT team_id, member_id, source,
                    ARRAY(SELECT jsonb_array_elements_text(via::jsonb)),
                    ARRAY(SELECT jsonb_array_elements_text(via_groups::jsonb)::uuid), suspended
             FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::bool[])
                  AS t(team_id, member_id, source, via, via_groups, suspended)
             ON CONFLICT (team_id, member_id, source) DO UPDATE
             SET via = EXCLUDED.via, via_groups = EXCLUDED.via_groups,
                 suspended = EXCLUDED.suspended",
            &teams,
            &members,
            &sources as &[&str],
            &via,
            &via_groups,
            &suspended
        )
        .execute(conn)
        .await?;
    }
    Ok(())
}

fn unzip3<'a>(
    items: impl Iterator<Item = (Uuid, Uuid, &'a str)>,
) -> (Vec<Uuid>, Vec<Uuid>, Vec<&'a str>) {
    let (mut a, mut b, mut c) = (Vec::new(), Vec::new(), Vec::new());
    for (x, y, z) in items {
        a.push(x);
        b.push(y);
        c.push(z);
    }
    (a, b, c)
}

/// Raises each team's version by its count of changes, in team order; returns each
/// team's name and new version.
pub async fn bump_versions(
    conn: &mut PgConnection,
    counts: &[(Uuid, i64)],
) -> Result<HashMap<Uuid, (String, i64)>, sqlx::Error> {
    let (teams, ns): (Vec<Uuid>, Vec<i64>) = counts.iter().copied().unzip();
    let rows = sqlx::query!(
        "UPDATE teams t SET version = t.version + c.n
         FROM (SELECT * FROM unnest($1::uuid[], $2::bigint[]) AS c(id, n) ORDER BY id) c
         WHERE t.id = c.id
         RETURNING t.id, t.name, t.version",
        &teams,
        &ns
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.id, (r.name, r.version)))
        .collect())
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

/// The users among `users` that are in a group or have a team membership.
pub async fn with_team_state(
    db: impl PgExecutor<'_>,
    directory: Uuid,
    users: &[Uuid],
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT t.id AS "id!" FROM unnest($2::uuid[]) AS t(id)
           WHERE EXISTS (SELECT 1 FROM scim_group_members gm WHERE gm.user_id = t.id AND gm.directory_id = $1)
              OR EXISTS (SELECT 1 FROM members m JOIN team_members tm ON tm.member_id = m.id
                         WHERE m.directory_id = $1 AND m.scim_user_id = t.id)"#,
        directory,
        users
    )
    .fetch_all(db)
    .await
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

/// Users with a provisioned membership in any team of the directory, or in `team`.
pub async fn provisioned_users(
    db: impl PgExecutor<'_>,
    directory: Uuid,
    team: Option<Uuid>,
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT DISTINCT m.scim_user_id AS "scim_user_id!" FROM team_members tm
           JOIN members m ON m.id = tm.member_id
           JOIN teams t ON t.id = tm.team_id
           WHERE t.directory_id = $1 AND ($2::uuid IS NULL OR t.id = $2)
             AND tm.source = 'provisioned' AND m.scim_user_id IS NOT NULL"#,
        directory,
        team as Option<Uuid>
    )
    .fetch_all(db)
    .await
}

/// A team member as administration shows it (the admin API's contract).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct TeamMember {
    pub member_id: Uuid,
    pub scim_user_id: Option<Uuid>,
    pub email: Option<String>,
    pub display_name: Option<String>,
    pub member_status: MemberStatus,
    pub source: Source,
    pub via: Vec<String>,
    pub suspended: bool,
}

pub async fn team_members(
    db: impl PgExecutor<'_>,
    team: Uuid,
) -> Result<Vec<TeamMember>, sqlx::Error> {
    sqlx::query_as!(
        TeamMember,
        r#"SELECT m.id AS member_id, m.scim_user_id, m.email, m.display_name,
                  m.status AS "member_status: MemberStatus", tm.source AS "source: Source", tm.via,
                  tm.suspended
           FROM team_members tm JOIN members m ON m.id = tm.member_id
           WHERE tm.team_id = $1 ORDER BY m.email, tm.source"#,
        team
    )
    .fetch_all(db)
    .await
}

/// The directory's member with this email (case-insensitively), created as a member
/// made by hand if there is none.
pub async fn member_by_email(
    conn: &mut PgConnection,
    directory: Uuid,
    email: &str,
) -> Result<LockedMember, sqlx::Error> {
    let found = sqlx::query_as!(
        LockedMember,
        r#"SELECT id, scim_user_id, status AS "status: MemberStatus", email FROM members
           WHERE directory_id = $1 AND lower(email) = lower($2)
           ORDER BY (status = 'active') DESC, id LIMIT 1 FOR UPDATE"#,
        directory,
        email
    )
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(member) = found {
        return Ok(member);
    }
    let id = Uuid::now_v7();
    sqlx::query!(
        "INSERT INTO members (id, directory_id, email, status, scim_version) VALUES ($1, $2, $3, 'active', 0)",
        id,
        directory,
        email
    )
    .execute(conn)
    .await?;
    Ok(LockedMember {
        id,
        scim_user_id: None,
        status: MemberStatus::Active,
        email: Some(email.to_owned()),
    })
}

/// A member of the product as administration shows it (the admin API's contract):
/// state and teams in effect.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct MemberView {
    pub id: Uuid,
    pub scim_user_id: Option<Uuid>,
    pub email: Option<String>,
    pub display_name: Option<String>,
    pub status: MemberStatus,
    /// Teams the member is in now (suspended memberships left out).
    pub teams: Vec<String>,
}

/// The directory's members, by email, optionally of one status, `limit` from `offset`.
pub async fn directory_members(
    db: impl PgExecutor<'_>,
    directory: Uuid,
    status: Option<MemberStatus>,
    offset: i64,
    limit: i64,
) -> Result<Vec<MemberView>, sqlx::Error> {
    sqlx::query_as!(
        MemberView,
        r#"SELECT m.id, m.scim_user_id, m.email, m.display_name, m.status AS "status: MemberStatus",
                  coalesce(array_agg(t.name ORDER BY t.name) FILTER (WHERE t.name IS NOT NULL AND NOT tm.suspended), '{}') AS "teams!"
           FROM members m
           LEFT JOIN team_members tm ON tm.member_id = m.id
           LEFT JOIN teams t ON t.id = tm.team_id
           WHERE m.directory_id = $1 AND ($2::text IS NULL OR m.status = $2)
           GROUP BY m.id ORDER BY m.email NULLS LAST, m.id OFFSET $3 LIMIT $4"#,
        directory,
        status.map(MemberStatus::as_str),
        offset,
        limit
    )
    .fetch_all(db)
    .await
}
