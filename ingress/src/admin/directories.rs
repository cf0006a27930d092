//! Directories over HTTP: create, list, show, delete, and their settings (access rules,
//! team mode, the request inspector window); what each change does is
//! [`commands::directories`].

use axum::Json;
use axum::extract::{Extension, Path, State};
use scim_admin_api::{
    AccessRules, CreatedDirectory, DeletedDirectory, Directory, ExistingMembersSetting, Inspection,
    NewDirectory, Preview, Reconciliation, RetentionSetting, SeatLimit, TeamMapping,
    TrustedDomains,
};
use scim_store::directories::{self, Summary};

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::openapi::{ChangeFailures, Failures};
use super::wire::{Wire, existing_members, reconciliation, team_mapping};
use super::{Actor, AdminError, Body, parse_id};
use crate::{AppState, commands};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(show, remove))
        .routes(routes!(set_seat_limit))
        .routes(routes!(set_access_rules))
        .routes(routes!(set_inspection))
        .routes(routes!(set_trusted_domains))
        .routes(routes!(set_team_mapping))
        .routes(routes!(preview_team_mapping))
        .routes(routes!(set_existing_members))
        .routes(routes!(set_retention))
        .routes(routes!(reconcile))
        .routes(routes!(preview_reconcile))
        .routes(routes!(pause))
        .routes(routes!(resume))
}

/// The directory as the API shows it: settings, counts and its SCIM base URL.
pub(super) fn view(state: &AppState, s: &Summary) -> Directory {
    Directory {
        id: s.directory.id,
        name: s.directory.name.clone(),
        idp: s.directory.idp,
        seat_limit: s.controls.seat_limit,
        trusted_domains: s.controls.trusted_domains.clone(),
        team_mapping: s.team_mapping.clone().wire(),
        created_at: s.created_at,
        last_request_at: s.last_request_at,
        users: s.users,
        active_users: s.active_users,
        groups: s.groups,
        teams: s.teams,
        version: s.version,
        scim_base_url: state.base_url(s.directory.id),
        inspect_until: s.inspect_until,
        hold_policy: s.hold.wire(),
        paused_at: s.paused_at,
        existing_members: s.controls.existing_members.wire(),
        retention_days: s.retention_days,
    }
}

#[utoipa::path(
    get,
    path = "/admin/v1/directories",
    operation_id = "list_directories",
    tag = "directories",
    responses((status = 200, description = "Every directory", body = [Directory]), Failures)
)]
async fn list(State(state): State<AppState>) -> Result<Json<Vec<Directory>>, AdminError> {
    let all = directories::list(&state.pool).await?;
    Ok(Json(all.iter().map(|s| view(&state, s)).collect()))
}

#[utoipa::path(
    get,
    path = "/admin/v1/directories/{id}",
    operation_id = "get_directory",
    tag = "directories",
    params(("id" = Uuid, Path, description = "The directory's id")),
    responses((status = 200, description = "The directory", body = Directory), Failures)
)]
async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Directory>, AdminError> {
    let id = parse_id(&id, "directory")?;
    let found = directories::show(&state.pool, id)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("no directory {id}")))?;
    Ok(Json(view(&state, &found)))
}

/// Creates a directory with its first token: the SCIM base URL and bearer token an
/// admin pastes into the identity provider. The token is in this response only.
#[utoipa::path(
    post,
    path = "/admin/v1/directories",
    operation_id = "create_directory",
    tag = "directories",
    request_body = NewDirectory,
    responses((status = 201, description = "The directory, with its first SCIM token (shown only here)", body = CreatedDirectory), ChangeFailures)
)]
async fn create(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Body(new): Body<NewDirectory>,
) -> Result<(axum::http::StatusCode, Json<CreatedDirectory>), AdminError> {
    let (summary, token) =
        commands::directories::create(&state, &actor, &new.name, new.idp).await?;
    let created = CreatedDirectory {
        directory: view(&state, &summary),
        token: token.wire(),
    };
    Ok((axum::http::StatusCode::CREATED, Json(created)))
}

#[utoipa::path(
    delete,
    path = "/admin/v1/directories/{id}",
    operation_id = "delete_directory",
    tag = "directories",
    params(("id" = Uuid, Path, description = "The directory's id")),
    responses((status = 200, description = "What was deleted with it", body = DeletedDirectory), ChangeFailures)
)]
async fn remove(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
) -> Result<Json<DeletedDirectory>, AdminError> {
    let (dir, removed) = commands::directories::delete(&state, &actor, &id).await?;
    Ok(Json(DeletedDirectory {
        deleted: dir,
        removed,
    }))
}

