//! The User resource: a JSON object normalized against the User schemas. Only
//! [`User::from_request`] builds one from client input, so every stored user has
//! canonical attribute names, typed values, and no read-only attributes.

use crate::error::ScimError;
use crate::limits;
use crate::resource::{Meta, Reference, parse_bool};
use crate::schema::{self, Attribute, Kind, Mutability, USER_ATTRIBUTES, USER_SCHEMA};
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::fmt;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

#[derive(Debug, Clone, PartialEq)]
pub struct User {
    attrs: Map<String, Value>,
}

impl User {
    /// Validates and normalizes a client's User representation (POST, PUT, or the result
    /// of a PATCH). Read-only attributes are ignored; unknown core attributes are
    /// dropped; attributes of unknown extension schemas are kept as sent.
    pub fn from_request(body: Value) -> Result<User, ScimError> {
        let Value::Object(obj) = body else {
            return Err(ScimError::invalid_syntax("a User must be a JSON object"));
        };
        let mut attrs = Map::new();
        for (key, value) in obj {
            if key.eq_ignore_ascii_case("schemas") {
                continue;
            }
            if key.len() > 4 && schema::is_urn(&key) {
                if schema::USER.is_core(&key) {
                    // Core attributes wrapped in their own schema URN: fold them in.
                    let Value::Object(core) = value else {
                        return Err(ScimError::invalid_value(format!(
                            "{USER_SCHEMA} must be an object"
                        )));
                    };
                    for (k, v) in core {
                        put_core(&mut attrs, &k, v)?;
                    }
                } else if let Some((urn, ext_attrs)) = schema::extension_attributes(&key) {
                    let Value::Object(ext) = value else {
                        return Err(ScimError::invalid_value(format!("{urn} must be an object")));
                    };
                    let ext = normalize_object(ext_attrs, ext, urn)?;
                    if !ext.is_empty() {
                        attrs.insert(urn.to_owned(), Value::Object(ext));
                    }
                } else if !value.is_null() {
                    attrs.insert(key, value);
                }
                continue;
            }
            put_core(&mut attrs, &key, value)?;
        }
        if let Some(Value::String(name)) = attrs.get_mut("userName") {
            *name = canonical_user_name(name);
        }
        let user = User { attrs };
        match user.attrs.get("userName").and_then(Value::as_str) {
            None => return Err(ScimError::invalid_value("userName is required")),
            Some(n) if n.trim().is_empty() => {
                return Err(ScimError::invalid_value("userName must not be empty"));
            }
            Some(_) => {}
        }
        Ok(user)
    }

    /// A user read back from storage, which only ever holds normalized users.
    pub fn from_stored(attrs: Map<String, Value>) -> User {
        User { attrs }
    }

