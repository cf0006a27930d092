//! SCIM PATCH (RFC 7644 §3.5.2) on User resources, accepting the forms Okta and Entra
//! really send: capitalized op names, path-less operations with dotted or URN-qualified
//! keys, string booleans, stray `id`s, and `""`/`null` to clear. A PATCH works on a
//! copy and the result is re-validated, so one bad operation leaves the user untouched.

use crate::error::ScimError;
use crate::filter::{self, CompareOp, Filter, PatchPath, eval};
use crate::schema::{self, Attribute, Kind, Mutability, PATCH_OP_SCHEMA};
use crate::user::User;
use serde_json::{Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Add,
    Remove,
    Replace,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    pub op: Op,
    pub path: Option<PatchPath>,
    pub value: Option<Value>,
}

/// Most operations accepted in one request.
pub const MAX_OPERATIONS: usize = 1000;

/// Parses a PatchOp request body.
pub fn parse_request(body: Value) -> Result<Vec<Operation>, ScimError> {
    let Value::Object(body) = body else {
        return Err(ScimError::invalid_syntax(
            "a PATCH body must be a JSON object",
        ));
    };
    let mut operations = None;
    for (key, value) in body {
        if key.eq_ignore_ascii_case("schemas") {
            let ok = value.as_array().is_some_and(|s| {
                s.iter().any(|s| {
                    s.as_str()
                        .is_some_and(|s| s.eq_ignore_ascii_case(PATCH_OP_SCHEMA))
                })
            });
            if !ok {
                return Err(ScimError::invalid_syntax(format!(
                    "schemas must contain {PATCH_OP_SCHEMA}"
                )));
            }
        } else if key.eq_ignore_ascii_case("Operations") {
            operations = Some(value);
        }
    }
    let Some(Value::Array(ops)) = operations else {
        return Err(ScimError::invalid_syntax(
            "a PATCH body needs an Operations list",
        ));
    };
    if ops.is_empty() {
        return Err(ScimError::invalid_syntax("Operations is empty"));
    }
    if ops.len() > MAX_OPERATIONS {
        return Err(ScimError::bad_request(
            crate::error::ScimType::TooMany,
            format!("at most {MAX_OPERATIONS} operations per request"),
        ));
    }
    ops.into_iter().map(parse_operation).collect()
}

fn parse_operation(op: Value) -> Result<Operation, ScimError> {
    let Value::Object(fields) = op else {
        return Err(ScimError::invalid_syntax(
            "each operation must be an object",
        ));
    };
    let (mut kind, mut path, mut value) = (None, None, None);
    for (key, v) in fields {
        match key.to_ascii_lowercase().as_str() {
            "op" => kind = v.as_str().map(str::to_ascii_lowercase),
            "path" => path = Some(v),
            "value" => value = Some(v),
            _ => {} // Entra adds `name` and other stray fields.
        }
    }
    let op = match kind.as_deref() {
        Some("add") => Op::Add,
        Some("remove") => Op::Remove,
        Some("replace") => Op::Replace,
        _ => {
            return Err(ScimError::invalid_syntax(
                "op must be add, remove or replace",
            ));
        }
    };
    let path = match path {
        None | Some(Value::Null) => None,
        Some(Value::String(p)) if p.trim().is_empty() => None,
        Some(Value::String(p)) => Some(filter::parse_path(p.trim())?),
        Some(_) => return Err(ScimError::invalid_path("path must be a string")),
    };
    if path.is_none() && op == Op::Remove {
        return Err(ScimError::no_target("remove needs a path"));
    }
    if op != Op::Remove && value.is_none() {
        return Err(ScimError::invalid_value("add and replace need a value"));
    }
    Ok(Operation { op, path, value })
}

/// Applies `ops` to a copy of `user`; the result is validated as a whole.
pub fn apply(user: &User, ops: &[Operation]) -> Result<User, ScimError> {
    let mut attrs = user.attrs().clone();
    for op in ops {
        let before = attrs.clone();
        match &op.path {
            Some(path) => apply_path(&mut attrs, op.op, path, op.value.clone())?,
            None => apply_pathless(&mut attrs, op.op, op.value.clone())?,
        }
        demote_former_primaries(&before, &mut attrs);
    }
    User::from_request(Value::Object(attrs))
}

