//! End to end: a directory's retention deletes users its identity provider deactivated
//! and left unchanged for the set number of days, as an ordinary deletion, which the
//! mass-deprovisioning hold does not count.

use reqwest::{Method, StatusCode};
use scim_events::STREAM;
use scim_tests::client::okta_user;
use scim_tests::system::System;
use scim_tests::{eventually, read_subjects};
use serde_json::json;
use std::time::Duration;

async fn count(sys: &System, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
        .bind(sys.dir)
        .fetch_one(&sys.db.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn users_deactivated_past_the_retention_are_deleted_without_the_hold_counting_them() {
    let sys = System::start_with(&[("RETENTION_CHECK_SECONDS", "1")], &[]).await;
    let mut ids = Vec::new();
    for i in 0..3 {
        let r = sys
            .scim
            .create_user(&okta_user(&format!("r{i}@acme.com"), "R", &i.to_string()))
            .await;
        assert_eq!(r.status, StatusCode::CREATED);
        ids.push(r.body["id"].as_str().unwrap().to_owned());
    }
    let members = "SELECT count(*) FROM members WHERE directory_id = $1 AND status = 'active'";
    eventually(Duration::from_secs(30), "three members", || async {
        (count(&sys, members).await == 3).then_some(())
    })
    .await;
    let off = json!([{"op": "replace", "value": {"active": false}}]);
    for id in &ids[..2] {
        assert_eq!(
            sys.scim.patch_user(id, off.clone()).await.status,
            StatusCode::OK
        );
    }
    let out = sys.ctl.ok(&["directory", "retention", "--days", "30"]);
    assert!(out.contains("30 days"), "{out}");
    assert_eq!(sys.ctl.directory().retention_days, Some(30));
    sys.admin.settled().await;
    // Deactivated just now: kept.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let users = "SELECT count(*) FROM scim_users WHERE directory_id = $1";
    assert_eq!(count(&sys, users).await, 3);

    // A month later (the clock moved by hand): deleted, as the identity provider would.
    sqlx::query("UPDATE scim_users SET updated_at = now() - interval '31 days' WHERE NOT active")
        .execute(&sys.db.pool)
        .await
        .unwrap();
    eventually(Duration::from_secs(30), "the deletions", || async {
        (count(&sys, users).await == 1).then_some(())
    })
    .await;
    for id in &ids[..2] {
        let gone = sys
            .scim
            .send(Method::GET, &format!("/Users/{id}"), None)
            .await;
        assert_eq!(gone.status, StatusCode::NOT_FOUND);
    }
    let subject = format!("scim.v1.{}.user.deleted", sys.dir);
    assert_eq!(
        read_subjects(&sys.nats.url, STREAM, &subject, 2)
            .await
            .len(),
        2
    );
    let removed = "SELECT count(*) FROM members WHERE directory_id = $1 AND status = 'removed'";
    eventually(Duration::from_secs(30), "the members removed", || async {
        (count(&sys, removed).await == 2).then_some(())
    })
    .await;
    // The hold counted the two deactivations, not the deletions that followed.
    let window = "SELECT count(*) FROM deprovisionings WHERE directory_id = $1";
    assert_eq!(count(&sys, window).await, 2);
    assert!(
        sys.ctl
            .ok(&["directory", "hold", "show"])
            .contains("no hold")
    );
    assert_eq!(count(&sys, members).await, 1);
}
