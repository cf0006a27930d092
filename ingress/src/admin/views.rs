//! Read-only views: the SCIM request log, the audit log, the users and groups the
//! identity provider sent, and the product's members.

use axum::Json;
use axum::extract::{Path, Query, State};
use scim_admin_api::{
    AuditRecord, ErrorRate, GroupName, Member, MemberStatus, ReceivedUser, RequestEntry,
};
use scim_product::teams::store as teams;
use scim_store::request_log::{self, StatusFilter};
use scim_store::{audit, groups, users};
use serde::Deserialize;
use uuid::Uuid;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AdminError;
use super::openapi::Failures;
use super::wire::{Wire, member_status};
use crate::AppState;
use crate::commands::directory::existing;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(requests))
        .routes(routes!(members))
        .routes(routes!(group_names))
        .routes(routes!(user_names))
        .routes(routes!(audit_log))
        .routes(routes!(error_rates))
}

/// Largest page any view returns.
const MAX_LIMIT: i64 = 1000;

pub(super) fn limit(requested: Option<i64>) -> Result<i64, AdminError> {
    match requested {
        None => Ok(100),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(_) => Err(AdminError::Invalid(format!(
            "limit must be 1 to {MAX_LIMIT}"
        ))),
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct RequestsQuery {
    /// `401`, `4xx`, `errors` (case ignored); all when absent, empty or `any`.
    #[param(pattern = "^([Aa][Nn][Yy]|[Ee][Rr][Rr][Oo][Rr][Ss]|[1-5][Xx][Xx]|[1-5][0-9][0-9])?$")]
    status: Option<String>,
    /// Only requests older than this (RFC 3339): the next page after the oldest shown.
    #[serde(default, with = "time::serde::rfc3339::option")]
    before: Option<time::OffsetDateTime>,
    /// Only requests whose path, detail or user or group name contains this.
    search: Option<String>,
    /// How many (100 unless given).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
}

/// The directory's SCIM requests, newest first, a page at a time.
#[utoipa::path(
    get,
    path = "/admin/v1/directories/{id}/requests",
    operation_id = "list_requests",
    tag = "views",
    params(("id" = Uuid, Path, description = "The directory's id"), RequestsQuery),
    responses((status = 200, description = "The directory's SCIM requests, newest first", body = [RequestEntry]), Failures)
)]
async fn requests(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<RequestsQuery>,
) -> Result<Json<Vec<RequestEntry>>, AdminError> {
    let status = StatusFilter::parse(q.status.as_deref().unwrap_or_default()).ok_or_else(|| {
        AdminError::Invalid("status must be a status code, a class such as 4xx, or errors".into())
    })?;
    let limit = limit(q.limit)?;
    let dir = existing(&state.pool, &id).await?;
    let query = request_log::Query {
        status,
        before: q.before,
        search: searched(&q.search),
    };
    // A search reads all of the directory's log: on the time-limited connections.
    let pool = if query.search.is_some() {
        &state.lists
    } else {
        &state.pool
    };
    Ok(Json(
        request_log::recent(pool, dir, query, limit).await?.wire(),
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct MembersQuery {
    /// `active`, `deactivated` or `removed`; all when absent.
    status: Option<MemberStatus>,
    #[param(minimum = 0)]
    offset: Option<i64>,
    /// How many (100 unless given).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct LimitQuery {
    /// How many (100 unless given).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct UsersQuery {
    /// Only names containing this (case ignored).
    search: Option<String>,
    /// The next page: after this userName.
    after: Option<String>,
    /// How many (100 unless given).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct GroupsQuery {
    /// Only names containing this (case ignored).
    search: Option<String>,
    /// The next page: after this group id.
    after: Option<Uuid>,
    /// How many (100 unless given).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
}

/// A search term, unless blank.
fn searched(search: &Option<String>) -> Option<&str> {
    search.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// The directory's groups in name order (the choices a mapping table offers), a page
/// at a time. A search reads every name: it runs on the list connections, within
/// LIST_TIMEOUT_MS.
#[utoipa::path(
    get,
    path = "/admin/v1/directories/{id}/groups",
    operation_id = "list_group_names",
    tag = "views",
    params(("id" = Uuid, Path, description = "The directory's id"), GroupsQuery),
    responses((status = 200, description = "The groups the identity provider pushed", body = [GroupName]), Failures)
)]
async fn group_names(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<GroupsQuery>,
) -> Result<Json<Vec<GroupName>>, AdminError> {
    let limit = limit(q.limit)?;
    let dir = existing(&state.pool, &id).await?;
    Ok(Json(
        groups::names(&state.lists, dir, searched(&q.search), q.after, limit)
            .await?
            .wire(),
    ))
}

/// The directory's users in userName order, with their state and last change, a page
/// at a time; searched as groups are.
#[utoipa::path(
    get,
    path = "/admin/v1/directories/{id}/users",
    operation_id = "list_user_names",
    tag = "views",
    params(("id" = Uuid, Path, description = "The directory's id"), UsersQuery),
    responses((status = 200, description = "The users the identity provider pushed", body = [ReceivedUser]), Failures)
)]
async fn user_names(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<UsersQuery>,
) -> Result<Json<Vec<ReceivedUser>>, AdminError> {
    let limit = limit(q.limit)?;
    let dir = existing(&state.pool, &id).await?;
    Ok(Json(
        users::listed(
            &state.lists,
            dir,
            searched(&q.search),
            q.after.as_deref(),
            limit,
        )
        .await?
        .wire(),
    ))
}

