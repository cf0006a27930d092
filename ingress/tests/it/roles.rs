//! Product roles at the edge: the catalogue and group → role mappings through the admin
//! API (checked, announced as `directory.roles_changed`), a role set by hand only for
//! members made by hand, the deployment's catalogue, and `/Roles` with its discovery
//! for Okta Identity Governance. (The worker's recomputation is end-to-end:
//! `tests/tests/e2e/roles.rs`.)

use crate::common::{published_events, spawn_app, spawn_app_with};
use reqwest::{Method, StatusCode};
use scim_tests::client::{Scim, okta_user};
use scim_tests::event_schema;
use serde_json::{Value, json};

#[tokio::test]
async fn a_directory_starts_with_the_default_roles_and_an_admin_reorders_and_maps_them() {
    let app = spawn_app().await;
    let created = app.admin.create_directory("Roles Inc", "okta").await;
    let dir = created.directory.id;
    let (status, roles) = app
        .admin
        .send(Method::GET, &format!("/directories/{dir}/roles"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{roles}");
    let ids: Vec<&str> = roles["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["owner", "admin", "member"]);
    assert_eq!(roles["default_role"], "member");

    // A seat tier added between admin and member, and the default moved to it.
    let catalogue = json!({
        "roles": [
            {"id": "owner", "display_name": "Owner"},
            {"id": "admin", "display_name": "Admin", "description": "Manages members"},
            {"id": "scheduler", "display_name": "Scheduler"},
            {"id": "member", "display_name": "Member"},
        ],
        "default_role": "scheduler",
    });
    let path = format!("/directories/{dir}/roles");
    let (status, body) = app
        .admin
        .send(Method::PUT, &path, Some(catalogue.clone()))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["default_role"], "scheduler");
    assert_eq!(body["roles"][2]["id"], "scheduler");

    for (bad, why) in [
        (json!({"roles": [], "default_role": "member"}), "no roles"),
        (
            json!({"roles": [{"id": "a b", "display_name": "A"}], "default_role": "a b"}),
            "a space in an id",
        ),
        (
            json!({"roles": [{"id": "a", "display_name": "A"}, {"id": "a", "display_name": "B"}], "default_role": "a"}),
            "an id twice",
        ),
        (
            json!({"roles": [{"id": "a", "display_name": "A"}], "default_role": "b"}),
            "a default that is no role",
        ),
        (
            json!({"roles": [{"id": "a", "display_name": " "}], "default_role": "a"}),
            "a blank name",
        ),
    ] {
        let (status, body) = app.admin.send(Method::PUT, &path, Some(bad)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{why}: {body}");
        assert!(body["error"].is_string(), "{why}: {body}");
    }

    let mappings = format!("/directories/{dir}/role-mappings");
    let (status, body) = app
        .admin
        .send(
            Method::PUT,
            &mappings,
            Some(json!({"groups": {"Leads": "admin", "Founders": "owner"}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!({"groups": {"Founders": "owner", "Leads": "admin"}})
    );
    let (status, body) = app
        .admin
        .send(
            Method::PUT,
            &mappings,
            Some(json!({"groups": {"Leads": "superuser"}})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let error = body["error"].as_str().unwrap();
    assert!(
        error.contains("superuser") && error.contains("owner, admin, scheduler, member"),
        "names the roles that exist: {error}"
    );

    // Dropping a role drops the mappings to it.
    let mut fewer = catalogue.clone();
    fewer["roles"].as_array_mut().unwrap().remove(1);
    let (status, _) = app.admin.send(Method::PUT, &path, Some(fewer)).await;
    assert_eq!(status, StatusCode::OK);
    let (_, body) = app.admin.send(Method::GET, &mappings, None).await;
    assert_eq!(body, json!({"groups": {"Founders": "owner"}}));

    // Every change that changed something is one directory.roles_changed, valid
    // against the contract, with what it was before.
    let schema = event_schema();
    let changes: Vec<Value> = published_events(&app)
        .await
        .into_iter()
        .map(|e| e.payload)
        .filter(|e| e["type"] == "directory.roles_changed")
        .collect();
    assert_eq!(changes.len(), 3, "{changes:#?}");
    for e in &changes {
        assert!(schema.is_valid(e), "{e}");
    }
    assert_eq!(changes[0]["previous"]["default_role"], "member");
    assert_eq!(changes[1]["previous"]["role_groups"], json!({}));
    assert_eq!(
        changes[2]["resource"]["role_groups"],
        json!({"Founders": "owner"})
    );
    assert!(changes[2]["previous"]["roles"].is_array());
}

#[tokio::test]
async fn a_role_is_set_by_hand_only_for_members_made_by_hand() {
    let app = spawn_app().await;
    let created = app.admin.create_directory("Hand Roles", "generic").await;
    let dir = created.directory.id;
    // A member made by hand: added to a team by email.
    let team = app.admin.create_team(dir, "Support").await;
    let (status, body) = app
        .admin
        .send(
            Method::POST,
            &format!("/directories/{dir}/teams/{}/members", team.id),
            Some(json!({"email": "hand@acme.com"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, members) = app
        .admin
        .send(Method::GET, &format!("/directories/{dir}/members"), None)
        .await;
    let member = &members[0];
    assert_eq!(
        (&member["role"], &member["role_source"]),
        (&json!("member"), &json!("default")),
        "a member made by hand starts with the default role: {member}"
    );
    let id = member["id"].as_str().unwrap();
    let role = format!("/directories/{dir}/members/{id}/role");
    let (status, body) = app
        .admin
        .send(Method::PUT, &role, Some(json!({"role": "admin"})))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["source"], "admin");
    let (status, body) = app
        .admin
        .send(Method::PUT, &role, Some(json!({"role": "boss"})))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("owner, admin, member")
    );
    let (status, _) = app
        .admin
        .send(
            Method::PUT,
            &format!("/directories/{dir}/members/{}/role", uuid::Uuid::now_v7()),
            Some(json!({"role": "admin"})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let events: Vec<Value> = published_events(&app)
        .await
        .into_iter()
        .map(|e| e.payload)
        .filter(|e| e["type"] == "member.role_changed")
        .collect();
    assert_eq!(events.len(), 1, "{events:#?}");
    let e = &events[0];
    assert!(event_schema().is_valid(e), "{e}");
    assert_eq!(
        (
            &e["resource"]["role"],
            &e["previous"]["role"],
            &e["cause"]["reason"]
        ),
        (&json!("admin"), &json!("member"), &json!("admin"))
    );
    assert!(e["actor"].is_string());
}

#[tokio::test]
async fn a_provisioned_members_role_cannot_be_set_by_hand() {
    let app = spawn_app().await;
    let created = app
        .admin
        .create_directory("Provisioned Roles", "okta")
        .await;
    let dir = created.directory.id;
    let scim = Scim::new(&created.directory.scim_base_url, &created.token.token);
    let user = scim
        .send(
            Method::POST,
            "/Users",
            Some(&okta_user("prov@acme.com", "Pro", "Visioned")),
        )
        .await;
    assert_eq!(user.status, StatusCode::CREATED);
    // The member record is the worker's to make; made here as it would.
    let user_id: uuid::Uuid = user.body["id"].as_str().unwrap().parse().unwrap();
    let member = uuid::Uuid::now_v7();
    sqlx::query(
        "INSERT INTO members (id, directory_id, scim_user_id, email, status, scim_version, role, role_source)
         VALUES ($1, $2, $3, 'prov@acme.com', 'active', 1, 'member', 'default')",
    )
    .bind(member)
    .bind(dir)
    .bind(user_id)
    .execute(&app.db.pool)
    .await
    .unwrap();
    let (status, body) = app
        .admin
        .send(
            Method::PUT,
            &format!("/directories/{dir}/members/{member}/role"),
            Some(json!({"role": "owner"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("managed by the identity provider"),
        "{body}"
    );
}

#[tokio::test]
async fn okta_discovers_the_roles_and_pages_through_them() {
    let app = spawn_app_with(|c| {
        c.roles = Some("owner=Owner,admin=Admin,billing=Billing,member=Member".into());
    })
    .await;
    let okta = app.admin.create_directory("Governed", "okta").await;
    let scim = Scim::new(&okta.directory.scim_base_url, &okta.token.token);
    let types = scim.send(Method::GET, "/ResourceTypes", None).await.body;
    let role_type = types["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == "Role")
        .cloned()
        .unwrap_or_else(|| panic!("no Role resource type: {types}"));
    assert_eq!(role_type["endpoint"], "/Roles");
    assert_eq!(role_type["schema"], "urn:okta:scim:schemas:core:1.0:Role");
    let schema = scim
        .send(
            Method::GET,
            "/Schemas/urn:okta:scim:schemas:core:1.0:Role",
            None,
        )
        .await;
    assert_eq!(schema.status, StatusCode::OK);
    let one = scim.send(Method::GET, "/ResourceTypes/Role", None).await;
    assert_eq!(one.body["endpoint"], "/Roles");

    // The deployment's catalogue, in its order, a page at a time.
    let page = scim
        .send(Method::GET, "/Roles?count=1&startIndex=1", None)
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(
        (
            &page.body["totalResults"],
            &page.body["itemsPerPage"],
            &page.body["startIndex"]
        ),
        (&json!(4), &json!(1), &json!(1))
    );
    assert_eq!(
        page.body["Resources"][0],
        json!({
            "schemas": ["urn:okta:scim:schemas:core:1.0:Role"],
            "id": "owner",
            "displayName": "Owner",
            "meta": {"resourceType": "Role", "location": format!("{}/Roles/owner", okta.directory.scim_base_url)},
        })
    );
    let ids: Vec<Value> = scim
        .send(Method::GET, "/Roles?startIndex=2&count=2", None)
        .await
        .body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].clone())
        .collect();
    assert_eq!(ids, [json!("admin"), json!("billing")]);
    let default = app
        .admin
        .send(
            Method::GET,
            &format!("/directories/{}/roles", okta.directory.id),
            None,
        )
        .await
        .1;
    assert_eq!(
        default["default_role"], "member",
        "the last role is the default"
    );
    let billing = scim.send(Method::GET, "/Roles/billing", None).await;
    assert_eq!(
        (billing.status, &billing.body["displayName"]),
        (StatusCode::OK, &json!("Billing"))
    );
    let missing = scim.send(Method::GET, "/Roles/nobody", None).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.body["status"], "404");

    // The same roles as Okta entitlements of type Role, for an org that maps those.
    let types = scim
        .send(Method::GET, "/ResourceTypes/Entitlement", None)
        .await;
    assert_eq!(
        (&types.body["endpoint"], &types.body["schema"]),
        (
            &json!("/Entitlements"),
            &json!("urn:okta:scim:schemas:core:1.0:Entitlement")
        )
    );
    let page = scim
        .send(Method::GET, "/Entitlements?startIndex=4&count=10", None)
        .await;
    assert_eq!(page.body["totalResults"], 4);
    assert_eq!(
        page.body["Resources"],
        json!([{
            "schemas": ["urn:okta:scim:schemas:core:1.0:Entitlement"],
            "id": "member",
            "displayName": "Member",
            "type": "Role",
            "meta": {"resourceType": "Entitlement", "location": format!("{}/Entitlements/member", okta.directory.scim_base_url)},
        }])
    );
    let one = scim.send(Method::GET, "/Entitlements/admin", None).await;
    assert_eq!(one.body["type"], "Role");

    // A generic client is not shown a resource type it would take for one it can create.
    let generic = app.admin.create_directory("Plain", "generic").await;
    let scim = Scim::new(&generic.directory.scim_base_url, &generic.token.token);
    let types = scim.send(Method::GET, "/ResourceTypes", None).await.body;
    assert_eq!(types["totalResults"], 2, "{types}");
    let schemas = scim.send(Method::GET, "/Schemas", None).await.body;
    assert!(
        !schemas
            .to_string()
            .contains("urn:okta:scim:schemas:core:1.0:Role"),
        "{schemas}"
    );
}
