//! The filter compiler against its reference: for generated users and generated
//! filters, the rows Postgres returns for the compiled SQL are exactly the users the
//! in-memory evaluation of the same AST accepts, and both reject the same filters.

use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use scim_core::filter::{
    eval::matches_user,
    parse,
    sql::{self, compile_filter},
};
use scim_core::resource::{Meta, rfc3339};
use scim_core::schema::ENTERPRISE_USER_SCHEMA as ENT;
use scim_core::user::User;
use scim_events::{Action, Event, ResourceType};
use scim_store::users::{self, StoredUser, UserWrite};
use scim_tests::TestDb;
use serde_json::{Map, Value, json};
use std::collections::BTreeSet;

const USERS: usize = 80;
const FILTERS: usize = 600;

fn maybe<T: Clone>(rng: &mut StdRng, choices: &[T]) -> Option<T> {
    if rng.random_bool(0.3) {
        None
    } else {
        choices.choose(rng).cloned()
    }
}

fn generated_user(rng: &mut StdRng, i: usize) -> Value {
    let mut u = Map::new();
    let first = ["ann", "Bob", "cy", "DAN"].choose(rng).unwrap();
    let domain = ["x.com", "Y.org"].choose(rng).unwrap();
    u.insert("userName".into(), format!("{first}{i}@{domain}").into());
    u.insert("active".into(), rng.random_bool(0.7).into());
    for (key, pool) in [
        ("displayName", &["Ann Lee", "bob", "Cy", "dan b", "ANN"][..]),
        ("title", &["CTO", "cto", "Engineer", "eng"][..]),
        ("externalId", &["e1", "E1", "e2", "00u9"][..]),
    ] {
        if let Some(v) = maybe(rng, pool) {
            u.insert(key.into(), v.into());
        }
    }
    let mut name = Map::new();
    if let Some(g) = maybe(rng, &["Ann", "ann", "Bo", "Zed"]) {
        name.insert("givenName".into(), g.into());
    }
    if let Some(f) = maybe(rng, &["Lee", "lee", "Kim", "O'Hara"]) {
        name.insert("familyName".into(), f.into());
    }
    u.insert("name".into(), Value::Object(name));
    let emails: Vec<Value> = (0..rng.random_range(0..3))
        .map(|_| {
            let local = ["a", "B", "c"].choose(rng).unwrap();
            let domain = ["x.com", "y.org"].choose(rng).unwrap();
            let kind = ["work", "home", "WORK"].choose(rng).unwrap();
            let mut e = json!({"value": format!("{local}@{domain}"), "type": kind});
            if rng.random_bool(0.4) {
                e["primary"] = rng.random_bool(0.5).into();
            }
            e
        })
        .collect();
    u.insert("emails".into(), emails.into());
    if let Some(d) = maybe(rng, &["R&D", "Sales", "sales"]) {
        u.insert(ENT.into(), json!({"department": d}));
    }
    Value::Object(u)
}

/// A random filter string over the attributes above, with values that sometimes match.
fn generated_filter(rng: &mut StdRng, depth: usize, times: &[String]) -> String {
    if depth > 0 && rng.random_bool(0.45) {
        let a = generated_filter(rng, depth - 1, times);
        let b = generated_filter(rng, depth - 1, times);
        return match rng.random_range(0..3) {
            0 => format!("({a}) and ({b})"),
            1 => format!("({a}) or ({b})"),
            _ => format!("not ({a})"),
        };
    }
    if rng.random_bool(0.15) {
        let inner = comparison(rng, &["value", "type", "primary", "display"], times);
        return format!("emails[{inner}]");
    }
    comparison(
        rng,
        &[
            "userName",
            "displayName",
            "title",
            "externalId",
            "active",
            "nickName",
            "name.givenName",
            "name.familyName",
            "emails",
            "emails.value",
            "emails.type",
            "emails.primary",
            "id",
            "meta.created",
            "meta.lastModified",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
            "name",
            "nope",
            "meta.location",
        ],
        times,
    )
}

