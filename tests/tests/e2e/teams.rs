//! End to end: groups pushed through the real ingress become team memberships applied
//! by the real worker, through mappings set with the real `scimctl`.

use reqwest::{Method, StatusCode};
use scim_tests::client::okta_user;
use scim_tests::eventually;
use scim_tests::system::System;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::Duration;

/// What these tests do to the directory, in its words.
trait Acme {
    /// Creates the team and maps it to the group names.
    fn map(&self, team: &str, groups: &[&str]);
    /// The team's members in effect (not suspended), as (email, source) pairs, read
    /// through `scimctl team members --json`; none while the team does not exist.
    fn members(&self, team: &str) -> BTreeSet<(String, String)>;
    async fn team_becomes(&self, team: &str, want: &BTreeSet<(String, String)>);
    async fn users(&self, prefix: &str, n: usize) -> Vec<(String, String)>;
    async fn group(&self, name: &str, members: &[(String, String)]) -> String;
    async fn patch(&self, group: &str, ops: Value);
    /// The directory's team names, through `scimctl team list --json`.
    fn team_names(&self) -> BTreeSet<String>;
    /// `scimctl team add-member|remove-member --team <team> --email <email>`.
    fn by_hand(&self, verb: &str, team: &str, email: &str) -> Result<String, String>;
    async fn teams_become(&self, want: &[&str]);
}

impl Acme for System {
    fn map(&self, team: &str, groups: &[&str]) {
        self.ctl.create_team(team);
        self.ctl.map_team(team, groups);
    }

    fn members(&self, team: &str) -> BTreeSet<(String, String)> {
        let rows = match self.ctl.team_members(team) {
            Ok(rows) => rows,
            Err(e) if e.contains("no team") => return BTreeSet::new(),
            Err(e) => panic!("scimctl team members failed: {e}"),
        };
        rows.iter()
            .filter(|r| !r.suspended)
            .map(|r| {
                (
                    r.email.clone().unwrap_or_default(),
                    r.source.as_str().to_owned(),
                )
            })
            .collect()
    }

    async fn team_becomes(&self, team: &str, want: &BTreeSet<(String, String)>) {
        eventually(
            Duration::from_secs(30),
            &format!("team {team} membership"),
            || async { (self.members(team) == *want).then_some(()) },
        )
        .await;
    }

    async fn users(&self, prefix: &str, n: usize) -> Vec<(String, String)> {
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            let email = format!("{prefix}{i}@x.com");
            let r = self
                .scim
                .create_user(&okta_user(&email, "U", &i.to_string()))
                .await;
            assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
            out.push((r.body["id"].as_str().unwrap().to_owned(), email));
        }
        out
    }

    async fn group(&self, name: &str, members: &[(String, String)]) -> String {
        let r = self
            .scim
            .create_group(&json!({"displayName": name, "members": refs(members)}))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        r.body["id"].as_str().unwrap().to_owned()
    }

    async fn patch(&self, group: &str, ops: Value) {
        let r = self.scim.patch_group(group, ops).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    }

    fn team_names(&self) -> BTreeSet<String> {
        self.ctl.teams().into_iter().map(|t| t.name).collect()
    }

    fn by_hand(&self, verb: &str, team: &str, email: &str) -> Result<String, String> {
        self.ctl
            .run(&["team", verb, "--team", team, "--email", email])
    }

    async fn teams_become(&self, want: &[&str]) {
        let want: BTreeSet<String> = want.iter().map(|n| (*n).to_owned()).collect();
        eventually(Duration::from_secs(30), "the directory's teams", || async {
            (self.team_names() == want).then_some(())
        })
        .await;
    }
}

fn refs(users: &[(String, String)]) -> Value {
    users
        .iter()
        .map(|(id, email)| json!({"value": id, "display": email}))
        .collect()
}

fn provisioned(users: &[(String, String)]) -> BTreeSet<(String, String)> {
    users
        .iter()
        .map(|(_, e)| (e.clone(), "provisioned".to_owned()))
        .collect()
}

