//! The media type a SCIM answer is written in: `application/scim+json`, or
//! `application/json` for a client that asks for that rather (RFC 7644 §3.8: a service
//! provider SHOULD honour `Accept: application/json`; OneLogin's connector requires it).

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::http::header::{ACCEPT, CONTENT_TYPE};
use axum::middleware::Next;
use axum::response::Response;
use scim_core::schema::SCIM_CONTENT_TYPE;

const JSON: &str = "application/json";

/// Writes the answer's content type as the request's `Accept` prefers.
pub(crate) async fn negotiate(req: Request, next: Next) -> Response {
    let plain = req
        .headers()
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(prefers_plain_json);
    let mut res = next.run(req).await;
    if plain
        && res
            .headers()
            .get(CONTENT_TYPE)
            .is_some_and(|v| v == SCIM_CONTENT_TYPE)
    {
        res.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static(JSON));
    }
    res
}

/// Whether an `Accept` header prefers `application/json` to `application/scim+json`: by
/// their q-values, and at equal ones by order. Anything else (`*/*`, no mention of
/// either) keeps SCIM's own type.
fn prefers_plain_json(accept: &str) -> bool {
    let (mut json, mut scim) = (None, None);
    for (at, range) in accept.split(',').enumerate() {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
            })
            .next()
            .unwrap_or(1.0);
        match media.as_str() {
            JSON => json = Some((q, at)),
            SCIM_CONTENT_TYPE => scim = Some((q, at)),
            _ => {}
        }
    }
    match (json, scim) {
        (Some((jq, _)), None) => jq > 0.0,
        (Some((jq, ja)), Some((sq, sa))) => jq > sq || (jq == sq && jq > 0.0 && ja < sa),
        (None, _) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_json_only_when_the_client_prefers_it() {
        for accept in [
            "application/json",
            "application/json, text/plain, */*",
            "application/json, application/scim+json",
            "application/scim+json;q=0.5, application/json",
            "Application/JSON; charset=utf-8",
        ] {
            assert!(prefers_plain_json(accept), "{accept}");
        }
        for accept in [
            "application/scim+json",
            "*/*",
            "text/html",
            "application/scim+json, application/json",
            "application/json;q=0.2, application/scim+json",
            "application/json;q=0",
            "",
        ] {
            assert!(!prefers_plain_json(accept), "{accept}");
        }
    }
}
