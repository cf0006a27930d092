//! Product roles: a directory's catalogue (ordered by precedence), and the one rule
//! that gives a provisioned member its role ([`resolve`]): an explicit assignment by
//! the identity provider (the user's `roles` or `entitlements`), over a role mapped to one of the
//! member's groups, over the directory's default role. Among several roles of one
//! kind, the highest in the catalogue's order wins. Pure; the worker reads what it
//! needs and writes what this decides.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// How Okta Identity Governance imports the product's roles: as roles (`/Roles`, Okta's
/// role schema) or as entitlements of type `Role` (`/Entitlements`, its entitlement
/// schema), whichever its admin maps; a user's `roles` and `entitlements` both assign
/// them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Governed {
    Role,
    Entitlement,
}

impl Governed {
    pub const ALL: [Governed; 2] = [Governed::Role, Governed::Entitlement];

    /// The resource type's id and name.
    pub fn name(self) -> &'static str {
        match self {
            Governed::Role => "Role",
            Governed::Entitlement => "Entitlement",
        }
    }

    pub fn endpoint(self) -> &'static str {
        match self {
            Governed::Role => "/Roles",
            Governed::Entitlement => "/Entitlements",
        }
    }

    pub fn schema(self) -> &'static str {
        match self {
            Governed::Role => "urn:okta:scim:schemas:core:1.0:Role",
            Governed::Entitlement => "urn:okta:scim:schemas:core:1.0:Entitlement",
        }
    }
}

/// Most roles a catalogue holds.
pub const MAX_ROLES: usize = 50;
/// Longest role id, in bytes.
pub const ROLE_ID_BYTES: usize = 64;
/// Longest display name or description, in bytes.
pub const ROLE_TEXT_BYTES: usize = 200;

/// One role of the product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Role {
    /// Stable id: what identity providers assign (Okta's role `value`, Entra's app
    /// role value) and what the product keys on.
    pub id: String,
    pub display_name: String,
    #[serde(default)]
    pub description: String,
}

impl Role {
    /// As `/Roles` or `/Entitlements` serves it, under the directory's SCIM base URL
    /// `base`.
    pub fn scim_resource(&self, base: &str, kind: Governed) -> Value {
        let mut role = json!({
            "schemas": [kind.schema()],
            "id": self.id,
            "displayName": self.display_name,
            "meta": {
                "resourceType": kind.name(),
                "location": format!("{base}{}/{}", kind.endpoint(), self.id),
            },
        });
        if kind == Governed::Entitlement {
            role["type"] = Value::String("Role".into());
        }
        if !self.description.is_empty() {
            role["description"] = Value::String(self.description.clone());
        }
        role
    }

    pub fn new(id: &str, display_name: &str, description: &str) -> Role {
        Role {
            id: id.to_owned(),
            display_name: display_name.to_owned(),
            description: description.to_owned(),
        }
    }
}

/// A directory's roles, highest first, and the role of provisioned members nothing
/// else gives one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Catalogue {
    pub roles: Vec<Role>,
    pub default: String,
}

impl Catalogue {
    /// `owner`, `admin`, `member`; `member` by default.
    pub fn builtin() -> Catalogue {
        Catalogue {
            roles: vec![
                Role::new(
                    "owner",
                    "Owner",
                    "Full control of the organization, billing included",
                ),
                Role::new("admin", "Admin", "Manages members, teams and settings"),
                Role::new("member", "Member", "Uses the product"),
            ],
            default: "member".into(),
        }
    }

    /// A deployment's catalogue as `ROLES` writes it: `id=Display name` entries,
    /// highest first, separated by commas (`owner=Owner,admin=Admin,member=Member`),
    /// with `default` its default role.
    pub fn parse(roles: &str, default: &str) -> Result<Catalogue, String> {
        let roles = roles
            .split(',')
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(|entry| {
                let (id, name) = entry.split_once('=').unwrap_or((entry, entry));
                Role::new(id.trim(), name.trim(), "")
            })
            .collect();
        let catalogue = Catalogue {
            roles,
            default: default.trim().to_owned(),
        };
        catalogue.check()?;
        Ok(catalogue)
    }

