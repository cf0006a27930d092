//! In-memory evaluation of a filter against one JSON object, with the same semantics as
//! the SQL compiler: a missing attribute matches nothing but `ne`; a multi-valued
//! attribute matches when any of its values does; case rules follow `caseExact`.

use super::{AttrPath, CompareOp, Filter, Value};
use crate::error::ScimError;
use crate::resource::parse_bool;
use crate::schema::{self, Attribute, Kind};
use crate::user::canonical_user_name;
use serde_json::{Map, Value as Json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Evaluates `filter` against an element of a multi-valued attribute whose
/// sub-attributes are `attrs` (PATCH value paths such as `emails[type eq "work"]`).
pub fn matches_element(
    filter: &Filter,
    attrs: &'static [Attribute],
    element: &Map<String, Json>,
) -> Result<bool, ScimError> {
    eval(filter, &Element { attrs, element })
}

/// Evaluates `filter` against a rendered User resource, as the SQL compiler's query
/// would: this is the reference the compiler is tested against.
pub fn matches_user(filter: &Filter, resource: &Map<String, Json>) -> Result<bool, ScimError> {
    eval(filter, &Resource { resource })
}

fn unknown(path: &AttrPath) -> ScimError {
    ScimError::invalid_filter(format!("unknown attribute {:?}", path.attr))
}

/// Where attribute paths are looked up.
trait Scope<'j> {
    /// The attribute a path names and its values (several for multi-valued ones).
    fn values(&self, path: &AttrPath) -> Result<(&'static Attribute, Vec<&'j Json>), ScimError>;
    /// `attr[filter]`: whether some value of the multi-valued attribute matches.
    fn value_path(&self, path: &AttrPath, filter: &Filter) -> Result<bool, ScimError>;
}

struct Element<'j> {
    attrs: &'static [Attribute],
    element: &'j Map<String, Json>,
}

impl<'j> Scope<'j> for Element<'j> {
    fn values(&self, path: &AttrPath) -> Result<(&'static Attribute, Vec<&'j Json>), ScimError> {
        if path.urn.is_some() || path.sub.is_some() {
            return Err(unknown(path));
        }
        let attr = schema::find(self.attrs, &path.attr).ok_or_else(|| unknown(path))?;
        Ok((attr, self.element.get(attr.name).into_iter().collect()))
    }

    fn value_path(&self, _: &AttrPath, _: &Filter) -> Result<bool, ScimError> {
        Err(ScimError::invalid_filter("value filters cannot be nested"))
    }
}

struct Resource<'j> {
    resource: &'j Map<String, Json>,
}

/// A user without `active` counts as active, as its `active` column says.
static ACTIVE_BY_DEFAULT: Json = Json::Bool(true);

impl<'j> Resource<'j> {
    fn resolve(path: &AttrPath) -> Result<schema::Resolved, ScimError> {
        schema::resolve_user_path(path.urn.as_deref(), &path.attr, path.sub.as_deref())
            .ok_or_else(|| unknown(path))
    }

    fn container(&self, r: &schema::Resolved) -> Option<&'j Map<String, Json>> {
        match r.extension {
            Some(urn) => self.resource.get(urn).and_then(Json::as_object),
            None => Some(self.resource),
        }
    }
}

