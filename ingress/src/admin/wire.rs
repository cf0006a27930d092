//! The admin API's wire types (`scim_admin_api`) from the rows and domain values they
//! show, and back for what a request sends. Every conversion is written out field by
//! field: renaming a column or a domain field is a compile error here, never a silent
//! change of the public JSON.

use scim_admin_api as api;
use scim_core::hold::Policy;
use scim_core::roles;
use scim_product::hold::{Change, HeldMember};
use scim_product::members::{ManagedBy, MemberStatus};
use scim_product::recompute::{self, Recomputed};
use scim_product::teams::preview::{Preview, Renamed};
use scim_product::teams::store::Source;
use scim_product::teams::store::views::{MemberView, TeamMember};
use scim_store::directories::{
    ExistingMembers, IssuedToken, TeamMapping, TokenInfo, TokenOrigin, Unmapped,
};
use scim_store::groups::GroupName;
use scim_store::outbox::Backlog;
use scim_store::request_log::{Entry, ErrorRate};
use scim_store::setup::LinkInfo;
use scim_store::{audit, users};

/// A value the admin API shows, as it shows it.
pub(crate) trait Wire {
    type Out;
    fn wire(self) -> Self::Out;
}

impl<T: Wire> Wire for Vec<T> {
    type Out = Vec<T::Out>;
    fn wire(self) -> Vec<T::Out> {
        self.into_iter().map(Wire::wire).collect()
    }
}

impl<T: Wire> Wire for Option<T> {
    type Out = Option<T::Out>;
    fn wire(self) -> Option<T::Out> {
        self.map(Wire::wire)
    }
}

impl Wire for TeamMapping {
    type Out = api::TeamMapping;
    fn wire(self) -> api::TeamMapping {
        match self {
            TeamMapping::Mapped => api::TeamMapping::Mapped,
            TeamMapping::Mirrored { pattern } => api::TeamMapping::Mirrored { pattern },
            TeamMapping::Attribute {
                attribute,
                unmapped,
            } => api::TeamMapping::Attribute {
                attribute,
                unmapped: unmapped.wire(),
            },
        }
    }
}

impl Wire for Unmapped {
    type Out = api::Unmapped;
    fn wire(self) -> api::Unmapped {
        match self {
            Unmapped::Create => api::Unmapped::Create,
            Unmapped::Ignore => api::Unmapped::Ignore,
        }
    }
}

/// A team mapping as a request sends it.
pub(crate) fn team_mapping(sent: api::TeamMapping) -> TeamMapping {
    match sent {
        api::TeamMapping::Mapped => TeamMapping::Mapped,
        api::TeamMapping::Mirrored { pattern } => TeamMapping::Mirrored { pattern },
        api::TeamMapping::Attribute {
            attribute,
            unmapped,
        } => TeamMapping::Attribute {
            attribute,
            unmapped: match unmapped {
                api::Unmapped::Create => Unmapped::Create,
                api::Unmapped::Ignore => Unmapped::Ignore,
            },
        },
    }
}

/// A member status as a query names it.
pub(crate) fn member_status(sent: api::MemberStatus) -> MemberStatus {
    match sent {
        api::MemberStatus::Active => MemberStatus::Active,
        api::MemberStatus::Deactivated => MemberStatus::Deactivated,
        api::MemberStatus::Removed => MemberStatus::Removed,
    }
}

impl Wire for MemberStatus {
    type Out = api::MemberStatus;
    fn wire(self) -> api::MemberStatus {
        match self {
            MemberStatus::Active => api::MemberStatus::Active,
            MemberStatus::Deactivated => api::MemberStatus::Deactivated,
            MemberStatus::Removed => api::MemberStatus::Removed,
        }
    }
}

impl Wire for TokenInfo {
    type Out = api::Token;
    fn wire(self) -> api::Token {
        api::Token {
            id: self.id,
            prefix: self.prefix,
            created_at: self.created_at,
            last_used_at: self.last_used_at,
            revoked_at: self.revoked_at,
            expires_at: self.expires_at,
            origin: self.origin.wire(),
        }
    }
}

impl Wire for TokenOrigin {
    type Out = api::TokenOrigin;
    fn wire(self) -> api::TokenOrigin {
        match self {
            TokenOrigin::DirectoryCreated => api::TokenOrigin::DirectoryCreated,
            TokenOrigin::Operator => api::TokenOrigin::Operator,
            TokenOrigin::SetupLink => api::TokenOrigin::SetupLink,
        }
    }
}

