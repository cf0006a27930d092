//! Attribute definitions of the User schema and the enterprise extension (RFC 7643 §4).
//! One table drives normalization, filtering and PATCH, so they agree on names, types
//! and case rules.

use crate::limits::{KEY_BYTES, USER_NAME_BYTES};

/// The media type of SCIM messages (RFC 7644 §8.1).
pub const SCIM_CONTENT_TYPE: &str = "application/scim+json";

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const ENTERPRISE_USER_SCHEMA: &str =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const LIST_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    String,
    Boolean,
    DateTime,
    Reference,
    Complex,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutability {
    ReadOnly,
    ReadWrite,
}

/// When an attribute is returned (RFC 7643 §7 `returned`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returned {
    Default,
    /// Only when the client asks for it with `attributes`.
    Request,
}

#[derive(Debug)]
pub struct Attribute {
    pub name: &'static str,
    pub kind: Kind,
    pub multi_valued: bool,
    pub case_exact: bool,
    pub mutability: Mutability,
    pub required: bool,
    /// Unique within a directory (RFC 7643 `uniqueness: server`).
    pub unique: bool,
    /// For references: what they may point to (`external`, `User`, `Group`).
    pub reference_types: &'static [&'static str],
    pub canonical_values: &'static [&'static str],
    pub returned: Returned,
    pub sub_attributes: &'static [Attribute],
    /// Longest string value accepted, in bytes (see [`crate::limits`]).
    pub max_bytes: Option<usize>,
}

const fn attr(name: &'static str, kind: Kind) -> Attribute {
    Attribute {
        name,
        kind,
        multi_valued: false,
        case_exact: false,
        mutability: Mutability::ReadWrite,
        required: false,
        unique: false,
        reference_types: &[],
        canonical_values: &[],
        returned: Returned::Default,
        sub_attributes: &[],
        max_bytes: None,
    }
}

