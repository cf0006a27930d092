//! Configuration shared by the binaries, read once at start-up from the environment
//! (each field also has a command-line flag, for local runs).

use clap::Args;

#[derive(Debug, Clone, Args)]
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

#[derive(Debug, Clone, Args)]
pub struct NatsConfig {
    /// NATS server URL (JetStream enabled, server 2.10 or newer); several servers of a
    /// cluster may be listed, comma-separated.
    #[arg(long, env = "NATS_URL", default_value = "nats://127.0.0.1:4222")]
    pub nats_url: String,
    /// Replicas of the event streams: 1 for a single server, 3 on a cluster.
    #[arg(long, env = "NATS_STREAM_REPLICAS", default_value_t = 1)]
    pub nats_stream_replicas: usize,
}