impl<'j> Scope<'j> for Resource<'j> {
    fn values(&self, path: &AttrPath) -> Result<(&'static Attribute, Vec<&'j Json>), ScimError> {
        let r = Self::resolve(path)?;
        let container = self.container(&r);
        let field = container.and_then(|c| c.get(r.attr.name));
        if r.attr.multi_valued {
            let sub = match r.sub {
                Some(s) => s,
                None => {
                    schema::find(r.attr.sub_attributes, "value").ok_or_else(|| unknown(path))?
                }
            };
            let items = field
                .and_then(Json::as_array)
                .map(Vec::as_slice)
                .unwrap_or_default();
            return Ok((sub, items.iter().filter_map(|e| e.get(sub.name)).collect()));
        }
        match r.sub {
            None if r.attr.kind == Kind::Complex => Err(ScimError::invalid_filter(format!(
                "{:?} is complex: name one of its sub-attributes",
                r.attr.name
            ))),
            None if r.extension.is_none() && r.attr.name == "active" => {
                Ok((r.attr, vec![field.unwrap_or(&ACTIVE_BY_DEFAULT)]))
            }
            None => Ok((r.attr, field.into_iter().collect())),
            Some(sub)
                if r.extension.is_none()
                    && r.attr.name == "meta"
                    && !["created", "lastModified"].contains(&sub.name) =>
            {
                Err(ScimError::invalid_filter(format!(
                    "filtering on {path} is not supported"
                )))
            }
            Some(sub) => Ok((
                sub,
                field.and_then(|f| f.get(sub.name)).into_iter().collect(),
            )),
        }
    }

    fn value_path(&self, path: &AttrPath, filter: &Filter) -> Result<bool, ScimError> {
        let r = Self::resolve(path)?;
        if !r.attr.multi_valued || r.sub.is_some() {
            return Err(ScimError::invalid_filter(format!(
                "{:?} is not multi-valued",
                r.attr.name
            )));
        }
        let items = self
            .container(&r)
            .and_then(|c| c.get(r.attr.name))
            .and_then(Json::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        for item in items.iter().filter_map(Json::as_object) {
            if matches_element(filter, r.attr.sub_attributes, item)? {
                return Ok(true);
            }
        }
        // An empty list still checks the inner filter for errors, as SQL compiles it.
        if items.is_empty() {
            matches_element(filter, r.attr.sub_attributes, &Map::new())?;
        }
        Ok(false)
    }
}

fn eval<'j>(filter: &Filter, scope: &dyn Scope<'j>) -> Result<bool, ScimError> {
    Ok(match filter {
        Filter::And(a, b) => eval(a, scope)? & eval(b, scope)?,
        Filter::Or(a, b) => eval(a, scope)? | eval(b, scope)?,
        Filter::Not(f) => !eval(f, scope)?,
        Filter::Present(path) => {
            let (_, values) = scope.values(path)?;
            values.iter().any(|v| !is_empty(v))
        }
        Filter::Compare { path, op, value } => {
            let (attr, values) = scope.values(path)?;
            let value = typed(attr, value)?;
            check_operator(attr, *op)?;
            let any_eq = |op| values.iter().any(|v| compare(attr, v, op, &value));
            match op {
                CompareOp::Ne => !any_eq(CompareOp::Eq),
                op => any_eq(*op),
            }
        }
        Filter::ValuePath { path, filter } => scope.value_path(path, filter)?,
    })
}

