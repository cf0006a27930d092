//! Teams over HTTP: create, rename, delete, map to group names or attribute values
//! (with previews), add and remove members by hand, list members with the source of
//! each membership; what each change does is [`crate::commands::teams`].

use axum::Json;
use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use scim_admin_api::{
    AddedMember, GroupMapping, NewMember, NewTeam, Preview, RemovedMember, Team as TeamView,
    TeamMember, ValueTable,
};

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::openapi::{ChangeFailures, Failures};
use super::wire::Wire;
use super::{Actor, AdminError, Body};
use crate::AppState;
use crate::commands::teams as teams_cmd;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(map_groups))
        .routes(routes!(rename, remove))
        .routes(routes!(members, add_member))
        .routes(routes!(remove_member))
        .routes(routes!(value_table, set_value_table))
        .routes(routes!(preview_value_table))
        .routes(routes!(preview_group_mapping))
}

#[utoipa::path(
    get,
    path = "/admin/v1/directories/{id}/team-values",
    operation_id = "get_value_table",
    tag = "teams",
    params(("id" = Uuid, Path, description = "The directory's id")),
    responses((status = 200, description = "Attribute mode: the values mapped to teams", body = ValueTable), Failures)
)]
async fn value_table(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ValueTable>, AdminError> {
    Ok(Json(teams_cmd::value_table(&state, &id).await?))
}

#[utoipa::path(
    put,
    path = "/admin/v1/directories/{id}/team-values",
    operation_id = "set_value_table",
    tag = "teams",
    params(("id" = Uuid, Path, description = "The directory's id")),
    request_body = ValueTable,
    responses((status = 200, description = "The table, changed", body = ValueTable), ChangeFailures)
)]
async fn set_value_table(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
    Body(table): Body<ValueTable>,
) -> Result<Json<ValueTable>, AdminError> {
    Ok(Json(
        teams_cmd::set_value_table(&state, &actor, &id, table).await?,
    ))
}

#[utoipa::path(
    post,
    path = "/admin/v1/directories/{id}/team-values/preview",
    operation_id = "preview_value_table",
    tag = "teams",
    params(("id" = Uuid, Path, description = "The directory's id")),
    request_body = ValueTable,
    responses((status = 200, description = "What the table would do; nothing is changed", body = Preview), ChangeFailures)
)]
async fn preview_value_table(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Body(table): Body<ValueTable>,
) -> Result<Json<Preview>, AdminError> {
    Ok(Json(
        teams_cmd::preview_value_table(&state, &id, table)
            .await?
            .wire(),
    ))
}

#[utoipa::path(
    get,
    path = "/admin/v1/directories/{id}/teams",
    operation_id = "list_teams",
    tag = "teams",
    params(("id" = Uuid, Path, description = "The directory's id")),
    responses((status = 200, description = "The directory's teams", body = [TeamView]), Failures)
)]
async fn list(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Vec<TeamView>>, AdminError> {
    Ok(Json(teams_cmd::list(&state, &id).await?))
}

#[utoipa::path(
    post,
    path = "/admin/v1/directories/{id}/teams",
    operation_id = "create_team",
    tag = "teams",
    params(("id" = Uuid, Path, description = "The directory's id")),
    request_body = NewTeam,
    responses((status = 201, description = "The team, made", body = TeamView), (status = 200, description = "A team of that name was there already: the same request again changes nothing", body = TeamView), ChangeFailures)
)]
async fn create(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
    Body(new): Body<NewTeam>,
) -> Result<(StatusCode, Json<TeamView>), AdminError> {
    let (created, team) = teams_cmd::create(&state, &actor, &id, new).await?;
    let status = match created {
        teams_cmd::Created::Yes => StatusCode::CREATED,
        teams_cmd::Created::No => StatusCode::OK,
    };
    Ok((status, Json(team)))
}

#[utoipa::path(
    patch,
    path = "/admin/v1/directories/{id}/teams/{team_id}",
    operation_id = "rename_team",
    tag = "teams",
    params(("id" = Uuid, Path, description = "The directory's id"), ("team_id" = Uuid, Path, description = "The team's id")),
    request_body = NewTeam,
    responses((status = 200, description = "The team, renamed", body = TeamView), ChangeFailures)
)]
async fn rename(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path((id, team_id)): Path<(String, String)>,
    Body(new): Body<NewTeam>,
) -> Result<Json<TeamView>, AdminError> {
    Ok(Json(
        teams_cmd::rename(&state, &actor, &id, &team_id, new).await?,
    ))
}

