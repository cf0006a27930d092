//! SQL for the `scim_users` table. Every write is one statement that also inserts the
//! change's outbox event (a data-modifying CTE), so the change and its event commit
//! together in a single round trip. Updates and deletes are optimistic: they apply only
//! if the user is still at the version the caller read.

use super::PageBounds;
use super::PgQueryScalar;
use scim_core::filter::sql::{Condition, Order};
use scim_core::resource::Reference;
use scim_core::user::{StoredAttrs, User};
use scim_events::Event;
use serde_json::{Map, Value};
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::{AssertSqlSafe, PgConnection, PgExecutor, Row};
use std::sync::{Arc, LazyLock};
use time::OffsetDateTime;
use uuid::Uuid;

/// The unique index behind `409 uniqueness` on userName.
pub const USER_NAME_UNIQUE: &str = "scim_users_user_name_key";

#[derive(Debug, Clone, PartialEq)]
pub struct StoredUser {
    pub id: Uuid,
    pub user: User,
    /// The groups the user is in (the read-only `groups` attribute), in creation order.
    pub groups: Vec<Reference>,
    pub version: i64,
    pub created: OffsetDateTime,
    pub last_modified: OffsetDateTime,
}

/// The columns of a user read, its groups included, so a user read stays one round
/// trip. Each group's name is a scalar subquery on the group's primary key: unlike a
/// join, the planner cannot turn it into a scan of the directory's groups, whatever
/// its statistics say.
pub(super) const COLUMNS: &str = "id, resource, version, created_at, updated_at,
    (SELECT coalesce(json_agg(json_build_object('id', gm.group_id, 'display',
         (SELECT g.display_name FROM scim_groups g WHERE g.directory_id = gm.directory_id AND g.id = gm.group_id))
         ORDER BY gm.group_id), '[]')
     FROM scim_group_members gm
     WHERE gm.directory_id = scim_users.directory_id AND gm.user_id = scim_users.id) AS groups";

impl StoredUser {
    /// A user about to be created now, at version 1.
    pub fn new(user: User) -> StoredUser {
        let now = now();
        StoredUser {
            id: Uuid::now_v7(),
            user,
            groups: Vec::new(),
            version: 1,
            created: now,
            last_modified: now,
        }
    }

    /// The next version of this user, with new attributes, modified now.
    pub fn next(&self, user: User) -> StoredUser {
        StoredUser {
            user,
            version: self.version + 1,
            last_modified: now(),
            ..self.clone()
        }
    }
}

/// The current time at the precision Postgres stores, so what a write returns equals
/// what a later read returns.
pub fn now() -> OffsetDateTime {
    let t = OffsetDateTime::now_utc();
    t.replace_nanosecond(t.nanosecond() / 1_000 * 1_000)
        .unwrap_or(t)
}

pub(super) fn from_row(row: &PgRow) -> Result<StoredUser, sqlx::Error> {
    let Json(attrs): Json<Map<String, Value>> = row.try_get("resource")?;
    let Head {
        id,
        groups,
        version,
        created,
        last_modified,
    } = Head::from_row(row)?;
    Ok(StoredUser {
        id,
        user: User::from_stored(attrs),
        groups,
        version,
        created,
        last_modified,
    })
}

/// A user as read, its attributes left as the stored text ([`StoredAttrs`]), for
/// writing its representation out without parsing them.
pub struct StoredText<'r> {
    pub attrs: StoredAttrs<'r>,
    pub head: Head,
}

/// What a read has of a user besides its attributes.
pub struct Head {
    pub id: Uuid,
    pub groups: Vec<Reference>,
    pub version: i64,
    pub created: OffsetDateTime,
    pub last_modified: OffsetDateTime,
}

impl Head {
    fn from_row(row: &PgRow) -> Result<Head, sqlx::Error> {
        let Json(groups): Json<Vec<Reference>> = row.try_get("groups")?;
        Ok(Head {
            id: row.try_get("id")?,
            groups,
            version: row.try_get("version")?,
            created: row.try_get("created_at")?,
            last_modified: row.try_get("updated_at")?,
        })
    }
}

/// A user to write with its event: a new one (from [`StoredUser::new`]) or a changed
/// one (from [`StoredUser::next`]).
pub struct UserWrite<'a> {
    pub directory_id: Uuid,
    pub user: &'a StoredUser,
    pub event: &'a Event,
}

/// The first twelve parameters of [`insert_many`] and [`update_many`]: column arrays
/// for one `unnest`, in this order.
struct WriteColumns {
    directories: Vec<Uuid>,
    ids: Vec<Uuid>,
    user_names: Vec<String>,
    external_ids: Vec<Option<String>>,
    actives: Vec<bool>,
    resources: Vec<String>,
    /// When each was last modified (for a new user, when it was created).
    times: Vec<OffsetDateTime>,
    event_ids: Vec<Uuid>,
    subjects: Vec<String>,
    payloads: Vec<String>,
    traces: Vec<Option<String>>,
    /// Each user's email values as a Postgres array literal (arrays of arrays cannot
    /// be unnested row by row).
    emails: Vec<String>,
}

