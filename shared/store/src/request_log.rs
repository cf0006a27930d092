//! The SCIM request log an admin reads to see what the identity provider sent and what
//! it was told.

use sqlx::PgExecutor;
use time::OffsetDateTime;
use uuid::Uuid;

/// A SCIM request as answered and logged.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub directory_id: Uuid,
    /// The token that authenticated the request; `None` when none did.
    pub token: Option<Uuid>,
    pub at: OffsetDateTime,
    pub method: String,
    pub path: String,
    pub status: u16,
    pub duration_ms: f32,
    /// The SCIM Error detail returned, for errors.
    pub detail: Option<String>,
    /// The user or group the request was about: the path's id, or the created one's.
    pub resource_id: Option<Uuid>,
    /// Its userName or displayName: as stored now (read back), or as a failed request
    /// sent it.
    pub resource: Option<String>,
    /// For a failed request, what it sent, redacted and bounded (the request
    /// inspector).
    pub body: Option<String>,
}

/// A directory's share of errors among its latest requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorRate {
    pub directory_id: Uuid,
    /// Its latest requests looked at (fewer than asked when it has made fewer).
    pub requests: i64,
    /// Of those, answered 400 or more.
    pub errors: i64,
}

/// Every directory's errors among its `last` requests: bounded by `last` per directory
/// through the newest-first index, however busy the log is.
pub async fn error_rates(
    db: impl PgExecutor<'_>,
    last: i64,
) -> Result<Vec<ErrorRate>, sqlx::Error> {
    sqlx::query_as!(
        ErrorRate,
        r#"SELECT d.id AS "directory_id!", r.requests AS "requests!", r.errors AS "errors!"
           FROM directories d CROSS JOIN LATERAL (
               SELECT count(*) AS requests, count(*) FILTER (WHERE status >= 400) AS errors
               FROM (SELECT status FROM request_log WHERE directory_id = d.id
                     ORDER BY at DESC LIMIT $1) latest) r
           ORDER BY d.id"#,
        last
    )
    .fetch_all(db)
    .await
}

/// Writes entries in one statement (entries of unknown directories are dropped), and
/// records when each directory and token was last used, to the second: the stored
/// time moves only when it is a second or more behind, so a busy directory's row is
/// not rewritten with every batch.
pub async fn insert(db: &sqlx::PgPool, entries: &[Entry]) -> Result<(), sqlx::Error> {
    let mut dirs = Vec::with_capacity(entries.len());
    let mut tokens = Vec::with_capacity(entries.len());
    let mut ats = Vec::with_capacity(entries.len());
    let mut methods = Vec::with_capacity(entries.len());
    let mut paths = Vec::with_capacity(entries.len());
    let mut statuses = Vec::with_capacity(entries.len());
    let mut durations = Vec::with_capacity(entries.len());
    let mut details = Vec::with_capacity(entries.len());
    let mut resource_ids = Vec::with_capacity(entries.len());
    let mut resources = Vec::with_capacity(entries.len());
    let mut bodies = Vec::with_capacity(entries.len());
    for e in entries {
        resource_ids.push(e.resource_id);
        resources.push(e.resource.as_deref());
        bodies.push(e.body.as_deref());
        dirs.push(e.directory_id);
        tokens.push(e.token);
        ats.push(e.at);
        methods.push(e.method.as_str());
        paths.push(e.path.as_str());
        statuses.push(e.status as i16);
        durations.push(e.duration_ms);
        details.push(e.detail.as_deref());
    }
    sqlx::query!(
        "WITH input AS (
             SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[], $4::text[], $5::text[],
                                  $6::int2[], $7::float4[], $8::text[], $9::uuid[], $10::text[],
                                  $11::text[])
                 AS t(directory_id, token_id, at, method, path, status, duration_ms, detail,
                      resource_id, resource_name, body)
         ), logged AS (
             INSERT INTO request_log (directory_id, at, method, path, status, duration_ms, detail,
                                      resource_id, resource_name, body)
             SELECT i.directory_id, i.at, i.method, i.path, i.status, i.duration_ms, i.detail,
                    i.resource_id, i.resource_name, i.body
             FROM input i JOIN directories d ON d.id = i.directory_id
         ), dirs AS (
             UPDATE directories d SET last_request_at = l.at
             FROM (SELECT directory_id, max(at) AS at FROM input GROUP BY directory_id) l
             WHERE d.id = l.directory_id
               AND (d.last_request_at IS NULL OR d.last_request_at <= l.at - interval '1 second')
         )
         UPDATE tokens t SET last_used_at = l.at
         FROM (SELECT token_id, max(at) AS at FROM input WHERE token_id IS NOT NULL GROUP BY token_id) l
         WHERE t.id = l.token_id AND (t.last_used_at IS NULL OR t.last_used_at <= l.at - interval '1 second')",
        &dirs,
        &tokens as &[Option<Uuid>],
        &ats,
        &methods as &[&str],
        &paths as &[&str],
        &statuses,
        &durations,
        &details as &[Option<&str>],
        &resource_ids as &[Option<Uuid>],
        &resources as &[Option<&str>],
        &bodies as &[Option<&str>]
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Which entries to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    Any,
    /// One status, such as 401.
    Exactly(u16),
    /// A class: 4 for 4xx, 5 for 5xx.
    Class(u16),
    /// Every 4xx and 5xx.
    Errors,
}

