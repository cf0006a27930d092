//! Setup links of a directory: issued (the URL shown once), listed, revoked. Each is
//! audited; the link's secret never is.

use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use scim_admin_api::{IssuedSetupLink, NewSetupLink, SetupLink};
use scim_store::setup;

use super::wire::Wire;
use super::{Actor, AdminError, OptionalBody, parse_id};
use crate::AppState;
use crate::commands::directory::existing;
use crate::commands::setup_links;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/admin/v1/directories/{id}/setup-links",
            get(list).post(issue),
        )
        .route(
            "/admin/v1/directories/{id}/setup-links/{link_id}",
            delete(revoke),
        )
}

async fn issue(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
    OptionalBody(new): OptionalBody<NewSetupLink>,
) -> Result<(StatusCode, Json<IssuedSetupLink>), AdminError> {
    let issued =
        setup_links::issue(&state, &actor, &id, new.expires_at, new.allow_controls).await?;
    Ok((
        StatusCode::CREATED,
        Json(IssuedSetupLink {
            url: format!("{}/setup#{}", state.public_base_url(), issued.secret),
            expires_at: issued.info.expires_at,
            link: issued.info.wire(),
        }),
    ))
}

async fn list(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Vec<SetupLink>>, AdminError> {
    let dir = existing(&state.pool, &id).await?;
    Ok(Json(setup::links(&state.pool, dir).await?.wire()))
}

/// Revokes the link and ends its sessions at once.
async fn revoke(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path((id, link_id)): Path<(String, String)>,
) -> Result<Json<SetupLink>, AdminError> {
    let link = parse_id(&link_id, "setup link")?;
    Ok(Json(
        setup_links::revoke(&state, &actor, &id, link).await?.wire(),
    ))
}
