//! The in-process response store: bounded by entries and bytes, each entry
//! living its own TTL, least recently used (roughly) evicted first.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;

use super::{CacheSettings, Entry, ResponseCache};

/// A stored answer and what it weighs.
#[derive(Clone)]
struct Stored {
    entry: Arc<Entry>,
    /// Bytes, at least the per-entry share of `max_bytes` (so the entry
    /// bound holds as well as the byte bound).
    weight: u32,
}

/// Each entry expires after its own TTL.
struct PerEntryTtl;

impl moka::Expiry<String, Stored> for PerEntryTtl {
    fn expire_after_create(&self, _key: &String, value: &Stored, _created_at: Instant) -> Option<Duration> {
        Some(Duration::from_secs(value.entry.ttl_secs))
    }
}

/// In-process answers.
pub struct LocalCache {
    entries: moka::sync::Cache<String, Stored>,
    min_weight: u64,
}

impl LocalCache {
    /// A store within `settings`' bounds.
    pub fn new(settings: &CacheSettings) -> LocalCache {
        let max_bytes = settings.max_bytes.max(1);
        let min_weight = max_bytes.div_ceil(settings.max_entries.max(1)).max(1);
        let entries = moka::sync::Cache::builder()
            .max_capacity(max_bytes)
            .weigher(|_: &String, v: &Stored| v.weight)
            .expire_after(PerEntryTtl)
            .build();
        LocalCache { entries, min_weight }
    }

    fn put_now(&self, key: String, entry: Entry) {
        let bytes = serde_json::to_vec(&entry.response).map_or(0, |b| b.len() as u64) + key.len() as u64;
        let weight = u32::try_from(bytes.max(self.min_weight)).unwrap_or(u32::MAX);
        self.entries.insert(key, Stored { entry: Arc::new(entry), weight });
    }
}

impl ResponseCache for LocalCache {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Option<Entry>> {
        let hit = self.entries.get(key).map(|s| (*s.entry).clone());
        Box::pin(std::future::ready(hit))
    }

    fn put(&self, key: String, entry: Entry) -> BoxFuture<'static, ()> {
        self.put_now(key, entry);
        Box::pin(std::future::ready(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_api::ChatResponse;

    fn entry(id: &str, ttl_secs: u64) -> Entry {
        Entry { response: ChatResponse { id: id.into(), ..ChatResponse::default() }, stored_at_ms: 0, ttl_secs }
    }

    #[tokio::test]
    async fn entries_expire_after_their_own_ttl() {
        let c = LocalCache::new(&CacheSettings::default());
        c.put("short".into(), entry("a", 1)).await;
        c.put("long".into(), entry("b", 60)).await;
        assert_eq!(c.get("short").await.unwrap().source_id(), "a");
        tokio::time::sleep(Duration::from_millis(1_100)).await;
        assert!(c.get("short").await.is_none());
        assert_eq!(c.get("long").await.unwrap().source_id(), "b");
    }

    #[tokio::test]
    async fn the_store_stays_within_its_entry_bound() {
        let settings = CacheSettings { max_entries: 10, max_bytes: 1_000_000, ..CacheSettings::default() };
        let c = LocalCache::new(&settings);
        for i in 0..100 {
            c.put(format!("k{i}"), entry(&format!("g{i}"), 60)).await;
        }
        c.entries.run_pending_tasks();
        assert!(c.entries.entry_count() <= 10, "{}", c.entries.entry_count());
    }
}
