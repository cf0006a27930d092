//! What every admin change shares, whoever asks for it (the admin API, the setup page's
//! share of it, the console): who asks, why a change is refused, and how a change is
//! recorded (its audit record and its event, in the change's own transaction). The
//! admin API turns an [`AdminError`] into its answer, in one place.

use scim_core::limits;
use scim_events::Event;
use scim_store::directories::TokenOrigin;
use scim_store::{audit, outbox};
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::AppState;

/// Who is making an admin request: the name the client gives in `X-Admin-Actor` (or
/// "operator") and which operator token it used, by fingerprint.
#[derive(Debug, Clone)]
pub struct Actor(pub String, pub Via);

/// Whose hands an admin request came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// An operator token: scimctl, the console, the product's backend.
    Operator,
    /// A customer's admin on the setup page.
    SetupLink,
}

impl Via {
    pub(crate) fn token_origin(self) -> TokenOrigin {
        match self {
            Via::Operator => TokenOrigin::Operator,
            Via::SetupLink => TokenOrigin::SetupLink,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("a valid operator token is required")]
    Unauthorized,
    #[error("{0}")]
    NotFound(String),
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Conflict(String),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("{0}")]
    Unavailable(String),
    /// Too much of one directory at once (its list turns): 429, retry in a second.
    #[error("{0}")]
    Busy(String),
}

/// NATS failing an admin request (a stream read, a publish): 503, retry.
pub(crate) fn nats(e: impl std::fmt::Display) -> AdminError {
    AdminError::Unavailable(format!("NATS: {e}"))
}

/// The id in a path segment; 404 when it is not one.
pub(crate) fn parse_id(raw: &str, what: &str) -> Result<Uuid, AdminError> {
    Uuid::try_parse(raw).map_err(|_| AdminError::NotFound(format!("no such {what}")))
}

/// Records an admin change in its transaction: the audit record and its event. A change
/// whose event NATS could not carry is refused (400) before anything is recorded: an
/// event that could never be published would leave the change stored but never applied.
pub(crate) async fn record(
    tx: &mut PgConnection,
    state: &AppState,
    actor: &Actor,
    directory: Uuid,
    event: Event,
    details: Value,
) -> Result<(), AdminError> {
    let event = event
        .with_actor(&actor.0)
        .traced(scim_service::telemetry::current_traceparent());
    publishable(state, &event)?;
    audit::record(
        &mut *tx,
        &actor.0,
        &event.event_type,
        Some(directory),
        &details,
    )
    .await?;
    outbox::insert(tx, &[event]).await?;
    Ok(())
}

/// Refuses an event larger than the largest one the event stream is set up to carry
/// (`limits::largest_event` of `MAX_RESOURCE_BYTES`: the ingress checks at start-up that
/// NATS's `max_payload` carries it and its dead letter), counted as it is written, every
/// quote and control character escaped.
fn publishable(state: &AppState, event: &Event) -> Result<(), AdminError> {
    let max = limits::largest_event(state.max_resource_bytes);
    let bytes = limits::json_len(event);
    if bytes <= max {
        return Ok(());
    }
    Err(AdminError::Invalid(format!(
        "this change would make a {} event of {bytes} bytes (it carries the new and the previous version), over the {max} bytes events may have (set by MAX_RESOURCE_BYTES): use fewer or shorter names",
        event.event_type
    )))
}
