//! Request rate limits (reference §8.1): an optional cap per key per
//! interval, and the free-model caps per account (20 a minute; 50 a day
//! until the account has bought $10 of credits, then 1,000). Counters live
//! behind [`Counters`]: in-process ([`LocalCounters`]), or shared by a fleet
//! through Redis ([`crate::fleet::RedisCounters`]). Shared counters that
//! cannot be reached fail open (see [`crate::fleet`]).

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use serde::Deserialize;
use switchyard_api::NanoUsd;
use switchyard_store::Store;

use crate::error::GatewayError;

/// `[limits]`: request caps.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitSettings {
    /// Requests each key may make per `key_interval_secs` (0: no cap).
    pub key_requests: u32,
    /// The key cap's window, seconds.
    pub key_interval_secs: u64,
    /// Requests per minute to free models, per account.
    pub free_per_minute: u32,
    /// Requests per UTC day to free models, per account, before it has
    /// bought `free_credit_threshold_usd` of credits.
    pub free_per_day: u32,
    /// The same once it has.
    pub free_per_day_with_credits: u32,
    /// Lifetime credits that raise the daily free cap, USD.
    pub free_credit_threshold_usd: f64,
}

impl Default for LimitSettings {
    fn default() -> Self {
        LimitSettings {
            key_requests: 0,
            key_interval_secs: 10,
            free_per_minute: 20,
            free_per_day: 50,
            free_per_day_with_credits: 1000,
            free_credit_threshold_usd: 10.0,
        }
    }
}

/// A fixed window: which one (its start, Unix ms), how long, how many allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// Start of the window containing now, Unix ms.
    pub start_ms: i64,
    /// Length, ms.
    pub len_ms: i64,
    /// Requests allowed in it.
    pub limit: u32,
}

impl Window {
    /// The window of length `len_ms` (aligned to the Unix epoch, so UTC days
    /// start at midnight) that contains `now_ms`.
    pub fn containing(now_ms: i64, len_ms: i64, limit: u32) -> Window {
        let len_ms = len_ms.max(1);
        Window { start_ms: now_ms - now_ms.rem_euclid(len_ms), len_ms, limit }
    }

    /// When the window ends, Unix ms.
    pub fn reset_ms(&self) -> i64 {
        self.start_ms + self.len_ms
    }
}

/// What counting a request did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hit {
    /// Counted; this many requests remain in the window.
    Counted(u32),
    /// The window was already full; the request was not counted.
    Full,
}

/// Shared counters could not be reached.
#[derive(Debug, thiserror::Error)]
#[error("rate-limit counters unavailable: {0}")]
pub struct CountersUnavailable(pub String);

/// Request counters: count one request against a window, or say it is full.
pub trait Counters: Send + Sync {
    /// Counts a request for `subject` in `window`.
    fn hit<'a>(&'a self, subject: &'a str, window: Window) -> BoxFuture<'a, Result<Hit, CountersUnavailable>>;
}

/// One subject's current window.
struct Count {
    start_ms: i64,
    len_ms: i64,
    n: u32,
}

/// In-process counters: sharded maps of fixed windows, swept as they expire.
pub struct LocalCounters {
    /// Subject → its current window.
    shards: Vec<Mutex<HashMap<String, Count>>>,
    /// Past this many subjects in a shard, expired windows are swept.
    sweep_at: usize,
}

/// Shards, so concurrent requests of different keys rarely share a lock.
const SHARDS: usize = 16;
/// Past this many subjects in a shard, expired windows are swept.
const SWEEP_AT: usize = 10_000;

impl Default for LocalCounters {
    fn default() -> Self {
        LocalCounters::sweeping_at(SWEEP_AT)
    }
}

impl LocalCounters {
    /// Counters that sweep a shard once it holds `sweep_at` subjects.
    pub fn sweeping_at(sweep_at: usize) -> LocalCounters {
        LocalCounters { shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(), sweep_at }
    }
}

impl Counters for LocalCounters {
    fn hit<'a>(&'a self, subject: &'a str, window: Window) -> BoxFuture<'a, Result<Hit, CountersUnavailable>> {
        Box::pin(std::future::ready(Ok(LocalCounters::hit(self, subject, window))))
    }
}

impl LocalCounters {
    /// Counts a request for `subject` in `window`, at once.
    pub fn hit(&self, subject: &str, window: Window) -> Hit {
        let mut h = DefaultHasher::new();
        subject.hash(&mut h);
        let shard = &self.shards[(h.finish() as usize) % SHARDS];
        let mut map = shard.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() >= self.sweep_at && !map.contains_key(subject) {
            // `window.start_ms` is a moment inside the current time: windows ended before it are done.
            let now = window.start_ms;
            map.retain(|_, c| c.start_ms + c.len_ms > now);
        }
        let fresh = || Count { start_ms: window.start_ms, len_ms: window.len_ms, n: 0 };
        let count = map.entry(subject.to_owned()).or_insert_with(fresh);
        if count.start_ms != window.start_ms {
            *count = fresh();
        }
        if count.n >= window.limit {
            return Hit::Full;
        }
        count.n += 1;
        Hit::Counted(window.limit - count.n)
    }
}