    pub fn user_name(&self) -> &str {
        self.attrs
            .get("userName")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    pub fn external_id(&self) -> Option<&str> {
        self.attrs.get("externalId").and_then(Value::as_str)
    }

    /// A user without `active` counts as active (creates store `active: true`
    /// explicitly; a PATCH may remove it later).
    pub fn active(&self) -> bool {
        self.attrs
            .get("active")
            .and_then(Value::as_bool)
            .unwrap_or(true)
    }

    pub fn has_active(&self) -> bool {
        self.attrs.contains_key("active")
    }

    pub fn set_active(&mut self, active: bool) {
        self.attrs.insert("active".into(), Value::Bool(active));
    }

    /// The user's attributes' length as JSON once deactivated (`"active": false`, the
    /// longest state it can be put in without a client sending more): what the size
    /// limit counts, so a user that was accepted can always be deactivated.
    pub fn deactivated_len(&self) -> usize {
        let len = limits::json_len(&self.attrs);
        len + match self.attrs.get("active") {
            Some(Value::Bool(true)) => 1,
            Some(_) => 0,
            // `,"active":false`, without the comma in an empty object.
            None if self.attrs.is_empty() => 14,
            None => 15,
        }
    }

    pub fn attrs(&self) -> &Map<String, Value> {
        &self.attrs
    }

    /// The user's email addresses as sent, in order: each `emails[]` entry with a
    /// `value`, and whether it is marked primary. The one reading of `emails` that
    /// lookups, controls and member records all use.
    pub fn emails(&self) -> impl Iterator<Item = Email<'_>> {
        self.attrs
            .get("emails")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|e| {
                Some(Email {
                    value: e.get("value")?.as_str()?,
                    primary: e.get("primary") == Some(&Value::Bool(true)),
                })
            })
    }

    /// The address a person is reached at: the primary email, else the first, else
    /// the `userName` when it is an address.
    pub fn main_email(&self) -> Option<&str> {
        let mut emails = self.emails().peekable();
        let first = emails.peek().map(|e| e.value);
        emails
            .find(|e| e.primary)
            .map(|e| e.value)
            .or(first)
            .or_else(|| Some(self.user_name()).filter(|n| n.contains('@')))
    }

    /// The folded `value` of each email ([`fold_email`]), as indexed for
    /// `emails.value eq` lookups (filters fold their operand too).
    pub fn email_values(&self) -> Vec<String> {
        self.emails().map(|e| fold_email(e.value)).collect()
    }

    pub fn into_attrs(self) -> Map<String, Value> {
        self.attrs
    }

    /// Schema URNs of the representation: core, then each extension present.
    pub fn schemas(&self) -> Vec<String> {
        schema_urns(self.attrs.keys().map(String::as_str))
            .into_iter()
            .map(str::to_owned)
            .collect()
    }

    /// The SCIM representation with `schemas`, `id` and `meta`.
    /// Stored attributes never hold these three (`schemas` is not kept, `id` and `meta`
    /// are read-only), so they are added to the attributes rather than the attributes
    /// copied into a new object.
    pub fn into_resource(self, id: &str, meta: &Meta) -> Value {
        let schemas = self.schemas();
        let mut out = self.attrs;
        out.insert("schemas".into(), schemas.into());
        out.insert("id".into(), id.into());
        out.insert("meta".into(), meta.to_json("User"));
        Value::Object(out)
    }
}

/// The schema URNs of a user with these attribute names: core first, then each
/// extension's in order (attribute names of extensions are their URNs).
fn schema_urns<'a>(names: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut extensions: Vec<&str> = names.filter(|k| k.starts_with("urn:")).collect();
    extensions.sort_unstable();
    let mut urns = vec![USER_SCHEMA];
    urns.extend(extensions);
    urns
}

/// The read-only `groups` attribute: the user's groups, each with its URL under
/// `groups_url`.
pub fn groups_json(groups: &[Reference], groups_url: &str) -> Value {
    groups
        .iter()
        .map(|g| {
            serde_json::json!({
                "value": g.id.to_string(),
                "display": g.display,
                "type": "direct",
                "$ref": format!("{groups_url}/{}", g.id),
            })
        })
        .collect()
}

/// A stored user's attributes as read from the database: each top-level attribute's
/// name and JSON text, parsed no further. A read writes them out around `schemas`,
/// `id`, `groups` and `meta` ([`StoredAttrs::write_resource`]) instead of building
/// every value and serializing it again, which was a quarter of a GET's work in the
/// ingress.
pub struct StoredAttrs<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl StoredAttrs<'_> {
    /// Writes the resource that [`User::into_resource`] builds, with `groups` when the
    /// user is in any ([`groups_json`]). Stored attributes never hold `schemas`, `id`,
    /// `groups` or `meta`: those are read-only, and `schemas` is not stored.
    pub fn write_resource(
        &self,
        out: &mut Vec<u8>,
        id: &str,
        meta: &Meta,
        groups: Option<&Value>,
    ) -> serde_json::Result<()> {
        out.extend_from_slice(b"{\"schemas\":");
        let schemas = schema_urns(self.0.iter().map(|(k, _)| k.as_ref()));
        serde_json::to_writer(&mut *out, &schemas)?;
        out.extend_from_slice(b",\"id\":");
        serde_json::to_writer(&mut *out, id)?;
        for (name, value) in &self.0 {
            out.push(b',');
            serde_json::to_writer(&mut *out, name.as_ref())?;
            out.push(b':');
            out.extend_from_slice(value.get().as_bytes());
        }
        if let Some(groups) = groups {
            out.extend_from_slice(b",\"groups\":");
            serde_json::to_writer(&mut *out, groups)?;
        }
        out.extend_from_slice(b",\"meta\":");
        serde_json::to_writer(&mut *out, &meta.view("User"))?;
        out.push(b'}');
        Ok(())
    }
}

