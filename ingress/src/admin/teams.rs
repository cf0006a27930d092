//! Teams over HTTP: create, rename, delete, map to group names or attribute values
//! (with previews), add and remove members by hand, list members with the source of
//! each membership; what each change does is [`crate::commands::teams`].

use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, patch, post, put};
use axum::{Json, Router};
use scim_admin_api::{
    AddedMember, GroupMapping, NewMember, NewTeam, Preview, RemovedMember, Team as TeamView,
    TeamMember, ValueTable,
};

use super::wire::Wire;
use super::{Actor, AdminError, Body};
use crate::AppState;
use crate::commands::teams as teams_cmd;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/v1/directories/{id}/teams", get(list).post(create))
        .route(
            "/admin/v1/directories/{id}/teams/{team_id}/groups",
            put(map_groups),
        )
        .route(
            "/admin/v1/directories/{id}/teams/{team_id}",
            patch(rename).delete(remove),
        )
        .route(
            "/admin/v1/directories/{id}/teams/{team_id}/members",
            get(members).post(add_member),
        )
        .route(
            "/admin/v1/directories/{id}/teams/{team_id}/members/{member_id}",
            delete(remove_member),
        )
        .route(
            "/admin/v1/directories/{id}/team-values",
            get(value_table).put(set_value_table),
        )
        .route(
            "/admin/v1/directories/{id}/team-values/preview",
            post(preview_value_table),
        )
        .route(
            "/admin/v1/directories/{id}/teams/{team_id}/groups/preview",
            post(preview_group_mapping),
        )
}

async fn value_table(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ValueTable>, AdminError> {
    Ok(Json(teams_cmd::value_table(&state, &id).await?))
}

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

async fn list(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Vec<TeamView>>, AdminError> {
    Ok(Json(teams_cmd::list(&state, &id).await?))
}

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

async fn remove(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path((id, team_id)): Path<(String, String)>,
) -> Result<StatusCode, AdminError> {
    teams_cmd::remove(&state, &actor, &id, &team_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn remove_member(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path((id, team_id, member_id)): Path<(String, String, String)>,
) -> Result<Json<RemovedMember>, AdminError> {
    Ok(Json(
        teams_cmd::remove_member(&state, &actor, &id, &team_id, &member_id).await?,
    ))
}

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

async fn members(
    State(state): State<AppState>,
    Path((id, team_id)): Path<(String, String)>,
) -> Result<Json<Vec<TeamMember>>, AdminError> {
    Ok(Json(
        teams_cmd::members(&state, &id, &team_id).await?.wire(),
    ))
}

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
