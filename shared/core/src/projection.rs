//! `attributes` and `excludedAttributes` (RFC 7644 §3.4.2.5, §3.9): which attributes of
//! a representation are returned. `schemas` and `id` are always returned.

use crate::error::ScimError;
use crate::schema::ResourceSchema;
use serde_json::{Map, Value};

/// Attributes that are returned whatever the client asks.
const ALWAYS: [&str; 2] = ["schemas", "id"];

/// One named attribute: its JSON key (the extension URN for extension attributes),
/// the attribute inside an extension, and an optional sub-attribute.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    key: String,
    inner: Option<String>,
    sub: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub enum Projection {
    #[default]
    All,
    Only(Vec<Target>),
    Except(Vec<Target>),
}

impl Projection {
    /// Parses the comma-separated parameters, with names resolved against `resource`;
    /// asking for both is `invalidValue`.
    pub fn parse(
        resource: &ResourceSchema,
        attributes: Option<&str>,
        excluded: Option<&str>,
    ) -> Result<Projection, ScimError> {
        let list = |s: &str| -> Result<Vec<Target>, ScimError> {
            s.split(',')
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .map(|name| target(resource, name))
                .collect()
        };
        match (
            attributes.filter(|a| !a.trim().is_empty()),
            excluded.filter(|e| !e.trim().is_empty()),
        ) {
            (Some(_), Some(_)) => Err(ScimError::invalid_value(
                "attributes and excludedAttributes cannot be used together",
            )),
            (Some(a), None) => Ok(Projection::Only(list(a)?)),
            (None, Some(e)) => Ok(Projection::Except(list(e)?)),
            (None, None) => Ok(Projection::All),
        }
    }

    /// Whether the top-level attribute `name` (canonical spelling) is returned, so
    /// costly attributes such as a group's members are loaded only when they are.
    pub fn returns(&self, name: &str) -> bool {
        let names = |targets: &[Target], whole: bool| {
            targets
                .iter()
                .any(|t| t.key == name && (!whole || (t.inner.is_none() && t.sub.is_none())))
        };
        match self {
            Projection::All => true,
            Projection::Only(targets) => names(targets, false),
            Projection::Except(targets) => !names(targets, true),
        }
    }

    /// Whether the sub-attribute `sub` of the top-level attribute `name` is returned, for
    /// values written outside [`Projection::apply`] (a group's members).
    pub fn returns_sub(&self, name: &str, sub: &str) -> bool {
        let names = |targets: &[Target]| {
            targets.iter().any(|t| {
                t.key == name && t.inner.is_none() && t.sub.as_deref().is_none_or(|s| s == sub)
            })
        };
        match self {
            Projection::All => true,
            Projection::Only(targets) => names(targets),
            Projection::Except(targets) => !names(targets),
        }
    }

    /// Whether `attributes` names `name` or its sub-attribute `sub` (for attributes
    /// returned only on request).
    pub fn requests(&self, name: &str, sub: &str) -> bool {
        match self {
            Projection::Only(targets) => targets
                .iter()
                .any(|t| t.key == name && t.sub.as_deref().is_none_or(|s| s == sub)),
            _ => false,
        }
    }

    /// Applies the projection to a rendered resource.
    pub fn apply(&self, resource: &mut Value) {
        let Value::Object(obj) = resource else { return };
        match self {
            Projection::All => {}
            Projection::Except(targets) => {
                for t in targets {
                    remove(obj, t);
                }
            }
            Projection::Only(targets) => {
                let mut kept = Map::new();
                for key in ALWAYS {
                    if let Some(v) = obj.remove(key) {
                        kept.insert(key.to_owned(), v);
                    }
                }
                for t in targets {
                    copy(obj, &mut kept, t);
                }
                *obj = kept;
            }
        }
    }
}

fn target(resource: &ResourceSchema, name: &str) -> Result<Target, ScimError> {
    let path = crate::filter::parse_path(name)
        .ok()
        .filter(|p| p.filter.is_none())
        .ok_or_else(|| ScimError::invalid_value(format!("invalid attribute name {name:?}")))?;
    let a = path.attr;
    // A whole extension: `urn:…:enterprise:2.0:User`.
    if let Some(urn) = &a.urn
        && a.sub.is_none()
        && let Some((ext, _)) = resource.extension(&format!("{urn}:{}", a.attr))
    {
        return Ok(Target {
            key: ext.to_owned(),
            inner: None,
            sub: None,
        });
    }
    match resource.resolve(a.urn.as_deref(), &a.attr, a.sub.as_deref()) {
        Some(r) => Ok(match r.extension {
            Some(ext) => Target {
                key: ext.to_owned(),
                inner: Some(r.attr.name.to_owned()),
                sub: r.sub.map(|s| s.name.to_owned()),
            },
            None => Target {
                key: r.attr.name.to_owned(),
                inner: None,
                sub: r.sub.map(|s| s.name.to_owned()),
            },
        }),
        // Unknown names select nothing (RFC 7644 §3.9 does not make them an error).
        None => Ok(Target {
            key: name.to_owned(),
            inner: None,
            sub: None,
        }),
    }
}

/// The value a target names inside an object, as (container, key) steps.
fn steps(t: &Target) -> Vec<&str> {
    [Some(t.key.as_str()), t.inner.as_deref(), t.sub.as_deref()]
        .into_iter()
        .flatten()
        .collect()
}

fn remove(obj: &mut Map<String, Value>, t: &Target) {
    if ALWAYS.contains(&t.key.as_str()) {
        return;
    }
    let steps = steps(t);
    remove_steps(obj, &steps);
}

