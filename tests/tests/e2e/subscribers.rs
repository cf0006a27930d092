//! Subscribers of the event contract, each keeping a copy of a directory from its events
//! alone: the crate's consumer helper after every kind of change Okta and Entra make,
//! from a snapshot taken during writes, and the crate's example as a process, killed and
//! started again.

use async_nats::jetstream;
use reqwest::StatusCode;
use scim_events::copy::DirectoryCopy;
use scim_tests::client::{Scim, okta_user};
use scim_tests::eventually;
use scim_tests::system::System;
use serde_json::{Value, json};
use std::time::Duration;
use uuid::Uuid;

/// Every user of the directory, and every group with its members, read through SCIM
/// and made comparable with a copy kept from events.
async fn directory_through_scim(s: &Scim) -> scim_events::copy::DirectoryCopy {
    use scim_events::copy::{CopiedGroup, DirectoryCopy, comparable};
    let mut copy = DirectoryCopy::default();
    let id = |v: &Value| Uuid::try_parse(v["id"].as_str().unwrap()).unwrap();
    let mut start = 1;
    loop {
        let page = s
            .send(
                reqwest::Method::GET,
                &format!("/Users?startIndex={start}&count=1000"),
                None,
            )
            .await;
        let users = page.body["Resources"].as_array().unwrap().clone();
        for user in &users {
            copy.users.insert(id(user), comparable(user));
        }
        start += users.len();
        if users.is_empty() || start > page.body["totalResults"].as_u64().unwrap() as usize {
            break;
        }
    }
    let groups = s
        .send(reqwest::Method::GET, "/Groups?count=1000", None)
        .await;
    for group in groups.body["Resources"].as_array().unwrap() {
        let members = group["members"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|m| Uuid::try_parse(m["value"].as_str().unwrap()).unwrap())
            .collect();
        let resource = comparable(group);
        copy.groups
            .insert(id(group), CopiedGroup { resource, members });
    }
    copy
}

#[tokio::test]
async fn a_subscriber_following_the_rule_keeps_a_copy_equal_to_the_directory() {
    use scim_events::copy::DirectoryCopy;
    use scim_events::subscriber::{self, Failure, Settings};
    use std::sync::{Arc, Mutex};
    let sys = System::start().await;
    let s = &sys.scim;
    let dir = s.base_url.rsplit('/').next().unwrap().to_owned();

    // The subscriber, from the crate: a consumer of its own on this directory's events.
    let js = jetstream::new(scim_tests::NATS_SUBSCRIBER.connect(&sys.nats.url).await);
    let mut settings = Settings::new("directory-copy");
    settings.filter = format!("scim.v1.{dir}.>");
    settings.retry_delay = Duration::from_millis(300);
    let (consumer, mut positions) = eventually(Duration::from_secs(20), "the consumer", || {
        let (js, settings) = (js.clone(), settings.clone());
        async move {
            subscriber::consumer(&js, &settings, subscriber::Start::Nothing)
                .await
                .ok()
        }
    })
    .await;
    let copy = Arc::new(Mutex::new(DirectoryCopy::default()));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let reader = {
        let copy = copy.clone();
        let mut failed_once = false;
        tokio::spawn(async move {
            subscriber::run(
                &consumer,
                &settings,
                &mut positions,
                async {
                    stopped.await.ok();
                },
                |event| {
                    // The first membership event fails once: the events of its group behind
                    // it come early and wait, as after any redelivery.
                    let retry = !failed_once && event.type_is("group.members_added");
                    failed_once |= retry;
                    let copy = copy.clone();
                    async move {
                        if retry {
                            return Err(Failure::Retry("once, for the test".into()));
                        }
                        copy.lock().unwrap().apply(&event);
                        Ok(())
                    }
                },
            )
            .await
        })
    };

    every_kind_of_change_okta_and_entra_make(s).await;

    let directory = the_copy_becomes_the_directory(s, || Some(copy.lock().unwrap().clone())).await;
    assert_eq!(directory.users.len(), 1006);
    let _ = stop.send(());
    reader.await.unwrap().unwrap();
}

