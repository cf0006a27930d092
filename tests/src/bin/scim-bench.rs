//! `scim-bench`: drives an Okta-shaped workload against a running system and prints
//! throughput and latency per phase, and how long after the last response the worker had
//! applied every change.
//!
//!   scim-bench --ingress-url http://127.0.0.1:8080 --users 100000 --concurrency 32
//!   scim-bench --workload groups --users 100000 --groups 1000 --memberships 100000
//!
//! The users workload: lookup-miss, create, lookup-hit, get, update, deactivate. The
//! groups workload (Okta's group push): create users, create groups (a tenth of them
//! mapped to teams), add the memberships in 256-member PATCHes; then put every user in
//! one group and time renaming it and reading it without members.
//!
//! It creates its own directory through DATABASE_URL (the system's database) and watches
//! the `members` and `team_members` tables there to time the worker.

use clap::{Parser, ValueEnum};
use scim_shared::db::{self, directories, teams};
use scim_tests::client::{Scim, okta_user};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Workload {
    Users,
    Groups,
}

#[derive(Parser)]
struct Args {
    #[arg(long, value_enum, default_value_t = Workload::Users)]
    workload: Workload,
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
    /// Groups workload: groups to create (a tenth are mapped to teams).
    #[arg(long, default_value_t = 1_000)]
    groups: usize,
    /// Groups workload: memberships to add, in PATCHes of `--patch-size` members.
    #[arg(long, default_value_t = 100_000)]
    memberships: usize,
    #[arg(long, default_value_t = 256)]
    patch_size: usize,
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

fn email(i: usize) -> String {
    format!("bench.user{i}@example.com")
}

type Ids = Arc<Vec<std::sync::OnceLock<String>>>;

/// Creates user i, remembering its id.
fn create_user(
    s: Arc<Scim>,
    ids: Ids,
) -> impl Fn(usize) -> std::pin::Pin<Box<dyn std::future::Future<Output = bool> + Send>>
+ Send
+ Sync
+ 'static {
    move |i| {
        let (s, ids) = (s.clone(), ids.clone());
        Box::pin(async move {
            let r = s
                .create_user(&okta_user(&email(i), "Bench", &format!("User{i}")))
                .await;
            if let Some(id) = r.body["id"].as_str() {
                let _ = ids[i].set(id.to_owned());
            }
            r.status == 201
        })
    }
}

/// Okta's group push: groups (every tenth mapped to a team of its own), then
/// memberships in `patch_size`-member PATCHes, PATCH k going to group k mod groups;
/// then waits until the worker has put every member of a mapped group in its team.
async fn groups_workload(
    args: &Args,
    pool: &sqlx::PgPool,
    directory: uuid::Uuid,
    scim: Arc<Scim>,
    users: Vec<String>,
) -> anyhow::Result<()> {
    let g = args.groups.max(1);
    let name = |k: usize| format!("bench-group-{k}");
    let mapped = |k: usize| k.is_multiple_of(10);
    for k in (0..g).filter(|k| mapped(*k)) {
        let team = teams::create(pool, directory, &format!("team-{k}")).await?;
        let mut conn = pool.acquire().await?;
        teams::set_group_mapping(&mut conn, directory, team.id, &[name(k)]).await?;
    }
    let group_ids: Arc<Vec<std::sync::OnceLock<String>>> =
        Arc::new((0..g).map(|_| std::sync::OnceLock::new()).collect());
    let (s, gids) = (scim.clone(), group_ids.clone());
    phase("group-create", g, args.concurrency, move |k| {
        let (s, gids) = (s.clone(), gids.clone());
        async move {
            let r = s
                .create_group(&json!({"displayName": name(k), "members": []}))
                .await;
            if let Some(id) = r.body["id"].as_str() {
                let _ = gids[k].set(id.to_owned());
            }
            r.status == 201
        }
    })
    .await;
    let size = args.patch_size.max(1);
    let patches = args.memberships.div_ceil(size);
    let users = Arc::new(users);
    let batch = {
        let users = users.clone();
        move |p: usize| -> Vec<String> {
            (0..size)
                .map(|j| users[(p * size + j) % users.len()].clone())
                .collect()
        }
    };
    // The team memberships the worker must end up with.
    let mut expected = std::collections::HashSet::new();
    for p in (0..patches).filter(|p| mapped(p % g)) {
        for u in batch(p) {
            expected.insert((p % g, u));
        }
    }
    let (s, gids, batch_c) = (scim.clone(), group_ids.clone(), batch.clone());
    phase("patch-256", patches, args.concurrency, move |p| {
        let (s, gids) = (s.clone(), gids.clone());
        let members: Vec<serde_json::Value> = batch_c(p)
            .into_iter()
            .map(|id| json!({"value": id}))
            .collect();
        async move {
            let gid = gids[p % g].get().cloned().unwrap_or_default();
            let r = s
                .patch_group(
                    &gid,
                    json!([{"op": "add", "path": "members", "value": members}]),
                )
                .await;
            r.status == 204
        }
    })
    .await;
    println!(
        "memberships {} added in {patches} PATCHes of {size}; {} team memberships expected",
        patches * size,
        expected.len()
    );
    worker_applies(
        pool,
        directory,
        "SELECT count(*) FROM team_members tm JOIN teams t ON t.id = tm.team_id
         WHERE t.directory_id = $1 AND NOT tm.suspended",
        expected.len(),
        "team memberships",
        args.worker_timeout,
    )
    .await?;
    big_group(args, scim, users).await
}

