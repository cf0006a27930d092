//! End to end through `scimctl` and real processes: a token revoked through one
//! ingress replica is refused by another at once, and deleting a directory
//! deprovisions its members through the worker without a dead letter.

use reqwest::StatusCode;
use scim_events::{DEAD_LETTER_STREAM, STREAM};
use scim_tests::client::{Scim, okta_user};
use scim_tests::process::{Service, scimctl};
use scim_tests::{NatsServer, TestDb, eventually, stream_len};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

fn ctl(admin_url: &str, args: &[&str]) -> Value {
    let out = scimctl(admin_url, args).unwrap_or_else(|e| panic!("scimctl {args:?}: {e}"));
    serde_json::from_str(&out).unwrap_or_else(|_| panic!("scimctl {args:?} printed no JSON: {out}"))
}

#[tokio::test]
async fn a_token_revoked_on_one_replica_is_refused_by_the_others_at_once() {
    let db = TestDb::new().await;
    let nats = NatsServer::start();
    // A long cache, so only the revocation message can explain a prompt refusal.
    let cache = [("TOKEN_CACHE_SECONDS", "60")];
    let a = Service::ingress_with(&db.url, &nats.url, &cache);
    let b = Service::ingress_with(&db.url, &nats.url, &cache);

    let created = ctl(
        &a.admin_url(),
        &[
            "directory",
            "create",
            "--name",
            "Acme",
            "--idp",
            "okta",
            "--json",
        ],
    );
    let dir = created["id"].as_str().unwrap();
    let old = created["token"]["token"].as_str().unwrap();
    let path = |svc: &Service| format!("{}/scim/v2/{dir}", svc.base_url());
    let (old_a, old_b) = (Scim::new(path(&a), old), Scim::new(path(&b), old));
    // B has checked the token and holds it in its cache.
    assert_eq!(
        old_b.find_users("userName eq \"x\"").await.status,
        StatusCode::OK
    );

    // Rotation: the new token works on both replicas while the old one still does.
    let new = ctl(
        &a.admin_url(),
        &["token", "create", "--directory", dir, "--json"],
    );
    let new_b = Scim::new(path(&b), new["token"].as_str().unwrap());
    assert_eq!(
        new_b.find_users("userName eq \"x\"").await.status,
        StatusCode::OK
    );
    assert_eq!(
        old_a.find_users("userName eq \"x\"").await.status,
        StatusCode::OK
    );

    let listed = ctl(
        &b.admin_url(),
        &["token", "list", "--directory", dir, "--json"],
    );
    let old_id = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] != new["id"])
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    scimctl(
        &a.admin_url(),
        &["token", "revoke", "--directory", dir, "--token", &old_id],
    )
    .unwrap();
    let revoked = Instant::now();
    assert_eq!(
        old_a.find_users("userName eq \"x\"").await.status,
        StatusCode::UNAUTHORIZED
    );
    eventually(
        Duration::from_secs(5),
        "replica B refusing the revoked token",
        || async {
            (old_b.find_users("userName eq \"x\"").await.status == StatusCode::UNAUTHORIZED)
                .then_some(())
        },
    )
    .await;
    let took = revoked.elapsed();
    assert!(took < Duration::from_secs(2), "replica B took {took:?}");
    println!("replica B refused the revoked token {took:?} after the revocation");
    assert_eq!(
        new_b.find_users("userName eq \"x\"").await.status,
        StatusCode::OK
    );

    // The audit log names who did it.
    let audit = ctl(&b.admin_url(), &["audit", "--directory", dir, "--json"]);
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "directory.token_revoked",
            "directory.token_created",
            // The first token, issued with the directory, is announced too.
            "directory.token_created",
            "directory.created"
        ]
    );
    assert!(
        audit[0]["actor"]
            .as_str()
            .unwrap()
            .starts_with("test (operator token ")
    );
}

async fn db_outbox_empty(db: &TestDb) -> bool {
    sqlx::query_scalar::<_, i64>("SELECT count(*) FROM outbox")
        .fetch_one(&db.pool)
        .await
        .is_ok_and(|n| n == 0)
}

