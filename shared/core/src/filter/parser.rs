//! Recursive-descent parser for the RFC 7644 §3.4.2.2 filter grammar and the §3.5.2
//! PATCH path grammar.

use super::{AttrPath, CompareOp, Filter, PatchPath, Value};
use crate::error::ScimError;
use crate::limits::{FILTER_BYTES, FILTER_DEPTH, FILTER_TERMS};

/// Parses a filter within the bounds of [`crate::limits`]: its length, nesting and
/// number of attribute tests. Errors are `invalidFilter`.
pub fn parse(input: &str) -> Result<Filter, ScimError> {
    if input.len() > FILTER_BYTES {
        return Err(ScimError::invalid_filter(format!(
            "filter is longer than {FILTER_BYTES} bytes"
        )));
    }
    let mut p = Parser::new(input)?;
    let f = p.or_expr(0)?;
    p.expect_end()?;
    if f.terms() > FILTER_TERMS {
        return Err(ScimError::invalid_filter(format!(
            "filter makes {} attribute tests; at most {FILTER_TERMS} are accepted",
            f.terms()
        )));
    }
    Ok(f)
}

/// Parses a PATCH `path`. Errors are `invalidPath`.
pub fn parse_path(input: &str) -> Result<PatchPath, ScimError> {
    let to_path_err =
        |e: ScimError| ScimError::invalid_path(format!("invalid path {input:?}: {e}"));
    if input.len() > FILTER_BYTES {
        return Err(ScimError::invalid_path("path is too long"));
    }
    let mut p = Parser::new(input).map_err(to_path_err)?;
    let attr = match p.next() {
        Some(Token::Name(n)) => split_attr_path(&n).map_err(to_path_err)?,
        _ => return Err(ScimError::invalid_path(format!("invalid path {input:?}"))),
    };
    let mut path = PatchPath {
        attr,
        filter: None,
        sub_after_filter: None,
    };
    if p.peek() == Some(&Token::LBracket) {
        p.next();
        path.filter = Some(p.or_expr(1).map_err(to_path_err)?);
        if p.next() != Some(Token::RBracket) {
            return Err(ScimError::invalid_path(format!(
                "unclosed '[' in path {input:?}"
            )));
        }
        if let Some(Token::Name(n)) = p.peek() {
            let sub = n
                .strip_prefix('.')
                .filter(|s| !s.is_empty() && !s.contains('.'))
                .ok_or_else(|| ScimError::invalid_path(format!("invalid path {input:?}")))?;
            path.sub_after_filter = Some(sub.to_owned());
            p.next();
        }
    }
    p.expect_end().map_err(to_path_err)?;
    Ok(path)
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Name(String),
    Str(String),
    Num(serde_json::Number),
    LParen,
    RParen,
    LBracket,
    RBracket,
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '$' | ':' | '.')
}

/// A character of a word: a name, a number, or a comparison value written without
/// quotes (`jane@x.com`, `00u1abc`, `2024-01-01T00:00:00Z`).
fn is_word_char(c: char) -> bool {
    is_name_char(c) || matches!(c, '@' | '+')
}

