//! End to end through `scimctl` and real processes: a token revoked through one
//! ingress replica is refused by another at once, and deleting a directory
//! deprovisions its members through the worker without a dead letter.

use reqwest::StatusCode;
use scim_admin_api::{
    AuditRecord, CreatedDirectory, IssuedSetupLink, Member, NewToken, RequestEntry, SetupLink,
    Token,
};
use scim_events::{DEAD_LETTER_STREAM, STREAM};
use scim_tests::client::{Scim, okta_user};
use scim_tests::process::Service;
use scim_tests::scimctl::Scimctl;
use scim_tests::system::System;
use scim_tests::{NatsServer, TestDb, eventually, stream_len};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use uuid::Uuid;

#[tokio::test]
async fn a_token_revoked_on_one_replica_is_refused_by_the_others_at_once() {
    let db = TestDb::new().await;
    let nats = NatsServer::start();
    // A long cache, so only the revocation message can explain a prompt refusal.
    let cache = [("TOKEN_CACHE_SECONDS", "60")];
    let a = Service::ingress_with(&db.url, &nats.url, &cache);
    let b = Service::ingress_with(&db.url, &nats.url, &cache);
    let ctl_a = Scimctl::new(a.admin_url());

    let created: CreatedDirectory =
        ctl_a.json(&["directory", "create", "--name", "Acme", "--idp", "okta"]);
    let dir = created.directory.id;
    let (ctl_a, ctl_b) = (
        ctl_a.in_directory(dir),
        Scimctl::new(b.admin_url()).in_directory(dir),
    );
    let old = created.token.token.as_str();
    let path = |svc: &Service| format!("{}/scim/v2/{dir}", svc.base_url());
    let (old_a, old_b) = (Scim::new(path(&a), old), Scim::new(path(&b), old));
    // B has checked the token and holds it in its cache.
    assert_eq!(
        old_b.find_users("userName eq \"x\"").await.status,
        StatusCode::OK
    );

    // Rotation: the new token works on both replicas while the old one still does.
    let new: NewToken = ctl_a.json(&["token", "create"]);
    let new_b = Scim::new(path(&b), &new.token.token);
    assert_eq!(
        new_b.find_users("userName eq \"x\"").await.status,
        StatusCode::OK
    );
    assert_eq!(
        old_a.find_users("userName eq \"x\"").await.status,
        StatusCode::OK
    );

    let listed: Vec<Token> = ctl_b.json(&["token", "list"]);
    let old_id = listed
        .iter()
        .find(|t| t.id != new.token.id)
        .unwrap()
        .id
        .to_string();
    ctl_a.ok(&["token", "revoke", "--token", &old_id]);
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
    let audit: Vec<AuditRecord> = ctl_b.json(&["audit"]);
    let actions: Vec<&str> = audit.iter().map(|r| r.action.as_str()).collect();
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
    assert!(audit[0].actor.starts_with("test (operator token "));
}

async fn db_outbox_empty(db: &TestDb) -> bool {
    sqlx::query_scalar::<_, i64>("SELECT count(*) FROM outbox")
        .fetch_one(&db.pool)
        .await
        .is_ok_and(|n| n == 0)
}

fn client(d: &CreatedDirectory) -> Scim {
    Scim::new(&d.directory.scim_base_url, &d.token.token)
}

#[tokio::test]
async fn deleting_a_directory_deprovisions_its_members_through_the_worker() {
    let db = TestDb::new().await;
    let nats = NatsServer::start();
    let ingress = Service::ingress(&db.url, &nats.url);
    let _worker = Service::worker(&db.url, &nats.url, &[]);
    let ctl = Scimctl::new(ingress.admin_url());
    let doomed: CreatedDirectory = ctl.json(&["directory", "create", "--name", "Doomed"]);
    let kept: CreatedDirectory = ctl.json(&["directory", "create", "--name", "Kept"]);
    let ctl = ctl.in_directory(doomed.directory.id);
    five_members_in_a_team(&db, &ctl, &doomed).await;

    // Needs --yes.
    ctl.refused(&["directory", "delete"]);
    ctl.json::<Value>(&["directory", "delete", "--yes"]);
    the_worker_takes_the_deletion_in_its_stride(&db, &nats, &doomed, &kept).await;
}

