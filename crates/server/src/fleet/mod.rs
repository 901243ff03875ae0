//! Redis for a fleet: several stateless instances sharing one database
//! share their hot counters through Redis (`[redis] url`, or
//! `SWITCHYARD_REDIS_URL`). Without it every counter stays in-process, as a
//! single instance needs.
//!
//! When Redis fails at runtime each feature fails in the direction that
//! loses no money:
//! - rate-limit counters ([`RedisCounters`]) fail open: the request is
//!   served and a warning logged (a cap on request counts protects
//!   capacity, not credit, and every paid request is still reserved);
//! - spend reservations ([`SharedReservations`]) fail closed: the request
//!   gets a 503 before any upstream is called, because serving it unchecked
//!   could spend past a balance or a key limit;
//! - the response cache misses (and does not store).

mod counters;
mod reservations;

use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use serde::Deserialize;

pub use counters::RedisCounters;
pub use reservations::{Claim, SharedReservations, Shortfall, Ticket};

/// Environment variable naming the Redis URL when the config names none.
pub const REDIS_URL_ENV: &str = "SWITCHYARD_REDIS_URL";

/// `[redis]`: where the fleet's shared state lives.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RedisSettings {
    /// `redis://host:port[/db]`; else `SWITCHYARD_REDIS_URL`; else none.
    pub url: Option<String>,
    /// Prepended to every key, so several fleets (or tests) can share a server.
    pub prefix: String,
    /// Longest wait for a connection or a reply, ms: past it the command fails
    /// (and the feature fails as documented above) instead of hanging.
    pub timeout_ms: u64,
    /// A reservation not renewed for this long is dropped, seconds: an
    /// instance that crashes mid-request pins its reservations no longer.
    /// Live requests renew theirs every third of it.
    pub reservation_lease_secs: u64,
}

impl Default for RedisSettings {
    fn default() -> Self {
        RedisSettings { url: None, prefix: "switchyard:".into(), timeout_ms: 1_000, reservation_lease_secs: 30 }
    }
}

impl RedisSettings {
    /// The URL to use: the config's, else the environment's (empty: none).
    pub fn resolved_url(&self, env: &dyn Fn(&str) -> Option<String>) -> Option<String> {
        self.url.clone().or_else(|| env(REDIS_URL_ENV)).filter(|u| !u.trim().is_empty())
    }
}

/// Why Redis could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("redis at {url}: {source}")]
pub struct RedisSetupError {
    /// Where (without credentials).
    pub url: String,
    /// Why.
    pub source: redis::RedisError,
}

/// A shared, reconnecting connection to Redis and the fleet's key prefix.
#[derive(Clone)]
pub struct Redis {
    conn: ConnectionManager,
    prefix: Arc<str>,
}

impl std::fmt::Debug for Redis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redis").field("prefix", &self.prefix).finish_non_exhaustive()
    }
}

impl Redis {
    /// Connects (failing if the server cannot be reached now; later outages
    /// are retried by the connection manager).
    pub async fn connect(url: &str, prefix: &str, timeout: Duration) -> Result<Redis, RedisSetupError> {
        let shown = redact(url);
        let fail = |source| RedisSetupError { url: shown.clone(), source };
        let client = redis::Client::open(url).map_err(fail)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(1)
            .set_max_delay(timeout);
        let conn = ConnectionManager::new_with_config(client, config).await.map_err(fail)?;
        Ok(Redis { conn, prefix: Arc::from(prefix) })
    }