impl WriteColumns {
    fn new(rows: &[UserWrite<'_>]) -> Result<WriteColumns, sqlx::Error> {
        let encode = |e: serde_json::Error| sqlx::Error::Encode(e.into());
        let n = rows.len();
        let mut c = WriteColumns {
            directories: Vec::with_capacity(n),
            ids: Vec::with_capacity(n),
            user_names: Vec::with_capacity(n),
            external_ids: Vec::with_capacity(n),
            actives: Vec::with_capacity(n),
            resources: Vec::with_capacity(n),
            times: Vec::with_capacity(n),
            event_ids: Vec::with_capacity(n),
            subjects: Vec::with_capacity(n),
            payloads: Vec::with_capacity(n),
            traces: Vec::with_capacity(n),
            emails: Vec::with_capacity(n),
        };
        for r in rows {
            let user = &r.user.user;
            c.directories.push(r.directory_id);
            c.ids.push(r.user.id);
            c.user_names.push(user.user_name().to_owned());
            c.external_ids.push(user.external_id().map(str::to_owned));
            c.actives.push(user.active());
            c.resources
                .push(serde_json::to_string(user.attrs()).map_err(encode)?);
            c.times.push(r.user.last_modified);
            c.event_ids.push(r.event.id);
            c.subjects.push(r.event.subject());
            c.payloads
                .push(serde_json::to_string(r.event).map_err(encode)?);
            c.traces.push(r.event.traceparent.clone());
            c.emails.push(text_array_literal(&user.email_values()));
        }
        Ok(c)
    }

    fn bind<'q, O>(self, q: PgQueryScalar<'q, O>) -> PgQueryScalar<'q, O> {
        q.bind(self.directories)
            .bind(self.ids)
            .bind(self.user_names)
            .bind(self.external_ids)
            .bind(self.actives)
            .bind(self.resources)
            .bind(self.times)
            .bind(self.event_ids)
            .bind(self.subjects)
            .bind(self.payloads)
            .bind(self.traces)
            .bind(self.emails)
    }
}

/// The `unnest` of [`WriteColumns`], then of any further parameters, as `input`.
const WRITE_INPUT: &str = "unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::bool[], $6::text[],
                             $7::timestamptz[], $8::uuid[], $9::text[], $10::text[], $11::text[], $12::text[]";
const WRITE_COLUMNS: &str = "directory_id, id, user_name, external_id, active, resource, at,
                             event_id, subject, payload, traceparent, email_values";

/// Inserts users and their events in one statement. A user whose userName (or id) is
/// taken, including by an earlier row of the same call, is skipped with its event.
/// Returns, in input order, whether each user was created.
pub async fn insert_many(
    db: impl PgExecutor<'_>,
    rows: &[UserWrite<'_>],
) -> Result<Vec<bool>, sqlx::Error> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "WITH input AS (
             SELECT * FROM {WRITE_INPUT}) WITH ORDINALITY AS t({WRITE_COLUMNS}, n)
         ), u AS (
             INSERT INTO scim_users (directory_id, id, user_name, external_id, active, resource, email_values,
                                     version, created_at, updated_at)
             SELECT directory_id, id, user_name, external_id, active, resource::jsonb, email_values::text[],
                    1, at, at
             FROM input ORDER BY n
             ON CONFLICT DO NOTHING
             RETURNING id
         )
         INSERT INTO outbox (event_id, subject, payload, traceparent)
         SELECT i.event_id, i.subject, i.payload::json, i.traceparent FROM input i JOIN u ON u.id = i.id ORDER BY i.n
         RETURNING event_id"
        )
    });
    let q = WriteColumns::new(rows)?.bind(sqlx::query_scalar(SQL.as_str()));
    Ok(written(rows, q.fetch_all(db).await?))
}

