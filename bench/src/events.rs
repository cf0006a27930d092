//! The event side of a run: how long events take to reach a subscriber built on the
//! `scim-events` crate, how fast the relay empties a full outbox, and how fast a
//! directory's snapshot streams.

use async_nats::jetstream;
use scim_events::subscriber::{self, Settings};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use tokio::sync::oneshot;
use uuid::Uuid;

/// A subscriber of one directory's events, in a thread of its own (the benchmark's own
/// thread stays the identity provider's), noting how long after its change each event
/// reached the handler.
pub struct Subscriber {
    stop: oneshot::Sender<()>,
    thread: std::thread::JoinHandle<()>,
    delays_ms: Arc<Mutex<Vec<f64>>>,
    started: Instant,
}

/// NATS as the subscriber user of `scripts/up.sh` reaches it: NATS_URL, NATS_USER,
/// NATS_PASSWORD; `None` when they are not set.
pub fn subscriber_login() -> Option<(String, scim_service::config::NatsCredentials)> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let credentials = scim_service::config::NatsCredentials {
        nats_user: var("NATS_USER")?,
        nats_password: var("NATS_PASSWORD")?,
        ..Default::default()
    };
    Some((var("NATS_URL")?, credentials))
}

impl Subscriber {
    /// A subscriber of its own, `name`, reading the directory's events from the start.
    pub fn start(directory: Uuid, name: &'static str) -> Option<Subscriber> {
        let (url, credentials) = subscriber_login()?;
        let delays_ms = Arc::new(Mutex::new(Vec::new()));
        let (stop, stopped) = oneshot::channel::<()>();
        let delays = delays_ms.clone();
        let (ready, started) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                let Ok(options) = scim_service::nats::options(&credentials).await else {
                    return;
                };
                let Ok(client) = options.connect(url).await else {
                    let _ = ready.send(false);
                    return;
                };
                let js = jetstream::new(client);
                let mut settings = Settings::new(format!("{name}-{directory}"));
                // The users' own events, three a user: what the run counts (members'
                // role events follow them, as many as roles change).
                settings.filter = format!("scim.v1.{directory}.user.>");
                let start = subscriber::Start::Nothing;
                let (consumer, mut positions) =
                    match subscriber::consumer(&js, &settings, start).await {
                        Ok(started) => started,
                        Err(e) => {
                            println!("subscriber   {e}");
                            let _ = ready.send(false);
                            return;
                        }
                    };
                let _ = ready.send(true);
                let stop = async {
                    let _ = stopped.await;
                };
                let _ = subscriber::run(&consumer, &settings, &mut positions, stop, |event| {
                    let delay = OffsetDateTime::now_utc() - event.time;
                    delays
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(delay.as_seconds_f64() * 1000.0);
                    async { Ok(()) }
                })
                .await;
                let _ = js
                    .delete_consumer_from_stream(settings.durable, scim_events::STREAM)
                    .await;
            });
        });
        if started.recv_timeout(Duration::from_secs(10)) != Ok(true) {
            println!("subscriber   could not start (NATS_URL, NATS_USER, NATS_PASSWORD)");
            return None;
        }
        Some(Subscriber {
            stop,
            thread,
            delays_ms,
            started: Instant::now(),
        })
    }

    /// Waits until `expected` events arrived (or `timeout`), stops, and prints the
    /// delays.
    /// Waits for `expected` events (or `timeout`), prints what arrived, and returns how
    /// many did and how many seconds after the subscriber started the last one came.
    pub fn finish(self, expected: usize, timeout: Duration) -> (usize, f64) {
        let waiting = Instant::now();
        let deadline = waiting + timeout;
        let count = || self.delays_ms.lock().map(|d| d.len()).unwrap_or(0);
        while count() < expected && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        let waited = waiting.elapsed().as_secs_f64();
        let since_start = self.started.elapsed().as_secs_f64();
        let _ = self.stop.send(());
        let _ = self.thread.join();
        let mut delays = self.delays_ms.lock().map(|d| d.clone()).unwrap_or_default();
        delays.sort_by(f64::total_cmp);
        let pct = |p: f64| {
            delays
                .get(((delays.len() as f64 * p).ceil() as usize).saturating_sub(1))
                .copied()
                .unwrap_or(0.0)
        };
        println!(
            "subscriber   {} of {expected} events, change to callback p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; \
             the last {waited:.2} s after the workload",
            delays.len(),
            pct(0.5),
            pct(0.99),
            pct(1.0),
        );
        (delays.len(), since_start)
    }
}

/// Fills the outbox with `n` events of about 600 bytes of 64 directories in one
/// statement (spread over the outbox's slots, as a deployment's many directories are),
/// then times the relay emptying it.
pub async fn relay_rate(pool: &sqlx::PgPool, n: i64) -> anyhow::Result<()> {
    let directories: Vec<String> = (0..64).map(|_| Uuid::now_v7().to_string()).collect();
    let inserted = Instant::now();
    sqlx::query(
        "INSERT INTO outbox (event_id, subject, payload)
         SELECT gen_random_uuid(), 'scim.v1.' || ($1::text[])[1 + i % 64] || '.user.updated',
                json_build_object('id', gen_random_uuid(), 'type', 'user.updated', 'contract_version', 1,
                                  'padding', repeat('x', 440), 'n', i)
         FROM generate_series(1, $2) AS i",
    )
    .bind(&directories)
    .bind(n)
    .execute(pool)
    .await?;
    let cpu = crate::cpu::now();
    let start = Instant::now();
    let filled = start - inserted;
    loop {
        let left: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox")
            .fetch_one(pool)
            .await?;
        if left == 0 {
            break;
        }
        if start.elapsed() > Duration::from_secs(600) {
            println!("relay        {left} of {n} events still waiting after 600 s");
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let took = start.elapsed();
    println!(
        "relay        {n} events of ~600 bytes published from a full outbox in {:.2} s: {:.0} events/s (filling it took {:.2} s)\n             {}",
        took.as_secs_f64(),
        n as f64 / took.as_secs_f64(),
        filled.as_secs_f64(),
        crate::cpu::since(&cpu)
    );
    Ok(())
}

/// Streams the directory's snapshot through the admin API (ADMIN_URL, ADMIN_TOKEN) and
/// prints its rate; nothing without them.
pub async fn snapshot_rate(directory: Uuid) -> anyhow::Result<()> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let (Some(url), Some(token)) = (var("ADMIN_URL"), var("ADMIN_TOKEN")) else {
        println!("snapshot     not measured (set ADMIN_URL and ADMIN_TOKEN)");
        return Ok(());
    };
    let token = token.split(',').next().unwrap_or_default().to_owned();
    let start = Instant::now();
    let mut res = reqwest::Client::new()
        .get(format!("{url}/admin/v1/directories/{directory}/snapshot"))
        .bearer_auth(token)
        .send()
        .await?;
    anyhow::ensure!(res.status().is_success(), "snapshot: {}", res.status());
    let (mut bytes, mut lines) = (0usize, 0usize);
    while let Some(chunk) = res.chunk().await? {
        bytes += chunk.len();
        lines += chunk.iter().filter(|b| **b == b'\n').count();
    }
    let took = start.elapsed().as_secs_f64();
    println!(
        "snapshot     {lines} lines, {:.1} MB in {took:.2} s: {:.0} lines/s",
        bytes as f64 / 1e6,
        lines as f64 / took
    );
    Ok(())
}