/// Okta users created, updated by PUT, deactivated, reactivated; groups created with
/// members (Entra), renamed with their members replaced by PUT (Okta), given more than
/// 1,000 members at once, deleted with members; a user deleted while in a group; a
/// member removed by filter.
async fn every_kind_of_change_okta_and_entra_make(s: &Scim) {
    let mut users = Vec::new();
    for i in 0..6 {
        let u = s
            .create_user(&okta_user(&format!("u{i}@x.com"), "U", "X"))
            .await;
        users.push(u.body["id"].as_str().unwrap().to_owned());
    }
    s.replace_user(&users[0], &okta_user("u0@x.com", "Renamed", "X"))
        .await;
    let active = |a: bool| json!([{"op": "replace", "value": {"active": a}}]);
    s.patch_user(&users[1], active(false)).await;
    s.patch_user(&users[2], active(false)).await;
    s.patch_user(&users[2], active(true)).await;
    let refs = |ids: &[String]| -> Vec<Value> { ids.iter().map(|i| json!({"value": i})).collect() };
    // Entra: a group created with its members (group.created, then members_added).
    let eng = s
        .create_group(&json!({"displayName": "Eng", "members": refs(&users[..3])}))
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Okta: a PUT that renames and replaces the members (updated, added, removed).
    let put = json!({"displayName": "Engineering", "members": refs(&users[2..5])});
    let r = s
        .send(reqwest::Method::PUT, &format!("/Groups/{eng}"), Some(&put))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    // More than 1,000 members at once: two members_added events.
    let many: Vec<String> = futures::future::join_all((0..1001).map(|i| async move {
        let u = s
            .create_user(&okta_user(&format!("m{i}@x.com"), "M", "X"))
            .await;
        u.body["id"].as_str().unwrap().to_owned()
    }))
    .await;
    let all = s.create_group(&json!({"displayName": "All"})).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let add = json!([{"op": "add", "path": "members", "value": refs(&many)}]);
    assert_eq!(
        s.patch_group(&all, add).await.status,
        StatusCode::NO_CONTENT
    );
    // A group deleted with members (members_removed, then deleted); a user deleted
    // while in a group (no membership event); a member removed by filter.
    let doomed = s
        .create_group(&json!({"displayName": "Doomed", "members": refs(&users[..2])}))
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = s
        .send(reqwest::Method::DELETE, &format!("/Groups/{doomed}"), None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        s.delete_user(&users[3]).await.status,
        StatusCode::NO_CONTENT
    );
    let remove = json!([{"op": "remove", "path": format!("members[value eq \"{}\"]", users[4])}]);
    assert_eq!(
        s.patch_group(&eng, remove).await.status,
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn a_subscriber_starts_from_a_snapshot_taken_during_writes_and_misses_nothing() {
    use scim_events::subscriber::{self, Settings, Start};
    use std::sync::{Arc, Mutex};
    let sys = System::start().await;
    let s = sys.scim.clone();
    let dir = s.base_url.rsplit('/').next().unwrap().to_owned();
    let (users, group) = a_directory_that_existed_before_the_subscriber(&s).await;
    let loaded = a_snapshot_taken_during_writes(&sys, users, group).await;

    // From the snapshot and the stream after it, the same directory.
    let js = jetstream::new(scim_tests::NATS_SUBSCRIBER.connect(&sys.nats.url).await);
    let mut settings = Settings::new("bootstrapped");
    settings.filter = format!("scim.v1.{dir}.>");
    let start = Start::Snapshot {
        start_after_sequence: loaded.start_after_sequence,
        positions: loaded.positions,
    };
    let (consumer, mut positions) = subscriber::consumer(&js, &settings, start).await.unwrap();
    let copy = Arc::new(Mutex::new(loaded.copy));
    let (done, finished) = tokio::sync::oneshot::channel::<()>();
    let reader = {
        let copy = copy.clone();
        tokio::spawn(async move {
            subscriber::run(
                &consumer,
                &settings,
                &mut positions,
                async {
                    finished.await.ok();
                },
                |event| {
                    copy.lock().unwrap().apply(&event);
                    async { Ok(()) }
                },
            )
            .await
        })
    };
    the_copy_becomes_the_directory(&s, || Some(copy.lock().unwrap().clone())).await;
    let _ = done.send(());
    reader.await.unwrap().unwrap();
}

/// Users, one deleted, and a group of 40 of them: (the users, the group).
async fn a_directory_that_existed_before_the_subscriber(s: &Scim) -> (Vec<String>, String) {
    let refs = |ids: &[String]| -> Vec<Value> { ids.iter().map(|i| json!({"value": i})).collect() };
    let id = |r: &scim_tests::client::Reply| r.body["id"].as_str().unwrap().to_owned();
    let mut users = Vec::new();
    for i in 0..60 {
        users.push(id(&s
            .create_user(&okta_user(&format!("old{i}@x.com"), "O", "X"))
            .await));
    }
    let group = id(&s
        .create_group(&json!({"displayName": "Old", "members": refs(&users[..40])}))
        .await);
    s.delete_user(&users[0]).await;

    (users, group)
}

/// A snapshot taken while writes (users created and deleted, members added and
/// removed) keep coming before, during and after it: the snapshot as loaded.
async fn a_snapshot_taken_during_writes(
    sys: &System,
    users: Vec<String>,
    group: String,
) -> scim_events::snapshot::Loaded {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let s = &sys.scim;
    let dir = s.base_url.rsplit('/').next().unwrap().to_owned();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (s, stop) = (s.clone(), stop.clone());
        tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                let new = s
                    .create_user(&okta_user(&format!("new{i}@x.com"), "N", "X"))
                    .await;
                let new = new.body["id"].as_str().unwrap().to_owned();
                let add = json!([{"op": "add", "path": "members", "value": [{"value": new}]}]);
                s.patch_group(&group, add).await;
                let old = &users[1 + i % 50];
                let remove =
                    json!([{"op": "remove", "path": format!("members[value eq \"{old}\"]")}]);
                s.patch_group(&group, remove).await;
                if i % 7 == 3 {
                    s.delete_user(&users[1 + i % 50]).await;
                }
                i += 1;
            }
            i
        })
    };
    tokio::time::sleep(Duration::from_millis(400)).await;
    let snapshot = reqwest::Client::new()
        .get(format!(
            "{}/admin/v1/directories/{dir}/snapshot",
            sys.ingress.admin_url()
        ))
        .bearer_auth(scim_tests::process::OPERATOR_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(snapshot.headers()["content-type"], "application/x-ndjson");
    let text = snapshot.text().await.unwrap();
    let loaded = scim_events::snapshot::load(text.lines()).unwrap();
    assert!(loaded.start_after_sequence > 0);
    tokio::time::sleep(Duration::from_millis(400)).await;
    stop.store(true, Ordering::Relaxed);
    let rounds = writer.await.unwrap();
    assert!(rounds > 0, "no writes ran beside the snapshot");

    loaded
}

