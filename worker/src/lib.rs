//! The worker: consumes provisioning events and applies them to the product's data.

pub mod consumer;
mod metrics;

use anyhow::Context;
use clap::Parser;
use scim_service::config::NatsConfig;
use scim_store as db;
use scim_store::DatabaseConfig;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone, Parser)]
#[command(
    name = "worker",
    about = "Applies provisioning events to the product's member records"
)]
pub struct Config {
    #[command(flatten)]
    pub database: DatabaseConfig,
    #[command(flatten)]
    pub nats: NatsConfig,
    /// Durable consumer name; replicas with the same name share the work.
    #[arg(long, env = "WORKER_CONSUMER", default_value = "member-sync")]
    pub consumer: String,
    /// Batches of events applied at once per replica.
    #[arg(long, env = "WORKER_CONCURRENCY", default_value_t = 4)]
    pub concurrency: usize,
    /// Most events applied together in one batch.
    #[arg(long, env = "WORKER_BATCH_SIZE", default_value_t = 256)]
    pub batch_size: usize,
    /// Milliseconds a batch may wait for more events after its first: fewer, larger
    /// batches cost the database less per event, each applied at most this much later.
    #[arg(long, env = "WORKER_BATCH_GATHER_MS", default_value_t = 50)]
    pub batch_gather_ms: u64,
    /// Attempts before a failing event is dead-lettered (outages do not count).
    #[arg(long, env = "WORKER_MAX_ATTEMPTS", default_value_t = 10)]
    pub max_attempts: i64,
    /// Address of the health endpoints (`/healthz`, `/readyz`).
    #[arg(long, env = "WORKER_HEALTH_ADDR", default_value = "127.0.0.1:8081")]
    pub health_addr: String,
    /// Address of the Prometheus metrics endpoint (`/metrics`); empty: none.
    #[arg(long, env = "WORKER_METRICS_ADDR", default_value = "127.0.0.1:9091")]
    pub metrics_addr: String,
    /// Apply database migrations at start-up (safe with many replicas).
    #[arg(long, env = "RUN_MIGRATIONS", default_value_t = true, action = clap::ArgAction::Set)]
    pub run_migrations: bool,
}

pub async fn run(config: Config, shutdown: CancellationToken) -> anyhow::Result<()> {
    let pool = db::connect(&config.database, "scim-worker")
        .await
        .context("connecting to Postgres")?;
    if config.run_migrations {
        db::migrate(&pool).await.context("migrating the database")?;
    }
    let nats = scim_service::nats::connect(&config.nats, "scim-worker").await?;
    let health = tokio::net::TcpListener::bind(&config.health_addr)
        .await
        .with_context(|| format!("binding {}", config.health_addr))?;
    tokio::spawn(serve_health(
        health,
        pool.clone(),
        nats.clone(),
        shutdown.clone(),
    ));
    let js = async_nats::jetstream::new(nats);
    // The ingress's relay sets the streams up: the worker may only read them.
    if !scim_service::nats::wait_for_streams(&js, &shutdown).await {
        return Ok(());
    }
    let (metrics, registry) = metrics::Metrics::new();
    if !config.metrics_addr.is_empty() {
        let listener = tokio::net::TcpListener::bind(&config.metrics_addr)
            .await
            .with_context(|| format!("binding {}", config.metrics_addr))?;
        tracing::info!(addr = %listener.local_addr()?, "metrics listening");
        tokio::spawn(scim_service::metrics::serve(
            listener,
            std::sync::Arc::new(registry),
            shutdown.clone(),
        ));
    }
    tokio::spawn(metrics::watch(
        pool.clone(),
        js.clone(),
        config.consumer.clone(),
        metrics.clone(),
        std::time::Duration::from_secs(5),
        shutdown.clone(),
    ));
    let settings = consumer::ConsumerSettings {
        name: config.consumer,
        concurrency: config.concurrency,
        batch_size: config.batch_size.max(1),
        batch_gather: std::time::Duration::from_millis(config.batch_gather_ms),
        max_attempts: config.max_attempts,
        metrics,
    };
    tracing::info!(consumer = settings.name, "worker consuming");
    consumer::run(pool, js, settings, shutdown)
        .await
        .map_err(|e| anyhow::anyhow!("consumer: {e}"))
}

/// `/healthz` (the process is up) and `/readyz` (Postgres and NATS reachable).
async fn serve_health(
    listener: tokio::net::TcpListener,
    pool: sqlx::PgPool,
    nats: async_nats::Client,
    shutdown: CancellationToken,
) {
    use axum::http::StatusCode;
    use axum::routing::get;
    let app = axum::Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/readyz",
            get(move || async move {
                match scim_service::health::readiness(&pool, &nats).await {
                    Ok(()) => (StatusCode::OK, "ready"),
                    Err(down) => (StatusCode::SERVICE_UNAVAILABLE, down),
                }
            }),
        );
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await;
    if let Err(e) = served {
        tracing::error!(error = %e, "health endpoint stopped");
    }
}