#[utoipa::path(
    delete,
    path = "/admin/v1/directories/{id}/teams/{team_id}",
    operation_id = "delete_team",
    tag = "teams",
    params(("id" = Uuid, Path, description = "The directory's id"), ("team_id" = Uuid, Path, description = "The team's id")),
    responses((status = 204, description = "Deleted, with its memberships and mappings"), ChangeFailures)
)]
async fn remove(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path((id, team_id)): Path<(String, String)>,
) -> Result<StatusCode, AdminError> {
    teams_cmd::remove(&state, &actor, &id, &team_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    delete,
    path = "/admin/v1/directories/{id}/teams/{team_id}/members/{member_id}",
    operation_id = "remove_team_member",
    tag = "teams",
    params(("id" = Uuid, Path, description = "The directory's id"), ("team_id" = Uuid, Path, description = "The team's id"), ("member_id" = Uuid, Path, description = "The member's id")),
    responses((status = 200, description = "Removed", body = RemovedMember), ChangeFailures)
)]
async fn remove_member(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path((id, team_id, member_id)): Path<(String, String, String)>,
) -> Result<Json<RemovedMember>, AdminError> {
    Ok(Json(
        teams_cmd::remove_member(&state, &actor, &id, &team_id, &member_id).await?,
    ))
}

#[utoipa::path(
    put,
    path = "/admin/v1/directories/{id}/teams/{team_id}/groups",
    operation_id = "map_team_groups",
    tag = "teams",
    params(("id" = Uuid, Path, description = "The directory's id"), ("team_id" = Uuid, Path, description = "The team's id")),
    request_body = GroupMapping,
    responses((status = 200, description = "The team, with its mapping", body = TeamView), ChangeFailures)
)]
async fn map_groups(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path((id, team_id)): Path<(String, String)>,
    Body(body): Body<GroupMapping>,
) -> Result<Json<TeamView>, AdminError> {
    Ok(Json(
        teams_cmd::map_groups(&state, &actor, &id, &team_id, body).await?,
    ))
}

#[utoipa::path(
    post,
    path = "/admin/v1/directories/{id}/teams/{team_id}/groups/preview",
    operation_id = "preview_team_groups",
    tag = "teams",
    params(("id" = Uuid, Path, description = "The directory's id"), ("team_id" = Uuid, Path, description = "The team's id")),
    request_body = GroupMapping,
    responses((status = 200, description = "What the mapping would do; nothing is changed", body = Preview), ChangeFailures)
)]
async fn preview_group_mapping(
    State(state): State<AppState>,
    Path((id, team_id)): Path<(String, String)>,
    Body(body): Body<GroupMapping>,
) -> Result<Json<Preview>, AdminError> {
    Ok(Json(
        teams_cmd::preview_group_mapping(&state, &id, &team_id, body)
            .await?
            .wire(),
    ))
}

#[utoipa::path(
    get,
    path = "/admin/v1/directories/{id}/teams/{team_id}/members",
    operation_id = "list_team_members",
    tag = "teams",
    params(("id" = Uuid, Path, description = "The directory's id"), ("team_id" = Uuid, Path, description = "The team's id")),
    responses((status = 200, description = "The team's members, each with where its membership comes from", body = [TeamMember]), Failures)
)]
async fn members(
    State(state): State<AppState>,
    Path((id, team_id)): Path<(String, String)>,
) -> Result<Json<Vec<TeamMember>>, AdminError> {
    Ok(Json(
        teams_cmd::members(&state, &id, &team_id).await?.wire(),
    ))
}

#[utoipa::path(
    post,
    path = "/admin/v1/directories/{id}/teams/{team_id}/members",
    operation_id = "add_team_member",
    tag = "teams",
    params(("id" = Uuid, Path, description = "The directory's id"), ("team_id" = Uuid, Path, description = "The team's id")),
    request_body = NewMember,
    responses((status = 200, description = "Added by hand", body = AddedMember), ChangeFailures)
)]
async fn add_member(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path((id, team_id)): Path<(String, String)>,
    Body(body): Body<NewMember>,
) -> Result<Json<AddedMember>, AdminError> {
    Ok(Json(
        teams_cmd::add_member(&state, &actor, &id, &team_id, body).await?,
    ))
}
