//! A directory as admin changes find it: locked for a change of its settings, or known
//! to exist for a read; and as its events carry it.

use scim_store::directories::{self, Summary, TeamMapping};
use serde_json::{Value, json};
use uuid::Uuid;

use super::admin::{AdminError, parse_id};

/// The directory in events: its settings, without counts.
pub(crate) fn resource(s: &Summary) -> Value {
    json!({
        "id": s.directory.id,
        "name": s.directory.name,
        "idp": s.directory.idp,
        "seat_limit": s.controls.seat_limit,
        "trusted_domains": s.controls.trusted_domains,
        "team_mode": s.team_mapping.mode(),
        "team_attribute": match &s.team_mapping {
            TeamMapping::Attribute { attribute, .. } => Some(attribute),
            _ => None,
        },
        "mirror_pattern": match &s.team_mapping {
            TeamMapping::Mirrored { pattern } => pattern.as_ref(),
            _ => None,
        },
        "unmapped_values": match &s.team_mapping {
            TeamMapping::Attribute { unmapped, .. } => Some(unmapped.as_str()),
            _ => None,
        },
    })
}

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
