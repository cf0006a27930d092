//! How a request's path is read: as identity providers send it when an admin pastes a
//! base URL with a trailing slash, or a client spells an endpoint in lower case. An
//! endpoint's name in any case, a trailing slash and doubled slashes all reach the
//! endpoint; anything else is still not found.

use axum::extract::Request;
use axum::http::Uri;

/// The endpoints under a directory's base URL, as the routes spell them.
const ENDPOINTS: [&str; 7] = [
    "Users",
    "Groups",
    "ServiceProviderConfig",
    "ResourceTypes",
    "Schemas",
    "Bulk",
    ".search",
];

/// Other names clients give endpoints: the Microsoft SCIM reference client asks for
/// `/serviceConfiguration`.
const ALIASES: [(&str, &str); 1] = [("serviceConfiguration", "ServiceProviderConfig")];

/// The routes' spelling of an endpoint name (or an alias of one) given in any case.
pub(crate) fn endpoint(name: &str) -> Option<&'static str> {
    ENDPOINTS
        .into_iter()
        .find(|e| e.eq_ignore_ascii_case(name))
        .or_else(|| {
            ALIASES
                .into_iter()
                .find(|(alias, _)| alias.eq_ignore_ascii_case(name))
                .map(|(_, endpoint)| endpoint)
        })
}

/// The path the routes know for a SCIM path spelled otherwise; `None` when it is
/// already theirs, or is not under `/scim/v2/`.
fn canonical(path: &str) -> Option<String> {
    let mut segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match segments.as_slice() {
        [scim, v2, _directory, ..]
            if scim.eq_ignore_ascii_case("scim") && v2.eq_ignore_ascii_case("v2") => {}
        _ => return None,
    }
    segments[0] = "scim";
    segments[1] = "v2";
    if let Some(name) = segments.get(3).and_then(|s| endpoint(s)) {
        segments[3] = name;
    }
    let canonical = format!("/{}", segments.join("/"));
    (canonical != path).then_some(canonical)
}

/// Rewrites the request's path to the routes' spelling, keeping its query.
pub(crate) async fn normalize(mut req: Request) -> Request {
    if let Some(path) = canonical(req.uri().path()) {
        let uri = match req.uri().query() {
            Some(query) => format!("{path}?{query}"),
            None => path,
        };
        if let Ok(uri) = uri.parse::<Uri>() {
            *req.uri_mut() = uri;
        }
    }
    req
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIR: &str = "/scim/v2/0193e4a1-7a2b-7c3d-8e4f-5a6b7c8d9e0f";

    #[test]
    fn endpoint_names_slashes_and_case_are_read_as_the_routes_spell_them() {
        for (sent, routed) in [
            ("/users", "/Users"),
            ("/USERS/abc/", "/Users/abc"),
            ("//Users", "/Users"),
            ("/Users//abc", "/Users/abc"),
            ("/groups/", "/Groups"),
            ("/serviceproviderconfig", "/ServiceProviderConfig"),
            ("/serviceConfiguration", "/ServiceProviderConfig"),
            ("/resourcetypes/User", "/ResourceTypes/User"),
            ("/schemas", "/Schemas"),
            ("/bulk", "/Bulk"),
            ("/.SEARCH", "/.search"),
            ("/Users/.search/", "/Users/.search"),
        ] {
            assert_eq!(
                canonical(&format!("{DIR}{sent}")),
                Some(format!("{DIR}{routed}")),
                "{sent}"
            );
        }
        assert_eq!(
            canonical(&format!("/SCIM/V2{}/Users", &DIR[8..])),
            Some(format!("{DIR}/Users"))
        );
    }

    #[test]
    fn paths_already_routed_or_elsewhere_are_left_alone() {
        for path in [
            format!("{DIR}/Users"),
            format!("{DIR}/Users/abc"),
            // An id keeps its case; an unknown endpoint stays unknown.
            format!("{DIR}/Groups/ABC"),
            format!("{DIR}/Userz"),
            "/healthz".to_owned(),
            "/scim/v2".to_owned(),
        ] {
            assert_eq!(canonical(&path), None, "{path}");
        }
        assert_eq!(
            canonical("//healthz"),
            None,
            "only SCIM paths are rewritten"
        );
    }
}
