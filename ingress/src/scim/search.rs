//! `POST /.search` at the service root (RFC 7644 §3.4.3): one result list across
//! Users and Groups, users first, each in creation order.

use axum::Router;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;
use scim_core::schema::{GROUP, USER};
use scim_core::{ScimError, ScimType};

use super::list::{ListQuery, Listed, Page, list_response};
use super::members;
use super::{groups, users};
use crate::AppState;
use crate::commands::Scope;
use crate::error::ApiError;
use crate::extract::ScimJson;

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/scim/v2/{directory_id}/.search", post(search))
}

/// A filter naming an attribute that only one resource type has matches nothing of
/// the other type; only a filter that neither type understands is `invalidFilter`.
async fn search(scope: Scope, ScimJson(body): ScimJson) -> Result<Response, ApiError> {
    let user_query = ListQuery::from_search_body(&USER, &body)?;
    let group_query = ListQuery::from_search_body(&GROUP, &body)?;
    if user_query.sort.is_some() {
        return Err(ScimError::invalid_value(
            "sortBy is not supported across resource types; search /Users or /Groups to sort",
        )
        .into());
    }
    let (offset, count) = (user_query.offset(), user_query.count);
    let users =
        invalid_filter_as_none(users::Users::page(&scope, &user_query, offset, count).await)?;
    let users_apply = users.is_some();
    let Page {
        total: users_total,
        mut resources,
        ..
    } = users.unwrap_or_default();
    let group_offset = (offset - users_total).max(0);
    // Groups follow the users; none when the page ended within them, at its byte bound.
    let users_due = (users_total - offset).clamp(0, count);
    let group_count = if (resources.len() as i64) < users_due {
        0
    } else {
        count - resources.len() as i64
    };
    let groups = invalid_filter_as_none(
        groups::Groups::page(&scope, &group_query, group_offset, group_count).await,
    )?;
    if !users_apply && groups.is_none() {
        return Err(ScimError::invalid_filter(
            "the filter names attributes that neither Users nor Groups have",
        )
        .into());
    }
    let groups = groups.unwrap_or_default();
    resources.extend(groups.resources);
    Ok(members::respond(
        StatusCode::OK,
        &list_response(
            users_total + groups.total,
            user_query.start_index,
            resources,
        ),
        None,
        groups.members,
    ))
}

/// `None` when the filter does not apply to this resource type.
fn invalid_filter_as_none<T>(r: Result<T, ApiError>) -> Result<Option<T>, ApiError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(ApiError::Scim(e)) if e.scim_type() == Some(ScimType::InvalidFilter) => Ok(None),
        Err(e) => Err(e),
    }
}
