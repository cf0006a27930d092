//! Bearer-token authentication: a token belongs to exactly one directory, and is only
//! accepted under that directory's base URL.
//!
//! Successful lookups are cached per replica for `TOKEN_CACHE_SECONDS` (default 5).
//! When an admin revokes a token or changes a directory, every replica is told over
//! NATS ([`CONTROL_SUBJECT`]) and forgets the directory's entries at once; the time
//! limit bounds staleness should that message be lost. Failures are never cached.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::Response;
use futures::StreamExt;
use scim_core::ScimError;
use scim_store::directories::{self, Authenticated, Controls, TokenCheck};
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

/// The token that authenticated a request, put in its extensions (for `/Bulk`, which
/// logs each operation) and its response's (for the request log).
#[derive(Debug, Clone, Copy)]
pub struct TokenId(pub Uuid);

/// Core NATS subject on which replicas hear that a directory's tokens or controls
/// changed. Outside the event stream's subjects: these are not events.
pub const CONTROL_SUBJECT: &str = "scim-control.directory-changed";

/// Entries kept at most; past this the cache starts over (tokens are few per replica).
const MAX_ENTRIES: usize = 10_000;

pub struct TokenCache {
    ttl: Duration,
    /// Keyed by the token's SHA-256, so no plain token stays in memory.
    entries: Mutex<HashMap<[u8; 32], (Authenticated, Instant)>>,
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

    fn get(&self, key: &[u8; 32]) -> Option<Authenticated> {
        let entries = self.entries.lock().ok()?;
        // Trusted for the cache's time, and never past the token's expiry.
        let now = time::OffsetDateTime::now_utc();
        entries
            .get(key)
            .filter(|(caller, at)| {
                at.elapsed() < self.ttl && caller.expires_at.is_none_or(|e| e > now)
            })
            .map(|(caller, _)| caller.clone())
    }

    fn put(&self, key: [u8; 32], caller: Authenticated) {
        if self.ttl.is_zero() {
            return;
        }
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
            entries.insert(key, (caller, Instant::now()));
        }
    }

    /// Drops every entry of the directory: its next requests are checked afresh.
    pub fn forget_directory(&self, directory: Uuid) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.retain(|_, (caller, _)| caller.directory != directory);
        }
    }

    /// What `token` is, from the cache or the database, and whether the cache
    /// answered.
    pub async fn authenticate(
        &self,
        pool: &sqlx::PgPool,
        token: &str,
    ) -> Result<(TokenCheck, bool), sqlx::Error> {
        let key = Self::key(token);
        if let Some(caller) = self.get(&key) {
            return Ok((TokenCheck::Valid(caller), true));
        }
        let check = directories::authenticate(pool, token).await?;
        if let TokenCheck::Valid(caller) = &check {
            self.put(key, caller.clone());
        }
        Ok((check, false))
    }

    /// Forgets directories as replicas announce changes to them, until NATS closes the
    /// subscription.
    pub async fn follow_changes(&self, nats: async_nats::Client) {
        let mut changes = match nats.subscribe(CONTROL_SUBJECT).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "not following token revocations; the cache time bounds them");
                return;
            }
        };
        while let Some(message) = changes.next().await {
            if let Some(dir) = std::str::from_utf8(&message.payload)
                .ok()
                .and_then(|d| Uuid::try_parse(d).ok())
            {
                self.forget_directory(dir);
            }
        }
    }
}

/// Forgets what this replica cached of `directory` and tells every other replica to.
pub async fn announce_change(state: &AppState, directory: Uuid) {
    state.tokens.forget_directory(directory);
    let nats = &state.nats;
    let sent = nats
        .publish(CONTROL_SUBJECT, directory.to_string().into())
        .await;
    if let Err(e) = sent
        .map_err(|e| e.to_string())
        .and(nats.flush().await.map_err(|e| e.to_string()))
    {
        tracing::warn!(error = %e, %directory, "could not announce a directory change; replicas notice within TOKEN_CACHE_SECONDS");
    }
}

/// The token of an `Authorization: Bearer <token>` header (scheme in any case).
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
}

/// The directory a SCIM path names: `/scim/v2/<directory>/...`.
pub(crate) fn directory_of(path: &str) -> Option<Uuid> {
    let rest = path.strip_prefix("/scim/v2/")?;
    Uuid::try_parse(rest.split('/').next()?).ok()
}

