//! Scale-out on one machine: three ingress processes, three workers, a three-node NATS
//! JetStream cluster and one Postgres, under a continuous Okta-shaped load spread over
//! the ingresses, while one ingress, one worker and one NATS node are killed (SIGKILL)
//! in turn and restarted. At the end every change acknowledged with a 2xx is in the
//! directory, and member records and team memberships equal what the directory says.

use reqwest::{Method, StatusCode};
use scim_events::{DEAD_LETTER_STREAM, STREAM};
use scim_tests::client::okta_user;
use scim_tests::process::Service;
use scim_tests::scimctl::Scimctl;
use scim_tests::{NatsServer, TestDb, eventually, stream_len};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use uuid::Uuid;

const CLIENTS: usize = 6;
const LOAD: Duration = Duration::from_secs(20);

/// A client that spreads requests over the ingresses and, like an identity provider,
/// retries what got no answer or a 5xx on another one.
struct Client {
    http: reqwest::Client,
    bases: Vec<String>,
    token: String,
    requests: Arc<AtomicU64>,
    retries: Arc<AtomicU64>,
}

impl Client {
    async fn call(
        &self,
        start: usize,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> (StatusCode, Value) {
        for attempt in 0..300 {
            let base = &self.bases[(start + attempt) % self.bases.len()];
            let mut req = self
                .http
                .request(method.clone(), format!("{base}{path}"))
                .bearer_auth(&self.token)
                .timeout(Duration::from_secs(10));
            if let Some(body) = body {
                req = req.json(body);
            }
            self.requests.fetch_add(1, Ordering::Relaxed);
            match req.send().await {
                Ok(res) if !res.status().is_server_error() => {
                    let status = res.status();
                    let body = res.json().await.unwrap_or(Value::Null);
                    return (status, body);
                }
                _ => {
                    self.retries.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
        panic!("{method} {path}: no ingress answered");
    }
}

/// What the directory must say about one user at the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Expected {
    active: bool,
    in_group: bool,
}

/// One client's share of an Okta push: users created, pushed into the group, some
/// deactivated (and some of those reactivated), some removed from the group again.
async fn okta_load(
    client: Arc<Client>,
    n: usize,
    group: String,
    until: Instant,
) -> BTreeMap<String, Expected> {
    let mut expected = BTreeMap::new();
    let mut k = 0;
    while Instant::now() < until {
        let k_here = n * 100_000 + k;
        let email = format!("u{k_here}@x.com");
        let id = match client
            .call(
                k,
                Method::POST,
                "/Users",
                Some(&okta_user(&email, "U", "X")),
            )
            .await
        {
            (StatusCode::CREATED, body) => body["id"].as_str().unwrap().to_owned(),
            // A create that committed on an ingress killed before it answered.
            (StatusCode::CONFLICT, _) => {
                let path = format!("/Users?filter=userName%20eq%20%22{email}%22");
                let (_, found) = client.call(k, Method::GET, &path, None).await;
                found["Resources"][0]["id"].as_str().unwrap().to_owned()
            }
            (status, body) => panic!("creating {email}: {status} {body}"),
        };
        let patch = |ops: Value| json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops});
        let add = patch(json!([{"op": "add", "path": "members", "value": [{"value": id}]}]));
        let (status, body) = client
            .call(k, Method::PATCH, &format!("/Groups/{group}"), Some(&add))
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
        let mut state = Expected {
            active: true,
            in_group: true,
        };
        for (when, active) in [
            (k_here.is_multiple_of(3), false),
            (k_here.is_multiple_of(6), true),
        ] {
            if when {
                let op = patch(json!([{"op": "replace", "value": {"active": active}}]));
                let (status, body) = client
                    .call(k, Method::PATCH, &format!("/Users/{id}"), Some(&op))
                    .await;
                assert_eq!(status, StatusCode::OK, "{body}");
                state.active = active;
            }
        }
        if k_here.is_multiple_of(4) {
            let remove =
                patch(json!([{"op": "remove", "path": format!("members[value eq \"{id}\"]")}]));
            let (status, body) = client
                .call(k, Method::PATCH, &format!("/Groups/{group}"), Some(&remove))
                .await;
            // A retried removal finds the member already gone.
            assert!(
                status == StatusCode::NO_CONTENT || status == StatusCode::BAD_REQUEST,
                "{status} {body}"
            );
            state.in_group = false;
        }
        expected.insert(id, state);
        k += 1;
    }
    expected
}

async fn ids(db: &TestDb, sql: &'static str, key: Uuid) -> BTreeSet<String> {
    sqlx::query_scalar::<_, Uuid>(sql)
        .bind(key)
        .fetch_all(&db.pool)
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_of_everything_survive_kills_and_agree_with_the_directory() {
    let three = Three::start().await;
    let (dir, token) = three.db.directory("acme").await;
    let (bases, admin) = {
        let list = three.ingresses.lock().unwrap();
        let bases: Vec<String> = list
            .iter()
            .map(|s| format!("{}/scim/v2/{dir}", s.base_url()))
            .collect();
        (bases, list[1].admin_url())
    };
    let requests = Arc::new(AtomicU64::new(0));
    let retries = Arc::new(AtomicU64::new(0));
    let client = |_: usize| {
        Arc::new(Client {
            http: reqwest::Client::new(),
            bases: bases.clone(),
            token: token.clone(),
            requests: requests.clone(),
            retries: retries.clone(),
        })
    };
    let (status, group) = client(0)
        .call(
            0,
            Method::POST,
            "/Groups",
            Some(&json!({"displayName": "Everyone"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let group = group["id"].as_str().unwrap().to_owned();
    let ctl = Scimctl::new(admin).in_directory(dir);
    // The load deactivates and deletes users at random, far past what the
    // mass-deprovisioning hold lets through within an hour (hold.rs tests the hold): off,
    // so the product must follow the directory exactly.
    ctl.ok(&["directory", "hold-policy", "--off"]);
    ctl.create_team("All");
    ctl.map_team("All", &["Everyone"]);

    let until = Instant::now() + LOAD;
    let load: Vec<_> = (0..CLIENTS)
        .map(|n| tokio::spawn(okta_load(client(n), n, group.clone(), until)))
        .collect();
    three.kill_one_of_each_in_turn().await;
    let mut expected: BTreeMap<String, Expected> = BTreeMap::new();
    for task in load {
        expected.extend(task.await.unwrap());
    }

    three.drained().await;
    let group = Uuid::parse_str(&group).unwrap();
    users_and_members_are_as_acknowledged(&three.db, dir, &expected).await;
    let (in_group, in_team) =
        group_and_team_are_as_acknowledged(&three.db, dir, group, &expected).await;
    let any_node = three.nats.lock().unwrap()[1].url.clone();
    assert_eq!(
        stream_len(&any_node, DEAD_LETTER_STREAM).await,
        0,
        "nothing dead-lettered"
    );

    println!(
        "scale-out: {} users ({} active, {} in the group, {} in the team) checked after {} requests ({} retried on another ingress), with one ingress, one worker and one NATS node killed and restarted",
        expected.len(),
        expected.values().filter(|e| e.active).count(),
        in_group,
        in_team,
        requests.load(Ordering::Relaxed),
        retries.load(Ordering::Relaxed),
    );
}

/// Three ingresses and three workers on a three-node JetStream cluster (R3 streams).
struct Three {
    db: TestDb,
    nats: Arc<Mutex<Vec<NatsServer>>>,
    nats_url: String,
    ingresses: Arc<Mutex<Vec<Service>>>,
    workers: Arc<Mutex<Vec<Service>>>,
}

impl Three {
    async fn start() -> Three {
        let db = TestDb::new().await;
        let nats = Arc::new(Mutex::new(NatsServer::cluster(3)));
        let nats_url = NatsServer::cluster_url(&nats.lock().unwrap());
        // The JetStream cluster elects its leader before the services may use it.
        let js = async_nats::jetstream::new(scim_tests::NATS_INGRESS.connect(&nats_url).await);
        eventually(
            Duration::from_secs(60),
            "a JetStream cluster with R3 streams",
            || async { scim_service::nats::ensure_streams(&js, 3, 7).await.ok() },
        )
        .await;
        let env = [("NATS_STREAM_REPLICAS", "3")];
        let ingresses = Arc::new(Mutex::new(
            (0..3)
                .map(|_| Service::ingress_with(&db.url, &nats_url, &env))
                .collect::<Vec<_>>(),
        ));
        let workers = Arc::new(Mutex::new(
            (0..3)
                .map(|_| Service::worker(&db.url, &nats_url, &env))
                .collect::<Vec<_>>(),
        ));
        Three {
            db,
            nats,
            nats_url,
            ingresses,
            workers,
        }
    }

    /// Kills one of each, in turn, while the load runs; each comes back on its ports.
    async fn kill_one_of_each_in_turn(&self) {
        let pause = |s| tokio::time::sleep(Duration::from_secs(s));
        pause(3).await;
        let (i, w, n) = (
            self.ingresses.clone(),
            self.workers.clone(),
            self.nats.clone(),
        );
        tokio::task::spawn_blocking(move || i.lock().unwrap()[0].kill())
            .await
            .unwrap();
        pause(3).await;
        let i = self.ingresses.clone();
        tokio::task::spawn_blocking(move || i.lock().unwrap()[0].restart())
            .await
            .unwrap();
        pause(2).await;
        tokio::task::spawn_blocking(move || w.lock().unwrap()[0].kill())
            .await
            .unwrap();
        pause(3).await;
        let w = self.workers.clone();
        tokio::task::spawn_blocking(move || w.lock().unwrap()[0].restart())
            .await
            .unwrap();
        pause(2).await;
        tokio::task::spawn_blocking(move || n.lock().unwrap()[0].stop())
            .await
            .unwrap();
        pause(4).await;
        let n = self.nats.clone();
        tokio::task::spawn_blocking(move || n.lock().unwrap()[0].resume())
            .await
            .unwrap();
    }

    /// Everything published and applied: the outbox is empty and the workers have
    /// acknowledged every event (killed workers' deliveries come back after ack_wait),
    /// as the worker's consumer shows to the worker.
    async fn drained(&self) {
        let worker_js =
            async_nats::jetstream::new(scim_tests::NATS_WORKER.connect(&self.nats_url).await);
        eventually(Duration::from_secs(120), "the pipeline drained", || async {
            let outbox: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox")
                .fetch_one(&self.db.pool)
                .await
                .ok()?;
            let mut consumer: async_nats::jetstream::consumer::PullConsumer = worker_js
                .get_consumer_from_stream("member-sync", STREAM)
                .await
                .ok()?;
            let info = consumer.info().await.ok()?.clone();
            (outbox == 0 && info.num_pending == 0 && info.num_ack_pending == 0).then_some(())
        })
        .await;
    }
}

/// Every acknowledged user, in its acknowledged state, and no other; and a member
/// record for each, active or deactivated as the user.
async fn users_and_members_are_as_acknowledged(
    db: &TestDb,
    dir: Uuid,
    expected: &BTreeMap<String, Expected>,
) {
    let users: BTreeMap<String, bool> = sqlx::query_as::<_, (Uuid, bool)>(
        "SELECT id, active FROM scim_users WHERE directory_id = $1",
    )
    .bind(dir)
    .fetch_all(&db.pool)
    .await
    .unwrap()
    .into_iter()
    .map(|(id, active)| (id.to_string(), active))
    .collect();
    let want_users: BTreeMap<String, bool> = expected
        .iter()
        .map(|(id, e)| (id.clone(), e.active))
        .collect();
    assert_eq!(
        users, want_users,
        "every acknowledged user, in its acknowledged state, and no other"
    );

    let members: BTreeMap<String, String> = sqlx::query_as::<_, (Uuid, String)>(
        "SELECT scim_user_id, status FROM members WHERE directory_id = $1 AND scim_user_id IS NOT NULL",
    )
    .bind(dir)
    .fetch_all(&db.pool)
    .await
    .unwrap()
    .into_iter()
    .map(|(id, status)| (id.to_string(), status))
    .collect();
    let want_members: BTreeMap<String, String> = expected
        .iter()
        .map(|(id, e)| {
            (
                id.clone(),
                if e.active { "active" } else { "deactivated" }.to_owned(),
            )
        })
        .collect();
    assert_eq!(members, want_members, "member records");
}

/// The group holds every user acknowledged in it, and team All (mapped to it) every
/// active one of those: (how many in the group, how many in the team).
async fn group_and_team_are_as_acknowledged(
    db: &TestDb,
    dir: Uuid,
    group: Uuid,
    expected: &BTreeMap<String, Expected>,
) -> (usize, usize) {
    let in_group = ids(
        db,
        "SELECT user_id FROM scim_group_members WHERE group_id = $1",
        group,
    )
    .await;
    let want_group: BTreeSet<String> = expected
        .iter()
        .filter(|(_, e)| e.in_group)
        .map(|(id, _)| id.clone())
        .collect();
    assert_eq!(in_group, want_group, "group membership");

    let team: Uuid =
        sqlx::query_scalar("SELECT id FROM teams WHERE directory_id = $1 AND name = 'All'")
            .bind(dir)
            .fetch_one(&db.pool)
            .await
            .unwrap();
    let in_team = ids(
        db,
        "SELECT m.scim_user_id FROM team_members tm JOIN members m ON m.id = tm.member_id
         WHERE tm.team_id = $1 AND NOT tm.suspended",
        team,
    )
    .await;
    let want_team: BTreeSet<String> = expected
        .iter()
        .filter(|(_, e)| e.in_group && e.active)
        .map(|(id, _)| id.clone())
        .collect();
    assert_eq!(in_team, want_team, "team memberships in effect");
    (want_group.len(), want_team.len())
}
