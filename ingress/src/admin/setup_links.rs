//! Setup links of a directory: issued (the URL shown once), listed, revoked. Each is
//! audited; the link's secret never is.

use axum::Json;
use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use scim_admin_api::{IssuedSetupLink, NewSetupLink, SetupLink};
use scim_store::setup;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::openapi::{ChangeFailures, Failures};
use super::wire::Wire;
use super::{Actor, AdminError, OptionalBody, parse_id};
use crate::AppState;
use crate::commands::directory::existing;
use crate::commands::setup_links;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, issue))
        .routes(routes!(revoke))
}

#[utoipa::path(
    post,
    path = "/admin/v1/directories/{id}/setup-links",
    operation_id = "issue_setup_link",
    tag = "setup links",
    params(("id" = Uuid, Path, description = "The directory's id")),
    request_body = Option<NewSetupLink>,
    responses((status = 201, description = "The link (its URL shown only here)", body = IssuedSetupLink), ChangeFailures)
)]
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

#[utoipa::path(
    get,
    path = "/admin/v1/directories/{id}/setup-links",
    operation_id = "list_setup_links",
    tag = "setup links",
    params(("id" = Uuid, Path, description = "The directory's id")),
    responses((status = 200, description = "The directory's setup links", body = [SetupLink]), Failures)
)]
async fn list(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Vec<SetupLink>>, AdminError> {
    let dir = existing(&state.pool, &id).await?;
    Ok(Json(setup::links(&state.pool, dir).await?.wire()))
}

/// Revokes the link and ends its sessions at once.
#[utoipa::path(
    delete,
    path = "/admin/v1/directories/{id}/setup-links/{link_id}",
    operation_id = "revoke_setup_link",
    tag = "setup links",
    params(("id" = Uuid, Path, description = "The directory's id"), ("link_id" = Uuid, Path, description = "The link's id")),
    responses((status = 200, description = "The link, revoked", body = SetupLink), ChangeFailures)
)]
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
