//! Directories and their SCIM bearer tokens.

use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::{PgExecutor, PgPool};
use subtle::ConstantTimeEq;
use uuid::Uuid;

/// Tokens start with this, so secret scanners can recognize a leaked one.
pub const TOKEN_PREFIX: &str = "scim_";
const SECRET_BYTES: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directory {
    pub id: Uuid,
    pub name: String,
    pub idp: String,
}

/// A newly issued token: the only time the plain text exists.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub id: Uuid,
    pub token: String,
}

pub async fn create(
    db: impl PgExecutor<'_>,
    name: &str,
    idp: &str,
) -> Result<Directory, sqlx::Error> {
    let id = Uuid::now_v7();
    sqlx::query("INSERT INTO directories (id, name, idp) VALUES ($1, $2, $3)")
        .bind(id)
        .bind(name)
        .bind(idp)
        .execute(db)
        .await?;
    Ok(Directory {
        id,
        name: name.to_owned(),
        idp: idp.to_owned(),
    })
}

/// Issues a token for a directory: `scim_<token id, 32 hex><secret, 64 hex>`.
pub async fn issue_token(
    db: impl PgExecutor<'_>,
    directory_id: Uuid,
) -> Result<IssuedToken, sqlx::Error> {
    let id = Uuid::new_v4();
    let mut secret = [0u8; SECRET_BYTES];
    rand::rng().fill_bytes(&mut secret);
    let secret_hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
    sqlx::query("INSERT INTO tokens (id, directory_id, secret_sha256) VALUES ($1, $2, $3)")
        .bind(id)
        .bind(directory_id)
        .bind(Sha256::digest(secret_hex.as_bytes()).as_slice())
        .execute(db)
        .await?;
    Ok(IssuedToken {
        id,
        token: format!("{TOKEN_PREFIX}{}{secret_hex}", id.simple()),
    })
}

/// The directory a presented token belongs to, or `None` for an unknown, malformed or
/// revoked token. The secret is compared in constant time.
pub async fn authenticate(pool: &PgPool, token: &str) -> Result<Option<Uuid>, sqlx::Error> {
    let Some(rest) = token.strip_prefix(TOKEN_PREFIX) else {
        return Ok(None);
    };
    if rest.len() != 32 + 2 * SECRET_BYTES || !rest.is_ascii() {
        return Ok(None);
    }
    let (id, secret) = rest.split_at(32);
    let Ok(id) = Uuid::try_parse(id) else {
        return Ok(None);
    };
    let row: Option<(Uuid, Vec<u8>)> = sqlx::query_as(
        "SELECT directory_id, secret_sha256 FROM tokens WHERE id = $1 AND revoked_at IS NULL",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    Ok(row.and_then(|(directory_id, stored)| {
        let presented = Sha256::digest(secret.as_bytes());
        bool::from(presented.as_slice().ct_eq(&stored)).then_some(directory_id)
    }))
}
