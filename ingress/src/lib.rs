//! The SCIM 2.0 ingress: authenticates bearer tokens, validates and normalizes SCIM
//! requests, writes each change with its outbox event in one transaction, and relays
//! committed events to JetStream.

mod admin;
mod auth;
mod commands;
mod error;
mod etag;
mod extract;
mod listener;
mod metrics;
mod pages;
mod quota;
mod relay;
mod representation;
mod request_log;
mod retention;
mod retry;
mod scim;
mod setup;
mod token_expiry;

use anyhow::Context;
use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::routing::get;
use clap::Parser;
use scim_core::group::Group;
use scim_core::limits;
use scim_core::user::User;
use scim_service::config::NatsConfig;
use scim_store as db;
use scim_store::DatabaseConfig;
use sqlx::PgPool;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::trace::TraceLayer;
use uuid::Uuid;

#[derive(Debug, Clone, Parser)]
#[command(name = "ingress", about = "SCIM 2.0 ingress and outbox relay")]
pub struct Config {
    /// Address the HTTP server listens on.
    #[arg(long, env = "LISTEN_ADDR", default_value = "127.0.0.1:8080")]
    pub listen_addr: String,
    /// Public URL of this service, as identity providers reach it (for `meta.location`
    /// and SCIM base URLs). Empty: `http://<bound listen address>`.
    #[arg(long, env = "PUBLIC_BASE_URL", default_value = "")]
    pub public_base_url: String,
    #[command(flatten)]
    pub database: DatabaseConfig,
    #[command(flatten)]
    pub nats: NatsConfig,
    /// Apply database migrations at start-up (safe with many replicas).
    #[arg(long, env = "RUN_MIGRATIONS", default_value_t = true, action = clap::ArgAction::Set)]
    pub run_migrations: bool,
    /// Largest request body accepted, in bytes; larger ones get 413.
    #[arg(long, env = "MAX_BODY_BYTES", default_value_t = 2 * 1024 * 1024)]
    pub max_body_bytes: usize,
    /// Largest user or group accepted, its attributes written as JSON, in bytes; larger
    /// ones get 413. The NATS server's max_payload must carry the events such a change
    /// makes: the ingress checks it at start-up.
    #[arg(long, env = "MAX_RESOURCE_BYTES", default_value_t = limits::DEFAULT_RESOURCE_BYTES)]
    pub max_resource_bytes: usize,
    /// Database connections for SCIM lists and searches, a pool of their own: a slow
    /// filter can never take the connections that writes and single reads need.
    #[arg(long, env = "LIST_CONNECTIONS", default_value_t = 8)]
    pub list_connections: u32,
    /// Milliseconds a list or search may run in Postgres; a longer one is cancelled and
    /// answered 503 (Retry-After). Also how long a list waits for its directory's turn
    /// before it is answered 429.
    #[arg(long, env = "LIST_TIMEOUT_MS", default_value_t = 5000)]
    pub list_timeout_ms: u64,
    /// Lists and searches of one directory that run at once on a replica; more wait.
    #[arg(long, env = "DIRECTORY_LIST_CONCURRENCY", default_value_t = 1)]
    pub directory_list_concurrency: usize,
    /// Seconds of list and search time a second one directory may spend on a replica,
    /// in bursts of up to LIST_TIMEOUT_MS; past it its lists get 429 until it is made up.
    #[arg(long, env = "DIRECTORY_LIST_SHARE", default_value_t = 0.5)]
    pub directory_list_share: f64,
    /// Largest list page, in bytes of stored resources: a page holds fewer resources
    /// than `count` (RFC 7644 allows it) rather than more bytes than this, plus one
    /// resource.
    #[arg(long, env = "LIST_PAGE_BYTES", default_value_t = 8 * 1024 * 1024)]
    pub list_page_bytes: usize,
    /// Requests per second one directory may send to a replica, past which it gets 429
    /// with Retry-After; 0: no limit.
    #[arg(long, env = "DIRECTORY_RATE_LIMIT", default_value_t = 0.0)]
    pub directory_rate_limit: f64,
    /// Requests one directory may send at once after a quiet spell, with a rate limit.
    #[arg(long, env = "DIRECTORY_RATE_BURST", default_value_t = 50.0)]
    pub directory_rate_burst: f64,
    /// Outbox rows a relay lane publishes per pipelined batch.
    #[arg(long, env = "RELAY_BATCH_SIZE", default_value_t = 500)]
    pub relay_batch_size: i64,
    /// Relay lanes per replica, publishing different directories' events at once (the
    /// outbox's 16 slots shared out among them; 16 at most).
    #[arg(long, env = "RELAY_LANES", default_value_t = 2)]
    pub relay_lanes: usize,
    /// Seconds a relay lane's outbox slots outlive its last word to Postgres: a killed,
    /// frozen or cut-off replica's slots move to another replica's lanes this long
    /// after it fell silent (plus a second). At least 6 (a lane waits up to 5 s
    /// between attempts while NATS is down); needs PostgreSQL 14 or newer.
    #[arg(long, env = "RELAY_LEASE_SECONDS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(6..))]
    pub relay_lease_seconds: u64,
    /// Seconds a replica may keep trusting a token it has checked: a revoked token
    /// stops working within this time. 0 checks the database on every request.
    #[arg(long, env = "TOKEN_CACHE_SECONDS", default_value_t = 5)]
    pub token_cache_seconds: u64,
    /// Address of the admin API (directories, tokens, teams, logs). Served only when
    /// ADMIN_TOKEN is set; keep it off the public network.
    #[arg(long, env = "ADMIN_LISTEN_ADDR", default_value = "127.0.0.1:8090")]
    pub admin_listen_addr: String,
    /// Operator tokens for the admin API, comma-separated (two during a rotation).
    /// Empty: the admin API is not served.
    #[arg(long, env = "ADMIN_TOKEN", default_value = "", hide_env_values = true)]
    pub admin_token: String,
    /// Days the SCIM request log keeps entries.
    #[arg(long, env = "REQUEST_LOG_DAYS", default_value_t = 30)]
    pub request_log_days: u32,
    /// Keep query values in the request log as sent (filters name people). Off: each
    /// parameter's name, paging values and the filter's shape. Credentials never.
    #[arg(long, env = "REQUEST_LOG_QUERY_VALUES", default_value_t = false, action = clap::ArgAction::Set)]
    pub request_log_query_values: bool,
    /// Attributes whose values the request inspector hides in the bodies it keeps of
    /// failed requests, comma-separated (say `phoneNumbers,addresses`; by name, at any
    /// depth, case ignored). Credentials (`password` and its kin) always are.
    #[arg(long, env = "REQUEST_LOG_REDACT", default_value = "")]
    pub request_log_redact: String,
    /// Address of the Prometheus metrics endpoint (`/metrics`); empty: none.
    #[arg(long, env = "METRICS_ADDR", default_value = "127.0.0.1:9090")]
    pub metrics_addr: String,
    /// Days before its expiry that a SCIM token is announced
    /// (`directory.token_expiring`) and counted in `scim_tokens_expiring`.
    #[arg(long, env = "TOKEN_EXPIRY_WARNING_DAYS", default_value_t = 14)]
    pub token_expiry_warning_days: u32,
    /// Seconds between looks for tokens that expire soon.
    #[arg(long, env = "TOKEN_EXPIRY_CHECK_SECONDS", default_value_t = 300)]
    pub token_expiry_check_seconds: u64,
    /// Seconds between looks for users past their directory's retention (only
    /// directories with one set are looked at).
    #[arg(long, env = "RETENTION_CHECK_SECONDS", default_value_t = 3600)]
    pub retention_check_seconds: u64,
    /// The product's name, as the setup page names it to a customer's admin; empty:
    /// the page says "the product".
    #[arg(long, env = "PRODUCT_NAME", default_value = "")]
    pub product_name: String,
    /// Whom a customer's admin asks for a new setup link or for help: an email address
    /// or an http(s) URL, shown on the setup page; empty: "the product's support".
    #[arg(long, env = "SUPPORT_CONTACT", default_value = "")]
    pub support_contact: String,
    /// The product's logo for the setup page: a .png, .svg, .jpg or .webp file of at
    /// most 256 KiB, read at start-up; empty: none.
    #[arg(long, env = "PRODUCT_LOGO_FILE", default_value = "")]
    pub product_logo_file: String,
    /// The product's roles every new directory starts with, highest first:
    /// `id=Display name` entries separated by commas. Unset: `owner`, `admin`, `member`.
    #[arg(long, env = "ROLES")]
    pub roles: Option<String>,
    /// The default role of new directories (one of `ROLES`); unset: the last of them.
    #[arg(long, env = "DEFAULT_ROLE")]
    pub default_role: Option<String>,
    /// Seconds to finish in-flight requests and drain the relay after SIGTERM.
    #[arg(long, env = "SHUTDOWN_GRACE_SECONDS", default_value_t = 20)]
    pub shutdown_grace_seconds: u64,
}

