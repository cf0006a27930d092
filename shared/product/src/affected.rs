//! Who an event affects, and bringing them up to date: an event is a trigger; what to
//! write is recomputed from the directory's current state ([`apply`]), so applying an
//! event twice, or late, leaves the same state.

use scim_events::{Event, Kind};
use scim_store::{memberships, roles as db_roles, users as db_users};
use serde_json::Value;
use sqlx::PgPool;
use std::collections::{BTreeMap, BTreeSet};
use uuid::Uuid;

use crate::hold::Screen;
use crate::members::Touched;
use crate::sync;
use crate::teams::{mirror, reconcile, store as db_teams};
use scim_store::directories::{self, TeamMapping};

/// What an event asks to bring up to date.
#[derive(Debug, Clone, PartialEq)]
pub enum Work {
    /// Users whose member records and teams to recompute, each with the version its
    /// event announced.
    Users {
        directory: Uuid,
        users: Vec<(Uuid, i64)>,
    },
    /// Users who joined or left a group: only their teams can have changed. (A member
    /// record that does not exist yet gets its teams when its user event comes.)
    Membership {
        directory: Uuid,
        group: Uuid,
        joined: bool,
        users: Vec<Uuid>,
    },
    /// A group was renamed from `previous`: its mirrored team follows (in mirrored
    /// mode), and its members' teams are recomputed where the rename can change them (a
    /// mapping names the old or the new name, or a mirrored team was made or ended).
    Group {
        directory: Uuid,
        group: Uuid,
        previous: Option<String>,
    },
    /// A group was pushed or deleted: its mirrored team is made or ends (in mirrored
    /// mode), and then only the members of a team made or ended are recomputed (in
    /// other modes the membership events that come with the push say who joined).
    Mirror { directory: Uuid, group: Uuid },
    /// A team's mapping changed: its provisioned members, and the members of the
    /// groups it named before or names now.
    Team {
        directory: Uuid,
        team: Uuid,
        groups: Vec<String>,
    },
    /// The directory's mapping mode changed: every user.
    Directory { directory: Uuid },
    /// The directory's roles, default role or role mappings changed: every member's
    /// role.
    Roles { directory: Uuid },
    /// The directory's provisioning resumed: every member record and team, recomputed
    /// from the directory (deprovisionings through the hold).
    Resume { directory: Uuid },
    /// Nothing to apply (team membership events, which the worker itself emits).
    Nothing,
}

/// What an event asks the worker to reconcile.
pub fn parse(payload: &[u8]) -> Result<Work, serde_json::Error> {
    let event: Event = serde_json::from_slice(payload)?;
    Ok(work(&event))
}

/// What `event` asks to bring up to date.
pub fn work(event: &Event) -> Work {
    let (directory, id) = (event.directory_id, event.resource_id);
    // A list of group names, as team events carry them.
    let names = |list: Option<&Value>| -> Vec<String> {
        list.and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect()
    };
    match event.kind() {
        Kind::UserCreated(_)
        | Kind::UserUpdated(..)
        | Kind::UserDeactivated(..)
        | Kind::UserReactivated(..)
        | Kind::UserDeleted(_) => Work::Users {
            directory,
            users: vec![(id, event.resource_version)],
        },
        Kind::GroupMembersAdded(users) | Kind::GroupMembersRemoved(users) => Work::Membership {
            directory,
            group: id,
            joined: matches!(event.kind(), Kind::GroupMembersAdded(_)),
            users: users.to_vec(),
        },
        // A rename can change which mapping holds the group's members.
        Kind::GroupUpdated(..) if event.changed("displayName") => Work::Group {
            directory,
            group: id,
            previous: event
                .previous
                .as_ref()
                .and_then(|p| p.get("displayName"))
                .and_then(|v| v.as_str())
                .map(str::to_owned),
        },
        Kind::GroupCreated(_) | Kind::GroupDeleted(_) => Work::Mirror {
            directory,
            group: id,
        },
        Kind::TeamMappingChanged(resource, previous) => {
            let mut groups = names(resource.get("groups"));
            groups.extend(names(previous.and_then(|p| p.get("groups"))));
            Work::Team {
                directory,
                team: id,
                groups,
            }
        }
        Kind::DirectoryMappingChanged(..) => Work::Directory { directory },
        Kind::DirectoryRolesChanged(..) => Work::Roles { directory },
        Kind::DirectoryProvisioningResumed(_) => Work::Resume { directory },
        _ => Work::Nothing,
    }
}

