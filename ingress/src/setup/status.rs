//! The setup page's live status: where the customer's identity provider stands with
//! this directory, from the request log and the directory's counts.

use axum::Json;
use axum::extract::State;
use scim_store::request_log::{self, Entry, StatusFilter};
use scim_store::setup::Session;
use scim_store::{directories, snapshot};
use serde::{Deserialize, Serialize};

use super::SetupError;
use crate::AppState;

/// Errors shown: the newest ones, with the detail the identity provider was given.
const RECENT_ERRORS: i64 = 10;

/// How far the connection has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Stage {
    /// No request has arrived yet: the identity provider is not connected.
    Waiting,
    /// The newest request was refused for its credentials (401, 403): the identity
    /// provider reaches the service but holds a wrong, revoked or expired token.
    Refused,
    /// Requests arrive (the connection test among them), but no user or group yet.
    Connected,
    /// Users or groups have been received.
    Provisioning,
}

impl Stage {
    /// From the newest request's status (`None`: no request kept in the log) and what
    /// the directory holds.
    pub(crate) fn of(newest: Option<u16>, users: i64, groups: i64) -> Stage {
        let received = users + groups > 0;
        match newest {
            Some(401 | 403) => Stage::Refused,
            _ if received => Stage::Provisioning,
            Some(_) => Stage::Connected,
            None => Stage::Waiting,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Status {
    pub stage: Stage,
    /// The first request kept in the log: usually the identity provider's test call,
    /// with the answer it got.
    pub first_request: Option<Entry>,
    /// The newest request, with the answer it got: whether the identity provider's
    /// latest attempt worked.
    pub last_request: Option<Entry>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_request_at: Option<time::OffsetDateTime>,
    pub users: i64,
    pub active_users: i64,
    pub groups: i64,
    /// Newest first, with the detail the identity provider was given.
    pub recent_errors: Vec<Entry>,
}

pub(crate) async fn status(
    State(state): State<AppState>,
    session: Session,
) -> Result<Json<Status>, SetupError> {
    let dir = session.directory;
    // One view of the log and the counts: read apart, a batch of log entries stored
    // between the reads showed an error of the identity provider's under "waiting",
    // before the request that came first.
    let mut tx = state.pool.begin().await?;
    snapshot::fix(&mut tx).await?;
    let summary = directories::show(&mut *tx, dir).await?;
    let first_request = request_log::first(&mut *tx, dir).await?;
    let recent_errors =
        request_log::recent(&mut *tx, dir, StatusFilter::Errors, RECENT_ERRORS).await?;
    let last_request = request_log::recent(&mut *tx, dir, StatusFilter::Any, 1)
        .await?
        .pop();
    tx.commit().await?;
    let (users, active_users, groups, last) = summary.map_or((0, 0, 0, None), |s| {
        (s.users, s.active_users, s.groups, s.last_request_at)
    });
    Ok(Json(Status {
        stage: Stage::of(last_request.as_ref().map(|r| r.status), users, groups),
        first_request,
        last_request,
        last_request_at: last,
        users,
        active_users,
        groups,
        recent_errors,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stage_follows_what_has_arrived() {
        assert_eq!(Stage::of(None, 0, 0), Stage::Waiting);
        assert_eq!(Stage::of(Some(200), 0, 0), Stage::Connected);
        // A refused filter is the identity provider's mistake, not a broken connection.
        assert_eq!(Stage::of(Some(400), 0, 0), Stage::Connected);
        assert_eq!(Stage::of(Some(200), 3, 0), Stage::Provisioning);
        assert_eq!(Stage::of(Some(201), 0, 1), Stage::Provisioning);
        // Users without a request kept in the log (it expired): still provisioning.
        assert_eq!(Stage::of(None, 2, 0), Stage::Provisioning);
        // A wrong or revoked token, whatever came before.
        assert_eq!(Stage::of(Some(401), 0, 0), Stage::Refused);
        assert_eq!(Stage::of(Some(403), 5, 2), Stage::Refused);
    }
}
