//! Bearer-token authentication: a token belongs to exactly one directory, and is only
//! accepted under that directory's base URL.
//!
//! Successful lookups are cached per replica for `TOKEN_CACHE_SECONDS` (default 5), so
//! a revoked token stops working everywhere within that time. Failures are never cached.

use axum::extract::{Path, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;
use scim_shared::ScimError;
use scim_shared::db::directories;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use uuid::Uuid;

use crate::AppState;
use crate::error::ApiError;

/// The authenticated directory, put in request extensions for handlers.
#[derive(Debug, Clone, Copy)]
pub struct DirectoryId(pub Uuid);

/// Entries kept at most; past this the cache starts over (tokens are few per replica).
const MAX_ENTRIES: usize = 10_000;

pub struct TokenCache {
    ttl: Duration,
    /// Keyed by the token's SHA-256, so no plain token stays in memory.
    entries: Mutex<HashMap<[u8; 32], (Uuid, Instant)>>,
}

impl TokenCache {
    pub fn new(ttl: Duration) -> TokenCache {
        TokenCache {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn key(token: &str) -> [u8; 32] {
        Sha256::digest(token.as_bytes()).into()
    }

    fn get(&self, key: &[u8; 32]) -> Option<Uuid> {
        let entries = self.entries.lock().ok()?;
        entries
            .get(key)
            .filter(|(_, at)| at.elapsed() < self.ttl)
            .map(|(dir, _)| *dir)
    }

    fn put(&self, key: [u8; 32], directory: Uuid) {
        if self.ttl.is_zero() {
            return;
        }
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
            entries.insert(key, (directory, Instant::now()));
        }
    }

    /// The directory of `token`, from the cache or the database.
    pub async fn authenticate(
        &self,
        pool: &sqlx::PgPool,
        token: &str,
    ) -> Result<Option<Uuid>, sqlx::Error> {
        let key = Self::key(token);
        if let Some(dir) = self.get(&key) {
            return Ok(Some(dir));
        }
        let dir = directories::authenticate(pool, token).await?;
        if let Some(dir) = dir {
            self.put(key, dir);
        }
        Ok(dir)
    }
}

pub async fn require_token(
    State(state): State<AppState>,
    Path(params): Path<HashMap<String, String>>,
    mut req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let unauthorized = || {
        ApiError::from(ScimError::Unauthorized(
            "a valid bearer token is required".into(),
        ))
    };
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .ok_or_else(unauthorized)?;
    let directory = state
        .tokens
        .authenticate(&state.pool, token)
        .await?
        .ok_or_else(unauthorized)?;
    // A token is only good under its own directory's base URL.
    let path_directory = params
        .get("directory_id")
        .and_then(|d| Uuid::try_parse(d).ok());
    if path_directory != Some(directory) {
        return Err(unauthorized());
    }
    req.extensions_mut().insert(DirectoryId(directory));
    Ok(next.run(req).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cached_entries_expire_and_a_zero_ttl_caches_nothing() {
        let cache = TokenCache::new(Duration::from_millis(30));
        let key = TokenCache::key("scim_x");
        let dir = Uuid::new_v4();
        cache.put(key, dir);
        assert_eq!(cache.get(&key), Some(dir));
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(cache.get(&key), None);

        let off = TokenCache::new(Duration::ZERO);
        off.put(key, dir);
        assert_eq!(off.get(&key), None);
    }
}