impl Work {
    fn directory(&self) -> Option<Uuid> {
        match self {
            Work::Users { directory, .. }
            | Work::Membership { directory, .. }
            | Work::Group { directory, .. }
            | Work::Mirror { directory, .. }
            | Work::Team { directory, .. }
            | Work::Directory { directory }
            | Work::Roles { directory }
            | Work::Resume { directory } => Some(*directory),
            Work::Nothing => None,
        }
    }
}

/// Applies the work of several events: member records first, then teams and roles. The
/// work of a paused directory is left undone: resuming recomputes everything.
pub async fn apply(pool: &PgPool, work: &[Work]) -> Result<(), sqlx::Error> {
    let mut directories: Vec<Uuid> = work.iter().filter_map(Work::directory).collect();
    directories.sort_unstable();
    directories.dedup();
    let paused = directories::paused(pool, &directories).await?;
    let work = work
        .iter()
        .filter(|w| w.directory().is_some_and(|d| !paused.contains(&d)));
    let mut touched = Vec::new();
    let mut user_events: BTreeMap<Uuid, Vec<Uuid>> = BTreeMap::new();
    let mut affected: BTreeMap<Uuid, BTreeSet<Uuid>> = BTreeMap::new();
    // Users whose teams an admin's change (a team's mapping, the team mode) can change:
    // recomputed without the hold, which guards against the identity provider, not
    // against a change its admin previewed and made.
    let mut by_admin: BTreeMap<Uuid, BTreeSet<Uuid>> = BTreeMap::new();
    // Users whose role can have changed.
    let mut roles: BTreeMap<Uuid, BTreeSet<Uuid>> = BTreeMap::new();
    for w in work {
        match w {
            Work::Users { directory, users } => {
                for (user, version) in users {
                    touched.push(Touched {
                        directory: *directory,
                        user: *user,
                        version: *version,
                    });
                }
                user_events
                    .entry(*directory)
                    .or_default()
                    .extend(users.iter().map(|(u, _)| *u));
                roles
                    .entry(*directory)
                    .or_default()
                    .extend(users.iter().map(|(u, _)| *u));
            }
            Work::Membership {
                directory,
                group,
                joined,
                users,
            } => {
                // Most groups are not mapped to a team: joining one changes nothing. The
                // check reads the current name and mappings; a later rename or mapping
                // change has its own event that reconciles the group's members. Leaving
                // is always reconciled: the name that mapped the user may be gone. Roles
                // follow the same rule with their own mappings.
                if !*joined || db_roles::group_can_matter(pool, *directory, *group, None).await? {
                    roles.entry(*directory).or_default().extend(users);
                }
                if *joined
                    && !db_teams::mapping::joining_can_matter(pool, *directory, *group).await?
                {
                    continue;
                }
                affected.entry(*directory).or_default().extend(users);
            }
            Work::Group {
                directory,
                group,
                previous,
            } => {
                // Renaming a group no mapping names (an "everyone" group of 100,000)
                // recomputes nobody.
                let touched = mirror::sync(pool, *directory, Some(&[*group])).await?;
                let previous = previous.as_deref();
                let for_roles =
                    db_roles::group_can_matter(pool, *directory, *group, previous).await?;
                let for_teams = !touched.is_empty()
                    || db_teams::mapping::renaming_can_matter(pool, *directory, *group, previous)
                        .await?;
                if for_roles || for_teams {
                    let members = memberships::ids(pool, *directory, *group).await?;
                    if for_roles {
                        roles.entry(*directory).or_default().extend(&members);
                    }
                    if for_teams {
                        affected.entry(*directory).or_default().extend(members);
                    }
                }
            }
            Work::Mirror { directory, group } => {
                for touched in mirror::sync(pool, *directory, Some(&[*group])).await? {
                    let members = memberships::ids(pool, *directory, touched).await?;
                    affected.entry(*directory).or_default().extend(members);
                }
            }
            Work::Team {
                directory,
                team,
                groups,
            } => {
                let mut users =
                    db_teams::mapping::users_in_groups_named(pool, *directory, groups).await?;
                users.extend(
                    db_teams::membership::provisioned_users(pool, *directory, Some(*team)).await?,
                );
                by_admin.entry(*directory).or_default().extend(users);
            }
            Work::Roles { directory } => {
                let mut tx = pool.begin().await?;
                crate::roles::orphaned_manual_roles(&mut tx, *directory).await?;
                tx.commit().await?;
                let users = db_users::ids(&mut *pool.acquire().await?, *directory).await?;
                roles.entry(*directory).or_default().extend(users);
            }
            Work::Resume { directory } => {
                let mut tx = pool.begin().await?;
                crate::recompute::directory(&mut tx, *directory).await?;
                tx.commit().await?;
            }
            Work::Directory { directory } => {
                mirror::sync(pool, *directory, None).await?;
                let users = reconcile::everyone(&mut *pool.acquire().await?, *directory).await?;
                by_admin.entry(*directory).or_default().extend(users);
            }
            Work::Nothing => {}
        }
    }
    if !touched.is_empty() {
        sync::apply_users(&mut *pool.acquire().await?, &touched).await?;
    }
    // A user event can change teams only for users with a group membership or a team
    // membership, unless teams follow an attribute: the others (every new user, for
    // one) need no recomputation.
    for (directory, users) in user_events {
        let mapping = directories::team_mapping(pool, directory).await?;
        let users = if matches!(mapping, TeamMapping::Attribute { .. }) {
            users
        } else {
            db_teams::membership::with_team_state(pool, directory, &users).await?
        };
        affected.entry(directory).or_default().extend(users);
    }
    // A user both sets affect passes through the hold.
    for (directory, users) in &mut by_admin {
        if let Some(screened) = affected.get(directory) {
            users.retain(|u| !screened.contains(u));
        }
    }
    for (screen, sets) in [(Screen::On, affected), (Screen::Off, by_admin)] {
        for (directory, users) in sets {
            let users: Vec<Uuid> = users.into_iter().collect();
            reconcile::reconcile(pool, directory, &users, screen).await?;
        }
    }
    for (directory, users) in roles {
        let users: Vec<Uuid> = users.into_iter().collect();
        crate::roles::reconcile(pool, directory, &users).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use scim_events::{Action, ResourceType};
    use serde_json::json;

    fn event(resource_type: ResourceType, action: Action, resource: Value) -> Event {
        Event::new(
            Uuid::nil(),
            resource_type,
            Uuid::from_u128(1),
            action,
            2,
            resource,
            None,
        )
    }

    #[test]
    fn each_event_asks_for_what_it_can_have_changed() {
        let mapping = event(
            ResourceType::Team,
            Action::MappingChanged,
            json!({"groups": ["B"]}),
        )
        .with_previous(json!({"groups": ["A"]}).as_object().unwrap().clone());
        assert_eq!(
            work(&mapping),
            Work::Team {
                directory: Uuid::nil(),
                team: Uuid::from_u128(1),
                groups: vec!["B".into(), "A".into()],
            }
        );
        let renamed = event(ResourceType::Group, Action::Updated, json!({}))
            .with_previous(json!({"displayName": "Old"}).as_object().unwrap().clone());
        assert!(
            matches!(work(&renamed), Work::Group { ref previous, .. } if previous.as_deref() == Some("Old")),
            "the previous name travels with the work"
        );
        let pushed = event(ResourceType::Group, Action::Created, json!({}));
        assert!(matches!(work(&pushed), Work::Mirror { .. }));
        let retagged = event(ResourceType::Group, Action::Updated, json!({}))
            .with_previous(json!({"externalId": "x"}).as_object().unwrap().clone());
        assert_eq!(work(&retagged), Work::Nothing);
        let left = event(ResourceType::Group, Action::MembersRemoved, json!({}))
            .with_member_ids(vec![Uuid::from_u128(9)]);
        assert!(
            matches!(work(&left), Work::Membership { joined: false, ref users, .. } if users.len() == 1)
        );
        let deleted = event(ResourceType::User, Action::Deleted, json!({}));
        assert!(
            matches!(work(&deleted), Work::Users { ref users, .. } if users == &[(Uuid::from_u128(1), 2)])
        );
    }
}
