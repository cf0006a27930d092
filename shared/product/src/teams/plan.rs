//! Team assignment, as pure functions: which teams a member belongs to through the
//! directory's mapping, and what must change in `team_members` to get there. A
//! membership is in effect while it is not suspended; events follow effect, so a
//! subscriber tracking `team.member_added`/`member_removed` sees who can act in a team.

use super::store::Source;
use super::store::membership::{Grant, LockedMember, Membership};
use crate::members::MemberStatus;
use scim_core::limits::TEAM_NAME_BYTES;
use scim_events::{Action, Event, ResourceType};
use scim_store::directories::{TeamMapping, Unmapped};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use uuid::Uuid;

/// `urn:acme:scim:schemas:2.0:User:group` → (`urn:acme:scim:schemas:2.0:User`, `group`).
pub fn split_attribute(path: &str) -> Option<(&str, &str)> {
    let (urn, attr) = path.rsplit_once(':')?;
    (urn.starts_with("urn:") && urn.contains(':') && !attr.is_empty()).then_some((urn, attr))
}

/// Team names in an attribute value: a string, a list of strings, or a list of
/// `{"value": …}` objects. Blank names, and names longer than a team name may be
/// ([`TEAM_NAME_BYTES`]), name no team.
pub fn team_names(value: &Value) -> Vec<String> {
    let one = |v: &Value| match v {
        Value::String(s) => Some(s.trim().to_owned()),
        Value::Object(o) => o
            .get("value")
            .and_then(Value::as_str)
            .map(|s| s.trim().to_owned()),
        _ => None,
    };
    let names: BTreeSet<String> = match value {
        Value::Array(items) => items.iter().filter_map(one).collect(),
        v => one(v).into_iter().collect(),
    };
    names
        .into_iter()
        .filter(|n| !n.is_empty() && n.len() <= TEAM_NAME_BYTES)
        .collect()
}

/// Where an attribute value leads in attribute mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueTeam {
    /// The team the value table maps the value to.
    Mapped(Uuid),
    /// The team named after the value (made on first use).
    Named(String),
}

/// The teams a user's attribute values lead to: through the value table where it has
/// the value (exactly as the identity provider sends it), else the team named after the
/// value, unless unmapped values are ignored.
pub fn value_teams(
    values: &[String],
    table: &HashMap<String, Uuid>,
    unmapped: Unmapped,
) -> Vec<(String, ValueTeam)> {
    values
        .iter()
        .filter_map(|value| match (table.get(value), unmapped) {
            (Some(team), _) => Some((value.clone(), ValueTeam::Mapped(*team))),
            (None, Unmapped::Create) => Some((value.clone(), ValueTeam::Named(value.clone()))),
            (None, Unmapped::Ignore) => None,
        })
        .collect()
}

/// What grants a provisioned membership: the mapped group names (with the groups' ids)
/// or the attribute values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Via {
    pub names: Vec<String>,
    /// Group modes: the ids of the groups named.
    pub groups: Vec<Uuid>,
}

/// A member's target: the teams it should be in through provisioning, each with what
/// grants it.
#[derive(Debug, Clone)]
pub struct Target<'a> {
    pub member: &'a LockedMember,
    pub teams: BTreeMap<Uuid, Via>,
}

/// A change in effect of one membership.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub team: Uuid,
    pub member: LockedMember,
    pub added: bool,
    pub cause: Cause,
}

/// Why a team membership came into or went out of effect: a team event's `cause`
/// (docs/events.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cause {
    pub reason: Reason,
    pub source: Source,
    /// Group modes: the names of the groups that hold (or held) the member.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<String>>,
    /// Group modes: those groups' ids.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_ids: Option<Vec<Uuid>>,
    /// Attribute mapping: the attribute, and the values that name the team.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attribute: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<String>>,
}

