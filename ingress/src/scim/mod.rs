//! The SCIM 2.0 API of each directory (RFC 7644), under `/scim/v2/{directory}`: its
//! routes behind the directory's bearer token, rate-limited, measured and logged.

mod bulk;
mod discovery;
mod groups;
mod list;
mod media;
mod members;
mod path;
pub(crate) mod resume;
mod roles;
mod search;
mod users;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::{Router, middleware};
use scim_core::profile::Idp;
use scim_store::directories::Controls;

use crate::auth::DirectoryId;
use crate::commands::Scope;
use crate::error::ApiError;
use crate::{AppState, auth, error, metrics, quota, request_log, retry};

pub(crate) use path::normalize as normalize_path;

pub(crate) fn routes(state: &AppState) -> Router<AppState> {
    users::router()
        .merge(groups::router())
        .merge(search::router())
        .merge(discovery::router())
        .merge(bulk::router())
        .merge(roles::router())
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            quota::limit_rate,
        ))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_token,
        ))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            retry::after_lost_connections,
        ))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .layer(middleware::map_response(error::scim_error_bodies))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            request_log::record,
        ))
        .layer(middleware::from_fn(media::negotiate))
}

/// A request's directory, as its bearer token named it, with its controls: where the
/// command it calls makes its change.
impl FromRequestParts<AppState> for Scope {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Scope, ApiError> {
        let directory = parts.extensions.get::<DirectoryId>().map(|d| d.0);
        let controls = parts.extensions.get::<Controls>().cloned();
        let idp = parts.extensions.get::<Idp>().copied();
        match (directory, controls, idp) {
            (Some(directory), Some(controls), Some(idp)) => Ok(Scope {
                state: state.clone(),
                directory,
                controls,
                profile: idp.profile(),
            }),
            // Only a route outside `auth::require_token` could get here.
            _ => Err(ApiError::Internal(
                "a SCIM route is not behind the token check".into(),
            )),
        }
    }
}
