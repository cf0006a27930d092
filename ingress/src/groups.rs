//! `/Groups` (RFC 7644 §3): each write is one transaction that locks the group, applies
//! membership changes with set-based SQL, and records the events, so a 256-member add
//! costs a handful of statements, not one round trip per member.

use axum::Router;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use scim_core::ScimError;
use scim_core::filter::sql::GROUPS;
use scim_core::group::patch::{self as group_patch, MemberChange, MemberDelta};
use scim_core::group::{Group, Members, Reference};
use scim_core::patch;
use scim_core::projection::Projection;
use scim_core::schema::{GROUP, ResourceSchema};
use scim_core::user::Meta;
use scim_events::{Action, Event, MEMBER_IDS_PER_EVENT, ResourceType, previous};
use scim_service::telemetry::current_traceparent;
use scim_store::groups::{self, StoredGroup};
use scim_store::outbox;
use serde_json::{Map, Value};
use sqlx::PgConnection;
use std::collections::{BTreeSet, HashMap};
use uuid::Uuid;

use crate::AppState;
use crate::auth::DirectoryId;
use crate::error::ApiError;
use crate::etag;
use crate::extract::{ScimJson, scim};
use crate::list::{ListQuery, Listed, list, search};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/scim/v2/{directory_id}/Groups",
            get(list::<Groups>).post(create),
        )
        .route(
            "/scim/v2/{directory_id}/Groups/.search",
            post(search::<Groups>),
        )
        .route(
            "/scim/v2/{directory_id}/Groups/{id}",
            get(fetch).put(replace).patch(modify).delete(remove),
        )
}

/// Most unknown ids a `400` names; the count says how many there were.
const UNKNOWN_IDS_SHOWN: usize = 20;

fn meta(state: &AppState, directory: Uuid, stored: &StoredGroup) -> Meta {
    Meta {
        created: stored.created,
        last_modified: stored.last_modified,
        location: format!("{}/Groups/{}", state.base_url(directory), stored.id),
        version: stored.version,
    }
}

/// The group's representation, with `members` when they are given (with their
/// `display` when the projection asks for it).
pub(crate) fn representation(
    state: &AppState,
    directory: Uuid,
    stored: &StoredGroup,
    members: Option<&[Reference]>,
    projection: &Projection,
) -> Value {
    let users_url = format!("{}/Users", state.base_url(directory));
    let members = members.map(|list| Members {
        list,
        users_url: &users_url,
        display: projection.requests("members", "display"),
    });
    stored.group.to_resource(
        &stored.id.to_string(),
        &meta(state, directory, stored),
        members.as_ref(),
    )
}

fn group_id(params: &HashMap<String, String>) -> Result<Uuid, ApiError> {
    params
        .get("id")
        .and_then(|id| Uuid::try_parse(id).ok())
        .ok_or_else(not_found)
}

fn not_found() -> ApiError {
    ScimError::NotFound("no such group in this directory".into()).into()
}

/// The members of one group, loaded only when the response returns them.
async fn members_if(
    db: &mut PgConnection,
    directory: Uuid,
    group: Uuid,
    projection: &Projection,
) -> Result<Option<Vec<Reference>>, ApiError> {
    if !projection.returns("members") {
        return Ok(None);
    }
    let mut all = groups::members(db, directory, &[group]).await?;
    Ok(Some(all.remove(&group).unwrap_or_default()))
}

