//! A directory as admin changes find it: locked for a change of its settings, or known
//! to exist for a read.

use scim_store::directories::{self, Summary};
use uuid::Uuid;

use super::admin::{AdminError, parse_id};

/// The directory, locked for a change of its settings; 404 if there is none.
pub(crate) async fn locked(
    tx: &mut sqlx::PgConnection,
    raw_id: &str,
) -> Result<Summary, AdminError> {
    let id = parse_id(raw_id, "directory")?;
    directories::lock(tx, id)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("no directory {id}")))
}

/// The id of an existing directory, for reads; 404 if there is none.
pub(crate) async fn existing(
    db: impl sqlx::PgExecutor<'_>,
    raw_id: &str,
) -> Result<Uuid, AdminError> {
    let id = parse_id(raw_id, "directory")?;
    if directories::exists(db, id).await? {
        Ok(id)
    } else {
        Err(AdminError::NotFound(format!("no directory {id}")))
    }
}
