//! SQL for teams, a file per concern: the teams themselves here; [`mirror`] (teams that
//! mirror a group), [`mapping`] (group names and attribute values that name teams),
//! [`membership`] (who is in which team, and why), [`views`] (what administration
//! reads). Provisioned memberships are written only by reconciliation
//! ([`super::reconcile`]), which locks the members it recomputes; manual memberships
//! only by team administration.

pub mod mapping;
pub mod membership;
pub mod mirror;
pub mod views;

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

text_column!(Source, "membership source");

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