const fn reference(name: &'static str, types: &'static [&'static str]) -> Attribute {
    Attribute {
        reference_types: types,
        ..attr(name, Kind::Reference)
    }
}

const fn complex(name: &'static str, subs: &'static [Attribute]) -> Attribute {
    Attribute {
        sub_attributes: subs,
        ..attr(name, Kind::Complex)
    }
}

const fn multi(name: &'static str, subs: &'static [Attribute]) -> Attribute {
    Attribute {
        multi_valued: true,
        ..complex(name, subs)
    }
}

const fn exact(a: Attribute) -> Attribute {
    Attribute {
        case_exact: true,
        ..a
    }
}

/// A key in the database (see [`KEY_BYTES`]).
const fn key(a: Attribute) -> Attribute {
    Attribute {
        max_bytes: Some(KEY_BYTES),
        ..a
    }
}

const fn read_only(a: Attribute) -> Attribute {
    Attribute {
        mutability: Mutability::ReadOnly,
        ..a
    }
}

/// Sub-attributes shared by emails, phoneNumbers, ims, photos, entitlements, roles and
/// x509Certificates (RFC 7643 §2.4).
const MULTI_VALUE_SUBS: &[Attribute] = &[
    attr("value", Kind::String),
    attr("display", Kind::String),
    attr("type", Kind::String),
    attr("primary", Kind::Boolean),
];

/// The sub-attributes of `emails`: [`MULTI_VALUE_SUBS`] with the value indexed.
const EMAIL_SUBS: &[Attribute] = &[
    key(attr("value", Kind::String)),
    attr("display", Kind::String),
    attr("type", Kind::String),
    attr("primary", Kind::Boolean),
];

const GROUP_REF_SUBS: &[Attribute] = &[
    read_only(exact(attr("value", Kind::String))),
    read_only(reference("$ref", &["User", "Group"])),
    read_only(attr("display", Kind::String)),
    read_only(attr("type", Kind::String)),
];

const NAME_SUBS: &[Attribute] = &[
    attr("formatted", Kind::String),
    attr("familyName", Kind::String),
    attr("givenName", Kind::String),
    attr("middleName", Kind::String),
    attr("honorificPrefix", Kind::String),
    attr("honorificSuffix", Kind::String),
];

const ADDRESS_SUBS: &[Attribute] = &[
    attr("formatted", Kind::String),
    attr("streetAddress", Kind::String),
    attr("locality", Kind::String),
    attr("region", Kind::String),
    attr("postalCode", Kind::String),
    attr("country", Kind::String),
    attr("type", Kind::String),
    attr("primary", Kind::Boolean),
];

const META_SUBS: &[Attribute] = &[
    read_only(exact(attr("resourceType", Kind::String))),
    read_only(attr("created", Kind::DateTime)),
    read_only(attr("lastModified", Kind::DateTime)),
    read_only(exact(reference("location", &["uri"]))),
    read_only(exact(attr("version", Kind::String))),
];

/// Core User attributes (RFC 7643 §4.1). `id` and `meta` are common attributes (§3.1).
pub const USER_ATTRIBUTES: &[Attribute] = &[
    read_only(exact(attr("id", Kind::String))),
    key(exact(attr("externalId", Kind::String))),
    read_only(complex("meta", META_SUBS)),
    Attribute {
        required: true,
        unique: true,
        max_bytes: Some(USER_NAME_BYTES),
        ..attr("userName", Kind::String)
    },
    complex("name", NAME_SUBS),
    attr("displayName", Kind::String),
    attr("nickName", Kind::String),
    exact(reference("profileUrl", &["external"])),
    attr("title", Kind::String),
    attr("userType", Kind::String),
    attr("preferredLanguage", Kind::String),
    attr("locale", Kind::String),
    attr("timezone", Kind::String),
    attr("active", Kind::Boolean),
    multi("emails", EMAIL_SUBS),
    multi("phoneNumbers", MULTI_VALUE_SUBS),
    multi("ims", MULTI_VALUE_SUBS),
    multi("photos", MULTI_VALUE_SUBS),
    multi("addresses", ADDRESS_SUBS),
    read_only(multi("groups", GROUP_REF_SUBS)),
    multi("entitlements", MULTI_VALUE_SUBS),
    multi("roles", MULTI_VALUE_SUBS),
    multi("x509Certificates", MULTI_VALUE_SUBS),
];

const MANAGER_SUBS: &[Attribute] = &[
    exact(attr("value", Kind::String)),
    exact(reference("$ref", &["User"])),
    read_only(attr("displayName", Kind::String)),
];

/// Enterprise User extension (RFC 7643 §4.3).
pub const ENTERPRISE_USER_ATTRIBUTES: &[Attribute] = &[
    attr("employeeNumber", Kind::String),
    attr("costCenter", Kind::String),
    attr("organization", Kind::String),
    attr("division", Kind::String),
    attr("department", Kind::String),
    complex("manager", MANAGER_SUBS),
];

/// Core Group attributes (RFC 7643 §4.2).
pub const GROUP_ATTRIBUTES: &[Attribute] = &[
    read_only(exact(attr("id", Kind::String))),
    key(exact(attr("externalId", Kind::String))),
    read_only(complex("meta", META_SUBS)),
    Attribute {
        required: true,
        max_bytes: Some(KEY_BYTES),
        ..attr("displayName", Kind::String)
    },
    multi("members", MEMBER_SUBS),
];

/// Members are users (nested groups are not supported). A member's `display` is stored
/// with the membership and kept current, so showing it costs a big group's read
/// nothing. Whether it is returned by default is the directory's
/// [`Profile`](crate::profile::Profile)'s to say (a client that compares the members it
/// patched with what it reads back, as scim2-tester does, never sends it); this table
/// says `request`, the answer for a generic client.
const MEMBER_SUBS: &[Attribute] = &[
    exact(attr("value", Kind::String)),
    exact(reference("$ref", &["User"])),
    Attribute {
        returned: Returned::Request,
        ..read_only(attr("display", Kind::String))
    },
    Attribute {
        canonical_values: &["User"],
        ..attr("type", Kind::String)
    },
];

/// A resource type's schemas: the core schema and the extensions this service models.
#[derive(Debug)]
pub struct ResourceSchema {
    pub name: &'static str,
    pub core_urn: &'static str,
    pub attributes: &'static [Attribute],
    pub extensions: &'static [(&'static str, &'static [Attribute])],
    /// Names filters may use for a sub-attribute, as clients in the wild write them:
    /// (shorthand, attribute, sub-attribute).
    pub filter_shorthands: &'static [(&'static str, &'static str, &'static str)],
    /// Schema URNs clients send in place of the RFC's (draft and SCIM 1.x spellings, as
    /// OneLogin's templates write them): (alias, canonical URN).
    pub urn_aliases: &'static [(&'static str, &'static str)],
}

