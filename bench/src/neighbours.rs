//! The neighbours workload: directory B's Okta lifecycle, paced as an identity provider
//! sends it (`--rate`), alone, then beside directory A, whose client sends the requests
//! that cost the service most, as fast as it can.
//! B must see no error, and its latency should stay within a small factor of the quiet
//! run; the figures are printed, not asserted.

use http::{Method, StatusCode};
use scim_core::profile::Idp;
use scim_core::roles::Catalogue;
use scim_store::directories;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use super::load::{Call, Conn, Target};
use super::{Args, Load, Phase, lifecycle};

/// What directory A sends, in turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Hostile {
    /// A user of 200 KB: over the resource limit.
    Oversized,
    /// Twenty substring tests over 100,000 users.
    SlowFilter,
    /// A page of 1,000 users of 100 KB each.
    HugeList,
    /// An `externalId` of 8,000 bytes: too long for its index.
    LongKey,
}

const KINDS: [Hostile; 4] = [
    Hostile::Oversized,
    Hostile::SlowFilter,
    Hostile::HugeList,
    Hostile::LongKey,
];

impl Hostile {
    fn call(self, i: usize) -> Call {
        match self {
            Hostile::Oversized => Call::with(
                Method::POST,
                "/Users",
                &json!({"userName": format!("fat{i}@a.example"), "title": "t".repeat(200_000)}),
            ),
            Hostile::SlowFilter => {
                let filter = (0..20)
                    .map(|k| format!("title%20co%20%22none{k}-{i}%22"))
                    .collect::<Vec<_>>()
                    .join("%20or%20");
                Call::get(format!("/Users?filter={filter}&count=100"))
            }
            Hostile::HugeList => Call::get("/Users?startIndex=1&count=1000"),
            Hostile::LongKey => Call::with(
                Method::POST,
                "/Users",
                &json!({"userName": format!("key{i}@a.example"), "externalId": "k".repeat(8000)}),
            ),
        }
    }
}

/// Directory A, filled straight through SQL: 100,000 small users for the filters to
/// read, and 1,000 users of 100 KB of incompressible text that sort first, for the
/// pages.
async fn hostile_directory(pool: &sqlx::PgPool, ingress_url: &str) -> anyhow::Result<Target> {
    let dir = directories::create(
        pool,
        &format!("hostile-{}", uuid::Uuid::new_v4()),
        Idp::Okta,
        &Catalogue::builtin(),
    )
    .await?;
    let token =
        directories::issue_token(pool, dir.id, None, directories::TokenOrigin::Operator).await?;
    sqlx::query(
        "INSERT INTO scim_users (directory_id, id, user_name, active, resource, email_values,
                                 version, created_at, updated_at)
         SELECT $1, gen_random_uuid(), 'small' || i || '@a.example', true,
                jsonb_build_object('userName', 'small' || i || '@a.example', 'title', 'Title ' || i),
                '{}', 1, now(), now()
         FROM generate_series(1, 100000) AS i",
    )
    .bind(dir.id)
    .execute(pool)
    .await?;
    sqlx::query(
        "INSERT INTO scim_users (directory_id, id, user_name, active, resource, email_values,
                                 version, created_at, updated_at)
         SELECT $1, ('00000000-0000-7000-8000-' || lpad(i::text, 12, '0'))::uuid,
                'big' || i || '@a.example', true,
                jsonb_build_object('userName', 'big' || i || '@a.example', 'title',
                    (SELECT string_agg(md5(random()::text || i || k), '') FROM generate_series(1, 3200) AS k)),
                '{}', 1, now(), now()
         FROM generate_series(1, 1000) AS i",
    )
    .bind(dir.id)
    .execute(pool)
    .await?;
    sqlx::query("ANALYZE scim_users").execute(pool).await?;
    Target::new(ingress_url, dir.id, &token.token)
}

type Answers = Arc<Mutex<BTreeMap<(Hostile, u16), usize>>>;

/// Sends A's requests on `connections` connections, at most `rate` a second in all, in
/// a thread of its own (the benchmark's own thread stays B's), until `stop`.
fn attack(
    target: Target,
    connections: usize,
    rate: f64,
    stop: Arc<AtomicBool>,
    answers: Answers,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        rt.block_on(async move {
            let start = tokio::time::Instant::now();
            let tasks: Vec<_> = (0..connections)
                .map(|c| {
                    let (target, stop, answers) = (target.clone(), stop.clone(), answers.clone());
                    tokio::spawn(async move {
                        let mut conn = Conn::open(&target).await.ok();
                        let mut i = c;
                        while !stop.load(Ordering::Relaxed) {
                            let due = start + std::time::Duration::from_secs_f64(i as f64 / rate);
                            tokio::time::sleep_until(due).await;
                            let kind = KINDS[i % KINDS.len()];
                            let status = match conn.as_mut() {
                                Some(open) => match open.send(&kind.call(i)).await {
                                    Ok((status, _)) => status.as_u16(),
                                    Err(_) => {
                                        conn = Conn::open(&target).await.ok();
                                        0
                                    }
                                },
                                None => {
                                    conn = Conn::open(&target).await.ok();
                                    0
                                }
                            };
                            *answers
                                .lock()
                                .unwrap_or_else(|e| e.into_inner())
                                .entry((kind, status))
                                .or_default() += 1;
                            i += connections;
                        }
                    })
                })
                .collect();
            for t in tasks {
                let _ = t.await;
            }
        });
    })
}

pub async fn run(args: &Args, pool: &sqlx::PgPool, b: &Target) -> anyhow::Result<()> {
    let (n, c) = (args.users, args.concurrency);
    let paced = Load {
        in_flight: c,
        rate: Some(args.rate),
    };
    println!("-- directory B alone, {} requests a second", args.rate);
    let quiet = lifecycle(n, paced, b, ("quiet.", false)).await?;
    let a = hostile_directory(pool, &args.ingress_url).await?;
    let (stop, answers) = (Arc::new(AtomicBool::new(false)), Answers::default());
    println!(
        "-- directory B while directory A sends its worst, {} requests a second on {c} connections",
        args.hostile_rate
    );
    let attacker = attack(a, c, args.hostile_rate, stop.clone(), answers.clone());
    let noisy = lifecycle(n, paced, b, ("noisy.", false)).await;
    stop.store(true, Ordering::Relaxed);
    let _ = attacker.join();
    let noisy = noisy?;

    println!("\n-- B's p99 (ms), alone and beside A");
    println!(
        "{:<12} {:>9} {:>9} {:>7}   errors",
        "phase", "alone", "beside", "factor"
    );
    for (q, b) in quiet.iter().zip(&noisy) {
        let (alone, beside) = (q.percentile(0.99), b.percentile(0.99));
        println!(
            "{:<12} {alone:>9.2} {beside:>9.2} {:>7.2}   {} / {}",
            q.name,
            beside / alone.max(0.001),
            q.errors,
            b.errors
        );
    }
    println!("\n-- what A was answered");
    for ((kind, status), count) in answers.lock().unwrap_or_else(|e| e.into_inner()).iter() {
        let status = match StatusCode::from_u16(*status) {
            Ok(s) => s.to_string(),
            Err(_) => "connection failed".to_owned(),
        };
        println!("{:<12} {status:<28} {count}", format!("{kind:?}"));
    }
    let errors: usize = noisy.iter().map(|p: &Phase| p.errors).sum();
    anyhow::ensure!(errors == 0, "directory B saw {errors} errors beside A");
    Ok(())
}
