//! NATS connection and the JetStream streams every binary relies on.

use crate::config::NatsConfig;
use crate::event::{DEAD_LETTER_STREAM, DEAD_LETTER_SUBJECTS, STREAM, SUBJECTS};
use async_nats::jetstream::{self, stream};
use std::time::Duration;

/// Connects without failing when the server is down: the client keeps retrying in the
/// background, so the ingress answers SCIM requests while NATS is away.
pub async fn connect(
    config: &NatsConfig,
    name: &str,
) -> Result<async_nats::Client, async_nats::ConnectError> {
    async_nats::ConnectOptions::new()
        .name(name)
        .retry_on_initial_connect()
        .connection_timeout(Duration::from_secs(5))
        .connect(&config.nats_url)
        .await
}

/// Creates or updates the event and dead-letter streams; idempotent, so every replica
/// of every service may call it at start-up.
pub async fn ensure_streams(
    js: &jetstream::Context,
    replicas: usize,
) -> Result<(), jetstream::context::CreateStreamError> {
    js.create_or_update_stream(stream::Config {
        name: STREAM.into(),
        subjects: vec![SUBJECTS.into()],
        retention: stream::RetentionPolicy::Limits,
        storage: stream::StorageType::File,
        max_age: Duration::from_secs(7 * 24 * 3600),
        duplicate_window: Duration::from_secs(120),
        num_replicas: replicas,
        ..Default::default()
    })
    .await?;
    js.create_or_update_stream(stream::Config {
        name: DEAD_LETTER_STREAM.into(),
        subjects: vec![DEAD_LETTER_SUBJECTS.into()],
        retention: stream::RetentionPolicy::Limits,
        storage: stream::StorageType::File,
        max_age: Duration::from_secs(30 * 24 * 3600),
        num_replicas: replicas,
        ..Default::default()
    })
    .await?;
    Ok(())
}
