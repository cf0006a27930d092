//! `scim-bench`: drives an Okta-shaped workload against a running system and prints
//! throughput and latency per phase, the CPU each process used meanwhile, and how long
//! after the last response the worker had applied every change.
//!
//!   scim-bench --ingress-url http://127.0.0.1:8080 --users 100000 --concurrency 32
//!   scim-bench --workload groups --users 100000 --groups 1000 --memberships 100000
//!   scim-bench --workload scale --users 1000000
//!   scim-bench --workload group-pages
//!
//! The users workload: lookup-miss, create, lookup-hit, get, update, deactivate. The
//! groups workload (Okta's group push): create users, create groups (a tenth of them
//! mapped to teams), add the memberships in 256-member PATCHes; then put every user in
//! one group and time renaming it, reading it without members, and reading it with
//! every member (with the ingress's peak memory meanwhile). The neighbours
//! workload runs the users workload in directory B twice, first alone, then while
//! directory A's client sends what hurts most (bodies over the size limit, filters of
//! twenty substring tests over 100,000 users, pages of 1,000 users of 100 KB, keys too
//! long for their index) on `--concurrency` connections of its own, and prints B's p99
//! of both runs side by side with what A was answered. The group-pages workload reads
//! pages of 100 groups of 500 members (4 KB names), four at once, and prints the
//! ingress's peak memory meanwhile.
//!
//! It creates its own directory through DATABASE_URL (the system's database) and watches
//! the `members` and `team_members` tables there to time the worker. After the users
//! workload it prints how long events took to reach a subscriber on the `scim-events`
//! crate (with NATS_URL, NATS_USER and NATS_PASSWORD of a subscriber user), how fast the
//! directory's snapshot streams (with ADMIN_URL and ADMIN_TOKEN), and how fast the relay
//! empties an outbox of `--relay-events` events. With `--catch-up-worker <pid>` the worker
//! is stopped through the lifecycle and the subscriber starts after it: the run prints
//! how fast each catches up on the backlog. Every answer is
//! checked (status, and the count or id the workload needs); `errors` counts the rest.

mod cpu;
mod events;
mod load;
mod memory;
mod neighbours;
mod pages;
mod scale;

use clap::{Parser, ValueEnum};
use http::{Method, StatusCode};
use load::{Call, Conn, Target};
use scim_core::profile::Idp;
use scim_core::roles::Catalogue;
use scim_product::teams::store as teams;
use scim_store::{self as db, directories};
use scim_tests::client::okta_user;
use serde::Deserialize;
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Workload {
    Users,
    Groups,
    /// The users workload in one directory, alone and then beside a directory whose
    /// client sends oversized, slow-filter and huge-list requests.
    Neighbours,
    /// Okta's import through a directory of `--users` users (built once, kept).
    Scale,
    /// Pages of 100 groups of 500 members with 4 KB names, four at once: the ingress's
    /// peak memory.
    GroupPages,
}

/// Drives an Okta-shaped workload against a running system and prints throughput,
/// latency and CPU per phase (scripts/bench.sh runs it).
#[derive(Parser)]
#[command(name = "scim-bench")]
struct Args {
    #[arg(long, value_enum, default_value_t = Workload::Users)]
    workload: Workload,
    /// The ingress, as reachable from here (plain HTTP).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    ingress_url: String,
    #[command(flatten)]
    database: scim_store::DatabaseConfig,
    /// Users to provision.
    #[arg(long, default_value_t = 10_000)]
    users: usize,
    /// Requests in flight (one connection each).
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Neighbours workload: requests a second directory B sends, as an identity
    /// provider paces them (directory A sends as fast as it can).
    #[arg(long, default_value_t = 200.0)]
    rate: f64,
    /// Neighbours workload: the most requests a second directory A sends (each of its
    /// connections sends the next as soon as an answer comes, up to this rate).
    #[arg(long, default_value_t = 2000.0)]
    hostile_rate: f64,
    /// Groups workload: groups to create (a tenth are mapped to teams).
    #[arg(long, default_value_t = 1_000)]
    groups: usize,
    /// Groups workload: memberships to add, in PATCHes of `--patch-size` members.
    #[arg(long, default_value_t = 100_000)]
    memberships: usize,
    #[arg(long, default_value_t = 256)]
    patch_size: usize,
    /// Users workload: events of ~600 bytes put in the outbox at once at the end, to time
    /// the relay publishing them (0: none).
    #[arg(long, default_value_t = 100_000)]
    relay_events: i64,
    /// Users workload: the worker's process id. The worker is stopped (SIGSTOP) for the
    /// whole lifecycle and resumed after it, and the subscriber starts only then: both
    /// catch up on the backlog, and the run prints how fast.
    #[arg(long)]
    catch_up_worker: Option<u32>,
    /// Seconds to wait for the worker after the last response.
    #[arg(long, default_value_t = 120)]
    worker_timeout: u64,
    /// Users workload: with roles mapped: groups mapped to roles in the directory, and
    /// every other user created with an app role in its `roles` (as Entra sends it),
    /// which its update takes away again.
    #[arg(long)]
    roles: bool,
}

