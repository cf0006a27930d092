//! SCIM filter expressions (RFC 7644 §3.4.2.2): parsed once into an AST, then either
//! compiled to parameterized SQL ([`sql`]) or evaluated in memory ([`eval`], used by
//! PATCH value paths). Nothing a client sends is ever spliced into SQL.

pub mod eval;
mod parser;
pub mod sql;

pub use parser::{parse, parse_path};

use crate::schema::ResourceSchema;

#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    Present(AttrPath),
    Compare {
        path: AttrPath,
        op: CompareOp,
        value: Value,
    },
    /// `emails[type eq "work"]`: some element of a multi-valued attribute matches.
    ValuePath {
        path: AttrPath,
        filter: Box<Filter>,
    },
}

impl Filter {
    /// The filter with the schema's shorthands (`email`) written out as the
    /// sub-attributes they stand for (`emails.value`); the paths inside a value filter
    /// are the multi-valued attribute's own, and stay as they are.
    pub fn expand_shorthands(self, schema: &ResourceSchema) -> Filter {
        let expand = |path: AttrPath| match (&path.urn, &path.sub) {
            (None, None) => schema
                .filter_shorthands
                .iter()
                .find(|(name, ..)| name.eq_ignore_ascii_case(&path.attr))
                .map_or(path, |(_, attr, sub)| AttrPath {
                    urn: None,
                    attr: (*attr).to_owned(),
                    sub: Some((*sub).to_owned()),
                }),
            _ => path,
        };
        match self {
            Filter::And(a, b) => Filter::And(
                Box::new(a.expand_shorthands(schema)),
                Box::new(b.expand_shorthands(schema)),
            ),
            Filter::Or(a, b) => Filter::Or(
                Box::new(a.expand_shorthands(schema)),
                Box::new(b.expand_shorthands(schema)),
            ),
            Filter::Not(f) => Filter::Not(Box::new(f.expand_shorthands(schema))),
            Filter::Present(path) => Filter::Present(expand(path)),
            Filter::Compare { path, op, value } => Filter::Compare {
                path: expand(path),
                op,
                value,
            },
            value_path @ Filter::ValuePath { .. } => value_path,
        }
    }

    /// How many attribute tests (comparisons and `pr`) the filter makes: each is a
    /// condition Postgres evaluates, and a substring test on every row it reads.
    pub fn terms(&self) -> usize {
        match self {
            Filter::And(a, b) | Filter::Or(a, b) => a.terms() + b.terms(),
            Filter::Not(f) | Filter::ValuePath { filter: f, .. } => f.terms(),
            Filter::Present(_) | Filter::Compare { .. } => 1,
        }
    }
}

/// `urn:…:attr.sub`, as written by the client (names are matched case-insensitively
/// against the schema later).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrPath {
    pub urn: Option<String>,
    pub attr: String,
    pub sub: Option<String>,
}

/// As a client would write it, for error details: `urn:…:attr.sub`.
impl std::fmt::Display for AttrPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(urn) = &self.urn {
            write!(f, "{urn}:")?;
        }
        f.write_str(&self.attr)?;
        if let Some(sub) = &self.sub {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

impl CompareOp {
    pub const ALL: [CompareOp; 9] = [
        CompareOp::Eq,
        CompareOp::Ne,
        CompareOp::Co,
        CompareOp::Sw,
        CompareOp::Ew,
        CompareOp::Gt,
        CompareOp::Ge,
        CompareOp::Lt,
        CompareOp::Le,
    ];

    /// The operator as a filter writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Co => "co",
            CompareOp::Sw => "sw",
            CompareOp::Ew => "ew",
            CompareOp::Gt => "gt",
            CompareOp::Ge => "ge",
            CompareOp::Lt => "lt",
            CompareOp::Le => "le",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Num(serde_json::Number),
    Bool(bool),
    Null,
}

/// A PATCH path (RFC 7644 §3.5.2): `attrPath` or `attrPath[valFilter].subAttr`.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    pub attr: AttrPath,
    pub filter: Option<Filter>,
    /// Sub-attribute after a value filter: `emails[type eq "work"].value`.
    pub sub_after_filter: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{GROUP, USER};

    #[test]
    fn a_users_email_shorthand_is_its_email_values() {
        let expanded = |f: &str| parse(f).unwrap().expand_shorthands(&USER);
        assert_eq!(
            expanded(r#"EMAIL eq "a@x.com" and not (email pr)"#),
            parse(r#"emails.value eq "a@x.com" and not (emails.value pr)"#).unwrap()
        );
        // Only the bare name: a qualified or sub-attributed `email` is not a shorthand,
        // nor is `value` inside a value filter, and a group has no shorthands.
        for kept in [
            r#"emails[value eq "email"]"#,
            r#"email.value eq "a""#,
            r#"urn:ietf:params:scim:schemas:core:2.0:User:email eq "a""#,
        ] {
            assert_eq!(expanded(kept), parse(kept).unwrap(), "{kept}");
        }
        let group = parse(r#"email eq "a""#).unwrap();
        assert_eq!(group.clone().expand_shorthands(&GROUP), group);
    }
}