    /// Connects when a URL is configured; `None` otherwise.
    pub async fn from_settings(
        settings: &RedisSettings,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Option<Redis>, RedisSetupError> {
        match settings.resolved_url(env) {
            Some(url) => {
                Ok(Some(Redis::connect(&url, &settings.prefix, Duration::from_millis(settings.timeout_ms)).await?))
            }
            None => Ok(None),
        }
    }

    /// `rest` under this fleet's prefix.
    pub fn key(&self, rest: &str) -> String {
        format!("{}{rest}", self.prefix)
    }

    /// A handle on the shared connection (cheap: it multiplexes).
    pub fn conn(&self) -> ConnectionManager {
        self.conn.clone()
    }
}

/// What the gateway shares with the rest of its fleet: with Redis, the
/// rate-limit counters, spend reservations and response cache live there;
/// without, in this process.
pub struct Shared {
    redis: Option<Redis>,
    lease: Duration,
}

impl Shared {
    /// Connects to Redis when one is configured.
    pub async fn build(
        config: &crate::Config,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Shared, RedisSetupError> {
        let redis = Redis::from_settings(&config.redis, env).await?;
        if redis.is_some() {
            tracing::info!("redis: rate limits, spend reservations and the response cache are shared");
        }
        Ok(Shared { redis, lease: Duration::from_secs(config.redis.reservation_lease_secs) })
    }

    /// The key cache, reserving spend in Redis when there is one.
    pub fn auth(&self, store: switchyard_store::Store) -> crate::auth::Auth {
        let auth = crate::auth::Auth::new(store);
        match &self.redis {
            Some(r) => auth.with_reservations(Arc::new(SharedReservations::new(r.clone(), self.lease))),
            None => auth,
        }
    }

    /// The rate limiter, counting in Redis when there is one.
    pub fn limiter(&self, settings: &crate::ratelimit::LimitSettings) -> crate::ratelimit::RateLimiter {
        match &self.redis {
            Some(r) => {
                crate::ratelimit::RateLimiter::with_counters(settings.clone(), Box::new(RedisCounters::new(r.clone())))
            }
            None => crate::ratelimit::RateLimiter::new(settings.clone()),
        }
    }

    /// The response cache, in Redis when there is one.
    pub fn cache(&self, settings: &crate::cache::CacheSettings) -> crate::cache::Cache {
        let store: Arc<dyn crate::cache::ResponseCache> = match &self.redis {
            Some(r) => Arc::new(crate::cache::RedisCache::new(r.clone())),
            None => Arc::new(crate::cache::LocalCache::new(settings)),
        };
        crate::cache::Cache::new(store, settings)
    }
}

/// The URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => format!("{}://***@{}", &url[..scheme], &url[at + 1..]),
        _ => url.to_owned(),
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! A Redis for tests: the real server on 127.0.0.1:6379 under a fresh
    //! random prefix, whose keys are deleted on drop.

    use super::*;

    /// A connection under a unique prefix.
    pub struct TestRedis {
        pub redis: Redis,
        prefix: String,
    }

    impl TestRedis {
        /// `None` (with a printed notice) when no Redis is reachable.
        pub async fn start() -> Option<TestRedis> {
            let url = std::env::var(REDIS_URL_ENV).unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
            let prefix = format!("sytest:{:016x}:", rand::random::<u64>());
            match Redis::connect(&url, &prefix, Duration::from_secs(2)).await {
                Ok(redis) => Some(TestRedis { redis, prefix }),
                Err(e) => {
                    eprintln!("skipping: no Redis ({e})");
                    None
                }
            }
        }
    }

    impl Drop for TestRedis {
        fn drop(&mut self) {
            let url = std::env::var(REDIS_URL_ENV).unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
            let pattern = format!("{}*", self.prefix);
            if let Ok(client) = redis::Client::open(url)
                && let Ok(mut c) = client.get_connection()
            {
                let keys: Vec<String> = redis::cmd("KEYS").arg(&pattern).query(&mut c).unwrap_or_default();
                if !keys.is_empty() {
                    let _: Result<(), _> = redis::cmd("DEL").arg(keys).query(&mut c);
                }
            }
        }
    }

    #[test]
    fn passwords_are_not_shown() {
        assert_eq!(redact("redis://:secret@host:6379/0"), "redis://***@host:6379/0");
        assert_eq!(redact("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
    }
}
