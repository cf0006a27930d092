//! The mass-deprovisioning hold on the product side (the rule is [`scim_core::hold`]).
//! As the worker brings member records up to date it screens the deprovisionings:
//! past the directory's threshold within the window they are held, the member keeps
//! access, and the hold waits for someone to apply or keep it. A later change from the
//! identity provider for a held member supersedes the held one. The directory's row lock
//! serialises screening and decisions, so counts are never read twice.
//!
//! The SQL of `holds`, `held_deprovisionings`, `held_team_removals` and `deprovisionings`
//! is here; deciding a hold (apply, keep) is [`decide`].

pub mod decide;

use crate::members::MemberStatus;
use crate::teams::plan::Plan;
use scim_core::hold::{self, Policy, WINDOW_MINUTES};
use scim_events::{Action, Event, ResourceType};
use scim_store::{directories, outbox};
use serde_json::json;
use sqlx::{PgConnection, PgExecutor};
use std::collections::{BTreeSet, HashMap, HashSet};
use time::OffsetDateTime;
use uuid::Uuid;

/// Whether a write passes through the hold: a hold's own decision skips it, and so does
/// an admin's team change (a mapping, the team mode), which its admin previewed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    On,
    Off,
}

/// What the identity provider asked for a held member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Deactivate,
    Remove,
    /// Leave teams (the member stays active): `HeldMember::teams`.
    LeaveTeams,
}

impl Change {
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Deactivate => "deactivate",
            Change::Remove => "remove",
            Change::LeaveTeams => "leave_teams",
        }
    }

    fn parse(text: &str) -> Change {
        [Change::Remove, Change::LeaveTeams]
            .into_iter()
            .find(|c| c.as_str() == text)
            .unwrap_or(Change::Deactivate)
    }

    /// The deprovisioning a member record's new status is, if any.
    fn to(status: MemberStatus) -> Option<Change> {
        match status {
            MemberStatus::Active => None,
            MemberStatus::Deactivated => Some(Change::Deactivate),
            MemberStatus::Removed => Some(Change::Remove),
        }
    }
}

/// A member record the worker is about to write: the user's new status and version.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Planned {
    pub user: Uuid,
    pub status: MemberStatus,
    pub version: i64,
}

/// A directory's open hold: what the threshold was and what the hour had seen as it
/// began, and what it holds now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold {
    pub since: OffsetDateTime,
    pub policy: Policy,
    /// Members active when the window began.
    pub active_members: i64,
    /// Deprovisionings that took effect within the window before the hold began.
    pub deprovisioned: i64,
    pub deactivations: i64,
    pub removals: i64,
    /// Members who stay active and keep teams they would have left.
    pub team_removals: i64,
}

impl Hold {
    /// The members it holds.
    pub fn held(&self) -> i64 {
        self.deactivations + self.removals + self.team_removals
    }

    /// The `directory.deprovisioning_*` event: the directory with the hold as `hold`.
    pub fn event(&self, dir: &directories::Summary, action: Action, version: i64) -> Event {
        let mut resource = dir.event_resource();
        resource["hold"] = json!({
            "since": scim_core::resource::rfc3339(self.since),
            "window_minutes": WINDOW_MINUTES,
            "min_members": self.policy.min_members,
            "share_percent": self.policy.share_percent,
            "active_members": self.active_members,
            "deprovisioned": self.deprovisioned,
            "held": self.held(),
            "deactivations": self.deactivations,
            "removals": self.removals,
            "team_removals": self.team_removals,
        });
        let id = dir.directory.id;
        Event::new(
            id,
            ResourceType::Directory,
            id,
            action,
            version,
            resource,
            None,
        )
    }
}

/// A member a hold keeps active.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldMember {
    pub member: Uuid,
    pub scim_user_id: Uuid,
    pub email: Option<String>,
    pub display_name: Option<String>,
    pub change: Change,
    /// [`Change::LeaveTeams`]: the teams it keeps, by name.
    pub teams: Vec<String>,
    pub held_at: OffsetDateTime,
}

