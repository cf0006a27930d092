//! End to end: the mass-deprovisioning hold. An identity provider that deactivates or
//! deletes most of a directory at once is answered as always, but past the threshold
//! the members keep access until an operator applies or keeps the hold with `scimctl`.

use futures::StreamExt;
use reqwest::StatusCode;
use scim_admin_api::{Decision, HeldChange, HoldDecision, HoldStatus};
use scim_events::STREAM;
use scim_tests::client::okta_user;
use scim_tests::system::System;
use scim_tests::{event_schema, eventually, read_subjects};
use serde_json::{Value, json};
use std::time::Duration;

/// The directory's size in these tests, and how many of its members the identity
/// provider deprovisions at once: 60 %.
const MEMBERS: usize = 200;
const DEPROVISIONED: usize = 120;
/// What the default threshold lets through: 10 % of 200 (more than the 10-member floor).
const THRESHOLD: usize = 20;

/// What these tests do to the directory, in its words.
trait Directory {
    /// Pushes `n` users the way Okta does; their ids.
    async fn people(&self, n: usize) -> Vec<String>;
    /// Members with this status, as the product sees them.
    async fn members(&self, status: &str) -> i64;
    /// `scimctl directory hold show --json`.
    fn hold(&self) -> HoldStatus;
    /// Waits until the worker has judged every deprovisioning: `applied` took effect
    /// and `held` are held.
    async fn settles(&self, applied: i64, held: i64);
    /// The directory's events of this type, `count` of them.
    async fn events(&self, event_type: &str, count: usize) -> Vec<Value>;
    /// A team "Everyone" mapped to a group "All staff" of these users, filled; the
    /// group's id.
    async fn everyone_team(&self, ids: &[String]) -> String;
    /// Team memberships in effect.
    async fn in_teams(&self) -> i64;
}

impl Directory for System {
    async fn people(&self, n: usize) -> Vec<String> {
        let created = futures::stream::iter(0..n)
            .map(|i| async move {
                let email = format!("person{i}@acme.com");
                let r = self
                    .scim
                    .create_user(&okta_user(&email, "Person", &i.to_string()))
                    .await;
                assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
                r.body["id"].as_str().unwrap().to_owned()
            })
            .buffered(8)
            .collect::<Vec<_>>()
            .await;
        eventually(Duration::from_secs(60), "every member active", || async {
            (self.members("active").await == n as i64).then_some(())
        })
        .await;
        created
    }

    async fn members(&self, status: &str) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM members WHERE directory_id = $1 AND status = $2")
            .bind(self.dir)
            .bind(status)
            .fetch_one(&self.db.pool)
            .await
            .unwrap()
    }

    fn hold(&self) -> HoldStatus {
        self.ctl.json(&["directory", "hold", "show"])
    }

    async fn settles(&self, applied: i64, held: i64) {
        eventually(Duration::from_secs(60), "the hold to settle", || async {
            let gone = self.members("deactivated").await + self.members("removed").await;
            let holding = self.hold().hold.map_or(0, |h| h.deactivations + h.removals);
            (gone == applied && holding == held).then_some(())
        })
        .await;
    }

    async fn events(&self, event_type: &str, count: usize) -> Vec<Value> {
        let subject = format!("scim.v1.{}.{event_type}", self.dir);
        let received = read_subjects(&self.nats.url, STREAM, &subject, count).await;
        let schema = event_schema();
        received
            .into_iter()
            .map(|r| {
                assert!(schema.is_valid(&r.payload), "{}", r.payload);
                r.payload
            })
            .collect()
    }

    async fn everyone_team(&self, ids: &[String]) -> String {
        self.ctl.create_team("Everyone");
        self.ctl.map_team("Everyone", &["All staff"]);
        let everyone: Vec<Value> = ids.iter().map(|id| json!({"value": id})).collect();
        let r = self
            .scim
            .create_group(&json!({"displayName": "All staff", "members": everyone}))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        eventually(Duration::from_secs(60), "everyone in the team", || async {
            (self.in_teams().await == ids.len() as i64).then_some(())
        })
        .await;
        r.body["id"].as_str().unwrap().to_owned()
    }

    async fn in_teams(&self) -> i64 {
        sqlx::query_scalar(
            "SELECT count(*) FROM team_members tm JOIN teams t ON t.id = tm.team_id
             WHERE t.directory_id = $1 AND NOT tm.suspended",
        )
        .bind(self.dir)
        .fetch_one(&self.db.pool)
        .await
        .unwrap()
    }
}