/// RFC 7644 §3.5.2: an operation that makes a value of a multi-valued attribute
/// primary makes the others not primary. (Without this, normalization would keep the
/// first primary, which is the old one.)
fn demote_former_primaries(before: &Map<String, Value>, after: &mut Map<String, Value>) {
    let is_primary = |v: &Value| v.get("primary") == Some(&Value::Bool(true));
    for (name, value) in after.iter_mut() {
        let Value::Array(items) = value else {
            continue;
        };
        let former: Vec<&Value> = match before.get(name) {
            Some(Value::Array(old)) => old.iter().filter(|v| is_primary(v)).collect(),
            _ => Vec::new(),
        };
        let newly_primary = items.iter().any(|v| is_primary(v) && !former.contains(&v));
        if !newly_primary {
            continue;
        }
        for item in items.iter_mut() {
            if is_primary(item)
                && former.contains(&&*item)
                && let Value::Object(obj) = item
            {
                obj.insert("primary".into(), Value::Bool(false));
            }
        }
    }
}

/// `{"op":"replace","value":{"active":false,"name.givenName":"A","urn:…:department":"R"}}`
fn apply_pathless(
    attrs: &mut Map<String, Value>,
    op: Op,
    value: Option<Value>,
) -> Result<(), ScimError> {
    let Some(Value::Object(obj)) = value else {
        return Err(ScimError::invalid_value(
            "an operation without a path needs an object value",
        ));
    };
    for (key, v) in obj {
        if ["schemas", "id", "meta"]
            .iter()
            .any(|k| key.eq_ignore_ascii_case(k))
        {
            continue;
        }
        // An extension object `{"urn:…:User": {...}}` applies each attribute inside it;
        // keys that are not its attributes (such as a stray `schemas`) are ignored, as
        // on POST.
        if let (Some((urn, ext_attrs)), Value::Object(inner)) =
            (schema::extension_attributes(&key), &v)
        {
            for (k, iv) in inner.clone() {
                if schema::find(ext_attrs, &k).is_none() {
                    continue;
                }
                apply_path(
                    attrs,
                    op,
                    &filter::parse_path(&format!("{urn}:{k}"))?,
                    Some(iv),
                )?;
            }
            continue;
        }
        if key.starts_with("urn:")
            && schema::resolve_user_path(None, &key, None).is_none()
            && !key_is_attr_path(&key)
        {
            // An extension schema this service does not model: kept as sent.
            match (op, attrs.get_mut(&key), v) {
                (Op::Add, Some(Value::Object(existing)), Value::Object(new)) => {
                    existing.extend(new)
                }
                (_, _, v) => {
                    attrs.insert(key, v);
                }
            }
            continue;
        }
        let path = filter::parse_path(&key)?;
        if resolve(&path.attr).is_err() && path.attr.urn.is_none() {
            continue; // Unknown core attributes are ignored, as on POST.
        }
        apply_path(attrs, op, &path, Some(v))?;
    }
    Ok(())
}

/// True for `urn:…:User:attr` keys naming an attribute of a known extension.
fn key_is_attr_path(key: &str) -> bool {
    filter::parse_path(key)
        .ok()
        .and_then(|p| p.attr.urn.clone())
        .is_some_and(|urn| {
            schema::extension_attributes(&urn).is_some() || schema::USER.is_core(&urn)
        })
}

enum Resolved {
    Known(schema::Resolved),
    /// An attribute of an extension schema this service keeps without modelling.
    Opaque {
        urn: String,
        attr: String,
        sub: Option<String>,
    },
}

fn resolve(path: &filter::AttrPath) -> Result<Resolved, ScimError> {
    if let Some(r) = schema::resolve_user_path(path.urn.as_deref(), &path.attr, path.sub.as_deref())
    {
        return Ok(Resolved::Known(r));
    }
    match &path.urn {
        Some(urn) if !schema::USER.is_core(urn) && schema::extension_attributes(urn).is_none() => {
            Ok(Resolved::Opaque {
                urn: urn.clone(),
                attr: path.attr.clone(),
                sub: path.sub.clone(),
            })
        }
        _ => Err(ScimError::invalid_path(format!(
            "unknown attribute {:?}",
            path.attr
        ))),
    }
}

