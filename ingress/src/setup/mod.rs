//! The setup page's sessions (the customer's IT admin's way in): a setup link, issued
//! by an operator, is exchanged here for a session cookie bound to its directory. The
//! page itself reads the link from its URL's fragment and posts it, so the secret never
//! travels in a URL a server sees. Served on the public listener, beside `/scim`: the
//! customer reaches this host already; the admin API stays internal.

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Extension, Json, Router};
use scim_store::setup::{self, Refused, Session};
use scim_store::{audit, directories};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::net::IpAddr;
use std::time::Duration;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::AppState;
use crate::listener::Peer;
use crate::quota::Rate;
use axum::extract::ConnectInfo;

/// The session cookie's name ([`set_cookie`] says how it is sent); under https with the
/// `__Host-` prefix, which browsers accept only from a secure origin, for the whole
/// host and no other, so no sibling domain can set or shadow it.
const COOKIE: &str = "scim_setup";
const SECURE_COOKIE: &str = "__Host-scim_setup";
/// The header a state-changing request repeats the session's CSRF token in.
const CSRF_HEADER: &str = "x-csrf-token";

mod guides;
mod scoped;
mod status;
mod vendor;

pub(crate) use vendor::Vendor;

pub(crate) fn routes(state: &AppState) -> Router<AppState> {
    crate::pages::SETUP
        .routes()
        .route("/setup/session", post(open).get(current).delete(close))
        .route("/setup/status", get(status::status))
        .route("/setup/vendor", get(vendor::vendor))
        .route("/setup/logo", get(vendor::logo))
        .route("/setup/guides/{idp}", get(guides::serve))
        .route(
            "/setup/api/{*path}",
            any(scoped::forward).layer(Extension(scoped::AdminApi(
                crate::admin::unchecked(state.clone())
                    .layer(axum::extract::DefaultBodyLimit::max(state.max_body_bytes)),
            ))),
        )
}

