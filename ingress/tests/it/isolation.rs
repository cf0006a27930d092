//! One directory cannot hurt another: whatever one directory's identity provider sends
//! (oversized values, data Postgres refuses, unpublishable events, slow filters, huge
//! pages, floods), its own request gets the error and every other request, of its own
//! directory or another's, succeeds. Through the real ingress, Postgres and NATS.

use crate::common::{
    TestApp, metrics_text, published_events, spawn_app, spawn_app_on, spawn_app_with, test_config,
};
use futures::future::join_all;
use reqwest::{Method, StatusCode};
use scim_store::outbox;
use scim_tests::client::{Reply, Scim, okta_user};
use serde_json::{Value, json};
use std::time::Duration;

fn assert_scim_error(reply: &Reply, status: u16, detail_has: &str) {
    assert_eq!(reply.status.as_u16(), status, "{:?}", reply.body);
    assert_eq!(reply.content_type, "application/scim+json");
    assert_eq!(reply.body["status"], json!(status.to_string()));
    let detail = reply.body["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains(detail_has),
        "{detail:?} lacks {detail_has:?}"
    );
}

/// A client for a second directory of the same ingress.
async fn neighbour(app: &TestApp) -> Scim {
    let (dir, token) = app.db.directory("neighbour").await;
    Scim::new(format!("{}/scim/v2/{dir}", app.base), token)
}

/// Creates `n` users in each directory at once; every one must succeed.
async fn innocent_creates(clients: &[&Scim], n: usize, tag: &str) {
    let creates = clients.iter().enumerate().flat_map(|(d, s)| {
        (0..n).map(move |i| async move {
            s.create_user(&okta_user(
                &format!("{tag}-{d}-{i}@example.com"),
                "In",
                "Nocent",
            ))
            .await
        })
    });
    for reply in join_all(creates).await {
        assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    }
}

#[tokio::test]
async fn oversized_database_keys_are_refused_naming_them_while_neighbours_write() {
    let app = spawn_app().await;
    let (s, other) = (&app.scim, neighbour(&app).await);
    let long = "k".repeat(8000);
    let user = s
        .create_user(&okta_user("kept@example.com", "Kept", "User"))
        .await;
    let user_id = user.body["id"].as_str().unwrap().to_owned();
    let group = s.create_group(&json!({"displayName": "Kept"})).await;
    let group_id = group.body["id"].as_str().unwrap().to_owned();

    let bad = async {
        vec![
            (
                s.create_user(&json!({"userName": "a@example.com", "externalId": long}))
                    .await,
                "externalId",
            ),
            (
                s.create_user(&json!({"userName": "b@example.com", "emails": [{"value": long}]}))
                    .await,
                "emails.value",
            ),
            (
                s.patch_user(
                    &user_id,
                    json!([{"op": "replace", "path": "externalId", "value": long}]),
                )
                .await,
                "externalId",
            ),
            (
                s.create_group(&json!({"displayName": "G", "externalId": long}))
                    .await,
                "externalId",
            ),
            (
                s.create_group(&json!({"displayName": long})).await,
                "displayName",
            ),
            (
                s.patch_group(
                    &group_id,
                    json!([{"op": "replace", "path": "externalId", "value": long}]),
                )
                .await,
                "externalId",
            ),
        ]
    };
    let both = [s, &other];
    let (refused, ()) = tokio::join!(bad, innocent_creates(&both, 40, "key"));
    for (reply, attribute) in refused {
        assert_scim_error(&reply, 400, attribute);
        assert_eq!(reply.body["scimType"], "invalidValue");
    }

    // Nothing of the refused requests was stored.
    for name in ["a@example.com", "b@example.com"] {
        let found = s.find_users(&format!("userName eq \"{name}\"")).await;
        assert_eq!(found.body["totalResults"], 0);
    }
    assert_eq!(s.get_user(&user_id).await.body, user.body);
    let groups = s.send(Method::GET, "/Groups", None).await;
    assert_eq!(groups.body["totalResults"], 1);
    assert_eq!(groups.body["Resources"][0]["meta"]["version"], "W/\"1\"");
}

