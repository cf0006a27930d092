//! Reconciling a directory: its members and teams recomputed from the directory, as the
//! worker computes them ([`scim_product::recompute`]), after a restored backup or a hand
//! edit of the product's tables. A dry run does it all in a transaction it rolls back.

use scim_product::recompute::{self, Recomputed};
use serde_json::json;

use super::admin::{Actor, AdminError};
use super::directory::locked;
use super::preview::begin_preview;
use crate::AppState;

/// Recomputes the directory `id` names; applied (audited) unless `dry_run`. It runs in the
/// directory's list turn with the directory locked, so it neither races a settings
/// change nor holds the connections other directories need.
pub(crate) async fn reconcile(
    state: &AppState,
    actor: &Actor,
    id: &str,
    dry_run: bool,
) -> Result<Recomputed, AdminError> {
    let mut previewing = begin_preview(state, id).await?;
    let tx = &mut previewing.tx;
    let dir = locked(tx, id).await?.directory.id;
    let done = recompute::directory(tx, dir).await?;
    if dry_run {
        previewing.tx.rollback().await?;
        return Ok(done);
    }
    let details = json!({"changed": done.changed, "held": done.held});
    scim_store::audit::record(
        &mut **tx,
        &actor.0,
        "directory.reconciled",
        Some(dir),
        &details,
    )
    .await?;
    previewing.tx.commit().await?;
    Ok(done)
}
