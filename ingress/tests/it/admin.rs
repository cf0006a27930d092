//! The admin API in-process: directories, token lifecycle, trusted domains, seats,
//! the request log, audit, and deleting a directory with its events.

use crate::common::{TestApp, metrics_text, published_events, spawn_app, spawn_app_with};
use reqwest::{Method, StatusCode};
use scim_admin_api::{ErrorRate, Pipeline, RequestEntry};
use scim_tests::client::{Scim, okta_user};
use scim_tests::event_schema;
use serde_json::{Value, json};
use std::time::Duration;

/// A new directory through the API: (id, SCIM client with its first token).
async fn directory(app: &TestApp, name: &str) -> (String, Scim) {
    let created = app.admin.create_directory(name, "okta").await;
    let token = &created.token.token;
    assert!(token.starts_with("scim_"), "recognizable prefix: {token}");
    assert!(token.starts_with(&created.token.prefix));
    let base = &created.directory.scim_base_url;
    (created.directory.id.to_string(), Scim::new(base, token))
}

async fn list_users_status(scim: &Scim) -> StatusCode {
    scim.send(Method::GET, "/Users?count=1", None).await.status
}

#[tokio::test]
async fn the_admin_api_wants_an_operator_token_and_answers_json() {
    let app = spawn_app().await;
    for token in ["", "wrong", &app.scim.token] {
        let (status, body) = app
            .admin
            .with_token(token)
            .send(Method::GET, "/directories", None)
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "token {token:?}");
        assert!(body["error"].is_string(), "{body}");
    }
    let (status, body) = app
        .admin
        .send(Method::GET, "/directories/not-a-uuid", None)
        .await;
    assert_eq!(
        (status, body["error"].is_string()),
        (StatusCode::NOT_FOUND, true)
    );
    let (status, _) = app
        .admin
        .send(
            Method::GET,
            &format!("/directories/{}", uuid::Uuid::now_v7()),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = app
        .admin
        .send(
            Method::POST,
            "/directories",
            Some(json!({"name": "x", "idp": "ldap"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = app
        .admin
        .send(Method::POST, "/directories", Some(json!({"nom": "x"})))
        .await;
    assert_eq!(
        (status, body["error"].is_string()),
        (StatusCode::BAD_REQUEST, true)
    );
    let (status, body) = app
        .admin
        .send(
            Method::POST,
            "/directories",
            Some(json!({"name": "a\u{0}b"})),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str().map(|e| e.contains("NUL"))),
        (StatusCode::BAD_REQUEST, Some(true)),
        "NUL cannot be stored: {body}"
    );
    let (status, _) = app.admin.send(Method::PATCH, "/directories", None).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    // What the framework refuses (a query parameter that does not parse, one the
    // endpoint does not know, a path that is not UTF-8) is JSON too, and a 400; so is a
    // page out of range.
    let (directory, _) = directory(&app, "paged").await;
    for path in [
        "/audit?limit=abc",
        "/audit?colour=blue",
        "/dead-letters?limit=-1",
        "/dead-letters?limit=0",
        "/directories/%FF/members",
        &format!("/directories/{directory}/members?offset=-1"),
    ] {
        let (status, body) = app.admin.send(Method::GET, path, None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        assert!(body["error"].is_string(), "{path}: {body}");
    }
}

#[tokio::test]
async fn data_the_database_refuses_is_a_400_not_an_outage() {
    let app = spawn_app().await;
    let (id, _) = directory(&app, "Acme").await;
    let team = app.admin.create_team(&id, "Sales").await;
    // A member status that is none of the three is the request's mistake.
    let path = format!("/directories/{id}/members?status=gone");
    let (status, body) = app.admin.send(Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["error"].as_str().unwrap().contains("active"), "{body}");
    let groups = format!("/directories/{id}/teams/{}/groups", team.id);
    let (status, body) = app
        .admin
        .send(
            Method::PUT,
            &groups,
            Some(json!({"groups": ["x".repeat(8000)]})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("at most 1024"),
        "{body}"
    );
    // Past the edge, the database's own refusal is a 400 as well.
    sqlx::query(
        "ALTER TABLE team_group_mappings ADD CONSTRAINT short CHECK (length(group_name) < 10)",
    )
    .execute(&app.db.pool)
    .await
    .unwrap();
    let (status, body) = app
        .admin
        .send(
            Method::PUT,
            &groups,
            Some(json!({"groups": ["Eleven chars"]})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("cannot be stored"),
        "{body}"
    );
}

#[tokio::test]
async fn tokens_rotate_with_two_live_and_a_revoked_token_is_refused_at_once() {
    let app = spawn_app().await;
    let (dir, first) = directory(&app, "Rotating").await;
    assert_eq!(list_users_status(&first).await, StatusCode::OK);

    // Rotation: a second token works alongside the first; a third is refused.
    let second = app.admin.issue_token(&dir, None).await.token;
    let second_client = Scim::new(&first.base_url, &second.token);
    assert_eq!(list_users_status(&second_client).await, StatusCode::OK);
    assert_eq!(list_users_status(&first).await, StatusCode::OK);
    let (status, body) = app
        .admin
        .send(Method::POST, &format!("/directories/{dir}/tokens"), None)
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    // The list shows both, by prefix, never the secret; the used one has a last use.
    let (_, tokens) = app
        .admin
        .send(Method::GET, &format!("/directories/{dir}/tokens"), None)
        .await;
    let tokens = tokens.as_array().unwrap().clone();
    assert_eq!(tokens.len(), 2);
    assert!(!tokens.iter().any(|t| t.to_string().contains(&second.token)));
    let first_id = app
        .admin
        .tokens(&dir)
        .await
        .into_iter()
        .find(|t| t.id != second.id)
        .unwrap()
        .id;
    scim_tests::eventually(Duration::from_secs(5), "last use recorded", || async {
        let tokens = app.admin.tokens(&dir).await;
        tokens
            .iter()
            .find(|t| t.id == first_id)?
            .last_used_at
            .map(|_| ())
    })
    .await;

    // Revoking the old token: refused on the very next request (the cache held it).
    app.admin.revoke_token(&dir, first_id).await;
    let r = first.send(Method::GET, "/Users?count=1", None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.body["status"], "401");
    assert_eq!(list_users_status(&second_client).await, StatusCode::OK);
    let (status, _) = app
        .admin
        .send(
            Method::DELETE,
            &format!("/directories/{dir}/tokens/{first_id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "already revoked");
}

#[tokio::test]
async fn an_expired_token_is_refused_saying_so_and_one_near_expiry_is_announced_once() {
    let app = spawn_app().await;
    let (dir, first) = directory(&app, "Expiring").await;
    let tokens = format!("/directories/{dir}/tokens");
    let first_id = app.admin.tokens(&dir).await[0].id;
    app.admin.revoke_token(&dir, first_id).await;
    let past = json!({"expires_at": "2020-01-01T00:00:00Z"});
    let (status, body) = app.admin.send(Method::POST, &tokens, Some(past)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["error"].as_str().unwrap().contains("future"), "{body}");

    // Two tokens that expire in a day: within the warning window.
    let in_a_day = time::OffsetDateTime::now_utc() + time::Duration::days(1);
    let in_a_day = in_a_day
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let mut issued = Vec::new();
    for _ in 0..2 {
        let request = json!({"expires_at": in_a_day});
        let token = app.admin.issue_token(&dir, Some(request)).await.token;
        assert!(token.expires_at.is_some(), "{token:?}");
        issued.push(token);
    }
    let live = Scim::new(&first.base_url, &issued[0].token);
    assert_eq!(list_users_status(&live).await, StatusCode::OK);
    // Time passes for the other one before its first use.
    sqlx::query("UPDATE tokens SET expires_at = now() - interval '1 minute' WHERE id = $1")
        .bind(issued[1].id)
        .execute(&app.db.pool)
        .await
        .unwrap();
    let expired = Scim::new(&first.base_url, &issued[1].token);
    let r = expired.send(Method::GET, "/Users?count=1", None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
    let detail = r.body["detail"].as_str().unwrap();
    assert!(detail.contains("expired"), "{detail}");
    // A wrong secret under the same token id is not told anything about the token.
    let mut forged = issued[1].token.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == '0' { '1' } else { '0' });
    let r = Scim::new(&first.base_url, forged)
        .send(Method::GET, "/Users?count=1", None)
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(!r.body["detail"].as_str().unwrap().contains("expired"));
    // The admin sees why in the request log, and the list says it expired.
    scim_tests::eventually(Duration::from_secs(5), "the 401 logged", || async {
        let entries = app.admin.requests(&dir, "?status=401").await;
        entries
            .iter()
            .any(|e| e.detail.as_ref().is_some_and(|d| d.contains("expired")))
            .then_some(())
    })
    .await;
    let listed = app.admin.tokens(&dir).await;
    assert!(
        listed
            .iter()
            .all(|t| t.revoked_at.is_some() || t.expires_at.is_some()),
        "{listed:?}"
    );

    // The live one is announced once, with its expiry; the expired one is counted.
    let announced = scim_tests::eventually(Duration::from_secs(10), "the announcement", || async {
        let events = published_events(&app).await;
        let found: Vec<Value> = events
            .into_iter()
            .map(|e| e.payload)
            .filter(|e| e["type"] == "directory.token_expiring")
            .collect();
        (!found.is_empty()).then_some(found)
    })
    .await;
    assert_eq!(announced.len(), 1, "{announced:?}");
    assert_eq!(announced[0]["resource"]["token"]["id"], json!(issued[0].id));
    assert!(announced[0]["resource"]["token"]["expires_at"].is_string());
    assert!(
        event_schema().is_valid(&announced[0]),
        "the announcement follows the contract"
    );
    let metrics = metrics_text(&app).await;
    assert_eq!(
        scim_tests::metric(&metrics, "scim_tokens_expiring"),
        Some(1.0)
    );
    assert_eq!(
        scim_tests::metric(&metrics, "scim_tokens_expired"),
        Some(1.0)
    );
}

#[tokio::test]
async fn a_token_never_reaches_another_directorys_users() {
    let app = spawn_app().await;
    let (_, a) = directory(&app, "A").await;
    let (_, b) = directory(&app, "B").await;
    let user = b.create_user(&okta_user("b@x.com", "B", "B")).await;
    let b_user = user.body["id"].as_str().unwrap();
    // Under A's base URL, B's user does not exist.
    assert_eq!(a.get_user(b_user).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        a.send(Method::DELETE, &format!("/Users/{b_user}"), None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // Under B's base URL, A's token is not accepted.
    let a_on_b = Scim::new(&b.base_url, &a.token);
    assert_eq!(
        a_on_b.get_user(b_user).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(b.get_user(b_user).await.status, StatusCode::OK);
}

#[tokio::test]
async fn trusted_domains_refuse_users_elsewhere_and_name_the_domain() {
    let app = spawn_app().await;
    let (dir, scim) = directory(&app, "Domains").await;
    let changed = app
        .admin
        .set(
            &dir,
            "trusted-domains",
            json!({"domains": ["ACME.com", "@acme.io"]}),
        )
        .await;
    assert_eq!(changed.trusted_domains, ["acme.com", "acme.io"]);
    let (status, _) = app
        .admin
        .send(
            Method::PUT,
            &format!("/directories/{dir}/trusted-domains"),
            Some(json!({"domains": ["not a domain"]})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let r = scim
        .create_user(&okta_user("eve@evil.com", "Eve", "E"))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert_eq!(r.body["scimType"], "invalidValue");
    assert!(
        r.body["detail"].as_str().unwrap().contains("evil.com"),
        "{}",
        r.body
    );
    assert_eq!(
        scim.find_users("userName eq \"eve@evil.com\"").await.body["totalResults"],
        0
    );

    let r = scim
        .create_user(&okta_user("jane@acme.com", "Jane", "D"))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_owned();
    // Adding an address elsewhere is refused and changes nothing.
    let r = scim
        .patch_user(&id, json!([{"op": "add", "path": "emails", "value": [{"value": "jane@gmail.com", "type": "home"}]}]))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert!(r.body["detail"].as_str().unwrap().contains("gmail.com"));
    let now = scim.get_user(&id).await.body;
    assert_eq!(now["emails"].as_array().unwrap().len(), 1);
    assert_eq!(now["meta"]["version"], "W/\"1\"");
    // Other changes of a trusted user go through.
    let r = scim
        .patch_user(
            &id,
            json!([{"op": "replace", "path": "title", "value": "CTO"}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

#[tokio::test]
async fn the_seat_limit_refuses_activations_past_it_and_writes_nothing() {
    let app = spawn_app().await;
    let (dir, scim) = directory(&app, "Seats").await;
    let changed = app
        .admin
        .set(&dir, "seat-limit", json!({"seat_limit": 5}))
        .await;
    assert_eq!(changed.seat_limit, Some(5));

    // Ten creates at once against five seats: exactly five get in.
    let creates = (0..10).map(|i| {
        let scim = scim.clone();
        async move {
            scim.create_user(&okta_user(&format!("u{i}@x.com"), "U", "U"))
                .await
        }
    });
    let replies = futures::future::join_all(creates).await;
    let created = replies
        .iter()
        .filter(|r| r.status == StatusCode::CREATED)
        .count();
    assert_eq!(created, 5);
    let refused: Vec<&_> = replies
        .iter()
        .filter(|r| r.status != StatusCode::CREATED)
        .collect();
    for r in &refused {
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
        assert!(
            r.body["detail"]
                .as_str()
                .unwrap()
                .contains("over capacity (5 of 5 seats in use)"),
            "{}",
            r.body
        );
    }
    assert_eq!(
        scim.find_users("userName sw \"u\"").await.body["totalResults"],
        5
    );

    // An inactive user takes no seat; reactivating one needs a free seat.
    let mut inactive = okta_user("later@x.com", "L", "L");
    inactive["active"] = json!(false);
    let r = scim.create_user(&inactive).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let later = r.body["id"].as_str().unwrap().to_owned();
    let reactivate = json!([{"op": "replace", "value": {"active": true}}]);
    let r = scim.patch_user(&later, reactivate.clone()).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert_eq!(scim.get_user(&later).await.body["active"], false);

    let first = replies
        .iter()
        .find(|r| r.status == StatusCode::CREATED)
        .unwrap()
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = scim
        .patch_user(
            &first,
            json!([{"op": "replace", "value": {"active": false}}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = scim.patch_user(&later, reactivate).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    // Lifting the limit lets everyone in.
    app.admin
        .set(&dir, "seat-limit", json!({"seat_limit": null}))
        .await;
    let r = scim.create_user(&okta_user("u99@x.com", "U", "U")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let shown = app.admin.directory(&dir).await;
    assert_eq!((shown.users, shown.active_users), (7, 6));
}

#[tokio::test]
async fn the_request_log_records_a_failed_push_with_the_detail_returned() {
    let app = spawn_app().await;
    let (dir, scim) = directory(&app, "Logged").await;
    let r = scim.create_user(&okta_user("dup@x.com", "D", "D")).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let r = scim.create_user(&okta_user("dup@x.com", "D", "D")).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let detail = r.body["detail"].as_str().unwrap().to_owned();
    let wrong = Scim::new(&scim.base_url, "scim_wrong");
    assert_eq!(list_users_status(&wrong).await, StatusCode::UNAUTHORIZED);
    scim.find_users("userName eq \"dup@x.com\"").await;
    // A client that puts its token in the URL as well.
    let in_url = format!("/Users?count=1&access_token={}", scim.token);
    scim.send(Method::GET, &in_url, None).await;

    let entries = scim_tests::eventually(Duration::from_secs(5), "five log entries", || async {
        let (_, all) = app
            .admin
            .send(Method::GET, &format!("/directories/{dir}/requests"), None)
            .await;
        let all = all.as_array()?.clone();
        (all.len() == 5).then_some(all)
    })
    .await;
    // Newest first. Of the query, the filter's shape and the paging are kept: neither
    // the person looked up nor the token.
    assert_eq!(
        entries[0]["path"],
        format!("/scim/v2/{dir}/Users?count=1&access_token=…")
    );
    assert_eq!(entries[1]["method"], "GET");
    assert_eq!(
        entries[1]["path"],
        format!("/scim/v2/{dir}/Users?filter=userName eq \"…\"&startIndex=1&count=100")
    );
    assert_eq!(entries[2]["status"], 401);
    assert_eq!(entries[3]["status"], 409);
    assert_eq!(entries[3]["method"], "POST");
    assert_eq!(entries[3]["detail"], detail.as_str());
    assert_eq!(entries[4]["status"], 201);
    assert!(entries[4]["detail"].is_null());
    assert!(
        entries
            .iter()
            .all(|e| e["duration_ms"].as_f64().unwrap() >= 0.0)
    );
    assert!(
        !entries.iter().any(|e| e.to_string().contains(&scim.token)),
        "no token in the log"
    );
    assert!(
        !entries
            .iter()
            .any(|e| e["path"].to_string().contains("dup@x.com")),
        "no filter value in the log"
    );

    let statuses =
        |entries: Vec<RequestEntry>| -> Vec<u16> { entries.iter().map(|e| e.status).collect() };
    let errors = app.admin.requests(&dir, "?status=4xx").await;
    assert_eq!(statuses(errors), [401, 409]);
    let conflicts = app.admin.requests(&dir, "?status=409&limit=10").await;
    assert_eq!(conflicts.len(), 1);
    let (status, _) = app
        .admin
        .send(
            Method::GET,
            &format!("/directories/{dir}/requests?status=4x"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let shown = app.admin.directory(&dir).await;
    assert!(shown.last_request_at.is_some(), "{shown:?}");

    // Searched by the user a request was about, or by its detail.
    let found = app.admin.requests(&dir, "?search=DUP@x").await;
    assert_eq!(statuses(found), [409, 201]);
    let found = app.admin.requests(&dir, "?search=bearer%20token").await;
    assert_eq!(found.len(), 1, "{found:?}");
}

/// Names tell directories apart: a second "Acme" (any case) is refused, naming the
/// first; the audit log pages and searches.
#[tokio::test]
async fn directory_names_are_unique_and_the_audit_log_pages_and_searches() {
    let app = spawn_app().await;
    let (first, _) = directory(&app, "Acme").await;
    let (status, body) = app
        .admin
        .send(
            Method::POST,
            "/directories",
            Some(json!({"name": " ACME "})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body["error"].as_str().unwrap().contains(&first), "{body}");
    let (status, body) = app
        .admin
        .send(
            Method::POST,
            "/directories",
            Some(json!({"name": "x".repeat(201)})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    directory(&app, "Acme EMEA").await;

    let all = app.admin.audit("?limit=100").await;
    assert!(all.len() >= 4, "{all:?}");
    let page = app.admin.audit("?limit=2").await;
    let next = app
        .admin
        .audit(&format!("?limit=2&before={}", page[1].id))
        .await;
    assert_eq!(
        next[0].id, all[2].id,
        "the next page starts after the last shown"
    );
    let created = app.admin.audit("?search=CREATED").await;
    assert!(
        created.iter().all(|r| r.action.contains("created")),
        "{created:?}"
    );
    let (status, _) = app
        .admin
        .send(Method::GET, "/audit?before=nope", None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn deleting_a_directory_deprovisions_its_users_with_events_and_audits_it() {
    let app = spawn_app().await;
    let (dir, scim) = directory(&app, "Doomed").await;
    let mut ids = Vec::new();
    for i in 0..3 {
        let r = scim
            .create_user(&okta_user(&format!("d{i}@x.com"), "D", "D"))
            .await;
        ids.push(r.body["id"].as_str().unwrap().to_owned());
    }
    let members: Vec<Value> = ids.iter().map(|id| json!({"value": id})).collect();
    let r = scim
        .create_group(&json!({"displayName": "Eng", "members": members}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    app.admin.create_team(&dir, "Engineering").await;
    // The test's own directory stays untouched.
    let keep = app
        .scim
        .create_user(&okta_user("keep@x.com", "K", "K"))
        .await;
    assert_eq!(keep.status, StatusCode::CREATED);
    // Its requests are in the request log (written in the background) before it goes.
    scim_tests::eventually(Duration::from_secs(5), "logged requests", || async {
        let logged: i64 =
            sqlx::query_scalar("SELECT count(*) FROM request_log WHERE directory_id = $1::uuid")
                .bind(&dir)
                .fetch_one(&app.db.pool)
                .await
                .ok()?;
        (logged >= 4).then_some(())
    })
    .await;

    let deleted = app.admin.delete_directory(&dir).await;
    assert_eq!(deleted.removed.users, 3);
    assert_eq!(list_users_status(&scim).await, StatusCode::UNAUTHORIZED);
    let (status, _) = app
        .admin
        .send(Method::GET, &format!("/directories/{dir}"), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let left: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM scim_users WHERE directory_id = $1::uuid)
              + (SELECT count(*) FROM scim_group_members WHERE directory_id = $1::uuid)
              + (SELECT count(*) FROM teams WHERE directory_id = $1::uuid)
              + (SELECT count(*) FROM request_log WHERE directory_id = $1::uuid)",
    )
    .bind(&dir)
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(left, 0);
    assert_eq!(
        app.scim
            .get_user(keep.body["id"].as_str().unwrap())
            .await
            .status,
        StatusCode::OK
    );

    the_deletion_is_announced_user_by_user_then_whole(&app, &dir, &ids).await;

    // The audit log outlives the directory.
    let audit = app.admin.audit(&format!("?directory={dir}")).await;
    let actions: Vec<&str> = audit.iter().map(|a| a.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "directory.deleted",
            "team.created",
            "directory.token_created",
            "directory.created"
        ]
    );
    assert!(audit[0].actor.starts_with("alice"));
}

/// Events: every admin action, each user's deletion, then the directory's, all valid.
async fn the_deletion_is_announced_user_by_user_then_whole(
    app: &TestApp,
    dir: &str,
    ids: &[String],
) {
    let events: Vec<Value> = published_events(app)
        .await
        .into_iter()
        .map(|e| e.payload)
        .collect();
    let schema = event_schema();
    for e in &events {
        assert!(schema.is_valid(e), "invalid event: {e}");
    }
    let of_dir: Vec<&Value> = events.iter().filter(|e| e["directory_id"] == dir).collect();
    let types: Vec<&str> = of_dir.iter().map(|e| e["type"].as_str().unwrap()).collect();
    let tail = &types[types.len() - 4..];
    assert_eq!(
        tail,
        [
            "user.deleted",
            "user.deleted",
            "user.deleted",
            "directory.deleted"
        ]
    );
    assert!(types.starts_with(&["directory.created", "directory.token_created"]));
    assert!(types.contains(&"team.created"));
    let deleted: std::collections::BTreeSet<&str> = of_dir
        .iter()
        .filter(|e| e["type"] == "user.deleted")
        .map(|e| e["resource_id"].as_str().unwrap())
        .collect();
    assert_eq!(deleted, ids.iter().map(String::as_str).collect());
    assert!(
        of_dir
            .iter()
            .filter(|e| e["type"] != "user.created"
                && e["type"] != "group.created"
                && e["type"] != "group.members_added")
            .all(|e| e["actor"]
                .as_str()
                .unwrap()
                .starts_with("alice (operator token "))
    );
}

#[tokio::test]
async fn request_log_entries_expire_after_the_configured_days() {
    // The writer's own expiry keeps a year, so only the call below removes the entry.
    let app = spawn_app_with(|c| c.request_log_days = 365).await;
    let (dir, scim) = directory(&app, "Old").await;
    list_users_status(&scim).await;
    scim_tests::eventually(Duration::from_secs(5), "one entry", || async {
        (app.admin.requests(&dir, "").await.len() == 1).then_some(())
    })
    .await;
    sqlx::query(
        "INSERT INTO request_log (directory_id, at, method, path, status, duration_ms)
         VALUES ($1::uuid, now() - interval '31 days', 'GET', '/old', 200, 1)",
    )
    .bind(&dir)
    .execute(&app.db.pool)
    .await
    .unwrap();
    let expired = scim_store::request_log::expire(&app.db.pool, 30, 100)
        .await
        .unwrap();
    assert_eq!(expired, 1);
    let all = app.admin.requests(&dir, "").await;
    let paths: Vec<&str> = all.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, ["/scim/v2/".to_owned() + &dir + "/Users?count=1"]);
}

/// A team mapping travels whole in one event: its size is bounded where it enters, and
/// a setting that would do nothing in the directory's mode is refused, saying so.
#[tokio::test]
async fn team_mappings_are_bounded_and_refused_where_they_would_do_nothing() {
    let app = spawn_app().await;
    let (dir, _) = directory(&app, "bounded").await;
    let team = app.admin.create_team(&dir, "Eng").await;
    let groups: Vec<String> = (0..501).map(|i| format!("g{i}")).collect();
    let path = format!("/directories/{dir}/teams/{}/groups", team.id);
    let (status, body) = app
        .admin
        .send(Method::PUT, &path, Some(json!({"groups": groups})))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("at most 500"),
        "{body}"
    );

    let values: serde_json::Map<String, Value> =
        (0..501).map(|i| (format!("v{i}"), json!("Eng"))).collect();
    let table = format!("/directories/{dir}/team-values");
    let (status, body) = app
        .admin
        .send(Method::PUT, &table, Some(json!({"values": values})))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = app
        .admin
        .send(Method::PUT, &table, Some(json!({"values": {"v": "Eng"}})))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("would have no effect"),
        "{body}"
    );

    let mode = format!("/directories/{dir}/team-mapping");
    for bad in [
        json!({"team_mode": "attribute", "team_attribute": "group"}),
        json!({"team_mode": "mirrored", "mirror_pattern": "x".repeat(201)}),
        json!({"team_mode": "sideways"}),
        json!({"attribute": "urn:acme:2.0:User:group"}),
    ] {
        let (status, body) = app.admin.send(Method::PUT, &mode, Some(bad.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }
    let (status, shown) = app
        .admin
        .send(Method::GET, &format!("/directories/{dir}"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(shown["team_mode"], "mapped", "nothing was changed: {shown}");
}

#[tokio::test]
async fn the_console_is_served_on_the_admin_listener_only() {
    let app = spawn_app().await;
    let http = reqwest::Client::new();
    for (asset, kind) in [
        ("", "text/html"),
        ("/console.js", "text/javascript"),
        ("/common.js", "text/javascript"),
        ("/style.css", "text/css"),
    ] {
        crate::common::strict_page(&format!("{}/console{asset}", app.admin.url), kind).await;
    }
    // Not on the public listener; and the page's files give nothing away without a
    // token: its data comes from the API, which still needs one.
    let res = http
        .get(format!("{}/console", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = http
        .get(format!("{}/setup/console.js", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = http
        .get(format!("{}/admin/v1/pipeline", app.admin.url))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_pipeline_and_each_directorys_error_rate_are_one_call_each() {
    let app = spawn_app().await;
    let (dir, scim) = directory(&app, "Acme").await;
    let (quiet, _) = directory(&app, "Quiet").await;
    assert_eq!(
        scim.send(Method::GET, "/Users?count=1", None).await.status,
        StatusCode::OK
    );
    assert_eq!(
        scim.send(Method::GET, "/Users?filter=nope%20eq%201", None)
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    let rate_of = |rates: &[ErrorRate], id: &str| {
        rates
            .iter()
            .find(|r| r.directory_id.to_string() == id)
            .cloned()
    };
    let rates = scim_tests::eventually(Duration::from_secs(10), "the request log", || async {
        let rates: Vec<ErrorRate> = app.admin.call(Method::GET, "/error-rates", None).await;
        (rate_of(&rates, &dir)?.requests == 2).then_some(rates)
    })
    .await;
    let of = |id: &str| rate_of(&rates, id).unwrap();
    assert_eq!(of(&dir).errors, 1, "{rates:?}");
    assert_eq!((of(&quiet).requests, of(&quiet).errors), (0, 0));
    let latest: Vec<ErrorRate> = app
        .admin
        .call(Method::GET, "/error-rates?limit=1", None)
        .await;
    let ours = rate_of(&latest, &dir).unwrap();
    assert_eq!(ours.requests, 1, "only the latest: {latest:?}");
    let (status, _) = app
        .admin
        .send(Method::GET, "/error-rates?limit=0", None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // The pipeline reads as its type says (the backlog's counts, the consumers).
    let pipeline: Pipeline = app.admin.call(Method::GET, "/pipeline", None).await;
    assert_eq!(pipeline.dead_letters, 0, "{pipeline:?}");
}

/// A token revoked while its `/Bulk` runs stops the bulk: the operation that finds it
/// revoked answers 401, none after it runs, and nothing is created past it.
#[tokio::test]
async fn a_bulk_stops_when_its_token_is_revoked_while_it_runs() {
    let app = spawn_app_with(|c| c.max_body_bytes = 2 * 1024 * 1024).await;
    let dir = app.scim.base_url.rsplit('/').next().unwrap().to_owned();
    let token_id = app.admin.tokens(&dir).await[0].id;
    let operations: Vec<Value> = (0..1000)
        .map(|i| {
            json!({"method": "POST", "bulkId": format!("u{i}"), "path": "/Users",
                   "data": okta_user(&format!("bulk{i}@example.com"), "B", &format!("{i}"))})
        })
        .collect();
    let request = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": operations,
    });
    let scim = app.scim.clone();
    let bulk = tokio::spawn(async move { scim.send(Method::POST, "/Bulk", Some(&request)).await });
    // Revoked once the bulk has created some users.
    let directory: uuid::Uuid = dir.parse().unwrap();
    scim_tests::eventually(Duration::from_secs(20), "the bulk to start", || async {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM scim_users WHERE directory_id = $1")
            .bind(directory)
            .fetch_one(&app.db.pool)
            .await
            .ok()?;
        (n >= 20).then_some(())
    })
    .await;
    app.admin.revoke_token(&dir, token_id).await;
    let r = bulk.await.unwrap();
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let answered = r.body["Operations"].as_array().unwrap();
    let (last, done) = answered.split_last().unwrap();
    assert_eq!(last["status"], "401", "{last}");
    assert!(done.iter().all(|op| op["status"] == "201"));
    assert!(
        answered.len() < 1000,
        "the bulk stopped: {} answered",
        answered.len()
    );
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM scim_users WHERE directory_id = $1")
        .bind(directory)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(
        stored as usize,
        done.len(),
        "nothing created after the revocation"
    );
}

/// A new directory with one team: (directory id, team id).
async fn directory_with_team(app: &TestApp, team: &str) -> (String, String) {
    let (id, _) = directory(app, "Acme").await;
    let team = app.admin.create_team(&id, team).await;
    (id, team.id.to_string())
}

/// A change whose event the event stream could not carry is refused up front, counted as
/// the event is written (every quote escaped, the new and the previous version), and
/// nothing of it is stored: never a stored mapping whose event is set aside unapplied.
#[tokio::test]
async fn a_mapping_whose_event_could_not_be_published_is_refused() {
    // Events of up to 128 KiB (MAX_RESOURCE_BYTES 32 KiB).
    let app = spawn_app_with(|c| c.max_body_bytes = 1024 * 1024).await;
    let (id, team) = directory_with_team(&app, "Quotes").await;
    let path = format!("/directories/{id}/teams/{team}/groups");
    // 100 names of 500 quotes: 50 KB as sent, 100 KB as JSON.
    let names = |tag: &str| -> Vec<String> {
        (0..100)
            .map(|i| format!("{tag}{i}{}", "\"".repeat(500)))
            .collect()
    };
    let (status, body) = app
        .admin
        .send(Method::PUT, &path, Some(json!({"groups": names("a")})))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Replaced, its event carries both versions: 200 KB.
    let (status, body) = app
        .admin
        .send(Method::PUT, &path, Some(json!({"groups": names("b")})))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let error = body["error"].as_str().unwrap();
    assert!(
        error.contains("MAX_RESOURCE_BYTES") && error.contains("team.mapping_changed"),
        "{error}"
    );
    let (_, teams) = app
        .admin
        .send(Method::GET, &format!("/directories/{id}/teams"), None)
        .await;
    let kept = teams.as_array().unwrap()[0]["groups"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(kept.len(), 100);
    assert!(
        kept[0].as_str().unwrap().starts_with('a'),
        "the first mapping stays"
    );
    let events = published_events(&app).await;
    assert_eq!(
        events
            .iter()
            .filter(|e| e.subject.ends_with("team.mapping_changed"))
            .count(),
        1
    );
    let parked: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox_parked")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(parked, 0);
}

/// A preview waits for its directory's turn without a database connection and runs for
/// at most LIST_TIMEOUT_MS (waits for locks included): previews of one directory cannot
/// take the connections or the time other directories need.
#[tokio::test]
async fn previews_are_bounded_in_time_and_take_turns_per_directory() {
    let app = spawn_app_with(|c| {
        c.list_timeout_ms = 700;
        c.directory_list_concurrency = 1;
    })
    .await;
    let (id, team) = directory_with_team(&app, "Sales").await;
    let preview = format!("/directories/{id}/teams/{team}/groups/preview");
    // Someone holds the directory (as a long admin change would).
    let mut holder = app.db.pool.begin().await.unwrap();
    sqlx::query("SELECT id FROM directories WHERE id = $1::uuid FOR UPDATE")
        .bind(&id)
        .execute(&mut *holder)
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let (first, second) = tokio::join!(
        app.admin
            .send(Method::POST, &preview, Some(json!({"groups": ["sales"]}))),
        async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            app.admin
                .send(Method::POST, &preview, Some(json!({"groups": ["sales"]})))
                .await
        },
    );
    let took = started.elapsed();
    assert_eq!(first.0, StatusCode::SERVICE_UNAVAILABLE, "{}", first.1);
    assert!(
        first.1["error"]
            .as_str()
            .unwrap()
            .contains("LIST_TIMEOUT_MS"),
        "{}",
        first.1
    );
    // The second waited for the first's turn: refused at the end of its wait (429), or
    // given the turn as the first gave up and cut in its turn (503).
    assert!(
        [
            StatusCode::TOO_MANY_REQUESTS,
            StatusCode::SERVICE_UNAVAILABLE
        ]
        .contains(&second.0),
        "{second:?}"
    );
    assert!(
        took < Duration::from_secs(3),
        "cut after the limit: {took:?}"
    );
    // Meanwhile another directory's SCIM writes went on.
    let r = app
        .scim
        .create_user(&okta_user("on@example.com", "On", "Going"))
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    holder.rollback().await.unwrap();
    // Once the directory has made up the list time its previews took.
    scim_tests::eventually(Duration::from_secs(10), "a preview", || async {
        let (status, body) = app
            .admin
            .send(Method::POST, &preview, Some(json!({"groups": ["sales"]})))
            .await;
        match status {
            StatusCode::OK => Some(()),
            StatusCode::TOO_MANY_REQUESTS => None,
            other => panic!("{other}: {body}"),
        }
    })
    .await;
}

/// The admin API describes itself: its OpenAPI document, behind the operator token like
/// every endpoint, is the one committed as docs/admin-api.openapi.json, and names every
/// endpoint the console calls.
#[tokio::test]
async fn the_admin_api_serves_the_committed_openapi_document() {
    let app = spawn_app().await;
    let (status, _) = app
        .admin
        .with_token("wrong")
        .send(Method::GET, "/openapi.json", None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, served) = app.admin.send(Method::GET, "/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    let committed: Value =
        serde_json::from_str(include_str!("../../../docs/admin-api.openapi.json"))
            .expect("docs/admin-api.openapi.json is JSON");
    assert!(
        served == committed,
        "the served document differs from docs/admin-api.openapi.json: \
         UPDATE_OPENAPI=1 cargo nextest run -p ingress the_committed_document"
    );
    let paths = served["paths"].as_object().unwrap();
    let console = include_str!("../../src/pages/console.js");
    let calls = console_calls(console);
    assert!(calls.len() > 20, "{calls:?}");
    for (method, called) in calls {
        let described = paths.iter().any(|(template, item)| {
            template_matches(template, &format!("/admin/v1{called}"))
                && item.get(method.to_lowercase()).is_some()
        });
        assert!(
            described,
            "the console calls {method} {called}, which the document does not describe"
        );
    }
}

/// Each `api("METHOD", "path…")` of the console's script: its method and path (up to
/// its query), each `${…}` in a template path taken as `*`.
fn console_calls(script: &str) -> Vec<(String, String)> {
    let mut calls = Vec::new();
    for (at, _) in script.match_indices("api(\"") {
        let rest = &script[at + 5..];
        let Some((method, rest)) = rest.split_once('"') else {
            continue;
        };
        let Some(rest) = rest.strip_prefix(", ") else {
            continue;
        };
        let mut chars = rest.chars();
        let Some(quote) = chars.next() else { continue };
        let (mut path, mut depth) = (String::new(), 0);
        let mut chars = chars.peekable();
        while let Some(c) = chars.next() {
            match c {
                '$' if chars.peek() == Some(&'{') => {
                    chars.next();
                    depth += 1;
                    if depth == 1 {
                        path.push('*');
                    }
                }
                '{' if depth > 0 => depth += 1,
                '}' if depth > 0 => depth -= 1,
                _ if depth > 0 => {}
                '?' => break,
                c if c == quote => break,
                c => path.push(c),
            }
        }
        calls.push((method.to_owned(), path));
    }
    calls
}

/// Whether a document path (`{id}` segments) matches a path the console builds (`*`
/// where it fills a segment in).
fn template_matches(template: &str, called: &str) -> bool {
    let t: Vec<&str> = template.split('/').collect();
    let c: Vec<&str> = called.split('/').collect();
    t.len() == c.len()
        && t.iter()
            .zip(&c)
            .all(|(t, c)| t == c || t.starts_with('{') || c.contains('*'))
}
