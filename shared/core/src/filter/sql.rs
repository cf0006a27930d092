//! Compiles a filter to a parameterized SQL condition over a resource table. Every
//! client value becomes a bind parameter; the SQL text is assembled only from fixed
//! fragments and attribute names taken from the static schema table.

use super::eval::{Typed, check_operator, typed};
use super::{AttrPath, CompareOp, Filter, Value};
use crate::error::ScimError;
use crate::schema::{self, Attribute, Kind};
use crate::user::fold_email;
use std::fmt::Write;
use time::OffsetDateTime;

/// A value bound to a `$n` placeholder.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Bind {
    Text(String),
    Bool(bool),
    Time(OffsetDateTime),
}

/// A compiled condition: `sql` refers to parameters `$first..$first+binds.len()`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Condition {
    pub sql: String,
    pub binds: Vec<Bind>,
}

/// How a resource's attributes map to its table.
#[derive(Debug)]
pub struct ResourceSql {
    pub schema: &'static schema::ResourceSchema,
    /// Attributes kept in columns: (attribute, sub-attribute, typed SQL expression).
    columns: &'static [(&'static str, Option<&'static str>, &'static str)],
    /// Multi-valued attributes kept outside `resource`: (attribute, SQL expression of a
    /// jsonb array of their values).
    arrays: &'static [(&'static str, &'static str)],
    /// Sub-attributes of multi-valued attributes whose values are kept case-folded
    /// ([`fold_email`]) in a GIN-indexed array column: (attribute, sub-attribute,
    /// column). Case-insensitive `eq` on them compiles to a lookup of matching ids in
    /// that index.
    indexed: &'static [(&'static str, &'static str, &'static str)],
    /// The table, for those lookups.
    table: &'static str,
}

/// `scim_users`; a user's `groups` come from the membership table.
pub const USERS: ResourceSql = ResourceSql {
    schema: &schema::USER,
    columns: &[
        ("id", None, "id::text"),
        ("userName", None, "user_name"),
        ("externalId", None, "external_id"),
        ("active", None, "active"),
        ("meta", Some("created"), "created_at"),
        ("meta", Some("lastModified"), "updated_at"),
    ],
    arrays: &[(
        "groups",
        "(SELECT coalesce(jsonb_agg(jsonb_build_object('value', g.id::text, 'display', g.display_name, 'type', 'direct')), '[]'::jsonb)
          FROM scim_group_members gm JOIN scim_groups g ON g.directory_id = gm.directory_id AND g.id = gm.group_id
          WHERE gm.directory_id = scim_users.directory_id AND gm.user_id = scim_users.id)",
    )],
    // Migration 0007.
    indexed: &[("emails", "value", "email_values")],
    table: "scim_users",
};

/// `scim_groups`; members come from the membership table.
pub const GROUPS: ResourceSql = ResourceSql {
    schema: &schema::GROUP,
    columns: &[
        ("id", None, "id::text"),
        ("displayName", None, "display_name"),
        ("externalId", None, "external_id"),
        ("meta", Some("created"), "created_at"),
        ("meta", Some("lastModified"), "updated_at"),
    ],
    arrays: &[(
        "members",
        "(SELECT coalesce(jsonb_agg(jsonb_build_object('value', gm.user_id::text, 'type', 'User')), '[]'::jsonb)
          FROM scim_group_members gm
          WHERE gm.directory_id = scim_groups.directory_id AND gm.group_id = scim_groups.id)",
    )],
    indexed: &[],
    table: "scim_groups",
};

/// Compiles a filter over `resource`'s table; placeholders start at `$first_param`.
pub fn compile_filter(
    resource: &'static ResourceSql,
    filter: &Filter,
    first_param: usize,
) -> Result<Condition, ScimError> {
    let mut c = Compiler {
        resource,
        sql: String::new(),
        binds: Vec::new(),
        first_param,
        aliases: 0,
    };
    c.filter(filter, &Scope::Resource)?;
    Ok(Condition {
        sql: c.sql,
        binds: c.binds,
    })
}