/// Whether a push of someone the product already has adopts that member or is refused.
#[utoipa::path(
    put,
    path = "/admin/v1/directories/{id}/existing-members",
    operation_id = "set_existing_members",
    tag = "directories",
    params(("id" = Uuid, Path, description = "The directory's id")),
    request_body = ExistingMembersSetting,
    responses((status = 200, description = "The directory, changed", body = Directory), ChangeFailures)
)]
async fn set_existing_members(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
    Body(body): Body<ExistingMembersSetting>,
) -> Result<Json<Directory>, AdminError> {
    let setting = existing_members(body.existing_members);
    let after = commands::directories::change_controls(&state, &actor, &id, |c| {
        c.existing_members = setting;
    })
    .await?;
    Ok(Json(view(&state, &after)))
}

/// How long deactivated users are kept.
#[utoipa::path(
    put,
    path = "/admin/v1/directories/{id}/retention",
    operation_id = "set_retention",
    tag = "directories",
    params(("id" = Uuid, Path, description = "The directory's id")),
    request_body = RetentionSetting,
    responses((status = 200, description = "The directory, changed", body = Directory), ChangeFailures)
)]
async fn set_retention(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
    Body(body): Body<RetentionSetting>,
) -> Result<Json<Directory>, AdminError> {
    let after =
        commands::directories::set_retention(&state, &actor, &id, body.retention_days).await?;
    Ok(Json(view(&state, &after)))
}

/// Recomputes the directory's members and teams from the directory.
#[utoipa::path(
    post,
    path = "/admin/v1/directories/{id}/reconcile",
    operation_id = "reconcile_directory",
    tag = "directories",
    params(("id" = Uuid, Path, description = "The directory's id")),
    responses((status = 200, description = "What was changed", body = Reconciliation), ChangeFailures)
)]
async fn reconcile(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
) -> Result<Json<Reconciliation>, AdminError> {
    let done = commands::reconcile::reconcile(&state, &actor, &id, false).await?;
    Ok(Json(reconciliation(done, false)))
}

/// What reconciling would change, changing nothing.
#[utoipa::path(
    post,
    path = "/admin/v1/directories/{id}/reconcile/preview",
    operation_id = "preview_reconcile",
    tag = "directories",
    params(("id" = Uuid, Path, description = "The directory's id")),
    responses((status = 200, description = "What reconciling would change; nothing is changed", body = Reconciliation), ChangeFailures)
)]
async fn preview_reconcile(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
) -> Result<Json<Reconciliation>, AdminError> {
    let done = commands::reconcile::reconcile(&state, &actor, &id, true).await?;
    Ok(Json(reconciliation(done, true)))
}

/// Pauses the directory's provisioning: SCIM keeps answering, the product is left as
/// it is.
#[utoipa::path(
    post,
    path = "/admin/v1/directories/{id}/pause",
    operation_id = "pause_directory",
    tag = "directories",
    params(("id" = Uuid, Path, description = "The directory's id")),
    responses((status = 200, description = "The directory, changed", body = Directory), ChangeFailures)
)]
async fn pause(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
) -> Result<Json<Directory>, AdminError> {
    let after = commands::directories::set_paused(&state, &actor, &id, true).await?;
    Ok(Json(view(&state, &after)))
}

/// Resumes it: the product is recomputed from the directory.
#[utoipa::path(
    post,
    path = "/admin/v1/directories/{id}/resume",
    operation_id = "resume_directory",
    tag = "directories",
    params(("id" = Uuid, Path, description = "The directory's id")),
    responses((status = 200, description = "The directory, changed", body = Directory), ChangeFailures)
)]
async fn resume(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
) -> Result<Json<Directory>, AdminError> {
    let after = commands::directories::set_paused(&state, &actor, &id, false).await?;
    Ok(Json(view(&state, &after)))
}

