//! End to end: roles pushed by the identity provider (groups mapped with the real
//! `scimctl`, Entra's app roles, Okta's role assignments) reach the product's members
//! through the real worker, each change announced as `member.role_changed` with its
//! cause.

use reqwest::StatusCode;
use scim_admin_api::{Member, RoleSource};
use scim_tests::client::okta_user;
use scim_tests::eventually;
use scim_tests::system::System;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;

/// Each member's (role, source), by email, through `scimctl members --json`.
fn roles(sys: &System) -> BTreeMap<String, (Option<String>, Option<RoleSource>)> {
    let members: Vec<Member> = sys.ctl.json(&["members"]);
    members
        .into_iter()
        .filter_map(|m| Some((m.email?, (m.role, m.role_source))))
        .collect()
}

async fn roles_become(sys: &System, want: &[(&str, &str, RoleSource)]) {
    let want: BTreeMap<String, (Option<String>, Option<RoleSource>)> = want
        .iter()
        .map(|(email, role, source)| {
            (
                (*email).to_owned(),
                (Some((*role).to_owned()), Some(*source)),
            )
        })
        .collect();
    eventually(Duration::from_secs(30), "the members' roles", || async {
        let now = roles(sys);
        want.iter()
            .all(|(email, role)| now.get(email) == Some(role))
            .then_some(())
    })
    .await;
}

async fn user(sys: &System, email: &str, roles: Option<Value>) -> String {
    let mut body = okta_user(email, "R", "Ole");
    if let Some(roles) = roles {
        body["roles"] = roles;
    }
    let r = sys.scim.create_user(&body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    r.body["id"].as_str().unwrap().to_owned()
}

/// The `member.role_changed` events of one member, by email, in publication order.
fn role_events<'e>(events: &'e [Value], email: &str) -> Vec<&'e Value> {
    events
        .iter()
        .filter(|e| e["type"] == "member.role_changed" && e["resource"]["email"] == email)
        .collect()
}