impl StatusFilter {
    /// `401`, `4xx`, `errors`; `None` for anything else.
    pub fn parse(s: &str) -> Option<StatusFilter> {
        let digit = |d: u8| u16::from(d - b'0');
        match s.to_ascii_lowercase().as_bytes() {
            b"" | b"any" => Some(StatusFilter::Any),
            b"errors" => Some(StatusFilter::Errors),
            [c @ b'1'..=b'5', b'x', b'x'] => Some(StatusFilter::Class(digit(*c))),
            [c @ b'1'..=b'5', d @ b'0'..=b'9', u @ b'0'..=b'9'] => Some(StatusFilter::Exactly(
                100 * digit(*c) + 10 * digit(*d) + digit(*u),
            )),
            _ => None,
        }
    }

    /// The inclusive range of statuses it selects.
    fn range(self) -> (i16, i16) {
        match self {
            StatusFilter::Any => (0, 999),
            StatusFilter::Exactly(s) => (s as i16, s as i16),
            StatusFilter::Class(c) => (c as i16 * 100, c as i16 * 100 + 99),
            StatusFilter::Errors => (400, 599),
        }
    }
}

/// Which entries of a directory to list.
#[derive(Debug, Clone, Copy)]
pub struct Query<'a> {
    pub status: StatusFilter,
    /// Older than this: the next page of a history.
    pub before: Option<OffsetDateTime>,
    /// Whose path, detail or user or group name contains this (case ignored): reads
    /// every entry of the directory, so callers run it time-limited.
    pub search: Option<&'a str>,
}

impl Query<'_> {
    /// The newest entries with `status`.
    pub fn status(status: StatusFilter) -> Query<'static> {
        Query {
            status,
            before: None,
            search: None,
        }
    }
}

/// The directory's newest entries matching `q`, newest first, each with the current
/// name of the user or group it was about.
pub async fn recent(
    db: impl PgExecutor<'_>,
    directory_id: Uuid,
    q: Query<'_>,
    limit: i64,
) -> Result<Vec<Entry>, sqlx::Error> {
    let (low, high) = q.status.range();
    let rows = sqlx::query_as!(
        Row,
        r#"SELECT r.at, r.method, r.path, r.status, r.duration_ms, r.detail, r.resource_id,
                  coalesce(u.user_name, g.display_name, r.resource_name) AS resource, r.body
           FROM request_log r
           LEFT JOIN scim_users u ON u.directory_id = r.directory_id AND u.id = r.resource_id
           LEFT JOIN scim_groups g ON g.directory_id = r.directory_id AND g.id = r.resource_id
           WHERE r.directory_id = $1 AND r.status BETWEEN $2 AND $3
             AND ($4::timestamptz IS NULL OR r.at < $4)
             AND ($6::text IS NULL OR strpos(lower(concat_ws(' ', r.path, r.detail,
                      coalesce(u.user_name, g.display_name, r.resource_name))), lower($6)) > 0)
           ORDER BY r.at DESC LIMIT $5"#,
        directory_id,
        low,
        high,
        q.before,
        limit,
        q.search
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|r| r.entry(directory_id)).collect())
}

