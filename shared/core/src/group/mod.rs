//! The Group resource (RFC 7643 §4.2). A group's own attributes (displayName,
//! externalId, extension objects) are a normalized JSON object; its members are user
//! ids kept apart, because a group can have 100,000 of them.

pub mod patch;

use crate::error::ScimError;
use crate::limits::{self, KEY_BYTES};
use crate::resource::{Meta, Reference};
use crate::schema::{self, GROUP_SCHEMA};
use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    attrs: Map<String, Value>,
}

/// Which fields a response shows of each of a group's members, and where their `$ref`s
/// point. Members are written one by one ([`MemberShape::write`]), never built as one
/// JSON value: a group can have 100,000.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberShape {
    /// The directory's `/Users` URL.
    pub users_url: String,
    pub value: bool,
    pub kind: bool,
    pub reference: bool,
    pub display: bool,
}

/// One member as JSON, the fields the shape shows.
#[derive(serde::Serialize)]
struct Shown<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<uuid::Uuid>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    #[serde(rename = "$ref", skip_serializing_if = "Option::is_none")]
    reference: Option<UserUrl<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    display: Option<&'a str>,
}

/// A member's `$ref`, written without building the string.
struct UserUrl<'a>(&'a str, uuid::Uuid);

impl serde::Serialize for UserUrl<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("{}/{}", self.0, self.1))
    }
}

impl MemberShape {
    /// Appends `member` as a JSON object.
    pub fn write(&self, member: &Reference, out: &mut Vec<u8>) -> serde_json::Result<()> {
        let shown = Shown {
            value: self.value.then_some(member.id),
            kind: self.kind.then_some("User"),
            reference: self
                .reference
                .then_some(UserUrl(&self.users_url, member.id)),
            display: self.display.then_some(member.display.as_str()),
        };
        serde_json::to_writer(out, &shown)
    }

    /// About how many bytes `members` members whose display names add up to
    /// `display_bytes` take once written (escaping can add to a display name): what a
    /// page of groups weighs before it is written.
    pub fn weight(&self, members: u64, display_bytes: u64) -> u64 {
        // `"value":"<uuid>"`, `"type":"User"`, `"$ref":"<url>/<uuid>"`, `"display":""`.
        let fields = [
            (self.value, 46),
            (self.kind, 13),
            (self.reference, 46 + self.users_url.len() as u64),
            (self.display, 12),
        ];
        let shown = fields.iter().filter(|(on, _)| *on);
        let (n, bytes) = shown.fold((0, 0), |(n, b), (_, len)| (n + 1, b + len));
        // `{}`, the n - 1 commas between the fields, and the one after the member.
        let each = 2 + bytes + n.max(1);
        members * each + if self.display { display_bytes } else { 0 }
    }
}

/// The body's entries, with core attributes wrapped in the core schema's URN (or an
/// alias of it) unwrapped in place.
fn flatten_core(obj: Map<String, Value>) -> Result<Vec<(String, Value)>, ScimError> {
    let mut entries = Vec::with_capacity(obj.len());
    for (key, value) in obj {
        if !(key.len() > 4 && schema::is_urn(&key) && schema::GROUP.is_core(&key)) {
            entries.push((key, value));
            continue;
        }
        let Value::Object(core) = value else {
            return Err(ScimError::invalid_value(format!(
                "{GROUP_SCHEMA} must be an object"
            )));
        };
        entries.extend(core);
    }
    Ok(entries)
}

