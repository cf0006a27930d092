//! The group-pages workload: what a page of groups with their members costs the
//! ingress. 500 users with 4 KB display names in 100 groups of all 500 (each group's
//! members about 2 MB written), then pages of `GET /Groups?count=100`, four at once:
//! the ingress's peak memory meanwhile (it should stay a few batches above where it
//! started, whatever the page holds), and what each page held.

use http::{Method, StatusCode};
use serde_json::json;

use crate::load::{Call, Target};
use crate::{Load, created, id_of, ids, memory, phase};

const USERS: usize = 500;
const GROUPS: usize = 100;
const DISPLAY_BYTES: usize = 4096;
const PAGES: usize = 40;
const AT_ONCE: usize = 4;

pub async fn run(target: &Target) -> anyhow::Result<()> {
    let users = ids(USERS);
    let u = users.clone();
    let call = move |i: usize| {
        let mut user = scim_tests::client::okta_user(
            &format!("page-{i}@bench.example"),
            "Page",
            &format!("{i}"),
        );
        user["displayName"] = json!(format!("{i:04} {}", "d".repeat(DISPLAY_BYTES)));
        Call::with(Method::POST, "/Users", &user)
    };
    let check = move |i: usize, status: StatusCode, body: &[u8]| created(&u, i, status, body);
    phase("create", USERS, Load::closed(8), target, (call, check)).await?;
    let members: Vec<serde_json::Value> = (0..USERS)
        .map(|i| json!({"value": id_of(&users, i)}))
        .collect();
    let groups = ids(GROUPS);
    let g = groups.clone();
    let call = move |k: usize| {
        Call::with(
            Method::POST,
            "/Groups?excludedAttributes=members",
            &json!({"displayName": format!("page-group-{k}"), "members": members}),
        )
    };
    let check = move |k: usize, status: StatusCode, body: &[u8]| created(&g, k, status, body);
    phase(
        "group-create",
        GROUPS,
        Load::closed(4),
        target,
        (call, check),
    )
    .await?;

    let shown = std::sync::Arc::new(std::sync::Mutex::new((0usize, 0usize)));
    let s = shown.clone();
    let call = |_: usize| Call::get("/Groups?count=100");
    let check = move |_: usize, status: StatusCode, body: &[u8]| {
        let Ok(page) = serde_json::from_slice::<serde_json::Value>(body) else {
            return false;
        };
        let items = page["itemsPerPage"].as_u64().unwrap_or(0) as usize;
        let whole = page["Resources"].as_array().is_some_and(|r| {
            r.len() == items
                && r.iter()
                    .all(|g| g["members"].as_array().is_some_and(|m| m.len() == USERS))
        });
        if let Ok(mut s) = s.lock() {
            *s = (items, body.len());
        }
        status == StatusCode::OK && whole
    };
    let memory = memory::watch();
    phase(
        "page-groups",
        PAGES,
        Load::closed(AT_ONCE),
        target,
        (call, check),
    )
    .await?;
    let (items, bytes) = shown.lock().map(|s| *s).unwrap_or_default();
    println!(
        "page        {items} of {GROUPS} groups a page (LIST_PAGE_BYTES), {:.1} MiB a body, {AT_ONCE} at once",
        bytes as f64 / (1024.0 * 1024.0)
    );
    println!("{}", memory.end().await);
    Ok(())
}
