//! What reaches no subscriber, and what an operator does about it: events the relay set
//! aside because NATS refused them for good (`outbox_parked`: put back in the outbox
//! once the cause is fixed, or discarded), and events the worker gave up on (stream
//! `SCIM_DEAD_LETTERS`: replayed; always safe, the worker recomputes from the
//! directory's current state). Every action is audited.

use scim_admin_api::{DeadLetter as View, Discarded, ParkedEvent, Replayed, Republished};
use scim_events::{DEAD_LETTER_STREAM, DeadLetter, Event};
use scim_service::telemetry::TRACEPARENT;
use scim_store::{audit, outbox};
use uuid::Uuid;

use super::admin::{Actor, AdminError, nats};
use crate::AppState;

/// A set-aside event as the admin API shows it and its audit records name it.
fn describe_parked(p: &outbox::Parked) -> ParkedEvent {
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

/// The events set aside, oldest first; of one directory when given.
pub(crate) async fn parked(
    state: &AppState,
    directory: Option<Uuid>,
) -> Result<Vec<ParkedEvent>, AdminError> {
    let parked = outbox::parked(&state.pool, directory).await?;
    Ok(parked.iter().map(describe_parked).collect())
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
    let described = describe_parked(&parked);
    let details = serde_json::to_value(&described).unwrap_or_default();
    audit::record(&mut *tx, &actor.0, action, described.directory_id, &details).await?;
    tx.commit().await?;
    Ok((described, done))
}

/// Puts the event back at the end of the outbox: the relay publishes it, or sets it
/// aside again (under a new seq) if NATS still refuses it.
pub(crate) async fn republish(
    state: &AppState,
    actor: &Actor,
    raw: &str,
) -> Result<Republished, AdminError> {
    let (described, outbox_seq) =
        audited(state, actor, raw, "outbox.republished", async |tx, seq| {
            outbox::republish(tx, seq).await
        })
        .await?;
    // The event is locked from its reading to its move: it was there to move.
    let outbox_seq =
        outbox_seq.ok_or_else(|| AdminError::NotFound(format!("no event set aside as {raw:?}")))?;
    Ok(Republished {
        republished: described,
        outbox_seq,
    })
}

/// Deletes the event for good; subscribers will never see it.
pub(crate) async fn discard(
    state: &AppState,
    actor: &Actor,
    raw: &str,
) -> Result<Discarded, AdminError> {
    let (described, ()) = audited(state, actor, raw, "outbox.discarded", async |tx, seq| {
        outbox::discard(tx, seq).await
    })
    .await?;
    Ok(Discarded {
        discarded: described,
    })
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

/// The oldest dead letters first, at most `limit`.
pub(crate) async fn dead_letters(state: &AppState, limit: usize) -> Result<Vec<View>, AdminError> {
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
    Ok(out)
}

/// Publishes the dead letter's event again on its original subject, then removes the
/// letter.
pub(crate) async fn replay(
    state: &AppState,
    actor: &Actor,
    seq: &str,
) -> Result<Replayed, AdminError> {
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
    Ok(Replayed {
        replayed: described,
    })
}