/// Every directory's errors among its latest `limit` requests (100 unless given).
#[utoipa::path(
    get,
    path = "/admin/v1/error-rates",
    operation_id = "list_error_rates",
    tag = "views",
    params(LimitQuery),
    responses((status = 200, description = "Each directory's SCIM error rate, highest first", body = [ErrorRate]), Failures)
)]
async fn error_rates(
    State(state): State<AppState>,
    Query(q): Query<LimitQuery>,
) -> Result<Json<Vec<ErrorRate>>, AdminError> {
    let last = limit(q.limit)?;
    Ok(Json(
        request_log::error_rates(&state.pool, last).await?.wire(),
    ))
}

/// The product's members of the directory with the teams each is in.
#[utoipa::path(
    get,
    path = "/admin/v1/directories/{id}/members",
    operation_id = "list_members",
    tag = "views",
    params(("id" = Uuid, Path, description = "The directory's id"), MembersQuery),
    responses((status = 200, description = "The directory's members", body = [Member]), Failures)
)]
async fn members(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<MembersQuery>,
) -> Result<Json<Vec<Member>>, AdminError> {
    let limit = limit(q.limit)?;
    let offset = q.offset.unwrap_or(0);
    if offset < 0 {
        return Err(AdminError::Invalid("offset must be 0 or more".into()));
    }
    let dir = existing(&state.pool, &id).await?;
    let status = q.status.map(member_status);
    let members = teams::views::directory_members(&state.pool, dir, status, offset, limit).await?;
    Ok(Json(members.wire()))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct AuditQuery {
    /// Only this directory's records (a deleted directory's too).
    directory: Option<Uuid>,
    /// The next page: records older than this one.
    before: Option<Uuid>,
    /// Only records whose action or actor contains this.
    search: Option<String>,
    /// How many (100 unless given).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
}

/// Admin actions, newest first; of one directory (deleted ones too) or of all.
#[utoipa::path(
    get,
    path = "/admin/v1/audit",
    operation_id = "list_audit_records",
    tag = "views",
    params(AuditQuery),
    responses((status = 200, description = "The audit log, newest first", body = [AuditRecord]), Failures)
)]
async fn audit_log(
    State(state): State<AppState>,
    Query(q): Query<AuditQuery>,
) -> Result<Json<Vec<AuditRecord>>, AdminError> {
    let query = audit::Query {
        directory: q.directory,
        before: q.before,
        search: searched(&q.search),
    };
    let pool = if query.search.is_some() {
        &state.lists
    } else {
        &state.pool
    };
    Ok(Json(
        audit::recent(pool, query, limit(q.limit)?).await?.wire(),
    ))
}