struct Phase {
    name: &'static str,
    elapsed: Duration,
    latencies_us: Vec<u64>,
    errors: usize,
    cpu: String,
}

impl Phase {
    /// The latency at percentile `p` (0 to 1), in milliseconds.
    fn percentile(&self, p: f64) -> f64 {
        let mut l = self.latencies_us.clone();
        l.sort_unstable();
        l.get(((l.len() as f64 * p).ceil() as usize).saturating_sub(1))
            .copied()
            .unwrap_or(0) as f64
            / 1000.0
    }

    fn print(&self) {
        let l = &self.latencies_us;
        let pct = |p: f64| self.percentile(p);
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
        if !self.cpu.is_empty() {
            println!("{:<12} {}", "", self.cpu);
        }
    }
}

/// What a phase sends for item i, and whether an answer is the expected one (given i,
/// the status and the body).
trait Work: Send + Sync + 'static {
    fn call(&self, i: usize) -> Call;
    fn check(&self, i: usize, status: StatusCode, body: &[u8]) -> bool;
}

impl<C, K> Work for (C, K)
where
    C: Fn(usize) -> Call + Send + Sync + 'static,
    K: Fn(usize, StatusCode, &[u8]) -> bool + Send + Sync + 'static,
{
    fn call(&self, i: usize) -> Call {
        (self.0)(i)
    }

    fn check(&self, i: usize, status: StatusCode, body: &[u8]) -> bool {
        (self.1)(i, status, body)
    }
}

/// How a phase sends: requests in flight, each on a connection of its own, and at most
/// `rate` a second in all (`None`: each as soon as the one before it is answered).
#[derive(Debug, Clone, Copy)]
struct Load {
    in_flight: usize,
    rate: Option<f64>,
}

impl Load {
    fn closed(in_flight: usize) -> Load {
        Load {
            in_flight,
            rate: None,
        }
    }
}

