//! A directory's snapshot (`scim_events::snapshot`): JSON lines written as they are read
//! from one REPEATABLE READ transaction, so a directory of a million users is streamed,
//! never held whole. It starts under the relays' publishing lock, after reading the
//! stream's last sequence: every event after that sequence is either after the
//! snapshot, or one the snapshot holds and lists as pending.

use async_nats::jetstream;
use axum::body::Bytes;
use futures::StreamExt;
use scim_events::snapshot::Line;
use scim_events::{CONTRACT_VERSION, MEMBER_IDS_PER_EVENT, ResourceType, STREAM};
use scim_product::teams::plan as team;
use scim_store::{audit, directories, outbox, snapshot};
use serde_json::json;
use sqlx::{PgConnection, Postgres, Transaction};
use tokio::sync::mpsc;
use uuid::Uuid;

use super::admin::{Actor, AdminError, nats};
use super::directory::existing;
use crate::{AppState, representation};

/// Lines written ahead of the reader at most.
const AHEAD: usize = 256;

/// Takes the snapshot of the directory `id`: audited, then written line by line (each
/// one JSON with its newline) to the receiver as the reader takes them. A snapshot
/// that ends without its end line was cut short.
pub(crate) async fn take(
    state: &AppState,
    actor: &Actor,
    id: &str,
) -> Result<mpsc::Receiver<Bytes>, AdminError> {
    let directory = existing(&state.pool, id).await?;
    let js = jetstream::new(state.nats.clone());
    let mut tx = state.pool.begin().await?;
    // The lock is a session's: its connection is closed, never pooled again holding it.
    let mut lock = state.pool.acquire().await?;
    lock.close_on_drop();
    let start_after = outbox::snapshot_start(&mut lock, async || {
        let mut stream = js.get_stream(STREAM).await.map_err(nats)?;
        let last = stream.info().await.map_err(nats)?.state.last_sequence;
        snapshot::fix(&mut tx).await?;
        Ok::<u64, AdminError>(last)
    })
    .await??;
    drop(lock);
    audit::record(
        &state.pool,
        &actor.0,
        "directory.snapshot_taken",
        Some(directory),
        &json!({"start_after_sequence": start_after}),
    )
    .await?;
    let (lines, rx) = mpsc::channel(AHEAD);
    let state = state.clone();
    tokio::spawn(async move {
        if let Err(e) = write(&state, directory, start_after, tx, &lines).await {
            tracing::warn!(error = %e, %directory, "snapshot cut short");
        }
    });
    Ok(rx)
}

#[derive(Debug, thiserror::Error)]
enum WriteError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("the client went away")]
    Gone,
}

/// Sends lines to the client, counting them for the end line (which counts those
/// before it).
struct Lines<'a> {
    out: &'a mpsc::Sender<Bytes>,
    sent: u64,
}

impl Lines<'_> {
    async fn send(&mut self, line: &Line) -> Result<(), WriteError> {
        let mut text = serde_json::to_vec(line).map_err(|e| sqlx::Error::Decode(e.into()))?;
        text.push(b'\n');
        self.out
            .send(text.into())
            .await
            .map_err(|_| WriteError::Gone)?;
        self.sent += 1;
        Ok(())
    }
}

async fn write(
    state: &AppState,
    directory: Uuid,
    start_after_sequence: u64,
    mut tx: Transaction<'static, Postgres>,
    out: &mpsc::Sender<Bytes>,
) -> Result<(), WriteError> {
    let mut lines = Lines { out, sent: 0 };
    let conn: &mut PgConnection = &mut tx;
    lines
        .send(&Line::Header {
            contract_version: CONTRACT_VERSION,
            directory_id: directory,
            stream: STREAM.into(),
            start_after_sequence,
            taken_at: time::OffsetDateTime::now_utc(),
        })
        .await?;
    if let Some(summary) = directories::show(&mut *conn, directory).await? {
        lines
            .send(&Line::Directory {
                resource: summary.event_resource(),
                resource_version: summary.version,
            })
            .await?;
    }
    let mut all = snapshot::users(&mut *conn, directory);
    while let Some(user) = all.next().await {
        let user = user?;
        let resource_version = user.version;
        let (resource, _) = representation::user(state, directory, user);
        lines
            .send(&Line::User {
                resource,
                resource_version,
            })
            .await?;
    }
    drop(all);
    let mut all = snapshot::groups(&mut *conn, directory);
    while let Some(group) = all.next().await {
        let group = group?;
        let resource = representation::group(state, directory, &group);
        let resource_version = group.version;
        lines
            .send(&Line::Group {
                resource,
                resource_version,
            })
            .await?;
    }
    drop(all);
    let mut all = snapshot::memberships(&mut *conn, directory);
    let (mut group_id, mut member_ids) = (None, Vec::new());
    while let Some(membership) = all.next().await {
        let (group, user) = membership?;
        if group_id != Some(group) || member_ids.len() == MEMBER_IDS_PER_EVENT {
            if let Some(group_id) = group_id.filter(|_| !member_ids.is_empty()) {
                let member_ids = std::mem::take(&mut member_ids);
                lines
                    .send(&Line::Members {
                        group_id,
                        member_ids,
                    })
                    .await?;
            }
            group_id = Some(group);
        }
        member_ids.push(user);
    }
    drop(all);
    if let Some(group_id) = group_id.filter(|_| !member_ids.is_empty()) {
        lines
            .send(&Line::Members {
                group_id,
                member_ids,
            })
            .await?;
    }
    for t in snapshot::teams(&mut *conn, directory).await? {
        let resource = team::resource(t.id, &t.name, &t.groups);
        lines
            .send(&Line::Team {
                resource,
                resource_version: t.version,
            })
            .await?;
    }
    let mut all = snapshot::team_members(&mut *conn, directory);
    while let Some(m) = all.next().await {
        let m = m?;
        let member = team::member(m.member_id, m.scim_user_id, m.email.as_deref());
        lines
            .send(&Line::TeamMember {
                team_id: m.team_id,
                member,
                source: m.source,
                suspended: m.suspended,
            })
            .await?;
    }
    drop(all);
    for (resource_type, resource_id, resource_version) in
        snapshot::pending(&mut *conn, directory).await?
    {
        let resource_type: ResourceType =
            serde_json::from_value(resource_type.into()).unwrap_or(ResourceType::Unknown);
        lines
            .send(&Line::Pending {
                resource_type,
                resource_id,
                resource_version,
            })
            .await?;
    }
    tx.commit().await?;
    let count = lines.sent;
    lines.send(&Line::End { lines: count }).await
}
