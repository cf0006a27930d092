//! What an admin change to teams does: create, rename and delete them, map them to
//! group names or attribute values (with previews), add and remove members by hand;
//! each change is recorded with its audit record and event, and the changes that
//! affect team assignment are events the worker re-evaluates.

use scim_admin_api::{
    AddedMember, GroupMapping, NewMember, NewTeam, RemovedMember, Team as TeamView, ValueTable,
};
use scim_core::controls::check_email;
use scim_core::limits::{KEY_BYTES, MAPPING_ROWS, TEAM_NAME_BYTES};
use scim_events::{Action, Event, ResourceType};
use scim_product::members::MemberStatus;
use scim_product::teams::plan::{Cause, Change, created_event, member_event};
use scim_product::teams::preview::Preview;
use scim_product::teams::store::mapping::ValueRow;
use scim_product::teams::store::membership::Membership;
use scim_product::teams::store::{self as teams, Source, Team};
use scim_store::directories::{self, Summary, TeamMapping};
use serde_json::json;
use sqlx::PgConnection;
use std::collections::HashMap;
use uuid::Uuid;

use super::admin::{Actor, AdminError, parse_id, record};
use super::directory::{existing, locked};
use super::preview::{begin_preview, preview_and_undo};
use crate::AppState;

/// Whether a create made something new, or found it made already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Created {
    Yes,
    No,
}

fn table_view(rows: &[ValueRow]) -> ValueTable {
    ValueTable {
        values: rows
            .iter()
            .map(|r| (r.value.clone(), r.team_name.clone()))
            .collect(),
    }
}

pub(crate) async fn value_table(state: &AppState, id: &str) -> Result<ValueTable, AdminError> {
    let mut conn = state.pool.acquire().await?;
    let dir = existing(&mut *conn, id).await?;
    Ok(table_view(
        &teams::mapping::value_table(&mut *conn, dir).await?,
    ))
}

