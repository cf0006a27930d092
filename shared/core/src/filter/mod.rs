//! SCIM filter expressions (RFC 7644 §3.4.2.2): parsed once into an AST, then either
//! compiled to parameterized SQL ([`sql`]) or evaluated in memory ([`eval`], used by
//! PATCH value paths). Nothing a client sends is ever spliced into SQL.

pub mod eval;
mod parser;
pub mod sql;

pub use parser::{parse, parse_path};

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