fn apply_path(
    attrs: &mut Map<String, Value>,
    op: Op,
    path: &PatchPath,
    value: Option<Value>,
) -> Result<(), ScimError> {
    // A path that is a whole extension URN addresses the extension object itself
    // (the parser reads its last segment, `User`, as an attribute name).
    if let (Some(urn), None, None) = (&path.attr.urn, &path.attr.sub, &path.filter)
        && let Some((urn, _)) = schema::extension_attributes(&format!("{urn}:{}", path.attr.attr))
    {
        return match op {
            Op::Remove => {
                attrs.remove(urn);
                Ok(())
            }
            Op::Add | Op::Replace => {
                let mut object = Map::new();
                object.insert(urn.to_owned(), value.unwrap_or(Value::Null));
                apply_pathless(attrs, op, Some(Value::Object(object)))
            }
        };
    }
    let r = match resolve(&path.attr)? {
        Resolved::Known(r) => r,
        Resolved::Opaque { urn, attr, sub } => {
            if path.filter.is_some() {
                return Err(ScimError::invalid_path(
                    "value filters need a known attribute",
                ));
            }
            let container = object_entry(attrs, &urn)?;
            let (container, key) = match &sub {
                Some(s) => (object_entry(container, &attr)?, s.as_str()),
                None => (container, attr.as_str()),
            };
            set_simple(container, key, op, value);
            return Ok(());
        }
    };
    if r.attr.mutability == Mutability::ReadOnly
        || r.sub.is_some_and(|s| s.mutability == Mutability::ReadOnly)
    {
        return Err(ScimError::mutability(format!(
            "{} is read-only",
            r.leaf().name
        )));
    }
    let container = match r.extension {
        Some(urn) => object_entry(attrs, urn)?,
        None => attrs,
    };
    let name = r.attr.name;
    if let Some(f) = &path.filter {
        if !r.attr.multi_valued {
            return Err(ScimError::invalid_path(format!(
                "{name} is not multi-valued"
            )));
        }
        return apply_filtered(
            container,
            r.attr,
            f,
            path.sub_after_filter.as_deref(),
            op,
            value,
        );
    }
    match (r.sub, r.attr.multi_valued) {
        (Some(sub), false) => {
            let obj = object_entry(container, name)?;
            set_simple(obj, sub.name, op, value);
        }
        (Some(sub), true) => {
            // `emails.value` without a filter: applies to every element.
            let Some(Value::Array(items)) = container.get_mut(name) else {
                return if op == Op::Remove {
                    Ok(())
                } else {
                    Err(ScimError::no_target(format!("{name} has no values")))
                };
            };
            for item in items.iter_mut().filter_map(Value::as_object_mut) {
                set_simple(item, sub.name, op, value.clone());
            }
        }
        (None, true) => match op {
            Op::Remove => {
                container.remove(name);
            }
            Op::Replace => {
                container.insert(name.to_owned(), value.unwrap_or(Value::Null));
            }
            Op::Add => {
                let new = match value {
                    Some(Value::Array(v)) => v,
                    Some(Value::Null) | None => Vec::new(),
                    Some(v) => vec![v],
                };
                match container.get_mut(name) {
                    Some(Value::Array(existing)) => {
                        // RFC 7644 §3.5.2.1: an identical value is not added twice.
                        for v in new {
                            if !existing.contains(&v) {
                                existing.push(v);
                            }
                        }
                    }
                    _ => {
                        container.insert(name.to_owned(), Value::Array(new));
                    }
                }
            }
        },
        (None, false) if r.attr.kind == Kind::Complex => match (op, value, container.get_mut(name))
        {
            (Op::Remove, _, _) => {
                container.remove(name);
            }
            (_, Some(Value::Object(new)), Some(Value::Object(existing))) => existing.extend(new),
            (_, value, _) => {
                container.insert(name.to_owned(), value.unwrap_or(Value::Null));
            }
        },
        (None, false) => set_simple(container, name, op, value),
    }
    Ok(())
}

