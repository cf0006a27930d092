//! End to end: pausing a directory's provisioning with `scimctl`. The identity provider
//! is answered and the directory records what it sends; the product's members and teams
//! are left as they are until the directory resumes, when they are recomputed from it.

use reqwest::{Method, StatusCode};
use scim_events::STREAM;
use scim_tests::client::okta_user;
use scim_tests::system::System;
use scim_tests::{eventually, read_subjects};
use serde_json::json;
use std::collections::BTreeSet;
use std::time::Duration;

async fn members(sys: &System, status: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM members WHERE directory_id = $1 AND status = $2")
        .bind(sys.dir)
        .bind(status)
        .fetch_one(&sys.db.pool)
        .await
        .unwrap()
}

async fn user(sys: &System, email: &str) -> String {
    let r = sys.scim.create_user(&okta_user(email, "P", "Q")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    r.body["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_paused_directory_records_a_group_push_and_applies_it_on_resume() {
    let sys = System::start().await;
    let mut ids = Vec::new();
    for i in 0..4 {
        ids.push(user(&sys, &format!("p{i}@acme.com")).await);
    }
    eventually(Duration::from_secs(30), "four members", || async {
        (members(&sys, "active").await == 4).then_some(())
    })
    .await;
    sys.ctl.create_team("Engineering");
    sys.ctl.map_team("Engineering", &["eng"]);

    let out = sys.ctl.ok(&["directory", "pause"]);
    assert!(out.contains("provisioning paused"), "{out}");
    assert!(sys.ctl.directory().paused_at.is_some());
    // Okta pushes a group, deactivates someone and assigns someone new: all answered.
    let refs: Vec<_> = ids[..3].iter().map(|id| json!({"value": id})).collect();
    let group = sys
        .scim
        .create_group(&json!({"displayName": "eng", "members": refs}))
        .await;
    assert_eq!(group.status, StatusCode::CREATED, "{:?}", group.body);
    let off = json!([{"op": "replace", "value": {"active": false}}]);
    assert_eq!(
        sys.scim.patch_user(&ids[3], off).await.status,
        StatusCode::OK
    );
    user(&sys, "new@acme.com").await;
    sys.admin.settled().await;
    // The directory recorded it; the product did not change.
    let group_id = group.body["id"].as_str().unwrap();
    let stored = sys
        .scim
        .send(Method::GET, &format!("/Groups/{group_id}"), None)
        .await;
    assert_eq!(stored.body["members"].as_array().unwrap().len(), 3);
    assert!(sys.ctl.team_emails("Engineering").is_empty());
    assert_eq!(
        (
            members(&sys, "active").await,
            members(&sys, "deactivated").await
        ),
        (4, 0)
    );

    let out = sys.ctl.ok(&["directory", "resume"]);
    assert!(out.contains("provisioning resumed"), "{out}");
    assert!(sys.ctl.directory().paused_at.is_none());
    let eng: BTreeSet<String> = (0..3).map(|i| format!("p{i}@acme.com")).collect();
    eventually(Duration::from_secs(30), "the directory applied", || async {
        let applied = sys.ctl.team_emails("Engineering") == eng
            && members(&sys, "active").await == 4
            && members(&sys, "deactivated").await == 1;
        applied.then_some(())
    })
    .await;
    for (event, paused) in [
        ("provisioning_paused", true),
        ("provisioning_resumed", false),
    ] {
        let subject = format!("scim.v1.{}.directory.{event}", sys.dir);
        let published = read_subjects(&sys.nats.url, STREAM, &subject, 1).await;
        assert_eq!(published[0].payload["resource"]["paused"], paused);
    }
    let audit = sys.admin.audit(&format!("?directory={}", sys.dir)).await;
    assert!(
        audit
            .iter()
            .any(|a| a.action == "directory.provisioning_paused")
    );
}