#[utoipa::path(
    put,
    path = "/admin/v1/directories/{id}/seat-limit",
    operation_id = "set_seat_limit",
    tag = "directories",
    params(("id" = Uuid, Path, description = "The directory's id")),
    request_body = SeatLimit,
    responses((status = 200, description = "The directory, changed", body = Directory), ChangeFailures)
)]
async fn set_seat_limit(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
    Body(body): Body<SeatLimit>,
) -> Result<Json<Directory>, AdminError> {
    let limit = commands::directories::seat_limit(body.seat_limit)?;
    let changed =
        commands::directories::change_controls(&state, &actor, &id, |c| c.seat_limit = limit)
            .await?;
    Ok(Json(view(&state, &changed)))
}

#[utoipa::path(
    put,
    path = "/admin/v1/directories/{id}/trusted-domains",
    operation_id = "set_trusted_domains",
    tag = "directories",
    params(("id" = Uuid, Path, description = "The directory's id")),
    request_body = TrustedDomains,
    responses((status = 200, description = "The directory, changed", body = Directory), ChangeFailures)
)]
async fn set_trusted_domains(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
    Body(body): Body<TrustedDomains>,
) -> Result<Json<Directory>, AdminError> {
    let domains = commands::directories::trusted_domains(&body.domains)?;
    let changed = commands::directories::change_controls(&state, &actor, &id, |c| {
        c.trusted_domains = domains
    })
    .await?;
    Ok(Json(view(&state, &changed)))
}

/// Both controls in one change: checked together, stored together, one event.
#[utoipa::path(
    put,
    path = "/admin/v1/directories/{id}/access-rules",
    operation_id = "set_access_rules",
    tag = "directories",
    params(("id" = Uuid, Path, description = "The directory's id")),
    request_body = AccessRules,
    responses((status = 200, description = "The directory, changed", body = Directory), ChangeFailures)
)]
async fn set_access_rules(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
    Body(body): Body<AccessRules>,
) -> Result<Json<Directory>, AdminError> {
    let domains = commands::directories::trusted_domains(&body.trusted_domains)?;
    let limit = commands::directories::seat_limit(body.seat_limit)?;
    let changed = commands::directories::change_controls(&state, &actor, &id, |c| {
        c.trusted_domains = domains;
        c.seat_limit = limit;
    })
    .await?;
    Ok(Json(view(&state, &changed)))
}

/// Opens the request inspector window for `minutes`, or closes it (0). Audited; not an
/// event: what the log keeps is no subscriber's business. Every replica learns at once
/// (its token cache holds the window).
#[utoipa::path(
    put,
    path = "/admin/v1/directories/{id}/inspection",
    operation_id = "set_inspection",
    tag = "directories",
    params(("id" = Uuid, Path, description = "The directory's id")),
    request_body = Inspection,
    responses((status = 200, description = "The directory, changed", body = Directory), ChangeFailures)
)]
async fn set_inspection(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
    Body(body): Body<Inspection>,
) -> Result<Json<Directory>, AdminError> {
    let changed = commands::directories::set_inspection(&state, &actor, &id, body.minutes).await?;
    Ok(Json(view(&state, &changed)))
}

/// Chooses how provisioning assigns teams; the worker re-evaluates the directory.
#[utoipa::path(
    put,
    path = "/admin/v1/directories/{id}/team-mapping",
    operation_id = "set_team_mapping",
    tag = "directories",
    params(("id" = Uuid, Path, description = "The directory's id")),
    request_body = TeamMapping,
    responses((status = 200, description = "The directory, changed", body = Directory), ChangeFailures)
)]
async fn set_team_mapping(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
    Body(mapping): Body<TeamMapping>,
) -> Result<Json<Directory>, AdminError> {
    let changed =
        commands::directories::set_team_mapping(&state, &actor, &id, team_mapping(mapping)).await?;
    Ok(Json(view(&state, &changed)))
}

/// What switching the team mode would do, without doing it.
#[utoipa::path(
    post,
    path = "/admin/v1/directories/{id}/team-mapping/preview",
    operation_id = "preview_team_mapping",
    tag = "directories",
    params(("id" = Uuid, Path, description = "The directory's id")),
    request_body = TeamMapping,
    responses((status = 200, description = "What the switch would do; nothing is changed", body = Preview), ChangeFailures)
)]
async fn preview_team_mapping(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Body(mapping): Body<TeamMapping>,
) -> Result<Json<Preview>, AdminError> {
    Ok(Json(
        commands::directories::preview_team_mapping(&state, &id, team_mapping(mapping))
            .await?
            .wire(),
    ))
}
