//! Optional retention: users a directory's identity provider deactivated and left
//! unchanged for the directory's `retention_days` are deleted, as the identity provider
//! deleting them would (`user.deleted`, the member removed). The member was already
//! deactivated, so the mass-deprovisioning hold does not count it. Every replica looks;
//! a user changed meanwhile (or deleted by another replica) is left alone.

use scim_store::users;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

use crate::AppState;
use crate::commands::users::delete_in;
use crate::etag::IfMatch;

/// Users deleted per look: the next look takes the rest.
const PER_LOOK: i64 = 1000;

/// Deletes users past their directory's retention every `every` until `shutdown`.
pub(crate) async fn watch(state: AppState, every: Duration, shutdown: CancellationToken) {
    loop {
        match delete_expired(&state).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(users = n, "deleted users past their directory's retention"),
            Err(e) => tracing::warn!(error = %e, "looking for users past their retention"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
    }
}

async fn delete_expired(state: &AppState) -> Result<usize, sqlx::Error> {
    let mut deleted = 0;
    for (directory, user, version) in users::past_retention(&state.pool, PER_LOOK).await? {
        // Only at the version found deactivated: a change since is the identity
        // provider's, and restarts the clock.
        let at = IfMatch::from_version(Some(&format!("W/\"{version}\"")));
        match delete_in(state, directory, user, &at).await {
            Ok(()) => deleted += 1,
            Err(e) => tracing::debug!(%directory, %user, error = ?e, "not deleted by retention"),
        }
    }
    Ok(deleted)
}
