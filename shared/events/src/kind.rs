//! What an event says, by type: one enum of every event type of contract v1, each with
//! what that type carries, so a subscriber matches on it instead of comparing strings.

use serde_json::{Map, Value};
use uuid::Uuid;

use crate::{Action, Event, ResourceType};

/// An event's meaning ([`Event::kind`]). Resources are the SCIM representations (users,
/// groups) or the documented objects (teams, directories), as published.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind<'e> {
    /// A user was created: its representation.
    UserCreated(&'e Value),
    /// A user changed: its representation, and the previous value of what changed.
    UserUpdated(&'e Value, Option<&'e Map<String, Value>>),
    /// A user was deactivated (`active: false`), as `UserUpdated`.
    UserDeactivated(&'e Value, Option<&'e Map<String, Value>>),
    /// A user was reactivated (`active: true`), as `UserUpdated`.
    UserReactivated(&'e Value, Option<&'e Map<String, Value>>),
    /// The user's last representation. It left every group with it: no
    /// `group.members_removed` is published for that.
    UserDeleted(&'e Value),
    /// The group without its members (`GroupMembersAdded` follows for them).
    GroupCreated(&'e Value),
    /// A group changed (not its members): its representation, and the previous value of what changed.
    GroupUpdated(&'e Value, Option<&'e Map<String, Value>>),
    /// Users joined the group: their SCIM ids (at most [`crate::MEMBER_IDS_PER_EVENT`]).
    GroupMembersAdded(&'e [Uuid]),
    /// Users left the group: their SCIM ids.
    GroupMembersRemoved(&'e [Uuid]),
    /// Preceded by `GroupMembersRemoved` for everyone who was in it.
    GroupDeleted(&'e Value),
    /// A team an admin made, or one provisioning made (an attribute value's first use,
    /// a mirrored group's push: `resource.group`).
    TeamCreated(&'e Value),
    /// A mirrored team took its group's new name (`previous.name`).
    TeamRenamed(&'e Value, Option<&'e Map<String, Value>>),
    /// The team ended with every membership in it (no `team.member_removed` follows).
    TeamDeleted(&'e Value),
    /// A team membership came into effect; `cause` says why.
    TeamMemberAdded(&'e Value, Option<&'e Value>),
    /// A team membership ended or was suspended; `cause` says why.
    TeamMemberRemoved(&'e Value, Option<&'e Value>),
    /// The group names mapped to a team changed (`resource.groups`, `previous.groups`).
    TeamMappingChanged(&'e Value, Option<&'e Map<String, Value>>),
    /// An admin created the directory.
    DirectoryCreated(&'e Value),
    /// The directory's settings changed; `previous` has the old values.
    DirectoryUpdated(&'e Value, Option<&'e Map<String, Value>>),
    /// The directory's team mode (or its attribute or pattern) changed.
    DirectoryMappingChanged(&'e Value, Option<&'e Map<String, Value>>),
    /// A SCIM bearer token was issued (`resource.token`, never its secret).
    DirectoryTokenCreated(&'e Value),
    /// A SCIM bearer token was revoked.
    DirectoryTokenRevoked(&'e Value),
    /// A token expires soon: `resource.token.expires_at`.
    DirectoryTokenExpiring(&'e Value),
    /// The directory's mass-deprovisioning hold began (`resource.hold`: counts, window,
    /// threshold); once per hold.
    DirectoryDeprovisioningHeld(&'e Value),
    /// Someone applied the held deprovisionings (`resource.hold`).
    DirectoryDeprovisioningApplied(&'e Value),
    /// Someone kept the held members' access (`resource.hold`).
    DirectoryDeprovisioningKept(&'e Value),
    /// The directory's provisioning was paused: the product's data is left as it is.
    DirectoryProvisioningPaused(&'e Value),
    /// The directory's provisioning resumed: the product's data is recomputed.
    DirectoryProvisioningResumed(&'e Value),
    /// Preceded by `UserDeleted` for every user; the directory's groups and teams end
    /// with it.
    DirectoryDeleted(&'e Value),
    /// The directory's roles, default role or group → role mappings changed
    /// (`resource.roles`, `resource.default_role`, `resource.role_groups`; `previous`
    /// has the old values).
    DirectoryRolesChanged(&'e Value, Option<&'e Map<String, Value>>),
    /// A member's role changed: the member with its role, `previous.role`, and `cause`.
    MemberRoleChanged(&'e Value, Option<&'e Map<String, Value>>, Option<&'e Value>),
    /// A type this release of the crate does not know (a later release of the contract
    /// added it): ignore it.
    Other,
}

impl Event {
    /// What the event means, with what it carries.
    pub fn kind(&self) -> Kind<'_> {
        use Action as A;
        use ResourceType as R;
        let (resource, previous, members) = (
            &self.resource,
            self.previous.as_ref(),
            self.member_ids.as_deref().unwrap_or_default(),
        );
        let cause = self.cause.as_ref();
        match (self.resource_type, self.action) {
            (R::User, A::Created) => Kind::UserCreated(resource),
            (R::User, A::Updated) => Kind::UserUpdated(resource, previous),
            (R::User, A::Deactivated) => Kind::UserDeactivated(resource, previous),
            (R::User, A::Reactivated) => Kind::UserReactivated(resource, previous),
            (R::User, A::Deleted) => Kind::UserDeleted(resource),
            (R::Group, A::Created) => Kind::GroupCreated(resource),
            (R::Group, A::Updated) => Kind::GroupUpdated(resource, previous),
            (R::Group, A::MembersAdded) => Kind::GroupMembersAdded(members),
            (R::Group, A::MembersRemoved) => Kind::GroupMembersRemoved(members),
            (R::Group, A::Deleted) => Kind::GroupDeleted(resource),
            (R::Team, A::Created) => Kind::TeamCreated(resource),
            (R::Team, A::Renamed) => Kind::TeamRenamed(resource, previous),
            (R::Team, A::Deleted) => Kind::TeamDeleted(resource),
            (R::Team, A::MemberAdded) => Kind::TeamMemberAdded(resource, cause),
            (R::Team, A::MemberRemoved) => Kind::TeamMemberRemoved(resource, cause),
            (R::Team, A::MappingChanged) => Kind::TeamMappingChanged(resource, previous),
            (R::Directory, A::Created) => Kind::DirectoryCreated(resource),
            (R::Directory, A::Updated) => Kind::DirectoryUpdated(resource, previous),
            (R::Directory, A::MappingChanged) => Kind::DirectoryMappingChanged(resource, previous),
            (R::Directory, A::TokenCreated) => Kind::DirectoryTokenCreated(resource),
            (R::Directory, A::TokenRevoked) => Kind::DirectoryTokenRevoked(resource),
            (R::Directory, A::TokenExpiring) => Kind::DirectoryTokenExpiring(resource),
            (R::Directory, A::DeprovisioningHeld) => Kind::DirectoryDeprovisioningHeld(resource),
            (R::Directory, A::DeprovisioningApplied) => {
                Kind::DirectoryDeprovisioningApplied(resource)
            }
            (R::Directory, A::DeprovisioningKept) => Kind::DirectoryDeprovisioningKept(resource),
            (R::Directory, A::ProvisioningPaused) => Kind::DirectoryProvisioningPaused(resource),
            (R::Directory, A::ProvisioningResumed) => Kind::DirectoryProvisioningResumed(resource),
            (R::Directory, A::Deleted) => Kind::DirectoryDeleted(resource),
            (R::Directory, A::RolesChanged) => Kind::DirectoryRolesChanged(resource, previous),
            (R::Member, A::RoleChanged) => Kind::MemberRoleChanged(resource, previous, cause),
            _ => Kind::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_documented_type_has_its_kind_and_unknown_ones_are_other() {
        let event = |t: &str| -> Event {
            let (resource_type, action) = t.split_once('.').unwrap();
            let resource_type = format!(
                "{}{}",
                &resource_type[..1].to_uppercase(),
                &resource_type[1..]
            );
            serde_json::from_value(json!({
                "id": Uuid::nil(), "type": t, "contract_version": 1, "directory_id": Uuid::nil(),
                "resource_type": resource_type, "resource_id": Uuid::nil(), "action": action,
                "resource_version": 1, "time": "2026-12-02T00:00:00Z", "resource": {},
                "member_ids": [Uuid::nil()],
            }))
            .unwrap()
        };
        // Every type the published JSON Schema lists, read from it: the list is written
        // once, in the contract.
        let schema: serde_json::Value =
            serde_json::from_str(include_str!("../../../docs/events.v1.schema.json")).unwrap();
        let documented: Vec<&str> = schema["properties"]["type"]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        assert!(documented.len() >= 20, "{documented:?}");
        for t in documented {
            assert_ne!(event(t).kind(), Kind::Other, "{t}");
        }
        assert_eq!(
            event("group.members_added").kind(),
            Kind::GroupMembersAdded(&[Uuid::nil()])
        );
        // A type or resource a later release adds still parses, and is Other.
        assert_eq!(event("user.renamed").kind(), Kind::Other);
        assert_eq!(event("device.created").kind(), Kind::Other);
    }
}
