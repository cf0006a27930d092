//! Test kit: real Postgres databases and real NATS servers for tests, the service
//! binaries as processes, and a small SCIM client. Nothing here is a mock.
//!
//! - `TEST_DATABASE_URL` (default `postgres://postgres:postgres@127.0.0.1:5432/postgres?sslmode=disable`): a
//!   server on which each test creates, and then drops, its own database.
//! - `NATS_SERVER_BIN` (default `nats-server`): a nats-server 2.10+ binary; each test
//!   starts its own on a free port with its own store directory, with the users and
//!   permissions of `deploy/nats/permissions.conf`.

pub mod admin;
pub mod browser;
pub mod client;
pub mod postgres;
pub mod process;
pub mod scimctl;
pub mod system;

use scim_core::profile::Idp;
use scim_core::roles::Catalogue;
use scim_store::{self as db, directories};
use sqlx::{Connection, PgConnection, PgPool};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use uuid::Uuid;

pub fn admin_database_url() -> String {
    std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| {
        "postgres://postgres:postgres@127.0.0.1:5432/postgres?sslmode=disable".into()
    })
}

/// A fresh, migrated database, dropped when this value is dropped.
pub struct TestDb {
    pub url: String,
    pub pool: PgPool,
    name: String,
    admin: String,
}

impl TestDb {
    pub async fn new() -> TestDb {
        TestDb::on(&admin_database_url()).await
    }

    /// A fresh database on the server whose `postgres` database `admin` names.
    pub async fn on(admin: &str) -> TestDb {
        let admin = admin.to_owned();
        let name = format!("scim_test_{}", Uuid::new_v4().simple());
        let mut conn = PgConnection::connect(&admin)
            .await
            .unwrap_or_else(|e| panic!("connecting to {admin} (set TEST_DATABASE_URL): {e}"));
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .expect("creating the test database");
        // Same server and options, another database: `…/postgres?x=y` → `…/<name>?x=y`.
        let url = match admin.rsplit_once('/') {
            Some((server, rest)) => match rest.split_once('?') {
                Some((_, options)) => format!("{server}/{name}?{options}"),
                None => format!("{server}/{name}"),
            },
            None => panic!("TEST_DATABASE_URL needs a database path"),
        };
        // Pinged before use (unlike the services' pools), so a test's own queries
        // survive a simulated outage.
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(8)
            .connect(&url)
            .await
            .expect("connecting to the test database");
        db::migrate(&pool)
            .await
            .expect("migrating the test database");
        TestDb {
            url,
            pool,
            name,
            admin,
        }
    }

    /// Simulates a database outage: refuses new connections to this database and
    /// terminates the open ones (the test's own pool reconnects afterwards).
    pub async fn refuse_connections(&self, refuse: bool) {
        let mut conn = PgConnection::connect(&self.admin)
            .await
            .expect("admin connection");
        let allow = if refuse { "false" } else { "true" };
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "ALTER DATABASE {} ALLOW_CONNECTIONS {allow}",
            self.name
        )))
        .execute(&mut conn)
        .await
        .expect("changing ALLOW_CONNECTIONS");
        if refuse {
            sqlx::query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
            )
            .bind(&self.name)
            .execute(&mut conn)
            .await
            .expect("terminating connections");
        }
    }

    /// Makes the database refuse to write the member record of `email` with `sqlstate`
    /// (23514 as a check constraint would, 54000 as for a value too long for its index),
    /// for as long as the database lives: an event about that user can never be
    /// applied. The trigger is `refuse_members_<sqlstate>`; one email per `sqlstate`.
    pub async fn refuse_member(&self, email: &str, sqlstate: &str) {
        self.refuse_rows("members", "email", email, sqlstate).await;
    }

    /// Makes the database refuse to store a user named `user_name` with `sqlstate`, for
    /// as long as the database lives: the kind of refusal a client's data can provoke
    /// past the edge. One user name per `sqlstate`.
    pub async fn refuse_user_name(&self, user_name: &str, sqlstate: &str) {
        self.refuse_rows("scim_users", "user_name", user_name, sqlstate)
            .await;
    }

    /// A trigger `refuse_<table>_<sqlstate>` that raises `sqlstate` for every row of
    /// `table` written with `column` = `value`.
    async fn refuse_rows(&self, table: &str, column: &str, value: &str, sqlstate: &str) {
        let value = value.replace('\'', "''");
        let name = format!("refuse_{table}_{sqlstate}");
        for sql in [
            format!(
                "CREATE OR REPLACE FUNCTION test_{name}() RETURNS trigger LANGUAGE plpgsql AS
                 $$ BEGIN RAISE EXCEPTION '{table} row refused by the test' USING ERRCODE = '{sqlstate}'; END $$"
            ),
            format!(
                "CREATE TRIGGER {name} BEFORE INSERT OR UPDATE ON {table} FOR EACH ROW
                 WHEN (NEW.{column} = '{value}') EXECUTE FUNCTION test_{name}()"
            ),
        ] {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&self.pool)
                .await
                .expect("installing the refusing trigger");
        }
    }

    /// Creates a directory with a token; returns (directory id, token).
    /// An Okta directory and its token.
    pub async fn directory(&self, name: &str) -> (Uuid, String) {
        self.directory_for(name, Idp::Okta).await
    }

    /// A directory of identity-provider kind `idp` and its token.
    pub async fn directory_for(&self, name: &str, idp: Idp) -> (Uuid, String) {
        let dir = directories::create(&self.pool, name, idp, &Catalogue::builtin())
            .await
            .expect("creating a directory");
        let token =
            directories::issue_token(&self.pool, dir.id, None, directories::TokenOrigin::Operator)
                .await
                .expect("issuing a token");
        (dir.id, token.token)
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let (admin, name) = (self.admin.clone(), self.name.clone());
        // Drop runs inside a runtime that may be shutting down: use a thread of our own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async {
                let mut conn = PgConnection::connect(&admin).await.ok()?;
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .execute(&mut conn)
                .await
                .ok()
            })
        })
        .join();
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("finding a free port")
}