/// A response with the group as it now is, projected.
fn respond(
    status: StatusCode,
    state: &AppState,
    directory: Uuid,
    stored: &StoredGroup,
    members: Option<&[Reference]>,
    projection: &Projection,
) -> Response {
    let mut resource = representation(state, directory, stored, members, projection);
    projection.apply(&mut resource);
    scim(
        status,
        &resource,
        Some(meta(state, directory, stored).etag()),
    )
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
    let known = groups::lock_users(conn, directory, &ids).await?;
    if known.len() == ids.len() && unknown.is_empty() {
        return Ok(known);
    }
    let known: std::collections::HashSet<Uuid> = known.into_iter().collect();
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
        groups::remove_members(conn, directory, existing.id, Some(&remove)).await?
    };
    let added = if add.is_empty() {
        Vec::new()
    } else {
        groups::add_members(conn, directory, existing.id, &add).await?
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
                representation(state, directory, &group, None, &Projection::All),
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

async fn create(
    State(state): State<AppState>,
    Extension(DirectoryId(directory)): Extension<DirectoryId>,
    Query(query): Query<HashMap<String, String>>,
    ScimJson(body): ScimJson,
) -> Result<Response, ApiError> {
    let projection = ListQuery::projection(&GROUP, &query)?;
    let (group, members) = Group::from_request(body)?;
    state.check_size("group", group.attrs())?;
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
    let added = groups::add_members(&mut tx, directory, stored.id, &ids).await?;
    let mut steps = vec![Step::Group(Action::Created)];
    steps.extend(member_steps(Action::MembersAdded, &added));
    let (stored, events) = numbered(&state, directory, stored, steps);
    groups::insert(&mut tx, directory, &stored).await?;
    outbox::insert(&mut *tx, &events).await?;
    let members = members_if(&mut tx, directory, stored.id, &projection).await?;
    tx.commit().await?;
    let mut res = respond(
        StatusCode::CREATED,
        &state,
        directory,
        &stored,
        members.as_deref(),
        &projection,
    );
    if let Ok(location) = meta(&state, directory, &stored).location.parse() {
        res.headers_mut().insert(header::LOCATION, location);
    }
    Ok(res)
}

async fn fetch(
    State(state): State<AppState>,
    Extension(DirectoryId(directory)): Extension<DirectoryId>,
    Path(params): Path<HashMap<String, String>>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let projection = ListQuery::projection(&GROUP, &query)?;
    let id = group_id(&params)?;
    let (stored, members) = if projection.returns("members") {
        // Members can be 100,000 rows: read like a list, on the lists' connections, in
        // the directory's turn, within the lists' time limit.
        let _turn = state.quotas.list_turn(directory).await?;
        let mut conn = state.lists.acquire().await?;
        let stored = groups::get(&mut *conn, directory, id)
            .await?
            .ok_or_else(not_found)?;
        let members = if etag::not_modified(&headers, stored.version) {
            None
        } else {
            members_if(&mut conn, directory, stored.id, &projection).await?
        };
        (stored, members)
    } else {
        let stored = groups::get(&state.pool, directory, id).await?;
        (stored.ok_or_else(not_found)?, None)
    };
    if etag::not_modified(&headers, stored.version) {
        let etag = meta(&state, directory, &stored).etag();
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response());
    }
    Ok(respond(
        StatusCode::OK,
        &state,
        directory,
        &stored,
        members.as_deref(),
        &projection,
    ))
}

/// The groups resource type, for the list handlers.
pub struct Groups;

impl Listed for Groups {
    const SCHEMA: &'static ResourceSchema = &GROUP;

    /// The total number of matching groups and the page at `offset`, rendered and
    /// projected; members are loaded (in one query) only when they are returned.
    async fn page(
        state: &AppState,
        directory: Uuid,
        query: &ListQuery,
        offset: i64,
        count: i64,
    ) -> Result<(i64, Vec<Value>), ApiError> {
        let (condition, order) = query.sql(&GROUPS)?;
        let _turn = state.quotas.list_turn(directory).await?;
        let (total, page) = groups::list(
            &state.lists,
            directory,
            condition.as_ref(),
            &order,
            state.page_bounds(offset, count),
        )
        .await?;
        let mut members = if query.projection.returns("members") && !page.is_empty() {
            let ids: Vec<Uuid> = page.iter().map(|g| g.id).collect();
            Some(groups::members(&state.lists, directory, &ids).await?)
        } else {
            None
        };
        let resources = page
            .iter()
            .map(|g| {
                let list = members
                    .as_mut()
                    .map(|m| m.remove(&g.id).unwrap_or_default());
                let mut resource =
                    representation(state, directory, g, list.as_deref(), &query.projection);
                query.projection.apply(&mut resource);
                resource
            })
            .collect();
        Ok((total, resources))
    }
}