/// Screens what the worker is about to write for `directory`'s members, in the caller's
/// transaction; returns the users whose writes are held (not to be written). Takes the
/// directory's row lock only when something can be held or released.
pub(crate) async fn screen(
    tx: &mut PgConnection,
    directory: Uuid,
    planned: &[Planned],
) -> Result<HashSet<Uuid>, sqlx::Error> {
    let mut held = HashSet::new();
    let deprovisions = planned.iter().any(|p| p.status != MemberStatus::Active);
    if !deprovisions && !is_open(&mut *tx, directory).await? {
        return Ok(held);
    }
    if !directories::lock_row(&mut *tx, directory).await? {
        return Ok(held);
    }
    let users: Vec<Uuid> = planned.iter().map(|p| p.user).collect();
    let states = states(&mut *tx, directory, &users).await?;
    let (mut candidates, mut still_held, mut released) = (Vec::new(), Vec::new(), Vec::new());
    for p in planned {
        // A stale write changes nothing (the upsert ignores it): nothing to judge.
        let Some(s) = states.get(&p.user).filter(|s| p.version > s.version) else {
            continue;
        };
        match (s.held, Change::to(p.status)) {
            (true, Some(change)) => still_held.push((p.user, change, p.version)),
            (true, None) => released.push(p.user),
            (false, Some(change)) if s.status == MemberStatus::Active => {
                candidates.push((p.user, s.member, change, p.version));
            }
            _ => {}
        }
    }
    held.extend(still_held.iter().map(|(u, _, _)| *u));
    rehold(&mut *tx, directory, &still_held).await?;
    release(&mut *tx, directory, &released).await?;
    if candidates.is_empty() {
        return Ok(held);
    }
    let judged = judge(&mut *tx, directory, candidates.len()).await?;
    let (now, later) = candidates.split_at(judged.allowed);
    if judged.counted {
        let members: Vec<Uuid> = now.iter().map(|(_, m, _, _)| *m).collect();
        count(&mut *tx, directory, &members).await?;
    }
    if later.is_empty() {
        return Ok(held);
    }
    let rows: Vec<(Uuid, Change, i64)> = later.iter().map(|(u, _, c, v)| (*u, *c, *v)).collect();
    rehold(&mut *tx, directory, &rows).await?;
    held.extend(later.iter().map(|(u, _, _, _)| *u));
    if judged.began {
        announce_begun(tx, directory).await?;
    }
    Ok(held)
}

/// Screens the team memberships a recomputation is about to end for members who stay
/// active (under the directory's row lock): removals a hold keeps stay kept, unless the
/// plan no longer makes them (superseded); new ones are judged like deprovisionings, a
/// member counting once. What is held is taken out of `plan`.
pub(crate) async fn screen_teams(
    tx: &mut PgConnection,
    directory: Uuid,
    plan: &mut Plan,
    held: &BTreeSet<(Uuid, Uuid)>,
) -> Result<(), sqlx::Error> {
    let removals = plan.removals();
    let pairs: BTreeSet<(Uuid, Uuid)> = removals
        .iter()
        .flat_map(|(m, teams)| teams.iter().map(|t| (*t, *m)))
        .collect();
    let still: BTreeSet<(Uuid, Uuid)> = held.intersection(&pairs).copied().collect();
    let released: Vec<(Uuid, Uuid)> = held.difference(&pairs).copied().collect();
    plan.keep(&still);
    release_teams(&mut *tx, directory, &released).await?;
    let candidates: Vec<(Uuid, Vec<Uuid>)> = removals
        .into_iter()
        .map(|(m, teams)| {
            (
                m,
                teams
                    .into_iter()
                    .filter(|t| !still.contains(&(*t, m)))
                    .collect(),
            )
        })
        .filter(|(_, teams): &(Uuid, Vec<Uuid>)| !teams.is_empty())
        .collect();
    if candidates.is_empty() {
        return Ok(());
    }
    let judged = judge(&mut *tx, directory, candidates.len()).await?;
    let (now, later) = candidates.split_at(judged.allowed);
    if judged.counted {
        let members: Vec<Uuid> = now.iter().map(|(m, _)| *m).collect();
        count(&mut *tx, directory, &members).await?;
    }
    if later.is_empty() {
        return Ok(());
    }
    let kept: BTreeSet<(Uuid, Uuid)> = later
        .iter()
        .flat_map(|(m, teams)| teams.iter().map(|t| (*t, *m)))
        .collect();
    hold_teams(&mut *tx, directory, &kept).await?;
    plan.keep(&kept);
    if judged.began {
        announce_begun(tx, directory).await?;
    }
    Ok(())
}