/// The crate's example as a subscribing service runs it: killed with `SIGKILL` and
/// started again it resumes from the copy and positions it kept; without them it starts
/// over (its durable consumer made anew) from the stream or from a snapshot; each time
/// its copy becomes the directory. Its consumer goes away an hour after it does.
#[tokio::test]
async fn the_rust_example_subscriber_survives_kills_and_lost_state() {
    let program = Program {
        command: vec![scim_tests::process::binary("examples/directory_copy").into()],
        durable: "directory-copy-example",
    };
    a_subscriber_keeps_the_directory_through_kills_and_lost_state(program).await;
}

/// The same of the subscriber in Python (examples/subscribers/python), written from
/// docs/events.md alone; `PYTHON_SUBSCRIBER` is the Python with its requirements
/// (scripts/test.sh makes it).
#[tokio::test]
async fn the_python_subscriber_survives_kills_and_lost_state() {
    let python = std::env::var("PYTHON_SUBSCRIBER")
        .expect("PYTHON_SUBSCRIBER: a python with examples/subscribers/python/requirements.txt (scripts/test.sh)");
    let program = Program {
        command: vec![
            python.into(),
            example_file("subscribers/python/directory_copy.py"),
        ],
        durable: "directory-copy-python",
    };
    a_subscriber_keeps_the_directory_through_kills_and_lost_state(program).await;
}

/// The same of the subscriber in TypeScript (examples/subscribers/typescript), written
/// from docs/events.md alone; `TYPESCRIPT_SUBSCRIBER` is its compiled script
/// (scripts/test.sh builds it).
#[tokio::test]
async fn the_typescript_subscriber_survives_kills_and_lost_state() {
    let script = std::env::var("TYPESCRIPT_SUBSCRIBER").expect(
        "TYPESCRIPT_SUBSCRIBER: examples/subscribers/typescript/dist/directory_copy.js, built (scripts/test.sh)",
    );
    let program = Program {
        command: vec!["node".into(), script.into()],
        durable: "directory-copy-typescript",
    };
    a_subscriber_keeps_the_directory_through_kills_and_lost_state(program).await;
}

/// `examples/<path>` of the repository.
fn example_file(path: &str) -> std::ffi::OsString {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples")
        .join(path)
        .into()
}

/// A subscriber program as it is started, and the durable consumer it uses.
struct Program {
    command: Vec<std::ffi::OsString>,
    durable: &'static str,
}