/// PUT replaces the group's attributes and, when the body has `members`, its whole
/// member list (Okta's wizard-built apps push membership this way).
async fn replace(
    State(state): State<AppState>,
    Extension(DirectoryId(directory)): Extension<DirectoryId>,
    Path(params): Path<HashMap<String, String>>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    ScimJson(body): ScimJson,
) -> Result<Response, ApiError> {
    let projection = ListQuery::projection(&GROUP, &query)?;
    let id = group_id(&params)?;
    let (new, members) = Group::from_request(body)?;
    let changes: Vec<MemberChange> = members.map(MemberChange::Replace).into_iter().collect();
    let (stored, members) = update_with(&state, directory, id, &headers, Some(&projection), |_| {
        Ok((new, changes))
    })
    .await?;
    Ok(respond(
        StatusCode::OK,
        &state,
        directory,
        &stored,
        members.as_deref(),
        &projection,
    ))
}

/// PATCH answers `204 No Content`, as Okta and Entra document for groups (RFC 7644
/// §3.5.2 allows it), so a membership change never renders a large group; with
/// `attributes` or `excludedAttributes` it answers 200 with the projected group.
async fn modify(
    State(state): State<AppState>,
    Extension(DirectoryId(directory)): Extension<DirectoryId>,
    Path(params): Path<HashMap<String, String>>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    ScimJson(body): ScimJson,
) -> Result<Response, ApiError> {
    let projection = ListQuery::projection(&GROUP, &query)?;
    let id = group_id(&params)?;
    let operations = patch::parse_request(body)?;
    let render = projection != Projection::All;
    let (stored, members) = update_with(
        &state,
        directory,
        id,
        &headers,
        render.then_some(&projection),
        |group| group_patch::apply(group, &operations),
    )
    .await?;
    if !render {
        let etag = meta(&state, directory, &stored).etag();
        return Ok((StatusCode::NO_CONTENT, [(header::ETAG, etag)]).into_response());
    }
    Ok(respond(
        StatusCode::OK,
        &state,
        directory,
        &stored,
        members.as_deref(),
        &projection,
    ))
}

/// Locks the group, checks `If-Match`, computes its new attributes and membership
/// steps with `change`, and writes them in one transaction. Returns the group as it
/// now is and, when a `projection` returns them, its members.
async fn update_with(
    state: &AppState,
    directory: Uuid,
    id: Uuid,
    headers: &HeaderMap,
    projection: Option<&Projection>,
    change: impl FnOnce(&Group) -> Result<(Group, Vec<MemberChange>), ScimError>,
) -> Result<(StoredGroup, Option<Vec<Reference>>), ApiError> {
    let mut tx = state.pool.begin().await?;
    let existing = groups::lock(&mut tx, directory, id)
        .await?
        .ok_or_else(not_found)?;
    etag::check_if_match(headers, existing.version)?;
    let (new, changes) = change(&existing.group)?;
    state.check_size("group", new.attrs())?;
    let current = if group_patch::needs_current(&changes) {
        let ids = groups::member_ids(&mut *tx, directory, id).await?;
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
    let members = match projection {
        Some(p) => members_if(&mut tx, directory, id, p).await?,
        None => None,
    };
    tx.commit().await?;
    Ok((stored, members))
}

/// DELETE emits `members_removed` for everyone who was in the group, then
/// `group.deleted`, so subscribers (and the worker) learn who left.
async fn remove(
    State(state): State<AppState>,
    Extension(DirectoryId(directory)): Extension<DirectoryId>,
    Path(params): Path<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = group_id(&params)?;
    let mut tx = state.pool.begin().await?;
    let existing = groups::lock(&mut tx, directory, id)
        .await?
        .ok_or_else(not_found)?;
    etag::check_if_match(&headers, existing.version)?;
    let removed = groups::remove_members(&mut tx, directory, id, None).await?;
    groups::delete(&mut tx, directory, id).await?;
    // The deletion's events take the next version numbers.
    let mut steps: Vec<Step> = member_steps(Action::MembersRemoved, &removed).collect();
    steps.push(Step::Group(Action::Deleted));
    let next = existing.next(existing.group.clone());
    let (_, events) = numbered(&state, directory, next, steps);
    outbox::insert(&mut *tx, &events).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
