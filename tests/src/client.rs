//! A small SCIM client for tests and the benchmark.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[derive(Clone)]
pub struct Scim {
    pub http: reqwest::Client,
    /// The directory's SCIM base URL, e.g. `http://127.0.0.1:8080/scim/v2/<id>`.
    pub base_url: String,
    pub token: String,
}

/// A response: status, content type and parsed JSON body (`Null` when empty).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub content_type: String,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl Scim {
    pub fn new(base_url: impl Into<String>, token: impl Into<String>) -> Scim {
        Scim {
            http: reqwest::Client::new(),
            base_url: base_url.into(),
            token: token.into(),
        }
    }

    pub async fn send(&self, method: Method, path: &str, body: Option<&Value>) -> Reply {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base_url))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req
                .header("content-type", "application/scim+json")
                .body(b.to_string());
        }
        let res = req.send().await.expect("sending a SCIM request");
        let status = res.status();
        let headers = res.headers().clone();
        let content_type = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let text = res.text().await.expect("reading a SCIM response");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text)
                .unwrap_or_else(|_| panic!("response is not JSON ({status}): {text}"))
        };
        Reply {
            status,
            content_type,
            body,
            headers,
        }
    }

    pub async fn create_user(&self, body: &Value) -> Reply {
        self.send(Method::POST, "/Users", Some(body)).await
    }

    pub async fn get_user(&self, id: &str) -> Reply {
        self.send(Method::GET, &format!("/Users/{id}"), None).await
    }

    /// `GET /Users?filter=…` with the filter URL-encoded, as Okta sends it.
    pub async fn find_users(&self, filter: &str) -> Reply {
        let q = reqwest::Url::parse_with_params(
            "http://x/",
            &[("filter", filter), ("startIndex", "1"), ("count", "100")],
        )
        .expect("encoding a query");
        self.send(
            Method::GET,
            &format!("/Users?{}", q.query().unwrap_or_default()),
            None,
        )
        .await
    }

    pub async fn replace_user(&self, id: &str, body: &Value) -> Reply {
        self.send(Method::PUT, &format!("/Users/{id}"), Some(body))
            .await
    }

    pub async fn patch_user(&self, id: &str, operations: Value) -> Reply {
        let body = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": operations,
        });
        self.send(Method::PATCH, &format!("/Users/{id}"), Some(&body))
            .await
    }

    pub async fn create_group(&self, body: &Value) -> Reply {
        self.send(Method::POST, "/Groups", Some(body)).await
    }

    pub async fn patch_group(&self, id: &str, operations: Value) -> Reply {
        let body = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": operations,
        });
        self.send(Method::PATCH, &format!("/Groups/{id}"), Some(&body))
            .await
    }

    pub async fn delete_user(&self, id: &str) -> Reply {
        self.send(Method::DELETE, &format!("/Users/{id}"), None)
            .await
    }
}

/// An Okta-shaped user (what Okta's default attribute mapping pushes).
pub fn okta_user(email: &str, given: &str, family: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": email,
        "name": {"givenName": given, "familyName": family},
        "emails": [{"primary": true, "value": email, "type": "work"}],
        "displayName": format!("{given} {family}"),
        "locale": "en-US",
        "externalId": format!("00u{}", email.len()),
        "groups": [],
        "password": "not-stored",
        "active": true,
    })
}

/// The event types an Okta user's lifecycle publishes, in order: created, replaced
/// (PUT), deactivated and reactivated (PATCH of `active`), deleted.
pub const OKTA_USER_LIFECYCLE: [&str; 5] = [
    "user.created",
    "user.updated",
    "user.deactivated",
    "user.reactivated",
    "user.deleted",
];
