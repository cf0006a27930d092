//! The worker's effect on member records, one event at a time, against a real database.
//! Changes are made through the real ingress, as an identity provider makes them, and
//! each event is taken from the stream it was published to.

use reqwest::StatusCode;
use scim_events::{Action, Event, ResourceType, STREAM};
use scim_tests::client::Scim;
use scim_tests::process::Service;
use scim_tests::{NatsServer, TestDb, eventually, read_stream, stream_len};
use serde_json::{Value, json};
use sqlx::Row;
use std::time::Duration;
use uuid::Uuid;
use worker::consumer::{HandleError, handle};

/// The ingress process with its database and NATS server: where the events come from.
struct Ingress {
    db: TestDb,
    nats: NatsServer,
    service: Service,
}

impl Ingress {
    async fn start() -> Ingress {
        let db = TestDb::new().await;
        let nats = NatsServer::start();
        let service = Service::ingress(&db.url, &nats.url);
        Ingress { db, nats, service }
    }

    /// A new directory, and a SCIM client holding its token.
    async fn directory(&self, name: &str) -> (Uuid, Scim) {
        let (dir, token) = self.db.directory(name).await;
        let base = format!("{}/scim/v2/{dir}", self.service.base_url());
        (dir, Scim::new(base, token))
    }

    /// The event the ingress published for `user` at `version`, as published.
    async fn event(&self, user: Uuid, version: i64) -> Vec<u8> {
        let what = format!("the event of user {user} at version {version}");
        eventually(Duration::from_secs(15), &what, || async {
            let published = stream_len(&self.nats.url, STREAM).await;
            read_stream(&self.nats.url, STREAM, published)
                .await
                .into_iter()
                .map(|m| m.payload)
                .find(|e| e["resource_id"] == user.to_string() && e["resource_version"] == version)
                .map(|e| serde_json::to_vec(&e).expect("an event serializes"))
        })
        .await
    }
}

/// The user's version, from its representation.
fn version(resource: &Value) -> i64 {
    resource["meta"]["version"]
        .as_str()
        .and_then(|v| v.trim_start_matches("W/").trim_matches('"').parse().ok())
        .expect("a versioned resource")
}

/// Creates (no `id`), replaces (`id` and `body`) or deletes (`id` alone) a user through
/// the ingress; returns the user id and the event the change published.
async fn change(
    ingress: &Ingress,
    scim: &Scim,
    id: Option<Uuid>,
    body: Option<Value>,
) -> (Uuid, Vec<u8>) {
    let (id, version) = match (id, body) {
        (None, Some(body)) => {
            let r = scim.create_user(&body).await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
            let id = r.body["id"].as_str().and_then(|i| Uuid::try_parse(i).ok());
            (id.expect("an id"), version(&r.body))
        }
        (Some(id), Some(body)) => {
            let r = scim.replace_user(&id.to_string(), &body).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
            (id, version(&r.body))
        }
        (Some(id), None) => {
            let last = version(&scim.get_user(&id.to_string()).await.body);
            let r = scim.delete_user(&id.to_string()).await;
            assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
            (id, last + 1)
        }
        (None, None) => unreachable!("a change is a create, a replace or a delete"),
    };
    (id, ingress.event(id, version).await)
}

#[derive(Debug, PartialEq)]
struct Member {
    email: Option<String>,
    display_name: Option<String>,
    status: String,
    version: i64,
}

async fn member(db: &TestDb, user: Uuid) -> Option<Member> {
    sqlx::query(
        "SELECT email, display_name, status, scim_version FROM members WHERE scim_user_id = $1",
    )
    .bind(user)
    .fetch_optional(&db.pool)
    .await
    .unwrap()
    .map(|r| Member {
        email: r.get(0),
        display_name: r.get(1),
        status: r.get(2),
        version: r.get(3),
    })
}

fn jane(active: bool, display: &str) -> serde_json::Value {
    json!({"userName": "jane@x.com", "displayName": display, "active": active, "emails": [{"value": "jane@x.com", "primary": true}]})
}

#[tokio::test]
async fn creates_updates_deactivates_and_removes_the_member() {
    let ingress = Ingress::start().await;
    let db = &ingress.db;
    let (_, scim) = ingress.directory("acme").await;
    let (id, created) = change(&ingress, &scim, None, Some(jane(true, "Jane"))).await;
    handle(&db.pool, &created).await.unwrap();
    assert_eq!(
        member(db, id).await,
        Some(Member {
            email: Some("jane@x.com".into()),
            display_name: Some("Jane".into()),
            status: "active".into(),
            version: 1
        })
    );
    let (_, deactivated) = change(&ingress, &scim, Some(id), Some(jane(false, "Jane"))).await;
    handle(&db.pool, &deactivated).await.unwrap();
    assert_eq!(member(db, id).await.unwrap().status, "deactivated");
    let (_, reactivated) = change(&ingress, &scim, Some(id), Some(jane(true, "Jane R"))).await;
    handle(&db.pool, &reactivated).await.unwrap();
    assert_eq!(
        member(db, id).await.unwrap().display_name.as_deref(),
        Some("Jane R")
    );
    let (_, deleted) = change(&ingress, &scim, Some(id), None).await;
    handle(&db.pool, &deleted).await.unwrap();
    assert_eq!(
        member(db, id).await,
        Some(Member {
            email: Some("jane@x.com".into()),
            display_name: None,
            status: "removed".into(),
            version: 4
        }),
        "a tombstone keeps the email it was known by, nothing else"
    );
}