impl<'de> Deserialize<'de> for StoredAttrs<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Attrs;

        impl<'de> Visitor<'de> for Attrs {
            type Value = StoredAttrs<'de>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
                let mut attrs = Vec::with_capacity(map.size_hint().unwrap_or(16));
                while let Some((Name(name), value)) = map.next_entry()? {
                    attrs.push((name, value));
                }
                Ok(StoredAttrs(attrs))
            }
        }

        d.deserialize_map(Attrs)
    }
}

/// An attribute name, borrowed from the JSON text unless it holds escapes.
struct Name<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Name<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Str;

        impl<'de> Visitor<'de> for Str {
            type Value = Name<'de>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an attribute name")
            }

            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Name(Cow::Borrowed(v)))
            }

            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Name(Cow::Owned(v.to_owned())))
            }
        }

        d.deserialize_str(Str)
    }
}

/// A `userName` as it is stored and compared: without leading or trailing whitespace,
/// in Unicode normalization form C. Two names a person reads as the same (`é` typed as
/// one character or as `e` and a combining accent, a pasted trailing space) are one
/// name, for uniqueness and for lookups alike.
pub fn canonical_user_name(name: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    name.trim().nfc().collect()
}

/// One of a user's email addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Email<'a> {
    pub value: &'a str,
    pub primary: bool,
}

/// How email values compare: case-insensitively (RFC 7643 gives `emails.value`
/// `caseExact: false`).
pub fn fold_email(value: &str) -> String {
    value.to_lowercase()
}

fn put_core(attrs: &mut Map<String, Value>, key: &str, value: Value) -> Result<(), ScimError> {
    let Some(attr) = schema::find(USER_ATTRIBUTES, key) else {
        return Ok(());
    };
    if attr.mutability == Mutability::ReadOnly {
        return Ok(());
    }
    if let Some(v) = normalize_value(attr, value, attr.name)? {
        attrs.insert(attr.name.to_owned(), v);
    }
    Ok(())
}

/// Microsoft Entra's PATCH of app roles (its `SingleAppRoleAssignment` and
/// `AppRoleAssignmentsComplex` mappings) sends each role as `{"value": "<JSON text>"}`,
/// the text an object `{"id", "value", "displayName"}`: the role is its `value`, shown
/// as its `displayName`. A `value` that is not such text is a role value as it is.
fn unwrap_app_role(role: &mut Map<String, Value>) {
    let Some((key, Value::String(text))) = role
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("value"))
        .map(|(k, v)| (k.clone(), v.clone()))
    else {
        return;
    };
    if !text.trim_start().starts_with('{') {
        return;
    }
    let Ok(Value::Object(inner)) = serde_json::from_str::<Value>(&text) else {
        return;
    };
    let Some(value @ Value::String(_)) = inner.get("value") else {
        return;
    };
    role.insert(key, value.clone());
    if let Some(display @ Value::String(_)) = inner.get("displayName")
        && !role.keys().any(|k| k.eq_ignore_ascii_case("display"))
    {
        role.insert("display".into(), display.clone());
    }
}

/// Normalizes the attributes of a complex value or extension object against `attrs`.
pub(crate) fn normalize_object(
    attrs: &'static [Attribute],
    obj: Map<String, Value>,
    context: &str,
) -> Result<Map<String, Value>, ScimError> {
    let mut out = Map::new();
    for (key, value) in obj {
        let Some(attr) = schema::find(attrs, &key) else {
            continue;
        };
        if let Some(v) = normalize_value(attr, value, &format!("{context}.{}", attr.name))? {
            out.insert(attr.name.to_owned(), v);
        }
    }
    Ok(out)
}

