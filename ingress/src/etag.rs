//! ETag preconditions (RFC 7644 §3.14, RFC 7232). `meta.version` is the weak ETag
//! `W/"<version>"`; `If-Match` and `If-None-Match` compare versions, ignoring weakness
//! as SCIM's own examples do.

use axum::http::HeaderMap;
use axum::http::header::{IF_MATCH, IF_NONE_MATCH};
use scim_core::ScimError;

/// Whether an `If-Match`/`If-None-Match` value lists `version` (or is `*`).
fn lists(header: &str, version: i64) -> bool {
    header.split(',').map(str::trim).any(|tag| {
        tag == "*" || tag.strip_prefix("W/").unwrap_or(tag).trim_matches('"') == version.to_string()
    })
}

/// The `If-Match` precondition of a write: what a request's header or a bulk
/// operation's `version` lists, or nothing.
#[derive(Debug, Clone, Default)]
pub struct IfMatch(Option<String>);

impl IfMatch {
    /// The request's `If-Match` header; one that is not text matches no version.
    pub fn from_headers(headers: &HeaderMap) -> IfMatch {
        IfMatch(
            headers
                .get(IF_MATCH)
                .map(|v| v.to_str().unwrap_or_default().to_owned()),
        )
    }

    /// A bulk operation's `version` (RFC 7644 §3.7), which stands for `If-Match`.
    pub fn from_version(version: Option<&str>) -> IfMatch {
        IfMatch(version.map(str::to_owned))
    }

    /// 412 unless absent or listing the current version.
    pub fn check(&self, version: i64) -> Result<(), ScimError> {
        match &self.0 {
            Some(h) if !lists(h, version) => Err(ScimError::PreconditionFailed(format!(
                "the resource is at version W/\"{version}\", not {h}"
            ))),
            _ => Ok(()),
        }
    }
}

/// `If-None-Match` on a read: true when the client already has this version (304).
pub fn not_modified(headers: &HeaderMap, version: i64) -> bool {
    headers
        .get(IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|h| lists(h, version))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(name: axum::http::HeaderName, value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, value.parse().unwrap());
        h
    }

    #[test]
    fn if_match_accepts_the_current_version_in_any_form() {
        let check = |h: &HeaderMap| IfMatch::from_headers(h).check(3);
        for v in [r#"W/"3""#, r#""3""#, "*", r#"W/"1", W/"3""#] {
            assert!(check(&with(IF_MATCH, v)).is_ok(), "{v}");
            assert!(IfMatch::from_version(Some(v)).check(3).is_ok(), "{v}");
        }
        assert!(check(&HeaderMap::new()).is_ok());
        assert!(IfMatch::from_version(None).check(3).is_ok());
        let err = check(&with(IF_MATCH, r#"W/"2""#)).unwrap_err();
        assert_eq!(err.status(), 412);
        let not_text = axum::http::HeaderValue::from_bytes(b"W/\"3\"\xe9").unwrap();
        let not_text = HeaderMap::from_iter([(IF_MATCH, not_text)]);
        assert_eq!(check(&not_text).unwrap_err().status(), 412);
    }

    #[test]
    fn if_none_match_reports_an_unchanged_version() {
        assert!(not_modified(&with(IF_NONE_MATCH, r#"W/"3""#), 3));
        assert!(!not_modified(&with(IF_NONE_MATCH, r#"W/"2""#), 3));
        assert!(!not_modified(&HeaderMap::new(), 3));
    }
}
