//! The setup page's files: one HTML page, its script and its style sheet, compiled in.
//! The page makes no request outside this host, and its Content-Security-Policy says so.

use axum::extract::Path;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::SetupError;

const INDEX: &str = include_str!("page/index.html");
const SCRIPT: &str = include_str!("page/setup.js");
const STYLE: &str = include_str!("page/setup.css");

/// Only this host's own script, style and API; no inline script or style, no frames, no
/// forms posted anywhere.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
                   connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; \
                   frame-ancestors 'none'";

pub(super) async fn index() -> Response {
    serve("text/html; charset=utf-8", INDEX)
}

pub(super) async fn asset(Path(name): Path<String>) -> Result<Response, SetupError> {
    match name.as_str() {
        "setup.js" => Ok(serve("text/javascript; charset=utf-8", SCRIPT)),
        "setup.css" => Ok(serve("text/css; charset=utf-8", STYLE)),
        _ => Err(SetupError::NoSuchAction),
    }
}

fn serve(content_type: &'static str, body: &'static str) -> Response {
    let mut res = body.into_response();
    let headers = res.headers_mut();
    for (name, value) in [
        (header::CONTENT_TYPE, content_type),
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        // A new release's page is never mixed with the old one's script.
        (header::CACHE_CONTROL, "no-cache"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    res
}
