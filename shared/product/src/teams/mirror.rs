//! Mirrored teams (the Teamup way): each pushed group whose name matches the
//! directory's pattern is a team of the group's name, created on push, renamed with the
//! group, deleted with it. What to do is recomputed from the directory's groups and
//! teams ([`plan`], pure), never replayed from events, so a late or repeated event
//! changes nothing. Membership follows through [`super::reconcile`].

use super::store::mirror::{Group, MirrorTeam};
use super::store::{self as teams};
use scim_events::{Action, Event, ResourceType};
use scim_store::directories::{self, TeamMapping};
use scim_store::outbox;
use serde_json::{Value, json};
use sqlx::{PgConnection, PgPool};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// One change to the directory's teams.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A new team for the group.
    Create { group: Group, name: String },
    /// A team of the group's name, made by hand, now mirrors the group.
    Adopt { team: Uuid, group: Group },
    Rename {
        team: Uuid,
        group: Group,
        from: String,
        to: String,
    },
    /// The group is gone, or no longer matches the pattern.
    Delete { team: Uuid, name: String },
}

/// Whether a group name matches a mirror pattern: `*` stands for any characters
/// (none included), everything else for itself, case ignored.
pub fn matches(pattern: &str, name: &str) -> bool {
    let (pattern, name) = (pattern.to_lowercase(), name.to_lowercase());
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = name.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// What brings the mirrored teams of the groups in scope in line with those groups.
/// `groups`: the groups in scope that exist; `mirrored`: the teams mirroring a group in
/// scope; `names`: every team of the directory by name, with the group it mirrors.
pub fn plan(
    pattern: Option<&str>,
    groups: &[Group],
    mirrored: &[MirrorTeam],
    names: &HashMap<String, (Uuid, Option<Uuid>)>,
) -> Vec<Step> {
    let wanted: Vec<&Group> = groups
        .iter()
        .filter(|g| pattern.is_none_or(|p| matches(p, &g.name)))
        .collect();
    let mut steps = Vec::new();
    // Names this plan gives, so that two groups of one name pushed together do not
    // both get it.
    let mut given: HashSet<String> = HashSet::new();
    for team in mirrored {
        if !wanted.iter().any(|g| g.id == team.group) {
            steps.push(Step::Delete {
                team: team.id,
                name: team.name.clone(),
            });
        }
    }
    for group in wanted {
        let name = free_name(group, names, &given);
        given.insert(name.clone());
        match mirrored.iter().find(|t| t.group == group.id) {
            Some(team) if team.name == group.name => {}
            Some(team) if team.name == name => {}
            Some(team) => steps.push(Step::Rename {
                team: team.id,
                group: group.clone(),
                from: team.name.clone(),
                to: name,
            }),
            None => match names.get(&group.name) {
                Some((team, None)) => steps.push(Step::Adopt {
                    team: *team,
                    group: group.clone(),
                }),
                _ => steps.push(Step::Create {
                    group: group.clone(),
                    name,
                }),
            },
        }
    }
    steps
}

/// The group's name, unless another team has it (or this plan gave it): then the name
/// with the end of the group's id (a UUIDv7 starts with its time, so groups made within
/// the same minute share their first digits, not their last), or, should that be taken
/// too, with the whole id, so two groups of one name (SCIM allows it) stay apart.
fn free_name(
    group: &Group,
    names: &HashMap<String, (Uuid, Option<Uuid>)>,
    given: &HashSet<String>,
) -> String {
    let taken = |name: &str| {
        given.contains(name)
            || names
                .get(name)
                .is_some_and(|(_, other)| *other != Some(group.id))
    };
    if !taken(&group.name) {
        return group.name.clone();
    }
    let id = group.id.simple().to_string();
    let short = format!("{} ({})", group.name, &id[id.len() - 8..]);
    if !taken(&short) {
        return short;
    }
    format!("{} ({id})", group.name)
}

/// A mirrored team as team events show it: with the group it mirrors.
fn resource(team: Uuid, name: &str, group: Option<&Group>) -> Value {
    let mut resource = super::plan::resource(team, name, &[]);
    resource["group"] = group.map_or(Value::Null, |g| json!({"id": g.id, "name": g.name}));
    resource
}

/// Brings the directory's mirrored teams in line with its groups (those in `scope`, or
/// all), when it mirrors groups; returns the groups whose members' teams may have
/// changed. One directory's syncs take turns, so two workers never make one team twice.
pub async fn sync(
    pool: &PgPool,
    directory: Uuid,
    scope: Option<&[Uuid]>,
) -> Result<Vec<Uuid>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let (touched, _) = sync_in(&mut tx, directory, scope).await?;
    tx.commit().await?;
    Ok(touched)
}

