//! Who an event affects, and bringing them up to date: an event is a trigger; what to
//! write is recomputed from the directory's current state ([`apply`]), so applying an
//! event twice, or late, leaves the same state.

use scim_shared::db::{groups, users as db_users};
use scim_shared::event::{Action, Event, ResourceType};
use serde_json::Value;
use sqlx::PgPool;
use std::collections::{BTreeMap, BTreeSet};
use uuid::Uuid;

use crate::members::{self, Touched};
use crate::teams::{reconcile, store as db_teams};

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
    /// Every member of a group: a rename can change which mapping holds them.
    Group { directory: Uuid, group: Uuid },
    /// A team's mapping changed: its provisioned members, and the members of the
    /// groups it named before or names now.
    Team {
        directory: Uuid,
        team: Uuid,
        groups: Vec<String>,
    },
    /// The directory's mapping mode changed: every user.
    Directory { directory: Uuid },
    /// Nothing to apply (team membership events, which the worker itself emits).
    Nothing,
}

/// What an event asks the worker to reconcile.
pub fn parse(payload: &[u8]) -> Result<Work, serde_json::Error> {
    let event: Event = serde_json::from_slice(payload)?;
    let directory = event.directory_id;
    let names = |v: Option<&Value>| -> Vec<String> {
        v.and_then(|g| g.get("groups"))
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    Ok(match (event.resource_type, event.action) {
        (ResourceType::User, _) => Work::Users {
            directory,
            users: vec![(event.resource_id, event.resource_version)],
        },
        (ResourceType::Group, Action::MembersAdded | Action::MembersRemoved) => Work::Membership {
            directory,
            group: event.resource_id,
            joined: event.action == Action::MembersAdded,
            users: event.member_ids.unwrap_or_default(),
        },
        (ResourceType::Group, Action::Updated)
            if event
                .previous
                .as_ref()
                .is_some_and(|p| p.contains_key("displayName")) =>
        {
            Work::Group {
                directory,
                group: event.resource_id,
            }
        }
        (ResourceType::Team, Action::MappingChanged) => {
            let previous = event.previous.map(Value::Object);
            let mut groups = names(Some(&event.resource));
            groups.extend(names(previous.as_ref()));
            Work::Team {
                directory,
                team: event.resource_id,
                groups,
            }
        }
        (ResourceType::Directory, Action::MappingChanged) => Work::Directory { directory },
        _ => Work::Nothing,
    })
}

/// Applies the work of several events: member records first, then teams.
pub async fn apply(pool: &PgPool, work: &[Work]) -> Result<(), sqlx::Error> {
    let mut touched = Vec::new();
    let mut user_events: BTreeMap<Uuid, Vec<Uuid>> = BTreeMap::new();
    let mut affected: BTreeMap<Uuid, BTreeSet<Uuid>> = BTreeMap::new();
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
                // is always reconciled: the name that mapped the user may be gone.
                if *joined && !db_teams::joining_can_matter(pool, *directory, *group).await? {
                    continue;
                }
                affected.entry(*directory).or_default().extend(users);
            }
            Work::Group { directory, group } => {
                let members = groups::member_ids(pool, *directory, *group).await?;
                affected.entry(*directory).or_default().extend(members);
            }
            Work::Team {
                directory,
                team,
                groups,
            } => {
                let mut users = db_teams::users_in_groups_named(pool, *directory, groups).await?;
                users.extend(db_teams::provisioned_users(pool, *directory, Some(*team)).await?);
                affected.entry(*directory).or_default().extend(users);
            }
            Work::Directory { directory } => {
                let mut users = db_users::ids(pool, *directory).await?;
                users.extend(db_teams::provisioned_users(pool, *directory, None).await?);
                affected.entry(*directory).or_default().extend(users);
            }
            Work::Nothing => {}
        }
    }
    if !touched.is_empty() {
        members::apply_users(pool, &touched).await?;
    }
    // A user event can change teams only for users with a group membership or a team
    // membership, unless teams follow an attribute: the others (every new user, for
    // one) need no recomputation.
    for (directory, users) in user_events {
        let users = if db_teams::team_attribute(pool, directory).await?.is_some() {
            users
        } else {
            db_teams::with_team_state(pool, directory, &users).await?
        };
        affected.entry(directory).or_default().extend(users);
    }
    for (directory, users) in affected {
        let users: Vec<Uuid> = users.into_iter().collect();
        reconcile::reconcile(pool, directory, &users).await?;
    }
    Ok(())
}
