//! The admin API as tests call it: a typed call for each thing a test sets up or reads
//! (it panics, naming the call and the answer, unless the API answers a success), and
//! [`Admin::send`] for what a test sends to see how it is refused.

use reqwest::{Method, StatusCode};
use scim_admin_api::{
    AuditRecord, CreatedDirectory, DeletedDirectory, Directory, Discarded, IssuedSetupLink,
    NewToken, ParkedEvent, Republished, RequestEntry, SetupLink, Team, Token,
};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::fmt::Display;
use std::time::Duration;

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
        read(&method, path, answer)
    }

    /// A request that must create what it asks for (201), its answer read as `T`.
    async fn create<T: DeserializeOwned>(&self, path: &str, body: Option<Value>) -> T {
        let (status, answer) = self.send(Method::POST, path, body).await;
        assert_eq!(status, StatusCode::CREATED, "POST {path}: {answer}");
        read(&Method::POST, path, answer)
    }

    /// A request that must succeed with no body (204).
    async fn call_empty(&self, method: Method, path: &str) {
        let (status, answer) = self.send(method.clone(), path, None).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{method} {path}: {answer}");
    }

    pub async fn create_directory(&self, name: &str, idp: &str) -> CreatedDirectory {
        let body = json!({"name": name, "idp": idp});
        self.create("/directories", Some(body)).await
    }

    pub async fn directory(&self, dir: impl Display) -> Directory {
        self.call(Method::GET, &format!("/directories/{dir}"), None)
            .await
    }

    pub async fn delete_directory(&self, dir: impl Display) -> DeletedDirectory {
        self.call(Method::DELETE, &format!("/directories/{dir}"), None)
            .await
    }

    /// `PUT …/{setting}` (`seat-limit`, `trusted-domains`, `access-rules`,
    /// `inspection`, `team-mapping`) with `body`.
    pub async fn set(&self, dir: impl Display, setting: &str, body: Value) -> Directory {
        self.call(
            Method::PUT,
            &format!("/directories/{dir}/{setting}"),
            Some(body),
        )
        .await
    }

    /// `GET /pipeline`.
    pub async fn pipeline(&self) -> scim_admin_api::Pipeline {
        self.call(Method::GET, "/pipeline", None).await
    }

    /// Waits until every event committed so far is published and applied: the outbox is
    /// empty and every consumer has acknowledged everything.
    pub async fn settled(&self) {
        crate::eventually(
            Duration::from_secs(30),
            "the pipeline to settle",
            || async {
                let p = self.pipeline().await;
                let done = p.outbox.waiting == 0
                    && p.consumers
                        .iter()
                        .all(|c| c.pending == 0 && c.ack_pending == 0);
                done.then_some(())
            },
        )
        .await;
    }

    /// Issues a SCIM token; `body` as `POST …/tokens` takes it (`None`: no expiry).
    pub async fn issue_token(&self, dir: impl Display, body: Option<Value>) -> NewToken {
        self.create(&format!("/directories/{dir}/tokens"), body)
            .await
    }

    pub async fn tokens(&self, dir: impl Display) -> Vec<Token> {
        self.call(Method::GET, &format!("/directories/{dir}/tokens"), None)
            .await
    }

    pub async fn revoke_token(&self, dir: impl Display, token: impl Display) {
        self.call_empty(
            Method::DELETE,
            &format!("/directories/{dir}/tokens/{token}"),
        )
        .await
    }

    /// Creates a team (201: a new one).
    pub async fn create_team(&self, dir: impl Display, name: &str) -> Team {
        let body = json!({"name": name});
        self.create(&format!("/directories/{dir}/teams"), Some(body))
            .await
    }

    pub async fn teams(&self, dir: impl Display) -> Vec<Team> {
        self.call(Method::GET, &format!("/directories/{dir}/teams"), None)
            .await
    }

    /// The directory's request log; `query` as `GET …/requests` takes it.
    pub async fn requests(&self, dir: impl Display, query: &str) -> Vec<RequestEntry> {
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

    /// The events the relay set aside; `query` as `GET /outbox/parked` takes it.
    pub async fn parked(&self, query: &str) -> Vec<ParkedEvent> {
        self.call(Method::GET, &format!("/outbox/parked{query}"), None)
            .await
    }

    pub async fn republish(&self, seq: i64) -> Republished {
        let path = format!("/outbox/parked/{seq}/republish");
        self.call(Method::POST, &path, None).await
    }

    pub async fn discard(&self, seq: i64) -> Discarded {
        self.call(Method::DELETE, &format!("/outbox/parked/{seq}"), None)
            .await
    }

    /// Issues a setup link (72 hours), allowed to change the directory's controls or
    /// not.
    pub async fn issue_setup_link(
        &self,
        dir: impl Display,
        allow_controls: bool,
    ) -> IssuedSetupLink {
        let body = json!({"allow_controls": allow_controls});
        self.create(&format!("/directories/{dir}/setup-links"), Some(body))
            .await
    }

    pub async fn revoke_setup_link(&self, dir: impl Display, link: impl Display) -> SetupLink {
        let path = format!("/directories/{dir}/setup-links/{link}");
        self.call(Method::DELETE, &path, None).await
    }
}

fn read<T: DeserializeOwned>(method: &Method, path: &str, answer: Value) -> T {
    serde_json::from_value(answer.clone())
        .unwrap_or_else(|e| panic!("{method} {path}: {e}: {answer}"))
}