/// A list order compiled to an `ORDER BY` list: fixed SQL from the schema table, never
/// client text. Ties (and the default) go by id, which is creation order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order(String);

impl Order {
    pub fn sql(&self) -> &str {
        &self.0
    }

    /// Whether this is the default order, by id alone: a page can then resume after
    /// the previous page's last id.
    pub fn is_by_id(&self) -> bool {
        self.0 == "id"
    }
}

impl Default for Order {
    fn default() -> Order {
        Order("id".into())
    }
}

/// Compiles `sortBy` (RFC 7644 §3.4.2.3) over `resource`'s table: strings in Unicode
/// code point order, case-insensitively unless the attribute is `caseExact`; a
/// multi-valued attribute by its primary value, or else its first; resources without
/// a value last when ascending, first when descending.
pub fn compile_sort(
    resource: &'static ResourceSql,
    path: &AttrPath,
    descending: bool,
) -> Result<Order, ScimError> {
    let c = Compiler {
        resource,
        sql: String::new(),
        binds: Vec::new(),
        first_param: 1,
        aliases: 0,
    };
    let target = c
        .target(path, &Scope::Resource)
        .map_err(|e| ScimError::invalid_value(format!("cannot sort by {path}: {e}")))?;
    let text = |expr: String, attr: &Attribute| match attr.kind {
        Kind::String | Kind::Reference if attr.case_exact => {
            format!("{expr} COLLATE \"C\"")
        }
        Kind::String | Kind::Reference => format!("lower({expr}) COLLATE \"C\""),
        _ => expr,
    };
    let key = match target {
        Target::Scalar { expr, attr } => text(expr, attr),
        Target::Multi { array, sub } => format!(
            "(SELECT {} FROM jsonb_array_elements({array}) WITH ORDINALITY AS s(v, n)
              ORDER BY (s.v->>'primary') = 'true' DESC, s.n LIMIT 1)",
            text(json_field("s.v", sub), sub)
        ),
    };
    let direction = if descending {
        "DESC NULLS FIRST"
    } else {
        "ASC NULLS LAST"
    };
    Ok(Order(format!("{key} {direction}, id")))
}

enum Scope {
    Resource,
    /// Inside `attr[...]`: names refer to sub-attributes of the element bound to `alias`.
    Element {
        alias: String,
        attrs: &'static [Attribute],
    },
}

/// Where an attribute's values live in SQL.
enum Target {
    /// One scalar SQL expression (text, boolean or timestamptz typed).
    Scalar {
        expr: String,
        attr: &'static Attribute,
    },
    /// Elements of a JSON array; `sub` names the compared sub-attribute (`value` by default).
    Multi {
        array: String,
        sub: &'static Attribute,
    },
}

struct Compiler {
    resource: &'static ResourceSql,
    sql: String,
    binds: Vec<Bind>,
    first_param: usize,
    aliases: usize,
}

impl Compiler {
    fn param(&mut self, b: Bind) -> String {
        self.binds.push(b);
        format!("${}", self.first_param + self.binds.len() - 1)
    }

    fn alias(&mut self) -> String {
        self.aliases += 1;
        format!("e{}", self.aliases)
    }

