//! `/Groups` over HTTP: the push sequences Okta and Entra send, membership events, and
//! bad input that must change nothing.

use crate::common::{TestApp, member_display_schema, published_events, spawn_app, spawn_app_with};
use reqwest::{Method, StatusCode};
use scim_core::profile::Idp;
use scim_store::memberships;
use scim_tests::client::okta_user;
use serde_json::{Value, json};
use std::collections::BTreeSet;

const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

async fn users(app: &TestApp, n: usize) -> Vec<String> {
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let r = app
            .scim
            .create_user(&okta_user(&format!("u{i}@x.com"), "U", &format!("{i}")))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        ids.push(r.body["id"].as_str().unwrap().to_owned());
    }
    ids
}

async fn get_group(app: &TestApp, id: &str, query: &str) -> Value {
    let r = app
        .scim
        .send(Method::GET, &format!("/Groups/{id}{query}"), None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    r.body
}

fn member_ids(group: &Value) -> BTreeSet<String> {
    group["members"]
        .as_array()
        .map(|m| {
            m.iter()
                .map(|m| m["value"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn members(ids: &[String]) -> Value {
    ids.iter()
        .map(|id| json!({"value": id, "display": format!("user {id}")}))
        .collect()
}

#[tokio::test]
async fn okta_group_push_sequence() {
    let app = spawn_app().await;
    let ids = users(&app, 300).await;
    let gid = okta_looks_the_group_up_then_creates_it_empty(&app).await;
    okta_adds_members_in_batches_shown_with_their_names(&app, &gid, &ids).await;
    okta_removes_renames_replaces_and_deletes(&app, &gid, &ids).await;
    the_group_events_carry_only_what_changed(&app, &ids).await;
}

/// Okta looks the group up by name (missing), then creates it with no members; a
/// lookup in another case finds it. Its id.
async fn okta_looks_the_group_up_then_creates_it_empty(app: &TestApp) -> String {
    let s = &app.scim;
    let miss = s
        .send(
            Method::GET,
            "/Groups?filter=displayName%20eq%20%22Engineering%22&startIndex=1&count=100",
            None,
        )
        .await;
    assert_eq!(
        (miss.status, &miss.body["totalResults"]),
        (StatusCode::OK, &json!(0))
    );
    let created = s
        .create_group(&json!({"schemas": [GROUP], "displayName": "Engineering", "members": []}))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    assert_eq!(created.content_type, "application/scim+json");
    let gid = created.body["id"].as_str().unwrap().to_owned();
    assert_eq!(created.body["meta"]["resourceType"], "Group");
    assert_eq!(created.body["meta"]["version"], "W/\"1\"");
    assert!(created.headers.get("location").is_some());
    let hit = s
        .send(
            Method::GET,
            "/Groups?filter=displayName%20eq%20%22engineering%22",
            None,
        )
        .await;
    assert_eq!(
        hit.body["Resources"][0]["id"],
        gid.as_str(),
        "displayName is caseExact=false"
    );

    gid
}

/// 256 members in one request, then the rest plus an existing member again; members
/// read back with their type, $ref and display, which follows a user's rename.
async fn okta_adds_members_in_batches_shown_with_their_names(
    app: &TestApp,
    gid: &str,
    ids: &[String],
) {
    let s = &app.scim;
    let r = s
        .patch_group(
            gid,
            json!([{"op": "add", "path": "members", "value": members(&ids[..256])}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    assert_eq!(r.headers["etag"], "W/\"2\"");
    let r = s
        .patch_group(
            gid,
            json!([{"op": "add", "path": "members", "value": members(&ids[255..])}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let full = get_group(app, gid, "").await;
    assert_eq!(member_ids(&full), ids.iter().cloned().collect());
    let first = full["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["value"] == ids[0].as_str())
        .unwrap()
        .clone();
    assert_eq!(first["type"], "User");
    assert!(
        first["$ref"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/Users/{}", ids[0]))
    );
    assert_eq!(
        first["display"], "U 0",
        "Okta's profile shows display by default"
    );
    let hidden = get_group(app, gid, "?excludedAttributes=members.display").await;
    assert!(hidden["members"][0].get("display").is_none());
    assert!(hidden["members"][0].get("value").is_some());
    let named = get_group(app, gid, "?attributes=members.value,members.display").await;
    assert!(named.get("displayName").is_none());
    let shown = named["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["value"] == ids[0].as_str())
        .unwrap()
        .clone();
    assert_eq!(shown, json!({"value": ids[0], "display": "U 0"}));
    // A member's display follows the user's name: a rename shows in every group.
    let r = s
        .patch_user(
            &ids[0],
            json!([{"op": "replace", "path": "displayName", "value": "Ann Renamed"}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let renamed = get_group(app, gid, "?attributes=members.value,members.display").await;
    let displays: std::collections::HashMap<&str, &str> = renamed["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["value"].as_str().unwrap(), m["display"].as_str().unwrap()))
        .collect();
    assert_eq!(displays[ids[0].as_str()], "Ann Renamed");
    assert_eq!(displays[ids[1].as_str()], "U 1", "others keep theirs");
    let bare = get_group(app, gid, "?excludedAttributes=members").await;
    assert!(bare.get("members").is_none());
    assert_eq!(bare["displayName"], "Engineering");
}

/// Removed by value filter, renamed by a path-less replace, replaced by PUT, deleted.
async fn okta_removes_renames_replaces_and_deletes(app: &TestApp, gid: &str, ids: &[String]) {
    let s = &app.scim;
    // Remove one by value filter, without a value.
    let path = format!("members[value eq \"{}\"]", ids[7]);
    let r = s
        .patch_group(gid, json!([{"op": "remove", "path": path}]))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(!member_ids(&get_group(app, gid, "").await).contains(&ids[7]));

    // Rename by path-less replace with a stray id; PATCH with a projection answers 200.
    let r = s
        .send(
            Method::PATCH,
            &format!("/Groups/{gid}?excludedAttributes=members"),
            Some(&json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "value": {"id": gid, "displayName": "Eng"}}],
            })),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["displayName"], "Eng");
    assert!(r.body.get("members").is_none());

    // Users show their groups.
    let user = s.get_user(&ids[0]).await.body;
    assert_eq!(user["groups"][0]["value"], gid);
    assert_eq!(user["groups"][0]["display"], "Eng");
    assert!(s.get_user(&ids[7]).await.body.get("groups").is_none());

    // PUT with members replaces the member list.
    let r = s
        .send(
            Method::PUT,
            &format!("/Groups/{gid}"),
            Some(&json!({"schemas": [GROUP], "displayName": "Eng", "members": members(&ids[..2])})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(member_ids(&r.body), ids[..2].iter().cloned().collect());

    assert_eq!(
        s.send(Method::DELETE, &format!("/Groups/{gid}"), None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        s.send(Method::GET, &format!("/Groups/{gid}"), None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert!(s.get_user(&ids[0]).await.body.get("groups").is_none());
}

/// Events: the ids that actually changed, never an existing member twice.
async fn the_group_events_carry_only_what_changed(app: &TestApp, ids: &[String]) {
    let events = published_events(app).await;
    let group_events: Vec<&Value> = events
        .iter()
        .map(|e| &e.payload)
        .filter(|p| p["resource_type"] == "Group")
        .collect();
    let kinds: Vec<&str> = group_events
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "group.created",
            "group.members_added",
            "group.members_added",
            "group.members_removed",
            "group.updated",
            "group.members_removed",
            "group.members_removed",
            "group.deleted",
        ]
    );
    let count = |i: usize| group_events[i]["member_ids"].as_array().unwrap().len();
    assert_eq!((count(1), count(2), count(3)), (256, 44, 1));
    assert_eq!(group_events[3]["member_ids"][0], ids[7].as_str());
    assert_eq!(
        group_events[4]["previous"],
        json!({"displayName": "Engineering"})
    );
    // PUT kept 2 of 299; DELETE removed the last 2.
    assert_eq!((count(5), count(6)), (297, 2));
    assert!(group_events[0].get("member_ids").is_none());
    assert!(
        group_events
            .iter()
            .all(|e| e["resource"].get("members").is_none())
    );
    let versions: Vec<i64> = group_events
        .iter()
        .map(|e| e["resource_version"].as_i64().unwrap())
        .collect();
    // Every event of the group takes the next version, events of one request too: a
    // subscriber that ignores what is at or below the highest version it applied
    // misses none.
    assert_eq!(versions, [1, 2, 3, 4, 5, 6, 7, 8]);
}

#[tokio::test]
async fn entra_group_forms() {
    let app = spawn_app().await;
    let s = &app.scim;
    let ids = users(&app, 4).await;
    let created = s
        .create_group(&json!({
            "schemas": [GROUP, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
            "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
            "displayName": "Sales",
            "members": members(&ids),
        }))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let gid = created.body["id"].as_str().unwrap().to_owned();
    assert_eq!(member_ids(&created.body).len(), 4);

    // Remove with path "members" and a value list removes only those.
    let r = s
        .patch_group(&gid, json!([{"op": "Remove", "path": "members", "value": [{"value": ids[0]}, {"value": ids[1]}]}]))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    assert_eq!(
        member_ids(&get_group(&app, &gid, "").await),
        ids[2..].iter().cloned().collect()
    );

    // Capitalized ops, member objects with $ref null and display, a rename by path.
    let r = s
        .patch_group(
            &gid,
            json!([
                {"op": "Add", "path": "members", "value": [{"value": ids[0], "$ref": null, "display": "x"}]},
                {"op": "Replace", "path": "displayName", "value": "Sales EMEA"},
            ]),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    let g = get_group(&app, &gid, "").await;
    assert_eq!(g["displayName"], "Sales EMEA");
    assert_eq!(member_ids(&g).len(), 3);

    // Entra's lookup by externalId, and a membership check by filter.
    let by_external = s
        .send(Method::GET, "/Groups?filter=externalId%20eq%20%228aa1a0c0-c4c3-4bc0-b4a5-2ef676900159%22&excludedAttributes=members", None)
        .await;
    assert_eq!(by_external.body["totalResults"], 1);
    assert!(by_external.body["Resources"][0].get("members").is_none());
    let filter = format!("members[value eq \"{}\"]", ids[2]);
    let q = reqwest::Url::parse_with_params("http://x/", &[("filter", filter.as_str())]).unwrap();
    let with_member = s
        .send(
            Method::GET,
            &format!("/Groups?{}", q.query().unwrap()),
            None,
        )
        .await;
    assert_eq!(
        with_member.body["totalResults"], 1,
        "{:?}",
        with_member.body
    );
}

#[tokio::test]
async fn unknown_members_are_named_and_nothing_of_the_request_is_applied() {
    let app = spawn_app().await;
    let s = &app.scim;
    let ids = users(&app, 2).await;
    let created = s
        .create_group(&json!({"displayName": "Ops", "members": members(&ids[..1])}))
        .await;
    let gid = created.body["id"].as_str().unwrap().to_owned();
    // Created (version 1), then its first member joined (version 2).
    assert_eq!(created.body["meta"]["version"], "W/\"2\"");
    let other = spawn_other_directory_user(&app).await;
    let missing = uuid::Uuid::now_v7().to_string();
    let r = s
        .patch_group(
            &gid,
            json!([
                {"op": "replace", "path": "displayName", "value": "Renamed"},
                {"op": "add", "path": "members", "value": [{"value": ids[1]}, {"value": missing}, {"value": other}, {"value": "not-a-uuid"}]},
            ]),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body["scimType"], "invalidValue");
    let detail = r.body["detail"].as_str().unwrap();
    for id in [&missing, &other, &"not-a-uuid".to_owned()] {
        assert!(detail.contains(id.as_str()), "{detail}");
    }
    assert!(!detail.contains(&ids[1]));
    let g = get_group(&app, &gid, "").await;
    assert_eq!(g["displayName"], "Ops");
    assert_eq!(g["meta"]["version"], "W/\"2\"");
    assert_eq!(member_ids(&g), ids[..1].iter().cloned().collect());

    let bad_create = s
        .create_group(&json!({"displayName": "X", "members": [{"value": missing}]}))
        .await;
    assert_eq!(bad_create.status, StatusCode::BAD_REQUEST);
    let list = s.send(Method::GET, "/Groups", None).await;
    assert_eq!(
        list.body["totalResults"], 1,
        "the failed create left nothing behind"
    );

    for (body, scim_type) in [
        (json!({"members": []}), "invalidValue"),
        (
            json!({"displayName": "G", "members": [{"value": ids[0], "type": "Group"}]}),
            "invalidValue",
        ),
    ] {
        let r = s.create_group(&body).await;
        assert_eq!(
            (r.status, r.body["scimType"].as_str()),
            (StatusCode::BAD_REQUEST, Some(scim_type)),
            "{body}"
        );
    }
    let r = s
        .patch_group(
            &gid,
            json!([{"op": "replace", "path": "members[value eq \"x\"].display", "value": "y"}]),
        )
        .await;
    assert_eq!(r.body["scimType"], "invalidPath");
    let r = s
        .patch_group(
            &uuid::Uuid::now_v7().to_string(),
            json!([{"op": "add", "path": "members", "value": []}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

/// A generic client (a strict test harness, say) compares the members it sent, without
/// `display`, with what it reads back: its profile returns display only on request,
/// and its `/Schemas` says so, while a named provider's says `default`.
#[tokio::test]
async fn member_display_follows_the_directorys_provider_profile() {
    let app = spawn_app().await;
    let (dir, token) = app.db.directory_for("generic", Idp::Generic).await;
    let base = app.scim.base_url.rsplit_once('/').unwrap().0.to_owned();
    let generic = scim_tests::client::Scim::new(format!("{base}/{dir}"), token);
    let user = generic.create_user(&okta_user("g@x.com", "G", "H")).await;
    let uid = user.body["id"].as_str().unwrap();
    let group = generic
        .create_group(&json!({"displayName": "G", "members": [{"value": uid}]}))
        .await;
    assert_eq!(group.status, StatusCode::CREATED, "{:?}", group.body);
    let member = &group.body["members"][0];
    assert_eq!(member["value"], uid);
    assert!(member.get("display").is_none(), "{member}");
    let gid = group.body["id"].as_str().unwrap();
    let asked = generic
        .send(
            Method::GET,
            &format!("/Groups/{gid}?attributes=members.display"),
            None,
        )
        .await;
    assert_eq!(asked.body["members"][0]["display"], "G H");

    assert_eq!(member_display_schema(&generic).await["returned"], "request");
    assert_eq!(
        member_display_schema(&app.scim).await["returned"],
        "default"
    );
}

/// A user id from another directory: as unknown here as a made-up one.
async fn spawn_other_directory_user(app: &TestApp) -> String {
    let (dir, token) = app.db.directory("other").await;
    let base = app.scim.base_url.rsplit_once('/').unwrap().0.to_owned();
    let other = scim_tests::client::Scim::new(format!("{base}/{dir}"), token);
    other
        .create_user(&okta_user("elsewhere@x.com", "E", "W"))
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn root_search_spans_users_and_groups() {
    let app = spawn_app().await;
    let s = &app.scim;
    users(&app, 2).await;
    s.create_group(&json!({"displayName": "U 1"})).await;
    s.create_group(&json!({"displayName": "Other"})).await;
    let search = |body: Value| async move { s.send(Method::POST, "/.search", Some(&body)).await };
    let r = search(json!({"filter": "displayName eq \"U 1\""})).await;
    assert_eq!(r.body["totalResults"], 2, "{:?}", r.body);
    let types: Vec<&str> = r.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["meta"]["resourceType"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["User", "Group"]);
    let r = search(json!({"filter": "userName sw \"u\""})).await;
    assert_eq!(r.body["totalResults"], 2, "only users have userName");
    let r = search(json!({"startIndex": 2, "count": 2})).await;
    assert_eq!(r.body["totalResults"], 4);
    let page: Vec<&str> = r.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["meta"]["resourceType"].as_str().unwrap())
        .collect();
    assert_eq!(page, ["User", "Group"]);
    let r = search(json!({"filter": "nope eq \"x\""})).await;
    assert_eq!(r.body["scimType"], "invalidFilter");
}

/// A group change holds its users until it commits; a user deletion waits for it and
/// then removes the membership it added (no foreign key does this for us).
#[tokio::test]
async fn a_user_deleted_during_a_group_change_leaves_no_dangling_member() {
    let app = spawn_app().await;
    let s = &app.scim;
    let ids = users(&app, 1).await;
    let user: uuid::Uuid = ids[0].parse().unwrap();
    let gid = s.create_group(&json!({"displayName": "Race"})).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let group: uuid::Uuid = gid.parse().unwrap();
    let dir: uuid::Uuid = s.base_url.rsplit('/').next().unwrap().parse().unwrap();

    // What a PATCH adding the user does, held open.
    let mut tx = app.db.pool.begin().await.unwrap();
    assert_eq!(
        memberships::lock_users(&mut tx, dir, &[user])
            .await
            .unwrap(),
        [user]
    );
    memberships::add(&mut tx, dir, group, &[user])
        .await
        .unwrap();

    let delete = tokio::spawn({
        let s = s.clone();
        let id = ids[0].clone();
        async move { s.delete_user(&id).await.status }
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        !delete.is_finished(),
        "the deletion waits for the group change"
    );
    tx.commit().await.unwrap();
    assert_eq!(delete.await.unwrap(), StatusCode::NO_CONTENT);

    let dangling: i64 = sqlx::query_scalar("SELECT count(*) FROM scim_group_members")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(dangling, 0);
    // And a change that comes after the deletion finds no such user.
    let r = s
        .patch_group(
            &gid,
            json!([{"op": "add", "path": "members", "value": [{"value": ids[0]}]}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

/// Users made 1,000 to a `/Bulk` request; their ids.
async fn bulk_users(app: &TestApp, n: usize) -> Vec<String> {
    let mut ids = Vec::with_capacity(n);
    for start in (0..n).step_by(1000) {
        let operations: Vec<Value> = (start..n.min(start + 1000))
            .map(|i| {
                json!({"method": "POST", "bulkId": format!("u{i}"), "path": "/Users",
                       "data": okta_user(&format!("b{i}@x.com"), "B", &format!("{i}"))})
            })
            .collect();
        let request = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
            "Operations": operations,
        });
        let r = app.scim.send(Method::POST, "/Bulk", Some(&request)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        for op in r.body["Operations"].as_array().unwrap() {
            assert_eq!(op["status"], "201", "{op}");
            let location = op["location"].as_str().unwrap();
            ids.push(location.rsplit_once('/').unwrap().1.to_owned());
        }
    }
    ids
}

/// A group's members are written into a response a batch at a time as they are read,
/// never buffered whole: every member once, in id order, each in the fields the
/// request asks for, and each group of a list page with its own members.
#[tokio::test]
async fn a_big_groups_members_are_written_in_whole_in_every_shape() {
    let app = spawn_app_with(|c| c.max_body_bytes = 2 * 1024 * 1024).await;
    // More than two of the reads' batches.
    let created = bulk_users(&app, 2_345).await;
    let mut ids = created.clone();
    ids.sort();
    let big = app
        .scim
        .create_group(&json!({"displayName": "big", "members": members(&ids)}))
        .await;
    assert_eq!(big.status, StatusCode::CREATED, "{:?}", big.body);
    let big_id = big.body["id"].as_str().unwrap().to_owned();
    let small = app
        .scim
        .create_group(&json!({"displayName": "small", "members": members(&ids[..1])}))
        .await;
    let small_id = small.body["id"].as_str().unwrap().to_owned();

    let r = app
        .scim
        .send(Method::GET, &format!("/Groups/{big_id}"), None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.headers.get("content-length").is_none(), "streamed");
    assert_eq!(r.headers["etag"], big.headers["etag"]);
    assert_eq!(r.content_type, "application/scim+json");
    let shown = r.body["members"].as_array().unwrap();
    let values: Vec<&str> = shown.iter().map(|m| m["value"].as_str().unwrap()).collect();
    assert_eq!(values, ids.iter().map(String::as_str).collect::<Vec<_>>());
    let base = app.scim.base_url.clone();
    assert_eq!(
        shown[2000],
        json!({"value": ids[2000], "type": "User", "$ref": format!("{base}/Users/{}", ids[2000]),
               "display": format!("B {}", created.iter().position(|id| *id == ids[2000]).unwrap())})
    );
    assert_eq!(r.body["displayName"], "big");
    assert_eq!(r.body["meta"]["version"], big.body["meta"]["version"]);

    let values_only = get_group(&app, &big_id, "?attributes=members.value").await;
    assert_eq!(values_only["members"].as_array().unwrap().len(), ids.len());
    assert_eq!(values_only["members"][0], json!({"value": ids[0]}));
    assert!(values_only.get("displayName").is_none());
    let no_display = get_group(&app, &big_id, "?excludedAttributes=members.display").await;
    assert!(no_display["members"][1].get("display").is_none());
    assert_eq!(no_display["members"][1]["value"], ids[1].as_str());
    let without = app
        .scim
        .send(
            Method::GET,
            &format!("/Groups/{big_id}?excludedAttributes=members"),
            None,
        )
        .await;
    assert!(without.body.get("members").is_none());
    assert!(without.headers.get("content-length").is_some());

    // A list page: each group with its own members, in the page's order.
    let page = app
        .scim
        .send(
            Method::GET,
            "/Groups?sortBy=displayName&sortOrder=descending",
            None,
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{:?}", page.body);
    let resources = page.body["Resources"].as_array().unwrap();
    assert_eq!(resources[0]["id"], small_id.as_str());
    assert_eq!(member_ids(&resources[0]), BTreeSet::from([ids[0].clone()]));
    assert_eq!(resources[1]["id"], big_id.as_str());
    assert_eq!(member_ids(&resources[1]).len(), ids.len());
    assert_eq!(page.body["totalResults"], 2);
    let found = app
        .scim
        .send(
            Method::POST,
            "/.search",
            Some(&json!({"filter": "displayName eq \"big\"", "attributes": ["members"]})),
        )
        .await;
    assert_eq!(found.body["totalResults"], 1);
    assert_eq!(member_ids(&found.body["Resources"][0]).len(), ids.len());
}

/// A page of groups that shows their members holds the groups whose members fit in
/// `LIST_PAGE_BYTES` (and always one), fewer than `count` rather than a larger body:
/// paging on by `itemsPerPage` reaches every group once, each with all its members.
#[tokio::test]
async fn a_page_of_groups_holds_the_groups_whose_members_fit_its_bytes() {
    // Each group's members written take about 6.5 KB: one fits, two do not.
    let app = spawn_app_with(|c| c.list_page_bytes = 10_000).await;
    let ids = users(&app, 30).await;
    let mut groups = BTreeSet::new();
    for name in ["a", "b", "c"] {
        let r = app
            .scim
            .create_group(&json!({"displayName": name, "members": members(&ids)}))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        groups.insert(r.body["id"].as_str().unwrap().to_owned());
    }
    let all: BTreeSet<String> = ids.iter().cloned().collect();
    let mut seen = BTreeSet::new();
    let mut start = 1;
    while start <= 3 {
        let page = app
            .scim
            .send(
                Method::GET,
                &format!("/Groups?startIndex={start}&count=3"),
                None,
            )
            .await;
        assert_eq!(page.status, StatusCode::OK, "{:?}", page.body);
        assert_eq!(page.body["totalResults"], 3);
        assert_eq!(page.body["itemsPerPage"], 1, "one group's members fit");
        for group in page.body["Resources"].as_array().unwrap() {
            assert_eq!(member_ids(group), all, "every member of {}", group["id"]);
            assert!(seen.insert(group["id"].as_str().unwrap().to_owned()));
        }
        start += page.body["itemsPerPage"].as_i64().unwrap();
    }
    assert_eq!(seen, groups);
    // Without their members, the groups are small: one page holds them all.
    let page = app
        .scim
        .send(
            Method::GET,
            "/Groups?count=3&excludedAttributes=members",
            None,
        )
        .await;
    assert_eq!(page.body["itemsPerPage"], 3);
}

/// The members a response shows are those of the version it shows: a batch read after
/// the group changed (or went) is refused, and the response cut rather than mixed.
#[tokio::test]
async fn a_groups_members_are_read_only_at_the_version_shown() {
    let app = spawn_app().await;
    let ids = users(&app, 3).await;
    let created = app
        .scim
        .create_group(&json!({"displayName": "g", "members": members(&ids[..2])}))
        .await;
    let group: uuid::Uuid = created.body["id"].as_str().unwrap().parse().unwrap();
    let version: i64 = sqlx::query_scalar("SELECT version FROM scim_groups WHERE id = $1")
        .bind(group)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    let directory: uuid::Uuid = app
        .scim
        .base_url
        .rsplit('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let read = |version| {
        memberships::of_group(
            &app.db.pool,
            directory,
            group,
            version,
            uuid::Uuid::nil(),
            1000,
            1 << 20,
        )
    };
    assert_eq!(read(version).await.unwrap().map(|m| m.len()), Some(2));
    let r = app
        .scim
        .patch_group(
            &group.to_string(),
            json!([{"op": "add", "path": "members", "value": [{"value": ids[2]}]}]),
        )
        .await;
    assert!(r.status.is_success(), "{:?}", r.body);
    assert_eq!(read(version).await.unwrap(), None, "the group moved on");
    assert_eq!(read(version + 1).await.unwrap().map(|m| m.len()), Some(3));
    // A batch stops after the member whose display names reach the byte bound.
    let one = memberships::of_group(
        &app.db.pool,
        directory,
        group,
        version + 1,
        uuid::Uuid::nil(),
        1000,
        1,
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(one.len(), 1);
    let r = app
        .scim
        .send(Method::DELETE, &format!("/Groups/{group}"), None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(read(version + 1).await.unwrap(), None, "the group went");
}