#[tokio::test]
async fn a_resource_over_the_size_limit_is_413_naming_its_largest_attribute() {
    // The test app accepts resources of up to 32 KiB.
    let app = spawn_app().await;
    let (s, other) = (&app.scim, neighbour(&app).await);
    let big = "t".repeat(40 * 1024);
    let user = s
        .create_user(&okta_user("kept@example.com", "Kept", "User"))
        .await;
    let user_id = user.body["id"].as_str().unwrap().to_owned();
    let group = s.create_group(&json!({"displayName": "Kept"})).await;
    let group_id = group.body["id"].as_str().unwrap().to_owned();
    let mut fat_user = okta_user("fat@example.com", "Fat", "User");
    fat_user["title"] = Value::String(big.clone());

    let bad = async {
        vec![
            (s.create_user(&fat_user).await, "title"),
            (
                s.patch_user(
                    &user_id,
                    json!([{"op": "replace", "path": "title", "value": big}]),
                )
                .await,
                "title",
            ),
            (
                s.create_group(&json!({"displayName": "G", "urn:acme:2.0:Group": {"blob": big}}))
                    .await,
                "urn:acme:2.0:Group",
            ),
            (
                s.patch_group(
                    &group_id,
                    json!([{"op": "add", "path": "urn:acme:2.0:Group:blob", "value": big}]),
                )
                .await,
                "urn:acme:2.0:Group",
            ),
        ]
    };
    let both = [s, &other];
    let (refused, ()) = tokio::join!(bad, innocent_creates(&both, 20, "size"));
    for (reply, attribute) in refused {
        assert_scim_error(&reply, 413, &format!("largest attribute is {attribute}"));
    }
    let found = s.find_users("userName eq \"fat@example.com\"").await;
    assert_eq!(found.body["totalResults"], 0);
    assert_eq!(s.get_user(&user_id).await.body, user.body);
    let kept = s
        .send(Method::GET, &format!("/Groups/{group_id}"), None)
        .await;
    assert_eq!(kept.body["meta"]["version"], "W/\"1\"");
}