pub const USER: ResourceSchema = ResourceSchema {
    name: "User",
    core_urn: USER_SCHEMA,
    attributes: USER_ATTRIBUTES,
    extensions: &[(ENTERPRISE_USER_SCHEMA, ENTERPRISE_USER_ATTRIBUTES)],
    // Clients set up to identify users by email (as Cal.com's Okta guide has admins
    // do) may look them up by `email eq "…"`: any of the user's email values.
    filter_shorthands: &[("email", "emails", "value")],
    urn_aliases: &[
        ("urn:scim:schemas:core:2.0", USER_SCHEMA),
        ("urn:scim:schemas:core:2.0:User", USER_SCHEMA),
        ("urn:scim:schemas:core:1.0", USER_SCHEMA),
        ("urn:ietf:params:scim:schemas:core:2.0", USER_SCHEMA),
        (
            "urn:scim:schemas:extension:enterprise:2.0",
            ENTERPRISE_USER_SCHEMA,
        ),
        (
            "urn:scim:schemas:extension:enterprise:2.0:User",
            ENTERPRISE_USER_SCHEMA,
        ),
        (
            "urn:scim:schemas:extension:enterprise:1.0",
            ENTERPRISE_USER_SCHEMA,
        ),
    ],
};

pub const GROUP: ResourceSchema = ResourceSchema {
    name: "Group",
    core_urn: GROUP_SCHEMA,
    attributes: GROUP_ATTRIBUTES,
    extensions: &[],
    filter_shorthands: &[],
    urn_aliases: &[
        ("urn:scim:schemas:core:2.0", GROUP_SCHEMA),
        ("urn:scim:schemas:core:2.0:Group", GROUP_SCHEMA),
        ("urn:scim:schemas:core:1.0", GROUP_SCHEMA),
        ("urn:ietf:params:scim:schemas:core:2.0", GROUP_SCHEMA),
    ],
};

/// Finds an attribute by name, case-insensitively (RFC 7643 §2.1).
/// Whether a client's key or path starts with `urn:` (in any case): a schema URN.
pub fn is_urn(name: &str) -> bool {
    name.get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case("urn:"))
}

pub fn find<'a>(attrs: &'a [Attribute], name: &str) -> Option<&'a Attribute> {
    attrs.iter().find(|a| a.name.eq_ignore_ascii_case(name))
}

/// The attribute list of a User extension schema this service models, case-insensitively.
pub fn extension_attributes(urn: &str) -> Option<(&'static str, &'static [Attribute])> {
    USER.extension(urn)
}

/// A filter or PATCH attribute path resolved against a resource's schemas.
#[derive(Debug, Clone, Copy)]
pub struct Resolved {
    /// The canonical extension URN (the JSON key holding the attribute), `None` for core.
    pub extension: Option<&'static str>,
    pub attr: &'static Attribute,
    pub sub: Option<&'static Attribute>,
}

impl Resolved {
    /// The attribute the path finally names.
    pub fn leaf(&self) -> &'static Attribute {
        self.sub.unwrap_or(self.attr)
    }
}

