//! SQL of team membership: the members reconciliation locks and recomputes, the
//! memberships it writes, and memberships added by hand.

use crate::members::MemberStatus;
use scim_store::directories::TeamMapping;
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use super::Source;

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
    /// What granted a provisioned membership; `None` for a manual one.
    pub grant: Option<Grant>,
    pub suspended: bool,
}

/// The team mode a provisioned membership was written under (with the attribute, in
/// attribute mode): what `via` names, even after the directory's mode changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grant {
    Mapped,
    Mirrored,
    Attribute(String),
}

impl Grant {
    /// What `mapping` grants memberships through.
    pub fn of(mapping: &TeamMapping) -> Grant {
        match mapping {
            TeamMapping::Mapped => Grant::Mapped,
            TeamMapping::Mirrored { .. } => Grant::Mirrored,
            TeamMapping::Attribute { attribute, .. } => Grant::Attribute(attribute.clone()),
        }
    }

    fn mode(&self) -> &'static str {
        match self {
            Grant::Mapped => "mapped",
            Grant::Mirrored => "mirrored",
            Grant::Attribute(_) => "attribute",
        }
    }

    fn attribute(&self) -> Option<&str> {
        match self {
            Grant::Attribute(attribute) => Some(attribute),
            _ => None,
        }
    }

    /// From `team_members.via_mode` and `via_attribute` (the table's check keeps them
    /// consistent).
    fn from_columns(mode: Option<&str>, attribute: Option<String>) -> Option<Grant> {
        match (mode?, attribute) {
            ("mapped", _) => Some(Grant::Mapped),
            ("mirrored", _) => Some(Grant::Mirrored),
            ("attribute", Some(attribute)) => Some(Grant::Attribute(attribute)),
            _ => None,
        }
    }
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

/// Makes these members' provisioned memberships manual (where the member has no manual
/// one in that team already): what a member detached from the directory keeps.
pub async fn make_manual(conn: &mut PgConnection, members: &[Uuid]) -> Result<(), sqlx::Error> {
    let rows = sqlx::query!(
        "SELECT team_id, member_id FROM team_members
         WHERE member_id = ANY($1) AND source = 'provisioned'",
        members
    )
    .fetch_all(&mut *conn)
    .await?;
    let pairs: Vec<(Uuid, Uuid)> = rows.into_iter().map(|r| (r.team_id, r.member_id)).collect();
    make_manual_memberships(conn, &pairs).await
}

/// Makes these provisioned memberships (team, member) manual: what a kept team removal
/// leaves.
pub async fn make_manual_memberships(
    conn: &mut PgConnection,
    pairs: &[(Uuid, Uuid)],
) -> Result<(), sqlx::Error> {
    if pairs.is_empty() {
        return Ok(());
    }
    let (teams, members): (Vec<Uuid>, Vec<Uuid>) = pairs.iter().copied().unzip();
    sqlx::query!(
        "WITH moved AS (
             DELETE FROM team_members tm USING unnest($1::uuid[], $2::uuid[]) AS r(t, m)
             WHERE tm.team_id = r.t AND tm.member_id = r.m AND tm.source = 'provisioned'
             RETURNING tm.team_id, tm.member_id, tm.suspended)
         INSERT INTO team_members (team_id, member_id, source, suspended)
         SELECT team_id, member_id, 'manual', suspended FROM moved
         ON CONFLICT (team_id, member_id, source) DO NOTHING",
        &teams,
        &members
    )
    .execute(conn)
    .await?;
    Ok(())
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

/// Every team membership of these members.
pub async fn memberships(
    conn: &mut PgConnection,
    members: &[Uuid],
) -> Result<Vec<Membership>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT team_id, member_id, source AS "source: Source", via, via_groups, via_mode,
                  via_attribute, suspended
           FROM team_members WHERE member_id = ANY($1)"#,
        members
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Membership {
            team: r.team_id,
            member: r.member_id,
            source: r.source,
            via: r.via,
            via_groups: r.via_groups,
            grant: Grant::from_columns(r.via_mode.as_deref(), r.via_attribute),
            suspended: r.suspended,
        })
        .collect())
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
        let modes: Vec<Option<&str>> = upserts
            .iter()
            .map(|m| m.grant.as_ref().map(Grant::mode))
            .collect();
        let attributes: Vec<Option<&str>> = upserts
            .iter()
            .map(|m| m.grant.as_ref().and_then(Grant::attribute))
            .collect();
        let suspended: Vec<bool> = upserts.iter().map(|m| m.suspended).collect();
        sqlx::query!(
            "INSERT INTO team_members (team_id, member_id, source, via, via_groups, via_mode,
                                       via_attribute, suspended)
             SELECT team_id, member_id, source,
                    ARRAY(SELECT jsonb_array_elements_text(via::jsonb)),
                    ARRAY(SELECT jsonb_array_elements_text(via_groups::jsonb)::uuid),
                    via_mode, via_attribute, suspended
             FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[],
                         $7::text[], $8::bool[])
                  AS t(team_id, member_id, source, via, via_groups, via_mode, via_attribute,
                       suspended)
             ON CONFLICT (team_id, member_id, source) DO UPDATE
             SET via = EXCLUDED.via, via_groups = EXCLUDED.via_groups,
                 via_mode = EXCLUDED.via_mode, via_attribute = EXCLUDED.via_attribute,
                 suspended = EXCLUDED.suspended",
            &teams,
            &members,
            &sources as &[&str],
            &via,
            &via_groups,
            &modes as &[Option<&str>],
            &attributes as &[Option<&str>],
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
        "INSERT INTO members (id, directory_id, email, status, scim_version, managed_by,
                              role, role_source)
         SELECT $1, $2, $3, 'active', 0, 'manual', d.default_role, 'default'
         FROM directories d WHERE d.id = $2",
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