/// Runs the work for every i in 0..n as `load` says.
async fn phase(
    name: &'static str,
    n: usize,
    load: Load,
    target: &Target,
    work: impl Work,
) -> anyhow::Result<Phase> {
    let mut conns = Vec::with_capacity(load.in_flight);
    for _ in 0..load.in_flight {
        conns.push(Conn::open(target).await?);
    }
    let next = Arc::new(AtomicUsize::new(0));
    let work = Arc::new(work);
    let cpu = cpu::now();
    let start = Instant::now();
    let tasks: Vec<_> = conns
        .into_iter()
        .map(|mut conn| {
            let (next, work, target) = (next.clone(), work.clone(), target.clone());
            tokio::spawn(async move {
                let (mut lat, mut errors) = (Vec::new(), 0);
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        return (lat, errors);
                    }
                    if let Some(rate) = load.rate {
                        let due = start + Duration::from_secs_f64(i as f64 / rate);
                        tokio::time::sleep_until(due.into()).await;
                    }
                    let call = work.call(i);
                    let t = Instant::now();
                    match conn.send(&call).await {
                        Ok((status, body)) if work.check(i, status, &body) => {}
                        Ok(_) => errors += 1,
                        Err(_) => {
                            errors += 1;
                            // The connection is gone: the next request gets a new one.
                            if let Ok(fresh) = Conn::open(&target).await {
                                conn = fresh;
                            }
                        }
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
        cpu: String::new(),
    };
    for t in tasks {
        let (lat, errors) = t.await?;
        p.latencies_us.extend(lat);
        p.errors += errors;
    }
    p.elapsed = start.elapsed();
    p.cpu = cpu::since(&cpu);
    p.print();
    Ok(p)
}

fn email(run: &str, i: usize) -> String {
    format!("bench.{run}user{i}@example.com")
}

/// The ids that a create phase learns, by item.
type Ids = Arc<Vec<OnceLock<String>>>;

fn ids(n: usize) -> Ids {
    Arc::new((0..n).map(|_| OnceLock::new()).collect())
}

fn id_of(ids: &Ids, i: usize) -> &str {
    ids[i].get().map_or("", String::as_str)
}

/// A `201 Created` answer; remembers the resource's id as item i's.
fn created(ids: &Ids, i: usize, status: StatusCode, body: &[u8]) -> bool {
    #[derive(Deserialize)]
    struct Created {
        id: String,
    }
    match serde_json::from_slice::<Created>(body) {
        Ok(c) if status == StatusCode::CREATED => ids[i].set(c.id).is_ok(),
        _ => false,
    }
}

/// Creates user i.
async fn create_users(
    n: usize,
    load: Load,
    target: &Target,
    users: &Ids,
    (run, roles): (&'static str, bool),
) -> anyhow::Result<Phase> {
    let ids = users.clone();
    let call = move |i: usize| {
        let mut user = okta_user(&email(run, i), "Bench", &format!("User{i}"));
        if roles && i.is_multiple_of(2) {
            user["roles"] = json!([{"primary": true, "type": "WindowsAzureActiveDirectoryRole", "value": "Admin"}]);
        }
        Call::with(Method::POST, "/Users", &user)
    };
    let check = move |i: usize, status: StatusCode, body: &[u8]| created(&ids, i, status, body);
    phase("create", n, load, target, (call, check)).await
}

/// Okta's lookup before a create: `expected` users found (0 or 1).
fn lookup(expected: i64, run: &'static str) -> impl Work {
    #[derive(Deserialize)]
    struct Found {
        #[serde(rename = "totalResults")]
        total_results: i64,
    }
    let call = move |i: usize| {
        Call::get(format!(
            "/Users?filter=userName%20eq%20%22{}%22&startIndex=1&count=100",
            email(run, i)
        ))
    };
    let check = move |_: usize, status: StatusCode, body: &[u8]| {
        status == StatusCode::OK
            && serde_json::from_slice::<Found>(body).is_ok_and(|f| f.total_results == expected)
    };
    (call, check)
}

fn answered(expected: StatusCode) -> impl Fn(usize, StatusCode, &[u8]) -> bool {
    move |_, status, _| status == expected
}

/// The users of PATCH p when `size` go in each, round the list.
fn members_of(users: &[String], size: usize, p: usize) -> impl Iterator<Item = &String> {
    (0..size).map(move |j| &users[(p * size + j) % users.len()])
}

fn add_members<'a>(members: impl Iterator<Item = &'a String>) -> serde_json::Value {
    let members: Vec<serde_json::Value> = members.map(|id| json!({"value": id})).collect();
    json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "add", "path": "members", "value": members}],
    })
}