/// Five users pushed into a group mapped to team Eng: five active members in it, as
/// the database, `directory show` and `members` say.
async fn five_members_in_a_team(db: &TestDb, ctl: &Scimctl, doomed: &CreatedDirectory) {
    ctl.create_team("Eng");
    ctl.map_team("Eng", &["Eng"]);
    let scim = client(doomed);
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
             WHERE m.directory_id = $1 AND m.status = 'active' AND NOT tm.suspended",
        )
        .bind(doomed.directory.id)
        .fetch_one(&db.pool)
        .await
        .unwrap()
    };
    eventually(Duration::from_secs(30), "five team members", || async {
        (active_in_team().await == 5).then_some(())
    })
    .await;
    let shown = ctl.directory();
    assert_eq!((shown.users, shown.groups, shown.teams), (5, 1, 1));
    let listed: Vec<Member> = ctl.json(&["members", "--status", "active"]);
    assert_eq!(listed.len(), 5);
    assert!(listed.iter().all(|m| m.teams == ["Eng"]));
}

/// The worker takes the deletion events in its stride: every event is acknowledged
/// without a retry, a change in another directory after them is applied, and nothing
/// was dead-lettered.
async fn the_worker_takes_the_deletion_in_its_stride(
    db: &TestDb,
    nats: &NatsServer,
    doomed: &CreatedDirectory,
    kept: &CreatedDirectory,
) {
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
            (info.num_pending == 0 && info.num_ack_pending == 0 && db_outbox_empty(db).await)
                .then_some(info)
        },
    )
    .await;
    assert_eq!(info.num_redelivered, 0, "no event needed a retry");
    let after = client(kept)
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
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM members WHERE directory_id = $1")
        .bind(doomed.directory.id)
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
fn follow_guide(ctl: &Scimctl, guide: &str) -> CreatedDirectory {
    let commands = guide_commands(guide);
    assert!(
        commands.len() >= 6,
        "{guide}: only {} commands found",
        commands.len()
    );
    let mut created: Option<CreatedDirectory> = None;
    for args in commands {
        let (dir, old_token) = match &created {
            Some(c) => (c.directory.id.to_string(), c.token.id.to_string()),
            None => Default::default(),
        };
        let args: Vec<String> = args
            .into_iter()
            .map(|a| {
                a.replace("<id>", &dir)
                    .replace("<old-token-id>", &old_token)
            })
            .collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out: Value = ctl.json(&args);
        if args[..2] == ["directory", "create"] {
            created = Some(serde_json::from_value(out).expect("a created directory"));
        }
    }
    created.expect("the guide creates a directory")
}

#[tokio::test]
async fn the_okta_and_entra_guides_commands_work_and_their_controls_hold() {
    let db = TestDb::new().await;
    let nats = NatsServer::start();
    let ingress = Service::ingress(&db.url, &nats.url);
    let ctl = Scimctl::new(ingress.admin_url());
    follow_guide(&ctl, "entra.md");
    let dir = follow_guide(&ctl, "okta.md");
    let ctl = ctl.in_directory(dir.directory.id);

    // What the Okta guide set up is in place.
    let shown = ctl.directory();
    assert_eq!(shown.trusted_domains, ["acme.com", "acme.io"]);
    assert_eq!(shown.seat_limit, Some(250));
    assert_eq!(ctl.teams()[0].groups, ["Engineering", "Platform"]);
    let tokens: Vec<Token> = ctl.json(&["token", "list"]);
    let live = tokens.iter().filter(|t| t.revoked_at.is_none()).count();
    assert_eq!((tokens.len(), live), (2, 1), "rotated: {tokens:?}");
    let scim_url = &dir.directory.scim_base_url;
    let revoked = Scim::new(scim_url, &dir.token.token);
    assert_eq!(
        revoked.find_users("userName eq \"x\"").await.status,
        StatusCode::UNAUTHORIZED
    );

    // Through the real ingress with a fresh token: trusted domains and seats.
    let token: NewToken = ctl.json(&["token", "create"]);
    let scim = Scim::new(scim_url, &token.token.token);
    let r = scim
        .create_user(&okta_user("mallory@gmail.com", "M", "M"))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    let refused = r.body["detail"].as_str().unwrap().to_owned();
    assert!(refused.contains("gmail.com"), "{refused}");
    ctl.json::<Value>(&["directory", "seats", "--limit", "1"]);
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
            let log: Vec<RequestEntry> = ctl.json(&["requests", "--status", "errors"]);
            (log.len() == 3).then_some(log)
        },
    )
    .await;
    assert_eq!(failures[0].status, 403);
    assert_eq!(failures[1].status, 400);
    assert_eq!(failures[1].method, "POST");
    assert_eq!(failures[1].detail.as_deref(), Some(refused.as_str()));
    assert_eq!(failures[2].status, 401);
}