/// When the directory's newest successful (2xx) request among its latest `within`
/// arrived: bounded by `within` through the newest-first index, however many errors
/// the log holds.
pub async fn last_success(
    db: impl PgExecutor<'_>,
    directory_id: Uuid,
    within: i64,
) -> Result<Option<OffsetDateTime>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT max(at) AS "at" FROM (
               SELECT at, status FROM request_log WHERE directory_id = $1
               ORDER BY at DESC LIMIT $2) latest
           WHERE status BETWEEN 200 AND 299"#,
        directory_id,
        within
    )
    .fetch_one(db)
    .await
}

/// An entry as read back (the token is not shown).
struct Row {
    at: OffsetDateTime,
    method: String,
    path: String,
    status: i16,
    duration_ms: f32,
    detail: Option<String>,
    resource_id: Option<Uuid>,
    resource: Option<String>,
    body: Option<String>,
}

impl Row {
    fn entry(self, directory_id: Uuid) -> Entry {
        Entry {
            directory_id,
            token: None,
            at: self.at,
            method: self.method,
            path: self.path,
            status: self.status as u16,
            duration_ms: self.duration_ms,
            detail: self.detail,
            resource_id: self.resource_id,
            resource: self.resource,
            body: self.body,
        }
    }
}

/// The directory's oldest entry still kept: the identity provider's first call (its
/// connection test), unless the log has expired it.
pub async fn first(
    db: impl PgExecutor<'_>,
    directory_id: Uuid,
) -> Result<Option<Entry>, sqlx::Error> {
    let row = sqlx::query_as!(
        Row,
        r#"SELECT r.at, r.method, r.path, r.status, r.duration_ms, r.detail, r.resource_id,
                  coalesce(u.user_name, g.display_name, r.resource_name) AS resource, r.body
           FROM (SELECT * FROM request_log WHERE directory_id = $1 ORDER BY at LIMIT 1) r
           LEFT JOIN scim_users u ON u.directory_id = r.directory_id AND u.id = r.resource_id
           LEFT JOIN scim_groups g ON g.directory_id = r.directory_id AND g.id = r.resource_id"#,
        directory_id
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| r.entry(directory_id)))
}

/// Deletes entries older than `days`, at most `batch` of them; returns how many.
/// Entries have no key: they are found by time and deleted by their place in the table.
pub async fn expire(db: impl PgExecutor<'_>, days: u32, batch: i64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query!(
        "DELETE FROM request_log WHERE ctid = ANY(ARRAY(
             SELECT ctid FROM request_log WHERE at < now() - make_interval(days => $1) LIMIT $2))",
        days as i32,
        batch
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::StatusFilter::{self, *};

    #[test]
    fn status_filters() {
        assert_eq!(StatusFilter::parse("401"), Some(Exactly(401)));
        assert_eq!(StatusFilter::parse("4xx"), Some(Class(4)));
        assert_eq!(StatusFilter::parse("5XX"), Some(Class(5)));
        assert_eq!(StatusFilter::parse("errors"), Some(Errors));
        assert_eq!(StatusFilter::parse(""), Some(Any));
        for bad in [
            "4x", "9xx", "42", "600", "abc", "-1", "+200", " 401", "0401",
        ] {
            assert_eq!(StatusFilter::parse(bad), None, "{bad}");
        }
        assert_eq!(Class(4).range(), (400, 499));
        assert_eq!(Errors.range(), (400, 599));
    }
}
