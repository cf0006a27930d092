//! Whose setup page this is: the deploying product's name, logo and support contact
//! (`PRODUCT_NAME`, `PRODUCT_LOGO_FILE`, `SUPPORT_CONTACT`), read once at start-up, so
//! a customer's admin sees whose page it is and whom to ask when a link has expired.

use anyhow::Context;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use axum::{Json, body::Bytes};
use serde::{Deserialize, Serialize};
use std::path::Path;

use crate::{AppState, pages};

/// The largest logo accepted: it is held in memory and sent with every page view.
const LOGO_BYTES: usize = 256 * 1024;

/// The product the setup page is for.
#[derive(Debug, Clone, Default)]
pub(crate) struct Vendor {
    name: Option<String>,
    support: Option<Contact>,
    logo: Option<Logo>,
}

/// Whom a customer's admin asks: what the page shows and where it links.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Contact {
    pub text: String,
    pub href: String,
}

#[derive(Debug, Clone)]
struct Logo {
    content_type: &'static str,
    bytes: Bytes,
}

/// What the page reads at `/setup/vendor`, before any session.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct VendorView {
    pub name: Option<String>,
    pub support: Option<Contact>,
    /// Whether `/setup/logo` serves a logo.
    pub logo: bool,
}

impl Contact {
    /// An email address (linked with `mailto:`) or an http(s) URL; `None` for empty.
    pub(crate) fn parse(raw: &str) -> Result<Option<Contact>, String> {
        let text = raw.trim();
        if text.is_empty() {
            return Ok(None);
        }
        let href = if text.starts_with("https://") || text.starts_with("http://") {
            text.to_owned()
        } else if text.contains('@')
            && !text.starts_with('@')
            && !text.ends_with('@')
            && !text.contains(|c: char| c.is_whitespace() || c == ':' || c == '/')
        {
            format!("mailto:{text}")
        } else {
            return Err(format!(
                "SUPPORT_CONTACT {text:?} is neither an email address nor an http(s) URL"
            ));
        };
        if text.contains(char::is_whitespace) {
            return Err(format!("SUPPORT_CONTACT {text:?} has spaces in it"));
        }
        Ok(Some(Contact {
            text: text.trim_start_matches("mailto:").to_owned(),
            href,
        }))
    }
}

impl Vendor {
    /// From the configuration: a name (empty for none), a support contact and a logo
    /// file (PNG, SVG, JPEG or WebP; empty for none).
    pub(crate) fn new(name: &str, support: &str, logo_file: &str) -> anyhow::Result<Vendor> {
        let name = Some(name.trim().to_owned()).filter(|n| !n.is_empty());
        let support = Contact::parse(support).map_err(anyhow::Error::msg)?;
        let logo = match logo_file.trim() {
            "" => None,
            path => Some(Logo::read(Path::new(path))?),
        };
        Ok(Vendor {
            name,
            support,
            logo,
        })
    }

    pub(crate) fn view(&self) -> VendorView {
        VendorView {
            name: self.name.clone(),
            support: self.support.clone(),
            logo: self.logo.is_some(),
        }
    }
}

impl Logo {
    fn read(path: &Path) -> anyhow::Result<Logo> {
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        let content_type = match extension.as_deref() {
            Some("png") => "image/png",
            Some("svg") => "image/svg+xml",
            Some("jpg" | "jpeg") => "image/jpeg",
            Some("webp") => "image/webp",
            _ => anyhow::bail!(
                "PRODUCT_LOGO_FILE {} must be a .png, .svg, .jpg or .webp file",
                path.display()
            ),
        };
        let bytes = std::fs::read(path)
            .with_context(|| format!("reading PRODUCT_LOGO_FILE {}", path.display()))?;
        if bytes.len() > LOGO_BYTES {
            anyhow::bail!(
                "PRODUCT_LOGO_FILE {} has {} bytes; at most {LOGO_BYTES}",
                path.display(),
                bytes.len()
            );
        }
        Ok(Logo {
            content_type,
            bytes: bytes.into(),
        })
    }
}

pub(super) async fn vendor(State(state): State<AppState>) -> Json<VendorView> {
    Json(state.vendor.view())
}

pub(super) async fn logo(State(state): State<AppState>) -> Response {
    let Some(logo) = &state.vendor.logo else {
        return pages::not_found("no logo is configured");
    };
    // An SVG opened on its own runs nothing and loads nothing.
    let mut res = pages::file(
        logo.bytes.clone(),
        logo.content_type,
        "default-src 'none'; style-src 'unsafe-inline'",
    );
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("max-age=3600"),
    );
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_support_contact_is_an_email_address_or_a_web_address() {
        assert_eq!(Contact::parse("  "), Ok(None));
        let mail = Contact::parse("support@acme.com").unwrap().unwrap();
        assert_eq!(mail.href, "mailto:support@acme.com");
        assert_eq!(mail.text, "support@acme.com");
        let web = Contact::parse("https://acme.com/help").unwrap().unwrap();
        assert_eq!(web.href, "https://acme.com/help");
        for bad in [
            "call us",
            "javascript:alert(1)",
            "@acme",
            "a@b c",
            "https://a b",
        ] {
            assert!(Contact::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_logo_must_be_an_image_file_of_bounded_size() {
        let dir = std::env::temp_dir().join(format!("scim-logo-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let png = dir.join("logo.png");
        std::fs::write(&png, b"\x89PNG").unwrap();
        let vendor = Vendor::new("Acme", "", png.to_str().unwrap()).unwrap();
        assert!(vendor.view().logo);
        assert_eq!(vendor.view().name.as_deref(), Some("Acme"));
        let big = dir.join("big.png");
        std::fs::write(&big, vec![0u8; LOGO_BYTES + 1]).unwrap();
        assert!(Vendor::new("", "", big.to_str().unwrap()).is_err());
        let text = dir.join("logo.txt");
        std::fs::write(&text, b"x").unwrap();
        assert!(Vendor::new("", "", text.to_str().unwrap()).is_err());
        assert!(Vendor::new("", "", dir.join("none.png").to_str().unwrap()).is_err());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