#[tokio::test]
async fn roles_follow_mapped_groups_by_the_catalogues_order() {
    let sys = System::start().await;
    sys.ctl.ok(&[
        "roles",
        "map",
        "--group",
        "Leads=admin",
        "--group",
        "Founders=owner",
    ]);
    let ada = user(&sys, "ada@acme.com", None).await;
    let bob = user(&sys, "bob@acme.com", None).await;
    user(&sys, "cy@acme.com", None).await;
    let leads = sys
        .scim
        .create_group(&json!({"displayName": "Leads", "members": [{"value": ada}, {"value": bob}]}))
        .await;
    assert_eq!(leads.status, StatusCode::CREATED);
    let founders = sys
        .scim
        .create_group(&json!({"displayName": "Founders", "members": [{"value": ada}]}))
        .await;
    let founders = founders.body["id"].as_str().unwrap().to_owned();
    roles_become(
        &sys,
        &[
            ("ada@acme.com", "owner", RoleSource::Group),
            ("bob@acme.com", "admin", RoleSource::Group),
            ("cy@acme.com", "member", RoleSource::Default),
        ],
    )
    .await;

    // Leaving the higher group leaves the lower one's role.
    let r = sys
        .scim
        .patch_group(
            &founders,
            json!([{"op": "remove", "path": format!("members[value eq \"{ada}\"]")}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    roles_become(&sys, &[("ada@acme.com", "admin", RoleSource::Group)]).await;

    // A preview of unmapping Leads says what it would do, and does nothing.
    let preview: Value = sys
        .ctl
        .json(&["roles", "map", "--group", "Founders=owner", "--dry-run"]);
    assert_eq!(preview["changed"], 2, "{preview}");
    assert_eq!(preview["changes"][0]["email"], "ada@acme.com");
    assert_eq!(
        (&preview["changes"][0]["from"], &preview["changes"][0]["to"]),
        (&json!("admin"), &json!("member"))
    );
    assert_eq!(roles(&sys)["bob@acme.com"].0.as_deref(), Some("admin"));
    sys.ctl.ok(&["roles", "map", "--group", "Founders=owner"]);
    roles_become(
        &sys,
        &[
            ("ada@acme.com", "member", RoleSource::Default),
            ("bob@acme.com", "member", RoleSource::Default),
        ],
    )
    .await;

    // A provisioned member's role is the identity provider's: refused by hand.
    let members: Vec<Member> = sys.ctl.json(&["members"]);
    let bob_member = members
        .iter()
        .find(|m| m.email.as_deref() == Some("bob@acme.com"))
        .unwrap();
    let refused = sys.ctl.refused(&[
        "roles",
        "assign",
        "--member",
        &bob_member.id.to_string(),
        "--role",
        "owner",
    ]);
    assert!(
        refused.contains("managed by the identity provider"),
        "{refused}"
    );

    let events = sys.all_events().await;
    let ada_events = role_events(&events, "ada@acme.com");
    let steps: Vec<(Value, Value, Value)> = ada_events
        .iter()
        .map(|e| {
            (
                e["previous"]["role"].clone(),
                e["resource"]["role"].clone(),
                e["cause"].clone(),
            )
        })
        .collect();
    assert_eq!(
        steps.last().unwrap(),
        &(
            json!("admin"),
            json!("member"),
            json!({"reason": "default"})
        ),
        "{steps:#?}"
    );
    assert!(
        steps.iter().any(|(_, role, cause)| role == "owner"
            && cause == &json!({"reason": "group", "groups": ["Founders"]})),
        "ada became owner through Founders: {steps:#?}"
    );
    assert!(steps.contains(&(
        json!("owner"),
        json!("admin"),
        json!({"reason": "group", "groups": ["Leads"]})
    )));
    let versions: Vec<i64> = ada_events
        .iter()
        .map(|e| e["resource_version"].as_i64().unwrap())
        .collect();
    assert!(
        versions.windows(2).all(|w| w[0] < w[1]),
        "a member's events count up: {versions:?}"
    );
    let cy: Vec<(&Value, &Value)> = role_events(&events, "cy@acme.com")
        .iter()
        .map(|e| (&e["previous"]["role"], &e["cause"]))
        .collect();
    assert_eq!(
        cy,
        [(&Value::Null, &json!({"reason": "default"}))],
        "cy's one event: the default role, on its first"
    );
}

#[tokio::test]
async fn entra_app_roles_and_okta_role_assignments_set_the_role_over_groups() {
    let sys = System::start().await;
    sys.ctl.ok(&["roles", "map", "--group", "Everyone=admin"]);
    let w = "WindowsAzureActiveDirectoryRole";
    // AssertiveAppRoleAssignmentsComplex: every app role, none primary.
    let eve = user(
        &sys,
        "eve@acme.com",
        Some(json!([
            {"primary": false, "type": w, "display": "Owner", "value": "Owner"},
            {"primary": false, "type": w, "display": "Member", "value": "Member"},
        ])),
    )
    .await;
    // SingleAppRoleAssignment: one primary role, then a PATCH adding one as JSON text.
    let sam = user(
        &sys,
        "sam@acme.com",
        Some(json!([{"primary": true, "type": w, "value": "Member"}])),
    )
    .await;
    // Okta Identity Governance: roles by the values /Roles lists.
    let oli = user(
        &sys,
        "oli@acme.com",
        Some(json!([{"value": "admin", "display": "Admin"}])),
    )
    .await;
    // Okta Identity Governance's entitlement assignment (the roles as /Entitlements).
    let ent = user(&sys, "ent@acme.com", None).await;
    let everyone = sys
        .scim
        .create_group(&json!({"displayName": "Everyone", "members": [{"value": eve}, {"value": sam}, {"value": oli}, {"value": ent}]}))
        .await;
    assert_eq!(everyone.status, StatusCode::CREATED);
    roles_become(
        &sys,
        &[
            ("eve@acme.com", "owner", RoleSource::IdentityProvider),
            ("sam@acme.com", "member", RoleSource::IdentityProvider),
            ("oli@acme.com", "admin", RoleSource::IdentityProvider),
            ("ent@acme.com", "admin", RoleSource::Group),
        ],
    )
    .await;
    let r = sys
        .scim
        .patch_user(
            &ent,
            json!([{"op": "add", "path": "entitlements", "value": [
                {"value": "owner", "display": "Owner", "type": "Role"}
            ]}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    roles_become(
        &sys,
        &[("ent@acme.com", "owner", RoleSource::IdentityProvider)],
    )
    .await;

    // The assertive replace sends the whole list: Owner is gone.
    let r = sys
        .scim
        .patch_user(
            &eve,
            json!([{"op": "replace", "path": "roles", "value": [
                {"primary": false, "type": w, "display": "Member", "value": "Member"}
            ]}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let text = json!({"id": "7c1fd0c2-5c8f-4b2a-9f1c-0d3f2f0c8e11", "value": "Admin", "displayName": "Admin"});
    let r = sys
        .scim
        .patch_user(
            &sam,
            json!([{"op": "Add", "path": "roles", "value": [{"value": text.to_string()}]}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    // Okta takes a role away by sending the user without it: the group's role is next.
    let mut put = okta_user("oli@acme.com", "R", "Ole");
    put["roles"] = json!([]);
    let r = sys
        .scim
        .send(reqwest::Method::PUT, &format!("/Users/{oli}"), Some(&put))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    roles_become(
        &sys,
        &[
            ("eve@acme.com", "member", RoleSource::IdentityProvider),
            ("sam@acme.com", "admin", RoleSource::IdentityProvider),
            ("oli@acme.com", "admin", RoleSource::Group),
        ],
    )
    .await;

    let events = sys.all_events().await;
    let eve_last = role_events(&events, "eve@acme.com")
        .last()
        .copied()
        .cloned();
    let eve_last = eve_last.expect("eve's role changed");
    assert_eq!(
        (&eve_last["previous"]["role"], &eve_last["resource"]["role"]),
        (&json!("owner"), &json!("member"))
    );
    assert_eq!(
        eve_last["cause"],
        json!({"reason": "identity_provider", "values": ["Member"]})
    );
    let sam_last = role_events(&events, "sam@acme.com")
        .last()
        .copied()
        .cloned();
    assert_eq!(
        sam_last.expect("sam's role changed")["cause"],
        json!({"reason": "identity_provider", "values": ["Admin"]})
    );
    let ent_last = role_events(&events, "ent@acme.com")
        .last()
        .copied()
        .cloned();
    let ent_last = ent_last.expect("ent's role changed");
    assert_eq!(
        (
            &ent_last["previous"]["role"],
            &ent_last["resource"]["role"],
            &ent_last["cause"]
        ),
        (
            &json!("admin"),
            &json!("owner"),
            &json!({"reason": "identity_provider", "values": ["owner"]})
        )
    );
    let oli: Vec<&Value> = role_events(&events, "oli@acme.com");
    assert_eq!(
        oli.len(),
        1,
        "the same role from another source is no role change: {oli:#?}"
    );
    assert_eq!(
        oli[0]["cause"],
        json!({"reason": "identity_provider", "values": ["admin"]})
    );
}

#[tokio::test]
async fn a_role_set_by_hand_falls_back_to_the_default_when_its_role_is_removed() {
    let sys = System::start().await;
    sys.ctl.create_team("Support");
    sys.ctl.ok(&[
        "team",
        "add-member",
        "--team",
        "Support",
        "--email",
        "hand@acme.com",
    ]);
    let members: Vec<Member> = sys.ctl.json(&["members"]);
    let hand = members[0].id.to_string();
    sys.ctl
        .ok(&["roles", "assign", "--member", &hand, "--role", "admin"]);
    roles_become(&sys, &[("hand@acme.com", "admin", RoleSource::Admin)]).await;
    let preview: Value = sys.ctl.json(&[
        "roles",
        "set",
        "--role",
        "owner=Owner",
        "--role",
        "member=Member",
        "--default",
        "member",
        "--dry-run",
    ]);
    assert_eq!(preview["changed"], 1, "{preview}");
    sys.ctl.ok(&[
        "roles",
        "set",
        "--role",
        "owner=Owner",
        "--role",
        "member=Member",
        "--default",
        "member",
    ]);
    roles_become(&sys, &[("hand@acme.com", "member", RoleSource::Default)]).await;
    let events = sys.all_events().await;
    let last = role_events(&events, "hand@acme.com")
        .last()
        .copied()
        .cloned()
        .expect("the member's role changed");
    assert_eq!(
        (&last["previous"]["role"], &last["cause"]),
        (&json!("admin"), &json!({"reason": "default"}))
    );
    assert!(last.get("actor").is_none(), "the worker made this change");
}
