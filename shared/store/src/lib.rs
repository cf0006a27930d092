//! PostgreSQL access: the pool, migrations, and SQL for each resource in its module.
//!
//! Static statements are sqlx's query macros, checked at compile time against the
//! committed `.sqlx/` (scripts/sqlx-prepare.sh). Two kinds stay checked at run time:
//! list pages, whose filters are built from fixed fragments and bind parameters
//! ([`page`]); and the statements that read or write a whole user or group, which
//! share their column list and one row decoder ([`users::from_row`],
//! [`groups::from_row`]) with those pages, so a list and a single read cannot drift.

pub mod audit;
pub mod directories;
pub mod failure;
pub mod groups;
mod liveness;
pub mod memberships;
pub mod outbox;
pub mod request_log;
pub mod roles;
mod secret;
pub mod setup;
pub mod snapshot;
pub mod users;

use futures::TryStreamExt;
use scim_core::filter::sql::{Bind, Condition, Order};
use sqlx::postgres::PgRow;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{AssertSqlSafe, PgPool, Row};
use std::str::FromStr;
use std::time::Duration;
use uuid::Uuid;

/// A pool that fails fast (5 s) when the database is unreachable, so callers answer
/// 503 instead of hanging. Connections are pinged before use only for a while after a
/// connection was lost ([`liveness`]): always pinging would add a round trip to every
/// acquire. JIT compilation is off: every query here is a short indexed lookup, and
/// on tables without statistics (new, or never analyzed) the planner's inflated cost
/// estimates made Postgres spend hundreds of milliseconds compiling them. Prepared
/// statements keep their generic plan: with array parameters (`unnest($1::uuid[])`)
/// Postgres judged the generic plan dearer than a custom one and planned the
/// statement afresh on every execution, which cost more than running it.
/// `application` names the connections in `pg_stat_activity`.
/// Where the database is and how many connections a process keeps, read once at
/// start-up (flattened into each binary's configuration).
#[derive(Debug, Clone, clap::Args)]
pub struct DatabaseConfig {
    /// PostgreSQL connection URL.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "postgres://postgres:postgres@127.0.0.1:5432/scim?sslmode=disable"
    )]
    pub database_url: String,
    /// Largest number of pooled database connections per process.
    #[arg(long, env = "DATABASE_MAX_CONNECTIONS", default_value_t = 16)]
    pub database_max_connections: u32,
}

pub async fn connect(config: &DatabaseConfig, application: &str) -> Result<PgPool, sqlx::Error> {
    pool(config, application, config.database_max_connections, None).await
}

/// A pool of its own for statements a client shapes (lists and searches: any filter,
/// any sort), `max` connections whose statements Postgres cancels after `timeout`, so
/// that slow ones can neither run on nor take the connections everything else needs.
pub async fn connect_bounded(
    config: &DatabaseConfig,
    application: &str,
    max: u32,
    timeout: Duration,
) -> Result<PgPool, sqlx::Error> {
    pool(config, application, max, Some(timeout)).await
}

async fn pool(
    config: &DatabaseConfig,
    application: &str,
    max: u32,
    statement_timeout: Option<Duration>,
) -> Result<PgPool, sqlx::Error> {
    let mut options = connect_options(&config.database_url, application)?
        .options([("plan_cache_mode", "force_generic_plan")]);
    if let Some(timeout) = statement_timeout {
        options = options.options([("statement_timeout", format!("{}", timeout.as_millis()))]);
    }
    PgPoolOptions::new()
        .max_connections(max)
        .acquire_timeout(Duration::from_secs(5))
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if liveness::suspect(meta.age) {
                    sqlx::Connection::ping(conn).await?;
                }
                Ok(true)
            })
        })
        .connect_with(options)
        .await
}

/// Options for a connection named `application`, JIT off (see [`connect`]); callers
/// add settings of their own.
pub fn connect_options(
    database_url: &str,
    application: &str,
) -> Result<PgConnectOptions, sqlx::Error> {
    Ok(PgConnectOptions::from_str(database_url)?
        .application_name(application)
        .options([("jit", "off")]))
}

/// The oldest PostgreSQL the service runs on: 14 (`idle_session_timeout`, which ends a
/// silent relay lane's session and so frees its outbox slots).
pub const OLDEST_SERVER: i32 = 140000;

/// The server's version as `server_version_num` (150004 for 15.4).
pub async fn server_version(db: &PgPool) -> Result<i32, sqlx::Error> {
    sqlx::query_scalar!(r#"SELECT current_setting('server_version_num')::int4 AS "version!""#)
        .fetch_one(db)
        .await
}

/// Cuts every statement of the transaction begun on `tx` (waits for locks included) after
/// `limit`: Postgres cancels it with 57014 ([`failure::Failure::Timeout`]).
pub async fn time_limit(tx: &mut sqlx::PgConnection, limit: Duration) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "SELECT set_config('statement_timeout', $1, true)",
        limit.as_millis().to_string()
    )
    .fetch_one(tx)
    .await?;
    Ok(())
}

/// Applies pending migrations; safe to run from many replicas at once (advisory lock).
/// Migrations a newer release applied are accepted: migrations only add, so a release
/// rolled back to keeps working against its successor's schema, and must start there
/// even where it migrates at start-up. Those it knows are still checked against what
/// was applied.
pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    let mut migrator = sqlx::migrate!("./migrations");
    migrator.set_ignore_missing(true);
    migrator.run(pool).await
}

pub(crate) type PgQuery<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;
pub(crate) type PgQueryScalar<'q, O> =
    sqlx::query::QueryScalar<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments>;