impl Cause {
    /// Added or removed by hand.
    pub fn manual() -> Cause {
        Cause {
            reason: Reason::Manual,
            source: Source::Manual,
            groups: None,
            group_ids: None,
            attribute: None,
            values: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    MappedGroup,
    /// The member is in the group the team mirrors.
    MirroredGroup,
    MappedAttribute,
    Manual,
    /// No mapped group or attribute value holds the member any more.
    Unmapped,
    /// The directory's team mode (or its attribute) changed: what held the member under
    /// the mode before (the cause's other fields) no longer assigns teams.
    ModeChanged,
    UserDeactivated,
    UserReactivated,
    UserDeleted,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    pub upserts: Vec<Membership>,
    pub deletes: Vec<(Uuid, Uuid, Source)>,
    pub changes: Vec<Change>,
}

impl Plan {
    /// The memberships in effect it ends for members who stay active (by member): the
    /// team removals the mass-deprovisioning hold judges.
    pub fn removals(&self) -> BTreeMap<Uuid, BTreeSet<Uuid>> {
        let mut out: BTreeMap<Uuid, BTreeSet<Uuid>> = BTreeMap::new();
        for c in &self.changes {
            if !c.added && c.member.status == MemberStatus::Active {
                out.entry(c.member.id).or_default().insert(c.team);
            }
        }
        out
    }

    /// Leaves these provisioned memberships (team, member) as they are.
    pub fn keep(&mut self, kept: &BTreeSet<(Uuid, Uuid)>) {
        self.deletes
            .retain(|(t, m, s)| *s != Source::Provisioned || !kept.contains(&(*t, *m)));
        self.changes
            .retain(|c| c.added || !kept.contains(&(c.team, c.member.id)));
    }
}

/// What to write so the members' memberships match their targets: provisioned rows
/// follow the target exactly; manual rows are only suspended or restored; every row of
/// a member who is not active is suspended (and restored as it was on reactivation).
pub fn plan(mapping: &TeamMapping, targets: &[Target<'_>], current: &[Membership]) -> Plan {
    let grant = Grant::of(mapping);
    let mut plan = Plan::default();
    for target in targets {
        let member = target.member;
        let suspended = member.status != MemberStatus::Active;
        let rows: Vec<&Membership> = current.iter().filter(|m| m.member == member.id).collect();
        let mut after: Vec<Membership> = Vec::new();
        for row in &rows {
            match row.source {
                Source::Manual => after.push(Membership {
                    suspended,
                    ..(*row).clone()
                }),
                Source::Provisioned if !target.teams.contains_key(&row.team) => {
                    plan.deletes
                        .push((row.team, member.id, Source::Provisioned));
                }
                Source::Provisioned => {}
            }
        }
        for (team, via) in &target.teams {
            after.push(Membership {
                team: *team,
                member: member.id,
                source: Source::Provisioned,
                via: via.names.clone(),
                via_groups: via.groups.clone(),
                grant: Some(grant.clone()),
                suspended,
            });
        }
        for row in &after {
            if !rows.contains(&row) {
                plan.upserts.push(row.clone());
            }
        }
        let teams: BTreeSet<Uuid> = rows
            .iter()
            .map(|r| r.team)
            .chain(after.iter().map(|r| r.team))
            .collect();
        for team in teams {
            let before = rows.iter().any(|r| r.team == team && !r.suspended);
            let now = after.iter().any(|r| r.team == team && !r.suspended);
            if before == now {
                continue;
            }
            let granted = after
                .iter()
                .chain(rows.iter().copied())
                .find(|r| r.team == team);
            let reason = match (now, member.status, granted.map(|r| r.source)) {
                (true, _, _) if rows.iter().any(|r| r.team == team) => Reason::UserReactivated,
                (true, _, Some(Source::Manual)) => Reason::Manual,
                (true, _, _) => match grant {
                    Grant::Mapped => Reason::MappedGroup,
                    Grant::Mirrored => Reason::MirroredGroup,
                    Grant::Attribute(_) => Reason::MappedAttribute,
                },
                (false, MemberStatus::Deactivated, _) => Reason::UserDeactivated,
                (false, MemberStatus::Removed, _) => Reason::UserDeleted,
                (false, _, _)
                    if granted
                        .and_then(|r| r.grant.as_ref())
                        .is_some_and(|g| *g != grant) =>
                {
                    Reason::ModeChanged
                }
                (false, _, _) => Reason::Unmapped,
            };
            plan.changes.push(Change {
                team,
                member: member.clone(),
                added: now,
                cause: cause(&grant, reason, granted),
            });
        }
    }
    plan
}

/// Why a membership came into or went out of effect, and through what: what the row
/// was granted by (`grant`, the directory's current mode, for a row that does not say).
fn cause(grant: &Grant, reason: Reason, row: Option<&Membership>) -> Cause {
    let via = row.map(|r| r.via.clone()).unwrap_or_default();
    let via_groups = row.map(|r| r.via_groups.clone()).unwrap_or_default();
    let mut cause = Cause {
        reason,
        source: Source::Provisioned,
        groups: None,
        group_ids: None,
        attribute: None,
        values: None,
    };
    let granted = row.and_then(|r| r.grant.as_ref()).unwrap_or(grant);
    match (granted, row.map(|r| r.source)) {
        (_, Some(Source::Manual)) => cause.source = Source::Manual,
        (Grant::Mapped | Grant::Mirrored, _) => {
            cause.groups = Some(via);
            // Memberships written before group ids were kept have none.
            cause.group_ids = (!via_groups.is_empty()).then_some(via_groups);
        }
        (Grant::Attribute(attribute), _) => {
            cause.attribute = Some(attribute.clone());
            cause.values = Some(via);
        }
    }
    cause
}

/// `team.created`: the team with its mapped group names, whoever made it (an admin, or
/// the worker on an attribute value's first use).
pub fn created_event(
    directory: Uuid,
    team: (Uuid, &str),
    version: i64,
    groups: &[String],
) -> Event {
    Event::new(
        directory,
        ResourceType::Team,
        team.0,
        Action::Created,
        version,
        resource(team.0, team.1, groups),
        None,
    )
}

/// A team as events and snapshots show it.
pub fn resource(id: Uuid, name: &str, groups: &[String]) -> Value {
    json!({"id": id, "name": name, "groups": groups})
}

/// A team's member as team events and snapshots show it.
pub fn member(id: Uuid, scim_user_id: Option<Uuid>, email: Option<&str>) -> Value {
    json!({"id": id, "scim_user_id": scim_user_id, "email": email})
}

/// `team.member_added` / `team.member_removed`.
pub fn member_event(directory: Uuid, team: (Uuid, &str), version: i64, change: &Change) -> Event {
    let member = &change.member;
    Event::new(
        directory,
        ResourceType::Team,
        team.0,
        if change.added {
            Action::MemberAdded
        } else {
            Action::MemberRemoved
        },
        version,
        json!({
            "id": team.0,
            "name": team.1,
            "member": self::member(member.id, member.scim_user_id, member.email.as_deref()),
        }),
        None,
    )
    // A struct of strings and lists always serializes.
    .with_cause(serde_json::to_value(&change.cause).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(status: MemberStatus) -> LockedMember {
        LockedMember {
            id: Uuid::from_u128(1),
            scim_user_id: Some(Uuid::from_u128(2)),
            status,
            email: Some("a@x.com".into()),
        }
    }

    fn team(n: u128) -> Uuid {
        Uuid::from_u128(100 + n)
    }

    fn row(t: u128, source: Source, via: &[&str], suspended: bool) -> Membership {
        Membership {
            team: team(t),
            member: Uuid::from_u128(1),
            source,
            via: via.iter().map(|s| s.to_string()).collect(),
            via_groups: Vec::new(),
            grant: (source == Source::Provisioned).then_some(Grant::Mapped),
            suspended,
        }
    }

    fn target<'a>(m: &'a LockedMember, teams: &[(u128, &[&str])]) -> Target<'a> {
        Target {
            member: m,
            teams: teams
                .iter()
                .map(|(t, via)| {
                    let via = Via {
                        names: via.iter().map(|s| s.to_string()).collect(),
                        groups: Vec::new(),
                    };
                    (team(*t), via)
                })
                .collect(),
        }
    }

    #[test]
    fn the_hold_judges_active_members_leaving_teams_and_can_keep_them() {
        let on = member(MemberStatus::Active);
        let current = [
            row(1, Source::Provisioned, &["Eng"], false),
            row(2, Source::Manual, &[], false),
        ];
        let mut p = plan(&TeamMapping::Mapped, &[target(&on, &[])], &current);
        assert_eq!(
            p.removals(),
            BTreeMap::from([(on.id, BTreeSet::from([team(1)]))]),
            "the manual membership stays: only the provisioned one ends"
        );
        p.keep(&BTreeSet::from([(team(1), on.id)]));
        assert_eq!(p, Plan::default(), "kept: nothing is written or announced");
        // A deactivation suspends rather than ends: the member hold judges it, not this.
        let off = member(MemberStatus::Deactivated);
        let p = plan(
            &TeamMapping::Mapped,
            &[target(&off, &[(1, &["Eng"])])],
            &current[..1],
        );
        assert!(p.removals().is_empty());
    }

    #[test]
    fn joining_a_mapped_group_adds_with_the_group_as_cause() {
        let m = member(MemberStatus::Active);
        let p = plan(&TeamMapping::Mapped, &[target(&m, &[(1, &["Eng"])])], &[]);
        assert_eq!(
            p.upserts,
            vec![row(1, Source::Provisioned, &["Eng"], false)]
        );
        assert_eq!(p.changes.len(), 1);
        assert!(p.changes[0].added);
        // As team events carry it.
        assert_eq!(
            serde_json::to_value(&p.changes[0].cause).unwrap(),
            json!({"reason": "mapped_group", "source": "provisioned", "groups": ["Eng"]})
        );
        // Applying the same target again changes nothing.
        let again = plan(
            &TeamMapping::Mapped,
            &[target(&m, &[(1, &["Eng"])])],
            &p.upserts,
        );
        assert_eq!(again, Plan::default());
    }

    #[test]
    fn leaving_one_of_two_mapped_groups_keeps_the_team_quietly() {
        let m = member(MemberStatus::Active);
        let current = [row(1, Source::Provisioned, &["A", "B"], false)];
        let p = plan(
            &TeamMapping::Mapped,
            &[target(&m, &[(1, &["B"])])],
            &current,
        );
        assert_eq!(p.upserts, vec![row(1, Source::Provisioned, &["B"], false)]);
        assert!(p.changes.is_empty() && p.deletes.is_empty());
    }

    #[test]
    fn provisioning_never_removes_a_manual_membership() {
        let m = member(MemberStatus::Active);
        let current = [
            row(1, Source::Manual, &[], false),
            row(1, Source::Provisioned, &["A"], false),
        ];
        let p = plan(&TeamMapping::Mapped, &[target(&m, &[])], &current);
        assert_eq!(p.deletes, vec![(team(1), m.id, Source::Provisioned)]);
        assert!(p.upserts.is_empty());
        assert!(
            p.changes.is_empty(),
            "still a member through the manual row"
        );
        let p = plan(&TeamMapping::Mapped, &[target(&m, &[])], &current[1..]);
        assert_eq!(p.changes[0].cause.reason, Reason::Unmapped);
        assert!(!p.changes[0].added);
    }

    #[test]
    fn deactivation_suspends_everything_and_reactivation_restores_it() {
        let active = [
            row(1, Source::Manual, &[], false),
            row(2, Source::Provisioned, &["G"], false),
        ];
        let off = member(MemberStatus::Deactivated);
        let p = plan(
            &TeamMapping::Mapped,
            &[target(&off, &[(2, &["G"])])],
            &active,
        );
        assert!(p.deletes.is_empty());
        assert_eq!(
            p.upserts,
            vec![
                row(1, Source::Manual, &[], true),
                row(2, Source::Provisioned, &["G"], true)
            ]
        );
        assert_eq!(p.changes.len(), 2);
        assert!(
            p.changes
                .iter()
                .all(|c| !c.added && c.cause.reason == Reason::UserDeactivated)
        );
        let on = member(MemberStatus::Active);
        let back = plan(
            &TeamMapping::Mapped,
            &[target(&on, &[(2, &["G"])])],
            &p.upserts,
        );
        assert_eq!(back.upserts, active.to_vec());
        let reasons: Vec<Reason> = back.changes.iter().map(|c| c.cause.reason).collect();
        assert_eq!(reasons, [Reason::UserReactivated; 2]);
    }

    #[test]
    fn attribute_mapping_names_the_attribute() {
        let m = member(MemberStatus::Active);
        let mapping = TeamMapping::Attribute {
            attribute: "urn:acme:2.0:User:group".into(),
            unmapped: Unmapped::Create,
        };
        let p = plan(&mapping, &[target(&m, &[(1, &["Sales"])])], &[]);
        assert_eq!(
            serde_json::to_value(&p.changes[0].cause).unwrap(),
            json!({"reason": "mapped_attribute", "source": "provisioned",
                   "attribute": "urn:acme:2.0:User:group", "values": ["Sales"]})
        );
    }

    #[test]
    fn a_mode_switch_ends_memberships_describing_what_held_them_before() {
        let m = member(MemberStatus::Active);
        let attribute = "urn:acme:2.0:User:group";
        let by_attribute = TeamMapping::Attribute {
            attribute: attribute.into(),
            unmapped: Unmapped::Create,
        };
        // Mapped → attribute: the group's membership ends, described as the group.
        let mut eng = row(1, Source::Provisioned, &["Engineering"], false);
        eng.via_groups = vec![Uuid::from_u128(9)];
        let p = plan(
            &by_attribute,
            &[target(&m, &[])],
            std::slice::from_ref(&eng),
        );
        assert_eq!(
            serde_json::to_value(&p.changes[0].cause).unwrap(),
            json!({"reason": "mode_changed", "source": "provisioned",
                   "groups": ["Engineering"], "group_ids": [Uuid::from_u128(9)]})
        );
        // Attribute → mapped: the value's membership ends, described as the value.
        let sales = Membership {
            grant: Some(Grant::Attribute(attribute.into())),
            ..row(2, Source::Provisioned, &["Sales"], false)
        };
        let p = plan(
            &TeamMapping::Mapped,
            &[target(&m, &[])],
            std::slice::from_ref(&sales),
        );
        assert_eq!(
            serde_json::to_value(&p.changes[0].cause).unwrap(),
            json!({"reason": "mode_changed", "source": "provisioned",
                   "attribute": attribute, "values": ["Sales"]})
        );
        // Held by the new mode too: the row now says so, and nothing is announced.
        let p = plan(
            &TeamMapping::Mapped,
            &[target(&m, &[(2, &["Sales"])])],
            &[sales],
        );
        assert!(p.changes.is_empty());
        assert_eq!(p.upserts[0].grant, Some(Grant::Mapped));
        // Within one mode, leaving the group is unmapped as before.
        let p = plan(&TeamMapping::Mapped, &[target(&m, &[])], &[eng]);
        assert_eq!(p.changes[0].cause.reason, Reason::Unmapped);
    }

    #[test]
    fn attribute_values_and_paths() {
        assert_eq!(team_names(&json!("Sales")), ["Sales"]);
        assert_eq!(
            team_names(&json!(["B", "A", " ", {"value": "C"}, 3])),
            ["A", "B", "C"]
        );
        assert!(team_names(&json!(null)).is_empty());
        let long = "x".repeat(TEAM_NAME_BYTES + 1);
        assert_eq!(team_names(&json!([long, "Sales"])), ["Sales"]);
        assert_eq!(
            split_attribute("urn:acme:scim:schemas:2.0:User:group"),
            Some(("urn:acme:scim:schemas:2.0:User", "group"))
        );
        assert_eq!(split_attribute("group"), None);
    }

    #[test]
    fn a_value_table_maps_several_values_to_one_team_and_unmapped_values_follow_the_setting() {
        let cs = Uuid::from_u128(7);
        let table: HashMap<String, Uuid> = [
            ("Customer Success EMEA".to_owned(), cs),
            ("Customer Success US".to_owned(), cs),
        ]
        .into();
        let values = ["Customer Success EMEA".to_owned(), "Interns".to_owned()];
        assert_eq!(
            value_teams(&values, &table, Unmapped::Create),
            [
                ("Customer Success EMEA".to_owned(), ValueTeam::Mapped(cs)),
                ("Interns".to_owned(), ValueTeam::Named("Interns".into())),
            ]
        );
        assert_eq!(
            value_teams(&values, &table, Unmapped::Ignore),
            [("Customer Success EMEA".to_owned(), ValueTeam::Mapped(cs))]
        );
        // As sent: another spelling is another value.
        assert!(
            value_teams(
                &["customer success emea".to_owned()],
                &table,
                Unmapped::Ignore
            )
            .is_empty()
        );
    }
}
