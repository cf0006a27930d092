//! `/Roles` and `/Entitlements`: the directory's product roles, as Okta Identity
//! Governance imports them (Okta's role schema, or its entitlement schema with type
//! `Role`; [`Governed`]): a paged list in the catalogue's order (its precedence, so
//! stable), and each role by id. Read-only: an admin changes roles through the admin
//! API.

use axum::Router;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use scim_core::ScimError;
use scim_core::roles::Governed;
use std::collections::HashMap;

use super::list::{list_response, paging};
use crate::AppState;
use crate::commands::Scope;
use crate::error::ApiError;
use crate::extract::scim;

pub(crate) fn router() -> Router<AppState> {
    let mut router = Router::new();
    for kind in Governed::ALL {
        let endpoint = kind.endpoint();
        router = router
            .route(
                &format!("/scim/v2/{{directory_id}}{endpoint}"),
                get(move |scope, query| list(scope, query, kind)),
            )
            .route(
                &format!("/scim/v2/{{directory_id}}{endpoint}/{{id}}"),
                get(move |scope, path| show(scope, path, kind)),
            );
    }
    router
}

async fn list(
    scope: Scope,
    Query(params): Query<HashMap<String, String>>,
    kind: Governed,
) -> Result<Response, ApiError> {
    let (start_index, count) = paging(&params)?;
    let mut conn = scope.state.pool.acquire().await?;
    let catalogue = scim_store::roles::catalogue(&mut conn, scope.directory).await?;
    let base = scope.state.base_url(scope.directory);
    let page: Vec<_> = catalogue
        .roles
        .iter()
        .skip(usize::try_from(start_index - 1).unwrap_or(usize::MAX))
        .take(usize::try_from(count).unwrap_or(0))
        .map(|r| r.scim_resource(&base, kind))
        .collect();
    let total = catalogue.roles.len() as i64;
    Ok(scim(
        StatusCode::OK,
        &list_response(total, start_index, page),
        None,
    ))
}

async fn show(
    scope: Scope,
    Path(params): Path<HashMap<String, String>>,
    kind: Governed,
) -> Result<Response, ApiError> {
    let id = params.get("id").map(String::as_str).unwrap_or_default();
    let mut conn = scope.state.pool.acquire().await?;
    let catalogue = scim_store::roles::catalogue(&mut conn, scope.directory).await?;
    let role = catalogue
        .roles
        .iter()
        .find(|r| r.id == id)
        .ok_or_else(|| ScimError::NotFound(format!("no role {id:?}")))?;
    let base = scope.state.base_url(scope.directory);
    Ok(scim(StatusCode::OK, &role.scim_resource(&base, kind), None))
}