/// Checks one value against its attribute definition. `None` means "no value": null,
/// `""`, an empty object or an empty list, which clear the attribute (Entra clears
/// attributes with `""`).
fn normalize_value(
    attr: &'static Attribute,
    value: Value,
    name: &str,
) -> Result<Option<Value>, ScimError> {
    if attr.multi_valued {
        let items = match value {
            Value::Null => return Ok(None),
            Value::Array(items) => items,
            // A lone object where a list belongs: accept it as a one-element list.
            single @ Value::Object(_) => vec![single],
            _ => return Err(ScimError::invalid_value(format!("{name} must be a list"))),
        };
        let mut out = Vec::with_capacity(items.len());
        let mut seen_primary = false;
        for item in items {
            let Value::Object(mut obj) = item else {
                return Err(ScimError::invalid_value(format!(
                    "{name} must hold objects"
                )));
            };
            if attr.name == "roles" {
                unwrap_app_role(&mut obj);
            }
            let mut obj = normalize_object(attr.sub_attributes, obj, name)?;
            // RFC 7643 §2.4: at most one value may be primary; the first one wins.
            if obj.get("primary") == Some(&Value::Bool(true)) {
                if seen_primary {
                    obj.insert("primary".into(), Value::Bool(false));
                }
                seen_primary = true;
            }
            // RFC 7644 §3.5.2.1: a value is not there twice (Entra's app roles come
            // again, as JSON text, with every PATCH that adds one).
            let obj = Value::Object(obj);
            if obj != Value::Object(Map::new()) && !out.contains(&obj) {
                out.push(obj);
            }
        }
        return Ok((!out.is_empty()).then_some(Value::Array(out)));
    }
    let invalid = |what: &str| ScimError::invalid_value(format!("{name} must be {what}"));
    Ok(match (attr.kind, value) {
        (_, Value::Null) => None,
        (Kind::Complex, Value::Object(mut obj)) => {
            // SCIM 1.1's enterprise extension named the manager's id `managerId`, and
            // OneLogin's Enterprise template still sends it.
            if attr.name == "manager"
                && !obj.keys().any(|k| k.eq_ignore_ascii_case("value"))
                && let Some(id) = obj.remove("managerId")
            {
                obj.insert("value".into(), id);
            }
            let obj = normalize_object(attr.sub_attributes, obj, name)?;
            (!obj.is_empty()).then_some(Value::Object(obj))
        }
        // A reference given by its value alone, as Entra sets the enterprise `manager`
        // (`"value": "<manager id>"` rather than `{"value": …}`).
        (Kind::Complex, Value::String(s))
            if schema::find(attr.sub_attributes, "value").is_some() =>
        {
            let mut obj = Map::new();
            if !s.is_empty() {
                obj.insert("value".into(), Value::String(s));
            }
            let obj = normalize_object(attr.sub_attributes, obj, name)?;
            (!obj.is_empty()).then_some(Value::Object(obj))
        }
        (Kind::Complex, _) => return Err(invalid("an object")),
        (Kind::Boolean, Value::Bool(b)) => Some(Value::Bool(b)),
        (Kind::Boolean, Value::String(s)) => Some(Value::Bool(
            parse_bool(&s).ok_or_else(|| invalid("a boolean"))?,
        )),
        (Kind::Boolean, _) => return Err(invalid("a boolean")),
        (_, Value::String(s)) if s.is_empty() => None,
        (Kind::DateTime, Value::String(s)) => {
            OffsetDateTime::parse(&s, &Rfc3339).map_err(|_| invalid("an RFC 3339 date-time"))?;
            Some(Value::String(s))
        }
        (Kind::String | Kind::Reference, Value::String(s)) => {
            if let Some(max) = attr.max_bytes {
                limits::check_length(name, &s, max)?;
            }
            Some(Value::String(s))
        }
        (Kind::String | Kind::Reference | Kind::DateTime, _) => return Err(invalid("a string")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by `scripts/fuzz.sh normalize`: a multi-byte character across the fourth
    /// byte of a key panicked the `urn:` check.
    #[test]
    fn keys_with_multibyte_characters_are_not_cut_mid_character() {
        for key in ["extחrnalId", "urnח", "uח:x", "日本語のキー"] {
            let user = User::from_request(json!({"userName": "a", key: "x"})).unwrap();
            assert_eq!(user.user_name(), "a");
        }
    }
    use crate::schema::ENTERPRISE_USER_SCHEMA;
    use serde_json::json;

    #[test]
    fn canonicalizes_names_and_types() {
        let u = User::from_request(json!({
            "schemas": [USER_SCHEMA],
            "USERNAME": "a@x.com",
            "Active": "False",
            "name": {"GivenName": "A", "familyName": ""},
            "emails": {"value": "a@x.com", "primary": "true"},
            "id": "ignored",
            "meta": {"version": "x"},
            "unknownAttr": 1,
        }))
        .unwrap();
        assert_eq!(
            Value::Object(u.attrs().clone()),
            json!({
                "userName": "a@x.com",
                "active": false,
                "name": {"givenName": "A"},
                "emails": [{"value": "a@x.com", "primary": true}],
            })
        );
    }

    #[test]
    fn entra_app_roles_as_json_text_are_their_value_and_display_once() {
        let text = |value: &str, display: &str| json!({"value": json!({"id": "06b07648-ecfe-589f-9d2f-6325724a46ee", "value": value, "displayName": display}).to_string()});
        let u = User::from_request(json!({
            "userName": "a",
            "roles": [
                {"primary": "True", "type": "WindowsAzureActiveDirectoryRole", "value": "Admin"},
                text("Admin", "Administrator"),
                text("25", "Role1234"),
                text("25", "Role1234"),
                {"value": "{not json"},
            ],
        }))
        .unwrap();
        assert_eq!(
            u.attrs()["roles"],
            json!([
                {"primary": true, "type": "WindowsAzureActiveDirectoryRole", "value": "Admin"},
                {"value": "Admin", "display": "Administrator"},
                {"value": "25", "display": "Role1234"},
                {"value": "{not json"},
            ])
        );
    }

    #[test]
    fn a_scim_1_1_manager_id_is_the_managers_value() {
        let u = User::from_request(json!({
            "userName": "a",
            "urn:scim:schemas:extension:enterprise:1.0": {"manager": {"managerId": "m1", "displayName": "Ann"}}
        }))
        .unwrap();
        let manager = &u.attrs()[ENTERPRISE_USER_SCHEMA]["manager"];
        assert_eq!(manager["value"], "m1", "{manager}");
        assert_eq!(manager["displayName"], "Ann");
    }

    #[test]
    fn keeps_enterprise_and_unknown_extensions() {
        let u = User::from_request(json!({
            "userName": "a",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user": {"Department": "R&D", "manager": {"value": "m1"}},
            "urn:example:product:2.0:User": {"group": "eng"},
        }))
        .unwrap();
        assert_eq!(u.attrs()[ENTERPRISE_USER_SCHEMA]["department"], "R&D");
        assert_eq!(u.attrs()[ENTERPRISE_USER_SCHEMA]["manager"]["value"], "m1");
        assert_eq!(u.attrs()["urn:example:product:2.0:User"]["group"], "eng");
        assert_eq!(u.schemas().len(), 3);
    }

    /// OneLogin's SCIM JSON templates write the draft URNs (`urn:scim:schemas:…`); they
    /// mean the RFC's schemas, so their attributes are validated and stored as those.
    #[test]
    fn draft_schema_urns_mean_the_rfc_schemas() {
        let u = User::from_request(json!({
            "schemas": ["urn:scim:schemas:core:2.0", "urn:scim:schemas:extension:enterprise:2.0"],
            "userName": "a@x.com",
            "urn:scim:schemas:core:2.0": {"title": "Engineer"},
            "urn:scim:schemas:extension:enterprise:2.0": {"department": "R&D", "manager": "m1"},
        }))
        .unwrap();
        assert_eq!(
            Value::Object(u.attrs().clone()),
            json!({
                "userName": "a@x.com",
                "title": "Engineer",
                ENTERPRISE_USER_SCHEMA: {"department": "R&D", "manager": {"value": "m1"}},
            })
        );
        assert_eq!(u.schemas(), [USER_SCHEMA, ENTERPRISE_USER_SCHEMA]);
        // Still validated as the RFC's: a wrong type under an alias is an error.
        let bad = User::from_request(json!({
            "userName": "a",
            "urn:scim:schemas:extension:enterprise:1.0": {"department": 5},
        }));
        assert!(bad.is_err());
    }

    /// A read writes the representation from the stored text; it must be the resource
    /// that writes build, whatever the attributes hold.
    #[test]
    fn a_stored_users_written_representation_is_its_resource() {
        let user = User::from_request(json!({
            "userName": "Jo\"e\\@x.com",
            "name": {"givenName": "Zoë", "familyName": "O'Brien"},
            "emails": [{"value": "j@x.com", "primary": true}, {"value": "k@y.org"}],
            "active": true,
            ENTERPRISE_USER_SCHEMA: {"department": "R&D", "manager": {"value": "m1"}},
            "urn:zz:2.0:User": {"gro\"up": "eng", "n": [1, null, {"a": []}]},
        }))
        .unwrap();
        let meta = Meta {
            created: OffsetDateTime::UNIX_EPOCH,
            last_modified: OffsetDateTime::UNIX_EPOCH + time::Duration::milliseconds(1500),
            location: "https://scim.example/scim/v2/d/Users/u".into(),
            version: 7,
        };
        let groups = groups_json(
            &[Reference {
                id: uuid::Uuid::nil(),
                display: "Eng \"core\"".into(),
            }],
            "https://scim.example/scim/v2/d/Groups",
        );
        let stored = jsonb_text(user.attrs());
        let attrs: StoredAttrs = serde_json::from_str(&stored).unwrap();
        for groups in [None, Some(groups)] {
            let mut written = Vec::new();
            attrs
                .write_resource(&mut written, "u", &meta, groups.as_ref())
                .unwrap();
            let mut expected = user.clone().into_resource("u", &meta);
            if let Some(groups) = &groups {
                expected["groups"] = groups.clone();
            }
            let written: Value = serde_json::from_slice(&written).unwrap();
            assert_eq!(written, expected);
            assert_eq!(written["schemas"], json!(user.schemas()));
        }
    }

    /// An object as Postgres prints a jsonb value: keys by length, then bytewise (so
    /// `urn:zz:2.0:User` before the enterprise URN), a space after `:` and `,`.
    fn jsonb_text(attrs: &Map<String, Value>) -> String {
        let mut keys: Vec<&String> = attrs.keys().collect();
        keys.sort_by_key(|k| (k.len(), k.as_str()));
        let entries: Vec<String> = keys
            .iter()
            .map(|k| format!("{}: {}", json!(k), attrs[k.as_str()]))
            .collect();
        format!("{{{}}}", entries.join(", "))
    }

    #[test]
    fn the_main_email_is_the_primary_else_the_first_else_an_address_user_name() {
        let main = |v: Value| {
            User::from_request(v)
                .unwrap()
                .main_email()
                .map(str::to_owned)
        };
        assert_eq!(
            main(
                json!({"userName": "j", "emails": [{"value": "a@x.com"}, {"value": "b@x.com", "primary": true}]})
            ),
            Some("b@x.com".into())
        );
        assert_eq!(
            main(json!({"userName": "j", "emails": [{"value": "a@x.com"}, {"type": "work"}]})),
            Some("a@x.com".into())
        );
        assert_eq!(main(json!({"userName": "j@x.com"})), Some("j@x.com".into()));
        assert_eq!(main(json!({"userName": "jdoe"})), None);
    }

    #[test]
    fn email_values_are_the_lower_cased_values_of_every_email() {
        let u = User::from_request(json!({
            "userName": "a",
            "emails": [{"value": "A@X.com", "type": "work"}, {"type": "home"}, {"value": "b@y.org"}],
        }))
        .unwrap();
        assert_eq!(u.email_values(), ["a@x.com", "b@y.org"]);
        let none = User::from_request(json!({"userName": "a"})).unwrap();
        assert!(none.email_values().is_empty());
    }

    #[test]
    fn only_one_primary_value() {
        let u = User::from_request(json!({
            "userName": "a",
            "emails": [{"value": "1", "primary": true}, {"value": "2", "primary": true}],
        }))
        .unwrap();
        assert_eq!(u.attrs()["emails"][1]["primary"], false);
    }

    #[test]
    fn user_names_are_trimmed_and_composed() {
        let decomposed = User::from_request(json!({"userName": " Rene\u{301}e@x.com\t"})).unwrap();
        assert_eq!(decomposed.user_name(), "Ren\u{e9}e@x.com");
        let composed = User::from_request(json!({"userName": "Ren\u{e9}e@x.com"})).unwrap();
        assert_eq!(decomposed, composed);
        let err = User::from_request(json!({"userName": " \u{a0} "})).unwrap_err();
        assert_eq!(err.status(), 400, "only whitespace is no name");
    }

    #[test]
    fn database_keys_are_refused_past_their_limit_naming_the_attribute() {
        let long = "x".repeat(limits::KEY_BYTES + 1);
        for (body, name) in [
            (json!({"userName": "a", "externalId": long}), "externalId"),
            (
                json!({"userName": "a", "emails": [{"value": "a@x.com"}, {"value": long}]}),
                "emails.value",
            ),
            (json!({"userName": long}), "userName"),
        ] {
            let err = User::from_request(body).unwrap_err();
            assert_eq!(err.scim_type(), Some(crate::ScimType::InvalidValue));
            assert!(
                err.to_string()
                    .starts_with(&format!("{name} is 1025 bytes")),
                "{err}"
            );
        }
        // Other attributes are bounded only by the whole resource's size.
        let u = User::from_request(json!({"userName": "a", "title": "t".repeat(10_000)}));
        assert!(u.is_ok());
        let fits = "x".repeat(limits::KEY_BYTES);
        assert!(User::from_request(json!({"userName": "a", "externalId": fits})).is_ok());
    }

    #[test]
    fn a_manager_given_by_its_id_alone_is_a_reference() {
        let ent = crate::schema::ENTERPRISE_USER_SCHEMA;
        let u = User::from_request(json!({"userName": "a", ent: {"manager": "boss-id"}})).unwrap();
        assert_eq!(u.attrs()[ent]["manager"], json!({"value": "boss-id"}));
        let none = User::from_request(json!({"userName": "a", ent: {"manager": ""}})).unwrap();
        assert!(none.attrs().get(ent).is_none());
    }

    #[test]
    fn rejects_bad_shapes_with_invalid_value() {
        for body in [
            json!({}),
            json!({"userName": ""}),
            json!({"userName": 5}),
            json!({"userName": "a", "active": "maybe"}),
            json!({"userName": "a", "name": "x"}),
            json!({"userName": "a", "emails": "x"}),
            json!({"userName": "a", "emails": [1]}),
            json!({"userName": "x".repeat(limits::USER_NAME_BYTES + 1)}),
            json!({"userName": "a", "externalId": "x".repeat(limits::KEY_BYTES + 1)}),
        ] {
            let err = User::from_request(body.clone()).unwrap_err();
            assert_eq!(err.status(), 400, "{body}");
        }
        assert_eq!(
            User::from_request(json!([])).unwrap_err().scim_type(),
            Some(crate::error::ScimType::InvalidSyntax)
        );
    }

    #[test]
    fn a_user_without_active_counts_as_active() {
        let u = User::from_request(json!({"userName": "a"})).unwrap();
        assert!(u.active());
        let meta = Meta {
            created: OffsetDateTime::UNIX_EPOCH,
            last_modified: OffsetDateTime::UNIX_EPOCH,
            location: "http://h/Users/1".into(),
            version: 3,
        };
        let r = u.into_resource("1", &meta);
        assert!(r.get("active").is_none(), "only what is stored is returned");
        assert_eq!(r["meta"]["version"], "W/\"3\"");
        assert_eq!(r["meta"]["created"], "1970-01-01T00:00:00Z");
    }

    #[test]
    fn a_users_deactivated_length_is_its_length_once_deactivated() {
        for attrs in [
            json!({}),
            json!({"userName": "a"}),
            json!({"userName": "a", "active": true}),
        ] {
            let user = User::from_stored(attrs.as_object().unwrap().clone());
            let mut off = user.clone();
            off.set_active(false);
            let written = serde_json::to_vec(off.attrs()).unwrap().len();
            assert_eq!(user.deactivated_len(), written, "{attrs}");
            assert_eq!(off.deactivated_len(), written);
        }
    }
}