/// Every kind of change Okta and Entra make, then rounds of changes while it is down:
/// resumed from what it kept, started over from the stream and from a snapshot when
/// that is lost; its copy becomes the directory each time.
async fn a_subscriber_keeps_the_directory_through_kills_and_lost_state(program: Program) {
    let sys = System::start().await;
    let s = &sys.scim;
    let work = std::env::temp_dir().join(format!("scim-subscriber-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&work).unwrap();
    let subscriber = Subscriber::new(&sys, &work, program.command);
    let first = "starting from the stream's first event";

    let run = subscriber.start(None);
    every_kind_of_change_okta_and_entra_make(s).await;
    the_copy_becomes_the_directory(s, || subscriber.copy()).await;
    assert!(run.said(first), "not {first:?}");
    run.kill();

    let mut users = Vec::new();
    // Changes while it is down, whether its state is lost meanwhile, where it starts.
    for (round, lost, start) in [("b", false, "resuming from"), ("c", true, first)] {
        if lost {
            std::fs::remove_file(&subscriber.state).unwrap();
        }
        users = some_changes(s, round, &users).await;
        let run = subscriber.start(None);
        the_copy_becomes_the_directory(s, || subscriber.copy()).await;
        assert!(run.said(start), "round {round}: not {start:?}");
        run.kill();
    }

    std::fs::remove_file(&subscriber.state).unwrap();
    let snapshot = work.join("acme.ndjson");
    std::fs::write(&snapshot, sys.ctl.ok(&["directory", "snapshot"])).unwrap();
    let run = subscriber.start(Some(&snapshot));
    some_changes(s, "d", &users).await;
    the_copy_becomes_the_directory(s, || subscriber.copy()).await;
    assert!(run.said("starting from the snapshot"));

    let js = jetstream::new(scim_tests::NATS_SUBSCRIBER.connect(&sys.nats.url).await);
    let mut consumer = js
        .get_consumer_from_stream::<jetstream::consumer::pull::Config, _, _>(
            program.durable,
            scim_events::STREAM,
        )
        .await
        .unwrap();
    let info = consumer.info().await.unwrap();
    assert_eq!(info.config.inactive_threshold, Duration::from_secs(3600));
    drop(run);
    let _ = std::fs::remove_dir_all(&work);
}

/// Users created, one updated, one deactivated, one deleted, a group of `prefix` with
/// members added and one removed: the users that remain.
async fn some_changes(s: &Scim, prefix: &str, users: &[String]) -> Vec<String> {
    let mut users = users.to_vec();
    for i in 0..4 {
        let u = s
            .create_user(&okta_user(&format!("{prefix}{i}@x.com"), "U", "X"))
            .await;
        assert_eq!(u.status, StatusCode::CREATED);
        users.push(u.body["id"].as_str().unwrap().to_owned());
    }
    let active = json!([{"op": "replace", "value": {"active": false}}]);
    assert_eq!(s.patch_user(&users[1], active).await.status, StatusCode::OK);
    let renamed = okta_user(&format!("{prefix}-renamed@x.com"), "R", "X");
    let r = s.replace_user(&users[2], &renamed).await;
    assert_eq!(r.status, StatusCode::OK);
    let refs: Vec<Value> = users.iter().map(|u| json!({"value": u})).collect();
    let group = s
        .create_group(&json!({"displayName": prefix, "members": refs}))
        .await;
    let group = group.body["id"].as_str().unwrap().to_owned();
    let remove = json!([{"op": "remove", "path": format!("members[value eq \"{}\"]", users[0])}]);
    assert_eq!(
        s.patch_group(&group, remove).await.status,
        StatusCode::NO_CONTENT
    );
    let gone = users.pop().unwrap();
    assert_eq!(s.delete_user(&gone).await.status, StatusCode::NO_CONTENT);
    users
}

/// A subscriber's setup: its command, its state file and the environment it runs with.
struct Subscriber {
    command: Vec<std::ffi::OsString>,
    state: std::path::PathBuf,
    log: std::path::PathBuf,
    env: Vec<(&'static str, String)>,
}

/// A running example, killed (SIGKILL) when dropped.
struct Running {
    child: std::process::Child,
    log: std::path::PathBuf,
}

impl Subscriber {
    fn new(sys: &System, dir: &std::path::Path, command: Vec<std::ffi::OsString>) -> Subscriber {
        let user = &scim_tests::NATS_SUBSCRIBER;
        Subscriber {
            command,
            state: dir.join("directory-copy.json"),
            log: dir.join("example.log"),
            env: vec![
                ("NATS_URL", sys.nats.url.clone()),
                ("NATS_USER", user.user.to_owned()),
                ("NATS_PASSWORD", user.password.to_owned()),
                (
                    "DIRECTORY_COPY_STATE",
                    dir.join("directory-copy.json").display().to_string(),
                ),
                ("DIRECTORY_COPY_DIRECTORY", sys.dir.to_string()),
            ],
        }
    }

    fn start(&self, snapshot: Option<&std::path::Path>) -> Running {
        let log = std::fs::File::create(&self.log).unwrap();
        let mut command = std::process::Command::new(&self.command[0]);
        command
            .args(&self.command[1..])
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        if let Some(snapshot) = snapshot {
            command.env("DIRECTORY_COPY_SNAPSHOT", snapshot);
        }
        Running {
            child: command.spawn().unwrap(),
            log: self.log.clone(),
        }
    }

    /// The copy of the test's directory the example kept, if it kept one.
    fn copy(&self) -> Option<DirectoryCopy> {
        let state: Value = serde_json::from_slice(&std::fs::read(&self.state).ok()?).ok()?;
        let (_, copy) = state["copies"].as_object()?.iter().next()?;
        serde_json::from_value(copy.clone()).ok()
    }
}

impl Running {
    fn said(&self, line: &str) -> bool {
        std::fs::read_to_string(&self.log).is_ok_and(|log| log.contains(line))
    }

    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits until the copy `copy` gives equals the directory; the directory.
async fn the_copy_becomes_the_directory(
    s: &Scim,
    copy: impl Fn() -> Option<DirectoryCopy>,
) -> DirectoryCopy {
    let directory = directory_through_scim(s).await;
    eventually(
        Duration::from_secs(30),
        "the copy to equal the directory",
        || async {
            let copy = copy()?;
            (copy.users == directory.users && copy.groups == directory.groups).then_some(())
        },
    )
    .await;
    directory
}

/// A subscriber whose kept positions are behind what its consumer already delivered
/// (saved after the acknowledgement, or restored from an old backup) stops and says
/// which event never came, instead of holding its resource's events back forever.
#[tokio::test]
async fn a_subscriber_behind_its_consumer_stops_and_says_why() {
    use scim_events::subscriber::{self, Error, Settings, Start};
    let sys = System::start().await;
    let s = &sys.scim;
    let users = some_changes(s, "a", &[]).await;
    let js = jetstream::new(scim_tests::NATS_SUBSCRIBER.connect(&sys.nats.url).await);
    let mut settings = Settings::new("behind");
    settings.filter = format!("scim.v1.{}.>", sys.dir);
    settings.hold_back = Duration::from_millis(100);
    settings.gap_timeout = Duration::from_secs(2);

    // Everything delivered and acknowledged, up to the last user's deletion.
    let (consumer, mut positions) = subscriber::consumer(&js, &settings, Start::Nothing)
        .await
        .unwrap();
    let (deleted, stop) = tokio::sync::oneshot::channel::<()>();
    let mut deleted = Some(deleted);
    let stop = async {
        stop.await.ok();
    };
    subscriber::run(&consumer, &settings, &mut positions, stop, |event| {
        if event.type_is("user.deleted") {
            deleted.take().map(|d| d.send(()));
        }
        async { Ok(()) }
    })
    .await
    .unwrap();

    // Started again with positions that know none of it.
    let mut behind = scim_events::Positions::new();
    behind.seed((scim_events::ResourceType::Directory, sys.dir), 1);
    let (consumer, mut positions) = subscriber::consumer(&js, &settings, Start::Kept(behind))
        .await
        .unwrap();
    let patch = json!([{"op": "replace", "value": {"name": {"givenName": "Later"}}}]);
    assert_eq!(s.patch_user(&users[0], patch).await.status, StatusCode::OK);
    let never = std::future::pending::<()>();
    let stopped = tokio::time::timeout(
        Duration::from_secs(30),
        subscriber::run(&consumer, &settings, &mut positions, never, |_| async {
            Ok(())
        }),
    )
    .await
    .expect("the subscriber still waiting after 30 s");
    match stopped {
        Err(Error::Gap {
            resource, expected, ..
        }) => {
            assert_eq!(resource.1.to_string(), users[0]);
            assert_eq!(expected, 1);
        }
        other => panic!("{other:?}"),
    }
}
