//! Where the deployment's events stand: the outbox's backlog, the lag of every
//! consumer of the events stream, the dead letters waiting.

use futures::TryStreamExt;
use scim_admin_api::ConsumerLag;
use scim_events::{DEAD_LETTER_STREAM, STREAM};
use scim_store::outbox::{self, Backlog};

use super::admin::{AdminError, nats};
use crate::AppState;

/// Where the events stand.
pub(crate) struct Status {
    /// Committed and not yet published, and those set aside.
    pub outbox: Backlog,
    /// Every durable consumer of the events stream, by name.
    pub consumers: Vec<ConsumerLag>,
    /// Events the worker gave up on.
    pub dead_letters: u64,
}

pub(crate) async fn status(state: &AppState) -> Result<Status, AdminError> {
    let outbox = outbox::backlog(&mut *state.pool.acquire().await?).await?;
    let js = async_nats::jetstream::new(state.nats.clone());
    let stream = js.get_stream(STREAM).await.map_err(nats)?;
    let mut consumers: Vec<ConsumerLag> = stream
        .consumers()
        .map_ok(|c| ConsumerLag {
            name: c.name,
            pending: c.num_pending,
            ack_pending: c.num_ack_pending as u64,
        })
        .try_collect()
        .await
        .map_err(nats)?;
    consumers.sort_by(|a, b| a.name.cmp(&b.name));
    let dead_letters = match js.get_stream(DEAD_LETTER_STREAM).await {
        Ok(mut s) => s.info().await.map_err(nats)?.state.messages,
        // The worker makes the stream on its first dead letter.
        Err(_) => 0,
    };
    Ok(Status {
        outbox,
        consumers,
        dead_letters,
    })
}
