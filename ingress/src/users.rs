//! `/Users` (RFC 7644 §3): handlers validate, then write the change and its outbox
//! event in one statement, and answer only after it committed.

use axum::Router;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use scim_shared::ScimError;
use scim_shared::controls::{check_domains, over_capacity};
use scim_shared::db::directories::{self, Controls};
use scim_shared::db::users::{self, NewUser, StoredUser};
use scim_shared::event::{Action, Event, ResourceType, previous_values};
use scim_shared::filter::sql::USERS;
use scim_shared::patch;
use scim_shared::schema::{ResourceSchema, USER};
use scim_shared::user::{Meta, User};
use serde_json::Value;
use std::collections::HashMap;
use uuid::Uuid;

use crate::AppState;
use crate::auth::DirectoryId;
use crate::error::{ApiError, user_name_taken};
use crate::etag;
use crate::extract::{ScimJson, scim};
use crate::group_commit::Outcome;
use crate::list::{ListQuery, Listed, list, search};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/scim/v2/{directory_id}/Users",
            get(list::<Users>).post(create),
        )
        .route(
            "/scim/v2/{directory_id}/Users/.search",
            post(search::<Users>),
        )
        .route(
            "/scim/v2/{directory_id}/Users/{id}",
            get(fetch).put(replace).patch(modify).delete(remove),
        )
}

pub(crate) fn representation(
    state: &AppState,
    directory: Uuid,
    stored: &StoredUser,
) -> (Value, String) {
    let meta = Meta {
        created: stored.created,
        last_modified: stored.last_modified,
        location: format!("{}/Users/{}", state.base_url(directory), stored.id),
        version: stored.version,
    };
    let mut resource = stored.user.to_resource(&stored.id.to_string(), &meta);
    if !stored.groups.is_empty() {
        let groups_url = format!("{}/Groups", state.base_url(directory));
        resource["groups"] = stored
            .groups
            .iter()
            .map(|g| {
                serde_json::json!({
                    "value": g.id.to_string(),
                    "display": g.display,
                    "type": "direct",
                    "$ref": format!("{groups_url}/{}", g.id),
                })
            })
            .collect();
    }
    (resource, meta.etag())
}

/// An unknown or malformed id is simply not found in this directory.
fn user_id(params: &HashMap<String, String>) -> Result<Uuid, ApiError> {
    params
        .get("id")
        .and_then(|id| Uuid::try_parse(id).ok())
        .ok_or_else(not_found)
}

fn not_found() -> ApiError {
    ScimError::NotFound("no such user in this directory".into()).into()
}

async fn create(
    State(state): State<AppState>,
    Extension(DirectoryId(directory)): Extension<DirectoryId>,
    Extension(controls): Extension<Controls>,
    ScimJson(body): ScimJson,
) -> Result<Response, ApiError> {
    let mut user = User::from_request(body)?;
    if !user.has_active() {
        // Stored explicitly, so the representation says what the member's state is.
        user.set_active(true);
    }
    check_domains(&user, None, &controls.trusted_domains)?;
    let stored = StoredUser::new(user);
    let (resource, etag) = representation(&state, directory, &stored);
    let event = Event::new(
        directory,
        ResourceType::User,
        stored.id,
        Action::Created,
        stored.version,
        resource.clone(),
        None,
    );
    let outcome = if controls.seat_limit.is_some() && stored.user.active() {
        create_within_seats(&state, directory, &stored, &event).await?
    } else {
        state.creates.create(directory, stored, event).await?
    };
    if outcome == Outcome::Conflict {
        return Err(user_name_taken());
    }
    let mut res = scim(StatusCode::CREATED, &resource, Some(etag));
    if let Some(location) = resource["meta"]["location"]
        .as_str()
        .and_then(|l| l.parse().ok())
    {
        res.headers_mut().insert(header::LOCATION, location);
    }
    Ok(res)
}

/// Creates an active user in a directory with a seat limit: alone, after counting the
/// seats in use with the directory locked, so concurrent creates cannot overshoot.
async fn create_within_seats(
    state: &AppState,
    directory: Uuid,
    user: &StoredUser,
    event: &Event,
) -> Result<Outcome, ApiError> {
    let mut tx = state.pool.begin().await?;
    take_seat(&mut tx, directory).await?;
    let row = NewUser {
        directory_id: directory,
        user,
        event,
    };
    let created = users::insert_many(&mut *tx, std::slice::from_ref(&row)).await?;
    tx.commit().await?;
    Ok(if created.first() == Some(&true) {
        Outcome::Created
    } else {
        Outcome::Conflict
    })
}

/// Refuses an activation past the directory's seat limit. The directory stays locked
/// until `conn`'s transaction ends, so concurrent activations are counted in turn.
async fn take_seat(conn: &mut sqlx::PgConnection, directory: Uuid) -> Result<(), ApiError> {
    match directories::seats_locked(conn, directory).await? {
        Some((limit, in_use)) if in_use >= limit => Err(over_capacity(limit, in_use).into()),
        _ => Ok(()),
    }
}

async fn fetch(
    State(state): State<AppState>,
    Extension(DirectoryId(directory)): Extension<DirectoryId>,
    Path(params): Path<HashMap<String, String>>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let projection = ListQuery::projection(&USER, &query)?;
    let stored = users::get(&state.pool, directory, user_id(&params)?)
        .await?
        .ok_or_else(not_found)?;
    let (mut resource, etag) = representation(&state, directory, &stored);
    if etag::not_modified(&headers, stored.version) {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response());
    }
    projection.apply(&mut resource);
    Ok(scim(StatusCode::OK, &resource, Some(etag)))
}