/// Writes changed users (from [`StoredUser::next`]) and their events in one statement,
/// each only if the stored user is still at the version before its new one. Returns,
/// in input order, whether each was written. Rows are locked in key order, so
/// concurrent calls cannot deadlock; of two changes of one user in one call, one is
/// written and the other finds the user at a newer version.
pub async fn update_many(
    db: impl PgExecutor<'_>,
    rows: &[UserWrite<'_>],
) -> Result<Vec<bool>, sqlx::Error> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "WITH input AS (
             SELECT * FROM {WRITE_INPUT}, $13::int8[]) WITH ORDINALITY AS t({WRITE_COLUMNS}, version, n)
         ), locked AS MATERIALIZED (
             SELECT u.directory_id, u.id FROM scim_users u
             JOIN input i ON u.directory_id = i.directory_id AND u.id = i.id
             ORDER BY u.directory_id, u.id
             FOR UPDATE OF u
         ), u AS (
             UPDATE scim_users s
             SET user_name = i.user_name, external_id = i.external_id, active = i.active,
                 resource = i.resource::jsonb, email_values = i.email_values::text[],
                 version = i.version, updated_at = i.at
             FROM input i JOIN locked l ON l.directory_id = i.directory_id AND l.id = i.id
             WHERE s.directory_id = i.directory_id AND s.id = i.id AND s.version = i.version - 1
             RETURNING i.n, s.directory_id, s.id, scim_member_display(s.resource, s.user_name) AS display
         ), shown AS (
             -- Each group of a renamed user shows its new name (migration 0012).
             UPDATE scim_group_members gm SET display = u.display
             FROM u
             WHERE gm.user_id = u.id AND gm.directory_id = u.directory_id
               AND gm.display IS DISTINCT FROM u.display
         )
         INSERT INTO outbox (event_id, subject, payload, traceparent)
         SELECT i.event_id, i.subject, i.payload::json, i.traceparent FROM input i JOIN u ON u.n = i.n ORDER BY i.n
         RETURNING event_id"
        )
    });
    let versions: Vec<i64> = rows.iter().map(|r| r.user.version).collect();
    let q = WriteColumns::new(rows)?
        .bind(sqlx::query_scalar(SQL.as_str()))
        .bind(versions);
    Ok(written(rows, q.fetch_all(db).await?))
}

/// Whether each row's event was among those the statement wrote.
fn written(rows: &[UserWrite<'_>], events: Vec<Uuid>) -> Vec<bool> {
    let events: std::collections::HashSet<Uuid> = events.into_iter().collect();
    rows.iter().map(|r| events.contains(&r.event.id)).collect()
}

/// `values` as a Postgres text array literal: `{"a","b\"c"}`.
fn text_array_literal(values: &[String]) -> String {
    let mut out = String::from("{");
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('"');
        for c in v.chars() {
            if c == '"' || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        }
        out.push('"');
    }
    out.push('}');
    out
}

pub async fn get(
    db: impl PgExecutor<'_>,
    directory_id: Uuid,
    id: Uuid,
) -> Result<Option<StoredUser>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM scim_users WHERE directory_id = $1 AND id = $2");
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(directory_id)
        .bind(id)
        .fetch_optional(db)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// The users with the given (directory, id) keys that exist, in no particular order,
/// each with its directory (a key given twice comes back twice). Each key is looked up
/// by primary key: as a join with the keys the planner could rather scan the table, and
/// did with a plan made while the table was empty (23 ms a call at 100,000 users).
pub async fn get_many(
    db: impl PgExecutor<'_>,
    keys: &[(Uuid, Uuid)],
) -> Result<Vec<(Uuid, StoredUser)>, sqlx::Error> {
    get_rows(db, keys)
        .await?
        .iter()
        .map(|r| Ok((r.key()?.0, r.decode()?)))
        .collect()
}

/// The users of `keys` that exist, as rows still to be decoded.
pub async fn get_rows(
    db: impl PgExecutor<'_>,
    keys: &[(Uuid, Uuid)],
) -> Result<Vec<UserRow>, sqlx::Error> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "SELECT u.* FROM unnest($1::uuid[], $2::uuid[]) AS k(directory_id, id)
             CROSS JOIN LATERAL (
                 SELECT directory_id, {COLUMNS} FROM scim_users
                 WHERE directory_id = k.directory_id AND id = k.id
                 OFFSET 0
             ) u"
        )
    });
    let (dirs, ids): (Vec<Uuid>, Vec<Uuid>) = keys.iter().copied().unzip();
    let rows = sqlx::query(SQL.as_str())
        .bind(dirs)
        .bind(ids)
        .fetch_all(db)
        .await?;
    Ok(rows.into_iter().map(|r| UserRow(Arc::new(r))).collect())
}

/// A user as read, not yet decoded: a batch of reads hands each requester its row, so
/// that the one task running the batch does not parse every user's JSON in turn while
/// the next batch waits. Shared, for a user asked for twice in one batch.
#[derive(Clone)]
pub struct UserRow(Arc<PgRow>);

impl UserRow {
    /// The user's directory and id.
    pub fn key(&self) -> Result<(Uuid, Uuid), sqlx::Error> {
        Ok((self.0.try_get("directory_id")?, self.0.try_get("id")?))
    }

    pub fn decode(&self) -> Result<StoredUser, sqlx::Error> {
        from_row(&self.0)
    }