/// A user the service accepted can always be deactivated: the size limit counts a user
/// as it would be once deactivated, and a change that makes it no larger than that is
/// never refused for size. Deprovisioning must never fail.
#[tokio::test]
async fn a_user_created_at_the_size_limit_can_be_deactivated_and_reactivated() {
    // The test app accepts resources of up to 32 KiB.
    let app = spawn_app().await;
    let s = &app.scim;
    let limit = 32 * 1024;
    let mut user = okta_user("edge@example.com", "Edge", "User");
    user.as_object_mut().unwrap().remove("active");
    user["title"] = Value::String("t".repeat(limit));
    let over = s.create_user(&user).await;
    assert_eq!(over.status, StatusCode::PAYLOAD_TOO_LARGE);
    // "the user would be N bytes as JSON": trim the title to land on the limit exactly.
    let detail = over.body["detail"].as_str().unwrap();
    let size: usize = detail
        .split_whitespace()
        .find_map(|w| w.parse().ok())
        .unwrap_or_else(|| panic!("no size in {detail}"));
    user["title"] = Value::String("t".repeat(limit - (size - limit)));
    let created = s.create_user(&user).await;
    assert_eq!(
        created.status,
        StatusCode::CREATED,
        "{:?}",
        created.body["detail"]
    );
    let id = created.body["id"].as_str().unwrap().to_owned();
    for active in [false, true, false] {
        let r = s
            .patch_user(
                &id,
                json!([{"op": "replace", "path": "active", "value": active}]),
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::OK,
            "active {active}: {:?}",
            r.body["detail"]
        );
        assert_eq!(r.body["active"], active);
    }
    // Growing it past the limit is still refused.
    let r = s
        .patch_user(
            &id,
            json!([{"op": "replace", "path": "title", "value": "t".repeat(limit)}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn the_ingress_refuses_to_start_when_nats_cannot_carry_its_largest_event() {
    let db = scim_tests::TestDb::new().await;
    let small = scim_tests::NatsServer::start_with_config("max_payload: 262144\n");
    let mut config = test_config(&db, &small);
    config.max_resource_bytes = 128 * 1024;
    let err = match ingress::Application::build(config.clone()).await {
        Ok(_) => panic!("the ingress started with a max_payload too small for its events"),
        Err(e) => format!("{e:#}"),
    };
    assert!(err.contains("max_payload (262144 bytes)"), "{err}");
    assert!(err.contains("lower MAX_RESOURCE_BYTES to at most"), "{err}");
    // Within what the server carries, it starts.
    config.max_resource_bytes = scim_core::limits::largest_resource(262144);
    assert!(ingress::Application::build(config).await.is_ok());
}

/// Writes an outbox row as an older release (or a bug) could have: an event NATS will
/// never accept, as it stands. Returns its seq.
async fn unpublishable_row(app: &TestApp, directory: &str) -> i64 {
    let payload = json!({"id": uuid::Uuid::now_v7(), "blob": "b".repeat(1_100_000)});
    sqlx::query_scalar(
        "INSERT INTO outbox (event_id, subject, payload) VALUES ($1, $2, $3::json) RETURNING seq",
    )
    .bind(uuid::Uuid::now_v7())
    .bind(format!("scim.v1.{directory}.user.updated"))
    .bind(payload.to_string())
    .fetch_one(&app.db.pool)
    .await
    .unwrap()
}

fn directory_of(s: &Scim) -> String {
    s.base_url.rsplit('/').next().unwrap().to_owned()
}

#[tokio::test]
async fn an_event_nats_refuses_is_set_aside_and_every_event_behind_it_flows() {
    let app = spawn_app().await;
    let (s, other) = (&app.scim, neighbour(&app).await);
    let seq = unpublishable_row(&app, &directory_of(s)).await;
    let a = s.create_user(&okta_user("a@example.com", "A", "A")).await;
    let b = other
        .create_user(&okta_user("b@example.com", "B", "B"))
        .await;
    let published = published_events(&app).await;
    let mut ids: Vec<&Value> = published
        .iter()
        .map(|e| &e.payload["resource_id"])
        .collect();
    // Two directories: their events may leave in either order.
    ids.sort_by_key(|id| id.to_string());
    let mut expected = [&a.body["id"], &b.body["id"]];
    expected.sort_by_key(|id| id.to_string());
    assert_eq!(ids, expected, "both events behind it");

    let parked = app.admin.parked("").await;
    assert_eq!(parked.len(), 1, "{parked:?}");
    assert_eq!(parked[0].seq, seq);
    assert_eq!(
        parked[0].directory_id.map(|d| d.to_string()),
        Some(directory_of(s))
    );
    assert!(parked[0].bytes > 1_100_000);
    let reason = &parked[0].reason;
    assert!(reason.contains("max payload"), "{reason}");
    let of_other = format!("?directory={}", directory_of(&other));
    assert!(app.admin.parked(&of_other).await.is_empty());
    let metrics = metrics_text(&app).await;
    assert_eq!(
        scim_tests::metric(&metrics, "scim_events_parked_total"),
        Some(1.0)
    );

    // Re-published while NATS still refuses it, it is set aside again, under a new seq.
    let again = app.admin.republish(seq).await.outbox_seq;
    assert!(again > seq);
    scim_tests::eventually(Duration::from_secs(10), "set aside again", || async {
        let list = app.admin.parked("").await;
        (list.first()?.seq == again).then_some(())
    })
    .await;
    let path = format!("/outbox/parked/{seq}/republish");
    let (status, _) = app.admin.send(Method::POST, &path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "the old seq is gone");

    // Discarded, it is gone for good; both actions are audited.
    app.admin.discard(again).await;
    assert!(app.admin.parked("").await.is_empty());
    let audit = app.admin.audit("").await;
    let actions: Vec<&str> = audit.iter().map(|a| a.action.as_str()).collect();
    assert!(actions.contains(&"outbox.republished") && actions.contains(&"outbox.discarded"));
}

#[tokio::test]
async fn a_set_aside_event_nats_now_accepts_is_published_when_republished() {
    let app = spawn_app().await;
    let event_id = uuid::Uuid::now_v7();
    let subject = format!("scim.v1.{}.user.updated", directory_of(&app.scim));
    sqlx::query(
        "INSERT INTO outbox_parked (seq, event_id, subject, payload, created_at, reason)
         VALUES (7, $1, $2, $3::json, now(), 'max payload size exceeded')",
    )
    .bind(event_id)
    .bind(&subject)
    .bind(json!({"id": event_id, "fits": true}).to_string())
    .execute(&app.db.pool)
    .await
    .unwrap();
    app.admin.republish(7).await;
    let published = published_events(&app).await;
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].subject, subject);
    assert_eq!(
        published[0].msg_id.as_deref(),
        Some(event_id.to_string().as_str())
    );
    assert!(app.admin.parked("").await.is_empty());
}

#[tokio::test]
async fn data_postgres_refuses_fails_only_its_own_request_not_its_batch_mates() {
    let app = spawn_app().await;
    let (s, other) = (&app.scim, neighbour(&app).await);
    let kept = s
        .create_user(&okta_user("kept@example.com", "Kept", "User"))
        .await;
    let kept_id = kept.body["id"].as_str().unwrap().to_owned();
    for (name, sqlstate) in [("long@example.com", "54000"), ("odd@example.com", "22023")] {
        app.db.refuse_user_name(name, sqlstate).await;
    }
    // The refused requests go out in the middle of a burst, so that they share batches
    // (one statement each) with other requests of both directories.
    let bad = async {
        tokio::time::sleep(Duration::from_millis(5)).await;
        let rename = json!([{"op": "replace", "path": "userName", "value": "long@example.com"}]);
        let (long, odd) = (
            okta_user("long@example.com", "L", "L"),
            okta_user("odd@example.com", "O", "O"),
        );
        let (a, b, c) = tokio::join!(
            s.create_user(&long),
            other.create_user(&odd),
            s.patch_user(&kept_id, rename),
        );
        [a, b, c]
    };
    let both = [s, &other];
    let (refused, ()) = tokio::join!(bad, innocent_creates(&both, 60, "batch"));
    for reply in refused {
        assert_scim_error(&reply, 400, "");
        assert_eq!(reply.body["scimType"], "invalidValue");
    }
    assert_eq!(s.get_user(&kept_id).await.body, kept.body, "unchanged");
    for (client, name) in [(s, "long@example.com"), (&other, "odd@example.com")] {
        let found = client.find_users(&format!("userName eq \"{name}\"")).await;
        assert_eq!(found.body["totalResults"], 0);
    }
}

#[tokio::test]
async fn a_terminated_database_connection_is_a_503_to_retry_never_a_500() {
    let app = spawn_app().await;
    let s = &app.scim;
    let created = s.create_user(&okta_user("a@example.com", "A", "A")).await;
    let id = created.body["id"].as_str().unwrap().to_owned();
    // A failover ends every connection with SQLSTATE 57P01 while requests are in flight.
    let terminate = async {
        for _ in 0..5 {
            sqlx::query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                 WHERE datname = current_database() AND application_name = 'scim-ingress'",
            )
            .execute(&app.db.pool)
            .await
            .unwrap();
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    let id = &id;
    let load = join_all((0..200).map(|i| async move {
        if i % 2 == 0 {
            s.get_user(id).await
        } else {
            s.create_user(&okta_user(&format!("u{i}@example.com"), "U", "U"))
                .await
        }
    }));
    let (replies, ()) = tokio::join!(load, terminate);
    let mut unavailable = 0;
    for reply in &replies {
        if reply.status.is_success() {
            continue;
        }
        assert_scim_error(reply, 503, "retry");
        assert_eq!(reply.headers["retry-after"], "5");
        unavailable += 1;
    }
    println!("{unavailable} of {} requests answered 503", replies.len());
    // Afterwards, as an identity provider retries (Retry-After), everything works again:
    // a pooled connection that was terminated while idle fails its next request with a
    // 503 and is replaced.
    for attempt in 1.. {
        let got = s.get_user(id).await;
        if got.status == StatusCode::OK {
            break;
        }
        assert_scim_error(&got, 503, "retry");
        assert!(attempt < 20, "still failing after {attempt} retries");
    }
    for attempt in 1.. {
        let later = s
            .create_user(&okta_user("later@example.com", "L", "L"))
            .await;
        if later.status == StatusCode::CREATED {
            break;
        }
        assert_scim_error(&later, 503, "retry");
        assert!(attempt < 20, "still failing after {attempt} retries");
    }
}

/// Stores `n` users in a directory straight through SQL (the quickest way to a large
/// directory), each with a `title`.
async fn many_users(app: &TestApp, directory: &str, n: i64) {
    sqlx::query(
        "INSERT INTO scim_users (directory_id, id, user_name, active, resource, email_values,
                                 version, created_at, updated_at)
         SELECT $1::uuid, gen_random_uuid(), 'bulk' || i || '@example.com', true,
                jsonb_build_object('userName', 'bulk' || i || '@example.com', 'active', true,
                                   'title', 'Title number ' || i),
                '{}', 1, now(), now()
         FROM generate_series(1, $2) AS i",
    )
    .bind(directory)
    .bind(n)
    .execute(&app.db.pool)
    .await
    .unwrap();
}

/// A filter of `n` substring tests on `title`, none of which matches: Postgres reads
/// every user of the directory and tests each `n` times.
fn slow_filter(n: usize) -> String {
    (0..n)
        .map(|i| format!("title co \"nothing-{i}\""))
        .collect::<Vec<_>>()
        .join(" or ")
}

#[tokio::test]
async fn one_directorys_slow_filters_neither_take_the_database_nor_hold_up_other_work() {
    let app = spawn_app_with(|c| {
        c.list_timeout_ms = 200;
        c.directory_list_concurrency = 1;
    })
    .await;
    let (s, other) = (&app.scim, neighbour(&app).await);
    many_users(&app, &directory_of(s), 100_000).await;
    let neighbour_user = other
        .create_user(&okta_user("b@example.com", "B", "B"))
        .await;
    let neighbour_id = neighbour_user.body["id"].as_str().unwrap().to_owned();

    // More attribute tests than the bound: refused before it reaches the database.
    let refused = s
        .find_users(&slow_filter(scim_core::limits::FILTER_TERMS + 1))
        .await;
    assert_scim_error(&refused, 400, "attribute tests");
    assert_eq!(refused.body["scimType"], "invalidFilter");

    // Eight slow filters at once: one runs at a time and is cancelled at the time limit
    // (503), the others wait their turn and are turned away, or find the directory has
    // spent its share of list time (429); both say when to retry. Meanwhile the other directory's reads, lists and writes all succeed.
    let filter = slow_filter(20);
    let slow = join_all((0..8).map(|_| s.find_users(&filter)));
    let own = s.create_user(&okta_user("own@example.com", "O", "O")).await;
    let own_id = own.body["id"].as_str().unwrap().to_owned();
    let neighbourly = async {
        let mut replies = Vec::new();
        for i in 0..20 {
            // The slow directory's own reads and writes are not held back either.
            replies.push(s.get_user(&own_id).await);
            replies.push(
                s.create_user(&okta_user(&format!("own{i}@example.com"), "O", "O"))
                    .await,
            );
            replies.push(other.get_user(&neighbour_id).await);
            replies.push(other.find_users("userName eq \"b@example.com\"").await);
            replies.push(
                other
                    .create_user(&okta_user(&format!("n{i}@example.com"), "N", "N"))
                    .await,
            );
        }
        replies
    };
    let (slow, neighbourly) = tokio::join!(slow, neighbourly);
    let mut statuses: Vec<u16> = slow.iter().map(|r| r.status.as_u16()).collect();
    statuses.sort();
    for reply in &slow {
        match reply.status.as_u16() {
            503 => assert_scim_error(reply, 503, "narrow its filter"),
            // Waited too long for its turn, or its directory spent its share of time.
            429 => assert_scim_error(reply, 429, "lists and searches"),
            other => panic!("a slow filter answered {other}: {:?}", reply.body),
        }
        assert!(reply.headers.contains_key("retry-after"));
    }
    assert!(statuses.contains(&503), "{statuses:?}");
    for reply in neighbourly {
        assert!(reply.status.is_success(), "{:?}", reply.body);
    }
}

#[tokio::test]
async fn a_list_page_stops_at_its_byte_bound_and_pages_still_join_up() {
    let app = spawn_app_with(|c| c.list_page_bytes = 10 * 1024).await;
    let s = &app.scim;
    let mut ids = Vec::new();
    for i in 0..10 {
        let mut user = okta_user(&format!("u{i}@example.com"), "U", "U");
        user["title"] = Value::String("t".repeat(4 * 1024));
        ids.push(s.create_user(&user).await.body["id"].clone());
    }
    s.create_group(&json!({"displayName": "After the users"}))
        .await;
    let mut seen = Vec::new();
    let mut start = 1;
    while seen.len() < ids.len() {
        let page = s
            .send(
                Method::GET,
                &format!("/Users?startIndex={start}&count=100"),
                None,
            )
            .await;
        assert_eq!(page.body["totalResults"], 10);
        let n = page.body["itemsPerPage"].as_u64().unwrap() as usize;
        assert!((1..=3).contains(&n), "{n} users of 4 KiB in a 10 KiB page");
        let resources = page.body["Resources"].as_array().unwrap();
        assert_eq!(resources.len(), n);
        seen.extend(resources.iter().map(|r| r["id"].clone()));
        start += n;
    }
    assert_eq!(seen, ids, "every user once, in order");
    // Across resource types, a page that ends within the users has no groups.
    let search = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]});
    let page = s.send(Method::POST, "/.search", Some(&search)).await;
    assert_eq!(page.body["totalResults"], 11);
    let types: Vec<&Value> = page.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["meta"]["resourceType"])
        .collect();
    assert!(types.iter().all(|t| *t == "User"), "{types:?}");
}

