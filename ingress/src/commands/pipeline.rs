//! Where the deployment's events stand: the outbox's backlog, the lag of every
//! consumer of the events stream, the dead letters waiting.

use futures::TryStreamExt;
use scim_admin_api::{ConsumerLag, Pipeline};
use scim_events::{DEAD_LETTER_STREAM, STREAM};
use scim_store::outbox;

use super::admin::{AdminError, nats};
use crate::AppState;
use crate::admin::wire::Wire;

pub(crate) async fn status(state: &AppState) -> Result<Pipeline, AdminError> {
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
    Ok(Pipeline {
        outbox: outbox.wire(),
        consumers,
        dead_letters,
    })
}