fn apply_filtered(
    container: &mut Map<String, Value>,
    attr: &'static Attribute,
    f: &Filter,
    sub: Option<&str>,
    op: Op,
    value: Option<Value>,
) -> Result<(), ScimError> {
    let sub = match sub {
        Some(s) => Some(
            schema::find(attr.sub_attributes, s)
                .ok_or_else(|| {
                    ScimError::invalid_path(format!("unknown attribute {}.{s}", attr.name))
                })?
                .name,
        ),
        None => None,
    };
    let items = match container.get_mut(attr.name) {
        Some(Value::Array(items)) => items,
        _ => {
            container.insert(attr.name.to_owned(), Value::Array(Vec::new()));
            match container.get_mut(attr.name) {
                Some(Value::Array(items)) => items,
                _ => unreachable!("just inserted an array"),
            }
        }
    };
    let mut matched = Vec::new();
    for (i, item) in items.iter().enumerate() {
        if let Value::Object(obj) = item
            && eval::matches_element(f, attr.sub_attributes, obj)
                .map_err(|e| ScimError::invalid_path(e.to_string()))?
        {
            matched.push(i);
        }
    }
    if op == Op::Remove {
        match sub {
            None => {
                let mut i = 0;
                items.retain(|_| {
                    let keep = !matched.contains(&i);
                    i += 1;
                    keep
                });
            }
            Some(s) => {
                for &i in &matched {
                    if let Some(obj) = items[i].as_object_mut() {
                        obj.remove(s);
                    }
                }
            }
        }
        return Ok(());
    }
    if matched.is_empty() {
        // Entra sets `emails[type eq "work"].value` on users without a work email:
        // a filter naming one sub-attribute value creates that element.
        let Filter::Compare {
            path,
            op: CompareOp::Eq,
            value: filter::Value::Str(key_value),
        } = f
        else {
            return Err(ScimError::no_target(format!(
                "no {} value matches the filter",
                attr.name
            )));
        };
        let key = schema::find(attr.sub_attributes, &path.attr)
            .ok_or_else(|| ScimError::invalid_path(format!("unknown attribute {}", path.attr)))?;
        let mut element = Map::new();
        element.insert(key.name.to_owned(), Value::String(key_value.clone()));
        merge_element(&mut element, sub, value)?;
        items.push(Value::Object(element));
        return Ok(());
    }
    for i in matched {
        if let Some(obj) = items[i].as_object_mut() {
            if sub.is_none() && op == Op::Replace {
                obj.clear();
            }
            merge_element(obj, sub, value.clone())?;
        }
    }
    Ok(())
}

fn merge_element(
    element: &mut Map<String, Value>,
    sub: Option<&str>,
    value: Option<Value>,
) -> Result<(), ScimError> {
    match (sub, value) {
        (Some(s), v) => {
            element.insert(s.to_owned(), v.unwrap_or(Value::Null));
        }
        (None, Some(Value::Object(v))) => element.extend(v),
        (None, _) => {
            return Err(ScimError::invalid_value(
                "a value-filtered path needs an object value",
            ));
        }
    }
    Ok(())
}

fn set_simple(container: &mut Map<String, Value>, key: &str, op: Op, value: Option<Value>) {
    match op {
        Op::Remove => {
            container.remove(key);
        }
        Op::Add | Op::Replace => {
            container.insert(key.to_owned(), value.unwrap_or(Value::Null));
        }
    }
}

