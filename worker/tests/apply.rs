//! The worker's effect on member records, one event at a time, against a real database.
//! Events come from the real outbox, as the ingress wrote them.

use scim_core::user::User;
use scim_events::{Action, Event, ResourceType, previous};
use scim_store::users::{self, StoredUser};
use scim_tests::TestDb;
use serde_json::json;
use sqlx::Row;
use uuid::Uuid;
use worker::consumer::{HandleError, handle};

/// Makes a change the way the ingress does (row and outbox event in one statement)
/// and returns the user id and the event's payload.
async fn change(
    db: &TestDb,
    dir: Uuid,
    id: Option<Uuid>,
    body: Option<serde_json::Value>,
) -> (Uuid, Vec<u8>) {
    let event = match (id, body) {
        (None, Some(body)) => {
            let new = StoredUser::new(User::from_request(body).unwrap());
            let event = Event::new(
                dir,
                ResourceType::User,
                new.id,
                Action::Created,
                new.version,
                json!({}),
                None,
            );
            let row = users::UserWrite {
                directory_id: dir,
                user: &new,
                event: &event,
            };
            assert_eq!(users::insert_many(&db.pool, &[row]).await.unwrap(), [true]);
            event
        }
        (Some(id), Some(body)) => {
            let before = users::get(&db.pool, dir, id).await.unwrap().unwrap();
            let next = before.next(User::from_request(body).unwrap());
            let action = Action::for_update(before.user.active(), next.user.active());
            let previous = previous(
                (before.user.attrs(), before.user.schemas()),
                (next.user.attrs(), next.user.schemas()),
            );
            let event = Event::new(
                dir,
                ResourceType::User,
                id,
                action,
                next.version,
                json!({}),
                Some(previous),
            );
            let row = users::UserWrite {
                directory_id: dir,
                user: &next,
                event: &event,
            };
            assert_eq!(users::update_many(&db.pool, &[row]).await.unwrap(), [true]);
            event
        }
        (Some(id), None) => {
            let last = users::get(&db.pool, dir, id).await.unwrap().unwrap();
            let event = Event::new(
                dir,
                ResourceType::User,
                id,
                Action::Deleted,
                last.version + 1,
                json!({}),
                None,
            );
            let mut conn = db.pool.acquire().await.unwrap();
            assert!(
                users::delete(&mut conn, dir, id, last.version, &event)
                    .await
                    .unwrap()
            );
            event
        }
        (None, None) => unreachable!(),
    };
    (event.resource_id, serde_json::to_vec(&event).unwrap())
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
    let db = TestDb::new().await;
    let (dir, _) = db.directory("acme").await;
    let (id, created) = change(&db, dir, None, Some(jane(true, "Jane"))).await;
    handle(&db.pool, &created).await.unwrap();
    assert_eq!(
        member(&db, id).await,
        Some(Member {
            email: Some("jane@x.com".into()),
            display_name: Some("Jane".into()),
            status: "active".into(),
            version: 1
        })
    );
    let (_, deactivated) = change(&db, dir, Some(id), Some(jane(false, "Jane"))).await;
    handle(&db.pool, &deactivated).await.unwrap();
    assert_eq!(member(&db, id).await.unwrap().status, "deactivated");
    let (_, reactivated) = change(&db, dir, Some(id), Some(jane(true, "Jane R"))).await;
    handle(&db.pool, &reactivated).await.unwrap();
    assert_eq!(
        member(&db, id).await.unwrap().display_name.as_deref(),
        Some("Jane R")
    );
    let (_, deleted) = change(&db, dir, Some(id), None).await;
    handle(&db.pool, &deleted).await.unwrap();
    assert_eq!(
        member(&db, id).await,
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
    let db = TestDb::new().await;
    let (dir, _) = db.directory("acme").await;
    let (id, created) = change(&db, dir, None, Some(jane(true, "Jane"))).await;
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
    assert_eq!(member(&db, id).await.unwrap().version, 1);
}

#[tokio::test]
async fn a_late_event_never_undoes_a_newer_deactivation_or_deletion() {
    let db = TestDb::new().await;
    let (dir, _) = db.directory("acme").await;
    let (id, created) = change(&db, dir, None, Some(jane(true, "Jane"))).await;
    let (_, renamed) = change(&db, dir, Some(id), Some(jane(true, "Jane Updated"))).await;
    let (_, deactivated) = change(&db, dir, Some(id), Some(jane(false, "Jane Updated"))).await;
    // Delivered newest first.
    handle(&db.pool, &deactivated).await.unwrap();
    handle(&db.pool, &renamed).await.unwrap();
    handle(&db.pool, &created).await.unwrap();
    let m = member(&db, id).await.unwrap();
    assert_eq!((m.status.as_str(), m.version), ("deactivated", 3));

    let (_, deleted) = change(&db, dir, Some(id), None).await;
    handle(&db.pool, &deleted).await.unwrap();
    for late in [&created, &renamed, &deactivated] {
        handle(&db.pool, late).await.unwrap();
    }
    assert_eq!(
        member(&db, id).await.unwrap().status,
        "removed",
        "no resurrection"
    );
}

#[tokio::test]
async fn malformed_events_are_poison_and_database_refusals_are_failures() {
    let db = TestDb::new().await;
    assert!(matches!(
        handle(&db.pool, b"{not an event").await,
        Err(HandleError::Poison(_))
    ));
    // An event whose data the database refuses fails (retried up to the attempt
    // limit, then dead-lettered), whatever the refusal: a constraint, a value too long
    // for its index, a malformed value. Only an outage is transient.
    let (dir, _) = db.directory("acme").await;
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
        let (_, event) = change(&db, dir, None, Some(user)).await;
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
    let db = TestDb::new().await;
    let (dir, _) = db.directory("acme").await;
    let (other_dir, _) = db.directory("other").await;
    let (a, _) = change(&db, dir, None, Some(jane(true, "A"))).await;
    change(&db, dir, Some(a), Some(jane(false, "A"))).await;
    let (b, _) = change(
        &db,
        dir,
        None,
        Some(json!({"userName": "b@x.com", "emails": [{"value": "b@x.com"}]})),
    )
    .await;
    change(&db, dir, Some(b), None).await;
    let (c, _) = change(&db, other_dir, None, Some(jane(true, "C"))).await;

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
        scim_product::members::apply_users(&db.pool, &batch)
            .await
            .unwrap(),
        3
    );
    assert_eq!(
        member(&db, a).await.map(|m| (m.status, m.version)),
        Some(("deactivated".into(), 2))
    );
    assert_eq!(
        member(&db, b).await.map(|m| (m.status, m.version)),
        Some(("removed".into(), 2))
    );
    assert_eq!(
        member(&db, c).await.map(|m| (m.status, m.version)),
        Some(("active".into(), 1))
    );
    assert_eq!(
        scim_product::members::apply_users(&db.pool, &batch)
            .await
            .unwrap(),
        0,
        "applying the same batch again writes nothing"
    );
}