fn comparison(rng: &mut StdRng, attrs: &[&str], times: &[String]) -> String {
    let attr = *attrs.choose(rng).unwrap();
    let op = *["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "pr"]
        .choose(rng)
        .unwrap();
    if op == "pr" {
        return format!("{attr} pr");
    }
    let value = match attr {
        "active" | "emails.primary" | "primary" => ["true", "false", "\"True\""]
            .choose(rng)
            .unwrap()
            .to_string(),
        "meta.created" | "meta.lastModified" => {
            serde_json::to_string(times.choose(rng).unwrap()).unwrap()
        }
        _ => {
            let pool = [
                "ann", "ANN", "Ann Lee", "bob", "b", "a", "@x.com", "x.com", "Y.ORG", "e1", "E1",
                "cto", "C", "work", "WORK", "home", "Lee", "o'h", "R&D", "sales", "", "zzz", "1@",
            ];
            serde_json::to_string(pool.choose(rng).unwrap()).unwrap()
        }
    };
    format!("{attr} {op} {value}")
}

#[tokio::test]
async fn compiled_sql_selects_exactly_what_the_reference_evaluation_accepts() {
    let db = TestDb::new().await;
    let (dir, _) = db.directory("property").await;
    // A fixed seed keeps CI repeatable; FILTER_PROPERTY_SEED explores others.
    let seed = std::env::var("FILTER_PROPERTY_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5c1d);
    let mut rng = StdRng::seed_from_u64(seed);
    let (resources, times) = stored_users(&db, dir, &mut rng).await;

    let (mut compared, mut matched_some, mut rejected) = (0, 0, 0);
    for _ in 0..FILTERS {
        let text = generated_filter(&mut rng, 3, &times);
        match compared_on_both_sides(&db, dir, &text, &resources).await {
            Outcome::Rejected => rejected += 1,
            Outcome::Selected(n) => {
                compared += 1;
                matched_some += usize::from(n > 0 && n < USERS);
            }
        }
    }
    // The generator must exercise real selections, not only empty or full results.
    assert!(
        compared > FILTERS / 2 && matched_some > FILTERS / 5 && rejected > 0,
        "{compared} {matched_some} {rejected}"
    );
    println!(
        "seed {seed}: {compared} filters compared ({matched_some} selective), {rejected} rejected by both"
    );
}

/// Stores [`USERS`] generated users: each as the reference evaluation reads it (its
/// SCIM resource, by id), and their creation times for the filters to name.
async fn stored_users(
    db: &TestDb,
    dir: uuid::Uuid,
    rng: &mut StdRng,
) -> (Vec<(String, Map<String, Value>)>, Vec<String>) {
    let stored: Vec<StoredUser> = (0..USERS)
        .map(|i| StoredUser::new(User::from_request(generated_user(rng, i)).unwrap()))
        .collect();
    let events: Vec<Event> = stored
        .iter()
        .map(|u| {
            Event::new(
                dir,
                ResourceType::User,
                u.id,
                Action::Created,
                1,
                json!({}),
                None,
            )
        })
        .collect();
    let rows: Vec<UserWrite> = stored
        .iter()
        .zip(&events)
        .map(|(user, event)| UserWrite {
            directory_id: dir,
            user,
            event,
        })
        .collect();
    assert!(
        users::insert_many(&db.pool, &rows)
            .await
            .unwrap()
            .iter()
            .all(|c| *c)
    );
    let resources: Vec<(String, Map<String, Value>)> = stored
        .iter()
        .map(|u| {
            let meta = Meta {
                created: u.created,
                last_modified: u.last_modified,
                location: String::new(),
                version: 1,
            };
            let Value::Object(r) = u.user.clone().into_resource(&u.id.to_string(), &meta) else {
                unreachable!()
            };
            (u.id.to_string(), r)
        })
        .collect();
    let times: Vec<String> = stored.iter().map(|u| rfc3339(u.created)).collect();

    (resources, times)
}

/// What one filter did on both sides, once they agree.
enum Outcome {
    /// Both refused it.
    Rejected,
    /// Both selected the same users: how many.
    Selected(usize),
}

/// Runs the filter through the SQL compiler against the stored users and through the
/// reference evaluation against their resources; they must agree on refusing it or on
/// exactly which users it selects.
async fn compared_on_both_sides(
    db: &TestDb,
    dir: uuid::Uuid,
    text: &str,
    resources: &[(String, Map<String, Value>)],
) -> Outcome {
    let Ok(filter) = parse(text) else {
        panic!("the generator wrote an unparsable filter: {text}");
    };
    let reference: Result<BTreeSet<String>, _> = resources
        .iter()
        .filter_map(|(id, r)| match matches_user(&filter, r) {
            Ok(true) => Some(Ok(id.clone())),
            Ok(false) => None,
            Err(e) => Some(Err(e)),
        })
        .collect();
    let compiled = compile_filter(&sql::USERS, &filter, 2);
    match (compiled, reference) {
        (Err(_), Err(_)) => Outcome::Rejected,
        (Ok(condition), Ok(expected)) => {
            let (total, page) = users::list(
                &db.pool,
                dir,
                Some(&condition),
                &sql::Order::default(),
                scim_store::PageBounds {
                    offset: 0,
                    limit: 1000,
                    max_bytes: usize::MAX,
                    after: None,
                    walk_total: None,
                },
            )
            .await
            .unwrap();
            let got: BTreeSet<String> = page.iter().map(|u| u.id.to_string()).collect();
            assert_eq!(got, expected, "filter {text}\nSQL {}", condition.sql);
            assert_eq!(total as usize, expected.len());
            Outcome::Selected(expected.len())
        }
        (compiled, reference) => panic!(
            "filter {text}: compiler {} but reference {}",
            if compiled.is_ok() {
                "accepts"
            } else {
                "rejects"
            },
            if reference.is_ok() {
                "accepts"
            } else {
                "rejects"
            }
        ),
    }
}
