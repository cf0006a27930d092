//! SCIM filter expressions (RFC 7644 §3.4.2.2): parsed once into an AST, then either
//! compiled to parameterized SQL ([`sql`]) or evaluated in memory ([`eval`], used by
//! PATCH value paths). Nothing a client sends is ever spliced into SQL.

pub mod eval;
mod parser;
pub mod sql;

pub use parser::{parse, parse_path};

/// Longest filter accepted, in bytes; longer ones are `invalidFilter`.
pub const MAX_FILTER_LEN: usize = 4096;
/// Deepest nesting of parentheses, `not` and value paths accepted.
pub const MAX_DEPTH: usize = 32;

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
