//! Team reconciliation: recompute the teams of some users from the directory's current
//! state (group memberships or the mapped attribute) and write the difference with its
//! events. The members are locked first, so whichever reconciliation runs last read
//! the newest state: duplicates and stale events change nothing.

use super::plan::{self as team, Target, ValueTeam, Via};
use super::store as teams;
use crate::hold;
use crate::hold::Screen;
use crate::members::MemberStatus;
use scim_events::Event;
use scim_store::directories::{self, TeamMapping};
use scim_store::{outbox, users as db_users};
use sqlx::{Connection, PgConnection, PgPool};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use uuid::Uuid;

/// Users recomputed per transaction: bounds lock time and statement size when a
/// mapping change touches a whole directory.
const CHUNK: usize = 1000;

/// Brings the team memberships of these users of `directory` up to date, a chunk per
/// transaction; team removals through the hold unless `screen` is off.
pub async fn reconcile(
    pool: &PgPool,
    directory: Uuid,
    users: &[Uuid],
    screen: Screen,
) -> Result<(), sqlx::Error> {
    for chunk in users.chunks(CHUNK) {
        let mut tx = pool.begin().await?;
        reconcile_chunk(&mut tx, directory, chunk, screen).await?;
        tx.commit().await?;
    }
    Ok(())
}

/// [`reconcile`] within the caller's transaction (a preview's, which is rolled back; a
/// hold's decision, which does not pass through the hold again); returns the events it
/// wrote.
pub async fn reconcile_in(
    conn: &mut PgConnection,
    directory: Uuid,
    users: &[Uuid],
    screen: Screen,
) -> Result<Vec<Event>, sqlx::Error> {
    let mut events = Vec::new();
    for chunk in users.chunks(CHUNK) {
        events.extend(reconcile_chunk(conn, directory, chunk, screen).await?);
    }
    Ok(events)
}

/// Every user whose teams a change of the directory's team mode can change: its users,
/// and the users behind its provisioned memberships.
pub async fn everyone(conn: &mut PgConnection, directory: Uuid) -> Result<Vec<Uuid>, sqlx::Error> {
    let mut users = db_users::ids(&mut *conn, directory).await?;
    users.extend(teams::membership::provisioned_users(&mut *conn, directory, None).await?);
    users.sort_unstable();
    users.dedup();
    Ok(users)
}

/// Recomputes one chunk of users and writes the difference; returns the events written.
/// Most recomputations end no active member's membership and hold none: they run
/// without the directory's lock. One that does passes through the hold, which counts
/// under that lock, so it starts again taking the lock first (the order every hold
/// screen takes its locks in: the directory, then its members).
async fn reconcile_chunk(
    conn: &mut PgConnection,
    directory: Uuid,
    users: &[Uuid],
    screen: Screen,
) -> Result<Vec<Event>, sqlx::Error> {
    if screen == Screen::On {
        let mut attempt = conn.begin().await?;
        let Some(planned) = plan_chunk(&mut attempt, directory, users).await? else {
            return Ok(Vec::new());
        };
        if planned.plan.removals().is_empty() && planned.held.is_empty() {
            let events = write_chunk(&mut attempt, directory, planned).await?;
            attempt.commit().await?;
            return Ok(events);
        }
        attempt.rollback().await?;
        directories::lock_row(&mut *conn, directory).await?;
    }
    let Some(mut planned) = plan_chunk(conn, directory, users).await? else {
        return Ok(Vec::new());
    };
    if screen == Screen::On {
        hold::screen_teams(conn, directory, &mut planned.plan, &planned.held).await?;
    }
    write_chunk(conn, directory, planned).await
}

/// A chunk's plan, with the teams made on the way and the team removals a hold keeps
/// among its members.
struct Planned {
    plan: team::Plan,
    created: Vec<(Uuid, String)>,
    held: BTreeSet<(Uuid, Uuid)>,
}

/// Locks the chunk's members and plans what their memberships become; `None` when none
/// of them has a member record.
async fn plan_chunk(
    conn: &mut PgConnection,
    directory: Uuid,
    users: &[Uuid],
) -> Result<Option<Planned>, sqlx::Error> {
    let mut locked = teams::membership::lock_members(conn, directory, users).await?;
    // A member whose deprovisioning a hold keeps keeps its teams too, until decided.
    let held_users = hold::held_users(&mut *conn, directory, users).await?;
    locked.retain(|m| !m.scim_user_id.is_some_and(|u| held_users.contains(&u)));
    if locked.is_empty() {
        return Ok(None);
    }
    let mapping = directories::team_mapping(&mut *conn, directory).await?;
    let user_ids: Vec<Uuid> = locked.iter().filter_map(|m| m.scim_user_id).collect();
    // A user deleted since its member record was last brought up to date (another
    // event's reconciliation can run before the deletion's) is a removed member: its
    // memberships end for that reason, whichever event gets here first.
    let deleted = teams::membership::deleted_users(&mut *conn, directory, &user_ids).await?;
    for member in &mut locked {
        if member.scim_user_id.is_some_and(|u| deleted.contains(&u)) {
            member.status = MemberStatus::Removed;
        }
    }
    let (mut desired, created) = desired_teams(conn, directory, &mapping, &user_ids).await?;
    let targets: Vec<Target<'_>> = locked
        .iter()
        .map(|member| Target {
            member,
            // A deleted user keeps no provisioned team.
            teams: match member.status {
                MemberStatus::Removed => BTreeMap::new(),
                _ => member
                    .scim_user_id
                    .and_then(|u| desired.remove(&u))
                    .unwrap_or_default(),
            },
        })
        .collect();
    let member_ids: Vec<Uuid> = locked.iter().map(|m| m.id).collect();
    let current = teams::membership::memberships(conn, &member_ids).await?;
    let held = hold::held_team_removals(&mut *conn, directory, &member_ids).await?;
    Ok(Some(Planned {
        plan: team::plan(&mapping, &targets, &current),
        created,
        held,
    }))
}