pub async fn require_token(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let unauthorized = || {
        ApiError::from(ScimError::Unauthorized(
            "a valid bearer token is required".into(),
        ))
    };
    let token = bearer_token(req.headers()).ok_or_else(unauthorized)?;
    let (check, cached) = state.tokens.authenticate(&state.pool, token).await?;
    state.metrics.token_cache(cached);
    let caller = match check {
        TokenCheck::Valid(caller) => caller,
        TokenCheck::Expired => {
            return Err(ScimError::Unauthorized(
                "the bearer token expired: issue a new one for this directory and update the identity provider".into(),
            )
            .into());
        }
        TokenCheck::Refused => return Err(unauthorized()),
    };
    // A token is only good under its own directory's base URL.
    if directory_of(req.uri().path()) != Some(caller.directory) {
        return Err(unauthorized());
    }
    let inspecting = caller
        .inspect_until
        .is_some_and(|until| until > time::OffsetDateTime::now_utc());
    req.extensions_mut().insert(DirectoryId(caller.directory));
    req.extensions_mut().insert::<Controls>(caller.controls);
    req.extensions_mut().insert(TokenId(caller.token));
    req.extensions_mut().insert(caller.idp);
    let mut res = next.run(req).await;
    res.extensions_mut().insert(TokenId(caller.token));
    res.extensions_mut().insert(caller.idp);
    if inspecting {
        res.extensions_mut().insert(Inspecting);
    }
    Ok(res)
}

/// On a response while its directory's request inspector window is open: the request
/// log keeps what the request sent, whatever its outcome.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Inspecting;

#[cfg(test)]
mod tests {
    use super::*;
    use scim_core::profile::Idp;

    #[test]
    fn finds_the_directory_in_scim_paths_only() {
        let d = Uuid::now_v7();
        assert_eq!(directory_of(&format!("/scim/v2/{d}/Users/x")), Some(d));
        assert_eq!(directory_of(&format!("/scim/v2/{d}")), Some(d));
        assert_eq!(directory_of("/scim/v2/not-a-uuid/Users"), None);
        assert_eq!(directory_of("/healthz"), None);
    }

    #[test]
    fn cached_entries_expire_and_a_zero_ttl_caches_nothing() {
        let cache = TokenCache::new(Duration::from_millis(30));
        let key = TokenCache::key("scim_x");
        let caller = caller(Uuid::new_v4());
        cache.put(key, caller.clone());
        assert_eq!(cache.get(&key), Some(caller.clone()));
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(cache.get(&key), None);

        let off = TokenCache::new(Duration::ZERO);
        off.put(key, caller);
        assert_eq!(off.get(&key), None);
    }

    fn caller(directory: Uuid) -> Authenticated {
        Authenticated {
            directory,
            expires_at: None,
            idp: Idp::Okta,
            token: Uuid::new_v4(),
            controls: Controls::default(),
            inspect_until: None,
        }
    }

    #[test]
    fn a_cached_token_is_not_trusted_past_its_expiry() {
        let cache = TokenCache::new(Duration::from_secs(60));
        let now = time::OffsetDateTime::now_utc();
        let (live, expired) = (TokenCache::key("live"), TokenCache::key("expired"));
        let dir = Uuid::new_v4();
        cache.put(
            live,
            Authenticated {
                expires_at: Some(now + time::Duration::hours(1)),
                ..caller(dir)
            },
        );
        cache.put(
            expired,
            Authenticated {
                expires_at: Some(now - time::Duration::seconds(1)),
                ..caller(dir)
            },
        );
        assert!(cache.get(&live).is_some());
        assert_eq!(cache.get(&expired), None);
    }

    #[test]
    fn forgetting_a_directory_drops_only_its_entries() {
        let cache = TokenCache::new(Duration::from_secs(60));
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let (ka, ka2, kb) = (
            TokenCache::key("a"),
            TokenCache::key("a2"),
            TokenCache::key("b"),
        );
        cache.put(ka, caller(a));
        cache.put(ka2, caller(a));
        cache.put(kb, caller(b));
        cache.forget_directory(a);
        assert_eq!(cache.get(&ka), None);
        assert_eq!(cache.get(&ka2), None);
        assert_eq!(cache.get(&kb).map(|c| c.directory), Some(b));
    }
}