/// Replaces attribute mode's value table; the worker re-evaluates the directory.
pub(crate) async fn set_value_table(
    state: &AppState,
    actor: &Actor,
    id: &str,
    table: ValueTable,
) -> Result<ValueTable, AdminError> {
    let mut tx = state.pool.begin().await?;
    let (summary, previous) = change_value_table(&mut tx, id, &table).await?;
    if previous != table {
        let dir = summary.directory.id;
        let version = directories::bump_version(&mut tx, dir).await?;
        let mut resource = summary.event_resource();
        resource["team_values"] = json!(table.values);
        let event = Event::new(
            dir,
            ResourceType::Directory,
            dir,
            Action::MappingChanged,
            version,
            resource,
            None,
        )
        .with_previous(serde_json::Map::from_iter([(
            "team_values".to_owned(),
            json!(previous.values),
        )]));
        record(
            &mut tx,
            state,
            actor,
            dir,
            event,
            json!({"team_values": table.values, "previous": previous.values}),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(table)
}

/// What this value table would do, without doing it.
pub(crate) async fn preview_value_table(
    state: &AppState,
    id: &str,
    table: ValueTable,
) -> Result<Preview, AdminError> {
    let mut previewing = begin_preview(state, id).await?;
    let (summary, _) = change_value_table(&mut previewing.tx, id, &table).await?;
    preview_and_undo(previewing, summary.directory.id).await
}

/// Checks the value table and sets it within `tx`: the directory, and the previous
/// table.
async fn change_value_table(
    tx: &mut PgConnection,
    id: &str,
    table: &ValueTable,
) -> Result<(Summary, ValueTable), AdminError> {
    if table.values.len() > MAPPING_ROWS {
        return Err(AdminError::Invalid(format!(
            "the value table has {} rows; it may have at most {MAPPING_ROWS}",
            table.values.len()
        )));
    }
    if let Some(bad) = table
        .values
        .keys()
        .find(|v| v.trim().is_empty() || v.len() > TEAM_NAME_BYTES)
    {
        return Err(AdminError::Invalid(format!(
            "{bad:?}: a value must be 1 to {TEAM_NAME_BYTES} bytes, as the identity provider sends it (a longer value names no team)"
        )));
    }
    let summary = locked(&mut *tx, id).await?;
    if !matches!(summary.team_mapping, TeamMapping::Attribute { .. }) {
        return Err(AdminError::Conflict(format!(
            "this directory's teams are {}: a value table would have no effect; \
             switch the team mode to attribute first",
            summary.team_mapping.mode()
        )));
    }
    let dir = summary.directory.id;
    let existing: HashMap<String, Uuid> = teams::list(&mut *tx, dir)
        .await?
        .into_iter()
        .map(|(t, _)| (t.name, t.id))
        .collect();
    let mut rows = Vec::with_capacity(table.values.len());
    let mut missing = Vec::new();
    for (value, team) in &table.values {
        match existing.get(team) {
            Some(id) => rows.push((value.clone(), *id)),
            None => missing.push(team.as_str()),
        }
    }
    if !missing.is_empty() {
        missing.sort_unstable();
        missing.dedup();
        return Err(AdminError::Conflict(format!(
            "no team {}: create the team first, then map values to it",
            missing.join(", ")
        )));
    }
    let previous = table_view(&teams::mapping::set_value_table(&mut *tx, dir, &rows).await?);
    Ok((summary, previous))
}

/// The team as the API shows it (and team events carry it): with its mapped groups.
fn view(team: &Team, groups: &[String]) -> TeamView {
    TeamView {
        id: team.id,
        name: team.name.clone(),
        groups: groups.to_vec(),
        mirrors: team.group,
        pinned: team.pinned.clone(),
    }
}

/// The directory's team with this id, with its mapped groups; 404 if none.
async fn find(
    tx: &mut PgConnection,
    directory: Uuid,
    raw_id: &str,
) -> Result<(Team, Vec<String>), AdminError> {
    let id = parse_id(raw_id, "team")?;
    teams::list(tx, directory)
        .await?
        .into_iter()
        .find(|(t, _)| t.id == id)
        .ok_or_else(|| AdminError::NotFound(format!("no team {id} in directory {directory}")))
}

pub(crate) async fn list(state: &AppState, id: &str) -> Result<Vec<TeamView>, AdminError> {
    let dir = existing(&state.pool, id).await?;
    let all = teams::list(&state.pool, dir).await?;
    Ok(all.iter().map(|(t, g)| view(t, g)).collect())
}

/// Creates a team; 200 with the existing one if the directory has a team of that name.
pub(crate) async fn create(
    state: &AppState,
    actor: &Actor,
    id: &str,
    new: NewTeam,
) -> Result<(Created, TeamView), AdminError> {
    let name = new.name.trim();
    check_team_name(name)?;
    let mut tx = state.pool.begin().await?;
    let dir = locked(&mut tx, id).await?.directory.id;
    if let Some((team, groups)) = teams::list(&mut *tx, dir)
        .await?
        .into_iter()
        .find(|(t, _)| t.name == name)
    {
        return Ok((Created::No, view(&team, &groups)));
    }
    let team = teams::create(&mut *tx, dir, name).await?;
    let version = team_version(&mut tx, team.id).await?;
    let event = created_event(dir, (team.id, &team.name), version, &[]);
    record(&mut tx, state, actor, dir, event, json!({"team": name})).await?;
    tx.commit().await?;
    Ok((Created::Yes, view(&team, &[])))
}

fn check_team_name(name: &str) -> Result<(), AdminError> {
    if name.is_empty() || name.len() > TEAM_NAME_BYTES {
        return Err(AdminError::Invalid(format!(
            "name must be 1 to {TEAM_NAME_BYTES} bytes"
        )));
    }
    Ok(())
}

/// Refuses changing a mirrored team by hand while the directory mirrors groups: its
/// name and life are its group's.
fn mirrored_by_provider(mapping: &TeamMapping, team: &Team) -> Result<(), AdminError> {
    if matches!(mapping, TeamMapping::Mirrored { .. }) && team.group.is_some() {
        return Err(AdminError::Conflict(format!(
            "team {:?} mirrors a group of the identity provider: rename or delete the group \
             there, and the team follows",
            team.name
        )));
    }
    Ok(())
}

/// Renames a team (`team.renamed`). Group-name mappings are by group name, so they are
/// unaffected.
pub(crate) async fn rename(
    state: &AppState,
    actor: &Actor,
    id: &str,
    team_id: &str,
    new: NewTeam,
) -> Result<TeamView, AdminError> {
    let name = new.name.trim();
    check_team_name(name)?;
    let mut tx = state.pool.begin().await?;
    let summary = locked(&mut tx, id).await?;
    let dir = summary.directory.id;
    let (team, groups) = find(&mut tx, dir, team_id).await?;
    mirrored_by_provider(&summary.team_mapping, &team)?;
    if team.name == name {
        return Ok(view(&team, &groups));
    }
    let taken = teams::list(&mut *tx, dir)
        .await?
        .into_iter()
        .any(|(t, _)| t.name == name);
    if taken {
        return Err(AdminError::Conflict(format!(
            "the directory already has a team {name:?}"
        )));
    }
    let version = teams::rename(&mut tx, team.id, name).await?;
    let renamed = Team {
        name: name.to_owned(),
        ..team.clone()
    };
    let event = Event::new(
        dir,
        ResourceType::Team,
        team.id,
        Action::Renamed,
        version,
        serde_json::to_value(view(&renamed, &groups)).unwrap_or_default(),
        None,
    )
    .with_previous(serde_json::Map::from_iter([(
        "name".to_owned(),
        json!(team.name),
    )]));
    record(
        &mut tx,
        state,
        actor,
        dir,
        event,
        json!({"team": name, "previous": team.name}),
    )
    .await?;
    tx.commit().await?;
    Ok(view(&renamed, &groups))
}

/// Deletes a team with every membership in it (`team.deleted`).
pub(crate) async fn remove(
    state: &AppState,
    actor: &Actor,
    id: &str,
    team_id: &str,
) -> Result<(), AdminError> {
    let mut tx = state.pool.begin().await?;
    let summary = locked(&mut tx, id).await?;
    let dir = summary.directory.id;
    let (team, groups) = find(&mut tx, dir, team_id).await?;
    mirrored_by_provider(&summary.team_mapping, &team)?;
    let (version, _) = teams::delete(&mut tx, team.id).await?;
    // As docs/events.md has it, and as mirrored deletions publish it: no group.
    let mut resource = scim_product::teams::plan::resource(team.id, &team.name, &groups);
    resource["group"] = serde_json::Value::Null;
    let event = Event::new(
        dir,
        ResourceType::Team,
        team.id,
        Action::Deleted,
        version,
        resource,
        None,
    );
    record(
        &mut tx,
        state,
        actor,
        dir,
        event,
        json!({"team": team.name}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Removes a membership added by hand (`team.member_removed`, cause `manual`, when the
/// member leaves the team by it). A provisioned membership is the identity provider's.
pub(crate) async fn remove_member(
    state: &AppState,
    actor: &Actor,
    id: &str,
    team_id: &str,
    member_id: &str,
) -> Result<RemovedMember, AdminError> {
    let member_id = parse_id(member_id, "member")?;
    let mut tx = state.pool.begin().await?;
    let summary = locked(&mut tx, id).await?;
    owned_by_provider(&summary.team_mapping)?;
    let dir = summary.directory.id;
    let (team, _) = find(&mut tx, dir, team_id).await?;
    let member = teams::membership::lock_member(&mut tx, dir, member_id)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("no member {member_id} in directory {dir}")))?;
    let rows: Vec<Membership> = teams::membership::memberships(&mut tx, &[member.id])
        .await?
        .into_iter()
        .filter(|m| m.team == team.id)
        .collect();
    let manual = rows.iter().find(|r| r.source == Source::Manual);
    let provisioned = rows.iter().find(|r| r.source == Source::Provisioned);
    let Some(manual) = manual else {
        return Err(match provisioned {
            Some(_) => AdminError::Conflict(format!(
                "{} is in {} through the identity provider ({}): remove them from the group there",
                member.email.as_deref().unwrap_or("the member"),
                team.name,
                rows.iter()
                    .flat_map(|r| r.via.clone())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            None => AdminError::NotFound(format!(
                "{} is not a member of {} added by hand",
                member.email.as_deref().unwrap_or("the member"),
                team.name
            )),
        });
    };
    let leaves = !manual.suspended && provisioned.is_none_or(|p| p.suspended);
    teams::membership::remove_manual(&mut tx, team.id, member.id).await?;
    let details = json!({"team": team.name, "email": member.email});
    if leaves {
        let version = team_version(&mut tx, team.id).await?;
        let change = Change {
            team: team.id,
            member: member.clone(),
            added: false,
            cause: Cause::manual(),
        };
        let event = member_event(dir, (team.id, &team.name), version, &change);
        record(&mut tx, state, actor, dir, event, details).await?;
    } else {
        scim_store::audit::record(
            &mut *tx,
            &actor.0,
            "team.member_removed",
            Some(dir),
            &details,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(RemovedMember {
        team: team.id,
        member: member.id,
        still_provisioned: provisioned.is_some(),
    })
}

/// Raises the team's version by one and returns it.
async fn team_version(tx: &mut PgConnection, team: Uuid) -> Result<i64, sqlx::Error> {
    let versions = teams::bump_versions(tx, &[(team, 1)]).await?;
    Ok(versions.get(&team).map_or(1, |(_, v)| *v))
}

pub(crate) async fn map_groups(
    state: &AppState,
    actor: &Actor,
    id: &str,
    team_id: &str,
    body: GroupMapping,
) -> Result<TeamView, AdminError> {
    let mut tx = state.pool.begin().await?;
    let (dir, team, mappings, previous) = change_group_mapping(&mut tx, id, team_id, body).await?;
    let groups: Vec<String> = mappings.iter().map(|(name, _)| name.clone()).collect();
    let previous_names: Vec<String> = previous.iter().map(|(name, _)| name.clone()).collect();
    if previous != mappings {
        let version = team_version(&mut tx, team.id).await?;
        let event = Event::new(
            dir,
            ResourceType::Team,
            team.id,
            Action::MappingChanged,
            version,
            serde_json::to_value(view(&team, &groups)).unwrap_or_default(),
            None,
        )
        .with_previous(serde_json::Map::from_iter([(
            "groups".to_owned(),
            json!(previous_names),
        )]));
        record(
            &mut tx,
            state,
            actor,
            dir,
            event,
            json!({"team": team.name, "groups": groups, "pinned": team.pinned, "previous": previous_names}),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(view(&team, &groups))
}

/// What mapping these group names to the team would do, without doing it.
pub(crate) async fn preview_group_mapping(
    state: &AppState,
    id: &str,
    team_id: &str,
    body: GroupMapping,
) -> Result<Preview, AdminError> {
    let mut previewing = begin_preview(state, id).await?;
    let (dir, ..) = change_group_mapping(&mut previewing.tx, id, team_id, body).await?;
    preview_and_undo(previewing, dir).await
}

/// Checks the group names and maps them to the team within `tx`: the directory, the
/// team (with its new pins), its new and its previous mappings (name, pinned group),
/// in name order.
async fn change_group_mapping(
    tx: &mut PgConnection,
    id: &str,
    team_id: &str,
    body: GroupMapping,
) -> Result<
    (
        Uuid,
        Team,
        Vec<(String, Option<Uuid>)>,
        Vec<(String, Option<Uuid>)>,
    ),
    AdminError,
> {
    let mut groups = body.groups;
    if groups.len() > MAPPING_ROWS {
        return Err(AdminError::Invalid(format!(
            "{} group names; a team maps at most {MAPPING_ROWS}",
            groups.len()
        )));
    }
    if groups.iter().any(|g| g.is_empty()) {
        return Err(AdminError::Invalid("group names cannot be empty".into()));
    }
    if let Some(long) = groups.iter().find(|g| g.len() > KEY_BYTES) {
        return Err(AdminError::Invalid(format!(
            "a group name is {} bytes long; group names are at most {KEY_BYTES}",
            long.len()
        )));
    }
    groups.sort();
    groups.dedup();
    let summary = locked(&mut *tx, id).await?;
    if summary.team_mapping != TeamMapping::Mapped {
        return Err(AdminError::Conflict(format!(
            "this directory's teams are {}: group-name mappings would have no effect; \
             switch to mapped mode first (scimctl directory team-mapping --mode mapped)",
            summary.team_mapping.mode()
        )));
    }
    let dir = summary.directory.id;
    let (team, _) = find(&mut *tx, dir, team_id).await?;
    let mut mappings: Vec<(String, Option<Uuid>)> =
        groups.iter().map(|g| (g.clone(), None)).collect();
    if body.pin {
        let found = teams::mapping::groups_named(&mut *tx, dir, &groups).await?;
        for (name, pin) in &mut mappings {
            let ids: Vec<Uuid> = found
                .iter()
                .filter(|(n, _)| n == name)
                .map(|(_, id)| *id)
                .collect();
            *pin = Some(match ids.as_slice() {
                [id] => *id,
                [] => {
                    return Err(AdminError::Conflict(format!(
                        "no pushed group is named {name:?} to pin to: push it first, or map the name unpinned"
                    )));
                }
                _ => {
                    return Err(AdminError::Conflict(format!(
                        "{} groups are named {name:?}: a pin needs exactly one",
                        ids.len()
                    )));
                }
            });
        }
    }
    let previous = teams::mapping::set_group_mapping(&mut *tx, dir, team.id, &mappings).await?;
    let team = Team {
        pinned: mappings
            .iter()
            .filter_map(|(name, pin)| Some((name.clone(), (*pin)?)))
            .collect(),
        ..team
    };
    Ok((dir, team, mappings, previous))
}

pub(crate) async fn members(
    state: &AppState,
    id: &str,
    team_id: &str,
) -> Result<Vec<teams::views::TeamMember>, AdminError> {
    let mut conn = state.pool.acquire().await?;
    let dir = existing(&mut *conn, id).await?;
    let (team, _) = find(&mut conn, dir, team_id).await?;
    Ok(teams::views::team_members(&mut *conn, team.id).await?)
}

/// Refuses a manual membership change where the identity provider owns team membership.
fn owned_by_provider(mapping: &TeamMapping) -> Result<(), AdminError> {
    if !mapping.owns_membership() {
        return Ok(());
    }
    Err(AdminError::Conflict(format!(
        "team membership in this directory is owned by its identity provider (team mode {}): \
         change the person's groups{} there, or switch to mapped mode \
         (scimctl directory team-mapping --mode mapped) to manage members by hand",
        mapping.mode(),
        match mapping {
            TeamMapping::Attribute { .. } => " or team attribute",
            _ => "",
        }
    )))
}

/// Adds a member by hand (suspended while the member is not active); provisioning
/// never removes such a membership. Announced when it puts the member in the team.
pub(crate) async fn add_member(
    state: &AppState,
    actor: &Actor,
    id: &str,
    team_id: &str,
    body: NewMember,
) -> Result<AddedMember, AdminError> {
    let email = body.email.trim();
    check_email(email).map_err(AdminError::Invalid)?;
    let mut tx = state.pool.begin().await?;
    let summary = locked(&mut tx, id).await?;
    owned_by_provider(&summary.team_mapping)?;
    let dir = summary.directory.id;
    let (team, _) = find(&mut tx, dir, team_id).await?;
    let member = teams::membership::member_by_email(&mut tx, dir, email).await?;
    let current = teams::membership::memberships(&mut tx, &[member.id]).await?;
    let was_in = current.iter().any(|m| m.team == team.id && !m.suspended);
    let row = Membership {
        team: team.id,
        member: member.id,
        source: Source::Manual,
        via: Vec::new(),
        via_groups: Vec::new(),
        grant: None,
        suspended: member.status != MemberStatus::Active,
    };
    teams::membership::write_memberships(&mut tx, std::slice::from_ref(&row), &[]).await?;
    let details = json!({"team": team.name, "email": email});
    if !was_in && !row.suspended {
        let version = team_version(&mut tx, team.id).await?;
        let change = Change {
            team: team.id,
            member,
            added: true,
            cause: Cause::manual(),
        };
        let event = member_event(dir, (team.id, &team.name), version, &change);
        record(&mut tx, state, actor, dir, event, details.clone()).await?;
    } else {
        scim_store::audit::record(&mut *tx, &actor.0, "team.member_added", Some(dir), &details)
            .await?;
    }
    tx.commit().await?;
    Ok(AddedMember {
        team: team.id,
        email: email.to_owned(),
        source: scim_admin_api::Source::Manual,
        suspended: row.suspended,
    })
}