    /// The user with its attributes as stored text, borrowed from the row.
    pub fn text(&self) -> Result<StoredText<'_>, sqlx::Error> {
        let Json(attrs) = self.0.try_get("resource")?;
        Ok(StoredText {
            attrs,
            head: Head::from_row(&self.0)?,
        })
    }
}

/// Deletes the user if it is still at `version`, with its event, and takes it out of
/// every group. Returns false, writing nothing, if it is not at that version. Run it
/// in a transaction: it first waits for group changes in flight
/// (`memberships::lock`), so the memberships it deletes include theirs.
pub async fn delete(
    conn: &mut PgConnection,
    directory_id: Uuid,
    id: Uuid,
    version: i64,
    event: &Event,
) -> Result<bool, sqlx::Error> {
    super::memberships::lock(&mut *conn, directory_id, true).await?;
    let deleted = sqlx::query!(
        "WITH u AS (
             DELETE FROM scim_users WHERE directory_id = $1 AND id = $2 AND version = $3
             RETURNING 1
         )
         INSERT INTO outbox (event_id, subject, payload, traceparent) SELECT $4, $5, $6, $7 FROM u",
        directory_id,
        id,
        version,
        event.id,
        event.subject(),
        Json(event) as _,
        event.traceparent.as_deref()
    )
    .execute(&mut *conn)
    .await?;
    if deleted.rows_affected() != 1 {
        return Ok(false);
    }
    sqlx::query!(
        "DELETE FROM scim_group_members WHERE directory_id = $1 AND user_id = $2",
        directory_id,
        id
    )
    .execute(conn)
    .await?;
    Ok(true)
}

/// The ids of all of a directory's users.
/// Users past their directory's retention: deactivated and unchanged for its
/// `retention_days`; (directory, user, version), at most `limit`.
pub async fn past_retention(
    db: impl PgExecutor<'_>,
    limit: i64,
) -> Result<Vec<(Uuid, Uuid, i64)>, sqlx::Error> {
    let rows = sqlx::query!(
        "SELECT u.directory_id, u.id, u.version FROM directories d
         JOIN scim_users u ON u.directory_id = d.id AND NOT u.active
              AND u.updated_at < now() - make_interval(days => d.retention_days)
         WHERE d.retention_days IS NOT NULL
         ORDER BY u.directory_id, u.id LIMIT $1",
        limit
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.directory_id, r.id, r.version))
        .collect())
}

pub async fn ids(db: impl PgExecutor<'_>, directory_id: Uuid) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT id FROM scim_users WHERE directory_id = $1 ORDER BY id",
        directory_id
    )
    .fetch_all(db)
    .await
}

/// One page of a directory's users matching `condition` (whose placeholders start at
/// `$2`), in `order`, with the total count, within `bounds` (its offset counts from
/// zero).
pub async fn list(
    db: &sqlx::PgPool,
    directory_id: Uuid,
    condition: Option<&Condition>,
    order: &Order,
    bounds: PageBounds,
) -> Result<(i64, Vec<StoredUser>), sqlx::Error> {
    let (total, rows) = super::page(
        db,
        super::Listed {
            table: "scim_users",
            columns: COLUMNS,
            counted: "users",
        },
        directory_id,
        condition,
        order,
        bounds,
    )
    .await?;
    Ok((total, rows.iter().map(from_row).collect::<Result<_, _>>()?))
}

/// A user as a directory's received list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub id: Uuid,
    pub user_name: String,
    pub active: bool,
    pub updated_at: OffsetDateTime,
}

/// A page of a directory's users in userName order: those whose userName contains
/// `search` (case ignored) when given, after the userName `after` when given (unique
/// per directory, case ignored).
pub async fn listed(
    db: impl PgExecutor<'_>,
    directory_id: Uuid,
    search: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Listed>, sqlx::Error> {
    sqlx::query_as!(
        Listed,
        "SELECT id, user_name, active, updated_at FROM scim_users
         WHERE directory_id = $1
           AND ($2::text IS NULL OR strpos(lower(user_name), lower($2)) > 0)
           AND ($3::text IS NULL OR lower(user_name) > lower($3))
         ORDER BY lower(user_name) LIMIT $4",
        directory_id,
        search,
        after,
        limit
    )
    .fetch_all(db)
    .await
}

#[cfg(test)]
mod tests {
    use super::text_array_literal;

    #[test]
    fn array_literals_quote_every_value_and_escape_quotes_and_backslashes() {
        assert_eq!(text_array_literal(&[]), "{}");
        let values = ["a@x.com".to_owned(), r#"q"u\o,te{}"#.to_owned()];
        assert_eq!(text_array_literal(&values), r#"{"a@x.com","q\"u\\o,te{}"}"#);
    }
}
