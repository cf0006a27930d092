//! End to end: members the product had before provisioning. A push with the email of a
//! member made by hand adopts it (the default), or is refused naming it; provisioning
//! never changes a member it neither created nor adopted.

use reqwest::StatusCode;
use scim_admin_api::{ManagedBy, Member};
use scim_tests::client::okta_user;
use scim_tests::eventually;
use scim_tests::system::System;
use serde_json::json;
use std::time::Duration;

/// `scimctl members --json`: the member with this email (case ignored), if any.
fn member(sys: &System, email: &str) -> Option<Member> {
    let all: Vec<Member> = sys.ctl.json(&["members"]);
    let mut found: Vec<Member> = all
        .into_iter()
        .filter(|m| {
            m.email
                .as_deref()
                .is_some_and(|e| e.eq_ignore_ascii_case(email))
        })
        .collect();
    assert!(found.len() <= 1, "one member per person: {found:?}");
    found.pop()
}

/// A member made by hand: added to a team by email.
fn by_hand(sys: &System, email: &str) -> Member {
    sys.ctl.create_team("Founders");
    sys.ctl
        .ok(&["team", "add-member", "--team", "Founders", "--email", email]);
    let made = member(sys, email).expect("the member made by hand");
    assert_eq!(made.managed_by, ManagedBy::Manual);
    made
}

#[tokio::test]
async fn the_first_push_with_its_email_adopts_a_member_made_by_hand() {
    let sys = System::start().await;
    let made = by_hand(&sys, "ann@acme.com");
    let r = sys
        .scim
        .create_user(&okta_user("Ann@acme.com", "Ann", "Lee"))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let user = r.body["id"].as_str().unwrap().to_owned();
    let adopted = eventually(Duration::from_secs(30), "the adoption", || async {
        member(&sys, "ann@acme.com").filter(|m| m.managed_by == ManagedBy::Adopted)
    })
    .await;
    // The same member, now the user's, with its team and the name Okta sent.
    assert_eq!(adopted.id, made.id);
    assert_eq!(
        adopted.scim_user_id.map(|u| u.to_string()),
        Some(user.clone())
    );
    assert_eq!(adopted.display_name.as_deref(), Some("Ann Lee"));
    assert_eq!(adopted.teams, ["Founders"]);
    // Provisioning manages it from now on.
    let off = json!([{"op": "replace", "value": {"active": false}}]);
    assert_eq!(sys.scim.patch_user(&user, off).await.status, StatusCode::OK);
    eventually(Duration::from_secs(30), "the deactivation", || async {
        member(&sys, "ann@acme.com")
            .filter(|m| m.status == scim_admin_api::MemberStatus::Deactivated)
    })
    .await;
}

#[tokio::test]
async fn a_directory_that_refuses_names_the_member_and_leaves_it_alone() {
    let sys = System::start().await;
    let boss = by_hand(&sys, "boss@acme.com");
    sys.ctl
        .ok(&["directory", "existing-members", "--mode", "refuse"]);
    let refused = sys
        .scim
        .create_user(&okta_user("boss@acme.com", "The", "Boss"))
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{:?}", refused.body);
    assert_eq!(refused.body["scimType"], "uniqueness");
    let detail = refused.body["detail"].as_str().unwrap();
    assert!(detail.contains("boss@acme.com"), "{detail}");
    assert!(detail.contains(&boss.id.to_string()), "{detail}");

    // Everyone else is provisioned and deprovisioned as usual; the boss is untouched.
    let r = sys
        .scim
        .create_user(&okta_user("temp@acme.com", "Tem", "P"))
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let off = json!([{"op": "replace", "value": {"active": false}}]);
    let temp = r.body["id"].as_str().unwrap();
    assert_eq!(sys.scim.patch_user(temp, off).await.status, StatusCode::OK);
    eventually(Duration::from_secs(30), "temp deactivated", || async {
        member(&sys, "temp@acme.com")
            .filter(|m| m.status == scim_admin_api::MemberStatus::Deactivated)
    })
    .await;
    let after = member(&sys, "boss@acme.com").unwrap();
    assert_eq!((after.id, after.managed_by), (boss.id, ManagedBy::Manual));
    assert_eq!(after.status, scim_admin_api::MemberStatus::Active);
    assert_eq!(after.scim_user_id, None);
}