/// What the handlers share. Every middleware and handler of every request clones it,
/// so it is one reference-counted pointer: cloning the parts bumped a dozen counters
/// that both cores write to.
#[derive(Clone)]
pub(crate) struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

pub(crate) struct Shared {
    pub pool: PgPool,
    /// Connections for lists and searches, each statement time-limited
    /// ([`db::connect_bounded`]).
    pub lists: PgPool,
    pub quotas: quota::Quotas,
    /// Largest list page, in bytes of stored resources.
    pub list_page_bytes: usize,
    pub nats: async_nats::Client,
    pub tokens: auth::TokenCache,
    pub users: commands::users::Batches,
    pub requests: request_log::RequestLog,
    pub metrics: metrics::Metrics,
    /// Largest request body accepted (advertised as the bulk payload limit).
    pub max_body_bytes: usize,
    /// Largest user or group accepted, as JSON ([`Shared::check_user_size`]).
    pub max_resource_bytes: usize,
    public_base_url: Arc<str>,
    /// Where sequential list walks resume.
    pub(crate) walks: scim::resume::Walks,
    /// Attempts to open setup links, per client and per link.
    pub(crate) setup_attempts: setup::Attempts,
    /// Whose setup page it is.
    pub(crate) vendor: setup::Vendor,
    /// The roles a new directory starts with (`ROLES`, `DEFAULT_ROLE`).
    pub(crate) roles: scim_core::roles::Catalogue,
}