/// Why a setup request is refused: a JSON `{"error": …}` with its status.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SetupError {
    #[error("{0}")]
    Refused(&'static str),
    #[error("{0}")]
    Invalid(String),
    #[error("the request is not from this page (missing or wrong CSRF token)")]
    Forged,
    #[error("{0}")]
    NotAllowed(&'static str),
    #[error("the setup page has no such action")]
    NoSuchAction,
    #[error("too many requests for this directory; retry in {0} s")]
    TooMany(u64),
    #[error("too many attempts to open a setup link from here or with this link; retry in {0} s")]
    TooManyAttempts(u64),
    #[error("the database is unavailable; retry")]
    Database(#[from] sqlx::Error),
}

impl SetupError {
    fn refused(why: Refused) -> SetupError {
        SetupError::Refused(match why {
            // Whom to ask is the page's to say (`SUPPORT_CONTACT`, `/setup/vendor`).
            Refused::Unknown => "this setup link or session is not valid",
            Refused::Expired => "this setup link has expired",
            Refused::Revoked => "this setup link was revoked",
        })
    }
}

impl IntoResponse for SetupError {
    fn into_response(self) -> Response {
        let status = match &self {
            SetupError::Refused(_) => StatusCode::UNAUTHORIZED,
            SetupError::Invalid(_) => StatusCode::BAD_REQUEST,
            SetupError::Forged | SetupError::NotAllowed(_) => StatusCode::FORBIDDEN,
            SetupError::NoSuchAction => StatusCode::NOT_FOUND,
            SetupError::TooMany(_) | SetupError::TooManyAttempts(_) => {
                StatusCode::TOO_MANY_REQUESTS
            }
            SetupError::Database(e) => {
                tracing::warn!(error = %e, "setup request failed");
                StatusCode::SERVICE_UNAVAILABLE
            }
        };
        let mut res = (status, Json(json!({"error": self.to_string()}))).into_response();
        if let SetupError::TooMany(wait) | SetupError::TooManyAttempts(wait) = self {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(wait));
        }
        res
    }
}

/// What the page knows about its session.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SessionView {
    pub directory: DirectoryRef,
    /// Repeat it in `X-CSRF-Token` on every change.
    pub csrf: String,
    /// When this session ends (then the link opens a new one, while it lasts).
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// When the setup link stops opening sessions.
    #[serde(with = "time::serde::rfc3339")]
    pub link_expires_at: OffsetDateTime,
    pub allow_controls: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct DirectoryRef {
    pub id: Uuid,
    pub name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OpenRequest {
    link: String,
}

async fn view(state: &AppState, session: &Session) -> Result<SessionView, SetupError> {
    let name = directories::show(&state.pool, session.directory)
        .await?
        .map(|s| s.directory.name)
        .unwrap_or_default();
    Ok(SessionView {
        directory: DirectoryRef {
            id: session.directory,
            name,
        },
        csrf: session.csrf.clone(),
        expires_at: session.expires_at,
        link_expires_at: session.link_expires_at,
        allow_controls: session.allow_controls,
    })
}

/// The link's actor in the audit log.
fn actor(session: &Session) -> String {
    format!("setup link {}", session.link)
}

/// Attempts to open a setup link allowed per client address and per link, a minute
/// (at once after a quiet spell, then spread over the minute). A link is a 256-bit
/// secret, so this does not guard the secret: it keeps floods of attempts off the
/// database.
const OPENS_PER_ADDRESS: f64 = 30.0;
const OPENS_PER_LINK: f64 = 10.0;

/// How often attempts to open a setup link come, per client address and per link.
pub(crate) struct Attempts {
    by_address: Rate<IpAddr>,
    by_link: Rate<Uuid>,
}

impl Default for Attempts {
    fn default() -> Self {
        Attempts {
            by_address: Rate::new(OPENS_PER_ADDRESS / 60.0, OPENS_PER_ADDRESS),
            by_link: Rate::new(OPENS_PER_LINK / 60.0, OPENS_PER_LINK),
        }
    }
}

impl Attempts {
    fn admit(&self, client: IpAddr, link: Uuid) -> Result<(), SetupError> {
        self.by_address
            .admit(client)
            .and_then(|()| self.by_link.admit(link))
            .map_err(SetupError::TooManyAttempts)
    }
}

/// The address a request came from: the last `X-Forwarded-For` entry, which the proxy
/// in front of the service (an ingress controller) appends, else the connection's peer.
fn client(headers: &HeaderMap, peer: Option<Peer>) -> IpAddr {
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .next_back()
        .and_then(|a| a.trim().parse().ok())
        .or(peer.map(|p| p.0.ip()))
        .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED))
}

