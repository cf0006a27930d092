//! Setup links and their sessions: how a customer's IT admin reaches one directory's
//! setup page. A link is a bearer secret (`setup_<id><secret>`), stored as a SHA-256
//! digest, shown once; opening it exchanges it for a session secret (the page's
//! cookie) bound to the link's directory. A session lives while its link is neither
//! revoked nor expired, and at most [`SESSION_HOURS`].

use crate::secret;
use sqlx::{PgConnection, PgExecutor};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// Links start with this, so secret scanners can recognize a leaked one.
pub const LINK_PREFIX: &str = "setup_";
/// Sessions last at most this long, and never past their link.
pub const SESSION_HOURS: i64 = 12;

/// A link as listed: never its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkInfo {
    pub id: Uuid,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub revoked_at: Option<OffsetDateTime>,
    pub first_used_at: Option<OffsetDateTime>,
    pub allow_controls: bool,
}

/// A new link: its secret, shown only now.
#[derive(Debug, Clone)]
pub struct IssuedLink {
    pub info: LinkInfo,
    pub secret: String,
}

/// A live session: the directory it may see and act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: Uuid,
    pub directory: Uuid,
    pub link: Uuid,
    pub allow_controls: bool,
    pub csrf: String,
    pub expires_at: OffsetDateTime,
    /// When the link it was opened with stops opening sessions.
    pub link_expires_at: OffsetDateTime,
}

/// Why a link or session secret opens nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Not a secret this service issued (or for a session: unknown or ended).
    Unknown,
    Expired,
    Revoked,
}

pub async fn issue_link(
    db: impl PgExecutor<'_>,
    directory: Uuid,
    expires_at: OffsetDateTime,
    allow_controls: bool,
) -> Result<IssuedLink, sqlx::Error> {
    let id = Uuid::new_v4();
    let secret = secret::new();
    let digest = secret::digest(&secret);
    let info = sqlx::query_as!(
        LinkInfo,
        "INSERT INTO setup_links (id, directory_id, secret_sha256, expires_at, allow_controls)
         VALUES ($1, $2, $3, $4, $5)
         RETURNING id, created_at, expires_at, revoked_at, first_used_at, allow_controls",
        id,
        directory,
        digest.as_slice(),
        expires_at,
        allow_controls
    )
    .fetch_one(db)
    .await?;
    Ok(IssuedLink {
        info,
        secret: secret::join(LINK_PREFIX, id, &secret),
    })
}

/// The directory's links, newest first.
pub async fn links(db: impl PgExecutor<'_>, directory: Uuid) -> Result<Vec<LinkInfo>, sqlx::Error> {
    sqlx::query_as!(
        LinkInfo,
        "SELECT id, created_at, expires_at, revoked_at, first_used_at, allow_controls
         FROM setup_links WHERE directory_id = $1 ORDER BY created_at DESC, id",
        directory
    )
    .fetch_all(db)
    .await
}

/// Revokes the directory's link, which ends its sessions: each is refused from then on
/// as revoked (so an open page can say so), and purged when it would have expired.
/// `None` if the directory has no such link.
pub async fn revoke_link(
    conn: &mut PgConnection,
    directory: Uuid,
    link: Uuid,
) -> Result<Option<LinkInfo>, sqlx::Error> {
    let revoked = sqlx::query_as!(
        LinkInfo,
        "UPDATE setup_links SET revoked_at = coalesce(revoked_at, now())
         WHERE id = $1 AND directory_id = $2
         RETURNING id, created_at, expires_at, revoked_at, first_used_at, allow_controls",
        link,
        directory
    )
    .fetch_optional(conn)
    .await?;
    Ok(revoked)
}

/// The id of the link `link_text` would be, if it has a link's shape: checked before
/// anything is asked of the database.
pub fn link_id(link_text: &str) -> Option<Uuid> {
    secret::split(link_text, LINK_PREFIX).map(|(id, _)| id)
}

/// Days a link is kept after it expired or was revoked (the console lists it), before
/// [`purge`] deletes it.
pub const LINKS_KEPT_DAYS: i32 = 30;