#[tokio::test]
async fn a_directory_past_its_rate_gets_429s_and_another_is_not_held_back() {
    let app = spawn_app_with(|c| {
        c.directory_rate_limit = 2.0;
        c.directory_rate_burst = 5.0;
    })
    .await;
    let (s, other) = (&app.scim, neighbour(&app).await);
    let flood = join_all((0..20).map(|_| s.send(Method::GET, "/Users?count=1", None)));
    let calm = join_all((0..5).map(|_| other.send(Method::GET, "/Users?count=1", None)));
    let (flood, calm) = tokio::join!(flood, calm);
    let ok = flood.iter().filter(|r| r.status == StatusCode::OK).count();
    // The burst, and what refilled while the flood went out (2 a second).
    assert!((5..=10).contains(&ok), "{ok} of 20 answered");
    for reply in flood.iter().filter(|r| r.status != StatusCode::OK) {
        assert_scim_error(reply, 429, "more than 2 requests a second");
        let wait: u64 = reply.headers["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=3).contains(&wait), "{wait}");
    }
    assert!(calm.iter().all(|r| r.status == StatusCode::OK));
}

#[tokio::test]
async fn each_bulk_operation_counts_against_the_rate_and_is_logged_as_a_request() {
    let app = spawn_app_with(|c| {
        c.directory_rate_limit = 0.5;
        c.directory_rate_burst = 4.0;
    })
    .await;
    let operations: Vec<Value> = (0..8)
        .map(|i| {
            json!({"method": "POST", "bulkId": format!("u{i}"), "path": "/Users",
                   "data": okta_user(&format!("b{i}@x.com"), "B", "B")})
        })
        .collect();
    let r = app
        .scim
        .send(
            Method::POST,
            "/Bulk",
            Some(&json!({"Operations": operations})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let results = r.body["Operations"].as_array().unwrap();
    let created = results.iter().filter(|o| o["status"] == "201").count();
    // The bulk request took one of the burst of 4, its operations the rest (and at
    // most one more refilled meanwhile).
    assert!((3..=4).contains(&created), "{created} of 8 created");
    for refused in results.iter().filter(|o| o["status"] != "201") {
        assert_eq!(refused["status"], "429", "{refused}");
        let detail = refused["response"]["detail"].as_str().unwrap();
        assert!(
            detail.contains("more than 0.5 requests a second"),
            "{detail}"
        );
    }
    // Stored: exactly the users whose operations were admitted.
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM scim_users")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(stored, created as i64);

    let dir = app.scim.base_url.rsplit('/').next().unwrap().to_owned();
    let entries = scim_tests::eventually(Duration::from_secs(5), "nine log entries", || async {
        let all = app.admin.requests(&dir, "?limit=100").await;
        (all.len() >= 9).then_some(all)
    })
    .await;
    let users = format!("/scim/v2/{dir}/Users");
    let operations: Vec<_> = entries.iter().filter(|e| e.path == users).collect();
    assert_eq!(operations.len(), 8, "{entries:?}");
    assert_eq!(
        operations.iter().filter(|e| e.status == 201).count(),
        created
    );
    assert!(
        operations.iter().filter(|e| e.status == 429).all(|e| e
            .detail
            .as_ref()
            .unwrap()
            .contains("requests a second"))
    );
    let bulk = format!("/scim/v2/{dir}/Bulk");
    assert!(entries.iter().any(|e| e.path == bulk && e.status == 200));
}

/// The outbox slot of a directory's events, as the outbox gives a row of it (in a
/// transaction rolled back).
async fn slot_of(app: &TestApp, directory: uuid::Uuid) -> i16 {
    let mut tx = app.db.pool.begin().await.unwrap();
    let slot = sqlx::query_scalar(
        "INSERT INTO outbox (event_id, subject, payload) VALUES ($1, $2, '{}') RETURNING slot",
    )
    .bind(uuid::Uuid::now_v7())
    .bind(format!("scim.v1.{directory}.user.created"))
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    tx.rollback().await.unwrap();
    slot
}

/// A relay lane publishes only the outbox slots it holds: a slot another relay holds
/// (here, the test's own connection, before the ingress starts) is left to it while
/// every other directory's events flow, and is taken over once its holder is gone,
/// the directory's events leaving in the order they were committed.
#[tokio::test]
async fn a_relay_publishes_only_the_slots_it_holds_and_takes_over_a_released_one() {
    let db = scim_tests::TestDb::new().await;
    let mut other_relay = db.pool.acquire().await.unwrap().detach();
    let held = 3;
    assert_eq!(
        outbox::claim(&mut other_relay, &[held]).await.unwrap(),
        [held]
    );
    let app = spawn_app_on(db, scim_tests::NatsServer::start(), |_| {}).await;
    let (mut waiting, mut flowing) = (None, None);
    for i in 0.. {
        let (dir, token) = app.db.directory(&format!("d{i}")).await;
        let scim = Scim::new(format!("{}/scim/v2/{dir}", app.base), token);
        match slot_of(&app, dir).await == held {
            true => waiting = waiting.or(Some(scim)),
            false => flowing = flowing.or(Some(scim)),
        }
        if waiting.is_some() && flowing.is_some() {
            break;
        }
    }
    let (waiting, flowing) = (waiting.unwrap(), flowing.unwrap());
    for i in 0..3 {
        let r = waiting
            .create_user(&okta_user(&format!("w{i}@example.com"), "W", "W"))
            .await;
        assert_eq!(r.status, StatusCode::CREATED);
        let id = r.body["id"].as_str().unwrap();
        let patch = json!([{"op": "replace", "value": {"active": false}}]);
        assert_eq!(waiting.patch_user(id, patch).await.status, StatusCode::OK);
    }
    let committed: Vec<uuid::Uuid> = sqlx::query_scalar("SELECT event_id FROM outbox ORDER BY seq")
        .fetch_all(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(committed.len(), 6);
    let f = flowing
        .create_user(&okta_user("f@example.com", "F", "F"))
        .await;
    scim_tests::eventually(
        Duration::from_secs(10),
        "the other slot's event",
        || async {
            let total = scim_tests::stream_len(&app.nats.url, scim_events::STREAM).await;
            (total == 1).then_some(())
        },
    )
    .await;
    // Another round of every lane later, the held slot's events still wait.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(left, 6, "a slot held elsewhere is left to its holder");

    drop(other_relay);
    let published = published_events(&app).await;
    assert_eq!(published[0].payload["resource_id"], f.body["id"]);
    let ids: Vec<uuid::Uuid> = published[1..]
        .iter()
        .map(|e| e.payload["id"].as_str().unwrap().parse().unwrap())
        .collect();
    assert_eq!(ids, committed, "in commit order, after the takeover");
}

/// One directory's backlog in the outbox (a bulk import's, say) does not hold up
/// other directories' events: a lane shares each batch among its slots that have
/// events waiting, so the others' first events leave in the first batch, not after the
/// whole backlog. (Three slots of more than a third of a batch each: shares rounded up
/// once made a batch larger than the relay's acks in flight, which stopped it for good.)
#[tokio::test]
async fn one_directorys_backlog_does_not_hold_up_another_directorys_events() {
    let db = scim_tests::TestDb::new().await;
    // Every slot held elsewhere until both are waiting.
    let mut other_relay = db.pool.acquire().await.unwrap().detach();
    let all: Vec<i16> = (0..outbox::SLOTS).collect();
    assert_eq!(outbox::claim(&mut other_relay, &all).await.unwrap(), all);
    let app = spawn_app_on(db, scim_tests::NatsServer::start(), |c| c.relay_lanes = 1).await;
    let busy = uuid::Uuid::now_v7();
    let mut slots = vec![slot_of(&app, busy).await];
    let mut quiet = Vec::new();
    while quiet.len() < 2 {
        let candidate = uuid::Uuid::now_v7();
        let slot = slot_of(&app, candidate).await;
        if !slots.contains(&slot) {
            slots.push(slot);
            quiet.push(candidate);
        }
    }
    let write = |directory: uuid::Uuid, n: i64| {
        sqlx::query(
            "INSERT INTO outbox (event_id, subject, payload)
             SELECT gen_random_uuid(), 'scim.v1.' || $1 || '.user.updated', json_build_object('n', i)
             FROM generate_series(1, $2) AS i",
        )
        .bind(directory.to_string())
        .bind(n)
        .execute(&app.db.pool)
    };
    write(busy, 500).await.unwrap();
    for directory in &quiet {
        write(*directory, 50).await.unwrap();
    }

    drop(other_relay);
    let published = published_events(&app).await;
    assert_eq!(published.len(), 600);
    for directory in quiet {
        let position = published
            .iter()
            .position(|e| e.subject.contains(&directory.to_string()))
            .unwrap();
        // Batches of 100 (the tests' RELAY_BATCH_SIZE): the first held it.
        assert!(position < 100, "published {position}th, behind the backlog");
    }
}

/// Requests the HTTP server refuses before any handler sees them (a URL over 64 KiB,
/// more than 100 headers, a request line that is not HTTP) are answered with a SCIM
/// Error body too, not an empty one.
#[tokio::test]
async fn requests_the_http_server_cannot_read_get_scim_errors() {
    let app = spawn_app().await;
    let s = &app.scim;
    // Past what an HTTP client library will send: over a raw connection.
    let path = s
        .base_url
        .split_once("//")
        .unwrap()
        .1
        .split_once('/')
        .unwrap()
        .1;
    let long = format!(
        "GET /{path}/Users?filter=userName%20eq%20%22{}%22 HTTP/1.1\r\nHost: x\r\n\r\n",
        "a".repeat(200 * 1024)
    );
    let answer = raw_exchange(&app, long.as_bytes()).await;
    assert!(
        answer.starts_with("HTTP/1.1 414 "),
        "{}",
        &answer[..answer.len().min(200)]
    );
    let body: Value = serde_json::from_str(answer.split_once("\r\n\r\n").unwrap().1).unwrap();
    assert_eq!(body["status"], "414");
    assert!(body["detail"].as_str().unwrap().contains("POST .search"));
    let mut headers = reqwest::header::HeaderMap::new();
    for i in 0..200 {
        headers.insert(
            reqwest::header::HeaderName::from_bytes(format!("x-filler-{i}").as_bytes()).unwrap(),
            "1".parse().unwrap(),
        );
    }
    let res = s
        .http
        .get(format!("{}/Users", s.base_url))
        .bearer_auth(&s.token)
        .headers(headers)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    assert_eq!(res.headers()["content-type"], "application/scim+json");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "431");
    // Not HTTP at all, over a raw connection.
    let addr = app.base.trim_start_matches("http://").to_owned();
    let mut raw = tokio::net::TcpStream::connect(addr).await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    raw.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    raw.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
    assert!(answer.contains("application/scim+json"), "{answer}");
    assert!(answer.ends_with('}'), "{answer}");
    // Our own answers are untouched: an empty 204 stays empty, a 404 keeps its body.
    let missing = s.get_user("00000000-0000-0000-0000-000000000000").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.body["status"], "404");
}

/// Sends `request` as it is over a new connection and reads the answer until the
/// server closes it.
async fn raw_exchange(app: &TestApp, request: &[u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = app.base.trim_start_matches("http://").to_owned();
    let mut raw = tokio::net::TcpStream::connect(addr).await.unwrap();
    // The server may answer and close before it has read everything.
    let _ = raw.write_all(request).await;
    let mut answer = Vec::new();
    let _ = raw.read_to_end(&mut answer).await;
    String::from_utf8_lossy(&answer).into_owned()
}