/// Where a page starts and how much it may hold: at most `limit` rows, and no more
/// rows once their `resource` columns add up to `max_bytes` (at least one row).
#[derive(Debug, Clone, Copy)]
pub struct PageBounds {
    pub offset: i64,
    pub limit: i64,
    pub max_bytes: usize,
    /// The last id of the previous page, when the caller knows it: a page in the
    /// default order (by id) resumes after it instead of skipping `offset` rows, so it
    /// costs the same at the end of a directory as at its start. Ignored otherwise.
    pub after: Option<Uuid>,
    /// A filtered list's total as the walk's first page counted it: a resumed page of
    /// a filter reports it instead of counting the matches again (without it, it does
    /// not resume). An unfiltered list's total is the directory's kept count.
    pub walk_total: Option<i64>,
}

/// The rows a page lists and the `directory_counts` column that counts them all.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Listed {
    pub table: &'static str,
    pub columns: &'static str,
    pub counted: &'static str,
}

/// One page of a directory's rows matching `condition` (whose placeholders start at
/// `$2`), in `order`, with the total count. Table, columns and order are fixed SQL;
/// client values only ever arrive as binds. Rows are read as they arrive and the page
/// ends at its byte bound, so a page of large resources never sits in memory whole.
/// Without a filter the total is the directory's kept count, not a count of its rows.
pub(crate) async fn page(
    db: &PgPool,
    listed: Listed,
    directory_id: Uuid,
    condition: Option<&Condition>,
    order: &Order,
    bounds: PageBounds,
) -> Result<(i64, Vec<PgRow>), sqlx::Error> {
    let Listed {
        table,
        columns,
        counted,
    } = listed;
    let PageBounds {
        offset,
        limit,
        max_bytes,
        after,
        walk_total,
    } = bounds;
    let filter_sql = condition
        .map(|c| format!(" AND ({})", c.sql))
        .unwrap_or_default();
    let binds = condition.map(|c| c.binds.as_slice()).unwrap_or_default();
    let (limit_param, offset_param, after_param) =
        (binds.len() + 2, binds.len() + 3, binds.len() + 4);
    let after = after.filter(|_| order.is_by_id() && (condition.is_none() || walk_total.is_some()));
    let (resume_sql, skip) = match after {
        Some(_) => (format!(" AND id > ${after_param}"), 0),
        None => (String::new(), offset),
    };
    // Without a filter, the directory's kept count. With one, the window count over
    // the matches, in the pass that finds the page (a single-match lookup, Okta's most
    // common request, reads its index entry once; it runs over ids only), or, resuming
    // a walk, the total its first page counted.
    let kept = format!(
        "(SELECT coalesce(sum({counted}), 0)::int8 FROM directory_counts WHERE directory_id = $1)"
    );
    let (window_sql, total_sql) = match (condition, after) {
        (None, _) => ("", kept.clone()),
        (Some(_), None) => (
            ", count(*) OVER () AS total",
            "(SELECT total FROM page LIMIT 1)".to_owned(),
        ),
        (Some(_), Some(_)) => ("", "NULL::int8".to_owned()),
    };
    let known = walk_total.filter(|_| condition.is_some() && after.is_some());
    // The page's columns (some are subqueries) are read for its rows alone, each by
    // primary key, after the page's ids are found. As a join the planner could rather
    // read and sort the whole directory, and did, with a plan made while the directory
    // was empty and kept until the table was analyzed (Okta's lookups just after a bulk
    // create: 84 ms each at 100,000 users instead of 0.3 ms).
    let page_sql = format!(
        "WITH page AS MATERIALIZED (
             SELECT id AS page_id{window_sql} FROM {table} WHERE directory_id = $1{filter_sql}{resume_sql}
             ORDER BY {order} LIMIT ${limit_param} OFFSET ${offset_param}
         )
         SELECT {columns}, {total_sql} AS total
         FROM {table} WHERE directory_id = $1 AND id = ANY (ARRAY(SELECT page_id FROM page))
         ORDER BY {order}",
        order = order.sql()
    );
    let page = binds.iter().fold(
        sqlx::query(AssertSqlSafe(page_sql)).bind(directory_id),
        bind,
    );
    let mut rows = Vec::new();
    let mut bytes = 0;
    let page = page.bind(limit).bind(skip);
    let page = match after {
        Some(after) => page.bind(after),
        None => page,
    };
    let mut stream = page.fetch(db);
    while let Some(row) = stream.try_next().await? {
        bytes += row
            .try_get_raw("resource")?
            .as_bytes()
            .map_or(0, <[u8]>::len);
        rows.push(row);
        if bytes >= max_bytes {
            break;
        }
    }
    drop(stream);
    if let Some(first) = rows.first() {
        let total = match known {
            Some(total) => total,
            None => first.try_get("total")?,
        };
        return Ok((total, rows));
    }
    if let Some(total) = known {
        return Ok((total, Vec::new()));
    }
    // An empty first page is an empty list; an empty resumed page is past its end.
    if limit > 0 && offset == 0 && after.is_none() {
        return Ok((0, Vec::new()));
    }
    // An empty page past the end (or count=0): the total needs its own query.
    let count_sql = match condition {
        None => format!("SELECT {kept}"),
        Some(_) => format!("SELECT count(*) FROM {table} WHERE directory_id = $1{filter_sql}"),
    };
    let count = binds.iter().fold(
        sqlx::query(AssertSqlSafe(count_sql)).bind(directory_id),
        bind,
    );
    let total: i64 = count.fetch_one(db).await?.try_get(0)?;
    Ok((total, Vec::new()))
}

fn bind<'q>(q: PgQuery<'q>, b: &Bind) -> PgQuery<'q> {
    match b {
        Bind::Text(s) => q.bind(s.clone()),
        Bind::Bool(v) => q.bind(*v),
        Bind::Time(t) => q.bind(*t),
    }
}