    fn filter(&mut self, f: &Filter, scope: &Scope) -> Result<(), ScimError> {
        match f {
            Filter::And(a, b) | Filter::Or(a, b) => {
                let op = if matches!(f, Filter::And(..)) {
                    " AND "
                } else {
                    " OR "
                };
                self.sql.push('(');
                self.filter(a, scope)?;
                self.sql.push_str(op);
                self.filter(b, scope)?;
                self.sql.push(')');
            }
            Filter::Not(inner) => {
                self.sql.push_str("NOT coalesce((");
                self.filter(inner, scope)?;
                self.sql.push_str("), false)");
            }
            Filter::Present(path) => {
                match self.target(path, scope)? {
                    Target::Scalar { expr, attr } => self.present(&expr, attr),
                    Target::Multi { array, sub } => {
                        let alias = self.alias();
                        let elem = json_field(&format!("{alias}.v"), sub);
                        write!(self.sql, "EXISTS (SELECT 1 FROM jsonb_array_elements({array}) AS {alias}(v) WHERE ").ok();
                        self.present(&elem, sub);
                        self.sql.push(')');
                    }
                }
            }
            Filter::Compare { path, op, value } => {
                if let (Scope::Resource, CompareOp::Eq, Value::Str(s)) = (scope, op, value)
                    && let Some(index) = self.indexed(path, None)
                {
                    self.indexed_eq(index, s);
                    return Ok(());
                }
                let target = self.target(path, scope)?;
                let eq = if *op == CompareOp::Ne {
                    CompareOp::Eq
                } else {
                    *op
                };
                if *op == CompareOp::Ne {
                    self.sql.push_str("NOT coalesce(");
                }
                match target {
                    Target::Scalar { expr, attr } => self.compare(&expr, attr, eq, value)?,
                    Target::Multi { array, sub } => {
                        let alias = self.alias();
                        let elem = json_field(&format!("{alias}.v"), sub);
                        write!(self.sql, "EXISTS (SELECT 1 FROM jsonb_array_elements({array}) AS {alias}(v) WHERE ").ok();
                        self.compare(&elem, sub, eq, value)?;
                        self.sql.push(')');
                    }
                }
                if *op == CompareOp::Ne {
                    self.sql.push_str(", false)");
                }
            }
            Filter::ValuePath { path, filter } => {
                if matches!(scope, Scope::Element { .. }) {
                    return Err(ScimError::invalid_filter("value filters cannot be nested"));
                }
                let resolved = self.resolve(path)?;
                if !resolved.attr.multi_valued {
                    return Err(ScimError::invalid_filter(format!(
                        "{:?} is not multi-valued",
                        resolved.attr.name
                    )));
                }
                let array = self.array_expr(resolved.extension, resolved.attr);
                let alias = self.alias();
                // `emails[value eq "x" and …]`: the index narrows, the EXISTS decides.
                let narrowed = conjuncts(filter).into_iter().find_map(|f| match f {
                    Filter::Compare {
                        path: sub,
                        op: CompareOp::Eq,
                        value: Value::Str(s),
                    } if sub.urn.is_none() && sub.sub.is_none() => {
                        self.indexed(path, Some(&sub.attr)).map(|index| (index, s))
                    }
                    _ => None,
                });
                if let Some((index, value)) = narrowed {
                    self.sql.push('(');
                    self.indexed_eq(index, value);
                    self.sql.push_str(" AND ");
                }
                write!(
                    self.sql,
                    "EXISTS (SELECT 1 FROM jsonb_array_elements({array}) AS {alias}(v) WHERE "
                )
                .ok();
                let inner = Scope::Element {
                    alias: format!("{alias}.v"),
                    attrs: resolved.attr.sub_attributes,
                };
                self.filter(filter, &inner)?;
                self.sql.push(')');
                if narrowed.is_some() {
                    self.sql.push(')');
                }
            }
        }
        Ok(())
    }

