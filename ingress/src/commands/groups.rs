//! Creating, changing and deleting a group: each write is one transaction that locks
//! the group, applies membership changes with set-based SQL, and records the events,
//! so a 256-member add costs a handful of statements, not one round trip per member.

use scim_core::ScimError;
use scim_core::group::Group;
use scim_core::group::patch::{self as group_patch, MemberChange, MemberDelta};
use scim_core::patch::Operation;
use scim_events::{Action, Event, MEMBER_IDS_PER_EVENT, ResourceType, previous};
use scim_service::telemetry::current_traceparent;
use scim_store::groups::{self, StoredGroup};
use scim_store::{memberships, outbox};
use serde_json::{Map, Value};
use sqlx::PgConnection;
use std::collections::{BTreeSet, HashSet};
use uuid::Uuid;

use super::Scope;
use crate::AppState;
use crate::error::ApiError;
use crate::etag::IfMatch;
use crate::representation;

/// Most unknown ids a `400` names; the count says how many there were.
const UNKNOWN_IDS_SHOWN: usize = 20;

/// A group id from a path: an unknown or malformed id is simply not found in this
/// directory.
pub(crate) fn id(text: &str) -> Result<Uuid, ApiError> {
    Uuid::try_parse(text).map_err(|_| not_found())
}

pub(crate) fn not_found() -> ApiError {
    ScimError::NotFound("no such group in this directory".into()).into()
}

/// The user ids that members named, checked to be users of this directory and locked
/// against deletion until the transaction ends; anything else (unknown or malformed
/// ids) is `400 invalidValue` naming them.
async fn known_users(
    conn: &mut PgConnection,
    directory: Uuid,
    values: &BTreeSet<String>,
) -> Result<Vec<Uuid>, ApiError> {
    // A rename or a removal adds nobody: no lock, no lookup.
    if values.is_empty() {
        return Ok(Vec::new());
    }
    let mut ids = Vec::with_capacity(values.len());
    let mut unknown: Vec<String> = Vec::new();
    for v in values {
        match Uuid::try_parse(v) {
            Ok(id) => ids.push(id),
            Err(_) => unknown.push(v.clone()),
        }
    }
    ids.sort();
    ids.dedup();
    let known = memberships::lock_users(conn, directory, &ids).await?;
    if known.len() == ids.len() && unknown.is_empty() {
        return Ok(known);
    }
    let known: HashSet<Uuid> = known.into_iter().collect();
    unknown.extend(
        ids.iter()
            .filter(|id| !known.contains(id))
            .map(Uuid::to_string),
    );
    let shown: Vec<&str> = unknown
        .iter()
        .take(UNKNOWN_IDS_SHOWN)
        .map(String::as_str)
        .collect();
    Err(ScimError::invalid_value(format!(
        "{} member id(s) are not users of this directory: {}{}",
        unknown.len(),
        shown.join(", "),
        if unknown.len() > shown.len() {
            ", …"
        } else {
            ""
        }
    ))
    .into())
}

/// One event of a change to a group.
enum Step {
    /// `group.created`, `group.deleted`: about the group itself.
    Group(Action),
    /// `group.updated`, with the previous values of what changed.
    Updated(Map<String, Value>),
    /// `group.members_added`/`members_removed`, with the ids.
    Members(Action, Vec<Uuid>),
}

/// `members_added`/`members_removed` steps for `ids`, at most
/// [`MEMBER_IDS_PER_EVENT`] ids each.
fn member_steps(action: Action, ids: &[Uuid]) -> impl Iterator<Item = Step> + '_ {
    ids.chunks(MEMBER_IDS_PER_EVENT)
        .map(move |chunk| Step::Members(action, chunk.to_vec()))
}

/// The events of one change to a group, the first at `group`'s version and each of
/// the others at the next: a subscriber that keeps the highest `resource_version` it
/// applied (docs/events.md) misses none of them. Returns the group at the last version
/// with them. A group event's resource never lists members (a group may have 100,000):
/// membership events carry their ids.
fn numbered(
    state: &AppState,
    directory: Uuid,
    mut group: StoredGroup,
    steps: Vec<Step>,
) -> (StoredGroup, Vec<Event>) {
    let mut events = Vec::with_capacity(steps.len());
    for (i, step) in steps.into_iter().enumerate() {
        if i > 0 {
            group.version += 1;
        }
        let event = |action| {
            Event::new(
                directory,
                ResourceType::Group,
                group.id,
                action,
                group.version,
                representation::group(state, directory, &group),
                None,
            )
            .traced(current_traceparent())
        };
        events.push(match step {
            Step::Group(action) => event(action),
            Step::Updated(previous) => event(Action::Updated).with_previous(previous),
            Step::Members(action, ids) => event(action).with_member_ids(ids),
        });
    }
    (group, events)
}

