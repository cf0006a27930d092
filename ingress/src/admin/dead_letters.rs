//! Events the worker gave up on (stream `SCIM_DEAD_LETTERS`): list them, and replay one
//! once its cause is fixed. Replaying is always safe: the worker recomputes from the
//! directory's current state.

use axum::extract::{Extension, Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use scim_events::DEAD_LETTER_STREAM;
use scim_service::telemetry::TRACEPARENT;
use scim_store::audit;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Actor, AdminError};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/v1/dead-letters", get(list))
        .route("/admin/v1/dead-letters/{seq}/replay", post(replay))
}

fn nats(e: impl std::fmt::Display) -> AdminError {
    AdminError::Unavailable(format!("NATS: {e}"))
}

/// A dead letter as the worker wrote it, with its place in the stream.
fn describe(seq: u64, letter: &Value) -> Value {
    let event: Value = letter["payload"]
        .as_str()
        .and_then(|p| serde_json::from_str(p).ok())
        .unwrap_or(Value::Null);
    json!({
        "seq": seq,
        "subject": letter["subject"],
        "reason": letter["reason"],
        "attempts": letter["attempts"],
        "consumer": letter["consumer"],
        "event_id": event["id"],
        "event_type": event["type"],
        "directory_id": event["directory_id"],
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
) -> Result<Json<Value>, AdminError> {
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let js = async_nats::jetstream::new(state.nats.clone());
    let mut stream = js.get_stream(DEAD_LETTER_STREAM).await.map_err(nats)?;
    let info = stream.info().await.map_err(nats)?.state.clone();
    let mut out = Vec::new();
    let mut seq = info.first_sequence;
    while seq <= info.last_sequence && out.len() < limit && info.messages > 0 {
        // Gaps (deleted letters) are skipped.
        if let Ok(message) = stream.get_raw_message(seq).await {
            let letter: Value = serde_json::from_slice(&message.payload).unwrap_or(Value::Null);
            out.push(describe(seq, &letter));
        }
        seq += 1;
    }
    Ok(Json(Value::Array(out)))
}

/// Publishes the dead letter's event again on its original subject, then removes the
/// letter.
async fn replay(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(seq): Path<String>,
) -> Result<Json<Value>, AdminError> {
    let seq: u64 = seq
        .parse()
        .map_err(|_| AdminError::NotFound(format!("no dead letter {seq:?}")))?;
    let js = async_nats::jetstream::new(state.nats.clone());
    let stream = js.get_stream(DEAD_LETTER_STREAM).await.map_err(nats)?;
    let message = stream
        .get_raw_message(seq)
        .await
        .map_err(|_| AdminError::NotFound(format!("no dead letter {seq}")))?;
    let letter: Value = serde_json::from_slice(&message.payload).unwrap_or(Value::Null);
    let (Some(subject), Some(payload)) = (letter["subject"].as_str(), letter["payload"].as_str())
    else {
        return Err(AdminError::Invalid(format!(
            "dead letter {seq} does not hold a subject and a payload"
        )));
    };
    let described = describe(seq, &letter);
    let mut headers = async_nats::HeaderMap::new();
    // A new message id: the original is within JetStream's duplicate window at most.
    let event_id = described["event_id"].as_str().unwrap_or("unknown");
    headers.insert("Nats-Msg-Id", format!("{event_id}-replay-{seq}").as_str());
    if let Some(tp) = scim_service::telemetry::current_traceparent() {
        headers.insert(TRACEPARENT, tp.as_str());
    }
    js.publish_with_headers(subject.to_owned(), headers, payload.to_owned().into())
        .await
        .map_err(nats)?
        .await
        .map_err(nats)?;
    stream.delete_message(seq).await.map_err(nats)?;
    let directory = described["directory_id"]
        .as_str()
        .and_then(|d| uuid::Uuid::try_parse(d).ok());
    audit::record(
        &state.pool,
        &actor.0,
        "dead_letter.replayed",
        directory,
        &described,
    )
    .await?;
    Ok(Json(json!({"replayed": described})))
}
