//! The benchmark's HTTP client: HTTP/1.1 over one kept-alive connection per request in
//! flight, and nothing else (no pool, redirects or decompression). The client shares
//! the machine with the system it measures, so what it costs is taken from the figures.

use bytes::Bytes;
use http::{HeaderValue, Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use serde::Serialize;
use tokio::net::TcpStream;

/// A directory's SCIM endpoint.
#[derive(Clone)]
pub struct Target {
    /// `host:port` of the ingress.
    pub authority: String,
    /// `/scim/v2/<directory>`.
    pub base_path: String,
    pub authorization: HeaderValue,
}

impl Target {
    pub fn new(ingress_url: &str, directory: uuid::Uuid, token: &str) -> anyhow::Result<Target> {
        let uri: http::Uri = ingress_url.parse()?;
        anyhow::ensure!(
            uri.scheme_str() == Some("http"),
            "the benchmark speaks plain HTTP: {ingress_url}"
        );
        let authority = uri
            .authority()
            .ok_or_else(|| anyhow::anyhow!("no host in {ingress_url}"))?
            .to_string();
        Ok(Target {
            authority,
            base_path: format!("{}/scim/v2/{directory}", uri.path().trim_end_matches('/')),
            authorization: HeaderValue::from_str(&format!("Bearer {token}"))?,
        })
    }
}

/// One request of a workload, relative to the directory's base URL.
pub struct Call {
    pub method: Method,
    pub path: String,
    pub body: Option<Vec<u8>>,
}

impl Call {
    pub fn get(path: impl Into<String>) -> Call {
        Call {
            method: Method::GET,
            path: path.into(),
            body: None,
        }
    }

    /// A request with a JSON body.
    pub fn with(method: Method, path: impl Into<String>, body: &impl Serialize) -> Call {
        Call {
            method,
            path: path.into(),
            // Serializing our own values cannot fail.
            body: serde_json::to_vec(body).ok(),
        }
    }
}

pub struct Conn {
    target: Target,
    send: SendRequest<Full<Bytes>>,
}

impl Conn {
    pub async fn open(target: &Target) -> anyhow::Result<Conn> {
        let stream = TcpStream::connect(&target.authority).await?;
        stream.set_nodelay(true)?;
        let (send, connection) = http1::handshake(TokioIo::new(stream)).await?;
        // Drives the connection until either side closes it.
        tokio::spawn(connection);
        Ok(Conn {
            target: target.clone(),
            send,
        })
    }

    /// Sends `call` and reads the whole answer.
    pub async fn send(&mut self, call: &Call) -> anyhow::Result<(StatusCode, Bytes)> {
        self.send.ready().await?;
        let mut req = Request::builder()
            .method(call.method.clone())
            .uri(format!("{}{}", self.target.base_path, call.path))
            .header(header::HOST, &self.target.authority)
            .header(header::AUTHORIZATION, self.target.authorization.clone());
        if call.body.is_some() {
            req = req.header(header::CONTENT_TYPE, "application/scim+json");
        }
        let body = Full::new(Bytes::from(call.body.clone().unwrap_or_default()));
        let res = self.send.send_request(req.body(body)?).await?;
        let status = res.status();
        Ok((status, res.into_body().collect().await?.to_bytes()))
    }
}
