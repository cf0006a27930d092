//! End to end: `scimctl directory reconcile` after a hand edit of the product's tables:
//! the dry run says what differs and changes nothing, the run puts members and teams
//! back as the directory says, and a second dry run finds nothing.

use reqwest::StatusCode;
use scim_admin_api::{MemberChangeKind, Reconciliation};
use scim_tests::client::okta_user;
use scim_tests::eventually;
use scim_tests::system::System;
use serde_json::json;
use std::collections::BTreeSet;
use std::time::Duration;

async fn sql(sys: &System, statement: &str, email: &str) {
    sqlx::query(sqlx::AssertSqlSafe(statement.to_owned()))
        .bind(email)
        .execute(&sys.db.pool)
        .await
        .unwrap();
}

#[tokio::test]
async fn reconcile_puts_back_what_a_hand_edit_changed_after_a_dry_run() {
    let sys = System::start().await;
    sys.ctl.create_team("Eng");
    sys.ctl.map_team("Eng", &["eng"]);
    let mut refs = Vec::new();
    for i in 0..4 {
        let r = sys
            .scim
            .create_user(&okta_user(&format!("p{i}@acme.com"), "P", &i.to_string()))
            .await;
        assert_eq!(r.status, StatusCode::CREATED);
        refs.push(json!({"value": r.body["id"]}));
    }
    let group = json!({"displayName": "eng", "members": refs[..3]});
    assert_eq!(
        sys.scim.create_group(&group).await.status,
        StatusCode::CREATED
    );
    let eng: BTreeSet<String> = (0..3).map(|i| format!("p{i}@acme.com")).collect();
    eventually(Duration::from_secs(30), "the team", || async {
        (sys.ctl.team_emails("Eng") == eng).then_some(())
    })
    .await;
    sys.admin.settled().await;

    // By hand: p0 deactivated (at a version from nowhere), p1's email mistyped, p2 out
    // of its team, p3's record deleted.
    let hand_edits = [
        (
            "UPDATE members SET status = 'deactivated', scim_version = scim_version + 100 WHERE email = $1",
            "p0@acme.com",
        ),
        (
            "UPDATE members SET email = 'typo@acme.com' WHERE email = $1",
            "p1@acme.com",
        ),
        (
            "DELETE FROM team_members WHERE member_id = (SELECT id FROM members WHERE email = $1)",
            "p2@acme.com",
        ),
        ("DELETE FROM members WHERE email = $1", "p3@acme.com"),
    ];
    for (statement, email) in hand_edits {
        sql(&sys, statement, email).await;
    }

    let dry: Reconciliation = sys.ctl.json(&["directory", "reconcile", "--dry-run"]);
    assert!(dry.dry_run);
    let changes: BTreeSet<(String, MemberChangeKind)> = dry
        .members
        .iter()
        .map(|m| (m.email.clone().unwrap(), m.change))
        .collect();
    let expected = BTreeSet::from([
        ("p0@acme.com".to_owned(), MemberChangeKind::Reactivated),
        ("p1@acme.com".to_owned(), MemberChangeKind::Updated),
        ("p3@acme.com".to_owned(), MemberChangeKind::Created),
    ]);
    assert_eq!(changes, expected, "{dry:?}");
    assert_eq!((dry.changed, dry.held), (3, 0));
    assert_eq!(dry.teams.joined["Eng"], ["p2@acme.com"], "{:?}", dry.teams);
    // Nothing changed yet.
    let edited = BTreeSet::from(["p0@acme.com".to_owned(), "typo@acme.com".to_owned()]);
    assert_eq!(sys.ctl.team_emails("Eng"), edited);
    let text = sys.ctl.ok(&["directory", "reconcile", "--dry-run"]);
    assert!(text.contains("dry run: nothing was changed"), "{text}");
    assert!(text.contains("reactivate"), "{text}");

    let done: Reconciliation = sys.ctl.json(&["directory", "reconcile"]);
    assert_eq!((done.dry_run, done.changed), (false, 3));
    assert_eq!(sys.ctl.team_emails("Eng"), eng);
    let again: Reconciliation = sys.ctl.json(&["directory", "reconcile", "--dry-run"]);
    assert_eq!(again.changed, 0, "{again:?}");
    assert!(again.teams.joined.is_empty() && again.teams.left.is_empty());
    let audit = sys.admin.audit(&format!("?directory={}", sys.dir)).await;
    assert!(audit.iter().any(|a| a.action == "directory.reconciled"));
}
