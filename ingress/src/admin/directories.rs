//! Directories over HTTP: create, list, show, delete, and their settings (access rules,
//! team mode, the request inspector window); what each change does is
//! [`commands::directories`].

use axum::extract::{Extension, Path, State};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use scim_admin_api::{
    AccessRules, CreatedDirectory, DeletedDirectory, Directory, ExistingMembersSetting, Inspection,
    NewDirectory, Preview, Reconciliation, RetentionSetting, SeatLimit, TeamMapping,
    TrustedDomains,
};
use scim_store::directories::{self, Summary};

use super::wire::{Wire, existing_members, reconciliation, team_mapping};
use super::{Actor, AdminError, Body, parse_id};
use crate::{AppState, commands};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/v1/directories", get(list).post(create))
        .route("/admin/v1/directories/{id}", get(show).delete(remove))
        .route("/admin/v1/directories/{id}/seat-limit", put(set_seat_limit))
        .route(
            "/admin/v1/directories/{id}/access-rules",
            put(set_access_rules),
        )
        .route("/admin/v1/directories/{id}/inspection", put(set_inspection))
        .route(
            "/admin/v1/directories/{id}/trusted-domains",
            put(set_trusted_domains),
        )
        .route(
            "/admin/v1/directories/{id}/team-mapping",
            put(set_team_mapping),
        )
        .route(
            "/admin/v1/directories/{id}/team-mapping/preview",
            post(preview_team_mapping),
        )
        .route(
            "/admin/v1/directories/{id}/existing-members",
            put(set_existing_members),
        )
        .route("/admin/v1/directories/{id}/retention", put(set_retention))
        .route("/admin/v1/directories/{id}/reconcile", post(reconcile))
        .route(
            "/admin/v1/directories/{id}/reconcile/preview",
            post(preview_reconcile),
        )
        .route("/admin/v1/directories/{id}/pause", post(pause))
        .route("/admin/v1/directories/{id}/resume", post(resume))
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

async fn list(State(state): State<AppState>) -> Result<Json<Vec<Directory>>, AdminError> {
    let all = directories::list(&state.pool).await?;
    Ok(Json(all.iter().map(|s| view(&state, s)).collect()))
}

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
async fn reconcile(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
) -> Result<Json<Reconciliation>, AdminError> {
    let done = commands::reconcile::reconcile(&state, &actor, &id, false).await?;
    Ok(Json(reconciliation(done, false)))
}

/// What reconciling would change, changing nothing.
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
async fn pause(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
) -> Result<Json<Directory>, AdminError> {
    let after = commands::directories::set_paused(&state, &actor, &id, true).await?;
    Ok(Json(view(&state, &after)))
}

/// Resumes it: the product is recomputed from the directory.
async fn resume(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
) -> Result<Json<Directory>, AdminError> {
    let after = commands::directories::set_paused(&state, &actor, &id, false).await?;
    Ok(Json(view(&state, &after)))
}

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