/// One group holding every user (an "everyone" group), filled by 256-member PATCHes
/// that queue on its lock; then what must stay cheap however large it is: a rename and
/// a read without members.
async fn big_group(args: &Args, scim: Arc<Scim>, users: Arc<Vec<String>>) -> anyhow::Result<()> {
    let r = scim
        .create_group(&json!({"displayName": "bench-everyone"}))
        .await;
    let gid: Arc<str> = r.body["id"].as_str().unwrap_or_default().into();
    let size = args.patch_size.max(1);
    let (s, g, u) = (scim.clone(), gid.clone(), users.clone());
    phase(
        "patch-big",
        u.len().div_ceil(size),
        args.concurrency,
        move |p| {
            let (s, g) = (s.clone(), g.clone());
            let members: Vec<serde_json::Value> = u[p * size..((p + 1) * size).min(u.len())]
                .iter()
                .map(|id| json!({"value": id}))
                .collect();
            async move {
                let ops = json!([{"op": "add", "path": "members", "value": members}]);
                s.patch_group(&g, ops).await.status == 204
            }
        },
    )
    .await;
    println!("big group   {} members", users.len());
    let (s, g) = (scim.clone(), gid.clone());
    phase("rename-big", 50, 1, move |i| {
        let (s, g) = (s.clone(), g.clone());
        async move {
            let ops =
                json!([{"op": "replace", "value": {"displayName": format!("bench-everyone-{i}")}}]);
            s.patch_group(&g, ops).await.status == 204
        }
    })
    .await;
    let (s, g) = (scim.clone(), gid.clone());
    phase("get-big-bare", 500, args.concurrency, move |_| {
        let (s, g) = (s.clone(), g.clone());
        async move {
            let path = format!("/Groups/{g}?excludedAttributes=members");
            s.send(reqwest::Method::GET, &path, None).await.status == 200
        }
    })
    .await;
    Ok(())
}

/// Waits until `count_sql` (over `$1`, the directory) reaches `expected` and prints
/// how long after the last response that was.
async fn worker_applies(
    pool: &sqlx::PgPool,
    directory: uuid::Uuid,
    count_sql: &'static str,
    expected: usize,
    what: &str,
    timeout_secs: u64,
) -> anyhow::Result<()> {
    let last_response = Instant::now();
    let deadline = last_response + Duration::from_secs(timeout_secs);
    loop {
        let done: i64 = sqlx::query_scalar(count_sql)
            .bind(directory)
            .fetch_one(pool)
            .await?;
        if done as usize >= expected {
            println!(
                "worker      all {expected} {what} applied {:.2} s after the last response",
                last_response.elapsed().as_secs_f64()
            );
            return Ok(());
        }
        if Instant::now() > deadline {
            println!("worker      only {done} of {expected} {what} applied after {timeout_secs} s");
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
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
    let ids: Arc<Vec<std::sync::OnceLock<String>>> =
        Arc::new((0..n).map(|_| std::sync::OnceLock::new()).collect());
    println!(
        "{} users, {} in flight, directory {}",
        n, args.concurrency, dir.id
    );
    if args.workload == Workload::Groups {
        let (s, ids_c) = (scim.clone(), ids.clone());
        phase("create", n, args.concurrency, create_user(s, ids_c)).await;
        // The group phases start on a quiet system.
        worker_applies(
            &pool,
            dir.id,
            "SELECT count(*) FROM members WHERE directory_id = $1",
            n,
            "new members",
            args.worker_timeout,
        )
        .await?;
        let ids: Vec<String> = ids
            .iter()
            .map(|i| i.get().cloned().unwrap_or_default())
            .collect();
        return groups_workload(&args, &pool, dir.id, scim, ids).await;
    }

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
    phase("create", n, args.concurrency, create_user(s, ids_c)).await;
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

    worker_applies(
        &pool,
        dir.id,
        "SELECT count(*) FROM members WHERE directory_id = $1 AND status = 'deactivated' AND scim_version = 3",
        n,
        "member deactivations",
        args.worker_timeout,
    )
    .await
}
