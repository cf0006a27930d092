//! Previews of a team change (a dry run): the caller makes the change in a transaction,
//! [`run`] makes the member records of users pushed a moment ago, then applies the
//! change there exactly as the worker would ([`super::mirror::sync_in`],
//! then [`super::reconcile::reconcile_in`] for everyone the change can affect), and
//! the caller rolls the transaction back. What the preview shows is read from the
//! events that application wrote: the same computation, not a second one.

use super::store as teams;
use super::{mirror, reconcile};
use crate::hold::Screen;
use scim_events::{Event, Kind};
use scim_store::directories;
use serde_json::Value;
use sqlx::PgConnection;
use std::collections::BTreeMap;
use uuid::Uuid;

/// What a change of a directory's teams would do, from its current state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Preview {
    /// Teams that would be made.
    pub created: Vec<String>,
    pub renamed: Vec<Renamed>,
    /// Teams that would be deleted, with every membership in them.
    pub deleted: Vec<String>,
    /// By team: who would come into it (emails).
    pub joined: BTreeMap<String, Vec<String>>,
    /// By team: who would leave it (emails), those of deleted teams included.
    pub left: BTreeMap<String, Vec<String>>,
    /// By team: memberships added by hand, kept as they are under a mode where the
    /// identity provider owns membership (remove them before switching, if unwanted).
    pub manual_kept: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Renamed {
    pub from: String,
    pub to: String,
}

/// Applies the directory's (changed, uncommitted) team settings within `tx` as the
/// worker would, and tells what that did; team removals through the hold unless
/// `screen` is off (an admin's change). The caller rolls `tx` back, or, reconciling,
/// commits it.
pub async fn run(
    tx: &mut PgConnection,
    directory: Uuid,
    screen: Screen,
) -> Result<Preview, sqlx::Error> {
    crate::sync::apply_pending(&mut *tx, directory).await?;
    let before = teams::mirror::effective_members(&mut *tx, directory).await?;
    let (_, mut events) = mirror::sync_in(&mut *tx, directory, None).await?;
    let users = reconcile::everyone(&mut *tx, directory).await?;
    events.extend(reconcile::reconcile_in(&mut *tx, directory, &users, screen).await?);
    let mut preview = summarize(&events, &before);
    if directories::team_mapping(&mut *tx, directory)
        .await?
        .owns_membership()
    {
        for (team, email) in teams::membership::manual_memberships(&mut *tx, directory).await? {
            preview.manual_kept.entry(team).or_default().push(email);
        }
    }
    Ok(preview)
}

/// The preview the events of an application show; `before`: each team's members in
/// effect before it (by team id), for the teams it deletes.
pub fn summarize(events: &[Event], before: &BTreeMap<Uuid, (String, Vec<String>)>) -> Preview {
    let mut preview = Preview::default();
    // Net effect per (team, member): the last event wins.
    let mut membership: BTreeMap<(String, String), bool> = BTreeMap::new();
    let text = |v: &Value, key: &str| v[key].as_str().unwrap_or_default().to_owned();
    for event in events {
        match event.kind() {
            Kind::TeamCreated(team) => preview.created.push(text(team, "name")),
            Kind::TeamRenamed(team, previous) => preview.renamed.push(Renamed {
                from: previous
                    .and_then(|p| p.get("name"))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                to: text(team, "name"),
            }),
            Kind::TeamDeleted(team) => {
                let name = text(team, "name");
                if let Some((_, members)) = before.get(&event.resource_id) {
                    for email in members {
                        membership.insert((name.clone(), email.clone()), false);
                    }
                }
                preview.deleted.push(name);
            }
            Kind::TeamMemberAdded(team, _) | Kind::TeamMemberRemoved(team, _) => {
                let email = team["member"]["email"].as_str().unwrap_or("(no email)");
                let joined = matches!(event.kind(), Kind::TeamMemberAdded(..));
                let key = (text(team, "name"), email.to_owned());
                // Joining and leaving again within one preview is no change.
                match membership.get(&key) {
                    Some(was) if *was != joined => {
                        membership.remove(&key);
                    }
                    _ => {
                        membership.insert(key, joined);
                    }
                }
            }
            _ => {}
        }
    }
    for ((team, email), joined) in membership {
        let side = if joined {
            &mut preview.joined
        } else {
            &mut preview.left
        };
        side.entry(team).or_default().push(email);
    }
    preview
}

#[cfg(test)]
mod tests {
    use super::*;
    use scim_events::{Action, ResourceType};
    use serde_json::json;

    fn team_event(action: Action, team: u128, resource: Value) -> Event {
        Event::new(
            Uuid::nil(),
            ResourceType::Team,
            Uuid::from_u128(team),
            action,
            1,
            resource,
            None,
        )
    }

    fn member(action: Action, team: &str, email: &str) -> Event {
        team_event(
            action,
            1,
            json!({"id": Uuid::from_u128(1), "name": team, "member": {"email": email}}),
        )
    }

    #[test]
    fn a_preview_shows_teams_made_renamed_and_deleted_and_who_joins_and_leaves() {
        let events = [
            team_event(Action::Created, 2, json!({"name": "Sales", "groups": []})),
            member(Action::MemberAdded, "Sales", "a@x.com"),
            member(Action::MemberAdded, "Sales", "b@x.com"),
            member(Action::MemberRemoved, "Eng", "c@x.com"),
            team_event(
                Action::Renamed,
                3,
                json!({"name": "Ops EMEA", "groups": []}),
            )
            .with_previous(json!({"name": "Ops"}).as_object().unwrap().clone()),
            team_event(Action::Deleted, 4, json!({"name": "Old", "groups": []})),
            // In and out again: no change.
            member(Action::MemberAdded, "Eng", "d@x.com"),
            member(Action::MemberRemoved, "Eng", "d@x.com"),
        ];
        let before = BTreeMap::from([(
            Uuid::from_u128(4),
            ("Old".to_owned(), vec!["e@x.com".to_owned()]),
        )]);
        let preview = summarize(&events, &before);
        assert_eq!(preview.created, ["Sales"]);
        assert_eq!(
            preview.renamed,
            [Renamed {
                from: "Ops".into(),
                to: "Ops EMEA".into()
            }]
        );
        assert_eq!(preview.deleted, ["Old"]);
        assert_eq!(preview.joined["Sales"], ["a@x.com", "b@x.com"]);
        assert_eq!(preview.left["Eng"], ["c@x.com"]);
        assert_eq!(preview.left["Old"], ["e@x.com"]);
        assert!(!preview.joined.contains_key("Eng"));
        assert_ne!(preview, Preview::default());
        assert_eq!(summarize(&[], &BTreeMap::new()), Preview::default());
    }
}