fn is_empty(v: &Json) -> bool {
    match v {
        Json::Null => true,
        Json::String(s) => s.is_empty(),
        Json::Array(a) => a.is_empty(),
        Json::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// A comparison value checked against the attribute's type.
#[derive(Debug, Clone, PartialEq)]
pub enum Typed {
    Str(String),
    Bool(bool),
    Time(OffsetDateTime),
}

/// Checks a filter value against the attribute type: booleans accept `true`/`false`
/// (and Entra's `"True"`), dates must be RFC 3339.
pub fn typed(attr: &Attribute, value: &Value) -> Result<Typed, ScimError> {
    let mismatch = || {
        ScimError::invalid_filter(format!(
            "value {value:?} does not fit attribute {:?}",
            attr.name
        ))
    };
    Ok(match (attr.kind, value) {
        (_, Value::Null) => {
            return Err(ScimError::invalid_filter(
                "comparing with null is not supported: use 'pr'",
            ));
        }
        (Kind::Boolean, Value::Bool(b)) => Typed::Bool(*b),
        (Kind::Boolean, Value::Str(s)) => Typed::Bool(parse_bool(s).ok_or_else(mismatch)?),
        (Kind::DateTime, Value::Str(s)) => {
            Typed::Time(OffsetDateTime::parse(s, &Rfc3339).map_err(|_| mismatch())?)
        }
        // The unique attribute (userName) is stored in its canonical form: compare that.
        (Kind::String, Value::Str(s)) if attr.unique => Typed::Str(canonical_user_name(s)),
        (Kind::String | Kind::Reference, Value::Str(s)) => Typed::Str(s.clone()),
        _ => return Err(mismatch()),
    })
}

/// Operators by type: booleans take `eq` and `ne`; dates every operator but the
/// substring ones; strings all of them.
pub fn check_operator(attr: &Attribute, op: CompareOp) -> Result<(), ScimError> {
    let allowed = match attr.kind {
        Kind::Boolean => matches!(op, CompareOp::Eq | CompareOp::Ne),
        Kind::DateTime => !matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew),
        _ => true,
    };
    if allowed {
        Ok(())
    } else {
        Err(ScimError::invalid_filter(format!(
            "operator {op:?} does not apply to {:?}",
            attr.name
        )))
    }
}

fn compare(attr: &Attribute, actual: &Json, op: CompareOp, expected: &Typed) -> bool {
    match (actual, expected) {
        (Json::Bool(a), Typed::Bool(b)) => matches!(op, CompareOp::Eq) && a == b,
        (Json::String(a), Typed::Time(b)) => OffsetDateTime::parse(a, &Rfc3339)
            .map(|a| ordering_holds(op, a.cmp(b)))
            .unwrap_or(false),
        (Json::String(a), Typed::Str(b)) => {
            let (a, b) = if attr.case_exact {
                (a.clone(), b.clone())
            } else {
                (a.to_lowercase(), b.to_lowercase())
            };
            match op {
                CompareOp::Co => a.contains(&b),
                CompareOp::Sw => a.starts_with(&b),
                CompareOp::Ew => a.ends_with(&b),
                op => ordering_holds(op, a.cmp(&b)),
            }
        }
        _ => false,
    }
}

fn ordering_holds(op: CompareOp, ord: std::cmp::Ordering) -> bool {
    use std::cmp::Ordering::*;
    match op {
        CompareOp::Eq => ord == Equal,
        CompareOp::Gt => ord == Greater,
        CompareOp::Ge => ord != Less,
        CompareOp::Lt => ord == Less,
        CompareOp::Le => ord != Greater,
        CompareOp::Ne | CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::parse;
    use crate::schema::{USER_ATTRIBUTES, find};
    use serde_json::json;

    fn email_attrs() -> &'static [Attribute] {
        find(USER_ATTRIBUTES, "emails").unwrap().sub_attributes
    }

    fn check(filter: &str, element: Json) -> bool {
        let Json::Object(o) = element else { panic!() };
        matches_element(&parse(filter).unwrap(), email_attrs(), &o).unwrap()
    }

    #[test]
    fn matches_elements_case_insensitively_by_schema() {
        let e = json!({"value": "A@X.com", "type": "work", "primary": true});
        assert!(check(r#"type eq "WORK""#, e.clone()));
        assert!(check(r#"value co "@x.""#, e.clone()));
        assert!(check(r#"value sw "a@" and primary eq true"#, e.clone()));
        assert!(check(r#"value ew ".COM""#, e.clone()));
        assert!(!check(r#"type eq "home""#, e.clone()));
        assert!(check(r#"type ne "home""#, e.clone()));
        assert!(
            check(r#"display ne "x""#, e.clone()),
            "ne matches a missing attribute"
        );
        assert!(!check(r#"display eq "x""#, e.clone()));
        assert!(!check("display pr", e.clone()));
        assert!(check(r#"not (type eq "home")"#, e.clone()));
        assert!(check(r#"primary eq "True""#, e), "Entra's string booleans");
    }

    #[test]
    fn rejects_unknown_attributes_and_mistyped_values() {
        let Json::Object(o) = json!({"value": "a"}) else {
            panic!()
        };
        assert!(matches_element(&parse(r#"nope eq "x""#).unwrap(), email_attrs(), &o).is_err());
        assert!(matches_element(&parse("primary eq 5").unwrap(), email_attrs(), &o).is_err());
    }
}
