//! `/Users` (RFC 7644 §3): handlers validate, then write the change and its outbox
//! event in one transaction, and answer only after the commit.

use axum::Router;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use scim_shared::ScimError;
use scim_shared::db::outbox;
use scim_shared::db::users::{self, StoredUser};
use scim_shared::event::{Action, Event, ResourceType, previous_values};
use scim_shared::filter::sql::compile_user_filter;
use scim_shared::patch;
use scim_shared::user::{Meta, User};
use serde_json::Value;
use sqlx::PgConnection;
use std::collections::HashMap;
use uuid::Uuid;

use crate::AppState;
use crate::auth::DirectoryId;
use crate::error::ApiError;
use crate::extract::{ScimJson, scim};
use crate::list::{ListQuery, list_response};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/scim/v2/{directory_id}/Users", get(list).post(create))
        .route(
            "/scim/v2/{directory_id}/Users/{id}",
            get(fetch).put(replace).patch(modify).delete(remove),
        )
}

fn representation(state: &AppState, directory: Uuid, stored: &StoredUser) -> (Value, String) {
    let meta = Meta {
        created: stored.created,
        last_modified: stored.last_modified,
        location: format!("{}/Users/{}", state.base_url(directory), stored.id),
        version: stored.version,
    };
    (
        stored.user.to_resource(&stored.id.to_string(), &meta),
        meta.etag(),
    )
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
    ScimJson(body): ScimJson,
) -> Result<Response, ApiError> {
    let user = User::from_request(body)?;
    let mut tx = state.pool.begin().await?;
    let stored = users::insert(&mut tx, directory, &user).await?;
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
    outbox::enqueue(&mut *tx, &event).await?;
    tx.commit().await?;
    let mut res = scim(StatusCode::CREATED, &resource, Some(etag));
    if let Some(location) = resource["meta"]["location"]
        .as_str()
        .and_then(|l| l.parse().ok())
    {
        res.headers_mut().insert(header::LOCATION, location);
    }
    Ok(res)
}

async fn fetch(
    State(state): State<AppState>,
    Extension(DirectoryId(directory)): Extension<DirectoryId>,
    Path(params): Path<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let stored = users::get(&state.pool, directory, user_id(&params)?)
        .await?
        .ok_or_else(not_found)?;
    let (resource, etag) = representation(&state, directory, &stored);
    Ok(scim(StatusCode::OK, &resource, Some(etag)))
}

async fn list(
    State(state): State<AppState>,
    Extension(DirectoryId(directory)): Extension<DirectoryId>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let query = ListQuery::parse(&params)?;
    let condition = query
        .filter
        .as_ref()
        .map(|f| compile_user_filter(f, 2))
        .transpose()?;
    let (total, page) = users::list(
        &state.pool,
        directory,
        condition.as_ref(),
        query.offset(),
        query.count,
    )
    .await?;
    let resources = page
        .iter()
        .map(|u| representation(&state, directory, u).0)
        .collect();
    Ok(scim(
        StatusCode::OK,
        &list_response(total, query.start_index, resources),
        None,
    ))
}

/// PUT replaces the user. Okta's wizard-built apps send PUT for every change, often
/// without `active`: an omitted `active` keeps the current state rather than silently
/// deactivating or reactivating the user.
async fn replace(
    State(state): State<AppState>,
    Extension(DirectoryId(directory)): Extension<DirectoryId>,
    Path(params): Path<HashMap<String, String>>,
    ScimJson(body): ScimJson,
) -> Result<Response, ApiError> {
    let id = user_id(&params)?;
    let mut new = User::from_request(body)?;
    let mut tx = state.pool.begin().await?;
    let existing = users::get_for_update(&mut tx, directory, id)
        .await?
        .ok_or_else(not_found)?;
    if !new.has_active() && existing.user.has_active() {
        new.set_active(existing.user.active());
    }
    let stored = record_update(&state, &mut tx, directory, existing, new).await?;
    tx.commit().await?;
    let (resource, etag) = representation(&state, directory, &stored);
    Ok(scim(StatusCode::OK, &resource, Some(etag)))
}

async fn modify(
    State(state): State<AppState>,
    Extension(DirectoryId(directory)): Extension<DirectoryId>,
    Path(params): Path<HashMap<String, String>>,
    ScimJson(body): ScimJson,
) -> Result<Response, ApiError> {
    let id = user_id(&params)?;
    let operations = patch::parse_request(body)?;
    let mut tx = state.pool.begin().await?;
    let existing = users::get_for_update(&mut tx, directory, id)
        .await?
        .ok_or_else(not_found)?;
    let new = patch::apply(&existing.user, &operations)?;
    let stored = record_update(&state, &mut tx, directory, existing, new).await?;
    tx.commit().await?;
    let (resource, etag) = representation(&state, directory, &stored);
    Ok(scim(StatusCode::OK, &resource, Some(etag)))
}

/// Writes `new` over the locked `existing` user with its event. A change that changes
/// nothing writes nothing: no new version, no event.
async fn record_update(
    state: &AppState,
    tx: &mut PgConnection,
    directory: Uuid,
    existing: StoredUser,
    new: User,
) -> Result<StoredUser, ApiError> {
    if existing.user == new {
        return Ok(existing);
    }
    let stored = users::update(tx, directory, existing.id, &new).await?;
    let (resource, _) = representation(state, directory, &stored);
    let action = Action::for_update(existing.user.active(), stored.user.active());
    let previous = previous_values(existing.user.attrs(), stored.user.attrs());
    let event = Event::new(
        directory,
        ResourceType::User,
        stored.id,
        action,
        stored.version,
        resource,
        Some(previous),
    );
    outbox::enqueue(&mut *tx, &event).await?;
    Ok(stored)
}

async fn remove(
    State(state): State<AppState>,
    Extension(DirectoryId(directory)): Extension<DirectoryId>,
    Path(params): Path<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let id = user_id(&params)?;
    let mut tx = state.pool.begin().await?;
    let last = users::delete(&mut tx, directory, id)
        .await?
        .ok_or_else(not_found)?;
    let (resource, _) = representation(&state, directory, &last);
    let event = Event::new(
        directory,
        ResourceType::User,
        id,
        Action::Deleted,
        last.version,
        resource,
        None,
    );
    outbox::enqueue(&mut *tx, &event).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