/// Okta's group push: groups (every tenth mapped to a team of its own), then
/// memberships in `patch_size`-member PATCHes, PATCH k going to group k mod groups;
/// then waits until the worker has put every member of a mapped group in its team.
async fn groups_workload(
    args: &Args,
    pool: &sqlx::PgPool,
    directory: uuid::Uuid,
    target: &Target,
    users: Arc<Vec<String>>,
) -> anyhow::Result<()> {
    let g = args.groups.max(1);
    let name = |k: usize| format!("bench-group-{k}");
    let mapped = |k: usize| k.is_multiple_of(10);
    for k in (0..g).filter(|k| mapped(*k)) {
        let team = teams::create(pool, directory, &format!("team-{k}")).await?;
        let mut conn = pool.acquire().await?;
        teams::mapping::set_group_mapping(&mut conn, directory, team.id, &[(name(k), None)])
            .await?;
    }
    let groups = ids(g);
    let gids = groups.clone();
    let call = move |k: usize| {
        Call::with(
            Method::POST,
            "/Groups",
            &json!({"displayName": name(k), "members": []}),
        )
    };
    let check = move |k: usize, status: StatusCode, body: &[u8]| created(&gids, k, status, body);
    phase(
        "group-create",
        g,
        Load::closed(args.concurrency),
        target,
        (call, check),
    )
    .await?;

    let size = args.patch_size.max(1);
    let patches = args.memberships.div_ceil(size);
    // The team memberships the worker must end up with.
    let mut expected = std::collections::HashSet::new();
    for p in (0..patches).filter(|p| mapped(p % g)) {
        for u in members_of(&users, size, p) {
            expected.insert((p % g, u.clone()));
        }
    }
    let u = users.clone();
    let call = move |p: usize| {
        let path = format!("/Groups/{}", id_of(&groups, p % g));
        Call::with(Method::PATCH, path, &add_members(members_of(&u, size, p)))
    };
    let work = (call, answered(StatusCode::NO_CONTENT));
    phase(
        "patch-256",
        patches,
        Load::closed(args.concurrency),
        target,
        work,
    )
    .await?;
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
    big_group(args, target, users).await
}

/// One group holding every user (an "everyone" group), filled by 256-member PATCHes
/// that queue on its lock; then what must stay cheap however large it is: a rename,
/// removing and adding back one member, and a read without members (one at a time,
/// then many at once).
async fn big_group(args: &Args, target: &Target, users: Arc<Vec<String>>) -> anyhow::Result<()> {
    let everyone = ids(1);
    let e = everyone.clone();
    let call = |_: usize| {
        Call::with(
            Method::POST,
            "/Groups",
            &json!({"displayName": "bench-everyone"}),
        )
    };
    let check = move |i: usize, status: StatusCode, body: &[u8]| created(&e, i, status, body);
    phase("group-big", 1, Load::closed(1), target, (call, check)).await?;
    let path = Arc::new(format!("/Groups/{}", id_of(&everyone, 0)));
    let size = args.patch_size.max(1);
    let (p, u) = (path.clone(), users.clone());
    let call = move |k: usize| {
        let members = u[k * size..((k + 1) * size).min(u.len())].iter();
        Call::with(Method::PATCH, p.as_str(), &add_members(members))
    };
    let work = (call, answered(StatusCode::NO_CONTENT));
    phase(
        "patch-big",
        users.len().div_ceil(size),
        Load::closed(args.concurrency),
        target,
        work,
    )
    .await?;
    println!("big group   {} members", users.len());
    let p = path.clone();
    let call = move |i: usize| {
        let rename = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "value": {"displayName": format!("bench-everyone-{i}")}}],
        });
        Call::with(Method::PATCH, p.as_str(), &rename)
    };
    phase(
        "rename-big",
        50,
        Load::closed(1),
        target,
        (call, answered(StatusCode::NO_CONTENT)),
    )
    .await?;
    // Okta's one-member changes: a person leaves the group, then comes back.
    let one = users.len().min(50);
    let (p, u) = (path.clone(), users.clone());
    let call = move |i: usize| {
        let remove = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "remove", "path": format!("members[value eq \"{}\"]", u[i])}],
        });
        Call::with(Method::PATCH, p.as_str(), &remove)
    };
    let work = (call, answered(StatusCode::NO_CONTENT));
    phase("remove-one", one, Load::closed(1), target, work).await?;
    let (p, u) = (path.clone(), users.clone());
    let call = move |i: usize| Call::with(Method::PATCH, p.as_str(), &add_members(u[i..=i].iter()));
    let work = (call, answered(StatusCode::NO_CONTENT));
    phase("add-one", one, Load::closed(1), target, work).await?;
    let bare = Arc::new(format!("{path}?excludedAttributes=members"));
    let b = bare.clone();
    let work = (
        move |_: usize| Call::get(b.as_str()),
        answered(StatusCode::OK),
    );
    phase("get-big-one", 200, Load::closed(1), target, work).await?;
    let work = (
        move |_: usize| Call::get(bare.as_str()),
        answered(StatusCode::OK),
    );
    phase(
        "get-big-bare",
        500,
        Load::closed(args.concurrency),
        target,
        work,
    )
    .await?;
    // With every member: streamed, so the ingress's memory stays where it was.
    let n = users.len();
    let p = path.clone();
    let call = move |_: usize| Call::get(p.as_str());
    let check = move |_: usize, status: StatusCode, body: &[u8]| {
        status == StatusCode::OK
            && serde_json::from_slice::<serde_json::Value>(body)
                .is_ok_and(|g| g["members"].as_array().is_some_and(|m| m.len() == n))
    };
    let memory = memory::watch();
    phase(
        "get-big-members",
        10,
        Load::closed(1),
        target,
        (call, check),
    )
    .await?;
    println!("{}", memory.end().await);
    Ok(())
}