    /// Why this catalogue cannot be a directory's, if it cannot: one to [`MAX_ROLES`]
    /// roles with distinct ids of letters, digits, `_`, `-` and `.` (at most
    /// [`ROLE_ID_BYTES`]), display names of 1 to [`ROLE_TEXT_BYTES`] bytes, and a
    /// default that is one of them.
    pub fn check(&self) -> Result<(), String> {
        if self.roles.is_empty() || self.roles.len() > MAX_ROLES {
            return Err(format!(
                "a catalogue has 1 to {MAX_ROLES} roles, not {}",
                self.roles.len()
            ));
        }
        for (i, role) in self.roles.iter().enumerate() {
            check_id(&role.id)?;
            if self.roles[..i].iter().any(|r| r.id == role.id) {
                return Err(format!("role {:?} is listed twice", role.id));
            }
            if role.display_name.trim().is_empty() || role.display_name.len() > ROLE_TEXT_BYTES {
                return Err(format!(
                    "role {:?}: a display name is 1 to {ROLE_TEXT_BYTES} bytes",
                    role.id
                ));
            }
            if role.description.len() > ROLE_TEXT_BYTES {
                return Err(format!(
                    "role {:?}: a description is at most {ROLE_TEXT_BYTES} bytes",
                    role.id
                ));
            }
        }
        if !self.roles.iter().any(|r| r.id == self.default) {
            return Err(format!(
                "the default role {:?} is not one of the roles ({})",
                self.default,
                self.ids().join(", ")
            ));
        }
        Ok(())
    }

    /// The roles' ids, highest first.
    pub fn ids(&self) -> Vec<&str> {
        self.roles.iter().map(|r| r.id.as_str()).collect()
    }

    /// The role a value names: its id exactly, else its id or display name with case
    /// ignored (an Entra app role's value is typed by the customer's admin).
    pub fn find(&self, value: &str) -> Option<&Role> {
        let value = value.trim();
        self.roles.iter().find(|r| r.id == value).or_else(|| {
            self.roles.iter().find(|r| {
                r.id.eq_ignore_ascii_case(value) || r.display_name.eq_ignore_ascii_case(value)
            })
        })
    }

    /// Precedence: 0 is the highest role.
    fn rank(&self, id: &str) -> usize {
        self.roles
            .iter()
            .position(|r| r.id == id)
            .unwrap_or(usize::MAX)
    }

    /// The highest of these role ids.
    fn highest<'a>(&self, ids: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
        ids.into_iter().min_by_key(|id| self.rank(id))
    }
}

/// Whether `id` can be a role's id.
pub fn check_id(id: &str) -> Result<(), String> {
    let ok = !id.is_empty()
        && id.len() <= ROLE_ID_BYTES
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{id:?} is not a role id: 1 to {ROLE_ID_BYTES} letters, digits, '_', '-' or '.'"
        ))
    }
}

/// Where a member's role came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The user's `roles`, as the identity provider assigned them.
    IdentityProvider,
    /// A role mapped to one of the user's groups.
    Group,
    /// The directory's default role.
    Default,
    /// Set by hand (members the identity provider does not manage).
    Admin,
}

impl Source {
    pub const ALL: [Source; 4] = [
        Source::IdentityProvider,
        Source::Group,
        Source::Default,
        Source::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Source::IdentityProvider => "identity_provider",
            Source::Group => "group",
            Source::Default => "default",
            Source::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Source> {
        Source::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// A member's role, and why it has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignment {
    pub role: String,
    pub source: Source,
    /// Source `group`: the member's groups mapped to this role.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// Source `identity_provider`: the values of `roles` that name it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
}

/// What one member has to decide its role from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inputs<'a> {
    /// The values of the user's `roles` and `entitlements` ([`assigned_values`]).
    pub assigned: &'a [String],
    /// The member's groups mapped to a role: (group name, role id).
    pub groups: &'a [(String, String)],
}

/// The role a provisioned member has: the highest role the identity provider assigns
/// in `roles` or `entitlements` (values that name no role of the catalogue are
/// ignored), else the
/// highest role mapped to one of its groups, else the directory's default.
pub fn resolve(catalogue: &Catalogue, inputs: &Inputs<'_>) -> Assignment {
    let assigned: Vec<(&str, &str)> = inputs
        .assigned
        .iter()
        .filter_map(|v| Some((catalogue.find(v)?.id.as_str(), v.as_str())))
        .collect();
    if let Some(role) = catalogue.highest(assigned.iter().map(|(id, _)| *id)) {
        return Assignment {
            role: role.to_owned(),
            source: Source::IdentityProvider,
            groups: Vec::new(),
            values: sorted(assigned.iter().filter(|(id, _)| *id == role).map(|a| a.1)),
        };
    }
    let mapped = inputs
        .groups
        .iter()
        .filter(|(_, role)| catalogue.find(role).is_some());
    if let Some(role) = catalogue.highest(mapped.clone().map(|(_, role)| role.as_str())) {
        return Assignment {
            role: role.to_owned(),
            source: Source::Group,
            groups: sorted(mapped.filter(|(_, r)| r == role).map(|(g, _)| g.as_str())),
            values: Vec::new(),
        };
    }
    Assignment {
        role: catalogue.default.clone(),
        source: Source::Default,
        groups: Vec::new(),
        values: Vec::new(),
    }
}

fn sorted<'a>(items: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = items.map(str::to_owned).collect();
    out.sort();
    out.dedup();
    out
}