/// What judging new deprovisionings decided.
struct Judged {
    /// How many take effect now; the rest are held.
    allowed: usize,
    /// Those that take effect count toward the window (the hold is on).
    counted: bool,
    /// The hold began with them.
    began: bool,
}

/// Of `n` new deprovisionings (under the directory's row lock), how many take effect
/// now; opens the hold when some are held. While a hold is open, all are held.
async fn judge(tx: &mut PgConnection, directory: Uuid, n: usize) -> Result<Judged, sqlx::Error> {
    if is_open(&mut *tx, directory).await? {
        return Ok(Judged {
            allowed: 0,
            counted: false,
            began: false,
        });
    }
    let Some(policy) = directories::hold_policy(&mut *tx, directory).await? else {
        return Ok(Judged {
            allowed: n,
            counted: false,
            began: false,
        });
    };
    let (active, recent) = window(&mut *tx, directory).await?;
    let allowed = hold::allowed(Some(policy), active as u64, recent as u64, n as u64) as usize;
    let began = allowed < n;
    if began {
        begin(
            tx,
            directory,
            policy,
            active + recent,
            recent + allowed as i64,
        )
        .await?;
    }
    Ok(Judged {
        allowed,
        counted: true,
        began,
    })
}

/// Counts deprovisionings of these members that took effect toward the window.
async fn count(
    tx: &mut PgConnection,
    directory: Uuid,
    members: &[Uuid],
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO deprovisionings (directory_id, member_id) SELECT $1, unnest($2::uuid[])",
        directory,
        members
    )
    .execute(tx)
    .await?;
    Ok(())
}

/// The team removals (team, member) a hold keeps among these members.
pub(crate) async fn held_team_removals(
    db: impl PgExecutor<'_>,
    directory: Uuid,
    members: &[Uuid],
) -> Result<BTreeSet<(Uuid, Uuid)>, sqlx::Error> {
    let rows = sqlx::query!(
        "SELECT team_id, member_id FROM held_team_removals
         WHERE directory_id = $1 AND member_id = ANY($2)",
        directory,
        members
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|r| (r.team_id, r.member_id)).collect())
}

/// Holds these team removals (team, member).
async fn hold_teams(
    tx: &mut PgConnection,
    directory: Uuid,
    pairs: &BTreeSet<(Uuid, Uuid)>,
) -> Result<(), sqlx::Error> {
    let (teams, members): (Vec<Uuid>, Vec<Uuid>) = pairs.iter().copied().unzip();
    sqlx::query!(
        "INSERT INTO held_team_removals (directory_id, team_id, member_id)
         SELECT $1, t, m FROM unnest($2::uuid[], $3::uuid[]) AS r(t, m)
         ON CONFLICT DO NOTHING",
        directory,
        &teams,
        &members
    )
    .execute(tx)
    .await?;
    Ok(())
}

/// The plan no longer ends these held memberships (team, member): released; the hold
/// closes when it holds no one.
async fn release_teams(
    tx: &mut PgConnection,
    directory: Uuid,
    pairs: &[(Uuid, Uuid)],
) -> Result<(), sqlx::Error> {
    if pairs.is_empty() {
        return Ok(());
    }
    let (teams, members): (Vec<Uuid>, Vec<Uuid>) = pairs.iter().copied().unzip();
    sqlx::query!(
        "DELETE FROM held_team_removals h USING unnest($2::uuid[], $3::uuid[]) AS r(t, m)
         WHERE h.directory_id = $1 AND h.team_id = r.t AND h.member_id = r.m",
        directory,
        &teams,
        &members
    )
    .execute(&mut *tx)
    .await?;
    close_if_empty(tx, directory).await
}

/// Those of `users` whose deprovisioning a hold keeps: their member records and teams
/// stay as they are until the hold is decided.
pub(crate) async fn held_users(
    db: impl PgExecutor<'_>,
    directory: Uuid,
    users: &[Uuid],
) -> Result<HashSet<Uuid>, sqlx::Error> {
    let rows = sqlx::query_scalar!(
        "SELECT scim_user_id FROM held_deprovisionings
         WHERE directory_id = $1 AND scim_user_id = ANY($2)",
        directory,
        users
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().collect())
}

