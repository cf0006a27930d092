//! The setup page's share of the admin API. The page calls `/setup/api/…`; that is the
//! admin API's `/admin/v1/directories/{the session's directory}/…`, answered by the very
//! handlers `scimctl` reaches, so every action has one implementation. Only what a
//! setup link may see and do passes, its changes need the session's CSRF token, the
//! directory's controls only where the link allows them, and the link is the actor in
//! the audit log and the events.

use axum::Router;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{Method, Uri};
use axum::response::Response;
use scim_store::setup::Session;
use tower::ServiceExt;

use super::{Changing, SetupError};
use crate::AppState;
use crate::admin::{Actor, Via};

/// The admin API, unchecked: reached only through [`forward`].
#[derive(Clone)]
pub(super) struct AdminApi(pub Router);

/// What a request below `/setup/api/` may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reach {
    /// Read the directory's setup: its settings, tokens (never their secrets), the
    /// users and groups received, the request history, teams and their members, roles
    /// and the groups mapped to them.
    Read,
    /// Issue and revoke SCIM tokens; create, rename and delete teams (the admin API
    /// refuses what the directory's team mode does not allow); map groups and
    /// attribute values to teams, and groups to roles; open the request inspector
    /// window. (The roles themselves are the product's: an operator's to change.)
    Change,
    /// Change the directory's trusted domains, seat limit or team mode, or decide its
    /// deprovisioning hold: only where the operator allowed it when issuing the link.
    Control,
}

fn reach(method: &Method, path: &[&str]) -> Option<Reach> {
    if path.iter().any(|s| s.is_empty() || *s == "." || *s == "..") {
        return None;
    }
    let read = method == Method::GET;
    Some(match (method.as_str(), path) {
        (
            _,
            [
                "directory" | "groups" | "users" | "requests" | "tokens" | "teams" | "team-values"
                | "hold" | "roles" | "role-mappings",
            ],
        )
        | (_, ["teams", _, "members"])
            if read =>
        {
            Reach::Read
        }
        ("POST", ["tokens" | "teams"])
        | ("DELETE", ["tokens", _])
        | ("PATCH" | "DELETE", ["teams", _])
        | ("PUT", ["inspection"])
        | ("PUT", ["teams", _, "groups"])
        | ("POST", ["teams", _, "groups", "preview"])
        | ("PUT", ["team-values"])
        | ("POST", ["team-values", "preview"])
        | ("PUT", ["role-mappings"])
        | ("POST", ["role-mappings", "preview"]) => Reach::Change,
        ("PUT", ["seat-limit" | "trusted-domains" | "access-rules" | "team-mapping"])
        | ("POST", ["team-mapping", "preview"])
        | ("POST", ["hold", "apply" | "keep"]) => Reach::Control,
        _ => return None,
    })
}

/// The admin API's path for `path` (below `/setup/api/`) in `directory`, with the query.
fn admin_uri(directory: uuid::Uuid, path: &[&str], query: Option<&str>) -> Option<Uri> {
    let mut uri = format!("/admin/v1/directories/{directory}");
    if path != ["directory"] {
        for segment in path {
            uri.push('/');
            uri.push_str(segment);
        }
    }
    if let Some(q) = query {
        uri.push('?');
        uri.push_str(q);
    }
    uri.parse().ok()
}