async fn deactivate(sys: &System, id: &str, active: bool) {
    let r = sys
        .scim
        .patch_user(id, json!([{"op": "replace", "value": {"active": active}}]))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
}

#[tokio::test]
async fn a_mass_deactivation_is_held_past_the_threshold_until_applied() {
    let sys = System::start().await;
    let ids = sys.people(MEMBERS).await;
    for id in &ids[..DEPROVISIONED] {
        deactivate(&sys, id, false).await;
    }
    // Okta was answered normally; the product deactivated only the threshold's members.
    let held = (DEPROVISIONED - THRESHOLD) as i64;
    sys.settles(THRESHOLD as i64, held).await;
    assert_eq!(sys.members("active").await, (MEMBERS - THRESHOLD) as i64);
    let status = sys.hold();
    let hold = status.hold.expect("a hold is open");
    assert_eq!(hold.held.len() as i64, held);
    assert!(hold.held.iter().all(|m| m.change == HeldChange::Deactivate));
    assert_eq!((hold.active_members, hold.deprovisioned), (200, 20));
    assert!(
        hold.reason.contains("more than 10 members"),
        "{}",
        hold.reason
    );
    let began = sys.events("directory.deprovisioning_held", 1).await;
    assert_eq!(began[0]["resource"]["hold"]["active_members"], 200);
    assert_eq!(began[0]["resource"]["hold"]["window_minutes"], 60);

    // A reactivation supersedes a held deactivation: the member simply stays active.
    let back = hold.held[0].scim_user_id.to_string();
    deactivate(&sys, &back, true).await;
    sys.settles(THRESHOLD as i64, held - 1).await;
    let text = sys.ctl.ok(&["directory", "hold", "show"]);
    assert!(text.contains("deactivate"), "{text}");
    assert!(!text.contains(&back), "{text}");

    let out = sys.ctl.ok(&["directory", "hold", "apply"]);
    assert!(
        out.contains(&format!("applied: {} members deactivated", held - 1)),
        "{out}"
    );
    sys.settles((DEPROVISIONED - 1) as i64, 0).await;
    assert!(sys.hold().hold.is_none());
    assert!(
        sys.ctl
            .ok(&["directory", "hold", "show"])
            .contains("no hold"),
        "after the decision nothing is held"
    );
    let applied = sys.events("directory.deprovisioning_applied", 1).await;
    assert_eq!(applied[0]["resource"]["hold"]["deactivations"], held - 1);
    assert!(applied[0]["actor"].as_str().unwrap().starts_with("test"));
    let refused = sys.ctl.refused(&["directory", "hold", "apply"]);
    assert!(refused.contains("no open hold"), "{refused}");
}

#[tokio::test]
async fn held_deletions_keep_their_members_and_teams_when_kept() {
    let sys = System::start().await;
    let ids = sys.people(MEMBERS).await;
    sys.everyone_team(&ids).await;

    // Entra deletes users outright when they fall out of scope.
    for id in &ids[..DEPROVISIONED] {
        let r = sys.scim.delete_user(id).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    }
    let held = (DEPROVISIONED - THRESHOLD) as i64;
    sys.settles(THRESHOLD as i64, held).await;
    let hold = sys.hold().hold.expect("a hold is open");
    assert!(hold.held.iter().all(|m| m.change == HeldChange::Remove));
    // The held members keep their team too.
    assert_eq!(sys.in_teams().await, (MEMBERS - THRESHOLD) as i64);

    let kept: HoldDecision = sys.ctl.json(&["directory", "hold", "keep"]);
    assert_eq!((kept.decision, kept.removals), (Decision::Kept, held));
    assert!(sys.hold().hold.is_none());
    assert_eq!(sys.members("active").await, (MEMBERS - THRESHOLD) as i64);
    // The directory no longer has them: they are members managed by hand now, with
    // their teams, and provisioning leaves them alone.
    let detached: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM members WHERE directory_id = $1 AND scim_user_id IS NULL",
    )
    .bind(sys.dir)
    .fetch_one(&sys.db.pool)
    .await
    .unwrap();
    assert_eq!(detached, held);
    assert_eq!(sys.in_teams().await, (MEMBERS - THRESHOLD) as i64);
    sys.events("directory.deprovisioning_kept", 1).await;
}