fn tokenize(input: &str) -> Result<Vec<Token>, ScimError> {
    let mut tokens = Vec::new();
    let bytes = input.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i] as char;
        match c {
            ' ' | '\t' | '\n' | '\r' => i += 1,
            '(' => {
                tokens.push(Token::LParen);
                i += 1
            }
            ')' => {
                tokens.push(Token::RParen);
                i += 1
            }
            '[' => {
                tokens.push(Token::LBracket);
                i += 1
            }
            ']' => {
                tokens.push(Token::RBracket);
                i += 1
            }
            '"' => {
                // A JSON string (RFC 7644 §3.4.2.2 says values are JSON); find its end,
                // honouring escapes, and let serde_json decode it.
                let start = i;
                i += 1;
                loop {
                    match bytes.get(i) {
                        None => return Err(ScimError::invalid_filter("unterminated string")),
                        Some(b'\\') => i += 2,
                        Some(b'"') => break,
                        Some(_) => i += 1,
                    }
                }
                i += 1;
                let s: String = serde_json::from_str(&input[start..i])
                    .map_err(|_| ScimError::invalid_filter("invalid string literal"))?;
                if s.contains('\0') {
                    // `\u0000` decodes to NUL, which no stored value can hold.
                    return Err(ScimError::invalid_filter(
                        "strings must not contain the NUL character",
                    ));
                }
                tokens.push(Token::Str(s));
            }
            c if is_word_char(c) => {
                let start = i;
                while i < bytes.len() && is_word_char(bytes[i] as char) {
                    i += 1;
                }
                let word = &input[start..i];
                // A word that starts like a number is one when it parses as one;
                // otherwise it is a name, or a value written without quotes.
                let number = (c == '-' || c.is_ascii_digit())
                    .then(|| word.parse::<serde_json::Number>().ok())
                    .flatten();
                tokens.push(match number {
                    Some(n) => Token::Num(n),
                    None => Token::Name(word.to_owned()),
                });
            }
            _ => {
                let ch = input[i..].chars().next().unwrap_or('?');
                return Err(ScimError::invalid_filter(format!(
                    "unexpected character {ch:?}"
                )));
            }
        }
    }
    Ok(tokens)
}

/// Splits `urn:…:User:name.givenName` into URN, attribute and sub-attribute. The URN is
/// everything up to the last ':' (URNs contain dots, as in `2.0`).
fn split_attr_path(name: &str) -> Result<AttrPath, ScimError> {
    let (urn, rest) = match name.rfind(':') {
        Some(i) if name.len() > 4 && crate::schema::is_urn(name) => {
            (Some(name[..i].to_owned()), &name[i + 1..])
        }
        Some(_) => {
            return Err(ScimError::invalid_filter(format!(
                "invalid attribute {name:?}"
            )));
        }
        None => (None, name),
    };
    let mut parts = rest.split('.');
    let attr = parts.next().unwrap_or_default();
    let sub = parts.next();
    let valid = |s: &str| {
        s.chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '$')
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '$'))
    };
    if !valid(attr) || sub.is_some_and(|s| !valid(s)) || parts.next().is_some() {
        return Err(ScimError::invalid_filter(format!(
            "invalid attribute {name:?}"
        )));
    }
    Ok(AttrPath {
        urn,
        attr: attr.to_owned(),
        sub: sub.map(str::to_owned),
    })
}

fn keyword(t: Option<&Token>, kw: &str) -> bool {
    matches!(t, Some(Token::Name(n)) if n.eq_ignore_ascii_case(kw))
}

fn compare_op(name: &str) -> Option<CompareOp> {
    CompareOp::ALL
        .into_iter()
        .find(|op| op.as_str().eq_ignore_ascii_case(name))
}

