//! Sticky routing (OpenRouter §7.6): a conversation keeps going to the
//! provider that served it, so the provider's prompt cache keeps paying off.
//! In-process, bounded, and expiring after ten idle minutes.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use switchyard_api::{ChatRequest, Content, Role};

/// How long a conversation stays pinned without a new success.
pub const IDLE_EXPIRY: Duration = Duration::from_secs(600);

/// Most pins kept; past it, expired ones are swept and then the oldest go.
const CAPACITY: usize = 100_000;

/// Which conversation a request belongs to, per account and model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ConversationKey(u64);

impl ConversationKey {
    /// The key of `req` for `account` and `model`: `session_id` (body, else
    /// the `x-session-id` header), else `prompt_cache_key`, else a hash of
    /// the first system/developer message and the first other message.
    /// `explicit` is true when the client named the session.
    pub fn of(account: &str, model: &str, req: &ChatRequest, header_session: Option<&str>) -> (Self, bool) {
        let mut h = DefaultHasher::new();
        account.hash(&mut h);
        model.hash(&mut h);
        let session = req.session_id.as_deref().or(header_session).filter(|s| !s.is_empty());
        let cache_key = req.extra.get("prompt_cache_key").and_then(|v| v.as_str());
        let explicit = session.is_some();
        match session.or(cache_key) {
            Some(s) => {
                0u8.hash(&mut h);
                s.hash(&mut h);
            }
            None => {
                1u8.hash(&mut h);
                let is_system = |r: Role| matches!(r, Role::System | Role::Developer);
                let system = req.messages.iter().find(|m| is_system(m.role));
                let first = req.messages.iter().find(|m| !is_system(m.role));
                for m in [system, first].into_iter().flatten() {
                    match &m.content {
                        Some(Content::Text(t)) => t.hash(&mut h),
                        Some(other) => serde_json::to_string(other).unwrap_or_default().hash(&mut h),
                        None => {}
                    }
                }
            }
        }
        (ConversationKey(h.finish()), explicit)
    }
}

/// Conversation → the routing tag that last served it.
#[derive(Default)]
pub struct StickyBook {
    pins: Mutex<HashMap<ConversationKey, (String, Instant)>>,
}

impl StickyBook {
    /// The pinned routing tag, if the pin has not expired.
    pub fn get(&self, key: ConversationKey, now: Instant) -> Option<String> {
        let pins = self.pins.lock().ok()?;
        pins.get(&key).filter(|(_, at)| now.duration_since(*at) < IDLE_EXPIRY).map(|(tag, _)| tag.clone())
    }

    /// Pins (or refreshes) the conversation to `tag` after a success.
    pub fn pin(&self, key: ConversationKey, tag: &str, now: Instant) {
        let Ok(mut pins) = self.pins.lock() else { return };
        if pins.len() >= CAPACITY && !pins.contains_key(&key) {
            pins.retain(|_, (_, at)| now.duration_since(*at) < IDLE_EXPIRY);
            if pins.len() >= CAPACITY
                && let Some(oldest) = pins.iter().min_by_key(|(_, (_, at))| *at).map(|(k, _)| *k)
            {
                pins.remove(&oldest);
            }
        }
        match pins.get_mut(&key) {
            Some((t, at)) => {
                if t != tag {
                    *t = tag.to_owned();
                }
                *at = now;
            }
            None => {
                pins.insert(key, (tag.to_owned(), now));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn req(v: serde_json::Value) -> ChatRequest {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn sessions_and_conversations_have_stable_keys() {
        let a = req(json!({"messages": [{"role": "system", "content": "S"}, {"role": "user", "content": "Q1"}]}));
        let a2 = req(json!({"messages": [{"role": "system", "content": "S"}, {"role": "user", "content": "Q1"},
            {"role": "assistant", "content": "A"}, {"role": "user", "content": "Q2"}]}));
        let b = req(json!({"messages": [{"role": "user", "content": "other"}]}));
        let (ka, explicit) = ConversationKey::of("acct", "m", &a, None);
        assert!(!explicit);
        assert_eq!(ka, ConversationKey::of("acct", "m", &a2, None).0, "later turns stay in the conversation");
        assert_ne!(ka, ConversationKey::of("acct", "m", &b, None).0);
        assert_ne!(ka, ConversationKey::of("other", "m", &a, None).0, "accounts never share pins");
        let (ks, explicit) = ConversationKey::of("acct", "m", &b, Some("s1"));
        assert!(explicit);
        let with_body = req(json!({"session_id": "s1", "messages": [{"role": "user", "content": "x"}]}));
        assert_eq!(ks, ConversationKey::of("acct", "m", &with_body, None).0);
    }

    #[test]
    fn pins_expire_after_ten_idle_minutes_and_refresh_on_success() {
        let book = StickyBook::default();
        let k = ConversationKey(1);
        let t0 = Instant::now();
        book.pin(k, "anthropic", t0);
        assert_eq!(book.get(k, t0 + Duration::from_secs(599)).as_deref(), Some("anthropic"));
        book.pin(k, "anthropic", t0 + Duration::from_secs(599));
        assert_eq!(book.get(k, t0 + Duration::from_secs(1100)).as_deref(), Some("anthropic"));
        assert_eq!(book.get(k, t0 + Duration::from_secs(1200)), None);
    }
}
