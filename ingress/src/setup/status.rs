//! The setup page's live status: where the customer's identity provider stands with
//! this directory, from the request log and the directory's counts.

use axum::Json;
use axum::extract::State;
use scim_admin_api::RequestEntry;
use scim_store::request_log::{self, Entry, Query, StatusFilter};
use scim_store::setup::Session;
use scim_store::{directories, snapshot};
use serde::{Deserialize, Serialize};

use super::SetupError;
use crate::AppState;
use crate::admin::wire::Wire;

/// Errors shown: the newest ones, with the detail the identity provider was given.
const RECENT_ERRORS: i64 = 10;
/// How far back among the directory's latest requests a success is looked for: past
/// this many errors in a row, the connection is failing whatever came before.
const SUCCESS_WITHIN: i64 = 1000;

/// How far the connection has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Stage {
    /// No request has arrived yet: the identity provider is not connected.
    Waiting,
    /// The newest request was refused for its token (401): the identity provider
    /// reaches the service but holds a wrong, revoked or expired token.
    Refused,
    /// Requests arrive but none has succeeded lately: the identity provider reaches
    /// the directory and is refused for what it sends.
    Failing,
    /// A request has succeeded (the connection test among them), but no user or group
    /// has arrived yet.
    Connected,
    /// Users or groups have been received.
    Provisioning,
}

impl Stage {
    /// From the newest request's status (`None`: no request kept in the log), whether
    /// one of the latest requests succeeded, and what the directory holds.
    pub(crate) fn of(newest: Option<u16>, succeeded: bool, users: i64, groups: i64) -> Stage {
        match newest {
            Some(401) => Stage::Refused,
            _ if users + groups > 0 => Stage::Provisioning,
            _ if succeeded => Stage::Connected,
            Some(_) => Stage::Failing,
            None => Stage::Waiting,
        }
    }
}

/// A request as the panel shows it: what was answered, and for an error what the
/// customer's admin can do about it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Request {
    #[serde(flatten)]
    pub entry: RequestEntry,
    /// For an error, what to do.
    pub advice: Option<String>,
    /// An error older than the newest success: the identity provider has got through
    /// since.
    pub resolved: bool,
}

impl Request {
    fn new(entry: RequestEntry, last_success: Option<time::OffsetDateTime>) -> Request {
        Request {
            advice: advice(entry.status, entry.detail.as_deref()).map(str::to_owned),
            resolved: entry.status >= 400 && last_success.is_some_and(|at| at > entry.at),
            entry,
        }
    }
}