/// The object at `key`, created when absent; an error when something else is there.
fn object_entry<'a>(
    map: &'a mut Map<String, Value>,
    key: &str,
) -> Result<&'a mut Map<String, Value>, ScimError> {
    let entry = map
        .entry(key.to_owned())
        .or_insert_with(|| Value::Object(Map::new()));
    if entry.is_null() {
        *entry = Value::Object(Map::new());
    }
    entry
        .as_object_mut()
        .ok_or_else(|| ScimError::invalid_path(format!("{key} is not complex")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ScimType;
    use crate::schema::ENTERPRISE_USER_SCHEMA as ENT;
    use serde_json::json;

    fn user() -> User {
        User::from_request(json!({
            "userName": "a@x.com",
            "name": {"givenName": "A", "familyName": "B"},
            "emails": [{"value": "a@x.com", "type": "work", "primary": true}],
            "active": true,
        }))
        .unwrap()
    }

    fn patch(u: &User, ops: Value) -> Result<User, ScimError> {
        let ops = parse_request(json!({"schemas": [PATCH_OP_SCHEMA], "Operations": ops}))?;
        apply(u, &ops)
    }

    #[test]
    fn okta_deactivates_and_reactivates_without_a_path() {
        let u = patch(
            &user(),
            json!([{"op": "replace", "value": {"active": false}}]),
        )
        .unwrap();
        assert!(!u.active());
        let u = patch(&u, json!([{"op": "replace", "value": {"active": true}}])).unwrap();
        assert!(u.active());
    }

    #[test]
    fn entra_capitalized_ops_string_booleans_and_dotted_keys() {
        let u = patch(
            &user(),
            json!([
                {"op": "Replace", "path": "active", "value": "False"},
                {"op": "Replace", "value": {"name.givenName": "Z", (format!("{ENT}:department")): "R&D", "id": "stray"}},
                {"op": "Add", "path": "emails[type eq \"home\"].value", "value": "h@x.com"},
                {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "w@x.com"},
                {"op": "Add", "path": format!("{ENT}:manager"), "value": {"value": "boss"}},
            ]),
        )
        .unwrap();
        let a = u.attrs();
        assert_eq!(a["active"], false);
        assert_eq!(a["name"], json!({"givenName": "Z", "familyName": "B"}));
        assert_eq!(a[ENT]["department"], "R&D");
        assert_eq!(a[ENT]["manager"]["value"], "boss");
        assert_eq!(
            a["emails"],
            json!([
                {"value": "w@x.com", "type": "work", "primary": true},
                {"type": "home", "value": "h@x.com"},
            ])
        );
    }

    #[test]
    fn entra_sets_the_manager_by_its_id_alone_and_removes_it() {
        let manager = |u: &User| u.attrs()[ENT]["manager"].clone();
        let added = patch(
            &user(),
            json!([{"op": "Add", "path": format!("{ENT}:manager"), "value": "boss"}]),
        )
        .unwrap();
        assert_eq!(manager(&added), json!({"value": "boss"}));
        let replaced = patch(
            &added,
            json!([{"op": "Replace", "value": {(format!("{ENT}:manager")): "chief"}}]),
        )
        .unwrap();
        assert_eq!(manager(&replaced), json!({"value": "chief"}));
        let removed = patch(
            &replaced,
            json!([{"op": "Remove", "path": format!("{ENT}:manager")}]),
        )
        .unwrap();
        assert!(
            removed
                .attrs()
                .get(ENT)
                .is_none_or(|e| e.get("manager").is_none())
        );
        let cleared = patch(
            &replaced,
            json!([{"op": "Replace", "path": format!("{ENT}:manager"), "value": ""}]),
        )
        .unwrap();
        assert_eq!(
            cleared.attrs().get(ENT).and_then(|e| e.get("manager")),
            None
        );
        // Spelling is forgiven, meaning is not: a number is no manager.
        let err = patch(
            &user(),
            json!([{"op": "Add", "path": format!("{ENT}:manager"), "value": 7}]),
        )
        .unwrap_err();
        assert_eq!(err.status(), 400);
    }

    #[test]
    fn a_new_primary_value_demotes_the_former_one() {
        let base = patch(
            &user(),
            json!([{"op": "add", "path": "emails", "value": [{"value": "h@x.com", "type": "home"}]}]),
        )
        .unwrap();
        assert_eq!(base.attrs()["emails"][0]["primary"], true);
        let added = patch(
            &base,
            json!([{"op": "add", "path": "emails", "value": [{"value": "n@x.com", "type": "other", "primary": true}]}]),
        )
        .unwrap();
        let primaries: Vec<&str> = added.attrs()["emails"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["primary"] == true)
            .map(|e| e["value"].as_str().unwrap())
            .collect();
        assert_eq!(primaries, ["n@x.com"]);
        let by_filter = patch(
            &base,
            json!([{"op": "replace", "path": "emails[type eq \"home\"].primary", "value": true}]),
        )
        .unwrap();
        let emails = &by_filter.attrs()["emails"];
        assert_eq!(
            (emails[0]["primary"].clone(), emails[1]["primary"].clone()),
            (json!(false), json!(true))
        );
        // A change that makes nothing newly primary leaves the primary alone.
        let other = patch(
            &base,
            json!([{"op": "replace", "path": "title", "value": "T"}]),
        )
        .unwrap();
        assert_eq!(other.attrs()["emails"], base.attrs()["emails"]);
    }

    #[test]
    fn empty_string_and_null_clear_attributes() {
        let u = patch(
            &user(),
            json!([
                {"op": "replace", "path": "name.familyName", "value": ""},
                {"op": "replace", "value": {"displayName": null, "title": "T"}},
                {"op": "replace", "path": "title", "value": ""},
            ]),
        )
        .unwrap();
        assert_eq!(u.attrs()["name"], json!({"givenName": "A"}));
        assert!(!u.attrs().contains_key("title"));
    }

    #[test]
    fn remove_by_value_filter_and_whole_attribute() {
        let u = patch(
            &user(),
            json!([
                {"op": "add", "path": "emails", "value": [{"value": "b@x.com", "type": "home"}]},
                {"op": "remove", "path": "emails[type eq \"work\"]"},
            ]),
        )
        .unwrap();
        assert_eq!(
            u.attrs()["emails"],
            json!([{"value": "b@x.com", "type": "home"}])
        );
        let u = patch(&u, json!([{"op": "remove", "path": "emails"}])).unwrap();
        assert!(!u.attrs().contains_key("emails"));
    }

    #[test]
    fn draft_schema_urns_in_paths_and_keys_mean_the_rfc_schemas() {
        let u = patch(
            &user(),
            json!([
                {"op": "replace", "path": "urn:scim:schemas:extension:enterprise:2.0:department", "value": "S"},
                {"op": "replace", "path": "urn:scim:schemas:core:2.0:title", "value": "Lead"},
                {"op": "add", "value": {"urn:scim:schemas:extension:enterprise:2.0": {"costCenter": "cc"}}},
            ]),
        )
        .unwrap();
        assert_eq!(
            u.attrs()[ENT],
            json!({"department": "S", "costCenter": "cc"})
        );
        assert_eq!(u.attrs()["title"], "Lead");
        assert_eq!(u.schemas().len(), 2, "no extension of the alias's name");
        // An unknown attribute under an alias is as unknown as under the RFC's URN.
        let err = patch(
            &user(),
            json!([{"op": "replace", "path": "urn:scim:schemas:core:2.0:nope", "value": "x"}]),
        )
        .unwrap_err();
        assert_eq!(err.scim_type(), Some(ScimType::InvalidPath));
    }

    #[test]
    fn a_path_naming_an_extension_addresses_the_whole_extension() {
        let u = patch(
            &user(),
            json!([{"op": "add", "path": ENT, "value": {"schemas": [ENT], "costCenter": "cc", "department": "R"}}]),
        )
        .unwrap();
        assert_eq!(
            u.attrs()[ENT],
            json!({"costCenter": "cc", "department": "R"})
        );
        let u = patch(
            &u,
            json!([{"op": "replace", "path": ENT, "value": {"department": "S"}}]),
        )
        .unwrap();
        assert_eq!(
            u.attrs()[ENT],
            json!({"costCenter": "cc", "department": "S"})
        );
        let u = patch(&u, json!([{"op": "remove", "path": ENT}])).unwrap();
        assert!(!u.attrs().contains_key(ENT));
        assert_eq!(u.attrs().len(), user().attrs().len(), "no stray keys");
    }

    #[test]
    fn unknown_extension_attributes_are_kept() {
        let u = patch(
            &user(),
            json!([{"op": "add", "path": "urn:example:product:2.0:User:group", "value": "eng"}]),
        )
        .unwrap();
        assert_eq!(u.attrs()["urn:example:product:2.0:User"]["group"], "eng");
    }

    #[test]
    fn one_bad_operation_applies_nothing() {
        let original = user();
        let err = patch(
            &original,
            json!([
                {"op": "replace", "path": "displayName", "value": "changed"},
                {"op": "replace", "path": "active", "value": "maybe"},
            ]),
        )
        .unwrap_err();
        assert_eq!(err.scim_type(), Some(ScimType::InvalidValue));
        assert_eq!(original, user());
    }

    #[test]
    fn errors_carry_the_rfc_scim_types() {
        let cases = [
            (json!([{"op": "remove"}]), ScimType::NoTarget),
            (
                json!([{"op": "jump", "path": "title"}]),
                ScimType::InvalidSyntax,
            ),
            (
                json!([{"op": "replace", "path": "nope", "value": 1}]),
                ScimType::InvalidPath,
            ),
            (
                json!([{"op": "replace", "path": "emails[", "value": 1}]),
                ScimType::InvalidPath,
            ),
            (
                json!([{"op": "replace", "path": "id", "value": "x"}]),
                ScimType::Mutability,
            ),
            (
                json!([{"op": "replace", "path": "emails[type eq \"x\" or type eq \"y\"].value", "value": "v"}]),
                ScimType::NoTarget,
            ),
            (
                json!([{"op": "remove", "path": "userName"}]),
                ScimType::InvalidValue,
            ),
            (
                json!([{"op": "replace", "path": "title"}]),
                ScimType::InvalidValue,
            ),
        ];
        for (ops, expected) in cases {
            let err = patch(&user(), ops.clone()).unwrap_err();
            assert_eq!(err.scim_type(), Some(expected), "{ops}");
        }
        assert!(parse_request(json!({"Operations": []})).is_err());
        assert!(
            parse_request(json!({"schemas": ["x"], "Operations": [{"op": "add", "value": {}}]}))
                .is_err()
        );
    }
}
