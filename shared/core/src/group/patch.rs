//! PATCH on Group resources, in every form Okta and Entra send: `add` of many members,
//! `remove` by `members[value eq "id"]` without a value, Entra's `Remove` of
//! `members` with a value list (only those), path-less `replace` for a rename. The
//! group's own attributes change on a copy; membership changes are returned as a list
//! of steps so storage can apply them with set-based SQL.

use super::{Group, member_values};
use crate::error::ScimError;
use crate::filter::{CompareOp, Filter, PatchPath, Value as FilterValue, eval};
use crate::patch::{Op, Operation};
use crate::schema::{self, GROUP_ATTRIBUTES};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// One membership step of a PATCH, in request order.
#[derive(Debug, Clone, PartialEq)]
pub enum MemberChange {
    Add(Vec<String>),
    Remove(Vec<String>),
    RemoveAll,
    /// `remove` of `members[filter]` for a filter other than `value eq`.
    RemoveWhere(Filter),
    Replace(Vec<String>),
}

/// The net effect of a PATCH's membership steps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberDelta {
    pub add: BTreeSet<String>,
    pub remove: BTreeSet<String>,
}

/// True when the steps can only be resolved knowing the current members.
pub fn needs_current(changes: &[MemberChange]) -> bool {
    changes.iter().any(|c| {
        matches!(
            c,
            MemberChange::RemoveAll | MemberChange::RemoveWhere(_) | MemberChange::Replace(_)
        )
    })
}

/// Folds the steps into ids to add and to remove. `current` is required when
/// [`needs_current`] says so; without it, `add` may name existing members and `remove`
/// non-members (storage skips both).
pub fn resolve(
    changes: &[MemberChange],
    current: Option<&BTreeSet<String>>,
) -> Result<MemberDelta, ScimError> {
    let empty = BTreeSet::new();
    let base = current.unwrap_or(&empty);
    // Final membership of every id a step touched.
    let mut state: BTreeMap<String, bool> = BTreeMap::new();
    let is_member = |state: &BTreeMap<String, bool>, id: &String| {
        state.get(id).copied().unwrap_or_else(|| base.contains(id))
    };
    for change in changes {
        match change {
            MemberChange::Add(ids) => state.extend(ids.iter().map(|id| (id.clone(), true))),
            MemberChange::Remove(ids) => state.extend(ids.iter().map(|id| (id.clone(), false))),
            MemberChange::RemoveAll | MemberChange::Replace(_) => {
                let all: Vec<String> = base.iter().chain(state.keys()).cloned().collect();
                state.extend(all.into_iter().map(|id| (id, false)));
                if let MemberChange::Replace(ids) = change {
                    state.extend(ids.iter().map(|id| (id.clone(), true)));
                }
            }
            MemberChange::RemoveWhere(filter) => {
                let subs = member_sub_attributes();
                let candidates: Vec<String> = base
                    .iter()
                    .chain(state.keys())
                    .filter(|id| is_member(&state, id))
                    .cloned()
                    .collect();
                for id in candidates {
                    let mut element = Map::new();
                    element.insert("value".into(), Value::String(id.clone()));
                    element.insert("type".into(), Value::String("User".into()));
                    if eval::matches_element(filter, subs, &element)? {
                        state.insert(id, false);
                    }
                }
            }
        }
    }
    // Without the current members, every id a step touched goes to storage, which skips
    // existing members on add and non-members on remove.
    let mut delta = MemberDelta::default();
    for (id, member) in state {
        let was_member = base.contains(&id);
        if member && !was_member {
            delta.add.insert(id);
        } else if !member && (was_member || current.is_none()) {
            delta.remove.insert(id);
        }
    }
    Ok(delta)
}

fn member_sub_attributes() -> &'static [schema::Attribute] {
    schema::find(GROUP_ATTRIBUTES, "members")
        .map(|a| a.sub_attributes)
        .unwrap_or_default()
}

/// Applies `ops` to a copy of `group`: the group's new attributes (validated as a
/// whole) and the membership steps, so one bad operation leaves everything untouched.
pub fn apply(group: &Group, ops: &[Operation]) -> Result<(Group, Vec<MemberChange>), ScimError> {
    let mut attrs = group.attrs().clone();
    let mut changes = Vec::new();
    for op in ops {
        match &op.path {
            None => apply_pathless(&mut attrs, &mut changes, op.op, op.value.clone())?,
            Some(path) => apply_path(&mut attrs, &mut changes, op.op, path, op.value.clone())?,
        }
    }
    let (group, _) = Group::from_request(Value::Object(attrs))?;
    Ok((group, changes))
}

