//! What the request log keeps of a request's query string. Filters name people
//! (`userName eq "jane@example.com"`) and a careless client may put its token in the
//! URL (`?access_token=…`): by default the log keeps each parameter's name, the paging
//! and projection values (numbers, `ascending`/`descending`, attribute names) and the
//! filter's shape with every compared value replaced by `"…"`. Keeping all values is
//! opt-in; a parameter named like a credential never keeps its value. What the request
//! inspector keeps of a failed request's body ([`body`]) is redacted here too.

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

/// A failed request's body as the request inspector keeps it: JSON with the value of
/// every credential-like attribute ([`is_credential`]: `password` and its kin) and of
/// every attribute named in `hidden` (compared case-insensitively, by the name after
/// a URN's last `:` too) replaced by `"…"`, written compactly and cut to `max` bytes.
/// A body that is not JSON, or was longer than was kept (`complete` false), is
/// described, never kept: it cannot be redacted.
pub fn body(raw: &[u8], complete: bool, hidden: &[String], max: usize) -> String {
    if !complete {
        return "(not kept: the body was longer than the request inspector keeps)".to_owned();
    }
    match serde_json::from_slice(raw) {
        Ok(value) => json(value, hidden, max),
        Err(_) => format!("(not kept: {} bytes that are not JSON)", raw.len()),
    }
}

/// [`body`] of a body already parsed.
pub fn json(mut value: serde_json::Value, hidden: &[String], max: usize) -> String {
    hide(&mut value, hidden);
    let mut text = value.to_string();
    if text.len() > max {
        let mut end = max.saturating_sub(OMITTED.len());
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push_str(OMITTED);
    }
    text
}

fn hide(value: &mut serde_json::Value, hidden: &[String]) {
    let secret = |name: &str| {
        let last = name.rsplit(':').next().unwrap_or(name);
        is_credential(last)
            || hidden
                .iter()
                .any(|h| h.eq_ignore_ascii_case(name) || h.eq_ignore_ascii_case(last))
    };
    match value {
        serde_json::Value::Object(map) => {
            // A PATCH operation names its attribute in `path` (`password`,
            // `emails[type eq "work"].value`): its value goes when any name in it does.
            let by_path = map.get("path").and_then(|p| p.as_str()).is_some_and(|p| {
                p.split(['.', '[', ']', ' '])
                    .any(|part| !part.is_empty() && secret(part))
            });
            for (name, v) in map.iter_mut() {
                if secret(name) || (by_path && name == "value") {
                    *v = serde_json::Value::String(OMITTED.to_owned());
                } else {
                    hide(v, hidden);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(|v| hide(v, hidden)),
        _ => {}
    }
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
    fn a_failed_requests_body_is_kept_without_its_secrets() {
        let sent = br#"{"userName":"ann@acme.com","password":"hunter2",
            "phoneNumbers":[{"value":"+1 555"}],
            "urn:acme:2.0:User":{"ssn":"123","apiKey":"k"}}"#;
        let hidden = vec!["phoneNumbers".to_owned(), "SSN".to_owned()];
        let kept = body(sent, true, &hidden, 4096);
        assert!(kept.contains("ann@acme.com"), "{kept}");
        for secret in ["hunter2", "+1 555", "123", "\"k\""] {
            assert!(!kept.contains(secret), "{secret} in {kept}");
        }
        assert!(kept.contains(r#""password":"…""#), "{kept}");
        // Patch operations name attributes in paths; their values are hidden by name.
        let patch = br#"{"Operations":[{"op":"replace","value":{"password":"p"}}]}"#;
        assert!(!body(patch, true, &[], 4096).contains("\"p\""));
        let by_path = br#"{"Operations":[{"op":"replace","path":"password","value":"p"},
            {"op":"add","path":"phoneNumbers[type eq \"work\"].value","value":"+1 555"},
            {"op":"replace","path":"displayName","value":"Ann"}]}"#;
        let kept = body(by_path, true, &hidden, 4096);
        assert!(
            !kept.contains("\"p\"") && !kept.contains("+1 555"),
            "{kept}"
        );
        assert!(kept.contains("Ann"), "{kept}");

        let long = format!(r#"{{"userName":"{}"}}"#, "é".repeat(100));
        let cut = body(long.as_bytes(), true, &[], 50);
        assert!(cut.len() <= 50 && cut.ends_with(OMITTED), "{cut}");
        assert!(body(b"userName=ann&password=x", true, &[], 4096).starts_with("(not kept"));
        assert!(body(b"{\"a\":1}", false, &[], 4096).starts_with("(not kept"));
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