/// The directory's open hold, if any.
pub async fn show(db: impl PgExecutor<'_>, directory: Uuid) -> Result<Option<Hold>, sqlx::Error> {
    let row = sqlx::query!(
        r#"SELECT h.since, h.min_members, h.share_percent, h.active_members, h.deprovisioned,
                  (SELECT count(*) FROM held_deprovisionings d
                   WHERE d.directory_id = h.directory_id AND d.change = 'deactivate') AS "deactivations!",
                  (SELECT count(*) FROM held_deprovisionings d
                   WHERE d.directory_id = h.directory_id AND d.change = 'remove') AS "removals!",
                  (SELECT count(DISTINCT t.member_id) FROM held_team_removals t
                   WHERE t.directory_id = h.directory_id) AS "team_removals!"
           FROM holds h WHERE h.directory_id = $1"#,
        directory
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| Hold {
        since: r.since,
        policy: Policy {
            min_members: u32::try_from(r.min_members).unwrap_or_default(),
            share_percent: u32::try_from(r.share_percent).unwrap_or_default(),
        },
        active_members: r.active_members,
        deprovisioned: r.deprovisioned,
        deactivations: r.deactivations,
        removals: r.removals,
        team_removals: r.team_removals,
    }))
}

/// A page of the members the directory's hold keeps, in user id order after `after`:
/// those it keeps active, and those it keeps in teams (with the teams).
pub async fn held_page(
    db: impl PgExecutor<'_>,
    directory: Uuid,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<HeldMember>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT x.scim_user_id AS "scim_user_id!", x.member_id AS "member_id!",
                  x.change AS "change!", x.held_at AS "held_at!", x.email, x.display_name,
                  x.teams AS "teams!"
           FROM (
               SELECT h.scim_user_id, h.member_id, h.change, h.held_at, m.email,
                      m.display_name, '{}'::text[] AS teams
               FROM held_deprovisionings h JOIN members m ON m.id = h.member_id
               WHERE h.directory_id = $1
               UNION ALL
               SELECT m.scim_user_id, t.member_id, 'leave_teams', min(t.held_at), m.email,
                      m.display_name, array_agg(tm.name ORDER BY tm.name)
               FROM held_team_removals t JOIN members m ON m.id = t.member_id
                    JOIN teams tm ON tm.id = t.team_id
               WHERE t.directory_id = $1 AND m.scim_user_id IS NOT NULL
               GROUP BY t.member_id, m.scim_user_id, m.email, m.display_name
           ) x
           WHERE $2::uuid IS NULL OR x.scim_user_id > $2
           ORDER BY x.scim_user_id LIMIT $3"#,
        directory,
        after,
        limit
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| HeldMember {
            member: r.member_id,
            scim_user_id: r.scim_user_id,
            email: r.email,
            display_name: r.display_name,
            change: Change::parse(&r.change),
            teams: r.teams,
            held_at: r.held_at,
        })
        .collect())
}

/// How many directories have a hold open: what the worker's gauge shows.
pub async fn open_count(db: impl PgExecutor<'_>) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(r#"SELECT count(*) AS "n!" FROM holds"#)
        .fetch_one(db)
        .await
}

async fn is_open(db: impl PgExecutor<'_>, directory: Uuid) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM holds WHERE directory_id = $1) AS "open!""#,
        directory
    )
    .fetch_one(db)
    .await
}

/// A member as screening finds it.
struct State {
    member: Uuid,
    status: MemberStatus,
    version: i64,
    held: bool,
}

/// The members of these users, with whether a hold keeps them.
async fn states(
    db: impl PgExecutor<'_>,
    directory: Uuid,
    users: &[Uuid],
) -> Result<HashMap<Uuid, State>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT m.scim_user_id AS "user!", m.id, m.status AS "status: MemberStatus",
                  m.scim_version, h.scim_user_id IS NOT NULL AS "held!"
           FROM members m LEFT JOIN held_deprovisionings h
             ON h.directory_id = m.directory_id AND h.scim_user_id = m.scim_user_id
           WHERE m.directory_id = $1 AND m.scim_user_id = ANY($2)"#,
        directory,
        users
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let state = State {
                member: r.id,
                status: r.status,
                version: r.scim_version,
                held: r.held,
            };
            (r.user, state)
        })
        .collect())
}