impl Group {
    /// Validates and normalizes a client's Group representation (POST, PUT, or the
    /// result of a PATCH), returning it with the member ids it lists, if it has a
    /// `members` attribute. Read-only and unknown core attributes are ignored;
    /// attributes of extension schemas are kept as sent.
    pub fn from_request(body: Value) -> Result<(Group, Option<Vec<String>>), ScimError> {
        let Value::Object(obj) = body else {
            return Err(ScimError::invalid_syntax("a Group must be a JSON object"));
        };
        let mut attrs = Map::new();
        let mut members = None;
        for (key, value) in flatten_core(obj)? {
            match key.to_ascii_lowercase().as_str() {
                "displayname" => match value {
                    Value::String(s) => {
                        limits::check_length("displayName", &s, KEY_BYTES)?;
                        attrs.insert("displayName".into(), Value::String(s));
                    }
                    Value::Null => {}
                    _ => return Err(ScimError::invalid_value("displayName must be a string")),
                },
                "externalid" => match value {
                    Value::String(s) if !s.is_empty() => {
                        limits::check_length("externalId", &s, KEY_BYTES)?;
                        attrs.insert("externalId".into(), Value::String(s));
                    }
                    Value::String(_) | Value::Null => {}
                    _ => return Err(ScimError::invalid_value("externalId must be a string")),
                },
                "members" => members = Some(member_values(value)?),
                k if k.starts_with("urn:") && !value.is_null() => {
                    attrs.insert(key, value);
                }
                _ => {}
            }
        }
        let group = Group { attrs };
        match group.attrs.get("displayName").and_then(Value::as_str) {
            None => return Err(ScimError::invalid_value("displayName is required")),
            Some(n) if n.trim().is_empty() => {
                return Err(ScimError::invalid_value("displayName must not be empty"));
            }
            Some(_) => {}
        }
        Ok((group, members))
    }

    /// A group read back from storage, which only ever holds normalized groups.
    pub fn from_stored(attrs: Map<String, Value>) -> Group {
        Group { attrs }
    }

