//! Events the worker gave up on (stream `SCIM_DEAD_LETTERS`): list them, and replay one
//! once its cause is fixed. Replaying is always safe: the worker recomputes from the
//! directory's current state.

use axum::extract::{Extension, Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use scim_admin_api::{DeadLetter as View, Replayed};
use scim_events::{DEAD_LETTER_STREAM, DeadLetter, Event};
use scim_service::telemetry::TRACEPARENT;
use scim_store::audit;
use serde::Deserialize;

use super::{Actor, AdminError, nats};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/v1/dead-letters", get(list))
        .route("/admin/v1/dead-letters/{seq}/replay", post(replay))
}

/// A dead letter as the worker wrote it, with its place in the stream and, when its
/// payload is an event, which.
fn describe(seq: u64, letter: &DeadLetter) -> View {
    let event = serde_json::from_str::<Event>(&letter.payload).ok();
    View {
        seq,
        subject: letter.subject.clone(),
        reason: letter.reason.clone(),
        attempts: letter.attempts,
        consumer: letter.consumer.clone(),
        event_id: event.as_ref().map(|e| e.id),
        event_type: event.as_ref().map(|e| e.event_type.clone()),
        directory_id: event.map(|e| e.directory_id),
    }
}

/// A message of the dead-letter stream; one that is not a dead letter is described as
/// such, so it is seen and can be dealt with.
fn letter(payload: &[u8]) -> DeadLetter {
    serde_json::from_slice(payload).unwrap_or_else(|e| DeadLetter {
        reason: format!("not a dead letter this release reads: {e}"),
        consumer: String::new(),
        attempts: 0,
        subject: String::new(),
        payload: String::from_utf8_lossy(payload).into_owned(),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    limit: Option<usize>,
}

/// The oldest dead letters first, at most `limit` (100).
async fn list(
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Vec<View>>, AdminError> {
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let js = async_nats::jetstream::new(state.nats.clone());
    let mut stream = js.get_stream(DEAD_LETTER_STREAM).await.map_err(nats)?;
    let info = stream.info().await.map_err(nats)?.state.clone();
    let mut out = Vec::new();
    let mut seq = info.first_sequence;
    while seq <= info.last_sequence && out.len() < limit && info.messages > 0 {
        // Gaps (deleted letters) are skipped.
        if let Ok(message) = stream.get_raw_message(seq).await {
            out.push(describe(seq, &letter(&message.payload)));
        }
        seq += 1;
    }
    Ok(Json(out))
}

/// Publishes the dead letter's event again on its original subject, then removes the
/// letter.
async fn replay(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(seq): Path<String>,
) -> Result<Json<Replayed>, AdminError> {
    let seq: u64 = seq
        .parse()
        .map_err(|_| AdminError::NotFound(format!("no dead letter {seq:?}")))?;
    let js = async_nats::jetstream::new(state.nats.clone());
    let stream = js.get_stream(DEAD_LETTER_STREAM).await.map_err(nats)?;
    let message = stream
        .get_raw_message(seq)
        .await
        .map_err(|_| AdminError::NotFound(format!("no dead letter {seq}")))?;
    let letter: DeadLetter = serde_json::from_slice(&message.payload).map_err(|e| {
        AdminError::Invalid(format!(
            "dead letter {seq} is not one this release reads: {e}"
        ))
    })?;
    let described = describe(seq, &letter);
    let mut headers = async_nats::HeaderMap::new();
    // A new message id: the original is within JetStream's duplicate window at most.
    let event_id = described
        .event_id
        .map_or_else(|| "unknown".to_owned(), |id| id.to_string());
    headers.insert("Nats-Msg-Id", format!("{event_id}-replay-{seq}").as_str());
    if let Some(tp) = scim_service::telemetry::current_traceparent() {
        headers.insert(TRACEPARENT, tp.as_str());
    }
    js.publish_with_headers(letter.subject, headers, letter.payload.into())
        .await
        .map_err(nats)?
        .await
        .map_err(nats)?;
    stream.delete_message(seq).await.map_err(nats)?;
    audit::record(
        &state.pool,
        &actor.0,
        "dead_letter.replayed",
        described.directory_id,
        &serde_json::to_value(&described).unwrap_or_default(),
    )
    .await?;
    Ok(Json(Replayed {
        replayed: described,
    }))
}