/// The values a user's stored `roles` and `entitlements` attributes hold: each
/// element's `value` (Entra's app roles and Okta's role assignments come in `roles`;
/// Okta's entitlement assignments in `entitlements`).
pub fn assigned_values(roles: Option<&Value>, entitlements: Option<&Value>) -> Vec<String> {
    [roles, entitlements]
        .into_iter()
        .flatten()
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(|r| r.get("value")?.as_str())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    fn groups(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(g, r)| ((*g).to_owned(), (*r).to_owned()))
            .collect()
    }

    #[test]
    fn the_identity_providers_assignment_beats_groups_which_beat_the_default() {
        let c = Catalogue::builtin();
        let g = groups(&[("Engineering", "admin"), ("Everyone", "member")]);
        let a = strings(&["Member"]);
        let both = resolve(
            &c,
            &Inputs {
                assigned: &a,
                groups: &g,
            },
        );
        assert_eq!(
            (both.role.as_str(), both.source, both.values),
            ("member", Source::IdentityProvider, strings(&["Member"])),
            "an explicit assignment wins even over a higher role from a group"
        );
        let by_group = resolve(
            &c,
            &Inputs {
                assigned: &[],
                groups: &g,
            },
        );
        assert_eq!(
            (by_group.role.as_str(), by_group.source, by_group.groups),
            ("admin", Source::Group, strings(&["Engineering"]))
        );
        let none = resolve(&c, &Inputs::default());
        assert_eq!(
            (none.role.as_str(), none.source),
            ("member", Source::Default)
        );
    }

    #[test]
    fn among_several_the_catalogues_order_decides() {
        let mut c = Catalogue::builtin();
        let g = groups(&[("Admins", "admin"), ("Owners", "owner"), ("Leads", "owner")]);
        let got = resolve(
            &c,
            &Inputs {
                assigned: &[],
                groups: &g,
            },
        );
        assert_eq!(got.role, "owner");
        assert_eq!(got.groups, strings(&["Leads", "Owners"]));
        // The admin puts admin above owner: the order is the precedence.
        c.roles.swap(0, 1);
        let got = resolve(
            &c,
            &Inputs {
                assigned: &strings(&["owner", "admin"]),
                groups: &[],
            },
        );
        assert_eq!(
            (got.role.as_str(), got.values),
            ("admin", strings(&["admin"]))
        );
    }

    #[test]
    fn values_naming_no_role_are_ignored_and_names_match_loosely() {
        let c = Catalogue::builtin();
        let got = resolve(
            &c,
            &Inputs {
                assigned: &strings(&["25", "Role1234"]),
                groups: &groups(&[("Gone", "deleted-role")]),
            },
        );
        assert_eq!((got.role.as_str(), got.source), ("member", Source::Default));
        let got = resolve(
            &c,
            &Inputs {
                assigned: &strings(&["ADMIN"]),
                groups: &[],
            },
        );
        assert_eq!(got.role, "admin", "an id matches with case ignored");
        let got = resolve(
            &c,
            &Inputs {
                assigned: &strings(&["Owner"]),
                groups: &[],
            },
        );
        assert_eq!(got.role, "owner", "and so does a display name");
    }

    #[test]
    fn catalogues_are_checked() {
        assert!(Catalogue::builtin().check().is_ok());
        let parsed =
            Catalogue::parse("owner=Owner, billing = Billing admin ,member", "member").unwrap();
        assert_eq!(parsed.ids(), ["owner", "billing", "member"]);
        assert_eq!(parsed.roles[1].display_name, "Billing admin");
        assert_eq!(parsed.roles[2].display_name, "member");
        for (roles, default) in [
            ("", "member"),
            ("owner,owner", "owner"),
            ("owner", "member"),
            ("a b=Spaced", "a b"),
            ("x=", "x"),
        ] {
            assert!(
                Catalogue::parse(roles, default).is_err(),
                "{roles:?} / {default:?}"
            );
        }
        let long = "r".repeat(ROLE_ID_BYTES + 1);
        assert!(check_id(&long).is_err());
    }

    #[test]
    fn assigned_values_are_each_roles_value() {
        let roles =
            json!([{"value": "admin", "primary": true}, {"display": "no value"}, {"value": "25"}]);
        let entitlements = json!([{"value": "owner", "display": "Owner", "type": "Role"}]);
        assert_eq!(
            assigned_values(Some(&roles), Some(&entitlements)),
            strings(&["admin", "25", "owner"])
        );
        assert!(assigned_values(None, None).is_empty());
    }
}