    pub fn display_name(&self) -> &str {
        self.attrs
            .get("displayName")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    pub fn external_id(&self) -> Option<&str> {
        self.attrs.get("externalId").and_then(Value::as_str)
    }

    pub fn attrs(&self) -> &Map<String, Value> {
        &self.attrs
    }

    /// Schema URNs of the representation: core, then each extension present.
    pub fn schemas(&self) -> Vec<String> {
        let mut schemas = vec![GROUP_SCHEMA.to_owned()];
        schemas.extend(self.attrs.keys().filter(|k| k.starts_with("urn:")).cloned());
        schemas
    }

    /// The SCIM representation with `schemas`, `id`, `meta` and, when given, `members`.
    /// The group's resource, without members: a response that shows them writes them
    /// in with a [`MemberShape`].
    pub fn to_resource(&self, id: &str, meta: &Meta) -> Value {
        let mut out = Map::new();
        out.insert("schemas".into(), self.schemas().into());
        out.insert("id".into(), id.into());
        out.extend(self.attrs.clone());
        out.insert("meta".into(), meta.to_json("Group"));
        Value::Object(out)
    }
}

/// The `value` of each member object: `[{"value": "id", "display": …, "type": …,
/// "$ref": …}]`, a lone object, or `null` for none. Only users can be members.
pub fn member_values(value: Value) -> Result<Vec<String>, ScimError> {
    let items = match value {
        Value::Null => return Ok(Vec::new()),
        Value::Array(items) => items,
        single @ Value::Object(_) => vec![single],
        _ => return Err(ScimError::invalid_value("members must be a list")),
    };
    items
        .into_iter()
        .map(|item| {
            let Value::Object(obj) = item else {
                return Err(ScimError::invalid_value("members must hold objects"));
            };
            let field = |name: &str| {
                obj.iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v)
            };
            if let Some(Value::String(t)) = field("type")
                && t.eq_ignore_ascii_case("Group")
            {
                return Err(ScimError::invalid_value(
                    "nested groups are not supported: members must be users",
                ));
            }
            match field("value") {
                Some(Value::String(v)) if !v.trim().is_empty() => Ok(v.trim().to_owned()),
                _ => Err(ScimError::invalid_value(
                    "each member needs a value: the user's id",
                )),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::OffsetDateTime;

    #[test]
    fn normalizes_names_and_keeps_extensions_and_members() {
        let (g, members) = Group::from_request(json!({
            "schemas": [GROUP_SCHEMA, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
            "DisplayName": "Eng",
            "externalId": "",
            "id": "ignored",
            "members": [{"value": "u1", "display": "A"}, {"Value": "u2", "type": "User", "$ref": null}],
            "urn:example:2.0:Group": {"cost": "1"},
        }))
        .unwrap();
        assert_eq!(
            Value::Object(g.attrs().clone()),
            json!({"displayName": "Eng", "urn:example:2.0:Group": {"cost": "1"}})
        );
        assert_eq!(members, Some(vec!["u1".to_owned(), "u2".to_owned()]));
        let (_, none) = Group::from_request(json!({"displayName": "x"})).unwrap();
        assert_eq!(none, None);
    }

    #[test]
    fn core_attributes_under_the_core_urn_or_an_alias_are_unwrapped() {
        for urn in [GROUP_SCHEMA, "urn:scim:schemas:core:2.0"] {
            let (g, members) = Group::from_request(json!({
                urn: {"displayName": "Eng", "members": [{"value": "u1"}]},
            }))
            .unwrap();
            assert_eq!(g.display_name(), "Eng", "{urn}");
            assert_eq!(g.attrs().len(), 1, "{urn}: nothing else is kept");
            assert_eq!(members, Some(vec!["u1".to_owned()]));
        }
        assert!(Group::from_request(json!({GROUP_SCHEMA: "Eng"})).is_err());
    }

    #[test]
    fn rejects_bad_groups() {
        for body in [
            json!({}),
            json!({"displayName": " "}),
            json!({"displayName": 3}),
            json!({"displayName": "x", "members": "u1"}),
            json!({"displayName": "x", "members": [{"display": "no value"}]}),
            json!({"displayName": "x", "members": [{"value": "g", "type": "Group"}]}),
            json!({"displayName": "x".repeat(KEY_BYTES + 1)}),
            json!({"displayName": "x", "externalId": "e".repeat(KEY_BYTES + 1)}),
        ] {
            assert_eq!(
                Group::from_request(body.clone()).unwrap_err().status(),
                400,
                "{body}"
            );
        }
    }

    #[test]
    fn renders_no_members_and_writes_each_in_its_shape() {
        let (g, _) = Group::from_request(json!({"displayName": "Eng"})).unwrap();
        let meta = Meta {
            created: OffsetDateTime::UNIX_EPOCH,
            last_modified: OffsetDateTime::UNIX_EPOCH,
            location: "http://h/Groups/1".into(),
            version: 1,
        };
        let r = g.to_resource("1", &meta);
        assert!(r.get("members").is_none());
        assert_eq!(r["meta"]["resourceType"], "Group");
        let ann = Reference {
            id: uuid::Uuid::nil(),
            display: "Ann \"A\"".into(),
        };
        let mut shape = MemberShape {
            users_url: "http://h/Users".into(),
            value: true,
            kind: true,
            reference: true,
            display: false,
        };
        let written = |shape: &MemberShape| {
            let mut out = Vec::new();
            shape.write(&ann, &mut out).unwrap();
            serde_json::from_slice::<Value>(&out).unwrap()
        };
        assert_eq!(
            written(&shape),
            json!({"value": uuid::Uuid::nil(), "type": "User",
                   "$ref": format!("http://h/Users/{}", uuid::Uuid::nil())})
        );
        shape.display = true;
        assert_eq!(written(&shape)["display"], "Ann \"A\"");
        (shape.kind, shape.reference, shape.display) = (false, false, false);
        assert_eq!(written(&shape), json!({"value": uuid::Uuid::nil()}));
    }

    #[test]
    fn a_members_weight_is_what_writing_it_takes() {
        let ann = Reference {
            id: uuid::Uuid::now_v7(),
            display: "Ann Example".into(),
        };
        let mut shape = MemberShape {
            users_url:
                "https://scim.example.com/scim/v2/0195f0c0-0000-7000-8000-000000000000/Users".into(),
            value: true,
            kind: true,
            reference: true,
            display: true,
        };
        for _ in 0..2 {
            let mut out = Vec::new();
            shape.write(&ann, &mut out).unwrap();
            // Written, and the comma between two members.
            let written = out.len() as u64 + 1;
            assert_eq!(
                shape.weight(1, ann.display.len() as u64),
                written,
                "{shape:?}"
            );
            assert_eq!(shape.weight(3, 3 * ann.display.len() as u64), 3 * written);
            (shape.kind, shape.reference) = (false, false);
        }
    }
}
