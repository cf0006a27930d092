//! The ingress in-process on port 0, against a fresh database and its own nats-server.

use ingress::{Application, Config};
use scim_shared::config::{DatabaseConfig, NatsConfig};
use scim_tests::client::Scim;
use scim_tests::{NatsServer, TestDb};
use tokio_util::sync::CancellationToken;

pub struct TestApp {
    pub db: TestDb,
    /// Held for its lifetime (dropping it stops the server); not every test reads it.
    #[allow(dead_code)]
    pub nats: NatsServer,
    /// The ingress's URL, without the SCIM path.
    pub base: String,
    /// A client for a directory created for the test.
    pub scim: Scim,
    shutdown: CancellationToken,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

pub async fn spawn_app() -> TestApp {
    let db = TestDb::new().await;
    let nats = NatsServer::start();
    let config = Config {
        listen_addr: "127.0.0.1:0".into(),
        public_base_url: String::new(),
        database: DatabaseConfig {
            database_url: db.url.clone(),
            database_max_connections: 8,
        },
        nats: NatsConfig {
            nats_url: nats.url.clone(),
            nats_stream_replicas: 1,
        },
        run_migrations: true,
        max_body_bytes: 64 * 1024,
        relay_batch_size: 100,
        token_cache_seconds: 5,
        shutdown_grace_seconds: 2,
    };
    let app = Application::build(config).await.expect("building the app");
    let base = app.base_url().to_owned();
    let shutdown = CancellationToken::new();
    tokio::spawn(app.run(shutdown.clone()));
    let (dir, token) = db.directory("acme").await;
    let scim = Scim::new(format!("{base}/scim/v2/{dir}"), token);
    TestApp {
        db,
        nats,
        base,
        scim,
        shutdown,
    }
}
