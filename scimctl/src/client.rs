//! A typed client of the admin API: each call sends and receives the API's own types
//! (`scim_admin_api`), so a change of the contract is a compile error here.

use anyhow::Context;
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use scim_admin_api::ErrorBody;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::io::Write;

/// The admin API, as this command line calls it.
pub(crate) struct Admin {
    http: reqwest::Client,
    url: String,
    token: String,
    actor: String,
}

/// A request body, or none.
pub(crate) const NO_BODY: Option<&()> = None;

impl Admin {
    /// `url` is the admin listener's base URL; `actor` names the caller in the audit log.
    pub(crate) fn new(url: &str, token: String, actor: String) -> Admin {
        Admin {
            http: reqwest::Client::new(),
            url: url.trim_end_matches('/').to_owned(),
            token,
            actor,
        }
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}/admin/v1{path}", self.url))
            .bearer_auth(&self.token)
            .header("x-admin-actor", &self.actor)
    }

    /// Sends the request; a failure answer is an error with the API's message.
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&impl Serialize>,
    ) -> anyhow::Result<Response> {
        let mut req = self.request(method, path);
        if let Some(body) = body {
            req = req.json(body);
        }
        let res = progress::waiting(path, req.send()).await.map_err(|e| {
            Failure::Unavailable(format!("reaching the admin API at {}: {e}", self.url))
        })?;
        let status = res.status();
        if status.is_success() {
            return Ok(res);
        }
        let text = res.text().await.unwrap_or_default();
        let message = serde_json::from_str::<ErrorBody>(&text).map_or(text, |e| e.error);
        Err(match status {
            StatusCode::UNAUTHORIZED => Failure::Unauthorized(message),
            s if s.is_server_error() || s == StatusCode::TOO_MANY_REQUESTS => {
                Failure::Unavailable(format!("{status}: {message}"))
            }
            _ => Failure::Refused(format!("{status}: {message}")),
        }
        .into())
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&impl Serialize>,
    ) -> anyhow::Result<T> {
        let res = self.send(method, path, body).await?;
        res.json()
            .await
            .with_context(|| format!("reading the admin API's answer to {path}"))
    }

    pub(crate) async fn get<T: DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        self.call(Method::GET, path, NO_BODY).await
    }

    pub(crate) async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: Option<&impl Serialize>,
    ) -> anyhow::Result<T> {
        self.call(Method::POST, path, body).await
    }

    pub(crate) async fn put<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &impl Serialize,
    ) -> anyhow::Result<T> {
        self.call(Method::PUT, path, Some(body)).await
    }

    pub(crate) async fn patch<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &impl Serialize,
    ) -> anyhow::Result<T> {
        self.call(Method::PATCH, path, Some(body)).await
    }

    /// A DELETE that answers a body.
    pub(crate) async fn delete<T: DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        self.call(Method::DELETE, path, NO_BODY).await
    }

    /// A DELETE that answers `204 No Content`.
    pub(crate) async fn delete_empty(&self, path: &str) -> anyhow::Result<()> {
        self.send(Method::DELETE, path, NO_BODY).await.map(drop)
    }

    /// Copies what a GET answers to standard output as it arrives, counting its lines on
    /// a terminal.
    pub(crate) async fn download(&self, path: &str) -> anyhow::Result<()> {
        let mut res = self.send(Method::GET, path, NO_BODY).await?;
        let lines = progress::lines(path);
        let mut out = std::io::stdout().lock();
        while let Some(chunk) = res.chunk().await.map_err(|e| {
            Failure::Unavailable(format!("reading the admin API's answer to {path}: {e}"))
        })? {
            out.write_all(&chunk)?;
            lines.inc(chunk.iter().filter(|b| **b == b'\n').count() as u64);
        }
        out.flush()?;
        lines.finish_and_clear();
        Ok(())
    }
}

/// Why a call to the admin API failed, as scimctl's exit code tells it
/// (docs/admin-api.md, "Exit codes").
#[derive(Debug)]
pub(crate) enum Failure {
    /// No operator token, or one the ingress does not hold.
    Unauthorized(String),
    /// The API refused the request (4xx): invalid, not found, in conflict.
    Refused(String),
    /// The API, or what it needs, is unreachable or unavailable (5xx, 429): retry.
    Unavailable(String),
}

impl Failure {
    /// 3 refused, 4 unavailable, 5 unauthorized; 1 is any other error, 2 a usage error.
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            Failure::Refused(_) => 3,
            Failure::Unavailable(_) => 4,
            Failure::Unauthorized(_) => 5,
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Unauthorized(m) => {
                write!(
                    f,
                    "{m} (set ADMIN_TOKEN to one of the ingress's operator tokens)"
                )
            }
            Failure::Refused(m) | Failure::Unavailable(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Failure {}

/// What a person at a terminal sees while a call takes long: nothing on a pipe, nothing
/// for a call that answers within a second.
mod progress {
    use indicatif::{ProgressBar, ProgressStyle};
    use std::io::IsTerminal;
    use std::time::Duration;

    /// Runs `call`; after a second without an answer, a spinner on standard error.
    pub(super) async fn waiting<T>(what: &str, call: impl std::future::Future<Output = T>) -> T {
        if !std::io::stderr().is_terminal() {
            return call.await;
        }
        let mut call = std::pin::pin!(call);
        tokio::select! {
            done = &mut call => return done,
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
        let spinner = ProgressBar::new_spinner().with_message(format!("waiting for {what}"));
        spinner.enable_steady_tick(Duration::from_millis(100));
        let done = call.await;
        spinner.finish_and_clear();
        done
    }

    /// A count of lines received, on standard error when it is a terminal.
    pub(super) fn lines(what: &str) -> ProgressBar {
        if !std::io::stderr().is_terminal() {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::new_spinner().with_message(format!("{what}: lines received"));
        if let Ok(style) = ProgressStyle::with_template("{spinner} {pos} {msg} ({elapsed})") {
            bar.set_style(style);
        }
        bar.enable_steady_tick(Duration::from_millis(100));
        bar
    }
}