/// The users resource type, for the list handlers.
pub struct Users;

impl Listed for Users {
    const SCHEMA: &'static ResourceSchema = &USER;

    /// The total number of matching users and the page at `offset`, rendered and projected.
    async fn page(
        state: &AppState,
        directory: Uuid,
        query: &ListQuery,
        offset: i64,
        count: i64,
    ) -> Result<(i64, Vec<Value>), ApiError> {
        let (condition, order) = query.sql(&USERS)?;
        let (total, page) = users::list(
            &state.pool,
            directory,
            condition.as_ref(),
            &order,
            offset,
            count,
        )
        .await?;
        let resources = page
            .iter()
            .map(|u| {
                let mut resource = representation(state, directory, u).0;
                query.projection.apply(&mut resource);
                resource
            })
            .collect();
        Ok((total, resources))
    }
}

/// PUT replaces the user. Okta's wizard-built apps send PUT for every change, often
/// without `active`: an omitted `active` keeps the current state rather than silently
/// deactivating or reactivating the user.
async fn replace(
    State(state): State<AppState>,
    Extension(DirectoryId(directory)): Extension<DirectoryId>,
    Extension(controls): Extension<Controls>,
    Path(params): Path<HashMap<String, String>>,
    headers: HeaderMap,
    ScimJson(body): ScimJson,
) -> Result<Response, ApiError> {
    let id = user_id(&params)?;
    let new = User::from_request(body)?;
    let stored = update_with(&state, directory, &controls, id, &headers, |existing| {
        let mut new = new.clone();
        if !new.has_active() && existing.has_active() {
            new.set_active(existing.active());
        }
        Ok(new)
    })
    .await?;
    Ok(updated(&state, directory, &stored))
}

async fn modify(
    State(state): State<AppState>,
    Extension(DirectoryId(directory)): Extension<DirectoryId>,
    Extension(controls): Extension<Controls>,
    Path(params): Path<HashMap<String, String>>,
    headers: HeaderMap,
    ScimJson(body): ScimJson,
) -> Result<Response, ApiError> {
    let id = user_id(&params)?;
    let operations = patch::parse_request(body)?;
    let stored = update_with(&state, directory, &controls, id, &headers, |existing| {
        patch::apply(existing, &operations)
    })
    .await?;
    Ok(updated(&state, directory, &stored))
}

/// 200 with the user as it now is.
fn updated(state: &AppState, directory: Uuid, stored: &StoredUser) -> Response {
    let (resource, etag) = representation(state, directory, stored);
    scim(StatusCode::OK, &resource, Some(etag))
}

/// Optimistic writes retried this often before the client is told to retry (503).
const WRITE_ATTEMPTS: usize = 5;

/// Reads the user, computes its new state with `change`, and writes it with its event
/// unless someone changed the user in between, in which case it starts over (an
/// `If-Match` the user no longer satisfies then fails with 412). A change
/// that changes nothing writes nothing: no new version, no event. The directory's
/// controls apply: new email addresses must be on its trusted domains, and a
/// reactivation needs a free seat.
async fn update_with(
    state: &AppState,
    directory: Uuid,
    controls: &Controls,
    id: Uuid,
    headers: &HeaderMap,
    change: impl Fn(&User) -> Result<User, ScimError>,
) -> Result<StoredUser, ApiError> {
    for _ in 0..WRITE_ATTEMPTS {
        let existing = users::get(&state.pool, directory, id)
            .await?
            .ok_or_else(not_found)?;
        etag::check_if_match(headers, existing.version)?;
        let new = change(&existing.user)?;
        if new == existing.user {
            return Ok(existing);
        }
        check_domains(&new, Some(&existing.user), &controls.trusted_domains)?;
        let next = existing.next(new);
        let (resource, _) = representation(state, directory, &next);
        let action = Action::for_update(existing.user.active(), next.user.active());
        let previous = previous_values(existing.user.attrs(), next.user.attrs());
        let event = Event::new(
            directory,
            ResourceType::User,
            id,
            action,
            next.version,
            resource,
            Some(previous),
        );
        let written = if action == Action::Reactivated && controls.seat_limit.is_some() {
            let mut tx = state.pool.begin().await?;
            take_seat(&mut tx, directory).await?;
            let written = users::update(&mut *tx, directory, &next, &event).await?;
            tx.commit().await?;
            written
        } else {
            users::update(&state.pool, directory, &next, &event).await?
        };
        if written {
            return Ok(next);
        }
    }
    Err(ApiError::Contention)
}

async fn remove(
    State(state): State<AppState>,
    Extension(DirectoryId(directory)): Extension<DirectoryId>,
    Path(params): Path<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = user_id(&params)?;
    for _ in 0..WRITE_ATTEMPTS {
        let last = users::get(&state.pool, directory, id)
            .await?
            .ok_or_else(not_found)?;
        etag::check_if_match(&headers, last.version)?;
        let (resource, _) = representation(&state, directory, &last);
        // The deletion takes the next version number.
        let event = Event::new(
            directory,
            ResourceType::User,
            id,
            Action::Deleted,
            last.version + 1,
            resource,
            None,
        );
        let mut tx = state.pool.begin().await?;
        if users::delete(&mut tx, directory, id, last.version, &event).await? {
            tx.commit().await?;
            return Ok(StatusCode::NO_CONTENT.into_response());
        }
    }
    Err(ApiError::Contention)
}