    /// The index over `path` (`attr.sub`, or `attr` with `sub` given separately, as in a
    /// value filter), if there is one and it compares as the attribute does.
    fn indexed(&self, path: &AttrPath, sub: Option<&str>) -> Option<&'static str> {
        let r = self.resolve(path).ok()?;
        let sub = match (r.sub, sub) {
            (Some(s), None) => s,
            (None, Some(s)) => schema::find(r.attr.sub_attributes, s)?,
            (None, None) if r.attr.multi_valued => schema::find(r.attr.sub_attributes, "value")?,
            _ => return None,
        };
        if sub.case_exact || r.extension.is_some() {
            return None;
        }
        self.resource
            .indexed
            .iter()
            .find(|(a, s, _)| *a == r.attr.name && *s == sub.name)
            .map(|(_, _, expr)| *expr)
    }

    /// Case-insensitive `eq` on an indexed sub-attribute: the row is among those the
    /// index finds. As an uncorrelated subquery it runs once, through the index; as a
    /// plain containment test the planner, which cannot estimate it, would rather walk
    /// the whole directory in id order looking for matches.
    fn indexed_eq(&mut self, column: &str, value: &str) {
        let p = self.param(Bind::Text(fold_email(value)));
        let table = self.resource.table;
        write!(
            self.sql,
            "(id = ANY (ARRAY(SELECT i.id FROM {table} i WHERE i.{column} @> ARRAY[{p}::text])))"
        )
        .ok();
    }

    fn target(&self, path: &AttrPath, scope: &Scope) -> Result<Target, ScimError> {
        match scope {
            Scope::Element { alias, attrs } => {
                if path.urn.is_some() || path.sub.is_some() {
                    return Err(unknown(path));
                }
                let attr = schema::find(attrs, &path.attr).ok_or_else(|| unknown(path))?;
                Ok(Target::Scalar {
                    expr: json_field(alias, attr),
                    attr,
                })
            }
            Scope::Resource => {
                let r = self.resolve(path)?;
                if r.attr.multi_valued {
                    let sub = match r.sub {
                        Some(s) => s,
                        None => schema::find(r.attr.sub_attributes, "value")
                            .ok_or_else(|| unknown(path))?,
                    };
                    return Ok(Target::Multi {
                        array: self.array_expr(r.extension, r.attr),
                        sub,
                    });
                }
                if r.attr.kind == Kind::Complex && r.sub.is_none() {
                    return Err(ScimError::invalid_filter(format!(
                        "{:?} is complex: name one of its sub-attributes",
                        r.attr.name
                    )));
                }
                let column = self.resource.columns.iter().find(|(attr, sub, _)| {
                    r.extension.is_none() && *attr == r.attr.name && *sub == r.sub.map(|s| s.name)
                });
                let expr = match (column, r.extension, r.attr.name) {
                    (Some((_, _, expr)), _, _) => (*expr).to_owned(),
                    (None, None, "meta") => {
                        return Err(ScimError::invalid_filter(format!(
                            "filtering on {path} is not supported"
                        )));
                    }
                    (None, ext, _) => {
                        let mut obj = "resource".to_owned();
                        if let Some(urn) = ext {
                            write!(obj, "->'{urn}'").ok();
                        }
                        match r.sub {
                            Some(sub) => {
                                write!(obj, "->'{}'", r.attr.name).ok();
                                json_field(&obj, sub)
                            }
                            None => json_field(&obj, r.attr),
                        }
                    }
                };
                Ok(Target::Scalar {
                    expr,
                    attr: r.leaf(),
                })
            }
        }
    }

    fn present(&mut self, expr: &str, attr: &Attribute) {
        match attr.kind {
            Kind::String | Kind::Reference => {
                write!(self.sql, "({expr} IS NOT NULL AND {expr} <> '')")
            }
            _ => write!(self.sql, "({expr} IS NOT NULL)"),
        }
        .ok();
    }

    fn compare(
        &mut self,
        expr: &str,
        attr: &Attribute,
        op: CompareOp,
        value: &Value,
    ) -> Result<(), ScimError> {
        let value = typed(attr, value)?;
        check_operator(attr, op)?;
        match value {
            Typed::Bool(b) => {
                let p = self.param(Bind::Bool(b));
                write!(self.sql, "({expr} = {p})").ok();
            }
            Typed::Time(t) => {
                // check_operator let through only ordering operators and eq.
                let sql_op = ordering_op(op).unwrap_or("=");
                let p = self.param(Bind::Time(t));
                write!(self.sql, "({expr} {sql_op} {p})").ok();
            }
            Typed::Str(s) => {
                let p = self.param(Bind::Text(s));
                let (x, v) = if attr.case_exact {
                    (expr.to_owned(), p.clone())
                } else {
                    (format!("lower({expr})"), format!("lower({p})"))
                };
                match op {
                    CompareOp::Co => write!(self.sql, "(strpos({x}, {v}) > 0)"),
                    CompareOp::Sw => write!(self.sql, "starts_with({x}, {v})"),
                    CompareOp::Ew => write!(self.sql, "(right({x}, char_length({p})) = {v})"),
                    op => {
                        // Byte order, as in-memory evaluation compares.
                        let sql_op = ordering_op(op).unwrap_or("=");
                        if op == CompareOp::Eq {
                            write!(self.sql, "({x} = {v})")
                        } else {
                            write!(self.sql, "({x} COLLATE \"C\" {sql_op} {v})")
                        }
                    }
                }
                .ok();
            }
        }
        Ok(())
    }
}

