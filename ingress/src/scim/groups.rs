//! `/Groups` (RFC 7644 §3): each handler extracts the request, calls a command
//! ([`crate::commands::groups`]) and renders what it returns, projected.

use axum::Router;
use axum::extract::{Path, Query};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use scim_core::filter::sql::GROUPS;
use scim_core::group::{Group, MemberShape};
use scim_core::patch;
use scim_core::projection::Projection;
use scim_core::schema::{GROUP, ResourceSchema};
use scim_store::groups::{self, StoredGroup};
use serde_json::Value;
use std::collections::HashMap;
use uuid::Uuid;

use super::list::{ListQuery, Listed, Page, list, search};
use super::members::{self, Members};
use super::resume::{Walk, Walked};
use crate::AppState;
use crate::commands::Scope;
use crate::commands::groups::{self as command, id, not_found};
use crate::error::ApiError;
use crate::etag::{self, IfMatch};
use crate::extract::ScimJson;
use crate::representation;

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

/// How this directory's responses show each member, or `None` when the projection
/// leaves them out.
fn shape(scope: &Scope, projection: &Projection) -> Option<MemberShape> {
    representation::member_shape(
        &scope.state,
        scope.directory,
        scope.profile.member_display,
        projection,
    )
}

/// The group's resource as the directory's identity provider is shown it, projected,
/// with a hole for its members when a response shows them.
fn render(
    scope: &Scope,
    stored: &StoredGroup,
    projection: &Projection,
    members: Option<&mut Members>,
) -> Value {
    let mut resource = representation::group(&scope.state, scope.directory, stored);
    projection.apply(&mut resource);
    if let Some(members) = members {
        members.punch(&mut resource, stored);
    }
    resource
}

/// Whoever shows a group's members reads them like a list, in the directory's turn: a
/// group can have 100,000. `None` when the projection leaves them out. A write takes
/// its turn before it writes: a directory out of turns is answered 429 with nothing
/// written.
async fn members_shown(
    scope: &Scope,
    projection: &Projection,
) -> Result<Option<Members>, ApiError> {
    let Some(shape) = shape(scope, projection) else {
        return Ok(None);
    };
    let state = &scope.state;
    let turn = state.quotas.list_turn(scope.directory).await?;
    Ok(Some(Members::read(
        shape,
        &state.lists,
        scope.directory,
        turn,
    )))
}

/// A response with the group as a command left it, projected, its members (when shown)
/// read after the write committed, at the version it wrote.
fn saved(
    status: StatusCode,
    scope: &Scope,
    group: &StoredGroup,
    projection: &Projection,
    mut members: Option<Members>,
) -> Response {
    let resource = render(scope, group, projection, members.as_mut());
    let etag = representation::group_meta(&scope.state, scope.directory, group).etag();
    members::respond(status, &resource, Some(etag), members)
}

async fn create(
    scope: Scope,
    Query(query): Query<HashMap<String, String>>,
    ScimJson(body): ScimJson,
) -> Result<Response, ApiError> {
    let projection = ListQuery::projection(&GROUP, &query)?;
    let (group, members) = Group::from_request(body)?;
    let shown = members_shown(&scope, &projection).await?;
    let created = command::create(&scope, group, members).await?;
    let meta = representation::group_meta(&scope.state, scope.directory, &created);
    let mut res = saved(StatusCode::CREATED, &scope, &created, &projection, shown);
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
    let stored = groups::get(&state.pool, directory, id)
        .await?
        .ok_or_else(not_found)?;
    let etag = representation::group_meta(state, directory, &stored).etag();
    if etag::not_modified(&headers, stored.version) {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response());
    }
    let shown = members_shown(&scope, &projection).await?;
    Ok(saved(StatusCode::OK, &scope, &stored, &projection, shown))
}

/// The groups resource type, for the list handlers.
pub(crate) struct Groups;

impl Listed for Groups {
    const SCHEMA: &'static ResourceSchema = &GROUP;

    /// The page at `offset`, with its groups' members written in as the response is
    /// sent when they are shown.
    async fn page(
        scope: &Scope,
        query: &ListQuery,
        offset: i64,
        count: i64,
    ) -> Result<Page, ApiError> {
        let (state, directory) = (&scope.state, scope.directory);
        let (condition, order) = query.sql(&GROUPS)?;
        let turn = state.quotas.list_turn(directory).await?;
        let walk = Walk::new(
            &state.walks,
            directory,
            Walked::Groups,
            offset,
            condition.as_ref(),
            &order,
        );
        let (total, page) = groups::list(
            &state.lists,
            directory,
            condition.as_ref(),
            &order,
            walk.bounds(state.page_bounds(offset, count)),
        )
        .await?;
        // The turn lasts until the members are written.
        let mut members = shape(scope, &query.projection)
            .map(|shape| Members::read(shape, &state.lists, directory, turn));
        let page = match &members {
            Some(members) => members.within(page, state.list_page_bytes).await?,
            None => page,
        };
        walk.served(page.len(), page.last().map(|r| r.id), total);
        let resources = page
            .iter()
            .map(|g| render(scope, g, &query.projection, members.as_mut()))
            .collect();
        Ok(Page {
            total,
            resources,
            members,
        })
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
    let shown = members_shown(&scope, &projection).await?;
    let replaced = command::replace(&scope, id, &if_match, new, members).await?;
    Ok(saved(StatusCode::OK, &scope, &replaced, &projection, shown))
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
    let shown = match render {
        true => members_shown(&scope, &projection).await?,
        false => None,
    };
    let patched = command::patch(&scope, id, &if_match, &operations).await?;
    if !render {
        let etag = representation::group_meta(&scope.state, scope.directory, &patched).etag();
        return Ok((StatusCode::NO_CONTENT, [(header::ETAG, etag)]).into_response());
    }
    Ok(saved(StatusCode::OK, &scope, &patched, &projection, shown))
}

async fn remove(
    scope: Scope,
    Path(params): Path<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    command::delete(&scope, path_id(&params)?, &IfMatch::from_headers(&headers)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
