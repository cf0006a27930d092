//! End to end: the real `ingress` and `worker` binaries, a real nats-server and a fresh
//! Postgres database per test. SCIM requests go in; member records come out.

use async_nats::jetstream;
use reqwest::StatusCode;
use scim_admin_api::DeadLetter;
use scim_events::{DEAD_LETTER_STREAM, STREAM};
use scim_tests::client::{OKTA_USER_LIFECYCLE, Scim, okta_user};
use scim_tests::scimctl::Scimctl;
use scim_tests::system::System;
use scim_tests::{TestDb, eventually, metric, read_stream};
use serde_json::{Value, json};
use std::time::Duration;
use uuid::Uuid;

/// (status, scim_version) of the member provisioned from `user_id`.
async fn member(db: &TestDb, user_id: &str) -> Option<(String, i64)> {
    sqlx::query_as("SELECT status, scim_version FROM members WHERE scim_user_id = $1::uuid")
        .bind(user_id)
        .fetch_optional(&db.pool)
        .await
        .unwrap()
}

async fn member_reaches(db: &TestDb, user_id: &str, status: &str, version: i64) {
    let want = (status.to_owned(), version);
    eventually(
        Duration::from_secs(20),
        &format!("member {user_id} to be {status} at v{version}"),
        || async { (member(db, user_id).await.as_ref() == Some(&want)).then_some(()) },
    )
    .await;
}