/// The filters joined by `and` at the top of `f`.
fn conjuncts(f: &Filter) -> Vec<&Filter> {
    match f {
        Filter::And(a, b) => {
            let mut out = conjuncts(a);
            out.extend(conjuncts(b));
            out
        }
        other => vec![other],
    }
}

fn ordering_op(op: CompareOp) -> Option<&'static str> {
    Some(match op {
        CompareOp::Eq => "=",
        CompareOp::Gt => ">",
        CompareOp::Ge => ">=",
        CompareOp::Lt => "<",
        CompareOp::Le => "<=",
        CompareOp::Ne | CompareOp::Co | CompareOp::Sw | CompareOp::Ew => return None,
    })
}

fn unknown(path: &AttrPath) -> ScimError {
    ScimError::invalid_filter(format!("unknown attribute {:?}", path.attr))
}

impl Compiler {
    fn resolve(&self, path: &AttrPath) -> Result<schema::Resolved, ScimError> {
        self.resource
            .schema
            .resolve(path.urn.as_deref(), &path.attr, path.sub.as_deref())
            .ok_or_else(|| unknown(path))
    }

    fn array_expr(&self, extension: Option<&str>, attr: &Attribute) -> String {
        let elsewhere = self
            .resource
            .arrays
            .iter()
            .find(|(name, _)| extension.is_none() && *name == attr.name);
        match (elsewhere, extension) {
            (Some((_, expr)), _) => (*expr).to_owned(),
            (None, Some(urn)) => {
                format!("coalesce(resource->'{urn}'->'{}', '[]'::jsonb)", attr.name)
            }
            (None, None) => format!("coalesce(resource->'{}', '[]'::jsonb)", attr.name),
        }
    }
}

