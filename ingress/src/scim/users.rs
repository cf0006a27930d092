//! `/Users` (RFC 7644 §3): each handler extracts the request, calls a command
//! ([`crate::commands::users`]) and renders what it returns.

use axum::Router;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use scim_core::filter::sql::USERS;
use scim_core::patch;
use scim_core::projection::Projection;
use scim_core::schema::{ResourceSchema, USER};
use scim_core::user::{User, groups_json};
use scim_store::users::{self, StoredText, UserRow};
use std::collections::HashMap;
use uuid::Uuid;

use super::list::{ListQuery, Listed, Page, list, search};
use super::resume::{Walk, Walked};
use crate::AppState;
use crate::auth::DirectoryId;
use crate::commands::Scope;
use crate::commands::users::{self as command, Saved, id, not_found};
use crate::error::ApiError;
use crate::etag::{self, IfMatch};
use crate::extract::{ScimJson, scim, scim_bytes};
use crate::representation;

pub(crate) fn router() -> Router<AppState> {
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

fn path_id(params: &HashMap<String, String>) -> Result<Uuid, ApiError> {
    id(params.get("id").map_or("", String::as_str))
}

/// 200 with the user as a command left it.
fn ok(saved: Saved) -> Response {
    scim(StatusCode::OK, &saved.resource, Some(saved.etag))
}

async fn create(scope: Scope, ScimJson(body): ScimJson) -> Result<Response, ApiError> {
    let saved = command::create(&scope, User::from_request(body)?).await?;
    let location = saved.location().and_then(|l| l.parse().ok());
    let mut res = scim(StatusCode::CREATED, &saved.resource, Some(saved.etag));
    if let Some(location) = location {
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
    let projection = ListQuery::projection(&USER, &query)?;
    let row = state
        .users
        .read_row(directory, path_id(&params)?)
        .await?
        .ok_or_else(not_found)?;
    if projection == Projection::All {
        return write_representation(&state, directory, &row, &headers);
    }
    let stored = row.decode()?;
    let version = stored.version;
    let (mut resource, etag) = representation::user(&state, directory, stored);
    if etag::not_modified(&headers, version) {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response());
    }
    projection.apply(&mut resource);
    Ok(scim(StatusCode::OK, &resource, Some(etag)))
}

/// The whole user written straight from the stored text, with its ETag, or `304` when
/// the client has this version.
fn write_representation(
    state: &AppState,
    directory: Uuid,
    row: &UserRow,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let StoredText { attrs, head } = row.text()?;
    let meta = representation::user_meta(
        state,
        directory,
        head.id,
        head.version,
        head.created,
        head.last_modified,
    );
    let etag = meta.etag();
    if etag::not_modified(headers, head.version) {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response());
    }
    let groups = (!head.groups.is_empty())
        .then(|| groups_json(&head.groups, &representation::groups_url(state, directory)));
    let mut body = Vec::with_capacity(1024);
    attrs
        .write_resource(&mut body, &head.id.to_string(), &meta, groups.as_ref())
        .map_err(|e| ApiError::Internal(format!("writing a user: {e}")))?;
    Ok(scim_bytes(StatusCode::OK, body, Some(etag)))
}

/// The users resource type, for the list handlers.
pub(crate) struct Users;

impl Listed for Users {
    const SCHEMA: &'static ResourceSchema = &USER;

    async fn page(
        scope: &Scope,
        query: &ListQuery,
        offset: i64,
        count: i64,
    ) -> Result<Page, ApiError> {
        let (state, directory) = (&scope.state, scope.directory);
        let (condition, order) = query.sql(&USERS)?;
        let _turn = state.quotas.list_turn(directory).await?;
        let walk = Walk::new(
            &state.walks,
            directory,
            Walked::Users,
            offset,
            condition.as_ref(),
            &order,
        );
        let (total, page) = users::list(
            &state.lists,
            directory,
            condition.as_ref(),
            &order,
            walk.bounds(state.page_bounds(offset, count)),
        )
        .await?;
        walk.served(page.len(), page.last().map(|r| r.id), total);
        let resources = page
            .into_iter()
            .map(|u| {
                let mut resource = representation::user(state, directory, u).0;
                query.projection.apply(&mut resource);
                resource
            })
            .collect();
        Ok(Page {
            total,
            resources,
            members: None,
        })
    }
}

async fn replace(
    scope: Scope,
    Path(params): Path<HashMap<String, String>>,
    headers: HeaderMap,
    ScimJson(body): ScimJson,
) -> Result<Response, ApiError> {
    let id = path_id(&params)?;
    let new = User::from_request(body)?;
    let if_match = IfMatch::from_headers(&headers);
    Ok(ok(command::replace(&scope, id, &if_match, new).await?))
}

async fn modify(
    scope: Scope,
    Path(params): Path<HashMap<String, String>>,
    headers: HeaderMap,
    ScimJson(body): ScimJson,
) -> Result<Response, ApiError> {
    let id = path_id(&params)?;
    let operations = patch::parse_request(body)?;
    let if_match = IfMatch::from_headers(&headers);
    Ok(ok(command::patch(&scope, id, &if_match, &operations).await?))
}

async fn remove(
    scope: Scope,
    Path(params): Path<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    command::delete(&scope, path_id(&params)?, &IfMatch::from_headers(&headers)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