/// `scimctl directory setup-link --json` prints the URL and when it expires; the link
/// is listed without its secret and revoked through scimctl.
#[tokio::test]
async fn scimctl_issues_lists_and_revokes_setup_links() {
    let db = TestDb::new().await;
    let nats = NatsServer::start();
    let ingress = Service::ingress(&db.url, &nats.url);
    let ctl = Scimctl::new(ingress.admin_url());
    let created: CreatedDirectory = ctl.json(&["directory", "create", "--name", "Acme"]);
    let ctl = ctl.in_directory(created.directory.id);
    let issued: IssuedSetupLink = ctl.json(&["directory", "setup-link", "--expires", "48h"]);
    assert!(issued.url.contains("/setup#setup_"), "{}", issued.url);
    // Listed as the API printed it: nothing in it is the link's secret.
    let listed: Value = ctl.json(&["directory", "setup-links"]);
    assert_eq!(listed[0]["id"], json!(issued.link.id));
    let secret = issued.url.split_once('#').unwrap().1;
    assert!(!listed.to_string().contains(secret));
    let link = issued.link.id.to_string();
    let revoked: SetupLink = ctl.json(&["directory", "revoke-setup-link", "--link", &link]);
    assert!(revoked.revoked_at.is_some());
}

/// scimctl as operators expect a CLI to be: the API's answers as JSON or a table, exit
/// codes that say why it failed, shell completions and a manual page.
#[tokio::test]
async fn scimctl_prints_json_or_tables_and_its_exit_codes_say_why() {
    let sys = System::start().await;
    let all = Scimctl::new(sys.ingress.admin_url());
    let table = all.ok(&["directory", "list", "--output", "table"]);
    let mut lines = table.lines();
    let header = lines.next().unwrap_or_default();
    assert!(
        header.starts_with("ID") && header.contains("NAME"),
        "{table}"
    );
    assert!(lines.any(|l| l.contains("acme")), "{table}");
    let listed: Vec<Value> =
        serde_json::from_str(&all.ok(&["directory", "list", "--output", "json"])).unwrap();
    assert_eq!(listed.len(), 1);

    let missing = Uuid::new_v4().to_string();
    let show = ["directory", "show", "--directory", missing.as_str()];
    assert_eq!(all.exit_code(&show, &[]), 3, "refused: no such directory");
    assert_eq!(
        all.exit_code(&show, &[("ADMIN_TOKEN", "wrong")]),
        5,
        "unauthorized"
    );
    let nowhere = ("ADMIN_URL", "http://127.0.0.1:1");
    assert_eq!(all.exit_code(&show, &[nowhere]), 4, "unavailable");
    assert_eq!(all.exit_code(&["directory", "--bogus"], &[]), 2, "usage");

    assert!(all.ok(&["completions", "bash"]).contains("_scimctl"));
    assert!(all.ok(&["man"]).contains(".TH scimctl 1"));
}
