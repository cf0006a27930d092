//! What administration reads of teams and members.

use crate::members::{ManagedBy, MemberStatus};
use sqlx::PgExecutor;
use uuid::Uuid;

use super::Source;

/// A team member as administration reads it.
#[derive(Debug, Clone)]
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

/// A member of the product as administration reads it:
/// state and teams in effect.
#[derive(Debug, Clone)]
pub struct MemberView {
    pub id: Uuid,
    pub scim_user_id: Option<Uuid>,
    pub email: Option<String>,
    pub display_name: Option<String>,
    pub status: MemberStatus,
    pub managed_by: ManagedBy,
    /// Teams the member is in now (suspended memberships left out).
    pub teams: Vec<String>,
    pub role: Option<String>,
    /// `members.role_source` ([`scim_core::roles::Source`]).
    pub role_source: Option<String>,
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
                  m.managed_by AS "managed_by: ManagedBy", m.role, m.role_source,
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
