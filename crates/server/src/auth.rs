//! Authentication: bearer keys checked against a short-lived cache of the
//! key table, so the hot path rarely touches the database.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use switchyard_api::NanoUsd;
use switchyard_store::{Billing, KeyRecord, Store, hash_key, now_ms};

use crate::error::GatewayError;

/// How long a cached key or balance is trusted. Changes made by another
/// process (the CLI) take effect within this time.
const CACHE_TTL: Duration = Duration::from_secs(1);

/// The caller of a request: its key and its account's live balance.
#[derive(Clone, Debug)]
pub struct Caller {
    /// The key used (shared with the cache: no copy per request).
    pub key: Arc<KeyRecord>,
    /// The account's balance view.
    pub account: Arc<AccountLive>,
}

/// An account's balance as seen by this process: the stored balance when it
/// was loaded, minus what requests here have spent since.
#[derive(Debug)]
pub struct AccountLive {
    loaded: RwLock<(NanoUsd, Instant)>,
    spent_since_load: AtomicI64,
}

impl AccountLive {
    /// Current balance estimate.
    pub fn balance(&self) -> NanoUsd {
        let base = self.loaded.read().map(|g| g.0).unwrap_or_default();
        NanoUsd(base.0 - self.spent_since_load.load(Ordering::Relaxed))
    }

    /// Records a settled cost at once, before the database write.
    pub fn debit(&self, cost: NanoUsd) {
        self.spent_since_load.fetch_add(cost.0, Ordering::Relaxed);
    }

    fn stale(&self) -> bool {
        self.loaded.read().map(|g| g.1.elapsed() > CACHE_TTL).unwrap_or(true)
    }

    fn reload(&self, balance: NanoUsd) {
        if let Ok(mut g) = self.loaded.write() {
            *g = (balance, Instant::now());
            self.spent_since_load.store(0, Ordering::Relaxed);
        }
    }
}

/// Key and account cache in front of the store.
#[derive(Debug)]
pub struct Auth {
    store: Store,
    keys: RwLock<HashMap<String, (Arc<KeyRecord>, Instant)>>,
    accounts: RwLock<HashMap<String, Arc<AccountLive>>>,
}

/// Extracts the bearer token (or Anthropic-style `x-api-key`).
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    if let Some(v) = headers.get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let v = v.trim();
        let token = v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")).unwrap_or(v).trim();
        return (!token.is_empty()).then_some(token);
    }
    headers.get("x-api-key").and_then(|v| v.to_str().ok()).map(str::trim).filter(|t| !t.is_empty())
}

impl Auth {
    /// A cache over `store`.
    pub fn new(store: Store) -> Auth {
        Auth { store, keys: RwLock::default(), accounts: RwLock::default() }
    }

    /// Authenticates a request's headers.
    pub async fn authenticate(&self, headers: &HeaderMap) -> Result<Caller, GatewayError> {
        let token = bearer(headers).ok_or_else(|| {
            GatewayError::Unauthorized("No auth credentials found: send Authorization: Bearer <key>".into())
        })?;
        let hash = hash_key(token);
        let key = self.key(&hash).await?;
        let Some(key) = key else {
            return Err(GatewayError::Unauthorized("User not found: the API key is not valid".into()));
        };
        if key.disabled {
            return Err(GatewayError::Unauthorized("This API key is disabled".into()));
        }
        if key.expires_at.is_some_and(|t| t <= now_ms()) {
            return Err(GatewayError::Unauthorized("This API key has expired".into()));
        }
        let account = self.account(&key.account_id, key.billing).await?;
        Ok(Caller { key, account })
    }

    async fn key(&self, hash: &str) -> Result<Option<Arc<KeyRecord>>, GatewayError> {
        if let Ok(map) = self.keys.read()
            && let Some((rec, at)) = map.get(hash)
            && at.elapsed() < CACHE_TTL
        {
            return Ok(Some(rec.clone()));
        }
        let rec = self.store.key_by_hash(hash).await?.map(Arc::new);
        if let (Some(rec), Ok(mut map)) = (&rec, self.keys.write()) {
            map.insert(hash.to_owned(), (rec.clone(), Instant::now()));
        }
        Ok(rec)
    }

    async fn account(&self, id: &str, billing: Billing) -> Result<Arc<AccountLive>, GatewayError> {
        let existing = self.accounts.read().ok().and_then(|m| m.get(id).cloned());
        let live = match existing {
            Some(live) => live,
            None => {
                let live = Arc::new(AccountLive {
                    loaded: RwLock::new((NanoUsd::ZERO, Instant::now() - CACHE_TTL * 2)),
                    spent_since_load: AtomicI64::new(0),
                });
                match self.accounts.write() {
                    Ok(mut m) => m.entry(id.to_owned()).or_insert(live).clone(),
                    Err(_) => live,
                }
            }
        };
        // Only prepaid accounts need a current balance before each request.
        if billing == Billing::Prepaid && live.stale() {
            let credits = self.store.credits(id).await?;
            live.reload(credits.balance());
        }
        Ok(live)
    }

    /// Forgets cached keys (after a change made through this process).
    pub fn invalidate(&self) {
        if let Ok(mut m) = self.keys.write() {
            m.clear();
        }
    }
}