/// The rate limiter of the gateway.
pub struct RateLimiter {
    settings: LimitSettings,
    counters: Box<dyn Counters>,
    /// Lifetime credits per account, refreshed every minute (only free-model
    /// requests need it).
    purchased: Mutex<HashMap<String, (NanoUsd, Instant)>>,
}

/// How long a cached lifetime-credits figure is trusted.
const PURCHASED_TTL: Duration = Duration::from_secs(60);

impl RateLimiter {
    /// A limiter with in-process counters.
    pub fn new(settings: LimitSettings) -> RateLimiter {
        RateLimiter::with_counters(settings, Box::new(LocalCounters::default()))
    }

    /// A limiter over other counters (shared ones, for a fleet).
    pub fn with_counters(settings: LimitSettings, counters: Box<dyn Counters>) -> RateLimiter {
        RateLimiter { settings, counters, purchased: Mutex::new(HashMap::new()) }
    }

    /// The per-key cap, when configured.
    pub async fn check_key(&self, key_hash: &str, now_ms: i64) -> Result<(), GatewayError> {
        let s = &self.settings;
        if s.key_requests == 0 {
            return Ok(());
        }
        let window = Window::containing(now_ms, (s.key_interval_secs.max(1) * 1000) as i64, s.key_requests);
        self.count(&format!("key:{key_hash}"), window, now_ms, "requests for this key").await
    }

    /// The free-model caps of `account`: per minute, then per UTC day by
    /// its lifetime credits.
    pub async fn check_free(&self, store: &Store, account: &str, now_ms: i64) -> Result<(), GatewayError> {
        let s = &self.settings;
        let minute = Window::containing(now_ms, 60_000, s.free_per_minute);
        self.count(&format!("free-min:{account}"), minute, now_ms, "free-model requests per minute").await?;
        let bought = self.purchased(store, account).await?;
        let threshold = NanoUsd((s.free_credit_threshold_usd * 1e9).round() as i64);
        let per_day = if bought >= threshold { s.free_per_day_with_credits } else { s.free_per_day };
        let day = Window::containing(now_ms, 86_400_000, per_day);
        let what = if bought >= threshold {
            "free-model requests per day".to_owned()
        } else {
            format!("free-model requests per day (buy ${} of credits to raise it)", s.free_credit_threshold_usd)
        };
        self.count(&format!("free-day:{account}"), day, now_ms, &what).await
    }

    async fn count(&self, subject: &str, window: Window, now_ms: i64, what: &str) -> Result<(), GatewayError> {
        match self.counters.hit(subject, window).await {
            Ok(Hit::Counted(_)) => Ok(()),
            Err(e) => {
                // Fail open: request caps guard capacity, not money.
                tracing::warn!(error = %e, subject, "rate limit not enforced");
                Ok(())
            }
            Ok(Hit::Full) => Err(GatewayError::RateLimited {
                message: format!("Rate limit exceeded: {} {what}", window.limit),
                limit: window.limit,
                reset_ms: window.reset_ms(),
                retry_after: Duration::from_millis((window.reset_ms() - now_ms).max(0) as u64),
            }),
        }
    }

    async fn purchased(&self, store: &Store, account: &str) -> Result<NanoUsd, GatewayError> {
        if let Ok(map) = self.purchased.lock()
            && let Some((v, at)) = map.get(account)
            && at.elapsed() < PURCHASED_TTL
        {
            return Ok(*v);
        }
        let credits = store.credits(account).await?;
        if let Ok(mut map) = self.purchased.lock() {
            map.insert(account.to_owned(), (credits.total_credits, Instant::now()));
        }
        Ok(credits.total_credits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_align_to_utc_boundaries() {
        let day = Window::containing(1_764_028_800_000 + 3_600_000, 86_400_000, 5);
        assert_eq!(day.start_ms, 1_764_028_800_000, "2025-11-25T00:00:00Z");
        assert_eq!(day.reset_ms(), 1_764_115_200_000);
    }

    #[test]
    fn a_full_window_refuses_until_the_next_one() {
        let c = LocalCounters::default();
        let w = Window::containing(1_000, 60_000, 2);
        assert_eq!(c.hit("a", w), Hit::Counted(1));
        assert_eq!(c.hit("a", w), Hit::Counted(0));
        assert_eq!(c.hit("a", w), Hit::Full);
        assert_eq!(c.hit("b", w), Hit::Counted(1), "subjects are counted apart");
        let next = Window::containing(61_000, 60_000, 2);
        assert_eq!(c.hit("a", next), Hit::Counted(1));
    }

    #[test]
    fn expired_windows_are_swept_when_a_shard_fills() {
        let c = LocalCounters::sweeping_at(8);
        let day = Window::containing(0, 86_400_000, 5);
        let _ = c.hit("daily", day);
        let old = Window::containing(0, 1_000, 1);
        for i in 0..(8 * SHARDS * 2) {
            let _ = c.hit(&format!("s{i}"), old);
        }
        let new = Window::containing(10_000, 1_000, 1);
        for i in 0..(8 * SHARDS) {
            let _ = c.hit(&format!("t{i}"), new);
        }
        let total: usize = c.shards.iter().map(|s| s.lock().unwrap().len()).sum();
        assert!(total < 8 * SHARDS * 2, "old windows were swept: {total}");
        let day_now = Window::containing(10_000, 86_400_000, 5);
        assert_eq!(c.hit("daily", day_now), Hit::Counted(3), "a day window still open is not swept");
    }
}
