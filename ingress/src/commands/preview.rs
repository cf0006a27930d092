//! Previews of admin changes: the change is made in a transaction, applied as the
//! worker would, read back and rolled back, in the directory's list turn.

use scim_product::hold::Screen;
use scim_product::teams::preview::{self, Preview};
use uuid::Uuid;

use super::admin::{AdminError, parse_id};
use crate::AppState;
use crate::quota::ListTurn;

/// A preview's transaction, for the change to be made in, then previewed and undone
/// ([`preview_and_undo`]).
pub(crate) struct Previewing {
    pub tx: sqlx::Transaction<'static, sqlx::Postgres>,
    /// A preview re-evaluates the whole directory: it runs in the directory's list turn,
    /// so one directory's previews take turns with its lists and with one another.
    _turn: ListTurn,
}

/// Begins a preview of a change to the directory `id` names: it waits for the
/// directory's turn (at most `LIST_TIMEOUT_MS`, then 429) before it takes a database
/// connection, and its statements, waits for locks included, are cut after
/// `LIST_TIMEOUT_MS` (503): previews of a large directory cannot hold the connections
/// other directories' writes need.
pub(crate) async fn begin_preview(state: &AppState, id: &str) -> Result<Previewing, AdminError> {
    let directory = parse_id(id, "directory")?;
    let turn =
        state.quotas.list_turn(directory).await.map_err(|e| {
            AdminError::Busy(format!("previews share the directory's list turns: {e}"))
        })?;
    let mut tx = state.pool.begin().await?;
    scim_store::time_limit(&mut tx, state.quotas.list_wait()).await?;
    Ok(Previewing { tx, _turn: turn })
}

/// Applies a change made (uncommitted) in the preview's transaction as the worker would,
/// tells what that did, and undoes it all.
pub(crate) async fn preview_and_undo(
    previewing: Previewing,
    directory: Uuid,
) -> Result<Preview, AdminError> {
    let Previewing { mut tx, _turn } = previewing;
    let preview = preview::run(&mut tx, directory, Screen::Off).await?;
    tx.rollback().await?;
    Ok(preview)
}
