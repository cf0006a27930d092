//! Readiness, as both services report it on `/readyz`: Postgres answers and NATS is
//! connected.

/// `Err` names the dependency that is down.
pub async fn readiness(pool: &sqlx::PgPool, nats: &async_nats::Client) -> Result<(), &'static str> {
    sqlx::query!("SELECT 1 AS up")
        .fetch_one(pool)
        .await
        .map_err(|_| "database unreachable")?;
    if nats.connection_state() != async_nats::connection::State::Connected {
        return Err("nats unreachable");
    }
    Ok(())
}
