//! A copy of one directory's users, groups and memberships, kept from its events alone:
//! what a subscribing service that mirrors the directory maintains. The crate's example
//! runs it against a live stream; the project's end-to-end test holds it equal to the
//! directory after Okta's and Entra's sequences.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use uuid::Uuid;

use crate::{Event, Kind};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
/// One directory as its events built it.
pub struct DirectoryCopy {
    /// Each user's representation, as [`comparable`].
    pub users: BTreeMap<Uuid, Value>,
    /// Each group, with its members.
    pub groups: BTreeMap<Uuid, CopiedGroup>,
    /// Users deleted: a group's events and a user's are ordered each on their own, so a
    /// membership event naming a user can arrive after that user's deletion (a
    /// redelivery), and must not bring the user back into the group.
    pub deleted: BTreeSet<Uuid>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
/// A group of a [`DirectoryCopy`].
pub struct CopiedGroup {
    /// The group's representation, as [`comparable`].
    pub resource: Value,
    /// Its members' SCIM user ids.
    pub members: BTreeSet<Uuid>,
}

impl DirectoryCopy {
    /// A user as a snapshot holds it.
    pub fn load_user(&mut self, id: Uuid, resource: &Value) {
        self.users.insert(id, comparable(resource));
    }

    /// A group as a snapshot holds it, without members ([`DirectoryCopy::load_members`]).
    pub fn load_group(&mut self, id: Uuid, resource: &Value) {
        self.groups.entry(id).or_default().resource = comparable(resource);
    }

    /// Members of a group, as a snapshot lists them (a line at a time).
    pub fn load_members(&mut self, group: Uuid, members: &[Uuid]) {
        self.groups
            .entry(group)
            .or_default()
            .members
            .extend(members);
    }

    /// Applies one event of the directory; events must come in the order of
    /// [`crate::order`] (each resource's versions one after the other).
    pub fn apply(&mut self, event: &Event) {
        let id = event.resource_id;
        match event.kind() {
            Kind::UserCreated(user)
            | Kind::UserUpdated(user, _)
            | Kind::UserDeactivated(user, _)
            | Kind::UserReactivated(user, _) => {
                self.users.insert(id, comparable(user));
            }
            Kind::UserDeleted(_) => {
                self.users.remove(&id);
                self.deleted.insert(id);
                for group in self.groups.values_mut() {
                    group.members.remove(&id);
                }
            }
            Kind::GroupCreated(group) | Kind::GroupUpdated(group, _) => {
                self.groups.entry(id).or_default().resource = comparable(group);
            }
            Kind::GroupMembersAdded(ids) => {
                let group = self.groups.entry(id).or_default();
                let deleted = &self.deleted;
                group
                    .members
                    .extend(ids.iter().filter(|user| !deleted.contains(user)));
            }
            Kind::GroupMembersRemoved(ids) => {
                if let Some(group) = self.groups.get_mut(&id) {
                    for user in ids {
                        group.members.remove(user);
                    }
                }
            }
            Kind::GroupDeleted(_) => {
                self.groups.remove(&id);
            }
            Kind::DirectoryDeleted(_) => *self = DirectoryCopy::default(),
            _ => {}
        }
    }
}

/// A representation without what changes with no event of its own: `meta` (a group's
/// version moves with membership events), a user's `groups` (membership events are the
/// group's) and a group's `members` (its membership events carry them).
pub fn comparable(resource: &Value) -> Value {
    let mut resource = resource.clone();
    if let Value::Object(fields) = &mut resource {
        for derived in ["meta", "groups", "members"] {
            fields.remove(derived);
        }
    }
    resource
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Action, ResourceType};
    use serde_json::json;

    fn event(resource_type: ResourceType, id: u128, action: Action, resource: Value) -> Event {
        Event::new(
            Uuid::nil(),
            resource_type,
            Uuid::from_u128(id),
            action,
            1,
            resource,
            None,
        )
    }

    #[test]
    fn a_deleted_user_leaves_every_group_without_membership_events() {
        let mut copy = DirectoryCopy::default();
        let user = json!({"userName": "a", "meta": {"version": "W/\"1\""}});
        copy.apply(&event(ResourceType::User, 1, Action::Created, user));
        copy.apply(&event(
            ResourceType::Group,
            9,
            Action::Created,
            json!({"displayName": "G"}),
        ));
        copy.apply(
            &event(ResourceType::Group, 9, Action::MembersAdded, json!({}))
                .with_member_ids(vec![Uuid::from_u128(1)]),
        );
        assert_eq!(copy.users[&Uuid::from_u128(1)], json!({"userName": "a"}));
        assert_eq!(copy.groups[&Uuid::from_u128(9)].members.len(), 1);
        copy.apply(&event(ResourceType::User, 1, Action::Deleted, json!({})));
        assert!(copy.users.is_empty());
        assert!(copy.groups[&Uuid::from_u128(9)].members.is_empty());
        // The group's add of the user, redelivered after the user's deletion.
        copy.apply(
            &event(ResourceType::Group, 9, Action::MembersAdded, json!({}))
                .with_member_ids(vec![Uuid::from_u128(1)]),
        );
        assert!(copy.groups[&Uuid::from_u128(9)].members.is_empty());
        copy.apply(&event(
            ResourceType::Directory,
            0,
            Action::Deleted,
            json!({}),
        ));
        assert_eq!(copy, DirectoryCopy::default());
    }
}