fn remove_steps(obj: &mut Map<String, Value>, steps: &[&str]) {
    match steps {
        [] => {}
        [last] => {
            obj.remove(*last);
        }
        [first, rest @ ..] => match obj.get_mut(*first) {
            Some(Value::Object(inner)) => remove_steps(inner, rest),
            // A sub-attribute of a multi-valued attribute: remove it from every value.
            Some(Value::Array(items)) => {
                for item in items.iter_mut().filter_map(Value::as_object_mut) {
                    remove_steps(item, rest);
                }
            }
            _ => {}
        },
    }
}

fn copy(from: &Map<String, Value>, to: &mut Map<String, Value>, t: &Target) {
    copy_steps(from, to, &steps(t));
}

fn copy_steps(from: &Map<String, Value>, to: &mut Map<String, Value>, steps: &[&str]) {
    let Some((first, rest)) = steps.split_first() else {
        return;
    };
    let Some(value) = from.get(*first) else {
        return;
    };
    if rest.is_empty() {
        to.insert((*first).to_owned(), value.clone());
        return;
    }
    match value {
        Value::Object(inner) => {
            let entry = to
                .entry((*first).to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(dest) = entry {
                copy_steps(inner, dest, rest);
            }
        }
        Value::Array(items) => {
            // Several sub-attributes of one multi-valued attribute (`emails.value,
            // emails.type`) add to the same projected elements.
            let items: Vec<&Map<String, Value>> =
                items.iter().filter_map(Value::as_object).collect();
            let entry = to
                .entry((*first).to_owned())
                .or_insert_with(|| Value::Array(vec![Value::Object(Map::new()); items.len()]));
            if let Value::Array(dest) = entry {
                for (item, d) in items.iter().zip(dest.iter_mut()) {
                    if let Value::Object(d) = d {
                        copy_steps(item, d, rest);
                    }
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{self, ENTERPRISE_USER_SCHEMA as ENT};
    use serde_json::json;

    fn user() -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENT],
            "id": "1",
            "userName": "a@x.com",
            "name": {"givenName": "A", "familyName": "B"},
            "emails": [{"value": "a@x.com", "type": "work"}],
            ENT: {"department": "R", "costCenter": "C"},
            "meta": {"resourceType": "User"},
        })
    }

    fn project(attributes: Option<&str>, excluded: Option<&str>) -> Value {
        let mut u = user();
        Projection::parse(&schema::USER, attributes, excluded)
            .unwrap()
            .apply(&mut u);
        u
    }

    #[test]
    fn attributes_keep_only_what_was_asked_plus_schemas_and_id() {
        let u = project(Some("USERNAME, name.givenName,emails.value"), None);
        assert_eq!(
            u,
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENT],
                "id": "1",
                "userName": "a@x.com",
                "name": {"givenName": "A"},
                "emails": [{"value": "a@x.com"}],
            })
        );
        let u = project(Some("emails.value,emails.type"), None);
        assert_eq!(u["emails"], json!([{"value": "a@x.com", "type": "work"}]));
        let u = project(Some(&format!("{ENT}:department")), None);
        assert_eq!(u[ENT], json!({"department": "R"}));
        assert_eq!(
            project(Some(ENT), None)[ENT],
            json!({"department": "R", "costCenter": "C"})
        );
    }

    #[test]
    fn excluded_attributes_drop_what_was_named_but_never_id() {
        let u = project(None, Some(&format!("name,emails.type,id,{ENT}:costCenter")));
        assert!(u.get("name").is_none());
        assert_eq!(u["emails"], json!([{"value": "a@x.com"}]));
        assert_eq!(u["id"], "1");
        assert_eq!(u[ENT], json!({"department": "R"}));
        assert_eq!(project(None, Some("nope")), user());
    }

    #[test]
    fn both_at_once_or_a_malformed_name_is_invalid_value() {
        let parse = |a, e| Projection::parse(&schema::USER, a, e);
        assert!(parse(Some("a"), Some("b")).is_err());
        assert!(parse(Some("emails[type eq \"work\"]"), None).is_err());
        assert_eq!(parse(Some(""), Some(" ")).unwrap(), Projection::All);
    }

    #[test]
    fn says_whether_group_members_are_returned() {
        let parse = |a, e| Projection::parse(&schema::GROUP, a, e).unwrap();
        assert!(parse(None, None).returns("members"));
        assert!(!parse(None, Some("Members")).returns("members"));
        assert!(parse(None, Some("members.display")).returns("members"));
        assert!(parse(Some("members.value"), None).returns("members"));
        assert!(!parse(Some("displayName"), None).returns("members"));
        assert!(parse(Some("members"), None).requests("members", "display"));
        assert!(parse(Some("members.display"), None).requests("members", "display"));
        assert!(!parse(Some("members.value"), None).requests("members", "display"));
        assert!(!parse(None, None).requests("members", "display"));
    }

    #[test]
    fn says_which_fields_of_each_member_are_returned() {
        let parse = |a, e| Projection::parse(&schema::GROUP, a, e).unwrap();
        let all = parse(None, None);
        assert!(all.returns_sub("members", "value") && all.returns_sub("members", "$ref"));
        let values = parse(Some("members.value"), None);
        assert!(values.returns_sub("members", "value"));
        assert!(!values.returns_sub("members", "$ref"));
        assert!(parse(Some("Members"), None).returns_sub("members", "type"));
        let no_display = parse(None, Some("members.display"));
        assert!(!no_display.returns_sub("members", "display"));
        assert!(no_display.returns_sub("members", "value"));
        assert!(!parse(None, Some("members")).returns_sub("members", "value"));
    }
}
