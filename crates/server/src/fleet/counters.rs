//! Rate-limit counters in Redis: the fixed windows of
//! [`crate::ratelimit`], counted by every instance of a fleet together.

use futures_util::future::BoxFuture;

use super::Redis;
use crate::ratelimit::{Counters, CountersUnavailable, Hit, Window};

/// One window's counter: refuse (without counting) when full, else count;
/// the key dies with its window. One script, so concurrent instances never
/// both take the last slot.
const HIT: &str = r"
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
local limit = tonumber(ARGV[1])
if n >= limit then return -1 end
n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return limit - n
";

/// Counters shared by a fleet: key `<prefix>rl:<subject>:<window start>`.
pub struct RedisCounters {
    redis: Redis,
    script: redis::Script,
}

impl RedisCounters {
    /// Counters on `redis`.
    pub fn new(redis: Redis) -> RedisCounters {
        RedisCounters { redis, script: redis::Script::new(HIT) }
    }
}

impl Counters for RedisCounters {
    fn hit<'a>(&'a self, subject: &'a str, window: Window) -> BoxFuture<'a, Result<Hit, CountersUnavailable>> {
        Box::pin(async move {
            let key = self.redis.key(&format!("rl:{subject}:{}", window.start_ms));
            // The window's length bounds what is left of it (plus a second of
            // clock skew between instances).
            let ttl = window.len_ms.max(1) + 1_000;
            let mut conn = self.redis.conn();
            let left: i64 = self
                .script
                .key(key)
                .arg(window.limit)
                .arg(ttl)
                .invoke_async(&mut conn)
                .await
                .map_err(|e| CountersUnavailable(e.to_string()))?;
            Ok(if left < 0 { Hit::Full } else { Hit::Counted(u32::try_from(left).unwrap_or(0)) })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::testing::TestRedis;

    #[tokio::test]
    async fn redis_windows_count_like_local_ones_across_instances() {
        let Some(t) = TestRedis::start().await else { return };
        // Two "instances": two counters on the same server and prefix.
        let a = RedisCounters::new(t.redis.clone());
        let b = RedisCounters::new(t.redis.clone());
        let w = Window::containing(1_000, 60_000, 3);
        assert_eq!(a.hit("s", w).await.unwrap(), Hit::Counted(2));
        assert_eq!(b.hit("s", w).await.unwrap(), Hit::Counted(1));
        assert_eq!(a.hit("s", w).await.unwrap(), Hit::Counted(0));
        assert_eq!(b.hit("s", w).await.unwrap(), Hit::Full);
        assert_eq!(a.hit("other", w).await.unwrap(), Hit::Counted(2), "subjects are counted apart");
        let next = Window::containing(61_000, 60_000, 3);
        assert_eq!(b.hit("s", next).await.unwrap(), Hit::Counted(2), "a new window starts over");
    }

    #[tokio::test]
    async fn concurrent_hits_never_exceed_the_limit() {
        let Some(t) = TestRedis::start().await else { return };
        let c = std::sync::Arc::new(RedisCounters::new(t.redis.clone()));
        let w = Window::containing(5_000, 60_000, 25);
        let tasks: Vec<_> = (0..100)
            .map(|_| {
                let c = c.clone();
                tokio::spawn(async move { c.hit("busy", w).await.unwrap() })
            })
            .collect();
        let mut counted = 0;
        for t in tasks {
            if matches!(t.await.unwrap(), Hit::Counted(_)) {
                counted += 1;
            }
        }
        assert_eq!(counted, 25);
    }

    #[tokio::test]
    async fn an_unreachable_redis_reports_unavailable() {
        // Port 1 on loopback refuses connections: connecting fails fast.
        let r = Redis::connect("redis://127.0.0.1:1", "x:", std::time::Duration::from_millis(200)).await;
        assert!(r.is_err(), "connecting to nothing fails instead of hanging");
    }
}
