//! Configuration shared by the binaries, read once at start-up from the environment
//! (each field also has a command-line flag, for local runs).

use clap::Args;

#[derive(Debug, Clone, Args)]
pub struct NatsConfig {
    /// NATS server URL (JetStream enabled, server 2.10 or newer); several servers of a
    /// cluster may be listed, comma-separated.
    #[arg(long, env = "NATS_URL", default_value = "nats://127.0.0.1:4222")]
    pub nats_url: String,
    /// Replicas of the event streams: 1 for a single server, 3 on a cluster.
    #[arg(long, env = "NATS_STREAM_REPLICAS", default_value_t = 1)]
    pub nats_stream_replicas: usize,
    /// Days the event stream keeps events: how long a subscriber may be away and still
    /// catch up from the stream (older state: the directory snapshot).
    #[arg(long, env = "EVENTS_RETENTION_DAYS", default_value_t = 7)]
    pub events_retention_days: u32,
    #[command(flatten)]
    pub credentials: NatsCredentials,
}

/// Who the service is to NATS, and how it knows the server is the right one. The
/// server's permissions (`deploy/nats/permissions.conf`) let each service do only its
/// part: the ingress publish events, the worker consume its consumer and publish dead
/// letters.
#[derive(Debug, Clone, Default, Args)]
pub struct NatsCredentials {
    /// NATS user name; empty: none (a server without authorization).
    #[arg(long, env = "NATS_USER", default_value = "")]
    pub nats_user: String,
    /// The user's password.
    #[arg(
        long,
        env = "NATS_PASSWORD",
        default_value = "",
        hide_env_values = true
    )]
    pub nats_password: String,
    /// A `.creds` file (JWT and nkey seed), for servers run in operator mode, instead of
    /// a user and password.
    #[arg(long, env = "NATS_CREDS", default_value = "")]
    pub nats_creds: String,
    /// PEM file of the certificate authorities to trust for `tls://` server URLs; empty:
    /// the system's.
    #[arg(long, env = "NATS_TLS_CA", default_value = "")]
    pub nats_tls_ca: String,
    /// Prefix of the subjects replies come back on: the permissions give each user its
    /// own (`_INBOX_<user>`), so no client can read another's replies. Empty:
    /// `_INBOX_<NATS_USER>` with a user, `_INBOX` without.
    #[arg(long, env = "NATS_INBOX_PREFIX", default_value = "")]
    pub nats_inbox_prefix: String,
}

impl NatsCredentials {
    /// The reply subject prefix to use (see `nats_inbox_prefix`).
    pub fn inbox_prefix(&self) -> String {
        match (self.nats_inbox_prefix.as_str(), self.nats_user.as_str()) {
            ("", "") => "_INBOX".to_owned(),
            ("", user) => format!("_INBOX_{user}"),
            (prefix, _) => prefix.to_owned(),
        }
    }
}
