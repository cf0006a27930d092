//! `scim-bench`: drives the Okta-shaped user workload against a running system and prints
//! throughput and latency per phase, and how long after the last response the worker had
//! applied every change.
//!
//!   scim-bench --ingress-url http://127.0.0.1:8080 --users 100000 --concurrency 32
//!
//! It creates its own directory through DATABASE_URL (the system's database) and watches
//! the `members` table there to time the worker.

use clap::Parser;
use scim_shared::db::{self, directories};
use scim_tests::client::{Scim, okta_user};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

#[derive(Parser)]
struct Args {
    /// The ingress, as reachable from here.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    ingress_url: String,
    #[command(flatten)]
    database: scim_shared::config::DatabaseConfig,
    /// Users to provision.
    #[arg(long, default_value_t = 10_000)]
    users: usize,
    /// Requests in flight.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Seconds to wait for the worker after the last response.
    #[arg(long, default_value_t = 120)]
    worker_timeout: u64,
}

struct Phase {
    name: &'static str,
    elapsed: Duration,
    latencies_us: Vec<u64>,
    errors: usize,
}

impl Phase {
    fn print(&self) {
        let mut l = self.latencies_us.clone();
        l.sort_unstable();
        let pct = |p: f64| {
            l.get(((l.len() as f64 * p).ceil() as usize).saturating_sub(1))
                .copied()
                .unwrap_or(0) as f64
                / 1000.0
        };
        println!(
            "{:<12} {:>8} req {:>9.0} req/s   p50 {:>6.2} ms   p95 {:>6.2} ms   p99 {:>6.2} ms   errors {}",
            self.name,
            l.len(),
            l.len() as f64 / self.elapsed.as_secs_f64(),
            pct(0.50),
            pct(0.95),
            pct(0.99),
            self.errors
        );
    }
}

/// Runs `request(i)` for every i in 0..n with `concurrency` in flight; `request` returns
/// whether the answer was the expected one.
async fn phase<F, Fut>(name: &'static str, n: usize, concurrency: usize, request: F) -> Phase
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let request = Arc::new(request);
    let start = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (next, request) = (next.clone(), request.clone());
            tokio::spawn(async move {
                let (mut lat, mut errors) = (Vec::new(), 0);
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        return (lat, errors);
                    }
                    let t = Instant::now();
                    if !request(i).await {
                        errors += 1;
                    }
                    lat.push(t.elapsed().as_micros() as u64);
                }
            })
        })
        .collect();
    let mut p = Phase {
        name,
        elapsed: Duration::ZERO,
        latencies_us: Vec::with_capacity(n),
        errors: 0,
    };
    for t in tasks {
        let (lat, errors) = t.await.expect("a benchmark task");
        p.latencies_us.extend(lat);
        p.errors += errors;
    }
    p.elapsed = start.elapsed();
    p.print();
    p
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let pool = db::connect(&args.database).await?;
    let dir =
        directories::create(&pool, &format!("bench-{}", uuid::Uuid::new_v4()), "okta").await?;
    let token = directories::issue_token(&pool, dir.id).await?;
    let mut scim = Scim::new(
        format!(
            "{}/scim/v2/{}",
            args.ingress_url.trim_end_matches('/'),
            dir.id
        ),
        token.token,
    );
    scim.http = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .build()?;
    let scim = Arc::new(scim);
    let n = args.users;
    let email = |i: usize| format!("bench.user{i}@example.com");
    let ids: Arc<Vec<std::sync::OnceLock<String>>> =
        Arc::new((0..n).map(|_| std::sync::OnceLock::new()).collect());
    println!(
        "{} users, {} in flight, directory {}",
        n, args.concurrency, dir.id
    );

    // Okta's lookup before a create: finds `expected` users (0 or 1).
    let lookup = |s: Arc<Scim>, expected: i64| {
        move |i: usize| {
            let s = s.clone();
            async move {
                let r = s.find_users(&format!("userName eq \"{}\"", email(i))).await;
                r.status == 200 && r.body["totalResults"] == expected
            }
        }
    };
    phase("lookup-miss", n, args.concurrency, lookup(scim.clone(), 0)).await;
    let (s, ids_c) = (scim.clone(), ids.clone());
    phase("create", n, args.concurrency, move |i| {
        let (s, ids) = (s.clone(), ids_c.clone());
        async move {
            let r = s
                .create_user(&okta_user(&email(i), "Bench", &format!("User{i}")))
                .await;
            let ok = r.status == 201;
            if let Some(id) = r.body["id"].as_str() {
                let _ = ids[i].set(id.to_owned());
            }
            ok
        }
    })
    .await;
    phase("lookup-hit", n, args.concurrency, lookup(scim.clone(), 1)).await;
    let id = {
        let ids = ids.clone();
        move |i: usize| ids[i].get().cloned().unwrap_or_default()
    };
    let (s, idf) = (scim.clone(), id.clone());
    phase("get", n, args.concurrency, move |i| {
        let (s, id) = (s.clone(), idf(i));
        async move { s.get_user(&id).await.status == 200 }
    })
    .await;
    let (s, idf) = (scim.clone(), id.clone());
    phase("update", n, args.concurrency, move |i| {
        let (s, id) = (s.clone(), idf(i));
        async move {
            s.replace_user(&id, &okta_user(&email(i), "Bench", &format!("Renamed{i}")))
                .await
                .status
                == 200
        }
    })
    .await;
    let (s, idf) = (scim.clone(), id.clone());
    phase("deactivate", n, args.concurrency, move |i| {
        let (s, id) = (s.clone(), idf(i));
        async move {
            s.patch_user(&id, json!([{"op": "replace", "value": {"active": false}}]))
                .await
                .status
                == 200
        }
    })
    .await;

    let last_response = Instant::now();
    let deadline = last_response + Duration::from_secs(args.worker_timeout);
    loop {
        let done: i64 = sqlx::query_scalar("SELECT count(*) FROM members WHERE directory_id = $1 AND status = 'deactivated' AND scim_version = 3")
            .bind(dir.id)
            .fetch_one(&pool)
            .await?;
        if done as usize >= n {
            println!(
                "worker      all {n} members deactivated {:.2} s after the last response",
                last_response.elapsed().as_secs_f64()
            );
            break;
        }
        if Instant::now() > deadline {
            println!(
                "worker      only {done} of {n} members applied after {} s",
                args.worker_timeout
            );
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}
