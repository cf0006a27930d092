//! NATS connection and the JetStream streams every binary relies on.

use crate::config::{NatsConfig, NatsCredentials};
use async_nats::jetstream::{self, stream};
use scim_events::{DEAD_LETTER_STREAM, DEAD_LETTER_SUBJECTS, STREAM, SUBJECTS};
use std::time::Duration;

/// Connects without failing when the server is down: the client keeps retrying in the
/// background, so the ingress answers SCIM requests while NATS is away. `NATS_URL` may
/// list several servers of a cluster, comma-separated; the client also learns the
/// others from the one it reaches.
pub async fn connect(
    config: &NatsConfig,
    name: &str,
) -> Result<async_nats::Client, async_nats::ConnectError> {
    let servers = server_addrs(&config.nats_url).map_err(|e| {
        async_nats::ConnectError::with_source(async_nats::ConnectErrorKind::ServerParse, e)
    })?;
    options(&config.credentials)
        .await?
        .name(name)
        .retry_on_initial_connect()
        .connection_timeout(Duration::from_secs(5))
        .connect(servers)
        .await
}

/// Connection options that present `credentials` (see [`NatsCredentials`]).
pub async fn options(
    credentials: &NatsCredentials,
) -> Result<async_nats::ConnectOptions, async_nats::ConnectError> {
    let mut options = async_nats::ConnectOptions::new();
    if !credentials.nats_creds.is_empty() {
        options = options
            .credentials_file(&credentials.nats_creds)
            .await
            .map_err(|e| {
                async_nats::ConnectError::with_source(async_nats::ConnectErrorKind::Io, e)
            })?;
    } else if !credentials.nats_user.is_empty() {
        options = options.user_and_password(
            credentials.nats_user.clone(),
            credentials.nats_password.clone(),
        );
    }
    if !credentials.nats_tls_ca.is_empty() {
        options = options.add_root_certificates(credentials.nats_tls_ca.clone().into());
    }
    Ok(options.custom_inbox_prefix(credentials.inbox_prefix()))
}

/// The servers of a comma-separated list of NATS URLs.
pub fn server_addrs(urls: &str) -> Result<Vec<async_nats::ServerAddr>, std::io::Error> {
    urls.split(',')
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(str::parse)
        .collect()
}

/// Waits until the event and dead-letter streams exist (the ingress's relay creates
/// them); false if `shutdown` came first.
pub async fn wait_for_streams(
    js: &jetstream::Context,
    shutdown: &tokio_util::sync::CancellationToken,
) -> bool {
    let mut waited = Duration::ZERO;
    loop {
        let found =
            futures::future::join(js.get_stream(STREAM), js.get_stream(DEAD_LETTER_STREAM)).await;
        match found {
            (Ok(_), Ok(_)) => return true,
            (events, dead_letters) => {
                if waited.as_secs().is_multiple_of(30) {
                    let error = events.err().or(dead_letters.err());
                    tracing::warn!(
                        error = ?error,
                        "waiting for the ingress to set up the JetStream streams"
                    );
                }
            }
        }
        let pause = Duration::from_secs(1);
        tokio::select! {
            _ = shutdown.cancelled() => return false,
            _ = tokio::time::sleep(pause) => waited += pause,
        }
    }
}

/// Creates or updates the event and dead-letter streams; idempotent, so every replica
/// of the ingress may call it (the worker and subscribers have no right to).
pub async fn ensure_streams(
    js: &jetstream::Context,
    replicas: usize,
    retention_days: u32,
) -> Result<(), jetstream::context::CreateStreamError> {
    js.create_or_update_stream(stream::Config {
        name: STREAM.into(),
        subjects: vec![SUBJECTS.into()],
        retention: stream::RetentionPolicy::Limits,
        storage: stream::StorageType::File,
        max_age: Duration::from_secs(u64::from(retention_days.max(1)) * 24 * 3600),
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

#[cfg(test)]
mod tests {
    #[test]
    fn nats_url_lists_several_servers() {
        let servers = super::server_addrs("nats://a:4222, nats://b:4223,").unwrap();
        assert_eq!(servers.len(), 2);
        assert_eq!(servers[1].port(), 4223);
        assert!(super::server_addrs("nats://a:notaport").is_err());
    }
}