pub(super) async fn forward(
    State(state): State<AppState>,
    axum::Extension(AdminApi(admin)): axum::Extension<AdminApi>,
    req: Request,
) -> Result<Response, SetupError> {
    let (mut parts, body) = req.into_parts();
    let rest = parts
        .uri
        .path()
        .strip_prefix("/setup/api/")
        .unwrap_or_default()
        .to_owned();
    let path: Vec<&str> = rest.split('/').collect();
    let reach = reach(&parts.method, &path).ok_or(SetupError::NoSuchAction)?;
    let session = match reach {
        Reach::Read => Session::from_request_parts(&mut parts, &state).await?,
        Reach::Change | Reach::Control => Changing::from_request_parts(&mut parts, &state).await?.0,
    };
    if reach == Reach::Control && !session.allow_controls {
        return Err(SetupError::NotAllowed(
            "this setup link may not change the directory's trusted domains, seat limit or \
             team mode, nor decide a deprovisioning hold: ask the product's support",
        ));
    }
    // The page's requests count against its directory's allowance, as its identity
    // provider's do: a link holder can slow only their own directory.
    state
        .quotas
        .admit_or_retry_after(session.directory)
        .map_err(SetupError::TooMany)?;
    parts.uri =
        admin_uri(session.directory, &path, parts.uri.query()).ok_or(SetupError::NoSuchAction)?;
    // A fresh set: the outer route's path parameter must not reach the admin routes'
    // own, and nothing else of this request is theirs to read.
    parts.extensions = axum::http::Extensions::new();
    parts
        .extensions
        .insert(Actor(super::actor(&session), Via::SetupLink));
    let res = admin.oneshot(Request::from_parts(parts, body)).await;
    Ok(res.unwrap_or_else(|never| match never {}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_pass_changes_are_named_and_the_rest_is_refused() {
        let get = Method::GET;
        assert_eq!(reach(&get, &["directory"]), Some(Reach::Read));
        assert_eq!(reach(&get, &["teams", "x", "members"]), Some(Reach::Read));
        assert_eq!(reach(&Method::POST, &["tokens"]), Some(Reach::Change));
        assert_eq!(
            reach(&Method::POST, &["teams", "x", "groups", "preview"]),
            Some(Reach::Change)
        );
        assert_eq!(reach(&Method::POST, &["teams"]), Some(Reach::Change));
        assert_eq!(reach(&Method::PATCH, &["teams", "x"]), Some(Reach::Change));
        assert_eq!(reach(&Method::DELETE, &["teams", "x"]), Some(Reach::Change));
        assert_eq!(reach(&Method::PUT, &["inspection"]), Some(Reach::Change));
        assert_eq!(reach(&Method::PUT, &["seat-limit"]), Some(Reach::Control));
        assert_eq!(reach(&Method::GET, &["hold"]), Some(Reach::Read));
        assert_eq!(
            reach(&Method::POST, &["hold", "keep"]),
            Some(Reach::Control)
        );
        assert_eq!(reach(&Method::PUT, &["hold-policy"]), None);
        assert_eq!(reach(&Method::PUT, &["team-mapping"]), Some(Reach::Control));
        assert_eq!(
            reach(&Method::POST, &["team-mapping", "preview"]),
            Some(Reach::Control)
        );
        // What only operators do: delete the directory, add members by hand, issue
        // setup links, read the audit log.
        assert_eq!(reach(&Method::DELETE, &["directory"]), None);
        assert_eq!(reach(&Method::POST, &["teams", "x", "members"]), None);
        assert_eq!(reach(&Method::PATCH, &["teams"]), None);
        assert_eq!(reach(&get, &["setup-links"]), None);
        assert_eq!(reach(&Method::POST, &["setup-links"]), None);
        assert_eq!(reach(&get, &["snapshot"]), None);
        assert_eq!(reach(&get, &["teams", "..", "members"]), None);
        assert_eq!(reach(&get, &["tokens", ""]), None);
        assert_eq!(reach(&Method::PUT, &["tokens"]), None);
        // Groups map to roles from the page; the roles themselves and a member's role
        // set by hand are the operator's.
        assert_eq!(reach(&get, &["roles"]), Some(Reach::Read));
        assert_eq!(reach(&get, &["role-mappings"]), Some(Reach::Read));
        assert_eq!(reach(&Method::PUT, &["role-mappings"]), Some(Reach::Change));
        assert_eq!(
            reach(&Method::POST, &["role-mappings", "preview"]),
            Some(Reach::Change)
        );
        assert_eq!(reach(&Method::PUT, &["roles"]), None);
        assert_eq!(reach(&Method::PUT, &["members", "x", "role"]), None);
    }

    #[test]
    fn the_page_path_is_the_admin_path_in_the_sessions_directory() {
        let dir = uuid::Uuid::nil();
        assert_eq!(
            admin_uri(dir, &["directory"], None).unwrap().to_string(),
            format!("/admin/v1/directories/{dir}")
        );
        assert_eq!(
            admin_uri(dir, &["teams", "t", "members"], Some("limit=5"))
                .unwrap()
                .to_string(),
            format!("/admin/v1/directories/{dir}/teams/t/members?limit=5")
        );
    }
}