/// `{"op":"replace","value":{"id":"…","displayName":"New name"}}` and the like.
fn apply_pathless(
    attrs: &mut Map<String, Value>,
    changes: &mut Vec<MemberChange>,
    op: Op,
    value: Option<Value>,
) -> Result<(), ScimError> {
    let Some(Value::Object(obj)) = value else {
        return Err(ScimError::invalid_value(
            "an operation without a path needs an object value",
        ));
    };
    for (key, v) in obj {
        let lower = key.to_ascii_lowercase();
        match lower.as_str() {
            "schemas" | "id" | "meta" => {}
            "members" => changes.push(members_step(op, Some(v))?),
            "displayname" | "externalid" => set(attrs, &key, Some(v)),
            _ if lower.starts_with("urn:") => set(attrs, &key, Some(v)),
            _ => {} // Unknown attributes are ignored, as on POST.
        }
    }
    Ok(())
}

fn apply_path(
    attrs: &mut Map<String, Value>,
    changes: &mut Vec<MemberChange>,
    op: Op,
    path: &PatchPath,
    value: Option<Value>,
) -> Result<(), ScimError> {
    let name = path.attr.attr.to_ascii_lowercase();
    let core_urn = path
        .attr
        .urn
        .as_deref()
        .is_none_or(|u| schema::GROUP.is_core(u));
    match (
        core_urn,
        name.as_str(),
        &path.filter,
        &path.attr.sub,
        &path.sub_after_filter,
    ) {
        (true, "members", None, None, None) => changes.push(members_step(op, value)?),
        (true, "members", Some(filter), None, None) if op == Op::Remove => {
            changes.push(match ids_of_value_eq(filter) {
                Some(ids) => MemberChange::Remove(ids),
                None => MemberChange::RemoveWhere(filter.clone()),
            });
        }
        (true, "members", ..) => {
            return Err(ScimError::invalid_path(
                "members can be added, replaced or removed, not changed in place",
            ));
        }
        (true, "displayname" | "externalid", None, None, None) => set(
            attrs,
            &path.attr.attr,
            if op == Op::Remove { None } else { value },
        ),
        (false, _, None, sub, None) => {
            // An extension attribute: `urn:…:Group:attr` (with an optional `.sub`).
            let urn = path.attr.urn.clone().unwrap_or_default();
            let ext = attrs
                .entry(urn)
                .or_insert_with(|| Value::Object(Map::new()));
            let Value::Object(ext) = ext else {
                return Err(ScimError::invalid_path("extension is not an object"));
            };
            let value = if op == Op::Remove { None } else { value };
            match sub {
                None => set(ext, &path.attr.attr, value),
                Some(sub) => {
                    let inner = ext
                        .entry(path.attr.attr.clone())
                        .or_insert_with(|| Value::Object(Map::new()));
                    if let Value::Object(inner) = inner {
                        set(inner, sub, value);
                    }
                }
            }
        }
        _ => {
            return Err(ScimError::invalid_path(format!(
                "unknown or unsupported Group path {:?}",
                path.attr.attr
            )));
        }
    }
    Ok(())
}

/// An operation on the whole `members` attribute. Entra's
/// `{"op":"Remove","path":"members","value":[…]}` removes only the listed members.
fn members_step(op: Op, value: Option<Value>) -> Result<MemberChange, ScimError> {
    Ok(match (op, value) {
        (Op::Add, Some(v)) => MemberChange::Add(member_values(v)?),
        (Op::Replace, Some(v)) => MemberChange::Replace(member_values(v)?),
        (Op::Remove, None | Some(Value::Null)) => MemberChange::RemoveAll,
        (Op::Remove, Some(v)) => MemberChange::Remove(member_values(v)?),
        (_, None) => return Err(ScimError::invalid_value("add and replace need a value")),
    })
}

/// Sets (or with `None`, `null` or `""`, removes) an attribute, keeping the canonical
/// spelling of core names.
fn set(obj: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    let canonical = match key.to_ascii_lowercase().as_str() {
        "displayname" => "displayName".to_owned(),
        "externalid" => "externalId".to_owned(),
        _ => key.to_owned(),
    };
    obj.retain(|k, _| !k.eq_ignore_ascii_case(&canonical));
    match value {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) if s.is_empty() => {}
        Some(v) => {
            obj.insert(canonical, v);
        }
    }
}

