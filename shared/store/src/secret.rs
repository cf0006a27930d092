//! The bearer secrets this service issues (SCIM tokens, setup links, setup sessions):
//! `<prefix><id, 32 hex><secret, 64 hex>`, of which only the secret's SHA-256 digest is
//! stored, and compared in constant time.

use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use uuid::Uuid;

const SECRET_BYTES: usize = 32;

/// A new random secret, as 64 hex digits.
pub(crate) fn new() -> String {
    let mut secret = [0u8; SECRET_BYTES];
    rand::rng().fill_bytes(&mut secret);
    secret.iter().map(|b| format!("{b:02x}")).collect()
}

/// What is stored of a secret.
pub(crate) fn digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// Whether `secret` is the one whose digest is stored.
pub(crate) fn matches(secret: &str, stored: &[u8]) -> bool {
    bool::from(digest(secret).as_slice().ct_eq(stored))
}

/// `<prefix><id><secret>` as presented → (id, secret); `None` for any other shape.
pub(crate) fn split(text: &str, prefix: &str) -> Option<(Uuid, String)> {
    let rest = text.trim().strip_prefix(prefix)?;
    if rest.len() != 32 + 2 * SECRET_BYTES || !rest.is_ascii() {
        return None;
    }
    let (id, secret) = rest.split_at(32);
    Some((Uuid::try_parse(id).ok()?, secret.to_owned()))
}

/// What is handed out: `<prefix><id><secret>`.
pub(crate) fn join(prefix: &str, id: Uuid, secret: &str) -> String {
    format!("{prefix}{}{secret}", id.simple())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_split_only_in_their_own_shape_and_match_only_themselves() {
        let id = Uuid::new_v4();
        let secret = new();
        assert_eq!(secret.len(), 64);
        let text = join("setup_", id, &secret);
        assert_eq!(split(&text, "setup_"), Some((id, secret.clone())));
        assert_eq!(
            split(&format!(" {text} "), "setup_"),
            Some((id, secret.clone()))
        );
        assert_eq!(split(&text[1..], "setup_"), None);
        assert_eq!(split(&format!("{text}0"), "setup_"), None);
        assert_eq!(split(&text, "scim_"), None);
        assert!(matches(&secret, &digest(&secret)));
        assert!(!matches(&new(), &digest(&secret)));
    }
}