/// What the customer's admin can do about a request answered `status` (`detail`: what
/// its identity provider was told); `None` for a success.
pub(crate) fn advice(status: u16, detail: Option<&str>) -> Option<&'static str> {
    Some(match status {
        ..400 => return None,
        401 if detail.is_some_and(|d| d.contains("expired")) => {
            "The token expired: generate a new one above, paste it into your identity \
             provider and save."
        }
        401 => {
            "Token not recognised: paste the token generated above into your identity \
             provider (the whole value, nothing before or after it), save, and test again."
        }
        403 => {
            "Refused by this directory's access rules (trusted email domains or seat \
             limit, below): change the user in your identity provider, or the rules."
        }
        404 => {
            "Not found: check that the SCIM base URL in your identity provider is exactly \
             the one above. For one user or group, it was deleted here: your identity \
             provider creates it again on its next push."
        }
        409 => {
            "Already here: this directory has a user with that userName (or a group with \
             that name). Make your identity provider match users by userName, or remove \
             the duplicate there."
        }
        413 => "Too large: the user or group sent is over this service's size limit.",
        429 => {
            "Too many requests at once: your identity provider retries by itself; nothing \
             to do unless it keeps happening."
        }
        400 | 422 => {
            "Your identity provider sent something this service cannot accept: the message \
             says which attribute; correct its mapping in your identity provider."
        }
        500.. => {
            "The service could not answer: your identity provider retries by itself; if \
             it keeps happening, contact support."
        }
        _ => {
            "Not a request this service supports: check that the app in your identity \
             provider uses SCIM 2.0 and the base URL above."
        }
    })
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Status {
    pub stage: Stage,
    /// The first request kept in the log: usually the identity provider's test call,
    /// with the answer it got.
    pub first_request: Option<Request>,
    /// The newest request, with the answer it got: whether the identity provider's
    /// latest attempt worked.
    pub last_request: Option<Request>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_request_at: Option<time::OffsetDateTime>,
    /// When the newest successful request arrived, among the latest.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_success_at: Option<time::OffsetDateTime>,
    pub users: i64,
    pub active_users: i64,
    pub groups: i64,
    pub teams: i64,
    /// Members whose deactivation or deletion the mass-deprovisioning hold keeps (0: no
    /// hold is open).
    pub held: i64,
    /// Provisioning is paused: requests are answered and recorded, access in the product
    /// does not change.
    pub paused: bool,
    /// Newest first, with the detail the identity provider was given.
    pub recent_errors: Vec<Request>,
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
    let recent_errors = request_log::recent(
        &mut *tx,
        dir,
        Query::status(StatusFilter::Errors),
        RECENT_ERRORS,
    )
    .await?;
    let last_request = request_log::recent(&mut *tx, dir, Query::status(StatusFilter::Any), 1)
        .await?
        .pop();
    let last_success = request_log::last_success(&mut *tx, dir, SUCCESS_WITHIN).await?;
    let held = scim_product::hold::show(&mut *tx, dir)
        .await?
        .map_or(0, |h| h.held());
    tx.commit().await?;
    let paused = summary.as_ref().is_some_and(|s| s.paused_at.is_some());
    let (users, active_users, groups, teams, last) = summary.map_or((0, 0, 0, 0, None), |s| {
        (
            s.users,
            s.active_users,
            s.groups,
            s.teams,
            s.last_request_at,
        )
    });
    let view = |e: Entry| Request::new(e.wire(), last_success);
    Ok(Json(Status {
        stage: Stage::of(
            last_request.as_ref().map(|r| r.status),
            last_success.is_some(),
            users,
            groups,
        ),
        first_request: first_request.map(view),
        last_request: last_request.map(view),
        last_request_at: last,
        last_success_at: last_success,
        users,
        active_users,
        groups,
        teams,
        held,
        paused,
        recent_errors: recent_errors.into_iter().map(view).collect(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stage_follows_what_has_arrived() {
        assert_eq!(Stage::of(None, false, 0, 0), Stage::Waiting);
        assert_eq!(Stage::of(Some(200), true, 0, 0), Stage::Connected);
        // Only errors so far: reaching the directory is not being connected.
        assert_eq!(Stage::of(Some(400), false, 0, 0), Stage::Failing);
        assert_eq!(Stage::of(Some(404), false, 0, 0), Stage::Failing);
        // A refused filter after a success is the identity provider's mistake, not a
        // broken connection.
        assert_eq!(Stage::of(Some(400), true, 0, 0), Stage::Connected);
        assert_eq!(Stage::of(Some(200), true, 3, 0), Stage::Provisioning);
        assert_eq!(Stage::of(Some(201), true, 0, 1), Stage::Provisioning);
        // Users without a request kept in the log (it expired): still provisioning.
        assert_eq!(Stage::of(None, false, 2, 0), Stage::Provisioning);
        // A wrong or revoked token, whatever came before.
        assert_eq!(Stage::of(Some(401), false, 0, 0), Stage::Refused);
        assert_eq!(Stage::of(Some(401), true, 5, 2), Stage::Refused);
        // 403 is the directory's access rules refusing one user: not the token.
        assert_eq!(Stage::of(Some(403), true, 5, 2), Stage::Provisioning);
    }

    #[test]
    fn errors_come_with_what_to_do_and_are_resolved_by_a_later_success() {
        assert_eq!(advice(200, None), None);
        assert_eq!(advice(204, None), None);
        assert!(
            advice(401, Some("a valid bearer token is required"))
                .unwrap()
                .starts_with("Token not recognised")
        );
        assert!(
            advice(401, Some("the bearer token expired: issue a new one"))
                .unwrap()
                .starts_with("The token expired")
        );
        assert!(advice(403, None).unwrap().contains("access rules"));
        assert!(advice(409, None).unwrap().contains("userName"));
        assert!(advice(503, None).unwrap().contains("retries"));
        assert!(advice(405, None).unwrap().contains("SCIM 2.0"));

        let at = time::OffsetDateTime::now_utc();
        let entry = |status, at| RequestEntry {
            directory_id: uuid::Uuid::nil(),
            at,
            method: "GET".into(),
            path: "/Users".into(),
            status,
            duration_ms: 1.0,
            detail: None,
            resource_id: None,
            resource: None,
            body: None,
        };
        let later = Some(at + time::Duration::seconds(1));
        assert!(Request::new(entry(401, at), later).resolved);
        assert!(!Request::new(entry(401, at), None).resolved);
        let earlier = Some(at - time::Duration::seconds(1));
        assert!(!Request::new(entry(401, at), earlier).resolved);
        // A success is never "resolved": there was nothing to resolve.
        assert!(!Request::new(entry(200, at), later).resolved);
    }
}
