//! The setup guides of `docs/`, served beside the setup page (`/setup/guides/{idp}`) as
//! plain text: the page's steps are their short form, and a customer's admin who wants
//! the rest (each field, what each error means) reads the guide the operator reads.

use axum::extract::Path;
use axum::response::Response;

use crate::pages;

/// The guide for an identity provider kind, as the API spells it.
fn guide(idp: &str) -> Option<&'static str> {
    Some(match idp {
        "okta" => include_str!("../../../docs/okta.md"),
        "entra" => include_str!("../../../docs/entra.md"),
        "onelogin" => include_str!("../../../docs/onelogin.md"),
        "jumpcloud" => include_str!("../../../docs/jumpcloud.md"),
        "ping" => include_str!("../../../docs/ping.md"),
        "rippling" => include_str!("../../../docs/rippling.md"),
        "generic" => include_str!("../../../docs/generic-scim.md"),
        _ => return None,
    })
}

pub(super) async fn serve(Path(idp): Path<String>) -> Response {
    match guide(&idp) {
        Some(text) => pages::file(text, "text/plain; charset=utf-8", "default-src 'none'"),
        None => pages::not_found("no guide for that identity provider"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_provider_the_page_offers_has_its_guide() {
        for idp in scim_core::profile::Idp::ALL {
            let text = guide(idp.as_str()).unwrap_or_else(|| panic!("{idp:?}"));
            assert!(text.starts_with("# "), "{idp:?}");
        }
        assert_eq!(guide("../README"), None);
    }
}