/// [`sync`] within the caller's transaction; also returns the events it wrote.
pub async fn sync_in(
    tx: &mut PgConnection,
    directory: Uuid,
    scope: Option<&[Uuid]>,
) -> Result<(Vec<Uuid>, Vec<Event>), sqlx::Error> {
    let TeamMapping::Mirrored { pattern } = directories::team_mapping(&mut *tx, directory).await?
    else {
        return Ok((Vec::new(), Vec::new()));
    };
    teams::mirror::lock_mirroring(tx, directory).await?;
    let groups = teams::mirror::groups_to_mirror(tx, directory, scope).await?;
    let (mirrored, names) = teams::mirror::mirrored_teams(tx, directory, scope).await?;
    let steps = plan(pattern.as_deref(), &groups, &mirrored, &names);
    let mut events = Vec::with_capacity(steps.len());
    let mut touched = Vec::new();
    for step in &steps {
        let event = match step {
            Step::Create { group, name } => {
                let team = teams::mirror::create_mirrored(tx, directory, name, group.id).await?;
                touched.push(group.id);
                event(
                    directory,
                    team,
                    Action::Created,
                    1,
                    resource(team, name, Some(group)),
                    None,
                )
            }
            Step::Adopt { team, group } => {
                let version = teams::mirror::adopt(tx, *team, group.id).await?;
                touched.push(group.id);
                let previous = json!({"group": null});
                event(
                    directory,
                    *team,
                    Action::MappingChanged,
                    version,
                    resource(*team, &group.name, Some(group)),
                    Some(previous),
                )
            }
            Step::Rename {
                team,
                group,
                from,
                to,
            } => {
                let version = teams::rename(tx, *team, to).await?;
                event(
                    directory,
                    *team,
                    Action::Renamed,
                    version,
                    resource(*team, to, Some(group)),
                    Some(json!({"name": from})),
                )
            }
            Step::Delete { team, name } => {
                let (version, group) = teams::delete(tx, *team).await?;
                touched.extend(group);
                event(
                    directory,
                    *team,
                    Action::Deleted,
                    version,
                    resource(*team, name, None),
                    None,
                )
            }
        };
        events.push(event);
    }
    outbox::insert(&mut *tx, &events).await?;
    Ok((touched, events))
}

