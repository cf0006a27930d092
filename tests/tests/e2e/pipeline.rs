//! End to end: the real `ingress` and `worker` binaries, a real nats-server and a fresh
//! Postgres database per test. SCIM requests go in; member records come out.

use async_nats::jetstream;
use reqwest::StatusCode;
use scim_admin_api::DeadLetter;
use scim_events::{DEAD_LETTER_STREAM, STREAM};
use scim_tests::client::{OKTA_USER_LIFECYCLE, okta_user};
use scim_tests::scimctl::Scimctl;
use scim_tests::system::System;
use scim_tests::{TestDb, eventually, metric, read_stream};
use serde_json::json;
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
    let total = scim_tests::stream_len(&sys.nats.url, STREAM).await;
    let stream = read_stream(&sys.nats.url, STREAM, total).await;
    assert!(
        stream.iter().all(|e| e.subject != forged),
        "the forged event is not in the stream"
    );

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