/// Forgets deprovisionings older than the window; returns the members active now and
/// the deprovisionings within the window.
async fn window(tx: &mut PgConnection, directory: Uuid) -> Result<(i64, i64), sqlx::Error> {
    sqlx::query!(
        "DELETE FROM deprovisionings
         WHERE directory_id = $1 AND at < now() - make_interval(mins => $2::int)",
        directory,
        WINDOW_MINUTES as i32
    )
    .execute(&mut *tx)
    .await?;
    let r = sqlx::query!(
        r#"SELECT (SELECT count(*) FROM members
                   WHERE directory_id = $1 AND status = 'active') AS "active!",
                  (SELECT count(*) FROM deprovisionings WHERE directory_id = $1) AS "recent!""#,
        directory
    )
    .fetch_one(tx)
    .await?;
    Ok((r.active, r.recent))
}

/// Opens the directory's hold.
async fn begin(
    tx: &mut PgConnection,
    directory: Uuid,
    policy: Policy,
    active: i64,
    deprovisioned: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO holds (directory_id, min_members, share_percent, active_members, deprovisioned)
         VALUES ($1, $2, $3, $4, $5)",
        directory,
        i32::try_from(policy.min_members).unwrap_or(i32::MAX),
        i32::try_from(policy.share_percent).unwrap_or(i32::MAX),
        active,
        deprovisioned
    )
    .execute(tx)
    .await?;
    Ok(())
}

/// Publishes `directory.deprovisioning_held` for the hold just opened.
async fn announce_begun(tx: &mut PgConnection, directory: Uuid) -> Result<(), sqlx::Error> {
    let (Some(dir), Some(hold)) = (
        directories::show(&mut *tx, directory).await?,
        show(&mut *tx, directory).await?,
    ) else {
        return Ok(());
    };
    let version = directories::bump_version(&mut *tx, directory).await?;
    let event = hold.event(&dir, Action::DeprovisioningHeld, version);
    outbox::insert(tx, &[event]).await
}

/// Holds these users' deprovisionings (or, already held, the newer ones).
async fn rehold(
    tx: &mut PgConnection,
    directory: Uuid,
    rows: &[(Uuid, Change, i64)],
) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let users: Vec<Uuid> = rows.iter().map(|r| r.0).collect();
    let changes: Vec<&str> = rows.iter().map(|r| r.1.as_str()).collect();
    let versions: Vec<i64> = rows.iter().map(|r| r.2).collect();
    sqlx::query!(
        "INSERT INTO held_deprovisionings (directory_id, scim_user_id, member_id, change, scim_version)
         SELECT $1, r.u, m.id, r.c, r.v
         FROM unnest($2::uuid[], $3::text[], $4::bigint[]) AS r(u, c, v)
         JOIN members m ON m.directory_id = $1 AND m.scim_user_id = r.u
         ON CONFLICT (directory_id, scim_user_id) DO UPDATE
         SET change = EXCLUDED.change, scim_version = EXCLUDED.scim_version",
        directory,
        &users,
        &changes as &[&str],
        &versions
    )
    .execute(tx)
    .await?;
    Ok(())
}

/// A later change reactivated these held members: their held deprovisioning is
/// superseded; the hold closes when it holds no one.
async fn release(
    tx: &mut PgConnection,
    directory: Uuid,
    users: &[Uuid],
) -> Result<(), sqlx::Error> {
    if users.is_empty() {
        return Ok(());
    }
    sqlx::query!(
        "DELETE FROM held_deprovisionings WHERE directory_id = $1 AND scim_user_id = ANY($2)",
        directory,
        users
    )
    .execute(&mut *tx)
    .await?;
    close_if_empty(tx, directory).await
}

/// Closes the directory's hold once it holds no one.
async fn close_if_empty(tx: &mut PgConnection, directory: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "DELETE FROM holds h WHERE h.directory_id = $1
         AND NOT EXISTS (SELECT 1 FROM held_deprovisionings d WHERE d.directory_id = $1)
         AND NOT EXISTS (SELECT 1 FROM held_team_removals t WHERE t.directory_id = $1)",
        directory
    )
    .execute(tx)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_member_leaving_is_a_deprovisioning() {
        assert_eq!(Change::to(MemberStatus::Active), None);
        assert_eq!(
            Change::to(MemberStatus::Deactivated),
            Some(Change::Deactivate)
        );
        assert_eq!(Change::to(MemberStatus::Removed), Some(Change::Remove));
        for c in [Change::Deactivate, Change::Remove] {
            assert_eq!(Change::parse(c.as_str()), c);
        }
    }
}