/// Writes a chunk's plan with its events; returns them.
async fn write_chunk(
    conn: &mut PgConnection,
    directory: Uuid,
    Planned { plan, created, .. }: Planned,
) -> Result<Vec<Event>, sqlx::Error> {
    teams::membership::write_memberships(conn, &plan.upserts, &plan.deletes).await?;
    if plan.changes.is_empty() && created.is_empty() {
        return Ok(Vec::new());
    }
    // A team made here is announced before its first members.
    let mut counts: BTreeMap<Uuid, i64> = created.iter().map(|(team, _)| (*team, 1)).collect();
    for c in &plan.changes {
        *counts.entry(c.team).or_default() += 1;
    }
    let counts: Vec<(Uuid, i64)> = counts.into_iter().collect();
    let versions = teams::bump_versions(conn, &counts).await?;
    // Each event takes the next of the versions its team was raised by.
    let mut next: HashMap<Uuid, i64> = counts
        .iter()
        .filter_map(|(t, n)| versions.get(t).map(|(_, last)| (*t, last - n + 1)))
        .collect();
    let mut take = |team: Uuid| {
        let version = next.get_mut(&team)?;
        *version += 1;
        Some(*version - 1)
    };
    let mut events = Vec::with_capacity(created.len() + plan.changes.len());
    for (team, name) in &created {
        if let Some(version) = take(*team) {
            events.push(team::created_event(directory, (*team, name), version, &[]));
        }
    }
    for c in &plan.changes {
        if let (Some((name, _)), Some(version)) = (versions.get(&c.team), take(c.team)) {
            events.push(team::member_event(directory, (c.team, name), version, c));
        }
    }
    outbox::insert(&mut *conn, &events).await?;
    Ok(events)
}

/// Each user's target teams with what grants them, under the directory's mapping, and
/// the teams made on the way (an attribute value's first use).
async fn desired_teams(
    conn: &mut PgConnection,
    directory: Uuid,
    mapping: &TeamMapping,
    users: &[Uuid],
) -> Result<(Desired, Vec<(Uuid, String)>), sqlx::Error> {
    let mut desired = Desired::new();
    let mut created = Vec::new();
    match mapping {
        TeamMapping::Mapped | TeamMapping::Mirrored { .. } => {
            let held = match mapping {
                TeamMapping::Mapped => {
                    teams::mapping::mapped_groups(conn, directory, users).await?
                }
                _ => teams::mirror::mirrored_groups(conn, directory, users).await?,
            };
            let mut held = held;
            // In name order, so `via` lists names and ids alike sorted.
            held.sort_by(|a, b| (&a.name, a.group).cmp(&(&b.name, b.group)));
            for h in held {
                let via = desired
                    .entry(h.user)
                    .or_default()
                    .entry(h.team)
                    .or_default();
                via.names.push(h.name);
                via.groups.push(h.group);
            }
        }
        TeamMapping::Attribute {
            attribute,
            unmapped,
        } => {
            let Some((urn, attr)) = team::split_attribute(attribute) else {
                return Ok((desired, created));
            };
            let table = teams::mapping::value_table(&mut *conn, directory).await?;
            let table: HashMap<String, Uuid> =
                table.into_iter().map(|row| (row.value, row.team)).collect();
            let values =
                teams::mapping::attribute_values(conn, directory, users, urn, attr).await?;
            let per_user: Vec<(Uuid, Vec<(String, ValueTeam)>)> = values
                .iter()
                .map(|(user, v)| {
                    (
                        *user,
                        team::value_teams(&team::team_names(v), &table, *unmapped),
                    )
                })
                .collect();
            let mut names: Vec<String> = per_user
                .iter()
                .flat_map(|(_, teams)| teams)
                .filter_map(|(_, t)| match t {
                    ValueTeam::Named(name) => Some(name.clone()),
                    ValueTeam::Mapped(_) => None,
                })
                .collect();
            names.sort();
            names.dedup();
            let ids;
            (ids, created) = teams::ensure(conn, directory, &names).await?;
            for (user, teams) in per_user {
                for (value, target) in teams {
                    let team = match target {
                        ValueTeam::Mapped(team) => Some(team),
                        ValueTeam::Named(name) => ids.get(&name).copied(),
                    };
                    if let Some(team) = team {
                        let via = desired.entry(user).or_default().entry(team).or_default();
                        via.names.push(value);
                        via.names.sort();
                    }
                }
            }
        }
    }
    Ok((desired, created))
}

/// Each user's target teams, each with what grants it.
type Desired = HashMap<Uuid, BTreeMap<Uuid, Via>>;