#[tokio::test]
async fn the_policy_is_set_per_directory_and_the_hold_can_be_turned_off() {
    let sys = System::start().await;
    let out = sys.ctl.ok(&[
        "directory",
        "hold-policy",
        "--min-members",
        "3",
        "--share",
        "1",
    ]);
    assert!(out.contains("more than 3 members"), "{out}");
    let policy = sys.ctl.directory().hold_policy.expect("a policy");
    assert_eq!((policy.min_members, policy.share_percent), (3, 1));
    let refused = sys.ctl.refused(&[
        "directory",
        "hold-policy",
        "--min-members",
        "3",
        "--share",
        "0",
    ]);
    assert!(
        refused.contains("share_percent must be 1 to 100"),
        "{refused}"
    );

    let ids = sys.people(20).await;
    for id in &ids[..10] {
        deactivate(&sys, id, false).await;
    }
    sys.settles(3, 7).await;
    // Turning the hold off leaves the open hold to be decided, and lets the next
    // deprovisionings through.
    sys.ctl.ok(&["directory", "hold-policy", "--off"]);
    assert!(sys.ctl.directory().hold_policy.is_none());
    assert!(sys.hold().hold.is_some());
    sys.ctl.ok(&["directory", "hold", "keep"]);
    for id in &ids[10..15] {
        deactivate(&sys, id, false).await;
    }
    sys.settles(8, 0).await;
}

#[tokio::test]
async fn emptying_the_group_that_feeds_every_team_is_held_past_the_threshold() {
    let sys = System::start().await;
    let ids = sys.people(MEMBERS).await;
    let group = sys.everyone_team(&ids).await;
    // A group rule edited by mistake: Okta pushes the group without most of its members.
    let gone: Vec<Value> = ids[..DEPROVISIONED]
        .iter()
        .map(|id| json!({"value": id}))
        .collect();
    let r = sys
        .scim
        .patch_group(
            &group,
            json!([{"op": "remove", "path": "members", "value": gone}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    let held = (DEPROVISIONED - THRESHOLD) as i64;
    eventually(
        Duration::from_secs(60),
        "the team removals held",
        || async {
            let hold = sys.hold().hold?;
            (hold.team_removals == held && sys.in_teams().await == (MEMBERS - THRESHOLD) as i64)
                .then_some(hold)
        },
    )
    .await;
    // Everyone stays active: only teams were at stake.
    assert_eq!(sys.members("active").await, MEMBERS as i64);
    let hold = sys.hold().hold.unwrap();
    assert!(
        hold.held
            .iter()
            .all(|m| m.change == HeldChange::LeaveTeams && m.teams == ["Everyone"])
    );

    // Put back in the group, a held member is released and simply stays.
    let back = hold.held[0].scim_user_id.to_string();
    let r = sys
        .scim
        .patch_group(
            &group,
            json!([{"op": "add", "path": "members", "value": [{"value": back}]}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    eventually(Duration::from_secs(60), "the release", || async {
        (sys.hold().hold?.team_removals == held - 1).then_some(())
    })
    .await;
    assert_eq!(sys.in_teams().await, (MEMBERS - THRESHOLD) as i64);

    let applied: HoldDecision = sys.ctl.json(&["directory", "hold", "apply"]);
    assert_eq!(applied.team_removals, held - 1);
    eventually(
        Duration::from_secs(60),
        "the team removals applied",
        || async {
            let left = (MEMBERS - DEPROVISIONED + 1) as i64;
            (sys.in_teams().await == left).then_some(())
        },
    )
    .await;
    assert!(sys.hold().hold.is_none());
}
