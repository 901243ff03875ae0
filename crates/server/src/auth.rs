//! Authentication: bearer keys checked against a short-lived cache of the
//! key table, so the hot path rarely touches the database.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use switchyard_api::NanoUsd;
use switchyard_store::{Billing, KeyRecord, LimitReset, Store, hash_key};

use crate::error::GatewayError;

/// How long a cached key or balance is trusted. Changes made by another
/// process (the CLI) take effect within this time.
const CACHE_TTL: Duration = Duration::from_secs(1);

/// Where "now" comes from: limit periods start at UTC boundaries of this
/// clock's time, and keys expire by it. Tests inject a [`ManualClock`].
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Unix milliseconds.
    fn now_ms(&self) -> i64;
}

/// The system's clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        switchyard_store::now_ms()
    }
}

/// A clock that only moves when told to.
#[derive(Debug, Default)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    /// Stopped at `now_ms`.
    pub fn new(now_ms: i64) -> ManualClock {
        ManualClock(AtomicI64::new(now_ms))
    }

    /// Moves to `now_ms`.
    pub fn set(&self, now_ms: i64) {
        self.0.store(now_ms, Ordering::Relaxed);
    }

    /// Moves forward by `ms`.
    pub fn advance(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::Relaxed);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// The caller of a request: its key, its account's live balance and, for a
/// key with a spend limit, its live spend in the current limit period.
#[derive(Clone, Debug)]
pub struct Caller {
    /// The key used (shared with the cache: no copy per request).
    pub key: Arc<KeyRecord>,
    /// The account's balance view.
    pub account: Arc<AccountLive>,
    /// The key's spend against its limit; `None` for a key without one.
    pub limit: Option<Arc<KeyLimitLive>>,
    /// The fleet's shared spend reservations (Redis), when configured.
    pub reservations: Option<Arc<crate::fleet::SharedReservations>>,
}

impl Caller {
    /// Records a settled cost against the account's balance and the key's
    /// limit at once, before the database write.
    pub fn debit(&self, cost: NanoUsd) {
        self.account.debit(cost);
        if let Some(limit) = &self.limit {
            limit.debit(cost);
        }
    }

    /// Records the list cost of a generation served with the account's own
    /// provider key (BYOK) against the key's limit, when the key counts BYOK
    /// spend in its limit; the account's balance is not touched (the
    /// provider bills the account).
    pub fn debit_byok(&self, list_cost: NanoUsd) {
        if let Some(limit) = &self.limit
            && self.key.include_byok_in_limit
        {
            limit.debit(list_cost);
        }
    }

    /// A 402 when the key has spent its limit in the current period.
    pub fn ensure_within_key_limit(&self) -> Result<(), GatewayError> {
        let (Some(limit), Some(live)) = (self.key.limit, &self.limit) else {
            return Ok(());
        };
        let Some((used, window)) = live.usage() else {
            return Ok(());
        };
        if used < limit {
            return Ok(());
        }
        let when = window.reset_note();
        Err(GatewayError::PaymentRequired(format!(
            "Key limit reached: this API key has spent ${used} of its ${limit} limit{}; {when}",
            match window.reset {
                Some(LimitReset::Daily) => " today",
                Some(LimitReset::Weekly) => " this week",
                Some(LimitReset::Monthly) => " this month",
                None => "",
            }
        )))
    }
}

/// The limit period a key's spend is counted over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LimitWindow {
    /// How the limit resets.
    pub reset: Option<LimitReset>,
    /// Unix ms the period started (`None`: the key's whole life).
    pub start: Option<i64>,
    /// Unix ms the period ends and spend starts over.
    pub end: Option<i64>,
}

impl LimitWindow {
    /// When the limit starts over, for error messages.
    pub fn reset_note(&self) -> String {
        match self.reset {
            Some(reset) => {
                format!("its {reset} limit resets at {}", crate::routes::chrono_like_iso(self.end.unwrap_or_default()))
            }
            None => "it does not reset: raise or remove it with PATCH /api/v1/keys/{hash}".to_owned(),
        }
    }

    /// The period of `reset` containing `now_ms`.
    pub fn at(reset: Option<LimitReset>, now_ms: i64) -> LimitWindow {
        match reset {
            None => LimitWindow { reset, start: None, end: None },
            Some(r) => {
                let (start, end) = r.window(now_ms);
                LimitWindow { reset, start: Some(start), end: Some(end) }
            }
        }
    }

    fn bounds(&self) -> Option<(i64, i64)> {
        self.start.zip(self.end)
    }
}

/// A key's spend in its current limit period as seen by this process: the
/// stored spend when it was loaded, plus what requests here have spent since.
#[derive(Debug, Default)]
pub struct KeyLimitLive {
    loaded: RwLock<Option<(LimitWindow, NanoUsd, Instant)>>,
    spent_since_load: AtomicI64,
    /// Worst-case costs of requests under way (see [`crate::spend`]).
    pub(crate) reserved: AtomicI64,
}