/// Creates the group with the members it names (users of this directory, or `400`).
pub(crate) async fn create(
    scope: &Scope,
    group: Group,
    members: Option<Vec<String>>,
) -> Result<StoredGroup, ApiError> {
    let (state, directory) = (&scope.state, scope.directory);
    state.check_group_size(&group)?;
    let stored = StoredGroup::new(group);
    let mut tx = state.pool.begin().await?;
    let ids = known_users(
        &mut tx,
        directory,
        &members.unwrap_or_default().into_iter().collect(),
    )
    .await?;
    // Members first (no foreign key ties them to the group row): the group is stored
    // at the version of its last event.
    let added = memberships::add(&mut tx, directory, stored.id, &ids).await?;
    let mut steps = vec![Step::Group(Action::Created)];
    steps.extend(member_steps(Action::MembersAdded, &added));
    let (stored, events) = numbered(state, directory, stored, steps);
    groups::insert(&mut tx, directory, &stored).await?;
    outbox::insert(&mut *tx, &events).await?;
    tx.commit().await?;
    Ok(stored)
}

/// PUT: replaces the group's attributes and, when `members` is given, its whole member
/// list (Okta's wizard-built apps push membership this way).
pub(crate) async fn replace(
    scope: &Scope,
    id: Uuid,
    if_match: &IfMatch,
    new: Group,
    members: Option<Vec<String>>,
) -> Result<StoredGroup, ApiError> {
    let changes: Vec<MemberChange> = members.map(MemberChange::Replace).into_iter().collect();
    update(scope, id, if_match, |_| Ok((new, changes))).await
}

/// PATCH: applies the operations to the group's attributes and members.
pub(crate) async fn patch(
    scope: &Scope,
    id: Uuid,
    if_match: &IfMatch,
    operations: &[Operation],
) -> Result<StoredGroup, ApiError> {
    update(scope, id, if_match, |group| {
        group_patch::apply(group, operations)
    })
    .await
}

/// Locks the group, checks `If-Match`, computes its new attributes and membership
/// steps with `change`, and writes them in one transaction.
async fn update(
    scope: &Scope,
    id: Uuid,
    if_match: &IfMatch,
    change: impl FnOnce(&Group) -> Result<(Group, Vec<MemberChange>), ScimError>,
) -> Result<StoredGroup, ApiError> {
    let (state, directory) = (&scope.state, scope.directory);
    let mut tx = state.pool.begin().await?;
    let existing = groups::lock(&mut tx, directory, id)
        .await?
        .ok_or_else(not_found)?;
    if_match.check(existing.version)?;
    let (new, changes) = change(&existing.group)?;
    state.check_group_size(&new)?;
    let current = if group_patch::needs_current(&changes) {
        let ids = memberships::ids(&mut *tx, directory, id).await?;
        Some(
            ids.iter()
                .map(Uuid::to_string)
                .collect::<BTreeSet<String>>(),
        )
    } else {
        None
    };
    let delta = group_patch::resolve(&changes, current.as_ref())?;
    let stored = write_change(&mut tx, state, directory, existing, new, &delta).await?;
    tx.commit().await?;
    Ok(stored)
}

/// Applies new attributes and a membership delta to a locked group, then records the
/// events: `group.updated` when attributes changed, then `members_added` and
/// `members_removed` with the ids that really changed. A write that changes nothing
/// keeps the version and emits nothing.
async fn write_change(
    conn: &mut PgConnection,
    state: &AppState,
    directory: Uuid,
    existing: StoredGroup,
    new: Group,
    delta: &MemberDelta,
) -> Result<StoredGroup, ApiError> {
    let add = known_users(conn, directory, &delta.add).await?;
    let remove: Vec<Uuid> = delta
        .remove
        .iter()
        .filter_map(|v| Uuid::try_parse(v).ok())
        .collect();
    let removed = if remove.is_empty() {
        Vec::new()
    } else {
        memberships::remove(conn, directory, existing.id, Some(&remove)).await?
    };
    let added = if add.is_empty() {
        Vec::new()
    } else {
        memberships::add(conn, directory, existing.id, &add).await?
    };
    let attrs_changed = new != existing.group;
    if !attrs_changed && added.is_empty() && removed.is_empty() {
        return Ok(existing);
    }
    let mut steps = Vec::new();
    if attrs_changed {
        steps.push(Step::Updated(previous(
            (existing.group.attrs(), existing.group.schemas()),
            (new.attrs(), new.schemas()),
        )));
    }
    steps.extend(member_steps(Action::MembersAdded, &added));
    steps.extend(member_steps(Action::MembersRemoved, &removed));
    let (next, events) = numbered(state, directory, existing.next(new), steps);
    groups::write(conn, directory, &next).await?;
    outbox::insert(&mut *conn, &events).await?;
    Ok(next)
}

/// Deletes the group: `members_removed` for everyone who was in it, then
/// `group.deleted`, so subscribers (and the worker) learn who left.
pub(crate) async fn delete(scope: &Scope, id: Uuid, if_match: &IfMatch) -> Result<(), ApiError> {
    let (state, directory) = (&scope.state, scope.directory);
    let mut tx = state.pool.begin().await?;
    let existing = groups::lock(&mut tx, directory, id)
        .await?
        .ok_or_else(not_found)?;
    if_match.check(existing.version)?;
    let removed = memberships::remove(&mut tx, directory, id, None).await?;
    groups::delete(&mut tx, directory, id).await?;
    // The deletion's events take the next version numbers.
    let mut steps: Vec<Step> = member_steps(Action::MembersRemoved, &removed).collect();
    steps.push(Step::Group(Action::Deleted));
    let next = existing.next(existing.group.clone());
    let (_, events) = numbered(state, directory, next, steps);
    outbox::insert(&mut *tx, &events).await?;
    tx.commit().await?;
    Ok(())
}
