//! The two web pages, compiled in: the setup page (public listener, for a customer's IT
//! admin) and the operator console (admin listener). Each is one HTML file and a script
//! over the JSON API, sharing a script module and a style sheet. They make no request
//! outside their own host, and their Content-Security-Policy says so.

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

/// Only the page's own host for script, style and API; no inline script or style, no
/// frames, no forms posted anywhere.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
                   connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; \
                   frame-ancestors 'none'";

const JS: &str = "text/javascript; charset=utf-8";

/// A page: its HTML and its own script, served at `/{name}` and `/{name}/{name}.js`
/// beside the shared `common.js`, `style.css` and `favicon.svg`.
pub(crate) struct Page {
    pub name: &'static str,
    pub html: &'static str,
    pub script: &'static str,
}

pub(crate) const SETUP: Page = Page {
    name: "setup",
    html: include_str!("setup.html"),
    script: include_str!("setup.js"),
};

pub(crate) const CONSOLE: Page = Page {
    name: "console",
    html: include_str!("console.html"),
    script: include_str!("console.js"),
};

const COMMON: &str = include_str!("common.js");
const STYLE: &str = include_str!("style.css");
const ICON: &str = include_str!("favicon.svg");

impl Page {
    /// The page's routes, for any router state.
    pub(crate) fn routes<S: Clone + Send + Sync + 'static>(&'static self) -> Router<S> {
        Router::new()
            .route(
                &format!("/{}", self.name),
                get(move || async move { serve("text/html; charset=utf-8", self.html) }),
            )
            .route(
                &format!("/{}/{{asset}}", self.name),
                get(move |Path(asset): Path<String>| async move { self.asset(&asset) }),
            )
    }

    fn asset(&self, name: &str) -> Response {
        match name {
            "common.js" => serve(JS, COMMON),
            "style.css" => serve("text/css; charset=utf-8", STYLE),
            "favicon.svg" => serve("image/svg+xml", ICON),
            _ if name.strip_suffix(".js") == Some(self.name) => serve(JS, self.script),
            _ => not_found("no such page"),
        }
    }
}

fn serve(content_type: &'static str, body: &'static str) -> Response {
    let mut res = file(body, content_type, CSP);
    let headers = res.headers_mut();
    for (name, value) in [
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        // A new release's page is never mixed with the old one's script.
        (header::CACHE_CONTROL, "no-cache"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    res
}

/// `body` served as `content_type` under the policy `csp`, never sniffed as anything
/// else: what the pages, the setup guides and the product's logo are served as.
pub(crate) fn file(
    body: impl IntoResponse,
    content_type: &'static str,
    csp: &'static str,
) -> Response {
    let mut res = body.into_response();
    let headers = res.headers_mut();
    for (name, value) in [
        (header::CONTENT_TYPE, content_type),
        (header::CONTENT_SECURITY_POLICY, csp),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    res
}

/// A 404 with the JSON error body the pages' API answers with.
pub(crate) fn not_found(error: &'static str) -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(serde_json::json!({ "error": error })),
    )
        .into_response()
}