impl KeyLimitLive {
    /// Spend in the loaded period and that period (`None` before the first load).
    pub fn usage(&self) -> Option<(NanoUsd, LimitWindow)> {
        let (window, base, _) = (*self.loaded.read().ok()?)?;
        Some((NanoUsd(base.0 + self.spent_since_load.load(Ordering::Relaxed)), window))
    }

    /// Records a settled cost at once, before the database write.
    pub fn debit(&self, cost: NanoUsd) {
        self.spent_since_load.fetch_add(cost.0, Ordering::Relaxed);
    }

    /// Stale when older than the TTL or loaded for another period (the
    /// clock crossed a boundary, or the key's reset changed).
    fn stale(&self, window: &LimitWindow) -> bool {
        match self.loaded.read().ok().and_then(|g| *g) {
            Some((w, _, at)) => w != *window || at.elapsed() > CACHE_TTL,
            None => true,
        }
    }

    fn reload(&self, window: LimitWindow, used: NanoUsd) {
        if let Ok(mut g) = self.loaded.write() {
            *g = Some((window, used, Instant::now()));
            self.spent_since_load.store(0, Ordering::Relaxed);
        }
    }
}

/// An account's balance as seen by this process: the stored balance when it
/// was loaded, minus what requests here have spent since.
#[derive(Debug)]
pub struct AccountLive {
    loaded: RwLock<(NanoUsd, Instant)>,
    spent_since_load: AtomicI64,
    /// Worst-case costs of requests under way (see [`crate::spend`]).
    pub(crate) reserved: AtomicI64,
}

impl AccountLive {
    /// A zero balance, loaded long ago (for unit tests of callers).
    #[cfg(test)]
    pub(crate) fn for_tests() -> AccountLive {
        AccountLive {
            loaded: RwLock::new((NanoUsd::ZERO, Instant::now())),
            spent_since_load: AtomicI64::new(0),
            reserved: AtomicI64::new(0),
        }
    }

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

/// Key, account and key-limit cache in front of the store.
#[derive(Debug)]
pub struct Auth {
    store: Store,
    clock: Arc<dyn Clock>,
    keys: RwLock<HashMap<String, (Arc<KeyRecord>, Instant)>>,
    accounts: RwLock<HashMap<String, Arc<AccountLive>>>,
    limits: RwLock<HashMap<String, Arc<KeyLimitLive>>>,
    reservations: Option<Arc<crate::fleet::SharedReservations>>,
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
    /// A cache over `store`, on the system clock.
    pub fn new(store: Store) -> Auth {
        Auth::with_clock(store, Arc::new(SystemClock))
    }

    /// A cache over `store` whose limit periods and expiries follow `clock`.
    pub fn with_clock(store: Store, clock: Arc<dyn Clock>) -> Auth {
        Auth {
            store,
            clock,
            keys: RwLock::default(),
            accounts: RwLock::default(),
            limits: RwLock::default(),
            reservations: None,
        }
    }

    /// Reserves spend in the fleet's shared book instead of in-process.
    pub fn with_reservations(mut self, book: Arc<crate::fleet::SharedReservations>) -> Auth {
        self.reservations = Some(book);
        self
    }

    /// Unix milliseconds by this cache's clock.
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
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
        let now = self.clock.now_ms();
        if key.expires_at.is_some_and(|t| t <= now) {
            return Err(GatewayError::Unauthorized("This API key has expired".into()));
        }
        let account = self.account(&key.account_id, key.billing).await?;
        let limit = match key.limit {
            Some(_) if !key.is_management => Some(self.key_limit(&key, now).await?),
            _ => None,
        };
        Ok(Caller { key, account, limit, reservations: self.reservations.clone() })
    }