/// A typed SQL expression for attribute `attr` of the JSON object `obj`.
fn json_field(obj: &str, attr: &Attribute) -> String {
    match attr.kind {
        Kind::Boolean => format!("({obj}->>'{}')::boolean", attr.name),
        Kind::DateTime => format!("({obj}->>'{}')::timestamptz", attr.name),
        _ => format!("({obj}->>'{}')", attr.name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::parse;

    fn compile(f: &str) -> Condition {
        compile_filter(&USERS, &parse(f).unwrap(), 2).unwrap()
    }

    #[test]
    fn user_name_eq_uses_the_lower_index_and_binds_the_value() {
        let c = compile(r#"userName eq "X@Y.com""#);
        assert_eq!(c.sql, "(lower(user_name) = lower($2))");
        assert_eq!(c.binds, vec![Bind::Text("X@Y.com".into())]);
    }

    #[test]
    fn sort_keys_follow_the_attribute_type() {
        let sort = |p: &str, desc| {
            let path = crate::filter::parse_path(p).unwrap().attr;
            compile_sort(&USERS, &path, desc).map(|o| o.sql().to_owned())
        };
        assert_eq!(
            sort("userName", false).unwrap(),
            "lower(user_name) COLLATE \"C\" ASC NULLS LAST, id"
        );
        assert_eq!(
            sort("externalId", true).unwrap(),
            "external_id COLLATE \"C\" DESC NULLS FIRST, id"
        );
        assert_eq!(
            sort("meta.created", false).unwrap(),
            "created_at ASC NULLS LAST, id"
        );
        assert!(
            sort("name.familyName", false)
                .unwrap()
                .starts_with("lower((resource->'name'->>'familyName'))")
        );
        let emails = sort("emails", false).unwrap();
        assert!(
            emails.contains("jsonb_array_elements(coalesce(resource->'emails'"),
            "{emails}"
        );
        assert!(emails.contains("'primary') = 'true' DESC"), "{emails}");
        let e = sort("nosuch", false).unwrap_err();
        assert_eq!(e.scim_type(), Some(crate::ScimType::InvalidValue));
        assert!(
            sort("name", false).is_err(),
            "complex without a sub-attribute"
        );
    }

    #[test]
    fn email_equality_uses_the_email_index() {
        let c = compile(r#"emails.value eq "A@x.com""#);
        assert_eq!(
            c.sql,
            "(id = ANY (ARRAY(SELECT i.id FROM scim_users i WHERE i.email_values @> ARRAY[$2::text])))"
        );
        assert_eq!(c.binds, [Bind::Text("a@x.com".into())]);
        assert_eq!(compile(r#"emails eq "a@x.com""#).sql, c.sql);
        let v = compile(r#"emails[type eq "work" and value eq "a@x.com"]"#);
        assert!(
            v.sql.starts_with(&format!("({} AND EXISTS", c.sql)),
            "{}",
            v.sql
        );
        assert_eq!(v.binds.len(), 3);
        // Other operators and other attributes keep the general form.
        assert!(compile(r#"emails.value co "x""#).sql.starts_with("EXISTS"));
        assert!(
            compile(r#"emails.type eq "work""#)
                .sql
                .starts_with("EXISTS")
        );
        assert!(
            compile(r#"emails[type eq "work" or value eq "a"]"#)
                .sql
                .starts_with("EXISTS")
        );
    }

    #[test]
    fn external_id_is_case_exact() {
        assert_eq!(compile(r#"externalId eq "abc""#).sql, "(external_id = $2)");
    }

    #[test]
    fn multi_valued_attributes_compile_to_exists() {
        let c = compile(r#"emails.value eq "a@x" or emails[type eq "work" and value co "@x"]"#);
        assert!(
            c.sql
                .contains("EXISTS (SELECT 1 FROM jsonb_array_elements(coalesce(resource->'emails'")
        );
        assert_eq!(c.binds.len(), 3);
        assert!(c.sql.contains("$4"));
    }

    #[test]
    fn client_text_never_reaches_the_sql() {
        let c = compile(r#"displayName eq "'; DROP TABLE scim_users; --""#);
        assert!(!c.sql.contains("DROP"));
    }

    #[test]
    fn extension_attributes_use_the_canonical_urn() {
        let c = compile(
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "R&D""#,
        );
        assert!(c.sql.contains(
            "resource->'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'->>'department'"
        ));
    }

    #[test]
    fn group_display_name_uses_the_lower_index_and_members_their_table() {
        let c = compile_filter(
            &GROUPS,
            &parse(r#"displayName eq "Eng" and members[value eq "u1"]"#).unwrap(),
            2,
        )
        .unwrap();
        assert!(
            c.sql
                .starts_with("((lower(display_name) = lower($2)) AND EXISTS")
        );
        assert!(c.sql.contains("FROM scim_group_members gm"));
        assert_eq!(c.binds.len(), 2);
        let err = compile_filter(&GROUPS, &parse(r#"userName eq "x""#).unwrap(), 2).unwrap_err();
        assert_eq!(err.scim_type(), Some(crate::error::ScimType::InvalidFilter));
        let err =
            compile_filter(&GROUPS, &parse(r#"meta.version eq "x""#).unwrap(), 2).unwrap_err();
        assert_eq!(
            err.to_string(),
            "filtering on meta.version is not supported"
        );
    }

    #[test]
    fn rejects_what_cannot_be_compiled_safely() {
        for bad in [
            r#"nope eq "x""#,
            r#"name eq "x""#,
            r#"active gt true"#,
            r#"meta.created gt "yesterday""#,
            r#"userName eq null"#,
            r#"urn:example:unknown:attr eq "x""#,
        ] {
            let err = compile_filter(&USERS, &parse(bad).unwrap(), 1).unwrap_err();
            assert_eq!(
                err.scim_type(),
                Some(crate::error::ScimType::InvalidFilter),
                "{bad}"
            );
        }
    }
}