#[tokio::test]
async fn okta_user_lifecycle_reaches_the_member_records() {
    let sys = System::start().await;
    let s = &sys.scim;
    for service in [&sys.ingress, &sys.worker] {
        for (path, answer) in [("/healthz", "ok"), ("/readyz", "ready")] {
            let res = reqwest::get(format!("{}{path}", service.base_url()))
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::OK, "{path}");
            assert_eq!(res.text().await.unwrap(), answer);
        }
    }
    assert_eq!(
        s.find_users(r#"userName eq "kim@example.com""#).await.body["totalResults"],
        0
    );
    let created = s
        .create_user(&okta_user("kim@example.com", "Kim", "Lee"))
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let id = created.body["id"].as_str().unwrap().to_owned();
    member_reaches(&sys.db, &id, "active", 1).await;

    assert_eq!(
        s.find_users(r#"userName eq "KIM@EXAMPLE.COM""#).await.body["Resources"][0]["id"],
        id.as_str()
    );
    assert_eq!(s.get_user(&id).await.status, StatusCode::OK);
    let put = s
        .replace_user(&id, &okta_user("kim@example.com", "Kim", "Park"))
        .await;
    assert_eq!(put.status, StatusCode::OK);
    member_reaches(&sys.db, &id, "active", 2).await;
    let family: Option<String> =
        sqlx::query_scalar("SELECT family_name FROM members WHERE scim_user_id = $1::uuid")
            .bind(&id)
            .fetch_one(&sys.db.pool)
            .await
            .unwrap();
    assert_eq!(family.as_deref(), Some("Park"));

    s.patch_user(&id, json!([{"op": "replace", "value": {"active": false}}]))
        .await;
    member_reaches(&sys.db, &id, "deactivated", 3).await;
    s.patch_user(&id, json!([{"op": "replace", "value": {"active": true}}]))
        .await;
    member_reaches(&sys.db, &id, "active", 4).await;
    let dup = s.create_user(&okta_user("Kim@Example.com", "K", "L")).await;
    assert_eq!(
        (dup.status.as_u16(), dup.body["scimType"].as_str()),
        (409, Some("uniqueness"))
    );
    assert_eq!(s.delete_user(&id).await.status, StatusCode::NO_CONTENT);
    member_reaches(&sys.db, &id, "removed", 5).await;

    // SIGTERM: both services stop cleanly.
    let System {
        ingress, worker, ..
    } = sys;
    assert!(ingress.terminate(), "the ingress exits 0 on SIGTERM");
    assert!(worker.terminate(), "the worker exits 0 on SIGTERM");
}

#[tokio::test]
async fn published_events_match_the_documented_json_schema() {
    let sys = System::start().await;
    let s = &sys.scim;
    let id = s
        .create_user(&okta_user("ann@example.com", "Ann", "Ng"))
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    s.patch_user(
        &id,
        json!([{"op": "add", "path": "title", "value": "Engineer"}]),
    )
    .await;
    s.patch_user(&id, json!([{"op": "replace", "value": {"active": false}}]))
        .await;
    s.patch_user(&id, json!([{"op": "replace", "value": {"active": true}}]))
        .await;
    s.delete_user(&id).await;

    let validator = scim_tests::event_schema();
    let mut types = Vec::new();
    for received in read_stream(&sys.nats.url, STREAM, 5).await {
        let event = received.payload;
        let errors: Vec<String> = validator
            .iter_errors(&event)
            .map(|e| e.to_string())
            .collect();
        assert!(
            errors.is_empty(),
            "event {event} violates the schema: {errors:?}"
        );
        if event["type"] == "user.updated" {
            assert_eq!(event["previous"], json!({"title": null}));
        }
        types.push(event["type"].as_str().unwrap().to_owned());
    }
    assert_eq!(types, OKTA_USER_LIFECYCLE);
    // The schema is not vacuous: a broken event fails it.
    assert!(!validator.is_valid(&json!({"id": "x", "type": "user.created"})));
}

#[tokio::test]
async fn a_nats_outage_during_writes_loses_no_event() {
    let mut sys = System::start().await;
    let s = sys.scim.clone();
    let before = s
        .create_user(&okta_user("before@x.com", "B", "X"))
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    member_reaches(&sys.db, &before, "active", 1).await;

    sys.nats.stop();
    let mut ids = Vec::new();
    for i in 0..25 {
        let r = s
            .create_user(&okta_user(&format!("during{i}@x.com"), "D", "X"))
            .await;
        assert_eq!(
            r.status,
            StatusCode::CREATED,
            "the identity provider is answered while NATS is down"
        );
        ids.push(r.body["id"].as_str().unwrap().to_owned());
    }
    let off = s
        .patch_user(
            &before,
            json!([{"op": "replace", "value": {"active": false}}]),
        )
        .await;
    assert_eq!(off.status, StatusCode::OK);
    sys.nats.resume();

    for id in &ids {
        member_reaches(&sys.db, id, "active", 1).await;
    }
    member_reaches(&sys.db, &before, "deactivated", 2).await;
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM members")
        .fetch_one(&sys.db.pool)
        .await
        .unwrap();
    assert_eq!(count, 26);
}

#[tokio::test]
async fn an_event_that_always_fails_is_dead_lettered_and_the_stream_keeps_flowing() {
    let sys = System::start_with(&[], &[("WORKER_MAX_ATTEMPTS", "2")]).await;
    // As the relay would, with a bug: only its user may publish events.
    let js = jetstream::new(scim_tests::NATS_INGRESS.connect(&sys.nats.url).await);
    // An event the worker can never apply: the database refuses its member record as
    // it refuses a value too long for its index (which was once retried forever).
    sys.db.refuse_member("poison@x.com", "54000").await;
    let r = sys
        .scim
        .create_user(&okta_user("poison@x.com", "P", "X"))
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let poison = r.body["id"].as_str().unwrap().to_owned();
    js.publish(
        format!("scim.v1.{}.user.created", Uuid::new_v4()),
        "not json".into(),
    )
    .await
    .unwrap()
    .await
    .unwrap();

    let id = sys
        .scim
        .create_user(&okta_user("after@x.com", "A", "X"))
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    member_reaches(&sys.db, &id, "active", 1).await;

    both_are_dead_lettered_with_their_reasons(&sys).await;
    the_fixed_one_is_replayed_once_and_applied(&sys, &poison).await;
    the_workers_metrics_tell_the_same_story(&sys).await;
}

/// A malformed event is dead-lettered at once; a failing one after the attempt limit.
async fn both_are_dead_lettered_with_their_reasons(sys: &System) {
    let mut reasons: Vec<(i64, String)> = read_stream(&sys.nats.url, DEAD_LETTER_STREAM, 2)
        .await
        .into_iter()
        .map(|letter| {
            assert!(
                letter.subject.starts_with("scim.dlq.member-sync.v1."),
                "{}",
                letter.subject
            );
            (
                letter.payload["attempts"].as_i64().unwrap(),
                letter.payload["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    reasons.sort();
    assert_eq!(
        reasons[0].0, 1,
        "a malformed event is dead-lettered at once"
    );
    assert!(reasons[0].1.contains("malformed"), "{reasons:?}");
    assert_eq!(reasons[1].0, 2, "a failing event after the attempt limit");
    assert!(reasons[1].1.contains("refused by the test"), "{reasons:?}");
}

/// Once the cause is fixed, the refused event is replayed through the admin API and
/// applied, once; the malformed one stays.
async fn the_fixed_one_is_replayed_once_and_applied(sys: &System, poison: &str) {
    // The deployment's dead letters, not a directory's.
    let ctl = Scimctl::new(sys.ingress.admin_url());
    let letters: Vec<DeadLetter> = ctl.json(&["dead-letters", "list"]);
    assert_eq!(letters.len(), 2);
    let refused = letters
        .iter()
        .find(|l| l.reason.contains("refused by the test"))
        .unwrap();
    assert_eq!(refused.event_type.as_deref(), Some("user.created"));
    sqlx::query("DROP TRIGGER refuse_members_54000 ON members")
        .execute(&sys.db.pool)
        .await
        .unwrap();
    let seq = refused.seq.to_string();
    ctl.ok(&["dead-letters", "replay", "--seq", &seq]);
    member_reaches(&sys.db, poison, "active", 1).await;
    assert_eq!(
        scim_tests::stream_len(&sys.nats.url, DEAD_LETTER_STREAM).await,
        1
    );
    assert!(
        ctl.run(&["dead-letters", "replay", "--seq", &seq]).is_err(),
        "replayed once"
    );
}

async fn the_workers_metrics_tell_the_same_story(sys: &System) {
    let text = eventually(Duration::from_secs(15), "the worker's counts", || async {
        let text = sys.worker.metrics().await;
        (metric(&text, "scim_worker_events_dead_lettered_total") == Some(2.0)).then_some(text)
    })
    .await;
    assert_eq!(
        metric(&text, "scim_worker_events_dead_lettered_total"),
        Some(2.0),
        "{text}"
    );
    assert!(
        metric(&text, "scim_worker_events_retried_total") >= Some(1.0),
        "{text}"
    );
    assert!(
        metric(&text, "scim_worker_events_applied_total") >= Some(1.0),
        "{text}"
    );
    assert!(
        metric(&text, "scim_worker_batch_duration_seconds_count") >= Some(1.0),
        "{text}"
    );
}

#[tokio::test]
async fn a_database_outage_delays_events_without_losing_or_dead_lettering_them() {
    let sys = System::start_with(&[], &[("WORKER_MAX_ATTEMPTS", "2")]).await;
    let s = &sys.scim;
    let first = s
        .create_user(&okta_user("first@x.com", "F", "X"))
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    member_reaches(&sys.db, &first, "active", 1).await;

    // Events reach the stream while the worker is frozen...
    sys.worker.freeze(true);
    let mut ids = Vec::new();
    for i in 0..10 {
        ids.push(
            s.create_user(&okta_user(&format!("o{i}@x.com"), "O", "X"))
                .await
                .body["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    eventually(Duration::from_secs(10), "the outbox to drain", || async {
        let left: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox")
            .fetch_one(&sys.db.pool)
            .await
            .ok()?;
        (left == 0).then_some(())
    })
    .await;
    // ...and the database is gone when it thaws: every attempt fails for a while,
    // well past the attempt limit.
    sys.db.refuse_connections(true).await;
    sys.worker.freeze(false);
    tokio::time::sleep(Duration::from_secs(3)).await;
    sys.db.refuse_connections(false).await;

    for id in &ids {
        member_reaches(&sys.db, id, "active", 1).await;
    }
    assert_eq!(
        scim_tests::stream_len(&sys.nats.url, DEAD_LETTER_STREAM).await,
        0,
        "an outage never dead-letters an event"
    );
}

#[tokio::test]
async fn only_the_relay_publishes_events_and_a_subscriber_only_reads_its_own() {
    let sys = System::start().await;
    let r = sys.scim.create_user(&okta_user("a@x.com", "A", "X")).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let id = r.body["id"].as_str().unwrap().to_owned();
    member_reaches(&sys.db, &id, "active", 1).await;
    // A subscriber reads the events, through a consumer of its own.
    let read = read_stream(&sys.nats.url, STREAM, 1).await;
    assert_eq!(read[0].payload["resource_id"], id.as_str());

    // Neither a subscriber nor the worker can put an event into the stream.
    let forged = format!("scim.v1.{}.user.deleted", Uuid::now_v7());
    for user in [scim_tests::NATS_SUBSCRIBER, scim_tests::NATS_WORKER] {
        let mut js = jetstream::new(user.connect(&sys.nats.url).await);
        js.set_timeout(Duration::from_secs(2));
        let published = match js.publish(forged.clone(), "{}".into()).await {
            Ok(ack) => ack.await.is_ok(),
            Err(_) => false,
        };
        assert!(!published, "{} published an event", user.user);
    }
    assert_eq!(scim_tests::stream_len(&sys.nats.url, STREAM).await, 1);

    // A subscriber cannot touch the worker's consumer, and nobody gets in unnamed.
    let mut js = jetstream::new(scim_tests::NATS_SUBSCRIBER.connect(&sys.nats.url).await);
    js.set_timeout(Duration::from_secs(2));
    assert!(
        js.get_consumer_from_stream::<jetstream::consumer::pull::Config, _, _>(
            "member-sync",
            STREAM
        )
        .await
        .is_err()
    );
    let anonymous = async_nats::ConnectOptions::new()
        .connect(sys.nats.url.as_str())
        .await;
    assert!(anonymous.is_err(), "a client without credentials connected");
}

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
    let consumer = eventually(Duration::from_secs(20), "the consumer", || {
        let (js, settings) = (js.clone(), settings.clone());
        async move { subscriber::consumer(&js, &settings).await.ok() }
    })
    .await;
    let copy = Arc::new(Mutex::new(DirectoryCopy::default()));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let reader = {
        let copy = copy.clone();
        let mut failed_once = false;
        tokio::spawn(async move {
            let mut positions = scim_events::Positions::new();
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

    let directory = directory_through_scim(s).await;
    assert_eq!(directory.users.len(), 1006);
    eventually(
        Duration::from_secs(30),
        "the copy to equal the directory",
        || async {
            let copy = copy.lock().unwrap();
            (copy.users == directory.users && copy.groups == directory.groups).then_some(())
        },
    )
    .await;
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
    use async_nats::jetstream::consumer::DeliverPolicy;
    use scim_events::subscriber::{self, Settings};
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
    settings.deliver = DeliverPolicy::ByStartSequence {
        start_sequence: loaded.start_after_sequence + 1,
    };
    let consumer = subscriber::consumer(&js, &settings).await.unwrap();
    let copy = Arc::new(Mutex::new(loaded.copy));
    let (done, finished) = tokio::sync::oneshot::channel::<()>();
    let reader = {
        let copy = copy.clone();
        let mut positions = loaded.positions;
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
    let directory = directory_through_scim(&s).await;
    eventually(
        Duration::from_secs(30),
        "the copy to equal the directory",
        || async {
            let copy = copy.lock().unwrap();
            (copy.users == directory.users && copy.groups == directory.groups).then_some(())
        },
    )
    .await;
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