fn event(
    directory: Uuid,
    team: Uuid,
    action: Action,
    version: i64,
    resource: Value,
    previous: Option<Value>,
) -> Event {
    let event = Event::new(
        directory,
        ResourceType::Team,
        team,
        action,
        version,
        resource,
        None,
    );
    match previous {
        Some(Value::Object(previous)) => event.with_previous(previous),
        _ => event,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(n: u128, name: &str) -> Group {
        Group {
            id: Uuid::from_u128(n),
            name: name.into(),
        }
    }

    fn team(n: u128, group: u128, name: &str) -> MirrorTeam {
        MirrorTeam {
            id: Uuid::from_u128(100 + n),
            group: Uuid::from_u128(group),
            name: name.into(),
        }
    }

    fn names(
        teams: &[MirrorTeam],
        manual: &[(u128, &str)],
    ) -> HashMap<String, (Uuid, Option<Uuid>)> {
        teams
            .iter()
            .map(|t| (t.name.clone(), (t.id, Some(t.group))))
            .chain(
                manual
                    .iter()
                    .map(|(n, name)| ((*name).to_owned(), (Uuid::from_u128(*n), None))),
            )
            .collect()
    }

    #[test]
    fn patterns_match_with_stars_and_ignore_case() {
        assert!(matches("eng-*", "ENG-Platform"));
        assert!(matches("*", "anything"));
        assert!(matches("*-emea", "Sales-EMEA"));
        assert!(matches("a*b*c", "aXbYc"));
        assert!(matches("exact", "Exact"));
        assert!(!matches("eng-*", "Sales"));
        assert!(!matches("a*b*c", "aXcYb"));
        assert!(!matches("*-emea", "emea"));
        assert!(!matches("exact", "exactly"));
    }

    #[test]
    fn pushed_groups_become_teams_renames_follow_and_deletions_remove() {
        let existing = [
            team(1, 1, "Eng"),
            team(2, 2, "Old name"),
            team(3, 3, "Gone"),
        ];
        let groups = [group(1, "Eng"), group(2, "New name"), group(4, "Sales")];
        let steps = plan(None, &groups, &existing, &names(&existing, &[]));
        assert_eq!(
            steps,
            [
                Step::Delete {
                    team: Uuid::from_u128(103),
                    name: "Gone".into()
                },
                Step::Rename {
                    team: Uuid::from_u128(102),
                    group: group(2, "New name"),
                    from: "Old name".into(),
                    to: "New name".into(),
                },
                Step::Create {
                    group: group(4, "Sales"),
                    name: "Sales".into()
                },
            ]
        );
        // Done, nothing is left to do: a repeated sync changes nothing.
        let after = [
            team(1, 1, "Eng"),
            team(2, 2, "New name"),
            team(4, 4, "Sales"),
        ];
        assert!(plan(None, &groups, &after, &names(&after, &[])).is_empty());
    }

    #[test]
    fn a_pattern_limits_which_groups_are_teams() {
        let existing = [team(1, 1, "eng-web")];
        let groups = [group(1, "eng-web"), group(2, "Everyone")];
        let steps = plan(Some("sales-*"), &groups, &existing, &names(&existing, &[]));
        assert_eq!(
            steps,
            [Step::Delete {
                team: Uuid::from_u128(101),
                name: "eng-web".into()
            }]
        );
        assert_eq!(
            plan(Some("eng-*"), &groups, &existing, &names(&existing, &[])),
            []
        );
    }

    #[test]
    fn a_hand_made_team_of_the_name_is_adopted_and_a_second_group_of_it_gets_its_own() {
        let groups = [group(1, "Design")];
        let steps = plan(None, &groups, &[], &names(&[], &[(50, "Design")]));
        assert_eq!(
            steps,
            [Step::Adopt {
                team: Uuid::from_u128(50),
                group: group(1, "Design")
            }]
        );
        let first = [team(1, 1, "Design")];
        let twin = group(2, "Design");
        let steps = plan(
            None,
            &[group(1, "Design"), twin.clone()],
            &first,
            &names(&first, &[]),
        );
        let id = twin.id.simple().to_string();
        let expected = format!("Design ({})", &id[id.len() - 8..]);
        assert_eq!(
            steps,
            [Step::Create {
                group: twin,
                name: expected
            }]
        );
    }

    #[test]
    fn groups_of_one_name_made_within_a_minute_get_teams_of_their_own() {
        // UUIDv7s of one moment: the same first digits, different last ones.
        let at = |n: u128| Uuid::from_u128((0x0195_f0c0_0000_7000_u128 << 64) | (0x8000 << 48) | n);
        let design = |n: u128| Group {
            id: at(n),
            name: "Design".into(),
        };
        let first = [team(1, 1, "Design")];
        let steps = plan(
            None,
            &[group(1, "Design"), design(2), design(3)],
            &first,
            &names(&first, &[]),
        );
        let made: Vec<&str> = steps
            .iter()
            .map(|s| match s {
                Step::Create { name, .. } => name.as_str(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(made, ["Design (00000002)", "Design (00000003)"]);
        // Pushed together with no team yet, the second gets its own name too.
        let steps = plan(None, &[design(2), design(3)], &[], &HashMap::new());
        let made: HashSet<&str> = steps
            .iter()
            .filter_map(|s| match s {
                Step::Create { name, .. } => Some(name.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(made.len(), 2, "{steps:?}");
        // A suffix already taken: the whole id.
        let taken = names(&first, &[(60, "Design (00000002)")]);
        let steps = plan(None, &[group(1, "Design"), design(2)], &first, &taken);
        assert!(
            matches!(&steps[..], [Step::Create { name, .. }] if *name == format!("Design ({})", at(2).simple()))
        );
    }
}