#[tokio::test]
async fn a_duplicate_delivery_changes_nothing() {
    let ingress = Ingress::start().await;
    let db = &ingress.db;
    let (_, scim) = ingress.directory("acme").await;
    let (id, created) = change(&ingress, &scim, None, Some(jane(true, "Jane"))).await;
    handle(&db.pool, &created).await.unwrap();
    let stamp = || async {
        sqlx::query_scalar::<_, time::OffsetDateTime>(
            "SELECT updated_at FROM members WHERE scim_user_id = $1",
        )
        .bind(id)
        .fetch_one(&db.pool)
        .await
        .unwrap()
    };
    let before = stamp().await;
    handle(&db.pool, &created).await.unwrap();
    handle(&db.pool, &created).await.unwrap();
    assert_eq!(stamp().await, before, "the row was not rewritten");
    assert_eq!(member(db, id).await.unwrap().version, 1);
}

#[tokio::test]
async fn a_late_event_never_undoes_a_newer_deactivation_or_deletion() {
    let ingress = Ingress::start().await;
    let db = &ingress.db;
    let (_, scim) = ingress.directory("acme").await;
    let (id, created) = change(&ingress, &scim, None, Some(jane(true, "Jane"))).await;
    let (_, renamed) = change(&ingress, &scim, Some(id), Some(jane(true, "Jane Updated"))).await;
    let (_, deactivated) =
        change(&ingress, &scim, Some(id), Some(jane(false, "Jane Updated"))).await;
    // Delivered newest first.
    handle(&db.pool, &deactivated).await.unwrap();
    handle(&db.pool, &renamed).await.unwrap();
    handle(&db.pool, &created).await.unwrap();
    let m = member(db, id).await.unwrap();
    assert_eq!((m.status.as_str(), m.version), ("deactivated", 3));

    let (_, deleted) = change(&ingress, &scim, Some(id), None).await;
    handle(&db.pool, &deleted).await.unwrap();
    for late in [&created, &renamed, &deactivated] {
        handle(&db.pool, late).await.unwrap();
    }
    assert_eq!(
        member(db, id).await.unwrap().status,
        "removed",
        "no resurrection"
    );
}

#[tokio::test]
async fn malformed_events_are_poison_and_database_refusals_are_failures() {
    let ingress = Ingress::start().await;
    let db = &ingress.db;
    assert!(matches!(
        handle(&db.pool, b"{not an event").await,
        Err(HandleError::Poison(_))
    ));
    // An event whose data the database refuses fails (retried up to the attempt
    // limit, then dead-lettered), whatever the refusal: a constraint, a value too long
    // for its index, a malformed value. Only an outage is transient.
    let (_, scim) = ingress.directory("acme").await;
    for (sqlstate, failed) in [
        ("23514", true),
        ("54000", true),
        ("22001", true),
        ("57P01", false),
        ("53300", false),
    ] {
        let email = format!("poison-{sqlstate}@x.com");
        db.refuse_member(&email, sqlstate).await;
        let user = json!({"userName": email, "emails": [{"value": email}]});
        let (_, event) = change(&ingress, &scim, None, Some(user)).await;
        let err = handle(&db.pool, &event).await.unwrap_err();
        match failed {
            true => assert!(matches!(err, HandleError::Failed(_)), "{sqlstate}: {err:?}"),
            false => assert!(
                matches!(err, HandleError::Transient(_)),
                "{sqlstate}: {err:?}"
            ),
        }
    }
}

#[tokio::test]
async fn events_of_a_deleted_directory_apply_and_write_nothing() {
    let db = TestDb::new().await;
    let orphan = Event::new(
        Uuid::new_v4(),
        ResourceType::User,
        Uuid::new_v4(),
        Action::Deleted,
        2,
        json!({}),
        None,
    );
    handle(&db.pool, &serde_json::to_vec(&orphan).unwrap())
        .await
        .expect("nothing to do is not a failure");
    let members: i64 = sqlx::query_scalar("SELECT count(*) FROM members")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(members, 0);
}

#[tokio::test]
async fn a_batch_applies_the_newest_state_of_every_user_it_touches() {
    let ingress = Ingress::start().await;
    let db = &ingress.db;
    let (dir, scim) = ingress.directory("acme").await;
    let (other_dir, other) = ingress.directory("other").await;
    let (a, _) = change(&ingress, &scim, None, Some(jane(true, "A"))).await;
    change(&ingress, &scim, Some(a), Some(jane(false, "A"))).await;
    let (b, _) = change(
        &ingress,
        &scim,
        None,
        Some(json!({"userName": "b@x.com", "emails": [{"value": "b@x.com"}]})),
    )
    .await;
    change(&ingress, &scim, Some(b), None).await;
    let (c, _) = change(&ingress, &other, None, Some(jane(true, "C"))).await;

    let t = |directory, user, version| scim_product::members::Touched {
        directory,
        user,
        version,
    };
    // Repeated and out-of-order entries, as a redelivered batch would carry them.
    let batch = [
        t(dir, a, 2),
        t(dir, a, 1),
        t(dir, b, 1),
        t(dir, b, 2),
        t(other_dir, c, 1),
        t(dir, a, 2),
    ];
    assert_eq!(
        scim_product::sync::apply_users(&mut db.pool.acquire().await.unwrap(), &batch)
            .await
            .unwrap(),
        3
    );
    assert_eq!(
        member(db, a).await.map(|m| (m.status, m.version)),
        Some(("deactivated".into(), 2))
    );
    assert_eq!(
        member(db, b).await.map(|m| (m.status, m.version)),
        Some(("removed".into(), 2))
    );
    assert_eq!(
        member(db, c).await.map(|m| (m.status, m.version)),
        Some(("active".into(), 1))
    );
    assert_eq!(
        scim_product::sync::apply_users(&mut db.pool.acquire().await.unwrap(), &batch)
            .await
            .unwrap(),
        0,
        "applying the same batch again writes nothing"
    );
}