/// Okta's user lifecycle for `n` users (emails tagged `run`): lookup-miss, create,
/// lookup-hit, get, update, deactivate; the phases, as printed.
async fn lifecycle(
    n: usize,
    c: Load,
    target: &Target,
    (run, roles): (&'static str, bool),
) -> anyhow::Result<Vec<Phase>> {
    let users = ids(n);
    let mut phases = vec![phase("lookup-miss", n, c, target, lookup(0, run)).await?];
    phases.push(create_users(n, c, target, &users, (run, roles)).await?);
    phases.push(phase("lookup-hit", n, c, target, lookup(1, run)).await?);
    let u = users.clone();
    let call = move |i: usize| Call::get(format!("/Users/{}", id_of(&u, i)));
    phases.push(phase("get", n, c, target, (call, answered(StatusCode::OK))).await?);
    let u = users.clone();
    let call = move |i: usize| {
        let user = okta_user(&email(run, i), "Bench", &format!("Renamed{i}"));
        Call::with(Method::PUT, format!("/Users/{}", id_of(&u, i)), &user)
    };
    phases.push(phase("update", n, c, target, (call, answered(StatusCode::OK))).await?);
    let u = users.clone();
    let call = move |i: usize| {
        let deactivate = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "value": {"active": false}}],
        });
        Call::with(
            Method::PATCH,
            format!("/Users/{}", id_of(&u, i)),
            &deactivate,
        )
    };
    let work = (call, answered(StatusCode::OK));
    phases.push(phase("deactivate", n, c, target, work).await?);
    Ok(phases)
}

/// Waits until `count_sql` (over `$1`, the directory) reaches `expected` and prints
/// how long after the last response that was.
/// Stops (`-STOP`) or resumes (`-CONT`) a process.
fn signal(pid: u32, how: &str) -> anyhow::Result<()> {
    let status = std::process::Command::new("kill")
        .args([how, &pid.to_string()])
        .status()?;
    anyhow::ensure!(status.success(), "kill {how} {pid} failed");
    Ok(())
}