impl Shared {
    /// A list page at `offset` of at most `count` resources and `LIST_PAGE_BYTES`.
    pub(crate) fn page_bounds(&self, offset: i64, count: i64) -> db::PageBounds {
        db::PageBounds {
            offset,
            limit: count,
            max_bytes: self.list_page_bytes,
            after: None,
            walk_total: None,
        }
    }

    /// Refuses a group larger than `MAX_RESOURCE_BYTES` (413).
    pub(crate) fn check_group_size(&self, group: &Group) -> Result<(), scim_core::ScimError> {
        let attrs = group.attrs();
        let size = limits::json_len(attrs);
        limits::check_resource("group", attrs, size, self.max_resource_bytes)
    }

    /// Refuses a user larger than `MAX_RESOURCE_BYTES` once deactivated (413), unless
    /// it is no larger than the user it replaces (`was`) could already become: a user
    /// the service holds can always be deactivated, however close to the limit it is.
    pub(crate) fn check_user_size(
        &self,
        user: &User,
        was: Option<&User>,
    ) -> Result<(), scim_core::ScimError> {
        let size = user.deactivated_len();
        if was.is_some_and(|was| size <= was.deactivated_len()) {
            return Ok(());
        }
        limits::check_resource("user", user.attrs(), size, self.max_resource_bytes)
    }

