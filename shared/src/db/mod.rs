//! PostgreSQL access: the pool, migrations, and SQL for each resource in its module.

pub mod directories;
pub mod outbox;
pub mod users;

use crate::config::DatabaseConfig;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use std::time::Duration;

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// A pool that fails fast (5 s) when the database is unreachable, so callers answer
/// 503 instead of hanging. Connections are not pinged before use: that would double
/// the round trips of every query; a dead connection fails one query (503) and is
/// replaced.
pub async fn connect(config: &DatabaseConfig) -> Result<PgPool, sqlx::Error> {
    PgPoolOptions::new()
        .max_connections(config.database_max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .test_before_acquire(false)
        .connect(&config.database_url)
        .await
}

/// Applies pending migrations; safe to run from many replicas at once (advisory lock).
pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(pool).await
}
