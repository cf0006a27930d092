//! `/Groups` (RFC 7644 §3): each handler extracts the request, calls a command
//! ([`crate::commands::groups`]) and renders what it returns, projected.

use axum::Router;
use axum::extract::{Path, Query};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use scim_core::filter::sql::GROUPS;
use scim_core::group::{Group, Reference};
use scim_core::patch;
use scim_core::projection::Projection;
use scim_core::schema::{GROUP, ResourceSchema};
use scim_store::groups::{self, StoredGroup};
use scim_store::memberships;
use serde_json::Value;
use std::collections::HashMap;
use uuid::Uuid;

use super::list::{ListQuery, Listed, list, search};
use super::resume::{Walk, Walked};
use crate::AppState;
use crate::commands::Scope;
use crate::commands::groups::{self as command, Saved, id, members, not_found};
use crate::error::ApiError;
use crate::etag::{self, IfMatch};
use crate::extract::{ScimJson, scim};
use crate::representation::{self, MemberList};

pub(crate) fn router() -> Router<AppState> {
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

fn path_id(params: &HashMap<String, String>) -> Result<Uuid, ApiError> {
    id(params.get("id").map_or("", String::as_str))
}

/// A response with the group as it now is, projected.
fn respond(
    status: StatusCode,
    scope: &Scope,
    stored: &StoredGroup,
    members: Option<&[Reference]>,
    projection: &Projection,
) -> Response {
    let resource = render(scope, stored, members, projection);
    let etag = representation::group_meta(&scope.state, scope.directory, stored).etag();
    scim(status, &resource, Some(etag))
}

/// The group's resource as the directory's identity provider is shown it, projected.
fn render(
    scope: &Scope,
    stored: &StoredGroup,
    members: Option<&[Reference]>,
    projection: &Projection,
) -> Value {
    let members = members.map(|list| MemberList {
        list,
        display: scope.profile.member_display,
    });
    let mut resource =
        representation::group(&scope.state, scope.directory, stored, members, projection);
    projection.apply(&mut resource);
    resource
}

/// [`respond`] with what a command returned.
fn saved(status: StatusCode, scope: &Scope, saved: &Saved, projection: &Projection) -> Response {
    respond(
        status,
        scope,
        &saved.group,
        saved.members.as_deref(),
        projection,
    )
}

async fn create(
    scope: Scope,
    Query(query): Query<HashMap<String, String>>,
    ScimJson(body): ScimJson,
) -> Result<Response, ApiError> {
    let projection = ListQuery::projection(&GROUP, &query)?;
    let (group, members) = Group::from_request(body)?;
    let with_members = projection.returns("members");
    let created = command::create(&scope, group, members, with_members).await?;
    let mut res = saved(StatusCode::CREATED, &scope, &created, &projection);
    let meta = representation::group_meta(&scope.state, scope.directory, &created.group);
    if let Ok(location) = meta.location.parse() {
        res.headers_mut().insert(header::LOCATION, location);
    }
    Ok(res)
}

async fn fetch(
    scope: Scope,
    Path(params): Path<HashMap<String, String>>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (state, directory) = (&scope.state, scope.directory);
    let projection = ListQuery::projection(&GROUP, &query)?;
    let id = path_id(&params)?;
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
            Some(members(&mut conn, directory, stored.id).await?)
        };
        (stored, members)
    } else {
        let stored = groups::get(&state.pool, directory, id).await?;
        (stored.ok_or_else(not_found)?, None)
    };
    if etag::not_modified(&headers, stored.version) {
        let etag = representation::group_meta(state, directory, &stored).etag();
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response());
    }
    Ok(respond(
        StatusCode::OK,
        &scope,
        &stored,
        members.as_deref(),
        &projection,
    ))
}

/// The groups resource type, for the list handlers.
pub(crate) struct Groups;

impl Listed for Groups {
    const SCHEMA: &'static ResourceSchema = &GROUP;

    /// The total number of matching groups and the page at `offset`, rendered and
    /// projected; members are loaded (in one query) only when they are returned.
    async fn page(
        scope: &Scope,
        query: &ListQuery,
        offset: i64,
        count: i64,
    ) -> Result<(i64, Vec<Value>), ApiError> {
        let (state, directory) = (&scope.state, scope.directory);
        let (condition, order) = query.sql(&GROUPS)?;
        let _turn = state.quotas.list_turn(directory).await?;
        let walk = Walk::new(
            &state.walks,
            directory,
            Walked::Groups,
            offset,
            scim_store::resumable(condition.as_ref(), &order),
        );
        let (total, page) = groups::list(
            &state.lists,
            directory,
            condition.as_ref(),
            &order,
            walk.bounds(state.page_bounds(offset, count)),
        )
        .await?;
        walk.served(page.len(), page.last().map(|r| r.id));
        let mut members = if query.projection.returns("members") && !page.is_empty() {
            let ids: Vec<Uuid> = page.iter().map(|g| g.id).collect();
            Some(memberships::of_groups(&state.lists, directory, &ids).await?)
        } else {
            None
        };
        let resources = page
            .iter()
            .map(|g| {
                let list = members
                    .as_mut()
                    .map(|m| m.remove(&g.id).unwrap_or_default());
                render(scope, g, list.as_deref(), &query.projection)
            })
            .collect();
        Ok((total, resources))
    }
}

async fn replace(
    scope: Scope,
    Path(params): Path<HashMap<String, String>>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    ScimJson(body): ScimJson,
) -> Result<Response, ApiError> {
    let projection = ListQuery::projection(&GROUP, &query)?;
    let id = path_id(&params)?;
    let (new, members) = Group::from_request(body)?;
    let if_match = IfMatch::from_headers(&headers);
    let with_members = projection.returns("members");
    let replaced = command::replace(&scope, id, &if_match, new, members, with_members).await?;
    Ok(saved(StatusCode::OK, &scope, &replaced, &projection))
}

/// PATCH answers `204 No Content`, as Okta and Entra document for groups (RFC 7644
/// §3.5.2 allows it), so a membership change never renders a large group; with
/// `attributes` or `excludedAttributes` it answers 200 with the projected group.
async fn modify(
    scope: Scope,
    Path(params): Path<HashMap<String, String>>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    ScimJson(body): ScimJson,
) -> Result<Response, ApiError> {
    let projection = ListQuery::projection(&GROUP, &query)?;
    let id = path_id(&params)?;
    let operations = patch::parse_request(body)?;
    let render = projection != Projection::All;
    let if_match = IfMatch::from_headers(&headers);
    let with_members = render && projection.returns("members");
    let patched = command::patch(&scope, id, &if_match, &operations, with_members).await?;
    if !render {
        let etag = representation::group_meta(&scope.state, scope.directory, &patched.group).etag();
        return Ok((StatusCode::NO_CONTENT, [(header::ETAG, etag)]).into_response());
    }
    Ok(saved(StatusCode::OK, &scope, &patched, &projection))
}

async fn remove(
    scope: Scope,
    Path(params): Path<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    command::delete(&scope, path_id(&params)?, &IfMatch::from_headers(&headers)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