#[tokio::test]
async fn deleting_a_directory_deprovisions_its_members_through_the_worker() {
    let db = TestDb::new().await;
    let nats = NatsServer::start();
    let ingress = Service::ingress(&db.url, &nats.url);
    let _worker = Service::worker(&db.url, &nats.url, &[]);
    let admin = ingress.admin_url();
    let client = |d: &Value| {
        Scim::new(
            d["scim_base_url"].as_str().unwrap(),
            d["token"]["token"].as_str().unwrap(),
        )
    };
    let doomed = ctl(
        &admin,
        &["directory", "create", "--name", "Doomed", "--json"],
    );
    let kept = ctl(&admin, &["directory", "create", "--name", "Kept", "--json"]);
    let dir = doomed["id"].as_str().unwrap();
    let scim = client(&doomed);
    ctl(
        &admin,
        &[
            "team",
            "create",
            "--directory",
            dir,
            "--team",
            "Eng",
            "--json",
        ],
    );
    ctl(
        &admin,
        &[
            "team",
            "map",
            "--directory",
            dir,
            "--team",
            "Eng",
            "--group",
            "Eng",
            "--json",
        ],
    );
    let mut members = Vec::new();
    for i in 0..5 {
        let r = scim
            .create_user(&okta_user(&format!("d{i}@x.com"), "D", "D"))
            .await;
        members.push(json!({"value": r.body["id"]}));
    }
    scim.create_group(&json!({"displayName": "Eng", "members": members}))
        .await;
    let active_in_team = || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM team_members tm JOIN members m ON m.id = tm.member_id
             WHERE m.directory_id = $1::uuid AND m.status = 'active' AND NOT tm.suspended",
        )
        .bind(dir)
        .fetch_one(&db.pool)
        .await
        .unwrap()
    };
    eventually(Duration::from_secs(30), "five team members", || async {
        (active_in_team().await == 5).then_some(())
    })
    .await;
    let shown = ctl(&admin, &["directory", "show", "--directory", dir, "--json"]);
    assert_eq!(
        (
            shown["users"].clone(),
            shown["groups"].clone(),
            shown["teams"].clone()
        ),
        (json!(5), json!(1), json!(1))
    );
    let listed = ctl(
        &admin,
        &[
            "members",
            "--directory",
            dir,
            "--status",
            "active",
            "--json",
        ],
    );
    assert_eq!(listed.as_array().unwrap().len(), 5);
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["teams"] == json!(["Eng"]))
    );

    assert!(
        scimctl(&admin, &["directory", "delete", "--directory", dir]).is_err(),
        "needs --yes"
    );
    ctl(
        &admin,
        &["directory", "delete", "--directory", dir, "--yes", "--json"],
    );

    // The worker takes the deletion events in its stride: every event is acknowledged
    // without a retry, a change in another directory after them is applied, and
    // nothing was dead-lettered.
    let js = async_nats::jetstream::new(scim_tests::NATS_WORKER.connect(&nats.url).await);
    let info = eventually(
        Duration::from_secs(30),
        "every event acknowledged",
        || async {
            let mut consumer: async_nats::jetstream::consumer::PullConsumer = js
                .get_consumer_from_stream("member-sync", STREAM)
                .await
                .ok()?;
            let info = consumer.info().await.ok()?.clone();
            (info.num_pending == 0 && info.num_ack_pending == 0 && db_outbox_empty(&db).await)
                .then_some(info)
        },
    )
    .await;
    assert_eq!(info.num_redelivered, 0, "no event needed a retry");
    let after = client(&kept)
        .create_user(&okta_user("after@x.com", "A", "A"))
        .await;
    let after_id = after.body["id"].as_str().unwrap().to_owned();
    eventually(
        Duration::from_secs(30),
        "the later user's member record",
        || async {
            sqlx::query_scalar::<_, i64>(
                "SELECT count(*) FROM members WHERE scim_user_id = $1::uuid",
            )
            .bind(&after_id)
            .fetch_one(&db.pool)
            .await
            .ok()
            .filter(|n| *n == 1)
        },
    )
    .await;
    let left: i64 =
        sqlx::query_scalar("SELECT count(*) FROM members WHERE directory_id = $1::uuid")
            .bind(dir)
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(
        left, 0,
        "no member record of the deleted directory comes back"
    );
    assert!(stream_len(&nats.url, STREAM).await > 0);
    assert_eq!(stream_len(&nats.url, DEAD_LETTER_STREAM).await, 0);
}

/// The `scimctl` command lines of a guide's code blocks, split into arguments
/// (double quotes group words; a `#` after a space starts a comment).
fn guide_commands(guide: &str) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(format!("{}/../docs/{guide}", env!("CARGO_MANIFEST_DIR")))
        .expect("reading the guide");
    let mut in_block = false;
    let mut commands = Vec::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_block = !in_block;
            continue;
        }
        let line = line.split(" #").next().unwrap_or_default().trim();
        if !in_block || !line.starts_with("scimctl ") {
            continue;
        }
        let (mut args, mut word, mut quoted) = (Vec::new(), String::new(), false);
        for c in line.chars() {
            match c {
                '"' => quoted = !quoted,
                ' ' if !quoted => {
                    if !word.is_empty() {
                        args.push(std::mem::take(&mut word));
                    }
                }
                c => word.push(c),
            }
        }
        args.push(word);
        commands.push(args[1..].to_vec());
    }
    commands
}

