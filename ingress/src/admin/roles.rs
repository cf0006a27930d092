//! Roles over HTTP: a directory's catalogue and default role, group → role mappings
//! (each with a preview), and the role of a member made by hand; what each change does
//! is [`crate::commands::roles`].

use axum::Json;
use axum::extract::{Extension, Path, State};
use scim_admin_api::{MemberRole, NewRole, RoleMappings, RolePreview, Roles};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::openapi::{ChangeFailures, Failures};
use super::wire::Wire;
use super::{Actor, AdminError, Body};
use crate::AppState;
use crate::commands::roles as roles_cmd;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(catalogue, set_catalogue))
        .routes(routes!(preview_catalogue))
        .routes(routes!(mappings, set_mappings))
        .routes(routes!(preview_mappings))
        .routes(routes!(set_member_role))
}

#[utoipa::path(
    get,
    path = "/admin/v1/directories/{id}/roles",
    operation_id = "get_roles",
    tag = "roles",
    params(("id" = Uuid, Path, description = "The directory's id")),
    responses((status = 200, description = "The directory's roles, highest first, and its default role", body = Roles), Failures)
)]
async fn catalogue(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Roles>, AdminError> {
    Ok(Json(roles_cmd::catalogue(&state, &id).await?.wire()))
}

#[utoipa::path(
    put,
    path = "/admin/v1/directories/{id}/roles",
    operation_id = "set_roles",
    tag = "roles",
    params(("id" = Uuid, Path, description = "The directory's id")),
    request_body = Roles,
    responses((status = 200, description = "The roles, changed; every member's role is recomputed (mappings to a role no longer listed go with it)", body = Roles), ChangeFailures)
)]
async fn set_catalogue(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
    Body(body): Body<Roles>,
) -> Result<Json<Roles>, AdminError> {
    Ok(Json(
        roles_cmd::set_catalogue(&state, &actor, &id, body)
            .await?
            .wire(),
    ))
}

#[utoipa::path(
    post,
    path = "/admin/v1/directories/{id}/roles/preview",
    operation_id = "preview_roles",
    tag = "roles",
    params(("id" = Uuid, Path, description = "The directory's id")),
    request_body = Roles,
    responses((status = 200, description = "Whose role these roles would change; nothing is changed", body = RolePreview), ChangeFailures)
)]
async fn preview_catalogue(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Body(body): Body<Roles>,
) -> Result<Json<RolePreview>, AdminError> {
    Ok(Json(roles_cmd::preview_catalogue(&state, &id, body).await?))
}

#[utoipa::path(
    get,
    path = "/admin/v1/directories/{id}/role-mappings",
    operation_id = "get_role_mappings",
    tag = "roles",
    params(("id" = Uuid, Path, description = "The directory's id")),
    responses((status = 200, description = "Group names mapped to roles", body = RoleMappings), Failures)
)]
async fn mappings(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<RoleMappings>, AdminError> {
    Ok(Json(roles_cmd::mappings(&state, &id).await?))
}

#[utoipa::path(
    put,
    path = "/admin/v1/directories/{id}/role-mappings",
    operation_id = "set_role_mappings",
    tag = "roles",
    params(("id" = Uuid, Path, description = "The directory's id")),
    request_body = RoleMappings,
    responses((status = 200, description = "The mappings, replaced; every member's role is recomputed", body = RoleMappings), ChangeFailures)
)]
async fn set_mappings(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
    Body(body): Body<RoleMappings>,
) -> Result<Json<RoleMappings>, AdminError> {
    Ok(Json(
        roles_cmd::set_mappings(&state, &actor, &id, body).await?,
    ))
}

#[utoipa::path(
    post,
    path = "/admin/v1/directories/{id}/role-mappings/preview",
    operation_id = "preview_role_mappings",
    tag = "roles",
    params(("id" = Uuid, Path, description = "The directory's id")),
    request_body = RoleMappings,
    responses((status = 200, description = "Whose role these mappings would change; nothing is changed", body = RolePreview), ChangeFailures)
)]
async fn preview_mappings(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Body(body): Body<RoleMappings>,
) -> Result<Json<RolePreview>, AdminError> {
    Ok(Json(roles_cmd::preview_mappings(&state, &id, body).await?))
}

#[utoipa::path(
    put,
    path = "/admin/v1/directories/{id}/members/{member_id}/role",
    operation_id = "set_member_role",
    tag = "roles",
    params(("id" = Uuid, Path, description = "The directory's id"), ("member_id" = Uuid, Path, description = "The member's id")),
    request_body = NewRole,
    responses((status = 200, description = "The member's role, set by hand (members made by hand only: 409 for one the identity provider manages)", body = MemberRole), ChangeFailures)
)]
async fn set_member_role(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path((id, member_id)): Path<(String, String)>,
    Body(body): Body<NewRole>,
) -> Result<Json<MemberRole>, AdminError> {
    Ok(Json(
        roles_cmd::set_member_role(&state, &actor, &id, &member_id, body).await?,
    ))
}