    /// The public URL every link this service hands out starts with.
    pub(crate) fn public_base_url(&self) -> &str {
        &self.public_base_url
    }

    /// A directory's SCIM base URL: what an admin pastes into the identity provider.
    pub fn base_url(&self, directory: Uuid) -> String {
        format!("{}/scim/v2/{directory}", self.public_base_url)
    }
}

pub(crate) fn router(state: AppState) -> Router {
    let traced = scim_service::telemetry::exporting();
    let routes = Router::new()
        .merge(scim::routes(&state))
        .merge(setup::routes(&state))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(DefaultBodyLimit::max(state.max_body_bytes))
        .layer(TraceLayer::new_for_http().make_span_with(move |req: &_| request_span(req, traced)))
        .layer(SetSensitiveRequestHeadersLayer::new([
            axum::http::header::AUTHORIZATION,
            axum::http::header::COOKIE,
        ]))
        .layer(CatchPanicLayer::custom(error::panic_response))
        .with_state(state);
    // Paths are read as identity providers send them before anything routes them.
    Router::new()
        .fallback_service(routes)
        .layer(axum::middleware::map_request(scim::normalize_path))
}

/// The span of a SCIM request: method and path only. The query (filters name people)
/// and the headers (the token) stay out of logs and traces. Its trace name, the route
/// with ids as `{id}` (so span names stay few), is built only when traces are exported:
/// the logs do not show it, and it was allocation and formatting on every request.
fn request_span(req: &axum::http::Request<axum::body::Body>, traced: bool) -> tracing::Span {
    let span = tracing::info_span!(
        "scim.request",
        otel.name = tracing::field::Empty,
        otel.kind = "server",
        http.request.method = %req.method(),
        url.path = %req.uri().path(),
        trace_id = tracing::field::Empty,
    );
    if traced {
        let route: Vec<&str> = req
            .uri()
            .path()
            .split('/')
            .map(|s| {
                if Uuid::try_parse(s).is_ok() {
                    "{id}"
                } else {
                    s
                }
            })
            .collect();
        span.record("otel.name", format!("{} {}", req.method(), route.join("/")));
        scim_service::telemetry::record_trace_id(&span);
    }
    span
}

/// The catalogue new directories start with: `ROLES` and `DEFAULT_ROLE`, or the
/// built-in one.
fn roles_of(config: &Config) -> Result<scim_core::roles::Catalogue, String> {
    use scim_core::roles::Catalogue;
    let default = config.default_role.as_deref();
    match &config.roles {
        None => {
            let mut builtin = Catalogue::builtin();
            if let Some(default) = default {
                default.trim().clone_into(&mut builtin.default);
            }
            builtin.check()?;
            Ok(builtin)
        }
        Some(roles) => {
            let last = roles.rsplit(',').next().unwrap_or_default();
            let last = last.split_once('=').map_or(last, |(id, _)| id);
            Catalogue::parse(roles, default.unwrap_or(last))
        }
    }
}

/// Ready when Postgres answers and NATS is connected.
async fn ready(State(state): State<AppState>) -> (StatusCode, &'static str) {
    match scim_service::health::readiness(&state.pool, &state.nats).await {
        Ok(()) => (StatusCode::OK, "ready"),
        Err(down) => (StatusCode::SERVICE_UNAVAILABLE, down),
    }
}

