//! Response caching (reference §7.7): an identical request gets the stored
//! answer again, with a new generation id, zero usage and zero cost, and no
//! upstream is called.
//!
//! Opt-in per request with `X-OpenRouter-Cache: true` (`false` opts out),
//! or per key (`cache_responses`). TTL: `X-OpenRouter-Cache-TTL` seconds
//! (1..=86400), else `[cache] ttl_seconds` (300). Only complete 200
//! answers are stored: whole ones, and streamed ones that finished without
//! error, put back together ([`Assembly`]). A stream request can be answered
//! from the cache (replayed as one content chunk and the usage chunk), and a
//! whole request from a streamed answer.
//!
//! The cache key is the SHA-256 of the account id and the canonical JSON
//! (object keys sorted) of the request as it would go upstream: after
//! presets and guardrail redaction, with the resolved model, and without
//! `stream` and `stream_options` (they change the framing, not the answer).
//! Everything else that can change the answer is in it: messages, sampling
//! parameters, tools, response format, provider preferences, fallback
//! models, plugins, `user`.
//!
//! Two stores: in-process ([`LocalCache`], bounded by entries and bytes)
//! or, with Redis configured, shared by the fleet ([`RedisCache`]). A store
//! that fails is a miss.

mod assemble;
mod local;
mod redis_store;
mod replay;

use std::sync::Arc;

use axum::http::{HeaderMap, HeaderValue, Response};
use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use switchyard_api::{ChatRequest, ChatResponse};

pub use assemble::Assembly;
pub use local::LocalCache;
pub use redis_store::RedisCache;
pub use replay::replay;

use crate::auth::Caller;
use crate::error::GatewayError;

/// Longest TTL a request may ask for, seconds.
pub const MAX_TTL_SECS: u64 = 86_400;

/// `[cache]`: response caching.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CacheSettings {
    /// TTL when the request names none, seconds.
    pub ttl_seconds: u64,
    /// Most answers the in-process store holds.
    pub max_entries: u64,
    /// Most bytes (of serialized answers) the in-process store holds.
    pub max_bytes: u64,
}

impl Default for CacheSettings {
    fn default() -> Self {
        CacheSettings { ttl_seconds: 300, max_entries: 10_000, max_bytes: 64 * 1024 * 1024 }
    }
}

/// A stored answer.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Entry {
    /// The answer as first delivered (its id is the source generation's).
    pub response: ChatResponse,
    /// When it was stored, Unix ms.
    pub stored_at_ms: i64,
    /// Its TTL, seconds.
    pub ttl_secs: u64,
}

impl Entry {
    /// The generation that produced it.
    pub fn source_id(&self) -> &str {
        &self.response.id
    }
}

/// Where answers are kept.
pub trait ResponseCache: Send + Sync {
    /// The live entry under `key`, if any (a failing store: `None`).
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Option<Entry>>;

    /// Stores `entry` under `key` for its TTL (a failing store: dropped).
    fn put(&self, key: String, entry: Entry) -> BoxFuture<'static, ()>;
}

/// The gateway's response cache: its store and the default TTL.
#[derive(Clone)]
pub struct Cache {
    store: Arc<dyn ResponseCache>,
    default_ttl: u64,
}

/// A request that takes part in caching: its key and TTL.
#[derive(Clone, Debug)]
pub struct Ticket {
    /// Hex SHA-256 (see the module doc).
    pub key: String,
    /// Seconds.
    pub ttl_secs: u64,
}

impl Cache {
    /// A cache over `store`.
    pub fn new(store: Arc<dyn ResponseCache>, settings: &CacheSettings) -> Cache {
        Cache { store, default_ttl: settings.ttl_seconds.clamp(1, MAX_TTL_SECS) }
    }

