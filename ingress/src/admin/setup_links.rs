//! Setup links of a directory: issued (the URL shown once), listed, revoked. Each is
//! audited; the link's secret never is.

use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use scim_admin_api::{IssuedSetupLink, NewSetupLink, SetupLink};
use scim_store::{audit, setup};
use serde_json::json;
use time::{Duration, OffsetDateTime};

use super::{Actor, AdminError, OptionalBody, parse_id};
use crate::AppState;
use crate::commands::directory::{existing, locked};

/// How long a link lives unless the operator says otherwise, and at most.
const DEFAULT_HOURS: i64 = 72;
const MAX_DAYS: i64 = 30;

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
    let now = OffsetDateTime::now_utc();
    let expires_at = new
        .expires_at
        .unwrap_or(now + Duration::hours(DEFAULT_HOURS));
    if expires_at <= now || expires_at > now + Duration::days(MAX_DAYS) {
        return Err(AdminError::Invalid(format!(
            "expires_at must be in the future and at most {MAX_DAYS} days ahead"
        )));
    }
    let mut tx = state.pool.begin().await?;
    let dir = locked(&mut tx, &id).await?.directory.id;
    let issued = setup::issue_link(&mut *tx, dir, expires_at, new.allow_controls).await?;
    audit::record(
        &mut *tx,
        &actor.0,
        "setup_link.created",
        Some(dir),
        &json!({"link": issued.info.id, "expires_at": issued.info.expires_at.unix_timestamp(), "allow_controls": new.allow_controls}),
    )
    .await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(IssuedSetupLink {
            url: format!("{}/setup#{}", state.public_base_url(), issued.secret),
            expires_at: issued.info.expires_at,
            link: issued.info,
        }),
    ))
}

async fn list(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Vec<SetupLink>>, AdminError> {
    let dir = existing(&state.pool, &id).await?;
    Ok(Json(setup::links(&state.pool, dir).await?))
}

/// Revokes the link and ends its sessions at once.
async fn revoke(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path((id, link_id)): Path<(String, String)>,
) -> Result<Json<SetupLink>, AdminError> {
    let link = parse_id(&link_id, "setup link")?;
    let mut tx = state.pool.begin().await?;
    let dir = locked(&mut tx, &id).await?.directory.id;
    let revoked = setup::revoke_link(&mut tx, dir, link)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("no setup link {link} in directory {dir}")))?;
    audit::record(
        &mut *tx,
        &actor.0,
        "setup_link.revoked",
        Some(dir),
        &json!({"link": link}),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(revoked))
}
