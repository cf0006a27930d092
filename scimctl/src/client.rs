//! A typed client of the admin API: each call sends and receives the API's own types
//! (`scim_admin_api`), so a change of the contract is a compile error here.

use anyhow::{Context, bail};
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
        let res = req
            .send()
            .await
            .with_context(|| format!("reaching the admin API at {}", self.url))?;
        let status = res.status();
        if status.is_success() {
            return Ok(res);
        }
        let text = res.text().await.unwrap_or_default();
        let message = serde_json::from_str::<ErrorBody>(&text).map_or(text, |e| e.error);
        if status == StatusCode::UNAUTHORIZED {
            bail!("{message} (set ADMIN_TOKEN to one of the ingress's operator tokens)");
        }
        bail!("{status}: {message}")
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

    /// Copies what a GET answers to standard output as it arrives.
    pub(crate) async fn download(&self, path: &str) -> anyhow::Result<()> {
        let mut res = self.send(Method::GET, path, NO_BODY).await?;
        let mut out = std::io::stdout().lock();
        while let Some(chunk) = res.chunk().await? {
            out.write_all(&chunk)?;
        }
        out.flush()?;
        Ok(())
    }
}
