#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

pub mod copy;
pub mod kind;
pub mod order;
pub mod snapshot;
#[cfg(feature = "subscriber")]
pub mod subscriber;

pub use kind::Kind;
pub use order::{Positions, Verdict};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use uuid::Uuid;

/// Contract version carried in every event and in every subject.
pub const CONTRACT_VERSION: u32 = 1;
/// Stream that holds provisioning events.
pub const STREAM: &str = "SCIM_EVENTS";
/// Subjects of the event stream: `scim.v1.<directory_id>.<resource>.<action>`.
pub const SUBJECTS: &str = "scim.v1.>";
/// Stream and subject prefix for events a consumer gave up on.
pub const DEAD_LETTER_STREAM: &str = "SCIM_DEAD_LETTERS";
/// Subjects of the dead-letter stream.
pub const DEAD_LETTER_SUBJECTS: &str = "scim.dlq.>";

/// A message of the dead-letter stream: an event a consumer gave up on, as it was
/// delivered, with why. The worker writes it; the admin API lists and replays it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// Why the consumer gave up.
    pub reason: String,
    /// The consumer that gave up.
    pub consumer: String,
    /// How many times it was delivered.
    pub attempts: i64,
    /// The subject the event was published on, where a replay publishes it again.
    pub subject: String,
    /// The event as delivered (not necessarily valid JSON: it may be why it failed).
    pub payload: String,
}

/// Most member ids one membership event lists; larger changes are split over several
/// events, each at the next version.
pub const MEMBER_IDS_PER_EVENT: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
/// What an event is about.
pub enum ResourceType {
    /// A SCIM user.
    User,
    /// A SCIM group.
    Group,
    /// A product team (events from the worker and from team administration).
    Team,
    /// Directory settings that affect derived state, such as the team mapping mode.
    Directory,
    /// A product member (events from the worker and from member administration).
    Member,
    /// A resource type a later release of the contract added: ignore its events.
    #[serde(other)]
    Unknown,
}

impl ResourceType {
    /// Its token in subjects and event types: `user`, `group`, `team`, `directory`,
    /// `member`.
    pub fn subject_token(self) -> &'static str {
        match self {
            ResourceType::User => "user",
            ResourceType::Group => "group",
            ResourceType::Team => "team",
            ResourceType::Directory => "directory",
            ResourceType::Member => "member",
            ResourceType::Unknown => "unknown",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
/// What happened to the resource.
pub enum Action {
    /// It was created.
    Created,
    /// It changed.
    Updated,
    /// A user was deactivated.
    Deactivated,
    /// A user was reactivated.
    Reactivated,
    /// It was deleted.
    Deleted,
    /// A team took its group's new name (mirrored teams); `previous.name` was the old.
    Renamed,
    /// Users joined a group (`member_ids`).
    MembersAdded,
    /// Users left a group (`member_ids`).
    MembersRemoved,
    /// A member's team membership took effect (`cause` says why).
    MemberAdded,
    /// A member's team membership ended or was suspended (`cause` says why).
    MemberRemoved,
    /// A team's group mapping, or a directory's team mapping mode, changed.
    MappingChanged,
    /// A directory got a new SCIM bearer token (`resource.token` has its id and prefix).
    TokenCreated,
    /// A directory's SCIM bearer token was revoked.
    TokenRevoked,
    /// A directory's SCIM bearer token expires soon (`resource.token.expires_at`): once
    /// per token, within the warning window.
    TokenExpiring,
    /// A directory's mass-deprovisioning hold began: past its threshold, the product
    /// keeps the rest of the hour's deprovisioned members active (`resource.hold`).
    DeprovisioningHeld,
    /// Someone applied a hold's held deprovisionings (`resource.hold`).
    DeprovisioningApplied,
    /// Someone kept a hold's members' access (`resource.hold`).
    DeprovisioningKept,
    /// A directory's provisioning was paused: the identity provider is still answered and
    /// the directory records what it sends, but the product's data is left as it is.
    ProvisioningPaused,
    /// A directory's provisioning resumed: the product's data is recomputed from the
    /// directory (through the mass-deprovisioning hold).
    ProvisioningResumed,
    /// A directory's roles, default role or group → role mappings changed: every
    /// member's role is recomputed.
    RolesChanged,
    /// A member's role changed (`previous.role`; `cause` says why).
    RoleChanged,
    /// An action a later release of the contract added: ignore it.
    #[serde(other)]
    Unknown,
}

impl Action {
    /// Its token in subjects and event types: `created`, `members_added`, …
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Created => "created",
            Action::Updated => "updated",
            Action::Deactivated => "deactivated",
            Action::Reactivated => "reactivated",
            Action::Deleted => "deleted",
            Action::Renamed => "renamed",
            Action::MembersAdded => "members_added",
            Action::MembersRemoved => "members_removed",
            Action::MemberAdded => "member_added",
            Action::MemberRemoved => "member_removed",
            Action::MappingChanged => "mapping_changed",
            Action::TokenCreated => "token_created",
            Action::TokenRevoked => "token_revoked",
            Action::TokenExpiring => "token_expiring",
            Action::DeprovisioningHeld => "deprovisioning_held",
            Action::DeprovisioningApplied => "deprovisioning_applied",
            Action::DeprovisioningKept => "deprovisioning_kept",
            Action::ProvisioningPaused => "provisioning_paused",
            Action::ProvisioningResumed => "provisioning_resumed",
            Action::RolesChanged => "roles_changed",
            Action::RoleChanged => "role_changed",
            Action::Unknown => "unknown",
        }
    }

