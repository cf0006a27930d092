//! Tokens about to expire: each is announced once (`directory.token_expiring`, by
//! whichever replica finds it first) and counted in gauges, so that an operator rotates
//! it before the identity provider starts getting 401s.

use scim_events::Action;
use scim_store::directories;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

use crate::AppState;
use crate::commands::tokens::token_event;

/// How tokens near their expiry are found.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Settings {
    /// How long before its expiry a token is announced and counted as expiring.
    pub window: Duration,
    /// How often to look.
    pub every: Duration,
}

/// Announces and counts expiring tokens every `settings.every` until `shutdown`.
pub(crate) async fn watch(state: AppState, settings: Settings, shutdown: CancellationToken) {
    let window = settings.window.as_secs_f64();
    loop {
        match announce(&state, window).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(tokens = n, "announced tokens that expire soon"),
            Err(e) => tracing::warn!(error = %e, "looking for tokens that expire soon"),
        }
        match directories::expiry_counts(&state.pool, window).await {
            Ok((expiring, expired)) => {
                state.metrics.tokens_expiring.set(expiring);
                state.metrics.tokens_expired.set(expired);
            }
            Err(e) => tracing::debug!(error = %e, "counting tokens that expire soon"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(settings.every) => {}
        }
    }
}

/// Publishes `directory.token_expiring` for each token newly within the window, at
/// its directory's next version, in the transaction that claims it.
async fn announce(state: &AppState, window_seconds: f64) -> Result<usize, sqlx::Error> {
    let mut tx = state.pool.begin().await?;
    let expiring = directories::claim_expiring(&mut tx, window_seconds).await?;
    for token in &expiring {
        let Some(dir) = directories::lock(&mut tx, token.directory).await? else {
            continue;
        };
        let version = directories::bump_version(&mut tx, token.directory).await?;
        let event = token_event(
            &dir,
            Action::TokenExpiring,
            version,
            (token.id, &token.prefix, Some(token.expires_at)),
        );
        scim_store::outbox::insert(&mut *tx, &[event]).await?;
    }
    tx.commit().await?;
    Ok(expiring.len())
}