impl Wire for IssuedToken {
    type Out = api::IssuedToken;
    fn wire(self) -> api::IssuedToken {
        api::IssuedToken {
            id: self.id,
            prefix: self.prefix,
            token: self.token,
            expires_at: self.expires_at,
        }
    }
}

impl Wire for LinkInfo {
    type Out = api::SetupLink;
    fn wire(self) -> api::SetupLink {
        api::SetupLink {
            id: self.id,
            created_at: self.created_at,
            expires_at: self.expires_at,
            revoked_at: self.revoked_at,
            first_used_at: self.first_used_at,
            allow_controls: self.allow_controls,
        }
    }
}

impl Wire for Backlog {
    type Out = api::OutboxBacklog;
    fn wire(self) -> api::OutboxBacklog {
        api::OutboxBacklog {
            waiting: self.waiting,
            oldest_seconds: self.oldest_seconds,
            parked: self.parked,
        }
    }
}

impl Wire for ErrorRate {
    type Out = api::ErrorRate;
    fn wire(self) -> api::ErrorRate {
        api::ErrorRate {
            directory_id: self.directory_id,
            requests: self.requests,
            errors: self.errors,
        }
    }
}

impl Wire for Source {
    type Out = api::Source;
    fn wire(self) -> api::Source {
        match self {
            Source::Manual => api::Source::Manual,
            Source::Provisioned => api::Source::Provisioned,
        }
    }
}

impl Wire for TeamMember {
    type Out = api::TeamMember;
    fn wire(self) -> api::TeamMember {
        api::TeamMember {
            member_id: self.member_id,
            scim_user_id: self.scim_user_id,
            email: self.email,
            display_name: self.display_name,
            member_status: self.member_status.wire(),
            source: self.source.wire(),
            via: self.via,
            suspended: self.suspended,
        }
    }
}

impl Wire for MemberView {
    type Out = api::Member;
    fn wire(self) -> api::Member {
        api::Member {
            id: self.id,
            scim_user_id: self.scim_user_id,
            email: self.email,
            display_name: self.display_name,
            status: self.status.wire(),
            managed_by: self.managed_by.wire(),
            teams: self.teams,
            role: self.role,
            role_source: self
                .role_source
                .as_deref()
                .and_then(roles::Source::parse)
                .map(Wire::wire),
        }
    }
}

impl Wire for roles::Source {
    type Out = api::RoleSource;
    fn wire(self) -> api::RoleSource {
        match self {
            roles::Source::IdentityProvider => api::RoleSource::IdentityProvider,
            roles::Source::Group => api::RoleSource::Group,
            roles::Source::Default => api::RoleSource::Default,
            roles::Source::Admin => api::RoleSource::Admin,
        }
    }
}

impl Wire for roles::Role {
    type Out = api::Role;
    fn wire(self) -> api::Role {
        api::Role {
            id: self.id,
            display_name: self.display_name,
            description: self.description,
        }
    }
}

impl Wire for roles::Catalogue {
    type Out = api::Roles;
    fn wire(self) -> api::Roles {
        api::Roles {
            roles: self.roles.wire(),
            default_role: self.default,
        }
    }
}

impl Wire for ManagedBy {
    type Out = api::ManagedBy;
    fn wire(self) -> api::ManagedBy {
        match self {
            ManagedBy::Provisioned => api::ManagedBy::Provisioned,
            ManagedBy::Adopted => api::ManagedBy::Adopted,
            ManagedBy::Manual => api::ManagedBy::Manual,
        }
    }
}

impl Wire for ExistingMembers {
    type Out = api::ExistingMembers;
    fn wire(self) -> api::ExistingMembers {
        match self {
            ExistingMembers::Adopt => api::ExistingMembers::Adopt,
            ExistingMembers::Refuse => api::ExistingMembers::Refuse,
        }
    }
}