/// Waits until something accepts TCP connections on `port`.
pub fn wait_for_port(port: u16, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// A NATS user of `deploy/nats/permissions.conf`, with the password the test servers
/// give it.
#[derive(Debug, Clone, Copy)]
pub struct NatsUser {
    pub user: &'static str,
    pub password: &'static str,
    /// The variable that carries the password into nats-server's configuration.
    password_env: &'static str,
}

/// The ingress: publishes events, sets up the streams.
pub const NATS_INGRESS: NatsUser = NatsUser {
    user: "scim-ingress",
    password: "ingress-test-password",
    password_env: "SCIM_NATS_INGRESS_PASSWORD",
};
/// The worker: consumes `member-sync`, publishes dead letters.
pub const NATS_WORKER: NatsUser = NatsUser {
    user: "scim-worker",
    password: "worker-test-password",
    password_env: "SCIM_NATS_WORKER_PASSWORD",
};
/// A subscribing service: reads events through consumers of its own.
pub const NATS_SUBSCRIBER: NatsUser = NatsUser {
    user: "scim-subscriber",
    password: "subscriber-test-password",
    password_env: "SCIM_NATS_SUBSCRIBER_PASSWORD",
};

impl NatsUser {
    pub fn credentials(&self) -> scim_service::config::NatsCredentials {
        scim_service::config::NatsCredentials {
            nats_user: self.user.into(),
            nats_password: self.password.into(),
            ..Default::default()
        }
    }

    /// The environment a service process logs in as this user with.
    pub fn env(&self) -> [(&'static str, &'static str); 2] {
        [("NATS_USER", self.user), ("NATS_PASSWORD", self.password)]
    }

    /// A client logged in as this user to the server(s) at `urls` (comma-separated).
    pub async fn connect(&self, urls: &str) -> async_nats::Client {
        let servers = scim_service::nats::server_addrs(urls).expect("NATS URLs");
        scim_service::nats::options(&self.credentials())
            .await
            .expect("NATS options")
            .connect(servers)
            .await
            .expect("connecting to NATS")
    }
}

/// The permissions every test server runs with, as deployments do.
const PERMISSIONS: &str = include_str!("../../deploy/nats/permissions.conf");

/// A real nats-server with JetStream on a free port, with its own store directory, and
/// the users and permissions of `deploy/nats/permissions.conf` (log in with
/// [`NATS_INGRESS`], [`NATS_WORKER`] or [`NATS_SUBSCRIBER`]). It can be stopped and
/// started again on the same port and store.
pub struct NatsServer {
    pub port: u16,
    pub url: String,
    store: PathBuf,
    child: Option<Child>,
    /// Cluster arguments, for a node of [`NatsServer::cluster`].
    cluster: Vec<String>,
}

impl NatsServer {
    pub fn start() -> NatsServer {
        Self::start_with_config("")
    }

    /// A server with these lines of nats-server configuration (such as
    /// `max_payload: 65536`) besides the permissions and the usual flags.
    pub fn start_with_config(config: &str) -> NatsServer {
        let port = free_port();
        let mut server = NatsServer {
            port,
            url: format!("nats://127.0.0.1:{port}"),
            store: Self::store(config),
            child: None,
            cluster: Vec::new(),
        };
        server.resume();
        server
    }

    /// A new store directory holding the server's configuration file.
    fn store(config: &str) -> PathBuf {
        let store = std::env::temp_dir().join(format!("scim-nats-{}", Uuid::new_v4().simple()));
        std::fs::create_dir_all(&store).expect("creating the NATS store");
        std::fs::write(store.join("permissions.conf"), PERMISSIONS)
            .expect("writing the NATS permissions");
        std::fs::write(
            store.join("nats.conf"),
            format!("{config}\ninclude permissions.conf\n"),
        )
        .expect("writing the NATS configuration");
        store
    }

    /// `n` servers forming one JetStream cluster on loopback ports, each with its own
    /// store. Clients connect to [`NatsServer::cluster_url`] of them.
    pub fn cluster(n: usize) -> Vec<NatsServer> {
        let ports: Vec<(u16, u16)> = (0..n).map(|_| (free_port(), free_port())).collect();
        let routes = ports
            .iter()
            .map(|(_, c)| format!("nats://127.0.0.1:{c}"))
            .collect::<Vec<_>>()
            .join(",");
        let mut nodes: Vec<NatsServer> = ports
            .iter()
            .enumerate()
            .map(|(i, (port, cluster_port))| NatsServer {
                port: *port,
                url: format!("nats://127.0.0.1:{port}"),
                store: Self::store(""),
                child: None,
                cluster: vec![
                    "--name".into(),
                    format!("node{i}"),
                    "--cluster_name".into(),
                    "scim".into(),
                    "--cluster".into(),
                    format!("nats://127.0.0.1:{cluster_port}"),
                    "--routes".into(),
                    routes.clone(),
                ],
            })
            .collect();
        for node in &mut nodes {
            node.resume();
        }
        nodes
    }

    /// The comma-separated URLs of a cluster's nodes.
    pub fn cluster_url(nodes: &[NatsServer]) -> String {
        nodes
            .iter()
            .map(|n| n.url.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Starts the server again after [`NatsServer::stop`].
    pub fn resume(&mut self) {
        let bin = std::env::var("NATS_SERVER_BIN").unwrap_or_else(|_| "nats-server".into());
        let child = Command::new(&bin)
            .args(["-c"])
            .arg(self.store.join("nats.conf"))
            .args([
                "-a",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-js",
                "-sd",
            ])
            .arg(&self.store)
            .args(&self.cluster)
            .envs(
                [NATS_INGRESS, NATS_WORKER, NATS_SUBSCRIBER]
                    .iter()
                    .map(|u| (u.password_env, u.password)),
            )
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {bin} (set NATS_SERVER_BIN): {e}"));
        self.child = Some(child);
        assert!(
            wait_for_port(self.port, Duration::from_secs(10)),
            "nats-server did not start"
        );
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.store);
    }
}

/// Polls `check` every 25 ms until it returns `Some`, or panics after `timeout`.
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// The value of the sample `series` (a metric name with its labels, as printed) in a
/// Prometheus text exposition; `None` if it is absent.
pub fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|l| {
            l.strip_prefix(series)
                .is_some_and(|rest| rest.starts_with(' '))
        })
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// A message read back from a JetStream stream.
#[derive(Debug, Clone)]
pub struct Received {
    pub subject: String,
    /// The `Nats-Msg-Id` header.
    pub msg_id: Option<String>,
    /// The payload as JSON (a JSON string holding the text when it is not JSON).
    pub payload: serde_json::Value,
}

/// Reads the first `count` messages of `stream` through a new consumer, waiting up to
/// 20 s for each (and for the stream to exist).
pub async fn read_stream(nats_url: &str, stream: &str, count: usize) -> Vec<Received> {
    read_subjects(nats_url, stream, "", count).await
}

/// [`read_stream`], of the messages whose subjects match `filter` (a NATS subject
/// pattern; empty: all).
pub async fn read_subjects(
    nats_url: &str,
    stream: &str,
    filter: &str,
    count: usize,
) -> Vec<Received> {
    use async_nats::jetstream;
    use futures::StreamExt;
    let js = jetstream::new(NATS_SUBSCRIBER.connect(nats_url).await);
    let stream = eventually(Duration::from_secs(20), "the stream", || {
        let js = js.clone();
        async move { js.get_stream(stream).await.ok() }
    })
    .await;
    // Read, never acknowledged: no limit of messages awaiting their acks.
    let consumer = stream
        .create_consumer(jetstream::consumer::pull::Config {
            ack_policy: jetstream::consumer::AckPolicy::None,
            filter_subject: filter.to_owned(),
            ..Default::default()
        })
        .await
        .expect("creating a consumer");
    let mut messages = consumer.messages().await.expect("pulling messages");
    let mut received = Vec::with_capacity(count);
    while received.len() < count {
        let msg = tokio::time::timeout(Duration::from_secs(20), messages.next())
            .await
            .unwrap_or_else(|_| panic!("only {} of {count} messages arrived", received.len()))
            .expect("a message")
            .expect("a message without error");
        let text = String::from_utf8_lossy(&msg.payload).into_owned();
        received.push(Received {
            subject: msg.subject.to_string(),
            msg_id: msg
                .headers
                .as_ref()
                .and_then(|h| h.get("Nats-Msg-Id"))
                .map(|v| v.to_string()),
            payload: serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
        });
    }
    received
}

/// Messages currently in `stream`.
pub async fn stream_len(nats_url: &str, stream: &str) -> usize {
    let js = async_nats::jetstream::new(NATS_SUBSCRIBER.connect(nats_url).await);
    let mut stream = js.get_stream(stream).await.expect("the stream");
    stream.info().await.expect("stream info").state.messages as usize
}

/// A validator for the documented event contract (`docs/events.v1.schema.json`), with
/// formats (uuid, date-time) checked.
pub fn event_schema() -> jsonschema::Validator {
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../../docs/events.v1.schema.json"))
            .expect("the event schema is JSON");
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the event schema is a valid JSON Schema")
}
