//! Events the relay set aside because NATS refused them for good (`outbox_parked`):
//! list them, put one back in the outbox once its cause is fixed (a larger
//! `max_payload`, say), or discard it. Every action is audited.

use axum::extract::{Extension, Path, Query, State};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use scim_admin_api::{Discarded, ParkedEvent, Republished};
use scim_store::{audit, outbox};
use serde::Deserialize;
use uuid::Uuid;

use super::{Actor, AdminError};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/v1/outbox/parked", get(list))
        .route("/admin/v1/outbox/parked/{seq}", delete(discard))
        .route("/admin/v1/outbox/parked/{seq}/republish", post(republish))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    directory: Option<Uuid>,
}

fn describe(p: &outbox::Parked) -> ParkedEvent {
    ParkedEvent {
        seq: p.seq,
        event_id: p.event_id,
        subject: p.subject.clone(),
        directory_id: directory_of(&p.subject),
        bytes: p.bytes,
        created_at: p.created_at,
        parked_at: p.parked_at,
        reason: p.reason.clone(),
    }
}

/// `scim.v1.<directory>.user.created` → the directory.
fn directory_of(subject: &str) -> Option<Uuid> {
    subject
        .split('.')
        .nth(2)
        .and_then(|d| Uuid::try_parse(d).ok())
}

/// The events set aside, oldest first; of one directory with `?directory=`.
async fn list(
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Vec<ParkedEvent>>, AdminError> {
    let parked = outbox::parked(&state.pool, q.directory).await?;
    Ok(Json(parked.iter().map(describe).collect()))
}

fn seq(raw: &str) -> Result<i64, AdminError> {
    raw.parse()
        .map_err(|_| AdminError::NotFound(format!("no event set aside as {raw:?}")))
}

/// Does `act` to the set-aside event `raw` in one transaction with its audit record
/// (`action`); returns the event as it was described, and what `act` returned.
async fn audited<T>(
    state: &AppState,
    actor: &Actor,
    raw: &str,
    action: &str,
    act: impl AsyncFnOnce(&mut sqlx::PgConnection, i64) -> Result<T, sqlx::Error>,
) -> Result<(ParkedEvent, T), AdminError> {
    let seq = seq(raw)?;
    let mut tx = state.pool.begin().await?;
    let parked = outbox::parked_one(&mut tx, seq)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("no event set aside as {seq}")))?;
    let done = act(&mut tx, seq).await?;
    let described = describe(&parked);
    let details = serde_json::to_value(&described).unwrap_or_default();
    audit::record(&mut *tx, &actor.0, action, described.directory_id, &details).await?;
    tx.commit().await?;
    Ok((described, done))
}

/// Puts the event back at the end of the outbox: the relay publishes it, or sets it
/// aside again (under a new seq) if NATS still refuses it.
async fn republish(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(raw): Path<String>,
) -> Result<Json<Republished>, AdminError> {
    let (described, outbox_seq) = audited(
        &state,
        &actor,
        &raw,
        "outbox.republished",
        async |tx, seq| outbox::republish(tx, seq).await,
    )
    .await?;
    // The event is locked from its reading to its move: it was there to move.
    let outbox_seq =
        outbox_seq.ok_or_else(|| AdminError::NotFound(format!("no event set aside as {raw:?}")))?;
    Ok(Json(Republished {
        republished: described,
        outbox_seq,
    }))
}

/// Deletes the event for good; subscribers will never see it.
async fn discard(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(raw): Path<String>,
) -> Result<Json<Discarded>, AdminError> {
    let (described, ()) = audited(&state, &actor, &raw, "outbox.discarded", async |tx, seq| {
        outbox::discard(tx, seq).await
    })
    .await?;
    Ok(Json(Discarded {
        discarded: described,
    }))
}
