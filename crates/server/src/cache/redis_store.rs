//! The fleet's response store: each answer a Redis string (JSON) under
//! `<prefix>cache:<key>`, expiring with its TTL (`SET ... PX`).

use futures_util::future::BoxFuture;

use super::{Entry, ResponseCache};
use crate::fleet::Redis;

/// Answers shared by every instance.
pub struct RedisCache {
    redis: Redis,
}

impl RedisCache {
    /// A store on `redis`.
    pub fn new(redis: Redis) -> RedisCache {
        RedisCache { redis }
    }
}

impl ResponseCache for RedisCache {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Option<Entry>> {
        Box::pin(async move {
            let mut conn = self.redis.conn();
            let got: Result<Option<Vec<u8>>, _> =
                redis::cmd("GET").arg(self.redis.key(&format!("cache:{key}"))).query_async(&mut conn).await;
            match got {
                Ok(Some(bytes)) => serde_json::from_slice(&bytes).ok(),
                Ok(None) => None,
                Err(e) => {
                    tracing::warn!(error = %e, "response cache unavailable: a miss");
                    None
                }
            }
        })
    }

    fn put(&self, key: String, entry: Entry) -> BoxFuture<'static, ()> {
        let redis = self.redis.clone();
        Box::pin(async move {
            let Ok(bytes) = serde_json::to_vec(&entry) else { return };
            let mut conn = redis.conn();
            let set: Result<(), _> = redis::cmd("SET")
                .arg(redis.key(&format!("cache:{key}")))
                .arg(bytes)
                .arg("PX")
                .arg(entry.ttl_secs.saturating_mul(1000))
                .query_async(&mut conn)
                .await;
            if let Err(e) = set {
                tracing::warn!(error = %e, "response cache unavailable: answer not stored");
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::testing::TestRedis;
    use switchyard_api::ChatResponse;

    #[tokio::test]
    async fn two_instances_share_answers_until_the_ttl() {
        let Some(t) = TestRedis::start().await else { return };
        let a = RedisCache::new(t.redis.clone());
        let b = RedisCache::new(t.redis.clone());
        let entry = Entry {
            response: ChatResponse { id: "gen-1".into(), model: "m".into(), ..ChatResponse::default() },
            stored_at_ms: 5,
            ttl_secs: 1,
        };
        assert!(b.get("k").await.is_none());
        a.put("k".into(), entry).await;
        let got = b.get("k").await.unwrap();
        assert_eq!((got.source_id(), got.response.model.as_str(), got.stored_at_ms), ("gen-1", "m", 5));
        tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
        assert!(b.get("k").await.is_none(), "expired with its TTL");
    }
}