/// Exchanges a setup link for a session. A link of the wrong shape is refused, and
/// attempts past their rate, before the database is asked anything.
async fn open(
    State(state): State<AppState>,
    peer: Option<Extension<ConnectInfo<Peer>>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, SetupError> {
    let request: OpenRequest = serde_json::from_slice(&body)
        .map_err(|_| SetupError::Invalid("send {\"link\": \"setup_…\"}".into()))?;
    let link = setup::link_id(&request.link).ok_or(SetupError::refused(Refused::Unknown))?;
    let peer = peer.map(|Extension(ConnectInfo(p))| p);
    state.setup_attempts.admit(client(&headers, peer), link)?;
    let mut tx = state.pool.begin().await?;
    let (session, secret) = setup::open(&mut tx, &request.link)
        .await?
        .map_err(SetupError::refused)?;
    audit::record(
        &mut *tx,
        &actor(&session),
        "setup.session_opened",
        Some(session.directory),
        &json!({"session": session.id}),
    )
    .await?;
    tx.commit().await?;
    let max_age = (session.expires_at - OffsetDateTime::now_utc())
        .whole_seconds()
        .max(0);
    let mut res = (StatusCode::CREATED, Json(view(&state, &session).await?)).into_response();
    set_cookie(&state, &mut res, &secret, max_age);
    Ok(res)
}

/// Deletes expired sessions and long-dead links every `every`, until `shutdown`.
pub(crate) async fn purge(state: AppState, every: Duration, shutdown: CancellationToken) {
    loop {
        match setup::purge(&state.pool).await {
            Ok((0, 0)) => {}
            Ok((sessions, links)) => {
                tracing::info!(sessions, links, "purged expired setup sessions and links")
            }
            Err(e) => tracing::warn!(error = %e, "could not purge expired setup sessions"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
    }
}

async fn current(
    State(state): State<AppState>,
    session: Session,
) -> Result<Json<SessionView>, SetupError> {
    Ok(Json(view(&state, &session).await?))
}

/// Signs out: the session ends and the cookie is cleared.
async fn close(
    State(state): State<AppState>,
    Changing(session): Changing,
) -> Result<Response, SetupError> {
    setup::close(&state.pool, session.id).await?;
    let mut res = StatusCode::NO_CONTENT.into_response();
    set_cookie(&state, &mut res, "", 0);
    Ok(res)
}

/// Sets the session cookie on `res` (an empty value with no age clears it): never sent
/// to scripts, never cross-site; under https only over https, for this host alone
/// (`__Host-`, which needs `Path=/`); over plain http (a local try-out) only to `/setup`.
fn set_cookie(state: &AppState, res: &mut Response, value: &str, max_age: i64) {
    let cookie = match secure(state) {
        true => format!(
            "{SECURE_COOKIE}={value}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age={max_age}"
        ),
        false => {
            format!("{COOKIE}={value}; Path=/setup; HttpOnly; SameSite=Strict; Max-Age={max_age}")
        }
    };
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        res.headers_mut().insert(header::SET_COOKIE, value);
    }
}

fn secure(state: &AppState) -> bool {
    state.public_base_url().starts_with("https://")
}

/// The value of the cookie `name` among the request's.
fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(name)?.strip_prefix('='))
}

/// The request's live session, from its cookie.
impl FromRequestParts<AppState> for Session {
    type Rejection = SetupError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Session, SetupError> {
        let name = if secure(state) { SECURE_COOKIE } else { COOKIE };
        let cookie = cookie(&parts.headers, name).ok_or(SetupError::Refused(
            "no setup session: open the setup link again",
        ))?;
        setup::session(&state.pool, cookie)
            .await?
            .map_err(SetupError::refused)
    }
}

/// A session whose request repeats its CSRF token: required of every change.
pub(crate) struct Changing(pub Session);

impl FromRequestParts<AppState> for Changing {
    type Rejection = SetupError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Changing, SetupError> {
        let session = Session::from_request_parts(parts, state).await?;
        let sent = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
        let same = sent.is_some_and(|s| {
            bool::from(subtle::ConstantTimeEq::ct_eq(
                s.as_bytes(),
                session.csrf.as_bytes(),
            ))
        });
        if !same {
            return Err(SetupError::Forged);
        }
        Ok(Changing(session))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; scim_setup=abc; b=2"),
        );
        assert_eq!(cookie(&headers, COOKIE), Some("abc"));
        assert_eq!(cookie(&headers, SECURE_COOKIE), None);
        headers.insert(header::COOKIE, HeaderValue::from_static("scim_setupx=1"));
        assert_eq!(cookie(&headers, COOKIE), None);
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("__Host-scim_setup=def"),
        );
        assert_eq!(cookie(&headers, SECURE_COOKIE), Some("def"));
    }

    #[test]
    fn the_client_is_the_address_the_nearest_proxy_saw() {
        let peer = Some(Peer("10.0.0.9:4000".parse().unwrap()));
        let mut headers = HeaderMap::new();
        assert_eq!(
            client(&headers, peer),
            "10.0.0.9".parse::<IpAddr>().unwrap()
        );
        headers.insert(
            "x-forwarded-for",
            HeaderValue::from_static("1.2.3.4, 203.0.113.7"),
        );
        assert_eq!(
            client(&headers, peer),
            "203.0.113.7".parse::<IpAddr>().unwrap()
        );
    }
}
