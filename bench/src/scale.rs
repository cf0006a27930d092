//! The scale workload: Okta's "Import Users" through a directory of `--users` users
//! (a million in `scripts/bench.sh --scale`), one request at a time as Okta sends them.
//! The directory is built once, straight into the database (the SCIM API would spend
//! minutes and a million events on it), and found again by name on later runs.
//!
//! Phases: the first page, again and again; the last page asked for directly (no walk
//! before it, so it skips every row before it); the whole import, page by page.

use crate::load::{Call, Target};
use crate::{Load, Phase, phase};
use http::StatusCode;
use scim_core::roles::Catalogue;
use scim_store::directories;
use serde::Deserialize;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Instant;
use uuid::Uuid;

/// Users written per statement while building the directory.
const BUILD_BATCH: usize = 20_000;
/// Okta's page size.
const PAGE: usize = 100;

/// The directory of `n` users, built now unless an earlier run built it.
async fn directory(pool: &sqlx::PgPool, n: usize) -> anyhow::Result<Uuid> {
    let name = format!("scale-{n}");
    let existing: Option<Uuid> = sqlx::query_scalar(
        "SELECT id FROM directories WHERE name = $1 ORDER BY created_at LIMIT 1",
    )
    .bind(&name)
    .fetch_optional(pool)
    .await?;
    if let Some(id) = existing {
        let users: i64 = sqlx::query_scalar(
            "SELECT coalesce(sum(users), 0)::int8 FROM directory_counts WHERE directory_id = $1",
        )
        .bind(id)
        .fetch_one(pool)
        .await?;
        if users == n as i64 {
            println!("directory {name} ({id}): reused");
            return Ok(id);
        }
        let mut tx = pool.begin().await?;
        directories::delete(&mut tx, id).await?;
        tx.commit().await?;
    }
    let dir = directories::create(
        pool,
        &name,
        scim_core::profile::Idp::Okta,
        &Catalogue::builtin(),
    )
    .await?;
    let start = Instant::now();
    for first in (0..n).step_by(BUILD_BATCH) {
        let ids: Vec<Uuid> = (first..(first + BUILD_BATCH).min(n))
            .map(|_| Uuid::now_v7())
            .collect();
        let names: Vec<String> = (first..first + ids.len())
            .map(|i| format!("scale.user{i}@example.com"))
            .collect();
        // The attributes as the ingress stores an Okta user's.
        sqlx::query(
            "INSERT INTO scim_users (directory_id, id, user_name, active, resource, email_values,
                                     version, created_at, updated_at)
             SELECT $1, id, name, true,
                    jsonb_build_object(
                        'userName', name, 'active', true,
                        'name', jsonb_build_object('givenName', 'Scale', 'familyName', 'User'),
                        'emails', jsonb_build_array(jsonb_build_object(
                            'value', name, 'type', 'work', 'primary', true))),
                    ARRAY[lower(name)], 1, now(), now()
             FROM unnest($2::uuid[], $3::text[]) AS t(id, name)",
        )
        .bind(dir.id)
        .bind(&ids)
        .bind(&names)
        .execute(pool)
        .await?;
    }
    // What autovacuum would have done by the time of an import (this machine's
    // Postgres runs without it): without the visibility map, skipping rows reads them.
    sqlx::query("VACUUM (ANALYZE) scim_users")
        .execute(pool)
        .await?;
    println!(
        "directory {name} ({}): {n} users built in {:.0} s",
        dir.id,
        start.elapsed().as_secs_f64()
    );
    Ok(dir.id)
}

#[derive(Deserialize)]
struct Page {
    #[serde(rename = "totalResults")]
    total_results: i64,
    #[serde(rename = "Resources", default)]
    resources: Vec<serde::de::IgnoredAny>,
}

/// The page at `start` of the users, of those a `filter=…&` (or "") selects.
fn page_of(filter: &str, start: usize) -> Call {
    Call::get(format!("/Users?{filter}startIndex={start}&count={PAGE}"))
}

/// Every user is active: the filter matches the whole directory, and is evaluated on
/// every row (no index).
const ACTIVE: &str = "filter=active%20eq%20true&";

/// A page with the directory's total and `expected` users.
fn full_page(n: usize, expected: usize) -> impl Fn(usize, StatusCode, &[u8]) -> bool {
    move |_, status, body| {
        status == StatusCode::OK
            && serde_json::from_slice::<Page>(body)
                .is_ok_and(|p| p.total_results == n as i64 && p.resources.len() == expected)
    }
}

fn print_slice(name: &str, p: &Phase, from: usize) {
    let tail = Phase {
        name: "",
        elapsed: p.elapsed,
        latencies_us: p.latencies_us[from..].to_vec(),
        errors: 0,
        cpu: String::new(),
    };
    println!(
        "{name:<12} {:>8} req   p50 {:>6.2} ms   p95 {:>6.2} ms   p99 {:>6.2} ms",
        tail.latencies_us.len(),
        tail.percentile(0.5),
        tail.percentile(0.95),
        tail.percentile(0.99)
    );
}

pub async fn run(args: &crate::Args, pool: &sqlx::PgPool, ingress_url: &str) -> anyhow::Result<()> {
    let n = args.users.max(PAGE);
    let dir = directory(pool, n).await?;
    let token =
        directories::issue_token(pool, dir, None, directories::TokenOrigin::Operator).await?;
    let target = Target::new(ingress_url, dir, &token.token)?;
    let one = Load::closed(1);

    phase(
        "first page",
        200,
        one,
        &target,
        (|_| page_of("", 1), full_page(n, PAGE)),
    )
    .await?;
    let last = n - PAGE + 1;
    phase(
        "last page",
        20,
        one,
        &target,
        (move |_| page_of("", last), full_page(n, PAGE)),
    )
    .await?;

    // The import: pages one after another; every user seen once. Then the same walk
    // through a filter that matches everyone.
    let pages = n.div_ceil(PAGE);
    for (name, query) in [("import", ""), ("import active", ACTIVE)] {
        let seen = Arc::new(AtomicI64::new(0));
        let counted = seen.clone();
        let check = move |i: usize, status: StatusCode, body: &[u8]| {
            let expected = PAGE.min(n - i * PAGE);
            let ok = full_page(n, expected)(i, status, body);
            if ok {
                counted.fetch_add(expected as i64, Ordering::Relaxed);
            }
            ok
        };
        let call = move |i: usize| page_of(query, 1 + i * PAGE);
        let walk = phase(name, pages, one, &target, (call, check)).await?;
        println!(
            "first page   {:.2} ms",
            walk.latencies_us.first().copied().unwrap_or_default() as f64 / 1000.0
        );
        print_slice("last 10%", &walk, pages - pages / 10);
        println!(
            "{name} of {n} users: {:.1} s, {} users read ({} pages of {PAGE})",
            walk.elapsed.as_secs_f64(),
            seen.load(Ordering::Relaxed),
            pages
        );
    }
    directories::revoke_token(pool, dir, token.id).await?;
    Ok(())
}