/// Refuses to start when the NATS server cannot carry the events of the largest change
/// the ingress accepts: such an event would be set aside by the relay instead of
/// reaching subscribers. A server not reachable yet is checked by nobody: the warning
/// says so.
async fn check_broker(nats: &async_nats::Client, resource_bytes: usize) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(info) = nats.try_server_info() {
            return limits::check_broker(resource_bytes, info.max_payload)
                .map_err(anyhow::Error::msg);
        }
        if tokio::time::Instant::now() >= deadline {
            tracing::warn!(
                "NATS is not reachable: cannot check that its max_payload carries the largest event"
            );
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub struct Application {
    listener: TcpListener,
    router: Router,
    /// The admin API's listener and router, when operator tokens are configured.
    admin: Option<(TcpListener, Router)>,
    /// The metrics listener and what it serves, unless turned off.
    metrics: Option<(TcpListener, Arc<scim_service::metrics::Registry>)>,
    state: AppState,
    request_writer: tokio::task::JoinHandle<()>,
    relay: relay::Relay,
    token_expiry: token_expiry::Settings,
    retention_every: Duration,
    grace: Duration,
    base_url: String,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Application> {
        let roles = roles_of(&config).map_err(|e| anyhow::anyhow!("ROLES / DEFAULT_ROLE: {e}"))?;
        let vendor = setup::Vendor::new(
            &config.product_name,
            &config.support_contact,
            &config.product_logo_file,
        )?;
        let pool = db::connect(&config.database, "scim-ingress")
            .await
            .context("connecting to Postgres")?;
        let version = db::server_version(&pool)
            .await
            .context("reading PostgreSQL's version")?;
        if version < db::OLDEST_SERVER {
            anyhow::bail!(
                "PostgreSQL {} is too old: the outbox relay needs 14 or newer (idle_session_timeout)",
                version / 10000
            );
        }
        if config.run_migrations {
            db::migrate(&pool).await.context("migrating the database")?;
        }
        let list_timeout = Duration::from_millis(config.list_timeout_ms);
        let lists = db::connect_bounded(
            &config.database,
            "scim-ingress-lists",
            config.list_connections,
            list_timeout,
        )
        .await
        .context("connecting to Postgres")?;
        let nats = scim_service::nats::connect(&config.nats, "scim-ingress").await?;
        check_broker(&nats, config.max_resource_bytes).await?;
        let listener = TcpListener::bind(&config.listen_addr)
            .await
            .with_context(|| format!("binding {}", config.listen_addr))?;
        let addr: SocketAddr = listener.local_addr()?;
        let base_url = match config.public_base_url.trim_end_matches('/') {
            "" => format!("http://{addr}"),
            url => url.to_owned(),
        };
        let (metrics, registry) = metrics::Metrics::new();
        let relay = relay::Relay {
            database_url: config.database.database_url.clone(),
            nats: nats.clone(),
            stream_replicas: config.nats.nats_stream_replicas,
            retention_days: config.nats.events_retention_days,
            batch_size: config.relay_batch_size,
            lanes: config.relay_lanes,
            idle_poll: Duration::from_millis(20),
            lease: Duration::from_secs(config.relay_lease_seconds),
            published: metrics.events_published.clone(),
            parked: metrics.events_parked.clone(),
        };
        let (requests, request_writer) = request_log::RequestLog::start(
            pool.clone(),
            config.request_log_days,
            config.request_log_query_values,
            &config.request_log_redact,
            metrics.request_log_dropped.clone(),
        );
        let state = AppState(Arc::new(Shared {
            roles,
            users: commands::users::Batches::start(&pool),
            requests,
            metrics,
            max_body_bytes: config.max_body_bytes,
            max_resource_bytes: config.max_resource_bytes,
            lists,
            quotas: quota::Quotas::new(quota::Settings {
                rate: config.directory_rate_limit,
                burst: config.directory_rate_burst,
                lists: config.directory_list_concurrency.max(1),
                list_wait: list_timeout,
                list_share: config.directory_list_share.max(0.01),
            }),
            list_page_bytes: config.list_page_bytes,
            pool,
            nats,
            tokens: auth::TokenCache::new(Duration::from_secs(config.token_cache_seconds)),
            public_base_url: base_url.clone().into(),
            walks: Default::default(),
            setup_attempts: Default::default(),
            vendor,
        }));
        let operators = admin::Operators::parse(&config.admin_token);
        let admin = if operators.is_empty() {
            tracing::info!("ADMIN_TOKEN is not set: the admin API is off");
            None
        } else {
            let admin_listener = TcpListener::bind(&config.admin_listen_addr)
                .await
                .with_context(|| format!("binding {}", config.admin_listen_addr))?;
            Some((admin_listener, admin::router(state.clone(), operators)))
        };
        let metrics = match config.metrics_addr.as_str() {
            "" => None,
            addr => Some((
                TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("binding {addr}"))?,
                Arc::new(registry),
            )),
        };
        Ok(Application {
            metrics,
            listener,
            router: router(state.clone()),
            admin,
            state,
            request_writer,
            relay,
            token_expiry: token_expiry::Settings {
                window: Duration::from_secs(u64::from(config.token_expiry_warning_days) * 86_400),
                every: Duration::from_secs(config.token_expiry_check_seconds.max(1)),
            },
            retention_every: Duration::from_secs(config.retention_check_seconds.max(1)),
            grace: Duration::from_secs(config.shutdown_grace_seconds),
            base_url,
        })
    }

    pub fn port(&self) -> u16 {
        self.listener
            .local_addr()
            .map(|a| a.port())
            .unwrap_or_default()
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The metrics endpoint's URL, when it is served.
    pub fn metrics_url(&self) -> Option<String> {
        let (listener, _) = self.metrics.as_ref()?;
        listener
            .local_addr()
            .ok()
            .map(|a| format!("http://{a}/metrics"))
    }

    /// The admin API's URL, when it is served.
    pub fn admin_url(&self) -> Option<String> {
        let (listener, _) = self.admin.as_ref()?;
        listener.local_addr().ok().map(|a| format!("http://{a}"))
    }

    /// Serves until `shutdown`, then finishes in-flight requests and drains the relay,
    /// within the grace period.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let relay = tokio::spawn(self.relay.run(shutdown.clone()));
        if let Some((listener, registry)) = self.metrics {
            tokio::spawn(scim_service::metrics::serve(
                listener,
                registry,
                shutdown.clone(),
            ));
        }
        let outbox_watch = tokio::spawn(metrics::watch_outbox(
            self.state.clone(),
            Duration::from_secs(10),
            shutdown.clone(),
        ));
        let purge = tokio::spawn(setup::purge(
            self.state.clone(),
            Duration::from_secs(3600),
            shutdown.clone(),
        ));
        let expiry_watch = tokio::spawn(token_expiry::watch(
            self.state.clone(),
            self.token_expiry,
            shutdown.clone(),
        ));
        let retention = tokio::spawn(retention::watch(
            self.state.clone(),
            self.retention_every,
            shutdown.clone(),
        ));
        let follower = {
            let state = self.state.clone();
            tokio::spawn(async move { state.tokens.follow_changes(state.nats.clone()).await })
        };
        let admin = self.admin.map(|(listener, router)| {
            tokio::spawn(
                axum::serve(listener, router)
                    .with_graceful_shutdown(shutdown.clone().cancelled_owned())
                    .into_future(),
            )
        });
        drop(self.state);
        let server = axum::serve(
            listener::ScimListener(self.listener),
            self.router
                .into_make_service_with_connect_info::<listener::Peer>(),
        )
        .with_graceful_shutdown(shutdown.clone().cancelled_owned());
        server.await.context("serving HTTP")?;
        if let Some(admin) = admin {
            admin
                .await
                .context("admin API task")?
                .context("serving the admin API")?;
        }
        follower.abort();
        outbox_watch.abort();
        expiry_watch.abort();
        retention.abort();
        purge.abort();
        // The servers are gone, and with them every handle on the request log: the
        // writer stores what is queued and stops.
        let drained = async {
            let _ = relay.await;
            let _ = self.request_writer.await;
        };
        if tokio::time::timeout(self.grace, drained).await.is_err() {
            tracing::warn!(
                "outbox relay did not drain within the grace period; the rest waits in the outbox"
            );
        }
        Ok(())
    }
}