/// Runs every `scimctl` command of a guide, in order, against a real ingress: the
/// first creates the directory; `<id>` and `<old-token-id>` stand for it and its first
/// token. Returns the directory as `directory create` printed it.
fn follow_guide(admin: &str, guide: &str) -> Value {
    let commands = guide_commands(guide);
    assert!(
        commands.len() >= 6,
        "{guide}: only {} commands found",
        commands.len()
    );
    let mut created = Value::Null;
    for args in commands {
        let dir = created["id"].as_str().unwrap_or_default().to_owned();
        let old_token = created["token"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let mut args: Vec<String> = args
            .into_iter()
            .map(|a| {
                a.replace("<id>", &dir)
                    .replace("<old-token-id>", &old_token)
            })
            .collect();
        args.push("--json".into());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = ctl(admin, &args);
        if args[..2] == ["directory", "create"] {
            created = out;
        }
    }
    created
}

#[tokio::test]
async fn the_okta_and_entra_guides_commands_work_and_their_controls_hold() {
    let db = TestDb::new().await;
    let nats = NatsServer::start();
    let ingress = Service::ingress(&db.url, &nats.url);
    let admin = ingress.admin_url();
    follow_guide(&admin, "entra.md");
    let dir = follow_guide(&admin, "okta.md");
    let id = dir["id"].as_str().unwrap();

    // What the Okta guide set up is in place.
    let shown = ctl(&admin, &["directory", "show", "--directory", id, "--json"]);
    assert_eq!(shown["trusted_domains"], json!(["acme.com", "acme.io"]));
    assert_eq!(shown["seat_limit"], 250);
    let teams = ctl(&admin, &["team", "list", "--directory", id, "--json"]);
    assert_eq!(teams[0]["groups"], json!(["Engineering", "Platform"]));
    let tokens = ctl(&admin, &["token", "list", "--directory", id, "--json"]);
    let live: Vec<&Value> = tokens
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["revoked_at"].is_null())
        .collect();
    assert_eq!(
        (tokens.as_array().unwrap().len(), live.len()),
        (2, 1),
        "rotated: {tokens}"
    );
    let first = dir["token"]["token"].as_str().unwrap();
    let scim_url = dir["scim_base_url"].as_str().unwrap();
    let revoked = Scim::new(scim_url, first);
    assert_eq!(
        revoked.find_users("userName eq \"x\"").await.status,
        StatusCode::UNAUTHORIZED
    );

    // Through the real ingress with a fresh token: trusted domains and seats.
    let token = ctl(&admin, &["token", "create", "--directory", id, "--json"]);
    let scim = Scim::new(scim_url, token["token"].as_str().unwrap());
    let r = scim
        .create_user(&okta_user("mallory@gmail.com", "M", "M"))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    let refused = r.body["detail"].as_str().unwrap().to_owned();
    assert!(refused.contains("gmail.com"), "{refused}");
    ctl(
        &admin,
        &[
            "directory",
            "seats",
            "--directory",
            id,
            "--limit",
            "1",
            "--json",
        ],
    );
    let r = scim
        .create_user(&okta_user("jane@acme.com", "J", "D"))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = scim.create_user(&okta_user("john@acme.io", "J", "D")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .contains("1 of 1 seats in use")
    );

    // The request log shows the failed pushes with the detail each was given.
    let failures = eventually(
        Duration::from_secs(5),
        "three failures in the log",
        || async {
            let log = ctl(
                &admin,
                &[
                    "requests",
                    "--directory",
                    id,
                    "--status",
                    "errors",
                    "--json",
                ],
            );
            (log.as_array()?.len() == 3).then_some(log)
        },
    )
    .await;
    assert_eq!(failures[0]["status"], 403);
    assert_eq!(failures[1]["status"], 400);
    assert_eq!(failures[1]["method"], "POST");
    assert_eq!(failures[1]["detail"], refused.as_str());
    assert_eq!(failures[2]["status"], 401);
}

/// `scimctl directory setup-link --json` prints the URL and when it expires; the link
/// is listed without its secret and revoked through scimctl.
#[tokio::test]
async fn scimctl_issues_lists_and_revokes_setup_links() {
    let db = TestDb::new().await;
    let nats = NatsServer::start();
    let ingress = Service::ingress(&db.url, &nats.url);
    let admin = ingress.admin_url();
    let created = ctl(&admin, &["directory", "create", "--name", "Acme", "--json"]);
    let dir = created["id"].as_str().unwrap();
    let issued = ctl(
        &admin,
        &[
            "directory",
            "setup-link",
            "--directory",
            dir,
            "--expires",
            "48h",
            "--json",
        ],
    );
    let url = issued["url"].as_str().unwrap();
    assert!(url.contains("/setup#setup_"), "{url}");
    assert!(issued["expires_at"].is_string());
    let listed = ctl(
        &admin,
        &["directory", "setup-links", "--directory", dir, "--json"],
    );
    assert_eq!(listed[0]["id"], issued["link"]["id"]);
    assert!(!listed.to_string().contains(url.split_once('#').unwrap().1));
    let link = issued["link"]["id"].as_str().unwrap();
    let revoked = ctl(
        &admin,
        &[
            "directory",
            "revoke-setup-link",
            "--directory",
            dir,
            "--link",
            link,
            "--json",
        ],
    );
    assert!(revoked["revoked_at"].is_string());
}
