//! The ingress in-process on port 0, against a fresh database and its own nats-server.

use ingress::{Application, Config};
use reqwest::{Method, StatusCode};
use scim_events::STREAM;
use scim_service::config::NatsConfig;
use scim_store::DatabaseConfig;
use scim_tests::admin::Admin;
use scim_tests::client::Scim;
use scim_tests::process::OPERATOR_TOKEN;
use scim_tests::{NATS_INGRESS, NatsServer, Received, TestDb, eventually, read_stream, stream_len};
use serde_json::Value;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub struct TestApp {
    pub db: TestDb,
    /// Held for its lifetime: dropping it stops the server.
    pub nats: NatsServer,
    /// The ingress's URL as the test reaches it (its listener), without the SCIM path.
    pub base: String,
    /// The admin API, with the operator token.
    pub admin: Admin,
    /// The metrics endpoint's URL.
    pub metrics: String,
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
    spawn_app_with(|_| {}).await
}

/// [`spawn_app`] with the settings `configure` changes.
pub async fn spawn_app_with(configure: impl FnOnce(&mut Config)) -> TestApp {
    spawn_app_on(TestDb::new().await, NatsServer::start(), configure).await
}

/// [`spawn_app_with`] on a database and a NATS server made (and prepared) beforehand.
pub async fn spawn_app_on(
    db: TestDb,
    nats: NatsServer,
    configure: impl FnOnce(&mut Config),
) -> TestApp {
    let mut config = test_config(&db, &nats);
    configure(&mut config);
    let app = Application::build(config).await.expect("building the app");
    // Where the test reaches it, whatever public URL it was configured to show.
    let base = format!("http://127.0.0.1:{}", app.port());
    let admin = Admin::new(app.admin_url().expect("the admin API is on"));
    let metrics = app.metrics_url().expect("metrics are on");
    let shutdown = CancellationToken::new();
    tokio::spawn(app.run(shutdown.clone()));
    let (dir, token) = db.directory("the test app's directory").await;
    let scim = Scim::new(format!("{base}/scim/v2/{dir}"), token);
    TestApp {
        db,
        nats,
        base,
        admin,
        metrics,
        scim,
        shutdown,
    }
}

/// The ingress's settings for tests: ports chosen by the system, small limits.
pub fn test_config(db: &TestDb, nats: &NatsServer) -> Config {
    Config {
        listen_addr: "127.0.0.1:0".into(),
        public_base_url: String::new(),
        database: DatabaseConfig {
            database_url: db.url.clone(),
            database_max_connections: 8,
        },
        nats: NatsConfig {
            nats_url: nats.url.clone(),
            nats_stream_replicas: 1,
            events_retention_days: 7,
            credentials: NATS_INGRESS.credentials(),
        },
        run_migrations: true,
        max_body_bytes: 64 * 1024,
        // Below the body limit, so tests can send a resource over it.
        max_resource_bytes: 32 * 1024,
        list_connections: 4,
        list_timeout_ms: 5000,
        directory_list_concurrency: 2,
        directory_list_share: 0.5,
        list_page_bytes: 8 * 1024 * 1024,
        directory_rate_limit: 0.0,
        directory_rate_burst: 50.0,
        relay_batch_size: 100,
        relay_lanes: 2,
        relay_lease_seconds: 10,
        token_cache_seconds: 5,
        admin_listen_addr: "127.0.0.1:0".into(),
        admin_token: OPERATOR_TOKEN.into(),
        request_log_days: 30,
        request_log_query_values: false,
        request_log_redact: "phoneNumbers".into(),
        metrics_addr: "127.0.0.1:0".into(),
        token_expiry_warning_days: 14,
        token_expiry_check_seconds: 1,
        retention_check_seconds: 3600,
        product_name: "Acme Scheduling".into(),
        support_contact: "help@acme-scheduling.example".into(),
        product_logo_file: String::new(),
        shutdown_grace_seconds: 2,
        roles: None,
        default_role: None,
    }
}

pub async fn outbox_subjects(db: &TestDb) -> Vec<String> {
    sqlx::query_scalar("SELECT subject FROM outbox ORDER BY seq")
        .fetch_all(&db.pool)
        .await
        .unwrap()
}

/// Waits for the relay to empty the outbox, then returns every event in the stream.
pub async fn published_events(app: &TestApp) -> Vec<Received> {
    eventually(Duration::from_secs(15), "an empty outbox", || async {
        outbox_subjects(&app.db).await.is_empty().then_some(())
    })
    .await;
    let total = stream_len(&app.nats.url, STREAM).await;
    read_stream(&app.nats.url, STREAM, total).await
}

/// How the directory's `/Schemas` describes a group member's `display` sub-attribute.
pub async fn member_display_schema(scim: &Scim) -> Value {
    let group = scim
        .send(
            Method::GET,
            "/Schemas/urn:ietf:params:scim:schemas:core:2.0:Group",
            None,
        )
        .await
        .body;
    let named = |list: &Value, name: &str| {
        list.as_array()
            .and_then(|l| l.iter().find(|a| a["name"] == name))
            .cloned()
            .unwrap_or_else(|| panic!("no {name} in {list}"))
    };
    named(
        &named(&group["attributes"], "members")["subAttributes"],
        "display",
    )
}

/// The metrics endpoint's text.
pub async fn metrics_text(app: &TestApp) -> String {
    reqwest::get(&app.metrics)
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Fetches one of the web pages' files and checks it is served as `kind` under a strict
/// Content-Security-Policy, naming no other host.
pub async fn strict_page(url: &str, kind: &str) {
    let res = reqwest::get(url).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "{url}");
    let header = |name: &str| {
        res.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    assert!(header("content-type").starts_with(kind), "{url}");
    let csp = header("content-security-policy");
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(directive), "{url}: {csp}");
    }
    assert!(!csp.contains("unsafe"), "{csp}");
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert_eq!(header("referrer-policy"), "no-referrer");
    let text = res.text().await.unwrap();
    // Nothing is loaded from anywhere else.
    assert!(
        !text.contains("http://") && !text.contains("https://"),
        "{url} names another host"
    );
}