impl ResourceSchema {
    /// The URN `urn` stands for: itself, or the canonical URN of an alias.
    fn unalias<'a>(&self, urn: &'a str) -> &'a str {
        self.urn_aliases
            .iter()
            .find(|(alias, _)| alias.eq_ignore_ascii_case(urn))
            .map_or(urn, |(_, canonical)| canonical)
    }

    /// Whether `urn` names this resource's core schema (in any case, or by an alias).
    pub fn is_core(&self, urn: &str) -> bool {
        self.unalias(urn).eq_ignore_ascii_case(self.core_urn)
    }

    /// The canonical URN and attributes of one of this resource's extensions.
    pub fn extension(&self, urn: &str) -> Option<(&'static str, &'static [Attribute])> {
        let urn = self.unalias(urn);
        self.extensions
            .iter()
            .find(|(u, _)| u.eq_ignore_ascii_case(urn))
            .copied()
    }

    /// Resolves `urn:…:attr.sub` against these schemas; `None` for unknown names.
    pub fn resolve(&self, urn: Option<&str>, attr: &str, sub: Option<&str>) -> Option<Resolved> {
        let (extension, attrs) = match urn {
            None => (None, self.attributes),
            Some(u) if self.is_core(u) => (None, self.attributes),
            Some(u) => {
                let (urn, attrs) = self.extension(u)?;
                (Some(urn), attrs)
            }
        };
        let attr = find(attrs, attr)?;
        let sub = match sub {
            None => None,
            Some(s) => Some(find(attr.sub_attributes, s)?),
        };
        Some(Resolved {
            extension,
            attr,
            sub,
        })
    }
}

/// Resolves `urn:…:attr.sub` against the User schemas; `None` for unknown names.
pub fn resolve_user_path(urn: Option<&str>, attr: &str, sub: Option<&str>) -> Option<Resolved> {
    USER.resolve(urn, attr, sub)
}

pub const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";
pub const RESOURCE_TYPE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
pub const SERVICE_PROVIDER_CONFIG_SCHEMA: &str =
    "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";

/// Common attributes (RFC 7643 §3.1): part of every resource, not of its schema.
const COMMON: [&str; 3] = ["id", "externalId", "meta"];

/// The schemas this service serves, with their names: (id, name, description, attributes).
pub const SCHEMAS: [(&str, &str, &str, &[Attribute]); 3] = [
    (USER_SCHEMA, "User", "User Account", USER_ATTRIBUTES),
    (
        ENTERPRISE_USER_SCHEMA,
        "EnterpriseUser",
        "Enterprise User",
        ENTERPRISE_USER_ATTRIBUTES,
    ),
    (GROUP_SCHEMA, "Group", "Group", GROUP_ATTRIBUTES),
];

impl Attribute {
    /// The RFC 7643 §7 representation of this attribute definition.
    pub fn to_json(&self) -> serde_json::Value {
        let kind = match self.kind {
            Kind::String => "string",
            Kind::Boolean => "boolean",
            Kind::DateTime => "dateTime",
            Kind::Reference => "reference",
            Kind::Complex => "complex",
        };
        let mut a = serde_json::json!({
            "name": self.name,
            "type": kind,
            "multiValued": self.multi_valued,
            "description": match self.max_bytes {
                Some(max) => format!("{} (at most {max} bytes)", self.name),
                None => self.name.to_owned(),
            },
            "required": self.required,
            "caseExact": self.case_exact,
            "mutability": match self.mutability {
                Mutability::ReadOnly => "readOnly",
                Mutability::ReadWrite => "readWrite",
            },
            "returned": match self.returned {
                Returned::Default => "default",
                Returned::Request => "request",
            },
            "uniqueness": if self.unique { "server" } else { "none" },
        });
        if !self.canonical_values.is_empty() {
            a["canonicalValues"] = self.canonical_values.into();
        }
        if self.kind == Kind::Reference {
            a["referenceTypes"] = self.reference_types.into();
        }
        if !self.sub_attributes.is_empty() {
            a["subAttributes"] = self.sub_attributes.iter().map(Attribute::to_json).collect();
        }
        a
    }
}

/// The attributes a schema resource lists (common attributes left out).
pub fn schema_attributes(attrs: &[Attribute]) -> serde_json::Value {
    attrs
        .iter()
        .filter(|a| !COMMON.contains(&a.name))
        .map(Attribute::to_json)
        .collect()
}