/// Returns how long it took.
async fn worker_applies(
    pool: &sqlx::PgPool,
    directory: uuid::Uuid,
    count_sql: &'static str,
    expected: usize,
    what: &str,
    timeout_secs: u64,
) -> anyhow::Result<Duration> {
    let last_response = Instant::now();
    let deadline = last_response + Duration::from_secs(timeout_secs);
    loop {
        let done: i64 = sqlx::query_scalar(count_sql)
            .bind(directory)
            .fetch_one(pool)
            .await?;
        if done as usize >= expected {
            let took = last_response.elapsed();
            println!(
                "worker      all {expected} {what} applied {:.2} s after the last response",
                took.as_secs_f64()
            );
            return Ok(took);
        }
        if Instant::now() > deadline {
            println!("worker      only {done} of {expected} {what} applied after {timeout_secs} s");
            return Ok(last_response.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// One thread, as `wrk -t1`: the benchmark's requests cost the machine as little as
// they can, and it has two cores to share with everything it measures.
#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let pool = db::connect(&args.database, "scim-bench").await?;
    if args.workload == Workload::Scale {
        return scale::run(&args, &pool, &args.ingress_url).await;
    }
    let dir = directories::create(
        &pool,
        &format!("bench-{}", uuid::Uuid::new_v4()),
        Idp::Okta,
        &Catalogue::builtin(),
    )
    .await?;
    // Every user is deactivated at the end, far past the mass-deprovisioning hold's
    // threshold: the run measures throughput, not the hold.
    directories::set_hold_policy(&mut *pool.acquire().await?, dir.id, None).await?;
    let token =
        directories::issue_token(&pool, dir.id, None, directories::TokenOrigin::Operator).await?;
    let target = Target::new(&args.ingress_url, dir.id, &token.token)?;
    let (n, c) = (args.users, args.concurrency);
    println!("{n} users, {c} in flight, directory {}", dir.id);
    if args.workload == Workload::Groups {
        let users = ids(n);
        create_users(n, Load::closed(c), &target, &users, ("", false)).await?;
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
        let users = (0..n).map(|i| id_of(&users, i).to_owned()).collect();
        return groups_workload(&args, &pool, dir.id, &target, Arc::new(users)).await;
    }

    if args.workload == Workload::Neighbours {
        return neighbours::run(&args, &pool, &target).await;
    }
    if args.workload == Workload::GroupPages {
        return pages::run(&target).await;
    }
    // A subscriber on the scim-events crate, as another service would run one; when
    // catching up, it starts after the lifecycle, from the stream's start.
    let catch_up = args.catch_up_worker;
    let mut subscriber = None;
    match catch_up {
        Some(pid) => signal(pid, "-STOP")?,
        None => subscriber = events::Subscriber::start(dir.id, "bench"),
    }
    if args.roles {
        let mappings = [("bench-admins", "admin"), ("bench-owners", "owner")]
            .map(|(g, r)| (g.to_owned(), r.to_owned()));
        scim_store::roles::set_group_mappings(&mut *pool.acquire().await?, dir.id, &mappings)
            .await?;
    }
    lifecycle(n, Load::closed(c), &target, ("", args.roles)).await?;
    if let Some(pid) = catch_up {
        subscriber = events::Subscriber::start(dir.id, "bench");
        signal(pid, "-CONT")?;
    }
    let applied = worker_applies(
        &pool,
        dir.id,
        "SELECT count(*) FROM members WHERE directory_id = $1 AND status = 'deactivated' AND scim_version = 3",
        n,
        "member deactivations",
        args.worker_timeout,
    )
    .await?;
    // Created, updated, deactivated: three events a user.
    let events = 3 * n;
    if catch_up.is_some() {
        println!(
            "catch-up    worker: {events} events in {:.2} s, {:.0} events/s",
            applied.as_secs_f64(),
            events as f64 / applied.as_secs_f64()
        );
    }
    if let Some(subscriber) = subscriber {
        let (received, took) = subscriber.finish(events, Duration::from_secs(args.worker_timeout));
        if catch_up.is_some() {
            println!(
                "catch-up    subscriber: {received} events in {took:.2} s from its start, beside the worker: {:.0} events/s",
                received as f64 / took.max(0.001)
            );
        }
    }
    // A new subscriber with the machine to itself: the same backlog, nothing else running.
    if catch_up.is_some()
        && let Some(alone) = events::Subscriber::start(dir.id, "bench-alone")
    {
        let (received, took) = alone.finish(events, Duration::from_secs(args.worker_timeout));
        println!(
            "catch-up    subscriber alone: {received} events in {took:.2} s from its start: {:.0} events/s",
            received as f64 / took.max(0.001)
        );
    }
    events::snapshot_rate(dir.id).await?;
    if args.relay_events > 0 {
        events::relay_rate(&pool, args.relay_events).await?;
    }
    Ok(())
}
