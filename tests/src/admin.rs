//! The admin API as tests call it: a typed call for each thing a test sets up or reads
//! (it panics, naming the call and the answer, unless the API answers a success), and
//! [`Admin::send`] for what a test sends to see how it is refused.

use reqwest::{Method, StatusCode};
use scim_admin_api::{
    AuditRecord, CreatedDirectory, DeletedDirectory, Directory, IssuedSetupLink, Member, NewToken,
    Preview, RequestEntry, SetupLink, Team, TeamMapping, TeamMember, Token, ValueTable,
};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::process::OPERATOR_TOKEN;

/// A client of one admin API, holding a token and the actor it names.
#[derive(Clone)]
pub struct Admin {
    /// The admin listener's URL, without `/admin/v1`.
    pub url: String,
    token: String,
    http: reqwest::Client,
}

impl Admin {
    /// The admin API at `url` (its listener), with the operator token tests run with.
    pub fn new(url: impl Into<String>) -> Admin {
        Admin {
            url: url.into(),
            token: OPERATOR_TOKEN.into(),
            http: reqwest::Client::new(),
        }
    }

    /// The same API, called with another bearer token.
    pub fn with_token(&self, token: &str) -> Admin {
        Admin {
            token: token.into(),
            ..self.clone()
        }
    }

    /// Sends a request below `/admin/v1` as actor "alice"; the status and the JSON body
    /// (`null` when the body is not JSON).
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .http
            .request(method, format!("{}/admin/v1{path}", self.url))
            .bearer_auth(&self.token)
            .header("x-admin-actor", "alice");
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req.send().await.expect("admin request");
        let status = res.status();
        let text = res.text().await.expect("admin answer");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// A request that must succeed, its answer read as `T`.
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> T {
        let (status, answer) = self.send(method.clone(), path, body).await;
        assert!(status.is_success(), "{method} {path}: {status} {answer}");
        serde_json::from_value(answer.clone())
            .unwrap_or_else(|e| panic!("{method} {path}: {e}: {answer}"))
    }

    /// A request that must succeed with no body (204).
    async fn call_empty(&self, method: Method, path: &str) {
        let (status, answer) = self.send(method.clone(), path, None).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{method} {path}: {answer}");
    }

    pub async fn create_directory(&self, name: &str, idp: &str) -> CreatedDirectory {
        let body = json!({"name": name, "idp": idp});
        self.call(Method::POST, "/directories", Some(body)).await
    }

    pub async fn directory(&self, dir: Uuid) -> Directory {
        self.call(Method::GET, &format!("/directories/{dir}"), None)
            .await
    }

    pub async fn directories(&self) -> Vec<Directory> {
        self.call(Method::GET, "/directories", None).await
    }

    pub async fn delete_directory(&self, dir: Uuid) -> DeletedDirectory {
        self.call(Method::DELETE, &format!("/directories/{dir}"), None)
            .await
    }

    /// `PUT …/{setting}` (`seat-limit`, `trusted-domains`, `access-rules`,
    /// `inspection`, `team-mapping`) with `body`.
    pub async fn set(&self, dir: Uuid, setting: &str, body: Value) -> Directory {
        self.call(
            Method::PUT,
            &format!("/directories/{dir}/{setting}"),
            Some(body),
        )
        .await
    }

    pub async fn set_team_mapping(&self, dir: Uuid, mapping: &TeamMapping) -> Directory {
        let body = serde_json::to_value(mapping).expect("a team mapping as JSON");
        self.set(dir, "team-mapping", body).await
    }

    /// Issues a SCIM token; `body` as `POST …/tokens` takes it (`None`: no expiry).
    pub async fn issue_token(&self, dir: Uuid, body: Option<Value>) -> NewToken {
        self.call(Method::POST, &format!("/directories/{dir}/tokens"), body)
            .await
    }

    pub async fn tokens(&self, dir: Uuid) -> Vec<Token> {
        self.call(Method::GET, &format!("/directories/{dir}/tokens"), None)
            .await
    }

    pub async fn revoke_token(&self, dir: Uuid, token: Uuid) {
        self.call_empty(
            Method::DELETE,
            &format!("/directories/{dir}/tokens/{token}"),
        )
        .await
    }

    pub async fn create_team(&self, dir: Uuid, name: &str) -> Team {
        let body = json!({"name": name});
        self.call(
            Method::POST,
            &format!("/directories/{dir}/teams"),
            Some(body),
        )
        .await
    }

    pub async fn teams(&self, dir: Uuid) -> Vec<Team> {
        self.call(Method::GET, &format!("/directories/{dir}/teams"), None)
            .await
    }

    /// Maps the team to the group names (not pinned).
    pub async fn map_groups(&self, dir: Uuid, team: Uuid, groups: &[&str]) -> Team {
        let body = json!({"groups": groups});
        let path = format!("/directories/{dir}/teams/{team}/groups");
        self.call(Method::PUT, &path, Some(body)).await
    }

    pub async fn team_members(&self, dir: Uuid, team: Uuid) -> Vec<TeamMember> {
        let path = format!("/directories/{dir}/teams/{team}/members");
        self.call(Method::GET, &path, None).await
    }

    pub async fn set_value_table(&self, dir: Uuid, table: &ValueTable) -> ValueTable {
        let body = serde_json::to_value(table).expect("a value table as JSON");
        let path = format!("/directories/{dir}/team-values");
        self.call(Method::PUT, &path, Some(body)).await
    }

    /// `POST …/{change}/preview` with `body`.
    pub async fn preview(&self, dir: Uuid, change: &str, body: Value) -> Preview {
        let path = format!("/directories/{dir}/{change}/preview");
        self.call(Method::POST, &path, Some(body)).await
    }

    /// The directory's members; `query` as `GET …/members` takes it (`""` for none).
    pub async fn members(&self, dir: Uuid, query: &str) -> Vec<Member> {
        self.call(
            Method::GET,
            &format!("/directories/{dir}/members{query}"),
            None,
        )
        .await
    }

    /// The directory's request log; `query` as `GET …/requests` takes it.
    pub async fn requests(&self, dir: Uuid, query: &str) -> Vec<RequestEntry> {
        self.call(
            Method::GET,
            &format!("/directories/{dir}/requests{query}"),
            None,
        )
        .await
    }

    /// The audit log; `query` as `GET /audit` takes it.
    pub async fn audit(&self, query: &str) -> Vec<AuditRecord> {
        self.call(Method::GET, &format!("/audit{query}"), None)
            .await
    }

    /// Issues a setup link (72 hours), allowed to change the directory's controls or
    /// not.
    pub async fn issue_setup_link(&self, dir: Uuid, allow_controls: bool) -> IssuedSetupLink {
        let body = json!({"allow_controls": allow_controls});
        let path = format!("/directories/{dir}/setup-links");
        self.call(Method::POST, &path, Some(body)).await
    }

    pub async fn revoke_setup_link(&self, dir: Uuid, link: Uuid) -> SetupLink {
        let path = format!("/directories/{dir}/setup-links/{link}");
        self.call(Method::DELETE, &path, None).await
    }
}