/// The ids of `value eq "a"` or `value eq "a" or value eq "b"`; `None` for other filters.
fn ids_of_value_eq(filter: &Filter) -> Option<Vec<String>> {
    match filter {
        Filter::Or(a, b) => {
            let mut ids = ids_of_value_eq(a)?;
            ids.extend(ids_of_value_eq(b)?);
            Some(ids)
        }
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value: FilterValue::Str(id),
        } if path.urn.is_none()
            && path.sub.is_none()
            && path.attr.eq_ignore_ascii_case("value") =>
        {
            Some(vec![id.clone()])
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::patch::parse_request;
    use serde_json::json;

    fn group() -> Group {
        Group::from_request(json!({"displayName": "Eng", "externalId": "e1"}))
            .unwrap()
            .0
    }

    fn run(ops: Value) -> Result<(Group, Vec<MemberChange>), ScimError> {
        let body = json!({"schemas": [crate::schema::PATCH_OP_SCHEMA], "Operations": ops});
        apply(&group(), &parse_request(body)?)
    }

    fn set_of(ids: &[&str]) -> BTreeSet<String> {
        ids.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn okta_forms() {
        let (_, c) = run(json!([{"op": "add", "path": "members", "value": [{"value": "u1", "display": "A"}, {"value": "u2"}]}])).unwrap();
        assert_eq!(c, vec![MemberChange::Add(vec!["u1".into(), "u2".into()])]);
        let (_, c) = run(json!([{"op": "remove", "path": "members[value eq \"u1\"]"}])).unwrap();
        assert_eq!(c, vec![MemberChange::Remove(vec!["u1".into()])]);
        let (g, c) =
            run(json!([{"op": "replace", "value": {"id": "x", "displayName": "New"}}])).unwrap();
        assert_eq!((g.display_name(), c.len()), ("New", 0));
        assert_eq!(g.external_id(), Some("e1"));
    }

    #[test]
    fn entra_forms() {
        let (_, c) =
            run(json!([{"op": "Remove", "path": "members", "value": [{"value": "u1"}]}])).unwrap();
        assert_eq!(c, vec![MemberChange::Remove(vec!["u1".into()])]);
        let (_, c) = run(
            json!([{"op": "Add", "path": "members", "value": [{"value": "u3", "$ref": null}]}]),
        )
        .unwrap();
        assert_eq!(c, vec![MemberChange::Add(vec!["u3".into()])]);
        let (g, _) =
            run(json!([{"op": "Replace", "path": "displayName", "value": "Renamed"}])).unwrap();
        assert_eq!(g.display_name(), "Renamed");
        let (g, _) = run(json!([{"op": "Replace", "path": "externalId", "value": ""}])).unwrap();
        assert_eq!(g.external_id(), None);
    }

    #[test]
    fn remove_without_value_removes_all_and_replace_replaces() {
        let (_, c) = run(json!([{"op": "remove", "path": "members"}, {"op": "add", "path": "members", "value": [{"value": "u9"}]}])).unwrap();
        assert!(needs_current(&c));
        let d = resolve(&c, Some(&set_of(&["u1", "u2"]))).unwrap();
        assert_eq!(d.add, set_of(&["u9"]));
        assert_eq!(d.remove, set_of(&["u1", "u2"]));
        let (_, c) = run(json!([{"op": "replace", "path": "members", "value": [{"value": "u2"}, {"value": "u3"}]}])).unwrap();
        let d = resolve(&c, Some(&set_of(&["u1", "u2"]))).unwrap();
        assert_eq!((d.add, d.remove), (set_of(&["u3"]), set_of(&["u1"])));
    }

    #[test]
    fn later_steps_win_without_knowing_the_members() {
        let c = vec![
            MemberChange::Add(vec!["a".into(), "b".into()]),
            MemberChange::Remove(vec!["b".into(), "c".into()]),
        ];
        assert!(!needs_current(&c));
        let d = resolve(&c, None).unwrap();
        assert_eq!((d.add, d.remove), (set_of(&["a"]), set_of(&["b", "c"])));
    }

    #[test]
    fn remove_by_other_filters_evaluates_each_member() {
        let (_, c) = run(json!([{"op": "remove", "path": "members[value sw \"u1\"]"}])).unwrap();
        assert!(needs_current(&c));
        let d = resolve(&c, Some(&set_of(&["u1", "u10", "u2"]))).unwrap();
        assert_eq!(d.remove, set_of(&["u1", "u10"]));
        assert!(d.add.is_empty());
    }

    #[test]
    fn bad_operations_are_rejected_whole() {
        for ops in [
            json!([{"op": "replace", "path": "displayName", "value": ""}]),
            json!([{"op": "remove", "path": "displayName"}]),
            json!([{"op": "replace", "path": "members[value eq \"u1\"].display", "value": "x"}]),
            json!([{"op": "add", "path": "nope", "value": "x"}]),
            json!([{"op": "add", "path": "members", "value": [{"value": "g", "type": "Group"}]}]),
        ] {
            let err = run(ops.clone()).unwrap_err();
            assert_eq!(err.status(), 400, "{ops}");
        }
    }
}