/// A recomputation as the API shows it.
pub(crate) fn reconciliation(done: Recomputed, dry_run: bool) -> api::Reconciliation {
    api::Reconciliation {
        dry_run,
        members: done
            .members
            .into_iter()
            .map(|m| api::MemberChange {
                scim_user_id: m.scim_user_id,
                member_id: m.member,
                email: m.email,
                change: match m.change {
                    recompute::Change::Created => api::MemberChangeKind::Created,
                    recompute::Change::Updated => api::MemberChangeKind::Updated,
                    recompute::Change::Deactivated => api::MemberChangeKind::Deactivated,
                    recompute::Change::Reactivated => api::MemberChangeKind::Reactivated,
                    recompute::Change::Removed => api::MemberChangeKind::Removed,
                },
                held: m.held,
            })
            .collect(),
        changed: done.changed,
        held: done.held,
        teams: done.teams.wire(),
    }
}

/// An existing-members setting as a request sends it.
pub(crate) fn existing_members(setting: api::ExistingMembers) -> ExistingMembers {
    match setting {
        api::ExistingMembers::Adopt => ExistingMembers::Adopt,
        api::ExistingMembers::Refuse => ExistingMembers::Refuse,
    }
}

impl Wire for Preview {
    type Out = api::Preview;
    fn wire(self) -> api::Preview {
        api::Preview {
            created: self.created,
            renamed: self.renamed.wire(),
            deleted: self.deleted,
            joined: self.joined,
            left: self.left,
            manual_kept: self.manual_kept,
        }
    }
}

impl Wire for Renamed {
    type Out = api::Renamed;
    fn wire(self) -> api::Renamed {
        api::Renamed {
            from: self.from,
            to: self.to,
        }
    }
}

impl Wire for Entry {
    type Out = api::RequestEntry;
    fn wire(self) -> api::RequestEntry {
        api::RequestEntry {
            directory_id: self.directory_id,
            at: self.at,
            method: self.method,
            path: self.path,
            status: self.status,
            duration_ms: self.duration_ms,
            detail: self.detail,
            resource_id: self.resource_id,
            resource: self.resource,
            body: self.body,
        }
    }
}

impl Wire for users::Listed {
    type Out = api::ReceivedUser;
    fn wire(self) -> api::ReceivedUser {
        api::ReceivedUser {
            id: self.id,
            user_name: self.user_name,
            active: self.active,
            updated_at: self.updated_at,
        }
    }
}

impl Wire for GroupName {
    type Out = api::GroupName;
    fn wire(self) -> api::GroupName {
        api::GroupName {
            id: self.id,
            display_name: self.display_name,
            updated_at: self.updated_at,
        }
    }
}

impl Wire for audit::Record {
    type Out = api::AuditRecord;
    fn wire(self) -> api::AuditRecord {
        api::AuditRecord {
            id: self.id,
            at: self.at,
            actor: self.actor,
            action: self.action,
            directory_id: self.directory_id,
            details: self.details,
        }
    }
}

impl Wire for Policy {
    type Out = api::HoldPolicy;
    fn wire(self) -> api::HoldPolicy {
        api::HoldPolicy {
            min_members: self.min_members,
            share_percent: self.share_percent,
        }
    }
}

impl Wire for HeldMember {
    type Out = api::HeldMember;
    fn wire(self) -> api::HeldMember {
        api::HeldMember {
            member_id: self.member,
            scim_user_id: self.scim_user_id,
            email: self.email,
            display_name: self.display_name,
            change: match self.change {
                Change::Deactivate => api::HeldChange::Deactivate,
                Change::Remove => api::HeldChange::Remove,
                Change::LeaveTeams => api::HeldChange::LeaveTeams,
            },
            teams: self.teams,
            held_at: self.held_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a request sends comes back as it was sent, for every team mode.
    #[test]
    fn team_mappings_round_trip() {
        let sent = [
            api::TeamMapping::Mapped,
            api::TeamMapping::Mirrored { pattern: None },
            api::TeamMapping::Mirrored {
                pattern: Some("eng-*".into()),
            },
            api::TeamMapping::Attribute {
                attribute: "urn:x:department".into(),
                unmapped: api::Unmapped::Ignore,
            },
            api::TeamMapping::Attribute {
                attribute: "urn:x:department".into(),
                unmapped: api::Unmapped::Create,
            },
        ];
        for mapping in sent {
            assert_eq!(team_mapping(mapping.clone()).wire(), mapping);
        }
    }

    #[test]
    fn member_statuses_round_trip() {
        for status in MemberStatus::ALL {
            assert_eq!(member_status(status.wire()), status);
        }
    }
}