    /// The key's live spend in its limit period, reloaded (one indexed sum
    /// over its generations in the period) once per TTL or when the period
    /// changes.
    async fn key_limit(&self, key: &KeyRecord, now: i64) -> Result<Arc<KeyLimitLive>, GatewayError> {
        let existing = self.limits.read().ok().and_then(|m| m.get(&key.hash).cloned());
        let live = match existing {
            Some(live) => live,
            None => {
                let live = Arc::new(KeyLimitLive::default());
                match self.limits.write() {
                    Ok(mut m) => m.entry(key.hash.clone()).or_insert(live).clone(),
                    Err(_) => live,
                }
            }
        };
        let window = LimitWindow::at(key.limit_reset, now);
        if live.stale(&window) {
            let used = self.store.key_usage_in(&key.hash, window.bounds(), key.include_byok_in_limit).await?;
            live.reload(window, used);
        }
        Ok(live)
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
                    reserved: AtomicI64::new(0),
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

    /// Authenticates a management key; an inference key gets a 403 saying
    /// that only a management key can `what` (e.g. "manage API keys").
    pub async fn manager(&self, headers: &HeaderMap, what: &str) -> Result<Caller, GatewayError> {
        let caller = self.authenticate(headers).await?;
        if !caller.key.is_management {
            return Err(GatewayError::Forbidden(format!("Only a management key can {what}; this is an inference key")));
        }
        Ok(caller)
    }

    /// Forgets cached keys (after a change made through this process); live
    /// spend is kept, it reloads by itself.
    pub fn invalidate(&self) {
        if let Ok(mut m) = self.keys.write() {
            m.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_store::{GenerationRecord, KeySpec, days_from_civil};

    const DAY: i64 = 86_400_000;

    /// A data directory removed on drop.
    struct Dir(std::path::PathBuf);

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn spent(id: &str, account: &str, key: &str, cost: i64, at: i64) -> GenerationRecord {
        GenerationRecord {
            id: id.to_owned(),
            account_id: account.to_owned(),
            key_hash: key.to_owned(),
            model: "a/b".into(),
            tokens_prompt: 1,
            tokens_completion: 1,
            cost: NanoUsd(cost),
            latency_ms: 1,
            generation_time_ms: 1,
            finish_reason: Some("stop".into()),
            status: 200,
            attempts: serde_json::json!([]),
            created_at: at,
            ..GenerationRecord::default()
        }
    }

    fn headers(plaintext: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(axum::http::header::AUTHORIZATION, format!("Bearer {plaintext}").parse().unwrap());
        h
    }

    /// A key limited to 30 n$ per period, with 40 n$ spent two minutes before
    /// the period ends: refused until the clock crosses the boundary, then
    /// allowed again until this process spends the limit.
    #[tokio::test]
    async fn limits_start_over_when_the_clock_crosses_a_utc_boundary() {
        let dir = Dir(std::env::temp_dir().join(format!("switchyard-auth-{}", std::process::id())));
        let store = Store::open_data_dir(&dir.0).await.unwrap();
        let acct = store.create_account("a", Billing::Postpaid).await.unwrap();
        // Wednesday 2025-03-05 ends a day; Sunday 2025-03-09 a week; Monday
        // 2025-03-31 a month; a key without reset never starts over.
        let cases = [
            (Some(LimitReset::Daily), days_from_civil(2025, 3, 6) * DAY, "2025-03-06T00:00:00.000Z"),
            (Some(LimitReset::Weekly), days_from_civil(2025, 3, 10) * DAY, "2025-03-10T00:00:00.000Z"),
            (Some(LimitReset::Monthly), days_from_civil(2025, 4, 1) * DAY, "2025-04-01T00:00:00.000Z"),
            (None, days_from_civil(2025, 4, 1) * DAY, "does not reset"),
        ];
        for (i, (reset, boundary, says)) in cases.into_iter().enumerate() {
            let spec =
                KeySpec { name: format!("k{i}"), limit: Some(NanoUsd(30)), limit_reset: reset, ..KeySpec::default() };
            let key = store.create_key_with(&acct.id, &spec).await.unwrap();
            let rec = spent(&format!("g{i}"), &acct.id, &key.record.hash, 40, boundary - 120_000);
            store.insert_generations(&[rec]).await.unwrap();
            let clock = Arc::new(ManualClock::new(boundary - 1));
            let auth = Auth::with_clock(store.clone(), clock.clone());
            let h = headers(&key.plaintext);

            let caller = auth.authenticate(&h).await.unwrap();
            let err = caller.ensure_within_key_limit().unwrap_err();
            assert_eq!(err.status(), 402, "{reset:?}");
            let msg = err.to_string();
            assert!(msg.contains("Key limit reached") && msg.contains(says), "{msg}");

            clock.advance(1);
            let caller = auth.authenticate(&h).await.unwrap();
            if reset.is_none() {
                assert!(caller.ensure_within_key_limit().is_err(), "a lifetime limit never starts over");
                continue;
            }
            caller.ensure_within_key_limit().unwrap();
            // Spend settled here counts at once, before it is stored.
            caller.debit(NanoUsd(20));
            auth.authenticate(&h).await.unwrap().ensure_within_key_limit().unwrap();
            caller.debit(NanoUsd(10));
            let again = auth.authenticate(&h).await.unwrap();
            assert_eq!(again.ensure_within_key_limit().unwrap_err().status(), 402);
        }
    }

    #[tokio::test]
    async fn keys_expire_by_the_injected_clock() {
        let dir = Dir(std::env::temp_dir().join(format!("switchyard-auth-exp-{}", std::process::id())));
        let store = Store::open_data_dir(&dir.0).await.unwrap();
        let acct = store.create_account("a", Billing::Postpaid).await.unwrap();
        let expires = days_from_civil(2030, 1, 1) * DAY;
        let spec = KeySpec { name: "e".into(), expires_at: Some(expires), ..KeySpec::default() };
        let key = store.create_key_with(&acct.id, &spec).await.unwrap();
        let clock = Arc::new(ManualClock::new(expires - 1));
        let auth = Auth::with_clock(store.clone(), clock.clone());
        let caller = auth.authenticate(&headers(&key.plaintext)).await.unwrap();
        assert!(caller.limit.is_none(), "no limit, nothing tracked");
        clock.set(expires);
        let err = auth.authenticate(&headers(&key.plaintext)).await.unwrap_err();
        assert_eq!(err.status(), 401);
        assert!(err.to_string().contains("expired"));
    }
}