#[tokio::test]
async fn okta_group_push_fills_the_mapped_team() {
    let sys = System::start().await;
    // The rename below takes almost everyone out of the team at once, which the
    // mass-deprovisioning hold would hold (hold.rs tests that): off, to follow each change.
    sys.ctl.ok(&["directory", "hold-policy", "--off"]);
    sys.map("Engineering", &["Engineering", "Platform"]);
    let users = sys.users("eng", 300).await;
    let gid = sys.group("Engineering", &[]).await;
    for chunk in users.chunks(256) {
        sys.patch(
            &gid,
            json!([{"op": "add", "path": "members", "value": refs(chunk)}]),
        )
        .await;
    }
    sys.team_becomes("Engineering", &provisioned(&users)).await;

    // Removed from the group: leaves the team.
    let path = format!("members[value eq \"{}\"]", users[0].0);
    sys.patch(&gid, json!([{"op": "remove", "path": path}]))
        .await;
    sys.team_becomes("Engineering", &provisioned(&users[1..]))
        .await;

    // In two mapped groups, removed from one: stays.
    let platform = sys.group("Platform", &users[1..3]).await;
    let path = format!("members[value eq \"{}\"]", users[1].0);
    sys.patch(&gid, json!([{"op": "remove", "path": path}]))
        .await;
    // A rename away from a mapped name: only Platform's members remain.
    sys.patch(
        &gid,
        json!([{"op": "replace", "value": {"id": gid, "displayName": "Engineering (old)"}}]),
    )
    .await;
    sys.team_becomes("Engineering", &provisioned(&users[1..3]))
        .await;
    // Deleting the other group empties the team.
    let r = sys
        .scim
        .send(Method::DELETE, &format!("/Groups/{platform}"), None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    sys.team_becomes("Engineering", &BTreeSet::new()).await;

    // Every change in effect was announced, with its cause.
    let team_events = team_events(&sys).await;
    let added = team_events
        .iter()
        .filter(|e| e["type"] == "team.member_added")
        .count();
    let removed = team_events
        .iter()
        .filter(|e| e["type"] == "team.member_removed")
        .count();
    assert_eq!((added, removed), (300, 300));
    let first = &team_events[0];
    assert_eq!(
        first["cause"],
        json!({"reason": "mapped_group", "source": "provisioned", "groups": ["Engineering"], "group_ids": [gid]})
    );
    assert_eq!(first["resource"]["name"], "Engineering");
    let versions: BTreeSet<i64> = team_events
        .iter()
        .map(|e| e["resource_version"].as_i64().unwrap())
        .collect();
    assert_eq!(versions.len(), 600, "each change has its own team version");
}

/// Team membership events, in publication order.
async fn team_events(sys: &System) -> Vec<Value> {
    sys.all_events()
        .await
        .into_iter()
        .filter(|p| {
            p["type"]
                .as_str()
                .is_some_and(|t| t.starts_with("team.member_"))
        })
        .collect()
}

#[tokio::test]
async fn deactivation_suspends_and_reactivation_restores_while_manual_members_stay() {
    let sys = System::start().await;
    sys.map("Sales", &["Sales"]);
    sys.ctl.ok(&["team", "create", "--team", "Leads"]);
    let users = sys.users("s", 3).await;
    let gid = sys.group("Sales", &users).await;
    // Once the worker has made the members, users[0] is also put in Sales by hand, and
    // in Leads only by hand.
    sys.team_becomes("Sales", &provisioned(&users)).await;
    for team in ["Sales", "Leads"] {
        sys.by_hand("add-member", team, &users[0].1).unwrap();
    }
    let manual = |email: &str| (email.to_owned(), "manual".to_owned());
    let mut sales = provisioned(&users);
    sales.insert(manual(&users[0].1));
    sys.team_becomes("Sales", &sales).await;
    sys.team_becomes("Leads", &[manual(&users[0].1)].into())
        .await;

    let r = sys
        .scim
        .patch_user(
            &users[0].0,
            json!([{"op": "replace", "value": {"active": false}}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    sys.team_becomes("Sales", &provisioned(&users[1..])).await;
    sys.team_becomes("Leads", &BTreeSet::new()).await;
    let r = sys
        .scim
        .patch_user(
            &users[0].0,
            json!([{"op": "replace", "value": {"active": true}}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    sys.team_becomes("Sales", &sales).await;
    sys.team_becomes("Leads", &[manual(&users[0].1)].into())
        .await;

    // Provisioning removes only what it added: the manual rows survive group removal,
    // a mapping change and the group's deletion.
    let path = format!("members[value eq \"{}\"]", users[0].0);
    sys.patch(&gid, json!([{"op": "remove", "path": path}]))
        .await;
    let mut without = provisioned(&users[1..]);
    without.insert(manual(&users[0].1));
    sys.team_becomes("Sales", &without).await;
    sys.map("Sales", &[]);
    sys.team_becomes("Sales", &[manual(&users[0].1)].into())
        .await;
    let r = sys
        .scim
        .send(Method::DELETE, &format!("/Groups/{gid}"), None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    sys.team_becomes("Leads", &[manual(&users[0].1)].into())
        .await;
    assert_eq!(sys.members("Sales"), [manual(&users[0].1)].into());
}

#[tokio::test]
async fn a_mapping_added_later_pulls_members_in_and_attribute_mapping_takes_over() {
    let sys = System::start().await;
    let users = sys.users("m", 4).await;
    sys.group("Support", &users[..3]).await;
    sys.ctl.ok(&["team", "create", "--team", "Support"]);
    // Wait for the worker to have seen the users, then map: existing members join.
    sys.team_becomes("Support", &BTreeSet::new()).await;
    sys.map("Support", &["Support"]);
    sys.team_becomes("Support", &provisioned(&users[..3])).await;

    // Entra's removal of a listed member.
    let gid = sys
        .scim
        .send(
            Method::GET,
            "/Groups?filter=displayName%20eq%20%22Support%22",
            None,
        )
        .await
        .body["Resources"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    sys.patch(
        &gid,
        json!([{"op": "Remove", "path": "members", "value": [{"value": users[2].0}]}]),
    )
    .await;
    sys.team_becomes("Support", &provisioned(&users[..2])).await;

    attribute_mapping_takes_over_and_hands_back(&sys, &users).await;
    the_mapping_changes_are_announced(&sys).await;
    mode_switch_removals_say_what_held_the_member(&sys, &users).await;
}

/// The extension attribute the directory's team mapping reads in these tests.
const EXT: &str = "urn:acme:scim:schemas:2.0:User";

/// A removal a team-mode switch causes describes what held the member under the mode
/// before: the group going into attribute mode, the attribute value coming back.
async fn mode_switch_removals_say_what_held_the_member(sys: &System, users: &[(String, String)]) {
    let removals: Vec<(String, Value)> = team_events(sys)
        .await
        .into_iter()
        .filter(|e| e["type"] == "team.member_removed" && e["resource"]["name"] == "Support")
        .map(|e| {
            let email = e["resource"]["member"]["email"]
                .as_str()
                .unwrap()
                .to_owned();
            (email, e["cause"].clone())
        })
        .collect();
    let of = |user: &(String, String)| -> Vec<&Value> {
        removals
            .iter()
            .filter(|(email, _)| *email == user.1)
            .map(|(_, cause)| cause)
            .collect()
    };
    let into_attribute = of(&users[0]);
    assert_eq!(into_attribute.len(), 1, "{removals:?}");
    assert_eq!(into_attribute[0]["reason"], "mode_changed");
    assert_eq!(into_attribute[0]["groups"], json!(["Support"]));
    assert_eq!(
        into_attribute[0]["group_ids"].as_array().map(Vec::len),
        Some(1)
    );
    assert!(into_attribute[0].get("attribute").is_none());
    assert_eq!(
        of(&users[3]),
        [&json!({"reason": "mode_changed", "source": "provisioned",
                 "attribute": format!("{EXT}:group"), "values": ["Support"]})]
    );
    // Leaving the group within one mode is what it was.
    assert_eq!(of(&users[2])[0]["reason"], "unmapped");
}

/// Attribute mapping: the IdP's value names the team, created on first use; group
/// mappings stop counting; a value too long for a team name names no team; back to
/// groups, the group's members return.
async fn attribute_mapping_takes_over_and_hands_back(sys: &System, users: &[(String, String)]) {
    let r = sys
        .scim
        .patch_user(
            &users[3].0,
            json!([{"op": "add", "path": format!("{EXT}:group"), "value": "Field Ops"}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    sys.ctl.ok(&[
        "directory",
        "team-mapping",
        "--attribute",
        &format!("{EXT}:group"),
    ]);
    sys.team_becomes("Field Ops", &provisioned(&users[3..]))
        .await;
    sys.team_becomes("Support", &BTreeSet::new()).await;
    let r = sys
        .scim
        .patch_user(
            &users[3].0,
            // A value too long for a team name names no team (it once made the
            // worker retry the user's events forever); the other still counts.
            json!([{"op": "replace", "path": format!("{EXT}:group"), "value": ["Support", "x".repeat(8000)]}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    sys.team_becomes("Support", &provisioned(&users[3..])).await;
    sys.team_becomes("Field Ops", &BTreeSet::new()).await;
    // Back to groups.
    sys.ctl.ok(&["directory", "team-mapping"]);
    sys.team_becomes("Support", &provisioned(&users[..2])).await;
}

/// The mapping changes, each with what it replaced and the directory's version; a
/// team the worker made on the attribute value's first use is announced, first.
async fn the_mapping_changes_are_announced(sys: &System) {
    let events = sys.all_events().await;
    let mapping: Vec<&Value> = events
        .iter()
        .filter(|e| e["action"] == "mapping_changed")
        .collect();
    let kinds: Vec<&str> = mapping
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "team.mapping_changed",
            "directory.mapping_changed",
            "directory.mapping_changed"
        ]
    );
    assert_eq!(mapping[0]["resource"]["groups"], json!(["Support"]));
    assert_eq!(mapping[0]["previous"], json!({"groups": []}));
    assert_eq!(
        mapping[2]["previous"],
        json!({"team_mode": "attribute", "team_attribute": format!("{EXT}:group"), "unmapped_values": "create"})
    );
    let versions: Vec<i64> = mapping[1..]
        .iter()
        .map(|e| e["resource_version"].as_i64().unwrap())
        .collect();
    assert_eq!(versions, [1, 2]);
    let of_field_ops: Vec<(&str, i64)> = events
        .iter()
        .filter(|e| e["resource_type"] == "Team" && e["resource"]["name"] == "Field Ops")
        .map(|e| {
            (
                e["type"].as_str().unwrap(),
                e["resource_version"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        of_field_ops[..2],
        [("team.created", 1), ("team.member_added", 2)]
    );
    let field_ops = events
        .iter()
        .find(|e| e["type"] == "team.member_added" && e["resource"]["name"] == "Field Ops")
        .unwrap();
    assert_eq!(
        field_ops["cause"],
        json!({"reason": "mapped_attribute", "source": "provisioned", "attribute": format!("{EXT}:group"), "values": ["Field Ops"]})
    );
}

#[tokio::test]
async fn members_of_an_unmapped_group_join_when_it_is_renamed_to_a_mapped_name() {
    let sys = System::start().await;
    sys.map("Design", &["Design"]);
    let users = sys.users("d", 2).await;
    let gid = sys.group("Design (new)", &users[..1]).await;
    sys.patch(
        &gid,
        json!([{"op": "add", "path": "members", "value": refs(&users[1..])}]),
    )
    .await;
    sys.patch(
        &gid,
        json!([{"op": "replace", "path": "displayName", "value": "Design"}]),
    )
    .await;
    sys.team_becomes("Design", &provisioned(&users)).await;
}

#[tokio::test]
async fn a_deleted_users_team_events_name_the_email_it_was_known_by() {
    let sys = System::start().await;
    sys.map("Sales", &["Sales"]);
    let users = sys.users("gone", 2).await;
    sys.group("Sales", &users).await;
    sys.team_becomes("Sales", &provisioned(&users)).await;
    let r = sys.scim.delete_user(&users[0].0).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    sys.team_becomes("Sales", &provisioned(&users[1..])).await;
    let removed = team_events(&sys)
        .await
        .into_iter()
        .find(|e| e["type"] == "team.member_removed")
        .unwrap();
    assert_eq!(removed["cause"]["reason"], "user_deleted");
    assert_eq!(removed["resource"]["member"]["email"], users[0].1.as_str());
}

/// The Teamup way, with Okta's request shapes: pushed groups whose names match the
/// pattern are teams with exactly their members; a rename renames the team and keeps
/// its members; deleting the group deletes the team; the identity provider owns
/// membership; leaving the mode and coming back refills the same teams.
#[tokio::test]
async fn mirrored_groups_are_teams_that_follow_their_groups() {
    let sys = System::start().await;
    sys.ctl.ok(&[
        "directory",
        "team-mapping",
        "--mode",
        "mirrored",
        "--pattern",
        "app-*",
    ]);
    let users = sys.users("m", 40).await;
    let gid = sys.group("app-Support", &[]).await;
    for chunk in users[..30].chunks(16) {
        sys.patch(
            &gid,
            json!([{"op": "add", "path": "members", "value": refs(chunk)}]),
        )
        .await;
    }
    sys.group("Everyone", &users).await;
    sys.team_becomes("app-Support", &provisioned(&users[..30]))
        .await;
    let path = format!("members[value eq \"{}\"]", users[0].0);
    sys.patch(&gid, json!([{"op": "remove", "path": path}]))
        .await;
    sys.team_becomes("app-Support", &provisioned(&users[1..30]))
        .await;
    sys.teams_become(&["app-Support"]).await;

    okta_renames_the_group_and_deactivates_a_member(&sys, &gid, &users).await;
    the_identity_provider_owns_membership_across_mode_switches(&sys, &users).await;
    let r = sys
        .scim
        .send(Method::DELETE, &format!("/Groups/{gid}"), None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    sys.teams_become(&["Everyone"]).await;

    the_teams_lifecycle_is_announced(&sys, &gid).await;
}

/// Okta renames with a path-less replace: the team follows, members kept; a
/// deactivation suspends, a reactivation restores.
async fn okta_renames_the_group_and_deactivates_a_member(
    sys: &System,
    gid: &str,
    users: &[(String, String)],
) {
    sys.patch(
        gid,
        json!([{"op": "replace", "value": {"id": gid, "displayName": "app-Customer Support"}}]),
    )
    .await;
    sys.teams_become(&["app-Customer Support"]).await;
    sys.team_becomes("app-Customer Support", &provisioned(&users[1..30]))
        .await;

    // Deactivation suspends, reactivation restores.
    let active = |on: bool| json!([{"op": "replace", "value": {"active": on}}]);
    assert_eq!(
        sys.scim.patch_user(&users[1].0, active(false)).await.status,
        StatusCode::OK
    );
    sys.team_becomes("app-Customer Support", &provisioned(&users[2..30]))
        .await;
    assert_eq!(
        sys.scim.patch_user(&users[1].0, active(true)).await.status,
        StatusCode::OK
    );
    sys.team_becomes("app-Customer Support", &provisioned(&users[1..30]))
        .await;
}

/// A manual add is refused, saying why; out of mirrored mode the team stays without
/// its provisioned members; back, refilled; without a pattern every group is a team.
async fn the_identity_provider_owns_membership_across_mode_switches(
    sys: &System,
    users: &[(String, String)],
) {
    let refused = sys
        .by_hand("add-member", "app-Customer Support", &users[35].1)
        .unwrap_err();
    assert!(
        refused.contains("owned by its identity provider"),
        "{refused}"
    );

    // Out of mirrored mode the team stays, without provisioned members; back, refilled.
    sys.ctl
        .ok(&["directory", "team-mapping", "--mode", "mapped"]);
    sys.team_becomes("app-Customer Support", &BTreeSet::new())
        .await;
    sys.ctl
        .ok(&["directory", "team-mapping", "--mode", "mirrored"]);
    sys.team_becomes("app-Customer Support", &provisioned(&users[1..30]))
        .await;
    // Without a pattern every group is a team.
    sys.team_becomes("Everyone", &provisioned(users)).await;
}

/// Created, renamed, created, deleted, each naming its group; members joined by
/// their mirrored group.
async fn the_teams_lifecycle_is_announced(sys: &System, gid: &str) {
    let events = sys.all_events().await;
    let lifecycle: Vec<(&str, &str)> = events
        .iter()
        .filter(|e| {
            e["resource_type"] == "Team" && !e["type"].as_str().unwrap().starts_with("team.member_")
        })
        .map(|e| {
            (
                e["type"].as_str().unwrap(),
                e["resource"]["name"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        lifecycle,
        [
            ("team.created", "app-Support"),
            ("team.renamed", "app-Customer Support"),
            ("team.created", "Everyone"),
            ("team.deleted", "app-Customer Support"),
        ]
    );
    let created = events.iter().find(|e| e["type"] == "team.created").unwrap();
    assert_eq!(
        created["resource"]["group"],
        json!({"id": gid, "name": "app-Support"})
    );
    let renamed = events.iter().find(|e| e["type"] == "team.renamed").unwrap();
    assert_eq!(renamed["previous"], json!({"name": "app-Support"}));
    let joined = events
        .iter()
        .find(|e| e["type"] == "team.member_added")
        .unwrap();
    assert_eq!(
        joined["cause"],
        json!({"reason": "mirrored_group", "source": "provisioned", "groups": ["app-Support"], "group_ids": [gid]})
    );
}

/// The Calendly way, with Okta's request shapes: a custom attribute carries the user's
/// group; the value table maps several values to one existing team; values not in it
/// make a team of their name, or are ignored, as the admin chooses; membership is the
/// identity provider's.
#[tokio::test]
async fn an_attribute_value_table_maps_values_to_existing_teams() {
    let sys = System::start().await;
    let attribute = format!("{EXT}:group");
    a_value_table_maps_two_values_to_one_team(&sys, &attribute);
    let users = sys.users("cs", 3).await;
    for ((id, _), value) in
        users
            .iter()
            .zip(["Customer Success EMEA", "Customer Success US", "Interns"])
    {
        let r = sys
            .scim
            .patch_user(
                id,
                json!([{"op": "add", "path": attribute, "value": value}]),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    }
    sys.team_becomes("Customer Success", &provisioned(&users[..2]))
        .await;
    sys.team_becomes("Interns", &provisioned(&users[2..])).await;

    // Unmapped values ignored from now on: the value-named team loses its members.
    sys.ctl.ok(&[
        "directory",
        "team-mapping",
        "--attribute",
        &attribute,
        "--unmapped",
        "ignore",
    ]);
    sys.team_becomes("Interns", &BTreeSet::new()).await;
    sys.team_becomes("Customer Success", &provisioned(&users[..2]))
        .await;

    membership_is_the_identity_providers(&sys, &users);

    let events = sys.all_events().await;
    let joined = events
        .iter()
        .find(|e| {
            e["type"] == "team.member_added"
                && e["resource"]["member"]["email"] == users[0].1.as_str()
        })
        .unwrap();
    assert_eq!(
        joined["cause"],
        json!({"reason": "mapped_attribute", "source": "provisioned", "attribute": attribute, "values": ["Customer Success EMEA"]})
    );
    let table = events
        .iter()
        .find(|e| {
            e["type"] == "directory.mapping_changed"
                && e.get("previous")
                    .is_some_and(|p| p.get("team_values").is_some())
        })
        .unwrap();
    assert_eq!(
        table["resource"]["team_values"]["Customer Success EMEA"],
        "Customer Success"
    );
}

/// A value table only means something in attribute mode and names existing teams:
/// two values mapped to Customer Success.
fn a_value_table_maps_two_values_to_one_team(sys: &System, attribute: &str) {
    // A value table only means something in attribute mode.
    let early = sys
        .ctl
        .run(&["team", "values", "--set", "A=B"])
        .unwrap_err();
    assert!(early.contains("would have no effect"), "{early}");
    sys.ctl
        .ok(&["team", "create", "--team", "Customer Success"]);
    sys.ctl.ok(&[
        "directory",
        "team-mapping",
        "--mode",
        "attribute",
        "--attribute",
        attribute,
    ]);
    let missing = sys
        .ctl
        .run(&["team", "values", "--set", "Sales EMEA=Sales"])
        .unwrap_err();
    assert!(missing.contains("no team Sales"), "{missing}");
    sys.ctl.ok(&[
        "team",
        "values",
        "--set",
        "Customer Success EMEA=Customer Success",
        "--set",
        "Customer Success US=Customer Success",
    ]);
    let shown: Value = serde_json::from_str(&sys.ctl.ok(&["team", "values", "--json"])).unwrap();
    assert_eq!(shown["values"]["Customer Success US"], "Customer Success");
}

/// The identity provider owns membership, and group mappings would do nothing.
fn membership_is_the_identity_providers(sys: &System, users: &[(String, String)]) {
    let add = sys
        .by_hand("add-member", "Interns", &users[2].1)
        .unwrap_err();
    assert!(
        add.contains("owned by its identity provider (team mode attribute)"),
        "{add}"
    );
    let map = sys
        .ctl
        .run(&["team", "map", "--team", "Interns", "--group", "Interns"])
        .unwrap_err();
    assert!(map.contains("would have no effect"), "{map}");
}

/// Everything an admin does to teams by hand, through the real scimctl: rename,
/// delete, remove a mistaken manual member (not a provisioned one), emails checked, and
/// clearing the trusted domains only when asked to in so many words.
#[tokio::test]
async fn teams_can_be_renamed_deleted_and_cleaned_up_by_hand() {
    let sys = System::start().await;
    sys.map("Engineering", &["Engineering"]);
    let users = sys.users("h", 2).await;
    sys.group("Engineering", &users[..1]).await;
    sys.team_becomes("Engineering", &provisioned(&users[..1]))
        .await;

    let bad = sys
        .by_hand("add-member", "Engineering", "jane@acme")
        .unwrap_err();
    assert!(bad.contains("not an email address"), "{bad}");
    // A mistaken manual member, and a manual membership of someone provisioned too.
    sys.by_hand("add-member", "Engineering", &users[1].1)
        .unwrap();
    sys.by_hand("add-member", "Engineering", &users[0].1)
        .unwrap();
    let both: BTreeSet<(String, String)> = [
        (users[0].1.clone(), "manual".to_owned()),
        (users[0].1.clone(), "provisioned".to_owned()),
        (users[1].1.clone(), "manual".to_owned()),
    ]
    .into();
    sys.team_becomes("Engineering", &both).await;
    sys.by_hand("remove-member", "Engineering", &users[1].1)
        .unwrap();
    sys.by_hand("remove-member", "Engineering", &users[0].1)
        .unwrap();
    sys.team_becomes("Engineering", &provisioned(&users[..1]))
        .await;
    let provisioned_only = sys
        .by_hand("remove-member", "Engineering", &users[0].1)
        .unwrap_err();
    assert!(
        provisioned_only.contains("through the identity provider"),
        "{provisioned_only}"
    );

    // A rename keeps members and mappings; a delete ends the team.
    sys.ctl
        .ok(&["team", "rename", "--team", "Engineering", "--to", "Eng"]);
    sys.teams_become(&["Eng"]).await;
    sys.team_becomes("Eng", &provisioned(&users[..1])).await;
    let listed: Vec<Value> =
        serde_json::from_str(&sys.ctl.ok(&["team", "list", "--json"])).unwrap();
    assert_eq!(listed[0]["groups"], json!(["Engineering"]));
    sys.ctl.ok(&["team", "delete", "--team", "Eng"]);
    sys.teams_become(&[]).await;

    let silent = sys.ctl.run(&["directory", "trusted-domains"]).unwrap_err();
    assert!(silent.contains("--clear"), "{silent}");
    sys.ctl.ok(&["directory", "trusted-domains", "--clear"]);

    let events = sys.all_events().await;
    let kinds: Vec<&str> = events
        .iter()
        .filter(|e| e["resource_type"] == "Team")
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "team.created",
            "team.mapping_changed",
            "team.member_added",
            "team.member_added",
            "team.member_removed",
            "team.renamed",
            "team.deleted"
        ],
        "the provisioned member never left: the manual rows on top of it changed nothing in effect"
    );
    let renamed = events.iter().find(|e| e["type"] == "team.renamed").unwrap();
    assert_eq!(renamed["previous"], json!({"name": "Engineering"}));
    // As the contract has it: `{id, name, groups, group: null}`.
    let deleted = events.iter().find(|e| e["type"] == "team.deleted").unwrap();
    let resource = deleted["resource"].as_object().unwrap();
    let keys: Vec<&str> = resource.keys().map(String::as_str).collect();
    assert_eq!(keys, ["group", "groups", "id", "name"], "{resource:?}");
    assert_eq!(resource["group"], serde_json::Value::Null);
}

/// A dry run shows what a mode switch would do, from the directory's current state,
/// changes nothing, and the real switch then does exactly that.
#[tokio::test]
async fn a_preview_shows_what_the_switch_then_does() {
    let sys = System::start().await;
    sys.map("Engineering", &["Engineering"]);
    let users = sys.users("p", 4).await;
    sys.group("Engineering", &users[..2]).await;
    sys.group("Design", &users[2..]).await;
    sys.by_hand("add-member", "Engineering", &users[3].1)
        .unwrap();
    let mut engineering = provisioned(&users[..2]);
    engineering.insert((users[3].1.clone(), "manual".to_owned()));
    sys.team_becomes("Engineering", &engineering).await;
    let events_before = sys.all_events().await.len();

    let out = sys.ctl.ok(&[
        "directory",
        "team-mapping",
        "--mode",
        "mirrored",
        "--dry-run",
        "--json",
    ]);
    let preview: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(preview["created"], json!(["Design"]), "{preview}");
    let design: BTreeSet<String> = users[2..].iter().map(|(_, e)| e.clone()).collect();
    let joined: BTreeSet<String> =
        serde_json::from_value(preview["joined"]["Design"].clone()).unwrap();
    assert_eq!(joined, design);
    assert!(
        preview["joined"].get("Engineering").is_none(),
        "already in: {preview}"
    );
    assert_eq!(preview["manual_kept"]["Engineering"], json!([users[3].1]));
    let text = sys.ctl.ok(&[
        "directory",
        "team-mapping",
        "--mode",
        "mirrored",
        "--dry-run",
    ]);
    assert!(
        text.contains("create team Design") && text.contains("nothing was changed"),
        "{text}"
    );

    // Nothing happened.
    assert_eq!(sys.team_names(), ["Engineering".to_owned()].into());
    let shown: Value = serde_json::from_str(&sys.ctl.ok(&["directory", "show", "--json"])).unwrap();
    assert_eq!(shown["team_mode"], "mapped");
    assert_eq!(sys.all_events().await.len(), events_before);

    // The switch does what the preview said.
    sys.ctl
        .ok(&["directory", "team-mapping", "--mode", "mirrored"]);
    sys.team_becomes("Design", &provisioned(&users[2..])).await;
    sys.team_becomes("Engineering", &engineering).await;
    sys.teams_become(&["Design", "Engineering"]).await;
}

/// A name mapping follows the name; a pinned one follows the group it matched, so a
/// rename in the identity provider keeps the team's members.
#[tokio::test]
async fn a_pinned_mapping_survives_a_rename_and_a_name_mapping_does_not() {
    let sys = System::start().await;
    let users = sys.users("pin", 2).await;
    let support = sys.group("Support", &users[..1]).await;
    let sales = sys.group("Sales", &users[1..]).await;
    let early = sys
        .ctl
        .run(&[
            "team", "map", "--team", "Nobody", "--group", "Nope", "--pin",
        ])
        .unwrap_err();
    assert!(
        early.contains("no team") || early.contains("no pushed group"),
        "{early}"
    );
    sys.ctl.ok(&["team", "create", "--team", "Support team"]);
    sys.ctl.ok(&["team", "create", "--team", "Sales team"]);
    let unpushed = sys
        .ctl
        .run(&[
            "team",
            "map",
            "--team",
            "Support team",
            "--group",
            "Nope",
            "--pin",
        ])
        .unwrap_err();
    assert!(
        unpushed.contains("no pushed group is named \"Nope\""),
        "{unpushed}"
    );
    sys.ctl.ok(&[
        "team",
        "map",
        "--team",
        "Support team",
        "--group",
        "Support",
        "--pin",
    ]);
    sys.ctl
        .ok(&["team", "map", "--team", "Sales team", "--group", "Sales"]);
    sys.team_becomes("Support team", &provisioned(&users[..1]))
        .await;
    sys.team_becomes("Sales team", &provisioned(&users[1..]))
        .await;
    let listed = sys.ctl.ok(&["team", "list"]);
    assert!(
        listed.contains(&format!("\"Support\" (pinned to group {support})")),
        "{listed}"
    );

    for (group, name) in [(&support, "Customer Support"), (&sales, "Sales EMEA")] {
        sys.patch(
            group,
            json!([{"op": "replace", "path": "displayName", "value": name}]),
        )
        .await;
    }
    sys.team_becomes("Sales team", &BTreeSet::new()).await;
    sys.team_becomes("Support team", &provisioned(&users[..1]))
        .await;
    let left: Vec<Value> = team_events(&sys)
        .await
        .into_iter()
        .filter(|e| e["type"] == "team.member_removed")
        .collect();
    assert_eq!(
        left.len(),
        1,
        "only the name mapping lost its member: {left:?}"
    );
    assert_eq!(left[0]["resource"]["name"], "Sales team");
}