impl Parser {
    fn new(input: &str) -> Result<Self, ScimError> {
        Ok(Parser {
            tokens: tokenize(input)?,
            pos: 0,
        })
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn expect_end(&self) -> Result<(), ScimError> {
        match self.peek() {
            None => Ok(()),
            Some(t) => Err(ScimError::invalid_filter(format!(
                "unexpected {t:?} after expression"
            ))),
        }
    }

    fn or_expr(&mut self, depth: usize) -> Result<Filter, ScimError> {
        let mut left = self.and_expr(depth)?;
        while keyword(self.peek(), "or") {
            self.next();
            let right = self.and_expr(depth)?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and_expr(&mut self, depth: usize) -> Result<Filter, ScimError> {
        let mut left = self.unary(depth)?;
        while keyword(self.peek(), "and") {
            self.next();
            let right = self.unary(depth)?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn nested(&mut self, depth: usize) -> Result<Filter, ScimError> {
        if depth >= FILTER_DEPTH {
            return Err(ScimError::invalid_filter(format!(
                "filter nests deeper than {FILTER_DEPTH}"
            )));
        }
        self.or_expr(depth + 1)
    }

    fn unary(&mut self, depth: usize) -> Result<Filter, ScimError> {
        if keyword(self.peek(), "not") && self.tokens.get(self.pos + 1) == Some(&Token::LParen) {
            self.next();
            return Ok(Filter::Not(Box::new(self.unary(depth + 1)?)));
        }
        match self.next() {
            Some(Token::LParen) => {
                let f = self.nested(depth)?;
                match self.next() {
                    Some(Token::RParen) => Ok(f),
                    _ => Err(ScimError::invalid_filter("missing ')'")),
                }
            }
            Some(Token::Name(name)) => {
                let path = split_attr_path(&name)?;
                self.after_path(path, depth)
            }
            Some(t) => Err(ScimError::invalid_filter(format!(
                "expected an attribute, found {t:?}"
            ))),
            None => Err(ScimError::invalid_filter("unexpected end of filter")),
        }
    }

    fn after_path(&mut self, path: AttrPath, depth: usize) -> Result<Filter, ScimError> {
        match self.next() {
            Some(Token::LBracket) => {
                if path.sub.is_some() {
                    return Err(ScimError::invalid_filter(
                        "a value filter cannot follow a sub-attribute",
                    ));
                }
                let inner = self.nested(depth)?;
                if self.next() != Some(Token::RBracket) {
                    return Err(ScimError::invalid_filter("missing ']'"));
                }
                Ok(Filter::ValuePath {
                    path,
                    filter: Box::new(inner),
                })
            }
            Some(Token::Name(op)) if op.eq_ignore_ascii_case("pr") => Ok(Filter::Present(path)),
            Some(Token::Name(op)) => {
                let op = compare_op(&op)
                    .ok_or_else(|| ScimError::invalid_filter(format!("unknown operator {op:?}")))?;
                let value = match self.next() {
                    Some(Token::Str(s)) => Value::Str(s),
                    Some(Token::Num(n)) => Value::Num(n),
                    Some(Token::Name(n)) if n.eq_ignore_ascii_case("true") => Value::Bool(true),
                    Some(Token::Name(n)) if n.eq_ignore_ascii_case("false") => Value::Bool(false),
                    Some(Token::Name(n)) if n.eq_ignore_ascii_case("null") => Value::Null,
                    // A value without quotes, as some clients send: a string.
                    Some(Token::Name(word)) => Value::Str(word),
                    _ => return Err(ScimError::invalid_filter("expected a comparison value")),
                };
                Ok(Filter::Compare { path, op, value })
            }
            _ => Err(ScimError::invalid_filter(
                "expected an operator after the attribute",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(attr: &str) -> AttrPath {
        AttrPath {
            urn: None,
            attr: attr.into(),
            sub: None,
        }
    }

    #[test]
    fn parses_okta_lookup() {
        assert_eq!(
            parse(r#"userName eq "x@y.com""#).unwrap(),
            Filter::Compare {
                path: p("userName"),
                op: CompareOp::Eq,
                value: Value::Str("x@y.com".into())
            }
        );
    }

    #[test]
    fn operators_and_keywords_are_case_insensitive() {
        let f = parse(r#"userName EQ "a" AND active Eq TRUE"#).unwrap();
        assert!(matches!(f, Filter::And(..)));
    }

    #[test]
    fn and_binds_tighter_than_or() {
        let f = parse(r#"a eq "1" or b eq "2" and c eq "3""#).unwrap();
        match f {
            Filter::Or(_, right) => assert!(matches!(*right, Filter::And(..))),
            other => panic!("expected or at the top, got {other:?}"),
        }
    }

    #[test]
    fn parses_value_paths_not_and_presence() {
        let f = parse(r#"not (emails[type eq "work" and value co "@x"]) or title pr"#).unwrap();
        let Filter::Or(left, right) = f else { panic!() };
        assert!(matches!(*left, Filter::Not(_)));
        assert_eq!(*right, Filter::Present(p("title")));
    }

    #[test]
    fn splits_urn_qualified_names_at_the_last_colon() {
        let f = parse(
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "m""#,
        )
        .unwrap();
        let Filter::Compare { path, .. } = f else {
            panic!()
        };
        assert_eq!(
            path.urn.as_deref(),
            Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")
        );
        assert_eq!(path.attr, "manager");
        assert_eq!(path.sub.as_deref(), Some("value"));
    }

    #[test]
    fn decodes_json_escapes_in_strings() {
        let Filter::Compare { value, .. } = parse(r#"displayName eq "a \"b\" \u00e9""#).unwrap()
        else {
            panic!()
        };
        assert_eq!(value, Value::Str("a \"b\" é".into()));
    }

    #[test]
    fn values_without_quotes_are_strings_unless_they_are_literals() {
        let value = |f: &str| match parse(f).unwrap() {
            Filter::Compare { value, .. } => value,
            other => panic!("{f}: {other:?}"),
        };
        for (filter, expected) in [
            ("externalId eq jyoung", Value::Str("jyoung".into())),
            ("userName sw O", Value::Str("O".into())),
            (
                "userName eq jane.doe+x@x.com",
                Value::Str("jane.doe+x@x.com".into()),
            ),
            ("externalId eq 00u1abc-9", Value::Str("00u1abc-9".into())),
            (
                "meta.lastModified gt 2024-01-01T00:00:00Z",
                Value::Str("2024-01-01T00:00:00Z".into()),
            ),
            ("active eq False", Value::Bool(false)),
            ("title eq null", Value::Null),
            ("x eq -12", Value::Num((-12).into())),
            (
                "x eq 1.5e3",
                Value::Num(serde_json::Number::from_f64(1500.0).unwrap()),
            ),
        ] {
            assert_eq!(value(filter), expected, "{filter}");
        }
        let both = parse("externalId eq jyoung and (userName sw O)").unwrap();
        assert!(matches!(both, Filter::And(..)));
    }

    #[test]
    fn rejects_malformed_filters_as_invalid_filter() {
        for bad in [
            "",
            "userName",
            "userName eq",
            r#"userName zz "x""#,
            r#"userName eq "x"#,
            r#"(userName eq "x""#,
            r#"userName eq "x" and"#,
            r#"emails[type eq "work""#,
            r#"userName eq "x" )"#,
            r#"a.b.c eq "x""#,
            "userName eq 'x'",
            r#"userName eq "x" ; drop table users"#,
            r#"userName eq "a\u0000b""#,
        ] {
            let err = parse(bad).unwrap_err();
            assert_eq!(
                err.scim_type(),
                Some(crate::error::ScimType::InvalidFilter),
                "{bad}"
            );
        }
    }

    #[test]
    fn bounds_depth_and_length() {
        let deep = format!(
            "{}a eq \"1\"{}",
            "(".repeat(FILTER_DEPTH + 1),
            ")".repeat(FILTER_DEPTH + 1)
        );
        assert!(parse(&deep).is_err());
        let ok = format!("{}a eq \"1\"{}", "(".repeat(5), ")".repeat(5));
        assert!(parse(&ok).is_ok());
        let long = format!("a eq \"{}\"", "x".repeat(FILTER_BYTES));
        assert!(parse(&long).is_err());
    }

    #[test]
    fn bounds_the_number_of_attribute_tests() {
        let terms = |n: usize| {
            (0..n)
                .map(|i| format!("title co \"{i}\""))
                .collect::<Vec<_>>()
                .join(" or ")
        };
        assert_eq!(parse(&terms(FILTER_TERMS)).unwrap().terms(), FILTER_TERMS);
        let err = parse(&terms(FILTER_TERMS + 1)).unwrap_err();
        assert_eq!(err.scim_type(), Some(crate::ScimType::InvalidFilter));
        let nested = r#"emails[type eq "work" and value co "@x"] and not (userName pr)"#;
        assert_eq!(parse(nested).unwrap().terms(), 3);
    }

    #[test]
    fn parses_patch_paths() {
        let path = parse_path(r#"emails[type eq "work"].value"#).unwrap();
        assert_eq!(path.attr, p("emails"));
        assert!(path.filter.is_some());
        assert_eq!(path.sub_after_filter.as_deref(), Some("value"));

        let path = parse_path("name.givenName").unwrap();
        assert_eq!(path.attr.sub.as_deref(), Some("givenName"));

        let path = parse_path(r#"members[value eq "2819c223"]"#).unwrap();
        assert!(path.sub_after_filter.is_none());

        for bad in ["", "emails[", "emails[type eq \"w\"]x", "a b"] {
            let err = parse_path(bad).unwrap_err();
            assert_eq!(
                err.scim_type(),
                Some(crate::error::ScimType::InvalidPath),
                "{bad}"
            );
        }
    }
}