    /// Whether (and how) this request is cached: the header wins over the
    /// key's setting; a malformed header is a 400.
    pub fn ticket(
        &self,
        headers: &HeaderMap,
        caller: &Caller,
        req: &ChatRequest,
        model: &str,
    ) -> Result<Option<Ticket>, GatewayError> {
        let header = |name: &str| headers.get(name).map(|v| v.to_str().unwrap_or("").trim().to_ascii_lowercase());
        let on = match header("x-openrouter-cache").as_deref() {
            Some("true" | "1" | "yes") => true,
            Some("false" | "0" | "no") => false,
            Some(other) => {
                return Err(GatewayError::BadRequest(format!(
                    "X-OpenRouter-Cache must be true or false, not `{other}`"
                )));
            }
            None => caller.key.cache_responses,
        };
        if !on {
            return Ok(None);
        }
        let ttl_secs = match header("x-openrouter-cache-ttl") {
            None => self.default_ttl,
            Some(v) => v.parse::<u64>().ok().filter(|t| (1..=MAX_TTL_SECS).contains(t)).ok_or_else(|| {
                GatewayError::BadRequest(format!(
                    "X-OpenRouter-Cache-TTL must be a whole number of seconds from 1 to {MAX_TTL_SECS}, not `{v}`"
                ))
            })?,
        };
        Ok(Some(Ticket { key: key_of(&caller.key.account_id, req, model)?, ttl_secs }))
    }

    /// The live answer for `ticket`, if any.
    pub async fn lookup(&self, ticket: &Ticket) -> Option<Entry> {
        self.store.get(&ticket.key).await
    }

    /// Stores a whole 200 answer in the background (the client does not
    /// wait for it). Answers cut short by an error are not stored.
    pub fn store(&self, ticket: Ticket, response: &ChatResponse) {
        let failed = response.choices.is_empty()
            || response.choices.iter().any(|c| c.error.is_some() || c.finish_reason.as_deref() == Some("error"));
        if failed {
            return;
        }
        let entry =
            Entry { response: response.clone(), stored_at_ms: switchyard_store::now_ms(), ttl_secs: ticket.ttl_secs };
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(self.store.put(ticket.key, entry));
        }
    }
}

/// The cache key of a request (see the module doc).
pub fn key_of(account_id: &str, req: &ChatRequest, model: &str) -> Result<String, GatewayError> {
    let mut canonical = req.clone();
    canonical.stream = None;
    canonical.stream_options = None;
    canonical.model = Some(model.to_owned());
    // Through a `Value`: its maps are sorted, so field order never matters.
    let value = serde_json::to_value(&canonical).map_err(|e| GatewayError::Internal(e.to_string()))?;
    let mut h = Sha256::new();
    h.update(account_id.as_bytes());
    h.update([0]);
    h.update(value.to_string().as_bytes());
    Ok(hex::encode(h.finalize()))
}

/// Adds `X-OpenRouter-Cache-Status: MISS` and the TTL the answer is kept.
pub fn mark_miss<B>(resp: &mut Response<B>, ticket: &Ticket) {
    let h = resp.headers_mut();
    h.insert("x-openrouter-cache-status", HeaderValue::from_static("MISS"));
    h.insert("x-openrouter-cache-ttl", HeaderValue::from(ticket.ttl_secs));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(json: serde_json::Value) -> ChatRequest {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn the_key_ignores_framing_and_field_order_but_not_content_or_account() {
        let a = req(serde_json::json!({"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":0.5}));
        let b = req(serde_json::json!({"temperature":0.5,"stream":true,"stream_options":{"include_usage":true},
            "messages":[{"content":"hi","role":"user"}],"model":"m"}));
        let c = req(serde_json::json!({"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":0.6}));
        let d = req(serde_json::json!({"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":0.5,
            "provider":{"order":["x"]}}));
        let k = |r: &ChatRequest, acct: &str| key_of(acct, r, "m").unwrap();
        assert_eq!(k(&a, "acct"), k(&b, "acct"), "stream and key order do not change the answer");
        assert_ne!(k(&a, "acct"), k(&c, "acct"), "parameters do");
        assert_ne!(k(&a, "acct"), k(&d, "acct"), "provider preferences do");
        assert_ne!(k(&a, "acct"), k(&a, "other"), "accounts never share answers");
        assert_ne!(key_of("acct", &a, "m").unwrap(), key_of("acct", &a, "n").unwrap(), "the resolved model counts");
    }
}
