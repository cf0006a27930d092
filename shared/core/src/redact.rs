//! What the request log keeps of a request's query string. Filters name people
//! (`userName eq "jane@example.com"`) and a careless client may put its token in the
//! URL (`?access_token=…`): by default the log keeps each parameter's name, the paging
//! and projection values (numbers, `ascending`/`descending`, attribute names) and the
//! filter's shape with every compared value replaced by `"…"`. Keeping all values is
//! opt-in; a parameter named like a credential never keeps its value.

use crate::filter::{self, Filter, Value};
use std::fmt::Write;

/// What is written where a value is left out.
pub const OMITTED: &str = "…";

/// The query string `raw` (without `?`, percent-encoded) as the request log keeps it,
/// decoded for reading.
pub fn query(raw: &str, keep_values: bool) -> String {
    raw.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (raw_name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let (name, value) = (decode(raw_name), decode(value));
            let kept = if value.is_empty() && !pair.contains('=') {
                return name;
            } else if is_credential(&name) || is_credential(raw_name) {
                OMITTED.to_owned()
            } else if keep_values {
                value
            } else {
                shape(&name, &value)
            };
            format!("{name}={kept}")
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// A parameter's value with nothing personal left in it.
fn shape(name: &str, value: &str) -> String {
    let attribute_names = |v: &str| {
        v.len() <= 512
            && v.chars()
                .all(|c| c.is_ascii_alphanumeric() || ":._,$- ".contains(c))
    };
    let kept = match name.to_ascii_lowercase().as_str() {
        "filter" => {
            return filter::parse(value)
                .map_or_else(|_| "[not a filter]".to_owned(), |f| filter_shape(&f));
        }
        "startindex" | "count" => value.len() <= 12 && value.trim().parse::<i64>().is_ok(),
        "sortorder" => ["ascending", "descending"]
            .iter()
            .any(|o| value.trim().eq_ignore_ascii_case(o)),
        "attributes" | "excludedattributes" | "sortby" => attribute_names(value),
        _ => false,
    };
    if kept {
        value.to_owned()
    } else {
        OMITTED.to_owned()
    }
}

/// Parameter names that carry secrets in the clients that put them in URLs.
pub fn is_credential(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    [
        "token",
        "secret",
        "password",
        "passwd",
        "key",
        "auth",
        "credential",
        "sig",
    ]
    .iter()
    .any(|word| name.contains(word))
}

/// The filter written back with every compared value replaced by `"…"`:
/// `userName eq "…" and active eq true`.
pub fn filter_shape(f: &Filter) -> String {
    let mut out = String::new();
    write_shape(&mut out, f);
    out
}

fn write_shape(out: &mut String, f: &Filter) {
    // Writing to a String cannot fail.
    let _ = match f {
        Filter::And(a, b) | Filter::Or(a, b) => {
            let op = if matches!(f, Filter::And(..)) {
                "and"
            } else {
                "or"
            };
            out.push('(');
            write_shape(out, a);
            let _ = write!(out, ") {op} (");
            write_shape(out, b);
            out.push(')');
            Ok(())
        }
        Filter::Not(inner) => {
            out.push_str("not (");
            write_shape(out, inner);
            out.push(')');
            Ok(())
        }
        Filter::Present(path) => write!(out, "{path} pr"),
        Filter::Compare { path, op, value } => {
            let value = match value {
                Value::Bool(b) => b.to_string(),
                Value::Null => "null".to_owned(),
                Value::Str(_) | Value::Num(_) => format!("\"{OMITTED}\""),
            };
            write!(out, "{path} {} {value}", op.as_str())
        }
        Filter::ValuePath { path, filter } => {
            let _ = write!(out, "{path}[");
            write_shape(out, filter);
            out.push(']');
            Ok(())
        }
    };
}

/// Percent-decoding as in a form (`+` is a space); bytes that are not UTF-8 become
/// U+FFFD.
fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                match s
                    .get(i + 1..i + 3)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_keep_their_shape_and_lose_their_values() {
        let raw = "filter=userName%20eq%20%22jane%40example.com%22%20and%20active%20eq%20true&startIndex=1&count=100";
        assert_eq!(
            query(raw, false),
            "filter=(userName eq \"…\") and (active eq true)&startIndex=1&count=100"
        );
        assert_eq!(
            query(raw, true),
            "filter=userName eq \"jane@example.com\" and active eq true&startIndex=1&count=100"
        );
        let f =
            filter::parse(r#"emails[type eq "work" and value co "@x"] or not (title pr)"#).unwrap();
        assert_eq!(
            filter_shape(&f),
            "(emails[(type eq \"…\") and (value co \"…\")]) or (not (title pr))"
        );
        assert_eq!(query("filter=nonsense(", false), "filter=[not a filter]");
    }

    #[test]
    fn credentials_never_keep_their_value() {
        for keep in [false, true] {
            assert_eq!(
                query("access_token=scim_abc&API-Key=x&count=2", keep),
                "access_token=…&API-Key=…&count=2"
            );
            // Found by `scripts/fuzz.sh query`: a name that reads as a credential only
            // before decoding (`%2a` takes the `a` of `auth`) is one too.
            assert_eq!(query("x%2auth=secret", keep), "x*uth=…");
        }
    }

    #[test]
    fn paging_and_projection_keep_values_that_name_nothing_personal() {
        assert_eq!(
            query(
                "sortBy=name.familyName&sortOrder=Descending&attributes=userName,emails",
                false
            ),
            "sortBy=name.familyName&sortOrder=Descending&attributes=userName,emails"
        );
        assert_eq!(
            query(
                "count=jane%40x.com&sortOrder=up&other=thing&aadOptscim062020",
                false
            ),
            "count=…&sortOrder=…&other=…&aadOptscim062020"
        );
    }

    #[test]
    fn decoding_survives_anything() {
        assert_eq!(decode("a%2"), "a%2");
        assert_eq!(decode("%"), "%");
        assert_eq!(decode("%zz%41+b"), "%zzA b");
        assert_eq!(decode("%FF"), "\u{FFFD}");
        assert_eq!(decode("%e2%82%ac"), "€");
    }
}