    /// The action of an update, named for what happened to `active`.
    pub fn for_update(was_active: bool, is_active: bool) -> Action {
        match (was_active, is_active) {
            (true, false) => Action::Deactivated,
            (false, true) => Action::Reactivated,
            _ => Action::Updated,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
/// A provisioning event, as published on `scim.v1.<directory>.<resource>.<action>`.
pub struct Event {
    /// Unique per event; also the JetStream `Nats-Msg-Id`.
    pub id: Uuid,
    /// `"user.created"` and so on: `<resource>.<action>`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// [`CONTRACT_VERSION`].
    pub contract_version: u32,
    /// The directory whose identity provider (or admin) made the change.
    pub directory_id: Uuid,
    /// What the event is about.
    pub resource_type: ResourceType,
    /// The resource's id (a SCIM id for users and groups).
    pub resource_id: Uuid,
    /// What happened to it.
    pub action: Action,
    /// Increases by one with every event of the resource, events of one change
    /// included: a consumer that has applied version n ignores anything at or below n.
    pub resource_version: i64,
    #[serde(with = "time::serde::rfc3339")]
    /// When the change was committed.
    pub time: OffsetDateTime,
    /// The SCIM representation after the change; for `deleted`, the last one before it.
    pub resource: Value,
    /// For updates: the previous value of every top-level attribute that changed
    /// (`null` where it had none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<Map<String, Value>>,
    /// For `group.members_added` and `group.members_removed`: the SCIM ids of the users
    /// that actually joined or left (at most [`MEMBER_IDS_PER_EVENT`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_ids: Option<Vec<Uuid>>,
    /// For team membership and member role events: why it changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<Value>,
    /// For changes made through the admin API: who made them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// The trace the change was made in (W3C `traceparent`), carried beside the event
    /// (outbox column, NATS header), never in it.
    #[serde(skip)]
    pub traceparent: Option<String>,
}

impl Event {
    /// An event of this contract, with a new id and the type made of `resource_type`
    /// and `action`.
    pub fn new(
        directory_id: Uuid,
        resource_type: ResourceType,
        resource_id: Uuid,
        action: Action,
        resource_version: i64,
        resource: Value,
        previous: Option<Map<String, Value>>,
    ) -> Event {
        Event {
            id: Uuid::now_v7(),
            event_type: format!("{}.{}", resource_type.subject_token(), action.as_str()),
            contract_version: CONTRACT_VERSION,
            directory_id,
            resource_type,
            resource_id,
            action,
            resource_version,
            time: OffsetDateTime::now_utc(),
            resource,
            previous,
            member_ids: None,
            cause: None,
            actor: None,
            traceparent: None,
        }
    }

    /// With the W3C trace context of the change (the ingress and the worker set it).
    pub fn traced(mut self, traceparent: Option<String>) -> Event {
        self.traceparent = traceparent;
        self
    }

    /// With the previous values of what changed.
    pub fn with_previous(mut self, previous: Map<String, Value>) -> Event {
        self.previous = Some(previous);
        self
    }

    /// With the users who joined or left a group.
    pub fn with_member_ids(mut self, ids: Vec<Uuid>) -> Event {
        self.member_ids = Some(ids);
        self
    }

    /// With who made the change through the admin API.
    pub fn with_actor(mut self, actor: &str) -> Event {
        self.actor = Some(actor.to_owned());
        self
    }

    /// With why a team membership or a member's role changed.
    pub fn with_cause(mut self, cause: Value) -> Event {
        self.cause = Some(cause);
        self
    }

    /// Whether an update changed the top-level attribute `name` (it is in `previous`).
    pub fn changed(&self, name: &str) -> bool {
        self.previous.as_ref().is_some_and(|p| p.contains_key(name))
    }

    /// Whether the event's type is `t` (`"user.created"` and so on).
    pub fn type_is(&self, t: &str) -> bool {
        self.event_type == t
    }

    /// `scim.v1.<directory_id>.user.created`: subscribers filter by directory, type or both.
    pub fn subject(&self) -> String {
        format!(
            "scim.v{CONTRACT_VERSION}.{}.{}",
            self.directory_id, self.event_type
        )
    }
}

/// What a subscriber sees change between two states of a resource, each given as its
/// attributes and its `schemas` list, as an update's `previous`: the previous value of
/// every top-level attribute that changed (`null` where it was absent), with `schemas` among
/// them when an extension came or went.
pub fn previous(
    before: (&Map<String, Value>, Vec<String>),
    after: (&Map<String, Value>, Vec<String>),
) -> Map<String, Value> {
    let mut changed = previous_values(before.0, after.0);
    if before.1 != after.1 {
        changed.insert("schemas".into(), before.1.into());
    }
    changed
}

/// The previous values of the top-level attributes that differ between two
/// representations (`null` for attributes that were absent before).
fn previous_values(before: &Map<String, Value>, after: &Map<String, Value>) -> Map<String, Value> {
    let mut changed = Map::new();
    for (key, old) in before {
        if after.get(key) != Some(old) {
            changed.insert(key.clone(), old.clone());
        }
    }
    for key in after.keys() {
        if !before.contains_key(key) {
            changed.insert(key.clone(), Value::Null);
        }
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn previous_values_name_changed_added_and_removed_attributes() {
        let before = json!({"userName": "a", "title": "T", "nickName": "n"});
        let after = json!({"userName": "a", "title": "U", "displayName": "D"});
        let p = previous_values(before.as_object().unwrap(), after.as_object().unwrap());
        assert_eq!(
            Value::Object(p),
            json!({"title": "T", "nickName": "n", "displayName": null})
        );
    }

    #[test]
    fn previous_names_the_schemas_when_an_extension_came_or_went() {
        let before = json!({"userName": "a"});
        let after = json!({"userName": "a", "urn:x": {"k": 1}});
        let (b, a) = (before.as_object().unwrap(), after.as_object().unwrap());
        let core = || vec!["core".to_owned()];
        let p = previous((b, core()), (a, vec!["core".into(), "urn:x".into()]));
        assert_eq!(
            Value::Object(p),
            json!({"urn:x": null, "schemas": ["core"]})
        );
        assert!(!previous((b, core()), (b, core())).contains_key("schemas"));
    }

    #[test]
    fn subjects_carry_directory_and_type() {
        let dir = Uuid::nil();
        let e = Event::new(
            dir,
            ResourceType::User,
            Uuid::nil(),
            Action::Deactivated,
            2,
            json!({}),
            None,
        );
        assert_eq!(e.subject(), format!("scim.v1.{dir}.user.deactivated"));
        assert_eq!(
            serde_json::to_value(&e).unwrap()["type"],
            "user.deactivated"
        );
    }

    #[test]
    fn update_actions_follow_active() {
        assert_eq!(Action::for_update(true, false), Action::Deactivated);
        assert_eq!(Action::for_update(false, true), Action::Reactivated);
        assert_eq!(Action::for_update(true, true), Action::Updated);
    }
}