/// Deletes the sessions past their expiry, and the links that expired or were revoked
/// more than [`LINKS_KEPT_DAYS`] ago with their sessions. Returns (sessions, links).
pub async fn purge(db: &sqlx::PgPool) -> Result<(u64, u64), sqlx::Error> {
    let sessions = sqlx::query!("DELETE FROM setup_sessions WHERE expires_at <= now()")
        .execute(db)
        .await?
        .rows_affected();
    let links = sqlx::query!(
        "DELETE FROM setup_links
         WHERE least(expires_at, coalesce(revoked_at, expires_at)) < now() - make_interval(days => $1)",
        LINKS_KEPT_DAYS
    )
    .execute(db)
    .await?
    .rows_affected();
    Ok((sessions, links))
}

/// Exchanges a link for a new session: (the session, its secret for the cookie).
pub async fn open(
    conn: &mut PgConnection,
    link_text: &str,
) -> Result<Result<(Session, String), Refused>, sqlx::Error> {
    let Some((id, secret)) = secret::split(link_text, LINK_PREFIX) else {
        return Ok(Err(Refused::Unknown));
    };
    let Some(link) = sqlx::query!(
        r#"SELECT directory_id, secret_sha256, expires_at, revoked_at IS NOT NULL AS "revoked!",
                  expires_at <= now() AS "expired!", allow_controls
           FROM setup_links WHERE id = $1 FOR UPDATE"#,
        id
    )
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(Err(Refused::Unknown));
    };
    if !secret::matches(&secret, &link.secret_sha256) {
        return Ok(Err(Refused::Unknown));
    }
    if link.revoked {
        return Ok(Err(Refused::Revoked));
    }
    if link.expired {
        return Ok(Err(Refused::Expired));
    }
    let session_secret = secret::new();
    let csrf = secret::new();
    let expires_at = link
        .expires_at
        .min(OffsetDateTime::now_utc() + Duration::hours(SESSION_HOURS));
    let session_id = Uuid::new_v4();
    let digest = secret::digest(&session_secret);
    sqlx::query!(
        "INSERT INTO setup_sessions (id, link_id, secret_sha256, csrf, expires_at)
         VALUES ($1, $2, $3, $4, $5)",
        session_id,
        id,
        digest.as_slice(),
        csrf,
        expires_at
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "UPDATE setup_links SET first_used_at = coalesce(first_used_at, now()) WHERE id = $1",
        id
    )
    .execute(conn)
    .await?;
    let session = Session {
        id: session_id,
        directory: link.directory_id,
        link: id,
        allow_controls: link.allow_controls,
        csrf,
        expires_at,
        link_expires_at: link.expires_at,
    };
    Ok(Ok((
        session,
        format!("{}{session_secret}", session_id.simple()),
    )))
}

/// The live session a cookie holds.
pub async fn session(
    db: impl PgExecutor<'_>,
    cookie: &str,
) -> Result<Result<Session, Refused>, sqlx::Error> {
    let Some((id, secret)) = secret::split(cookie, "") else {
        return Ok(Err(Refused::Unknown));
    };
    let Some(row) = sqlx::query!(
        r#"SELECT s.secret_sha256, s.csrf, s.expires_at, s.link_id, l.directory_id, l.allow_controls,
                  l.expires_at AS link_expires_at,
                  l.revoked_at IS NOT NULL AS "revoked!",
                  s.expires_at <= now() OR l.expires_at <= now() AS "expired!"
           FROM setup_sessions s JOIN setup_links l ON l.id = s.link_id
           WHERE s.id = $1"#,
        id
    )
    .fetch_optional(db)
    .await?
    else {
        return Ok(Err(Refused::Unknown));
    };
    if !secret::matches(&secret, &row.secret_sha256) {
        return Ok(Err(Refused::Unknown));
    }
    if row.revoked {
        return Ok(Err(Refused::Revoked));
    }
    if row.expired {
        return Ok(Err(Refused::Expired));
    }
    Ok(Ok(Session {
        id,
        directory: row.directory_id,
        link: row.link_id,
        allow_controls: row.allow_controls,
        csrf: row.csrf,
        expires_at: row.expires_at,
        link_expires_at: row.link_expires_at,
    }))
}

/// Ends a session (the page's sign-out).
pub async fn close(db: impl PgExecutor<'_>, session: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!("DELETE FROM setup_sessions WHERE id = $1", session)
        .execute(db)
        .await?;
    Ok(())
}
