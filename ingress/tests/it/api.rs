//! The ingress over HTTP, in-process on port 0, against a fresh database and a real
//! nats-server per test.

use crate::common::{member_display_schema, outbox_subjects, published_events, spawn_app};
use reqwest::{Method, StatusCode};
use scim_tests::client::{OKTA_USER_LIFECYCLE, Scim, okta_user};
use scim_tests::metric;
use serde_json::{Value, json};
use uuid::Uuid;

fn assert_scim_error(reply: &scim_tests::client::Reply, status: u16, scim_type: Option<&str>) {
    assert_eq!(reply.status.as_u16(), status, "{:?}", reply.body);
    assert_eq!(reply.content_type, "application/scim+json");
    assert_eq!(
        reply.body["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:Error"])
    );
    assert_eq!(reply.body["status"], json!(status.to_string()));
    assert!(reply.body["detail"].is_string());
    assert_eq!(
        reply.body["scimType"].as_str(),
        scim_type,
        "{:?}",
        reply.body
    );
}

#[tokio::test]
async fn okta_user_lifecycle_answers_as_okta_expects() {
    let app = spawn_app().await;
    let s = &app.scim;

    // Test connection, then lookup miss.
    let r = s
        .send(Method::GET, "/Users?startIndex=1&count=2", None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["totalResults"], 0);
    assert_eq!(r.body["startIndex"], 1);
    assert_eq!(r.body["itemsPerPage"], 0);
    assert_eq!(r.body["Resources"], json!([]));
    assert_eq!(
        s.find_users(r#"userName eq "Jane.Doe@example.com""#)
            .await
            .body["totalResults"],
        0
    );

    // Create.
    let created = s
        .create_user(&okta_user("jane.doe@example.com", "Jane", "Doe"))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    assert_eq!(created.content_type, "application/scim+json");
    let id = created.body["id"].as_str().unwrap().to_owned();
    let location = format!("{}/Users/{id}", s.base_url);
    assert_eq!(created.headers["location"], location.as_str());
    assert_eq!(created.body["meta"]["location"], location);
    assert_eq!(created.body["meta"]["resourceType"], "User");
    assert_eq!(created.body["meta"]["version"], "W/\"1\"");
    assert_eq!(created.headers["etag"], "W/\"1\"");
    assert_eq!(created.body["active"], true);
    assert!(
        created.body.get("password").is_none(),
        "passwords are never stored or returned"
    );

    // Lookup hit with different case.
    let found = s.find_users(r#"userName eq "JANE.DOE@EXAMPLE.COM""#).await;
    assert_eq!(found.body["totalResults"], 1);
    assert_eq!(found.body["Resources"][0]["id"], id.as_str());

    // Get.
    let got = s.get_user(&id).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.body, created.body);

    // PUT without `active` keeps the user active.
    let mut put = okta_user("jane.doe@example.com", "Jane", "Smith");
    put.as_object_mut().unwrap().remove("active");
    let replaced = s.replace_user(&id, &put).await;
    assert_eq!(replaced.status, StatusCode::OK, "{:?}", replaced.body);
    assert_eq!(replaced.body["name"]["familyName"], "Smith");
    assert_eq!(replaced.body["active"], true);
    assert_eq!(replaced.body["meta"]["version"], "W/\"2\"");

    // Deactivate and reactivate the Okta way.
    let off = s
        .patch_user(&id, json!([{"op": "replace", "value": {"active": false}}]))
        .await;
    assert_eq!(off.status, StatusCode::OK);
    assert_eq!(off.body["active"], false);
    let on = s
        .patch_user(&id, json!([{"op": "replace", "value": {"active": true}}]))
        .await;
    assert_eq!(on.body["active"], true);
    assert_eq!(on.body["meta"]["version"], "W/\"4\"");

    // Duplicate create, in another case.
    let dup = s
        .create_user(&okta_user("JANE.DOE@example.com", "J", "D"))
        .await;
    assert_scim_error(&dup, 409, Some("uniqueness"));

    // Delete, then the user is gone.
    assert_eq!(s.delete_user(&id).await.status, StatusCode::NO_CONTENT);
    assert_scim_error(&s.get_user(&id).await, 404, None);
    assert_scim_error(&s.delete_user(&id).await, 404, None);

    let types: Vec<Value> = published_events(&app)
        .await
        .into_iter()
        .map(|e| e.payload["type"].clone())
        .collect();
    assert_eq!(types, OKTA_USER_LIFECYCLE);
}

#[tokio::test]
async fn every_change_is_published_once_in_order_with_its_event_id() {
    let app = spawn_app().await;
    let s = &app.scim;
    let id = s.create_user(&okta_user("a@x.com", "A", "X")).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    s.patch_user(
        &id,
        json!([{"op": "replace", "path": "title", "value": "CTO"}]),
    )
    .await;
    s.patch_user(
        &id,
        json!([{"op": "replace", "path": "title", "value": "CTO"}]),
    )
    .await; // no change
    s.patch_user(
        &id,
        json!([{"op": "Replace", "path": "active", "value": "False"}]),
    )
    .await;
    s.delete_user(&id).await;

    let events = published_events(&app).await;
    let mut seen = Vec::new();
    for e in &events {
        let event = &e.payload;
        assert_eq!(
            e.msg_id.as_deref(),
            event["id"].as_str(),
            "Nats-Msg-Id is the event id"
        );
        assert_eq!(
            e.subject,
            format!(
                "scim.v1.{}.{}",
                event["directory_id"].as_str().unwrap(),
                event["type"].as_str().unwrap()
            )
        );
        seen.push((
            event["type"].as_str().unwrap().to_owned(),
            event["resource_version"].as_i64().unwrap(),
        ));
    }
    assert_eq!(
        seen,
        vec![
            ("user.created".to_owned(), 1),
            ("user.updated".to_owned(), 2),
            ("user.deactivated".to_owned(), 3),
            ("user.deleted".to_owned(), 4),
        ],
        "no event for the PATCH that changed nothing"
    );
}

#[tokio::test]
async fn writes_succeed_while_nats_is_down_and_are_published_after() {
    let mut app = spawn_app().await;
    app.nats.stop();
    let mut ids = Vec::new();
    for i in 0..10 {
        let r = app
            .scim
            .create_user(&okta_user(&format!("u{i}@x.com"), "U", "X"))
            .await;
        assert_eq!(
            r.status,
            StatusCode::CREATED,
            "the ingress answers without NATS"
        );
        ids.push(r.body["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        outbox_subjects(&app.db).await.len(),
        10,
        "events wait in the outbox"
    );
    let mut conn = app.db.pool.acquire().await.unwrap();
    let backlog = scim_store::outbox::backlog(&mut conn).await.unwrap();
    assert_eq!(backlog.waiting, 10, "the backlog metric counts them");
    let oldest = backlog.oldest_seconds;
    assert!(oldest > 0.0, "and ages the oldest: {oldest}");
    assert_eq!(backlog.parked, 0, "waiting is not set aside");
    drop(conn);
    app.nats.resume();
    let published: Vec<String> = published_events(&app)
        .await
        .iter()
        .map(|e| e.payload["resource_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(published, ids, "every event, once, in commit order");
}

#[tokio::test]
async fn tokens_are_checked_and_scoped_to_their_directory() {
    let app = spawn_app().await;
    let id = app
        .scim
        .create_user(&okta_user("a@x.com", "A", "X"))
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let anonymous = Scim::new(app.scim.base_url.clone(), "");
    assert_scim_error(
        &anonymous.send(Method::GET, "/Users", None).await,
        401,
        None,
    );
    // The right token with its last hex digit changed.
    let mut forged = app.scim.token.clone();
    let last = if forged.pop() == Some('0') { '1' } else { '0' };
    forged.push(last);
    let wrong = Scim::new(app.scim.base_url.clone(), forged);
    let r = wrong.send(Method::GET, "/Users", None).await;
    assert_scim_error(&r, 401, None);
    assert_eq!(r.headers["www-authenticate"], "Bearer");

    // Directory B's token neither works under A's URL nor sees A's users under its own.
    let (dir_b, token_b) = app.db.directory("other").await;
    let b_on_a = Scim::new(app.scim.base_url.clone(), token_b.clone());
    assert_scim_error(&b_on_a.get_user(&id).await, 401, None);
    let b = Scim::new(format!("{}/scim/v2/{dir_b}", app.base), token_b);
    assert_scim_error(&b.get_user(&id).await, 404, None);
    assert_eq!(
        b.find_users(r#"userName eq "a@x.com""#).await.body["totalResults"],
        0
    );
    assert_scim_error(&b.delete_user(&id).await, 404, None);
    assert_eq!(app.scim.get_user(&id).await.status, StatusCode::OK);

    // A user with the same userName may exist in another directory.
    assert_eq!(
        b.create_user(&okta_user("a@x.com", "A", "X")).await.status,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn bad_input_gets_scim_errors_and_changes_nothing() {
    let app = spawn_app().await;
    let s = &app.scim;
    let created = s.create_user(&okta_user("a@x.com", "A", "X")).await;
    let id = created.body["id"].as_str().unwrap().to_owned();
    bodies_that_are_not_scim_json_are_refused(s).await;
    values_and_filters_that_cannot_be_stored_are_refused(s, &id).await;
    paths_and_methods_that_name_nothing_are_refused(s, &id).await;
    patches_with_a_bad_operation_apply_none(s, &id).await;
    assert_eq!(
        s.get_user(&id).await.body,
        created.body,
        "nothing stored was changed"
    );
}

/// Sends `body` as it is, with this content type: (status, content type, JSON body).
async fn send_raw(
    s: &Scim,
    method: Method,
    path: &str,
    content_type: &str,
    body: &str,
) -> (u16, String, Value) {
    let r = s
        .http
        .request(method, format!("{}{path}", s.base_url))
        .bearer_auth(&s.token)
        .header("content-type", content_type)
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let ct = r.headers()["content-type"].to_str().unwrap().to_owned();
    let body: Value = r.json().await.expect("a JSON body");
    (status, ct, body)
}

/// Not JSON, not a JSON content type, too large: SCIM errors. Plain
/// application/json is accepted (Okta's SPEC test).
async fn bodies_that_are_not_scim_json_are_refused(s: &Scim) {
    let (status, ct, body) =
        send_raw(s, Method::POST, "/Users", "application/json", "{not json").await;
    assert_eq!(
        (status, ct.as_str(), body["scimType"].as_str()),
        (400, "application/scim+json", Some("invalidSyntax"))
    );
    let (status, _, _) = send_raw(s, Method::POST, "/Users", "text/plain", "{}").await;
    assert_eq!(status, 415);
    let big = json!({"userName": "b@x.com", "title": "x".repeat(100 * 1024)}).to_string();
    let (status, _, body) = send_raw(s, Method::POST, "/Users", "application/json", &big).await;
    assert_eq!((status, body["status"].as_str()), (413, Some("413")));
    let plain = json!({"userName": "c@x.com"}).to_string();
    let (status, _, _) = send_raw(s, Method::POST, "/Users", "application/json", &plain).await;
    assert_eq!(status, 201);
}

/// Values of the wrong type, filters that do not parse or name nothing, NUL in values,
/// keys and filters (it cannot be stored): 400s, never a 500.
async fn values_and_filters_that_cannot_be_stored_are_refused(s: &Scim, id: &str) {
    assert_scim_error(
        &s.create_user(&json!({"name": {"givenName": "x"}})).await,
        400,
        Some("invalidValue"),
    );
    assert_scim_error(
        &s.create_user(&json!({"userName": "d@x.com", "active": "perhaps"}))
            .await,
        400,
        Some("invalidValue"),
    );
    assert_scim_error(
        &s.find_users("userName eq").await,
        400,
        Some("invalidFilter"),
    );
    assert_scim_error(
        &s.find_users(r#"unknownAttr eq "x""#).await,
        400,
        Some("invalidFilter"),
    );
    for body in [
        json!({"userName": "n@x.com", "displayName": "a\u{0}b"}),
        json!({"userName": "n@x.com", "urn:acme:ext": {"k\u{0}": "v"}}),
    ] {
        assert_scim_error(&s.create_user(&body).await, 400, Some("invalidValue"));
    }
    assert_scim_error(
        &s.patch_user(
            id,
            json!([{"op": "replace", "path": "title", "value": "\u{0}"}]),
        )
        .await,
        400,
        Some("invalidValue"),
    );
    assert_scim_error(
        &s.find_users(r#"userName eq "a\u0000b""#).await,
        400,
        Some("invalidFilter"),
    );
    assert_scim_error(
        &s.send(Method::GET, "/Users?count=lots", None).await,
        400,
        Some("invalidValue"),
    );
}

/// Ids that are not ids or name nothing, paths that are not UTF-8 (refused by the
/// framework itself, still a SCIM Error), endpoints and methods that do not exist.
async fn paths_and_methods_that_name_nothing_are_refused(s: &Scim, id: &str) {
    assert_scim_error(&s.get_user("not-a-uuid").await, 404, None);
    for path in ["/Users/%FF%FE", "/Groups/%C0"] {
        assert_scim_error(
            &s.send(Method::GET, path, None).await,
            400,
            Some("invalidSyntax"),
        );
    }
    assert_scim_error(&s.get_user(&Uuid::new_v4().to_string()).await, 404, None);
    assert_scim_error(&s.send(Method::GET, "/Nope", None).await, 404, None);
    assert_scim_error(
        &s.send(Method::POST, &format!("/Users/{id}"), Some(&json!({})))
            .await,
        405,
        None,
    );
}

/// A PATCH with one bad operation applies none of them; operations without a target or
/// on read-only attributes, and a PUT without a userName, are refused.
async fn patches_with_a_bad_operation_apply_none(s: &Scim, id: &str) {
    let bad_patch = s
        .patch_user(
            id,
            json!([
                {"op": "replace", "path": "displayName", "value": "Changed"},
                {"op": "replace", "path": "emails[type eq \"work\"].nope", "value": "x"},
            ]),
        )
        .await;
    assert_scim_error(&bad_patch, 400, Some("invalidPath"));
    assert_scim_error(
        &s.patch_user(id, json!([{"op": "remove"}])).await,
        400,
        Some("noTarget"),
    );
    assert_scim_error(
        &s.patch_user(id, json!([{"op": "replace", "path": "id", "value": "x"}]))
            .await,
        400,
        Some("mutability"),
    );
    assert_scim_error(
        &s.replace_user(id, &json!({"userName": ""})).await,
        400,
        Some("invalidValue"),
    );
}

#[tokio::test]
async fn concurrent_duplicate_creates_yield_one_user_and_409s() {
    let app = spawn_app().await;
    let attempts = (0..16).map(|i| {
        let s = app.scim.clone();
        let name = if i % 2 == 0 {
            "race@x.com"
        } else {
            "RACE@x.com"
        };
        async move { s.create_user(&okta_user(name, "R", "X")).await }
    });
    let replies = futures::future::join_all(attempts).await;
    let created = replies
        .iter()
        .filter(|r| r.status == StatusCode::CREATED)
        .count();
    assert_eq!(created, 1);
    for r in replies.iter().filter(|r| r.status != StatusCode::CREATED) {
        assert_scim_error(r, 409, Some("uniqueness"));
    }
    assert_eq!(
        app.scim
            .find_users(r#"userName eq "race@x.com""#)
            .await
            .body["totalResults"],
        1
    );
}

#[tokio::test]
async fn user_names_a_person_reads_as_one_are_one_for_uniqueness_and_lookups() {
    let app = spawn_app().await;
    let s = &app.scim;
    // "Renée" with a combining accent and a pasted trailing space.
    let decomposed = "Rene\u{301}e@example.com ";
    let created = s.create_user(&okta_user(decomposed, "R", "R")).await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    assert_eq!(created.body["userName"], "Ren\u{e9}e@example.com");
    let again = s
        .create_user(&okta_user("REN\u{c9}E@example.com", "R", "R"))
        .await;
    assert_scim_error(&again, 409, Some("uniqueness"));
    for filter in [
        format!("userName eq \"{decomposed}\""),
        "userName eq \"ren\u{e9}e@example.com\"".to_owned(),
    ] {
        let found = s.find_users(&filter).await;
        assert_eq!(found.body["totalResults"], 1, "{filter}");
    }
}

#[tokio::test]
async fn paging_is_stable_and_filters_combine() {
    let app = spawn_app().await;
    let s = &app.scim;
    for i in 0..12 {
        let mut u = okta_user(
            &format!("user{i:02}@{}.com", if i % 3 == 0 { "corp" } else { "x" }),
            "U",
            &format!("N{i}"),
        );
        u["externalId"] = json!(format!("ext-{i}"));
        assert_eq!(s.create_user(&u).await.status, StatusCode::CREATED);
    }
    let mut seen = Vec::new();
    for page in 0..3 {
        let r = s
            .send(
                Method::GET,
                &format!("/Users?startIndex={}&count=5", 5 * page + 1),
                None,
            )
            .await;
        assert_eq!(r.body["totalResults"], 12);
        assert_eq!(r.body["startIndex"], 5 * page + 1);
        for u in r.body["Resources"].as_array().unwrap() {
            seen.push(u["userName"].as_str().unwrap().to_owned());
        }
    }
    let expected: Vec<String> = (0..12)
        .map(|i| format!("user{i:02}@{}.com", if i % 3 == 0 { "corp" } else { "x" }))
        .collect();
    assert_eq!(
        seen, expected,
        "pages in creation order, no repeats, none missing"
    );
    let past_end = s
        .send(Method::GET, "/Users?startIndex=50&count=5", None)
        .await;
    assert_eq!(
        (
            past_end.body["totalResults"].as_i64(),
            past_end.body["itemsPerPage"].as_i64()
        ),
        (Some(12), Some(0))
    );
    let zero = s.send(Method::GET, "/Users?count=0", None).await;
    assert_eq!(
        (
            zero.body["totalResults"].as_i64(),
            zero.body["Resources"].as_array().map(Vec::len)
        ),
        (Some(12), Some(0))
    );

    let names = |r: scim_tests::client::Reply| -> Vec<String> {
        r.body["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["userName"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        names(s.find_users(r#"externalId eq "ext-4""#).await),
        vec!["user04@x.com"]
    );
    assert_eq!(
        names(s.find_users(r#"externalId eq "EXT-4""#).await),
        Vec::<String>::new(),
        "externalId is caseExact"
    );
    assert_eq!(
        names(s.find_users(r#"emails.value eq "USER05@X.COM""#).await),
        vec!["user05@x.com"]
    );
    assert_eq!(
        names(s.find_users(r#"emails[value ew "@corp.com"] and (name.familyName eq "N3" or name.familyName eq "N9")"#).await),
        vec!["user03@corp.com", "user09@corp.com"]
    );
    assert_eq!(
        names(
            s.find_users(r#"userName sw "user1" and not (userName eq "user10@x.com")"#)
                .await
        ),
        vec!["user11@x.com"]
    );
}

/// A rollback starts the previous release against a database its successor migrated
/// further (docs/operations.md, Upgrading): migrating there must succeed, not refuse
/// the migrations it does not know.
#[tokio::test]
async fn migrating_a_database_a_newer_release_migrated_further_succeeds() {
    let db = scim_tests::TestDb::new().await;
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
         VALUES (99999, 'from a newer release', true, '\\x00', 0)",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    scim_store::migrate(&db.pool)
        .await
        .expect("migrating a database a newer release migrated");
}

#[tokio::test]
async fn email_lookups_follow_changes_and_writes_of_the_previous_release() {
    let app = spawn_app().await;
    let s = &app.scim;
    let found = |r: scim_tests::client::Reply| -> Vec<String> {
        r.body["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["userName"].as_str().unwrap().to_owned())
            .collect()
    };
    // Quotes, backslashes and commas survive the way to the index and back.
    let odd = r#"O"Brien\Ops,1@X.com"#;
    let mut user = okta_user("odd", "O", "B");
    user["emails"] = json!([{"value": odd, "type": "work"}, {"value": "Second@Y.org"}]);
    let id = s.create_user(&user).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let by_email = |e: &str| format!("emails.value eq {}", Value::String(e.to_owned()));
    assert_eq!(
        found(s.find_users(&by_email(&odd.to_lowercase())).await),
        ["odd"]
    );
    assert_eq!(
        found(s.find_users(&by_email("second@y.ORG")).await),
        ["odd"]
    );

    let patch = json!([{"op": "replace", "path": "emails", "value": [{"value": "new@x.com"}]}]);
    assert_eq!(s.patch_user(&id, patch).await.status, StatusCode::OK);
    assert!(found(s.find_users(&by_email("second@y.org")).await).is_empty());
    assert_eq!(found(s.find_users(&by_email("NEW@x.com")).await), ["odd"]);

    // The previous release writes users without `email_values` (migration 0007): its
    // inserts and email changes are indexed all the same.
    let directory: Uuid = sqlx::query_scalar("SELECT directory_id FROM scim_users WHERE id = $1")
        .bind(Uuid::parse_str(&id).unwrap())
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    let old = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO scim_users (directory_id, id, user_name, active, resource, version, created_at, updated_at)
         VALUES ($1, $2, 'old', true, $3, 1, now(), now())",
    )
    .bind(directory)
    .bind(old)
    .bind(json!({"userName": "old", "emails": [{"value": "Old@X.com"}]}))
    .execute(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(found(s.find_users(&by_email("old@x.com")).await), ["old"]);
    sqlx::query("UPDATE scim_users SET resource = $2, version = 2 WHERE id = $1")
        .bind(old)
        .bind(json!({"userName": "old", "emails": [{"value": "Moved@X.com"}]}))
        .execute(&app.db.pool)
        .await
        .unwrap();
    assert!(found(s.find_users(&by_email("old@x.com")).await).is_empty());
    assert_eq!(found(s.find_users(&by_email("moved@x.com")).await), ["old"]);
}

/// Sends `n` PATCHes of `title` at once, the i-th to user `id(i)`; each must answer 200.
async fn patch_titles_at_once(s: &Scim, n: usize, id: impl Fn(usize) -> String) {
    let writes = (0..n).map(|i| {
        let (s, id) = (s.clone(), id(i));
        async move {
            s.patch_user(
                &id,
                json!([{"op": "replace", "path": "title", "value": format!("t{i}")}]),
            )
            .await
        }
    });
    for r in futures::future::join_all(writes).await {
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    }
}

#[tokio::test]
async fn concurrent_changes_to_one_user_each_get_their_own_version_and_event() {
    let app = spawn_app().await;
    let id = app
        .scim
        .create_user(&okta_user("c@x.com", "C", "X"))
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Four writers, five attempts each: every write lands (a failed attempt means
    // another writer's write landed, and there are only three others).
    patch_titles_at_once(&app.scim, 4, |_| id.clone()).await;
    assert_eq!(
        app.scim.get_user(&id).await.body["meta"]["version"],
        "W/\"5\""
    );
    let versions: Vec<i64> = published_events(&app)
        .await
        .iter()
        .map(|e| e.payload["resource_version"].as_i64().unwrap())
        .collect();
    assert_eq!(
        versions,
        [1, 2, 3, 4, 5],
        "one event per version, published in order"
    );
}

#[tokio::test]
async fn concurrent_changes_to_many_users_in_shared_batches_each_land_once() {
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for u in 0..10 {
        let user = okta_user(&format!("b{u}@x.com"), "B", "X");
        ids.push(
            app.scim.create_user(&user).await.body["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    // Fifty writes at once, five per user, in an order that interleaves the users
    // differently from one moment to the next: batches hold several users, sometimes
    // one user twice, and overlap each other. As above, with four other writers per
    // user and five attempts, every write lands.
    patch_titles_at_once(&app.scim, 50, |i| ids[(i * 7 + i / 10) % 10].clone()).await;
    let events = published_events(&app).await;
    for id in &ids {
        assert_eq!(
            app.scim.get_user(id).await.body["meta"]["version"],
            "W/\"6\""
        );
        let versions: Vec<i64> = events
            .iter()
            .filter(|e| e.payload["resource_id"] == json!(id))
            .map(|e| e.payload["resource_version"].as_i64().unwrap())
            .collect();
        assert_eq!(versions, [1, 2, 3, 4, 5, 6], "user {id}");
    }
}

#[tokio::test]
async fn extension_attributes_are_kept_returned_patched_and_filterable() {
    let app = spawn_app().await;
    let s = &app.scim;
    let enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    let product = "urn:example:product:2.0:User";
    let mut body = okta_user("ext@x.com", "E", "X");
    body[enterprise] = json!({"department": "R&D", "manager": {"value": "boss-1"}});
    body[product] = json!({"group": "engineering", "seat": 7});
    let created = s.create_user(&body).await;
    assert_eq!(created.status, StatusCode::CREATED);
    let id = created.body["id"].as_str().unwrap().to_owned();
    let schemas = created.body["schemas"].as_array().unwrap();
    assert!(
        schemas.contains(&json!(enterprise)) && schemas.contains(&json!(product)),
        "{schemas:?}"
    );

    let got = s.get_user(&id).await.body;
    assert_eq!(
        got[enterprise],
        json!({"department": "R&D", "manager": {"value": "boss-1"}})
    );
    assert_eq!(got[product], json!({"group": "engineering", "seat": 7}));

    // Entra's URN-qualified path-less replace, and a path into the unknown extension.
    let patched = s
        .patch_user(
            &id,
            json!([
                {"op": "Replace", "value": {format!("{enterprise}:department"): "Sales"}},
                {"op": "replace", "path": format!("{product}:group"), "value": "sales"},
            ]),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{:?}", patched.body);
    assert_eq!(patched.body[enterprise]["department"], "Sales");
    assert_eq!(patched.body[enterprise]["manager"]["value"], "boss-1");
    assert_eq!(patched.body[product], json!({"group": "sales", "seat": 7}));

    let found = s
        .find_users(&format!(r#"{enterprise}:department eq "sales""#))
        .await;
    assert_eq!(found.body["totalResults"], 1);
    assert_eq!(found.body["Resources"][0]["id"], id.as_str());
}

/// A directory whose teams are named by an attribute of the product's extension
/// accepts that extension: discovery lists it for that directory only.
#[tokio::test]
async fn discovery_lists_the_product_extension_a_directory_maps_teams_from() {
    use scim_store::directories::TeamMapping;
    let app = spawn_app().await;
    let s = &app.scim;
    let directory: uuid::Uuid = s.base_url.rsplit('/').next().unwrap().parse().unwrap();
    let urn = "urn:acme:scim:schemas:2.0:User";
    let extensions = || async {
        s.send(Method::GET, "/ResourceTypes/User", None).await.body["schemaExtensions"].clone()
    };
    assert_eq!(extensions().await.as_array().unwrap().len(), 1);
    let mut conn = app.db.pool.acquire().await.unwrap();
    let attribute = TeamMapping::Attribute {
        attribute: format!("{urn}:group"),
        unmapped: Default::default(),
    };
    scim_store::directories::set_team_mapping(&mut conn, directory, &attribute)
        .await
        .unwrap();
    assert_eq!(
        extensions().await[1],
        json!({"schema": urn, "required": false})
    );
    let schema = s.send(Method::GET, &format!("/Schemas/{urn}"), None).await;
    assert_eq!(schema.status, StatusCode::OK, "{:?}", schema.body);
    assert_eq!(schema.body["attributes"][0]["name"], "group");
    assert_eq!(schema.body["attributes"][0]["type"], "string");
    let all = s.send(Method::GET, "/Schemas", None).await;
    // User, its enterprise extension, Group, Okta's Role and Entitlement, and the
    // product's extension.
    assert_eq!(all.body["totalResults"], 6);
}

#[tokio::test]
async fn discovery_describes_exactly_what_the_server_supports() {
    let app = spawn_app().await;
    let s = &app.scim;
    the_service_provider_config_and_resource_types_say_what_is_supported(s).await;
    the_schemas_describe_users_and_groups_as_stored(s).await;
    discovery_is_read_only_and_needs_the_token(s).await;
    other_clients_ways_are_honoured(s).await;
}

/// The Microsoft reference client's `/serviceConfiguration` is the service provider
/// config; a client that asks for `application/json` (OneLogin) gets its answers, and
/// its errors, in that media type; everyone else gets SCIM's own.
async fn other_clients_ways_are_honoured(s: &Scim) {
    let aliased = s.send(Method::GET, "/serviceConfiguration", None).await;
    assert_eq!(aliased.status, StatusCode::OK);
    assert_eq!(aliased.body["patch"]["supported"], true);
    let get = |path: &str, accept: &'static str| {
        s.http
            .get(format!("{}{path}", s.base_url))
            .bearer_auth(&s.token)
            .header("accept", accept)
            .send()
    };
    for (path, status) in [
        ("/Users", StatusCode::OK),
        ("/Users/nope", StatusCode::NOT_FOUND),
    ] {
        let r = get(path, "application/json").await.unwrap();
        assert_eq!(r.status(), status);
        assert_eq!(r.headers()["content-type"], "application/json", "{path}");
        let r = get(path, "application/scim+json, application/json")
            .await
            .unwrap();
        assert_eq!(
            r.headers()["content-type"],
            "application/scim+json",
            "{path}"
        );
    }
}

/// Patch, filter (with its limit), bulk (with its limits), sort, bearer tokens; the
/// User and Group resource types, each also at its own URL (and, Okta's, the roles).
async fn the_service_provider_config_and_resource_types_say_what_is_supported(s: &Scim) {
    let spc = s.send(Method::GET, "/ServiceProviderConfig", None).await;
    assert_eq!(spc.status, StatusCode::OK);
    assert_eq!(spc.content_type, "application/scim+json");
    assert_eq!(spc.body["patch"]["supported"], true);
    assert_eq!(
        spc.body["filter"],
        json!({"supported": true, "maxResults": 1000})
    );
    assert_eq!(
        spc.body["bulk"],
        json!({"supported": true, "maxOperations": 1000, "maxPayloadSize": 64 * 1024})
    );
    assert_eq!(spc.body["sort"]["supported"], true);
    assert_eq!(
        spc.body["authenticationSchemes"][0]["type"],
        "oauthbearertoken"
    );

    let types = s.send(Method::GET, "/ResourceTypes", None).await;
    // The test's directory is Okta's: the product's roles are resource types too.
    assert_eq!(types.body["totalResults"], 4);
    assert_eq!(types.body["Resources"][2]["endpoint"], "/Roles");
    assert_eq!(types.body["Resources"][3]["endpoint"], "/Entitlements");
    let user_type = &types.body["Resources"][0];
    assert_eq!(
        (user_type["id"].as_str(), user_type["endpoint"].as_str()),
        (Some("User"), Some("/Users"))
    );
    assert_eq!(
        s.send(Method::GET, "/ResourceTypes/User", None).await.body,
        *user_type
    );
    let group_type = &types.body["Resources"][1];
    assert_eq!(
        (
            group_type["endpoint"].as_str(),
            group_type["schema"].as_str()
        ),
        (
            Some("/Groups"),
            Some("urn:ietf:params:scim:schemas:core:2.0:Group")
        )
    );
}

/// The core and enterprise User schemas and the Group schema, with userName's
/// uniqueness and case, and a member's display returned by default (as Okta needs).
async fn the_schemas_describe_users_and_groups_as_stored(s: &Scim) {
    let schemas = s.send(Method::GET, "/Schemas", None).await;
    let ids: Vec<&str> = schemas.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
            "urn:ietf:params:scim:schemas:core:2.0:Group",
            "urn:okta:scim:schemas:core:1.0:Role",
            "urn:okta:scim:schemas:core:1.0:Entitlement"
        ]
    );
    let core = s
        .send(
            Method::GET,
            "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User",
            None,
        )
        .await
        .body;
    let attr = |name: &str| {
        core["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == name)
            .cloned()
    };
    let user_name = attr("userName").unwrap();
    assert_eq!(
        (
            &user_name["required"],
            &user_name["uniqueness"],
            &user_name["caseExact"]
        ),
        (&json!(true), &json!("server"), &json!(false))
    );
    assert_eq!(attr("emails").unwrap()["multiValued"], true);
    assert_eq!(attr("groups").unwrap()["mutability"], "readOnly");
    assert!(
        attr("id").is_none() && attr("meta").is_none(),
        "common attributes are not schema attributes"
    );
    let display = member_display_schema(s).await;
    assert_eq!(
        (&display["returned"], &display["mutability"]),
        (&json!("default"), &json!("readOnly")),
        "/Schemas tells an Okta directory that a member's display is returned by default"
    );
}

/// Unknown schemas and types are 404; writes are 405; without a token, 401.
async fn discovery_is_read_only_and_needs_the_token(s: &Scim) {
    assert_scim_error(
        &s.send(Method::GET, "/Schemas/urn:nope", None).await,
        404,
        None,
    );
    assert_scim_error(
        &s.send(Method::GET, "/ResourceTypes/Nope", None).await,
        404,
        None,
    );
    for path in ["/Schemas", "/ResourceTypes", "/ServiceProviderConfig"] {
        assert_scim_error(
            &s.send(Method::POST, path, Some(&json!({}))).await,
            405,
            None,
        );
        assert_scim_error(&s.send(Method::DELETE, path, None).await, 405, None);
    }
    let anonymous = Scim::new(s.base_url.clone(), "");
    assert_scim_error(
        &anonymous.send(Method::GET, "/Schemas", None).await,
        401,
        None,
    );
}

#[tokio::test]
async fn a_created_user_states_active_and_a_removed_active_stays_removed() {
    let app = spawn_app().await;
    let created = app.scim.create_user(&json!({"userName": "na@x.com"})).await;
    assert_eq!(
        created.body["active"], true,
        "a create without active is stored as active"
    );
    let id = created.body["id"].as_str().unwrap();
    let removed = app
        .scim
        .patch_user(id, json!([{"op": "remove", "path": "active"}]))
        .await;
    assert_eq!(removed.status, StatusCode::OK);
    assert!(removed.body.get("active").is_none());
    assert!(app.scim.get_user(id).await.body.get("active").is_none());
}

#[tokio::test]
async fn attributes_excluded_attributes_and_search_shape_the_response() {
    let app = spawn_app().await;
    let s = &app.scim;
    let id = s.create_user(&okta_user("p@x.com", "P", "Q")).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let only = s
        .send(
            Method::GET,
            &format!("/Users/{id}?attributes=userName,name.familyName"),
            None,
        )
        .await;
    let keys: Vec<&String> = only.body.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["id", "name", "schemas", "userName"]);
    assert_eq!(only.body["name"], json!({"familyName": "Q"}));

    let without = s
        .send(
            Method::GET,
            "/Users?excludedAttributes=emails,name&filter=userName%20eq%20%22p@x.com%22",
            None,
        )
        .await;
    let user = &without.body["Resources"][0];
    assert!(user.get("emails").is_none() && user.get("name").is_none());
    assert_eq!(user["userName"], "p@x.com");

    let search = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": "userName eq \"P@X.COM\"",
        "attributes": ["userName"],
        "startIndex": 1,
        "count": 10,
    });
    for path in ["/Users/.search", "/.search"] {
        let found = s.send(Method::POST, path, Some(&search)).await;
        assert_eq!(found.status, StatusCode::OK, "{path}");
        assert_eq!(found.body["totalResults"], 1);
        assert_eq!(
            found.body["Resources"][0],
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": id, "userName": "p@x.com"})
        );
    }
    let both = s
        .send(
            Method::GET,
            "/Users?attributes=userName&excludedAttributes=name",
            None,
        )
        .await;
    assert_scim_error(&both, 400, Some("invalidValue"));
}

#[tokio::test]
async fn etags_make_reads_conditional_and_writes_safe() {
    let app = spawn_app().await;
    let s = &app.scim;
    let id = s.create_user(&okta_user("e@x.com", "E", "T")).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let url = format!("{}/Users/{id}", s.base_url);
    let send = |method: Method, header: (&'static str, &'static str), body: Option<Value>| {
        let mut req = s
            .http
            .request(method, &url)
            .bearer_auth(&s.token)
            .header(header.0, header.1);
        if let Some(b) = body {
            req = req
                .header("content-type", "application/scim+json")
                .body(b.to_string());
        }
        req.send()
    };
    let unchanged = send(Method::GET, ("if-none-match", r#"W/"1""#), None)
        .await
        .unwrap();
    assert_eq!(unchanged.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(unchanged.headers()["etag"], r#"W/"1""#);
    assert_eq!(
        send(Method::GET, ("if-none-match", r#"W/"0""#), None)
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );

    let title = |t: &str| json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "path": "title", "value": t}]});
    let stale = send(
        Method::PATCH,
        ("if-match", r#"W/"7""#),
        Some(title("stale")),
    )
    .await
    .unwrap();
    assert_eq!(stale.status(), StatusCode::PRECONDITION_FAILED);
    let body: Value = stale.json().await.unwrap();
    assert_eq!(body["status"], "412");
    let fresh = send(
        Method::PATCH,
        ("if-match", r#"W/"1""#),
        Some(title("fresh")),
    )
    .await
    .unwrap();
    assert_eq!(fresh.status(), StatusCode::OK);
    assert_eq!(fresh.headers()["etag"], r#"W/"2""#);
    assert_eq!(
        send(
            Method::PUT,
            ("if-match", r#"W/"1""#),
            Some(okta_user("e@x.com", "E", "T"))
        )
        .await
        .unwrap()
        .status(),
        StatusCode::PRECONDITION_FAILED
    );
    assert_eq!(
        send(Method::DELETE, ("if-match", r#"W/"1""#), None)
            .await
            .unwrap()
            .status(),
        StatusCode::PRECONDITION_FAILED
    );
    assert_eq!(
        s.get_user(&id).await.body["title"],
        "fresh",
        "nothing stale was written"
    );
    assert_eq!(
        send(Method::DELETE, ("if-match", "*"), None)
            .await
            .unwrap()
            .status(),
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn a_single_user_get_ignores_list_parameters_but_honours_projections() {
    let app = spawn_app().await;
    let id = app
        .scim
        .create_user(&okta_user("g@x.com", "G", "H"))
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = app
        .scim
        .send(
            Method::GET,
            &format!("/Users/{id}?count=lots&filter=nonsense&attributes=userName"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["userName"], "g@x.com");
    assert!(r.body.get("name").is_none());
}

#[tokio::test]
async fn requests_carrying_entras_tenant_url_flag_work() {
    let app = spawn_app().await;
    // Whether Entra forwards the flag or not, the requests it builds work.
    let r = app.scim.create_user(&okta_user("e@x.com", "E", "X")).await;
    let id = r.body["id"].as_str().unwrap().to_owned();
    let r = app
        .scim
        .send(
            Method::GET,
            "/Users?aadOptscim062020&filter=userName%20eq%20%22e@x.com%22",
            None,
        )
        .await;
    assert_eq!(
        (r.status, r.body["totalResults"].clone()),
        (StatusCode::OK, json!(1))
    );
    let r = app
        .scim
        .send(Method::GET, &format!("/Users/{id}?aadOptscim062020"), None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = app
        .scim
        .send(
            Method::PATCH,
            &format!("/Users/{id}?aadOptscim062020"),
            Some(&json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "Replace", "path": "active", "value": "False"}],
            })),
        )
        .await;
    assert_eq!(
        (r.status, r.body["active"].clone()),
        (StatusCode::OK, json!(false))
    );
}

#[tokio::test]
async fn base_urls_pasted_with_a_trailing_slash_and_endpoints_in_any_case_work() {
    let app = spawn_app().await;
    // The base URL as an admin pastes it, with a slash the client then doubles.
    let pasted = Scim::new(format!("{}/", app.scim.base_url), &app.scim.token);
    let r = pasted
        .send(
            Method::POST,
            "/users",
            Some(&okta_user("slash@x.com", "S", "X")),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        r.headers["location"].to_str().unwrap(),
        format!("{}/Users/{id}", app.scim.base_url),
        "the location is where the routes spell it"
    );
    for path in [
        format!("/Users/{id}/"),
        format!("/USERS/{id}"),
        "/users?filter=userName%20eq%20%22slash@x.com%22".to_owned(),
        "/serviceproviderconfig".to_owned(),
        "/Schemas/".to_owned(),
        "/groups".to_owned(),
    ] {
        let r = pasted.send(Method::GET, &path, None).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.body);
    }
    let r = pasted
        .send(
            Method::GET,
            "/users?filter=userName%20eq%20%22slash@x.com%22",
            None,
        )
        .await;
    assert_eq!(r.body["totalResults"], 1, "the query survives the rewrite");
    let r = pasted
        .patch_user(
            &format!("{id}/"),
            json!([{"op": "replace", "path": "active", "value": false}]),
        )
        .await;
    assert_eq!(
        (r.status, &r.body["active"]),
        (StatusCode::OK, &json!(false))
    );
    // Tolerant about spelling, not about meaning: an unknown endpoint is still 404.
    let r = pasted.send(Method::GET, "/userz", None).await;
    assert_scim_error(&r, 404, None);
    let r = pasted
        .send(Method::DELETE, &format!("/users/{id}/"), None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn filters_as_clients_in_the_wild_write_them_find_what_they_mean() {
    let app = spawn_app().await;
    let mut jane = okta_user("jane@x.com", "Jane", "Young");
    jane["externalId"] = json!("jyoung");
    jane["emails"] =
        json!([{"value": "jane@x.com", "primary": true}, {"value": "J.Young@Home.example"}]);
    let jane = app.scim.create_user(&jane).await.body["id"].clone();
    app.scim
        .create_user(&okta_user("omar@x.com", "Omar", "O"))
        .await;
    app.scim
        .create_group(&json!({"displayName": "Email"}))
        .await;
    let found = |filter: &'static str| {
        let scim = app.scim.clone();
        async move {
            let r = scim.find_users(filter).await;
            assert_eq!(r.status, StatusCode::OK, "{filter}: {}", r.body);
            r.body["Resources"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u["userName"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    // Values without quotes are strings.
    assert_eq!(found("externalId eq jyoung").await, ["jane@x.com"]);
    assert_eq!(found("userName sw O").await, ["omar@x.com"]);
    assert_eq!(found("userName eq jane@x.com").await, ["jane@x.com"]);
    // `email` is any of the user's email values, compared as emails are.
    assert_eq!(
        found("email eq \"j.young@home.example\"").await,
        ["jane@x.com"]
    );
    assert_eq!(found("email eq jane@x.com").await, ["jane@x.com"]);
    assert_eq!(
        found("email co \"x.com\"").await,
        ["jane@x.com", "omar@x.com"]
    );
    let r = app
        .scim
        .send(
            Method::POST,
            "/.search",
            Some(&json!({"filter": "email eq \"jane@x.com\""})),
        )
        .await;
    assert_eq!(
        r.body["totalResults"], 1,
        "groups have no email: {}",
        r.body
    );
    assert_eq!(r.body["Resources"][0]["id"], jane);
    // Tolerant about spelling, never about meaning: unknown names are still errors.
    let r = app.scim.find_users("mail eq jane@x.com").await;
    assert_scim_error(&r, 400, Some("invalidFilter"));
}

/// userName, familyName, and emails as (value, primary).
type Person = (
    &'static str,
    Option<&'static str>,
    &'static [(&'static str, bool)],
);

#[tokio::test]
async fn lists_sort_by_any_attribute_in_either_order_and_page_stably() {
    let app = spawn_app().await;
    five_people(&app.scim).await;
    users_sort_by_name_sub_attribute_and_email_and_page(&app.scim).await;
    bad_sorts_are_refused_and_groups_sort_too(&app.scim).await;
}

/// Five users with userNames, family names and emails of every case and shape.
async fn five_people(s: &Scim) {
    let people: [Person; 5] = [
        (
            "d@x.com",
            Some("beta"),
            &[("z@x.com", false), ("a@x.com", true)],
        ),
        ("B@x.com", Some("Alpha"), &[("m@x.com", false)]),
        ("a@x.com", None, &[]),
        (
            "c@x.com",
            Some("alpha2"),
            &[("b@x.com", false), ("y@x.com", false)],
        ),
        ("E@x.com", Some("Beta"), &[("c@x.com", true)]),
    ];
    for (user_name, family, emails) in people {
        let mut body = json!({"userName": user_name});
        if let Some(f) = family {
            body["name"] = json!({"familyName": f});
        }
        if !emails.is_empty() {
            body["emails"] = emails
                .iter()
                .map(|(v, p)| json!({"value": v, "primary": p}))
                .collect();
        }
        assert_eq!(s.create_user(&body).await.status, StatusCode::CREATED);
    }
}

/// The userNames of a list's page.
fn user_names(body: &Value) -> Vec<String> {
    body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["userName"].as_str().unwrap().to_owned())
        .collect()
}

/// `GET /Users?query`, which must succeed: its body.
async fn listed(s: &Scim, query: &str) -> Value {
    let r = s.send(Method::GET, &format!("/Users?{query}"), None).await;
    assert_eq!(r.status, StatusCode::OK, "{query}: {}", r.body);
    r.body
}

/// userName case-insensitively, a sub-attribute (equal keys keep creation order,
/// missing last), a multi-valued attribute (its primary value, else the first), in
/// either order; pages of a sorted list join up to the whole list; with a filter and
/// through .search.
async fn users_sort_by_name_sub_attribute_and_email_and_page(s: &Scim) {
    let list = |query: &'static str| listed(s, query);
    // userName: case-insensitive.
    let asc = user_names(&list("sortBy=userName").await);
    assert_eq!(asc, ["a@x.com", "B@x.com", "c@x.com", "d@x.com", "E@x.com"]);
    let desc = user_names(&list("sortBy=userName&sortOrder=descending").await);
    assert_eq!(
        desc,
        ["E@x.com", "d@x.com", "c@x.com", "B@x.com", "a@x.com"]
    );
    // A sub-attribute; equal keys ("beta"/"Beta") keep creation order; missing last.
    let by_family = user_names(&list("sortBy=name.familyName").await);
    assert_eq!(
        by_family,
        ["B@x.com", "c@x.com", "d@x.com", "E@x.com", "a@x.com"]
    );
    let by_family_desc = user_names(&list("sortBy=name.familyName&sortOrder=descending").await);
    assert_eq!(
        by_family_desc,
        ["a@x.com", "d@x.com", "E@x.com", "c@x.com", "B@x.com"]
    );
    // Multi-valued: the primary value, else the first.
    let by_email = user_names(&list("sortBy=emails.value").await);
    assert_eq!(
        by_email,
        ["d@x.com", "c@x.com", "E@x.com", "B@x.com", "a@x.com"]
    );
    // Pages of a sorted list join up to the whole list.
    let mut paged = Vec::new();
    for start in [1, 3, 5] {
        let query = format!("sortBy=userName&startIndex={start}&count=2");
        paged.extend(user_names(&listed(s, &query).await));
    }
    assert_eq!(paged, asc);
    // With a filter, and through .search.
    let filtered = user_names(&list("filter=userName%20sw%20%22b%22%20or%20userName%20sw%20%22e%22&sortBy=userName&sortOrder=descending").await);
    assert_eq!(filtered, ["E@x.com", "B@x.com"]);
    let r = s
        .send(
            Method::POST,
            "/Users/.search",
            Some(&json!({"sortBy": "meta.created", "sortOrder": "descending", "count": 1})),
        )
        .await;
    assert_eq!(user_names(&r.body), ["E@x.com"]);
}

/// Bad sort parameters are 400 invalidValue; groups sort too; the root search refuses
/// to sort across types.
async fn bad_sorts_are_refused_and_groups_sort_too(s: &Scim) {
    for bad in [
        "sortBy=nosuch",
        "sortBy=name",
        "sortBy=userName&sortOrder=sideways",
        "sortBy=emails[type%20eq%20%22work%22]",
    ] {
        let r = s.send(Method::GET, &format!("/Users?{bad}"), None).await;
        assert_scim_error(&r, 400, Some("invalidValue"));
    }
    // Groups sort too; the root search refuses to sort across types.
    for name in ["beta", "Alpha", "gamma"] {
        s.create_group(&json!({"displayName": name})).await;
    }
    let r = s
        .send(Method::GET, "/Groups?sortBy=displayName", None)
        .await;
    let groups: Vec<&str> = r.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["displayName"].as_str().unwrap())
        .collect();
    assert_eq!(groups, ["Alpha", "beta", "gamma"]);
    let r = s
        .send(Method::POST, "/.search", Some(&json!({"sortBy": "id"})))
        .await;
    assert_scim_error(&r, 400, Some("invalidValue"));
}

#[tokio::test]
async fn bulk_runs_operations_in_dependency_order_and_reports_each() {
    let app = spawn_app().await;
    let existing = app
        .scim
        .create_user(&okta_user("taken@x.com", "T", "X"))
        .await;
    let existing_id = existing.body["id"].as_str().unwrap().to_owned();
    let r = app
        .scim
        .send(Method::GET, "/ServiceProviderConfig", None)
        .await;
    assert_eq!(r.body["bulk"]["supported"], true);
    assert_eq!(r.body["bulk"]["maxOperations"], 1000);

    let results = a_bulk_of_dependent_operations_reports_each(&app.scim, &existing_id).await;
    its_operations_took_effect_in_order(&app.scim, &results, &existing_id).await;
    fail_on_errors_stops_the_bulk(&app.scim).await;
    a_malformed_or_oversized_bulk_runs_nothing(&app.scim).await;
}

/// Users, groups naming users created later in the request, a duplicate, a PATCH and
/// a DELETE: each reported with its status; an operation naming a failed creation
/// fails without running. The results.
async fn a_bulk_of_dependent_operations_reports_each(s: &Scim, existing_id: &str) -> Vec<Value> {
    // `bulkId:` outside a reference is text, not a reference to wait for.
    let mut bob = okta_user("bob@x.com", "Bob", "B");
    bob["title"] = json!("bulkId:x");
    let request = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [
            // The group names users created later in the same request.
            {"method": "POST", "bulkId": "eng", "path": "/Groups",
             "data": {"displayName": "Eng", "members": [{"value": "bulkId:ann"}, {"value": "bulkId:bob"}]}},
            {"method": "POST", "bulkId": "ann", "path": "/Users", "data": okta_user("ann@x.com", "Ann", "A")},
            {"method": "POST", "bulkId": "bob", "path": "/Users", "data": bob},
            {"method": "POST", "bulkId": "dup", "path": "/Users", "data": okta_user("TAKEN@x.com", "D", "D")},
            {"method": "PATCH", "path": "/Users/bulkId:ann",
             "data": {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                      "Operations": [{"op": "replace", "value": {"active": false}}]}},
            {"method": "DELETE", "path": format!("/Users/{existing_id}"), "version": "W/\"1\""},
            {"method": "POST", "bulkId": "team", "path": "/Groups",
             "data": {"displayName": "Dup fans", "members": [{"value": "bulkId:dup"}]}},
        ]
    });
    let r = s.send(Method::POST, "/Bulk", Some(&request)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.body["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:BulkResponse"])
    );
    let results = r.body["Operations"].as_array().unwrap().clone();
    let status = |bulk_or_method: &str| -> String {
        results
            .iter()
            .find(|o| {
                o["bulkId"] == bulk_or_method
                    || (o["bulkId"].is_null() && o["method"] == bulk_or_method)
            })
            .map(|o| o["status"].as_str().unwrap().to_owned())
            .unwrap()
    };
    assert_eq!(results.len(), 7);
    assert_eq!(status("eng"), "201");
    assert_eq!(status("ann"), "201");
    assert_eq!(status("bob"), "201");
    let bob = results.iter().find(|o| o["bulkId"] == "bob").unwrap();
    let bob_id = bob["location"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap();
    assert_eq!(s.get_user(bob_id).await.body["title"], "bulkId:x");
    assert_eq!(status("PATCH"), "200");
    assert_eq!(status("DELETE"), "204");
    assert_eq!(status("dup"), "409");
    let dup = results.iter().find(|o| o["bulkId"] == "dup").unwrap();
    assert_eq!(dup["response"]["scimType"], "uniqueness");
    // An operation naming a failed creation fails without running.
    assert_eq!(status("team"), "409");
    assert!(
        results
            .iter()
            .filter(|o| o["status"].as_str().unwrap().starts_with('2'))
            .all(|o| o["location"].is_string())
    );

    results
}

/// The group holds both users it named, the PATCH deactivated Ann, the DELETE removed
/// the existing user, and the duplicate was not created.
async fn its_operations_took_effect_in_order(s: &Scim, results: &[Value], existing_id: &str) {
    let eng = results.iter().find(|o| o["bulkId"] == "eng").unwrap();
    let group = s
        .send(
            Method::GET,
            eng["location"]
                .as_str()
                .unwrap()
                .rsplit_once("/Groups")
                .map(|(_, p)| format!("/Groups{p}"))
                .unwrap()
                .as_str(),
            None,
        )
        .await;
    let members: Vec<&str> = group.body["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["value"].as_str().unwrap())
        .collect();
    let ann = results.iter().find(|o| o["bulkId"] == "ann").unwrap()["location"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    assert!(
        members.contains(&ann.as_str()) && members.len() == 2,
        "{members:?}"
    );
    assert_eq!(s.get_user(&ann).await.body["active"], false);
    assert_eq!(s.get_user(existing_id).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        s.find_users("userName eq \"dup\"").await.body["totalResults"],
        0
    );
}

/// failOnErrors: processing stops once that many operations failed.
async fn fail_on_errors_stops_the_bulk(s: &Scim) {
    let request = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "failOnErrors": 1,
        "Operations": [
            {"method": "POST", "bulkId": "a", "path": "/Users", "data": okta_user("ann@x.com", "A", "A")},
            {"method": "POST", "bulkId": "b", "path": "/Users", "data": okta_user("new@x.com", "N", "N")},
        ]
    });
    let r = s.send(Method::POST, "/Bulk", Some(&request)).await;
    let results = r.body["Operations"].as_array().unwrap();
    assert_eq!(results.len(), 1, "{}", r.body);
    assert_eq!(results[0]["status"], "409");
    assert_eq!(
        s.find_users("userName eq \"new@x.com\"").await.body["totalResults"],
        0
    );
}

/// A malformed request runs nothing; too many operations is 413.
async fn a_malformed_or_oversized_bulk_runs_nothing(s: &Scim) {
    let r = s.send(Method::POST, "/Bulk", Some(&json!({"Operations": [{"method": "POST", "path": "/Users", "data": okta_user("z@x.com", "Z", "Z")}]}))).await;
    assert_scim_error(&r, 400, Some("invalidValue"));
    assert_eq!(
        s.find_users("userName eq \"z@x.com\"").await.body["totalResults"],
        0
    );
    let many: Vec<Value> = (0..1001)
        .map(|i| json!({"method": "DELETE", "path": format!("/Users/{i}")}))
        .collect();
    let r = s
        .send(Method::POST, "/Bulk", Some(&json!({"Operations": many})))
        .await;
    assert_scim_error(&r, 413, None);
}

#[tokio::test]
async fn metrics_count_requests_by_route_status_and_directory_kind() {
    let app = spawn_app().await;
    app.scim.create_user(&okta_user("m@x.com", "M", "X")).await;
    app.scim.find_users("userName eq \"m@x.com\"").await;
    app.scim.find_users("userName eq \"m@x.com\"").await;
    let wrong = Scim::new(&app.scim.base_url, "scim_wrong");
    assert_eq!(
        wrong.find_users("userName eq \"x\"").await.status,
        StatusCode::UNAUTHORIZED
    );
    published_events(&app).await;

    let read = || async {
        let res = reqwest::get(&app.metrics).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert!(
            res.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/openmetrics-text")
        );
        res.text().await.unwrap()
    };
    let text = read().await;
    let users = r#"route="/scim/v2/{directory_id}/Users""#;
    assert_eq!(
        metric(
            &text,
            &format!(r#"scim_requests_total{{{users},method="POST",status="201",idp="okta"}}"#)
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        metric(
            &text,
            &format!(r#"scim_requests_total{{{users},method="GET",status="200",idp="okta"}}"#)
        ),
        Some(2.0)
    );
    assert_eq!(
        metric(
            &text,
            &format!(
                r#"scim_requests_total{{{users},method="GET",status="401",idp="unauthenticated"}}"#
            )
        ),
        Some(1.0)
    );
    assert_eq!(
        metric(
            &text,
            &format!(r#"scim_request_duration_seconds_count{{{users},method="GET"}}"#)
        ),
        Some(3.0)
    );
    assert_eq!(
        metric(&text, r#"scim_token_cache_lookups_total{result="miss"}"#),
        Some(2.0),
        "the wrong token and the first lookup"
    );
    assert_eq!(
        metric(&text, r#"scim_token_cache_lookups_total{result="hit"}"#),
        Some(2.0)
    );
    assert_eq!(metric(&text, "scim_events_published_total"), Some(1.0));
    assert_eq!(metric(&text, "scim_request_log_dropped_total"), Some(0.0));
    assert!(metric(&text, "scim_outbox_events").is_some());
    assert!(metric(&text, "scim_outbox_oldest_event_age_seconds").is_some());
}

/// The ids and userNames of one page of users, and its totalResults.
async fn user_page(s: &Scim, start: usize, count: usize) -> (i64, Vec<(String, String)>) {
    user_page_of(s, "", start, count).await
}

/// [`user_page`] of a list with a query of its own (`&filter=…`).
async fn user_page_of(
    s: &Scim,
    query: &str,
    start: usize,
    count: usize,
) -> (i64, Vec<(String, String)>) {
    let r = s
        .send(
            Method::GET,
            &format!("/Users?startIndex={start}&count={count}{query}"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let rows = r.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["id"].as_str().unwrap().to_owned(),
                u["userName"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    (r.body["totalResults"].as_i64().unwrap(), rows)
}

/// Okta's import walks the directory page by page; each page resumes after the last
/// user of the one before, so a user deleted from an earlier page mid-walk makes no
/// one be skipped (skipping `startIndex - 1` rows would skip one), and totalResults is
/// the directory's kept count.
#[tokio::test]
async fn an_import_walk_resumes_after_the_previous_page() {
    let app = spawn_app().await;
    let s = &app.scim;
    for i in 0..25 {
        let r = s
            .create_user(&okta_user(&format!("u{i:02}@acme.com"), "U", "Ser"))
            .await;
        assert_eq!(r.status, StatusCode::CREATED);
    }
    let (total, first) = user_page(s, 1, 10).await;
    assert_eq!((total, first.len()), (25, 10));
    // Deprovisioned while the walk is under way: one of the users already read.
    let r = s.delete_user(&first[3].0).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let (total, second) = user_page(s, 11, 10).await;
    assert_eq!(total, 24);
    let (_, third) = user_page(s, 21, 10).await;
    let seen: Vec<String> = [&first, &second, &third]
        .iter()
        .flat_map(|p| p.iter().map(|(_, name)| name.clone()))
        .collect();
    let all: Vec<String> = (0..25).map(|i| format!("u{i:02}@acme.com")).collect();
    assert_eq!(seen, all, "every user once, in creation order");
    // The page after the last one (the walk read 25 users, one since deleted) is empty,
    // and still counts the directory.
    assert_eq!(user_page(s, 26, 10).await, (24, Vec::new()));

    // A page asked for out of order skips rows, as before.
    let (total, jumped) = user_page(s, 5, 3).await;
    assert_eq!(total, 24);
    assert_eq!(
        jumped.iter().map(|(_, n)| n.as_str()).collect::<Vec<_>>(),
        ["u05@acme.com", "u06@acme.com", "u07@acme.com"]
    );
    // A filtered list counts its matches.
    let r = s
        .send(Method::GET, "/Users?filter=userName%20sw%20%22u1%22", None)
        .await;
    assert_eq!(r.body["totalResults"], 10, "{:?}", r.body);
}

/// A walk through a filter resumes too, and each page after the first reports the
/// total the first one counted: a user deleted from an earlier page mid-walk makes no
/// one be skipped, and the matches are not counted again on every page. A new walk
/// counts them.
#[tokio::test]
async fn a_filtered_walk_resumes_with_the_total_it_began_with() {
    let app = spawn_app().await;
    let s = &app.scim;
    let mut active = Vec::new();
    for i in 0..30 {
        let name = format!("f{i:02}@acme.com");
        let r = s.create_user(&okta_user(&name, "F", "Ilter")).await;
        assert_eq!(r.status, StatusCode::CREATED);
        if i % 3 == 0 {
            let id = r.body["id"].as_str().unwrap();
            let off = json!([{"op": "replace", "value": {"active": false}}]);
            assert_eq!(s.patch_user(id, off).await.status, StatusCode::OK);
        } else {
            active.push(name);
        }
    }
    let query = "&filter=active%20eq%20true";
    let (total, first) = user_page_of(s, query, 1, 8).await;
    assert_eq!((total, first.len()), (20, 8));
    let r = s.delete_user(&first[2].0).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let (total, second) = user_page_of(s, query, 9, 8).await;
    assert_eq!(total, 20, "the walk's total");
    let (total, third) = user_page_of(s, query, 17, 8).await;
    assert_eq!((total, third.len()), (20, 4));
    let seen: Vec<String> = [&first, &second, &third]
        .iter()
        .flat_map(|p| p.iter().map(|(_, name)| name.clone()))
        .collect();
    assert_eq!(seen, active, "every match once, in creation order");
    assert_eq!(
        user_page_of(s, query, 1, 8).await.0,
        19,
        "a new walk counts"
    );
    // Another filter's walk does not resume from this one's marks.
    let (total, other) = user_page_of(s, "&filter=active%20eq%20false", 9, 8).await;
    assert_eq!((total, other.len()), (10, 2));
}

/// The counts a directory keeps follow every kind of write, and go with the directory.
#[tokio::test]
async fn kept_counts_follow_every_write() {
    let app = spawn_app().await;
    let s = &app.scim;
    let mut ids = Vec::new();
    for i in 0..6 {
        let r = s
            .create_user(&okta_user(&format!("k{i}@acme.com"), "K", "Ept"))
            .await;
        ids.push(r.body["id"].as_str().unwrap().to_owned());
    }
    let bulk = s
        .send(
            Method::POST,
            "/Bulk",
            Some(&json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
                "Operations": [
                    {"method": "POST", "path": "/Users", "bulkId": "a",
                     "data": okta_user("b1@acme.com", "B", "One")},
                    {"method": "POST", "path": "/Groups", "bulkId": "g",
                     "data": {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                              "displayName": "Bulk group"}},
                ],
            })),
        )
        .await;
    assert_eq!(bulk.status, StatusCode::OK, "{:?}", bulk.body);
    let g = s
        .create_group(&json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Gone",
        }))
        .await;
    s.send(
        Method::DELETE,
        &format!("/Groups/{}", g.body["id"].as_str().unwrap()),
        None,
    )
    .await;
    s.patch_user(
        &ids[0],
        json!([{"op": "replace", "value": {"active": false}}]),
    )
    .await;
    s.patch_user(
        &ids[1],
        json!([{"op": "replace", "value": {"active": false}}]),
    )
    .await;
    s.patch_user(
        &ids[1],
        json!([{"op": "replace", "value": {"active": true}}]),
    )
    .await;
    s.delete_user(&ids[2]).await;

    let dir: Uuid = s.base_url.rsplit('/').next().unwrap().parse().unwrap();
    let kept: (i64, i64, i64) = sqlx::query_as(
        "SELECT sum(users)::int8, sum(active_users)::int8, sum(groups)::int8
         FROM directory_counts WHERE directory_id = $1",
    )
    .bind(dir)
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    let counted: (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM scim_users WHERE directory_id = $1),
                (SELECT count(*) FROM scim_users WHERE directory_id = $1 AND active),
                (SELECT count(*) FROM scim_groups WHERE directory_id = $1)",
    )
    .bind(dir)
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(kept, counted);
    assert_eq!(counted, (6, 5, 1));
    let r = s.send(Method::GET, "/Groups", None).await;
    assert_eq!(r.body["totalResults"], 1);

    // Deleting the directory takes its counts with it.
    let (status, body) = app
        .admin
        .send(Method::DELETE, &format!("/directories/{dir}"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let left: i64 =
        sqlx::query_scalar("SELECT count(*) FROM directory_counts WHERE directory_id = $1")
            .bind(dir)
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    assert_eq!(left, 0);
}
