//! Guardrails (reference §8.5, §6.2): policies an account assigns to its
//! API keys, to its members (applying to all of a member's keys) and to its
//! workspaces (one each, applying to every key in it), managed under
//! `/api/v1/guardrails` ([`api`]) and enforced on every chat request of a
//! key under any of them, once, before routing. A key's guardrails are all
//! of these together, combined as follows.
//!
//! What a key's guardrails do together:
//! * **Model allow-lists intersect**: the requested model and every
//!   `models[]` fallback must be allowed by each guardrail that has a list
//!   (`author/*` allows an author's models; a variant such as `:nitro`, or
//!   an alias, counts as the model it resolves to; the routers
//!   `openrouter/auto` and `openrouter/free` pick models at routing time
//!   and must be listed themselves). Else 403 naming the guardrail.
//! * **Provider allow-lists intersect**, then with the request's (or the
//!   key's) `provider.only`, into `provider.only` (see [`Guard::constrain`]).
//!   Nothing in common: 404 naming the guardrail.
//! * **ZDR ORs**: any guardrail with `enforce_zdr` sets `provider.zdr`.
//! * **Content**: every message's text (plain content and text parts) is
//!   checked against each guardrail's prompt-injection detector, custom
//!   regex filters and sensitive-information detectors ([`detect`]).
//!   **Block beats redact**: every blocking rule of every guardrail is
//!   checked on the text as sent before anything is redacted, and any
//!   match refuses the request with 403 `Request blocked: <reason>`,
//!   `metadata.guardrail` and `metadata.patterns` (the injection phrases,
//!   the custom patterns, or the kinds of sensitive information — never the
//!   matched values). Otherwise redacting rules replace their matches with
//!   `[REDACTED:<kind or label>]` before the request goes upstream.
//! * **Budgets, each enforced**: a guardrail's budget is compared with what
//!   its keys (assigned, of its members, in its workspace) have spent (the sum of their generations' cost) since the
//!   start of the current UTC day, week (Monday) or month, or since the
//!   guardrail was created when it does not reset. Spent it all: 402 naming
//!   the guardrail.
//!
//! **Budgets are checked before and charged after** (the generation record
//! is the charge), not reserved like the balance and the key limit
//! ([`crate::spend`]): the reservation lives in the generation's draft,
//! which guardrails do not reach. The overshoot is bounded: a request is
//! admitted while the spend seen here is under the budget, so the budget
//! can be exceeded by the cost of the requests admitted before the spend of
//! the one that crossed it is seen — those already under way, plus those
//! admitted during [`CACHE_TTL`] and the generation writer's batching delay
//! (20 ms) after it finished.
//!
//! **Cache**: a key's guardrails are read from the database at most once
//! per [`CACHE_TTL`] (like [`crate::auth`]'s keys), so a key without any
//! costs one hash-map lookup per request; a guardrail's regexes are
//! compiled once and kept while its filters are unchanged; a budget's spend
//! is re-summed at most once per TTL. Changes through the API clear the
//! cache at once; changes made by another process apply within the TTL.

pub mod api;
pub mod detect;

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use regex::{Regex, RegexBuilder};
use serde_json::{Value, json};
use switchyard_api::provider::ProviderPreferences;
use switchyard_api::{ChatRequest, Content, ContentPart, Extra, NanoUsd};
use switchyard_store::{FilterAction, Guardrail, PiiKind, RegexFilter, Store};

use crate::auth::Caller;
use crate::error::GatewayError;
use crate::state::AppState;

/// How long a key's guardrails, or a budget's spend, are trusted.
pub const CACHE_TTL: Duration = Duration::from_secs(1);

/// Largest compiled size of a custom regex.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// A custom filter, compiled.
#[derive(Debug)]
struct Filter {
    re: Regex,
    action: FilterAction,
    /// `[REDACTED:<label>]`.
    replacement: String,
    /// As given, for `metadata.patterns`.
    pattern: String,
}

/// A guardrail ready to enforce.
#[derive(Debug)]
pub struct Compiled {
    /// As stored.
    pub rail: Guardrail,
    filters: Arc<Vec<Filter>>,
}

/// Compiles a custom filter's pattern (with the size limit the API checks).
pub fn compile(pattern: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(pattern).size_limit(REGEX_SIZE_LIMIT).build()
}

fn compile_filters(filters: &[RegexFilter]) -> Vec<Filter> {
    filters
        .iter()
        .filter_map(|f| match compile(&f.pattern) {
            Ok(re) => Some(Filter {
                re,
                action: f.action,
                replacement: format!("[REDACTED:{}]", f.label.as_deref().unwrap_or("regex")),
                pattern: f.pattern.clone(),
            }),
            Err(e) => {
                // The API refuses such patterns; one stored by other means is skipped.
                tracing::warn!(pattern = %f.pattern, error = %e, "guardrail regex does not compile; skipped");
                None
            }
        })
        .collect()
}

/// A guardrail's custom filters as stored, and compiled.
type CompiledFilters = (Vec<RegexFilter>, Arc<Vec<Filter>>);

/// The guardrails of a key, in creation order.
pub type Rails = Arc<[Arc<Compiled>]>;

/// The process's view of guardrails: per key, compiled, with budgets' spend.
#[derive(Debug, Default)]
pub struct GuardrailCache {
    by_key: RwLock<HashMap<String, (Rails, Instant)>>,
    /// Compiled filters by guardrail id, with the filters they came from.
    compiled: RwLock<HashMap<String, CompiledFilters>>,
    /// Spend by guardrail id: since when, how much, loaded when.
    spend: RwLock<HashMap<String, (i64, NanoUsd, Instant)>>,
}

impl GuardrailCache {
    /// The guardrails assigned to the key `hash`.
    pub async fn for_key(&self, store: &Store, hash: &str) -> Result<Rails, GatewayError> {
        if let Ok(map) = self.by_key.read()
            && let Some((rails, at)) = map.get(hash)
            && at.elapsed() < CACHE_TTL
        {
            return Ok(rails.clone());
        }
        let stored = store.key_guardrails(hash).await?;
        let rails: Rails = stored.into_iter().map(|rail| Arc::new(self.compiled(rail))).collect();
        if let Ok(mut map) = self.by_key.write() {
            map.insert(hash.to_owned(), (rails.clone(), Instant::now()));
        }
        Ok(rails)
    }

    /// The guardrail with its filters, compiled again only when they changed.
    fn compiled(&self, rail: Guardrail) -> Compiled {
        let known =
            self.compiled.read().ok().and_then(|m| {
                m.get(&rail.id).filter(|(src, _)| *src == rail.spec.regex_filters).map(|(_, f)| f.clone())
            });
        let filters = match known {
            Some(f) => f,
            None => {
                let f = Arc::new(compile_filters(&rail.spec.regex_filters));
                if let Ok(mut m) = self.compiled.write() {
                    m.insert(rail.id.clone(), (rail.spec.regex_filters.clone(), f.clone()));
                }
                f
            }
        };
        Compiled { rail, filters }
    }

    /// What the keys of guardrail `id` have spent since `since`, summed
    /// from the database at most once per TTL.
    async fn spent(&self, store: &Store, id: &str, since: i64) -> Result<NanoUsd, GatewayError> {
        if let Ok(map) = self.spend.read()
            && let Some((s, used, at)) = map.get(id)
            && *s == since
            && at.elapsed() < CACHE_TTL
        {
            return Ok(*used);
        }
        let used = store.guardrail_spend(id, since).await?;
        if let Ok(mut map) = self.spend.write() {
            map.insert(id.to_owned(), (since, used, Instant::now()));
        }
        Ok(used)
    }

    /// Forgets everything (after a change made through this process).
    pub fn invalidate(&self) {
        if let Ok(mut m) = self.by_key.write() {
            m.clear();
        }
        if let Ok(mut m) = self.spend.write() {
            m.clear();
        }
        if let Ok(mut m) = self.compiled.write() {
            m.clear();
        }
    }
}

/// What routing must respect for a request that passed its guardrails.
#[derive(Clone, Debug, Default)]
pub struct Guard {
    rails: Option<Rails>,
}

impl Guard {
    /// Lays the guardrails' provider rules over the merged preferences:
    /// each provider allow-list is intersected with `provider.only` (display
    /// names in `only` count as the slug they name; a base slug such as
    /// `google-vertex` and one of its endpoints `google-vertex/us-east5`
    /// intersect to the latter), and `enforce_zdr` sets `zdr`. An empty
    /// intersection is a 404 naming the guardrail that emptied it.
    pub fn constrain(
        &self,
        prefs: &mut ProviderPreferences,
        slug_of: impl Fn(&str) -> Option<String>,
    ) -> Result<(), GatewayError> {
        let Some(rails) = &self.rails else { return Ok(()) };
        for c in rails.iter() {
            let g = &c.rail;
            if g.spec.enforce_zdr {
                prefs.zdr = Some(true);
            }
            let Some(allowed) = &g.spec.allowed_providers else { continue };
            let before: Option<Vec<String>> = prefs
                .only
                .take()
                .filter(|l| !l.is_empty())
                .map(|l| l.iter().map(|n| slug_of(n).unwrap_or_else(|| n.to_ascii_lowercase())).collect());
            let next = match &before {
                None => allowed.iter().map(|s| s.to_ascii_lowercase()).collect(),
                Some(only) => intersect(only, allowed),
            };
            if next.is_empty() {
                let only = before.unwrap_or_default();
                return Err(refuse(
                    404,
                    g,
                    format!(
                        "No allowed providers: guardrail `{}` allows {} and the request's provider.only is {}; \
                         they have none in common",
                        g.spec.name,
                        allowed.join(", "),
                        only.join(", ")
                    ),
                    [("allowed_providers", json!(allowed)), ("only", json!(only))],
                ));
            }
            prefs.only = Some(next);
        }
        Ok(())
    }
}

/// Slugs in both lists; a base slug and one of its endpoints
/// (`google-vertex`, `google-vertex/us-east5`) give the endpoint.
fn intersect(a: &[String], b: &[String]) -> Vec<String> {
    let under = |base: &str, s: &str| {
        s.len() > base.len() && s.as_bytes()[base.len()] == b'/' && s[..base.len()].eq_ignore_ascii_case(base)
    };
    let mut out: Vec<String> = Vec::new();
    for x in a {
        for y in b {
            let hit = if x.eq_ignore_ascii_case(y) || under(y, x) {
                Some(x)
            } else if under(x, y) {
                Some(y)
            } else {
                None
            };
            if let Some(h) = hit.map(|h| h.to_ascii_lowercase())
                && !out.contains(&h)
            {
                out.push(h);
            }
        }
    }
    out
}

/// A guardrail's refusal: `metadata.guardrail` names it, `extra` adds to
/// the metadata.
fn refuse<const N: usize>(status: u16, g: &Guardrail, message: String, extra: [(&str, Value); N]) -> GatewayError {
    let mut metadata = Extra::new();
    metadata.insert("guardrail".into(), json!({"id": g.id, "name": g.spec.name}));
    for (k, v) in extra {
        metadata.insert(k.into(), v);
    }
    GatewayError::Guardrail { status, message, metadata }
}

/// Enforces the caller's guardrails on a chat request for `model` (before
/// routing): allow-lists of models, content, budgets. Returns the request
/// as it may go upstream (redacted) and what routing must respect.
pub async fn enforce(
    state: &AppState,
    caller: &Caller,
    mut req: ChatRequest,
    model: &str,
) -> Result<(ChatRequest, Guard), GatewayError> {
    let rails = state.guardrails.for_key(&state.store, &caller.key.hash).await?;
    if rails.is_empty() {
        return Ok((req, Guard::default()));
    }
    let fallbacks = req.models.iter().flatten().map(String::as_str);
    for m in std::iter::once(model).chain(fallbacks) {
        check_model(state, &rails, m)?;
    }
    check_content(&rails, texts(&mut req))?;
    check_budgets(state, &rails).await?;
    Ok((req, Guard { rails: Some(rails) }))
}

/// The same for an embeddings request: the model allow-lists, the content
/// rules on every input string (redacted in place), the budgets.
pub async fn enforce_embeddings(
    state: &AppState,
    caller: &Caller,
    req: &mut switchyard_api::embeddings::EmbeddingsRequest,
    model: &str,
) -> Result<Guard, GatewayError> {
    let rails = state.guardrails.for_key(&state.store, &caller.key.hash).await?;
    if rails.is_empty() {
        return Ok(Guard::default());
    }
    check_model(state, &rails, model)?;
    let inputs: Vec<&mut String> = match &mut req.input {
        Value::String(s) => vec![s],
        Value::Array(items) => items
            .iter_mut()
            .filter_map(|i| match i {
                Value::String(s) => Some(s),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    check_content(&rails, inputs)?;
    check_budgets(state, &rails).await?;
    Ok(Guard { rails: Some(rails) })
}

/// `pattern` (an id, or `prefix*`) allows model id `id`.
fn allows(pattern: &str, id: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => id.get(..prefix.len()).is_some_and(|head| head.eq_ignore_ascii_case(prefix)),
        None => pattern.eq_ignore_ascii_case(id),
    }
}

fn check_model(state: &AppState, rails: &Rails, slug: &str) -> Result<(), GatewayError> {
    // The slug as sent, and the catalog model it stands for (variants, aliases).
    let resolved =
        switchyard_router::resolve(&state.catalog, slug).ok().map(|r| state.catalog.models()[r.model].spec.id.clone());
    let ids: Vec<&str> = std::iter::once(slug).chain(resolved.as_deref()).collect();
    for c in rails.iter() {
        let g = &c.rail;
        let Some(allowed) = &g.spec.allowed_models else { continue };
        if !allowed.iter().any(|p| ids.iter().any(|id| allows(p, id))) {
            return Err(refuse(
                403,
                g,
                format!("Request blocked: model `{slug}` is not allowed by guardrail `{}`", g.spec.name),
                [("model", json!(slug)), ("allowed_models", json!(allowed))],
            ));
        }
    }
    Ok(())
}

/// The text of every message, mutable: plain content and text parts.
fn texts(req: &mut ChatRequest) -> Vec<&mut String> {
    let mut out = Vec::new();
    for m in &mut req.messages {
        match &mut m.content {
            Some(Content::Text(t)) => out.push(t),
            Some(Content::Parts(parts)) => {
                for p in parts {
                    if let ContentPart::Text { text, .. } = p {
                        out.push(text);
                    }
                }
            }
            None => {}
        }
    }
    out
}

fn check_content(rails: &Rails, mut texts: Vec<&mut String>) -> Result<(), GatewayError> {
    // Block beats redact: every blocking rule sees the text as sent.
    for c in rails.iter() {
        let g = &c.rail;
        let mut reasons: Vec<&str> = Vec::new();
        let mut patterns: Vec<String> = Vec::new();
        if g.spec.block_prompt_injection {
            for t in &texts {
                for p in detect::injections(t) {
                    if !patterns.contains(&p) {
                        patterns.push(p);
                    }
                }
            }
            if !patterns.is_empty() {
                reasons.push("prompt injection patterns detected");
            }
        }
        let blocked: Vec<&Filter> = c
            .filters
            .iter()
            .filter(|f| f.action == FilterAction::Block && texts.iter().any(|t| f.re.is_match(t)))
            .collect();
        if !blocked.is_empty() {
            reasons.push("content matched a blocked pattern");
            patterns.extend(blocked.iter().map(|f| f.pattern.clone()));
        }
        if let Some(pii) = g.spec.pii.as_ref().filter(|p| p.action == FilterAction::Block) {
            let found: Vec<PiiKind> = PiiKind::ALL
                .into_iter()
                .filter(|k| pii.types.contains(k) && texts.iter().any(|t| detect::contains(*k, t)))
                .collect();
            if !found.is_empty() {
                reasons.push("sensitive information detected");
                patterns.extend(found.iter().map(|k| k.as_str().to_owned()));
            }
        }
        if !reasons.is_empty() {
            return Err(refuse(
                403,
                g,
                format!("Request blocked: {}", reasons.join("; ")),
                [("patterns", json!(patterns)), ("reasons", json!(reasons))],
            ));
        }
    }
    // Redaction: custom filters in guardrail order, then the union of the
    // sensitive-information kinds to redact.
    let redact_pii: HashSet<PiiKind> = rails
        .iter()
        .filter_map(|c| c.rail.spec.pii.as_ref())
        .filter(|p| p.action == FilterAction::Redact)
        .flat_map(|p| p.types.iter().copied())
        .collect();
    let filters: Vec<&Filter> =
        rails.iter().flat_map(|c| c.filters.iter()).filter(|f| f.action == FilterAction::Redact).collect();
    if redact_pii.is_empty() && filters.is_empty() {
        return Ok(());
    }
    for t in &mut texts {
        let mut changed: Option<String> = None;
        for f in &filters {
            let current = changed.as_deref().unwrap_or(t.as_str());
            if let Cow::Owned(s) = f.re.replace_all(current, f.replacement.as_str()) {
                changed = Some(s);
            }
        }
        for kind in PiiKind::ALL.into_iter().filter(|k| redact_pii.contains(k)) {
            let current = changed.as_deref().unwrap_or(t.as_str());
            if let Cow::Owned(s) = detect::redact(kind, current) {
                changed = Some(s);
            }
        }
        if let Some(s) = changed {
            **t = s;
        }
    }
    Ok(())
}

async fn check_budgets(state: &AppState, rails: &Rails) -> Result<(), GatewayError> {
    let now = state.auth.now_ms();
    for c in rails.iter() {
        let g = &c.rail;
        let Some(limit) = g.spec.limit else { continue };
        let since = g.spec.reset.map_or(g.created_at, |r| r.period_start(now));
        let used = state.guardrails.spent(&state.store, &g.id, since).await?;
        if used < limit {
            continue;
        }
        let (period, when) = match g.spec.reset {
            Some(r) => (format!(" {r}"), format!("it resets at {}", crate::routes::chrono_like_iso(r.next_reset(now)))),
            None => (String::new(), format!("it does not reset: raise it with PATCH /api/v1/guardrails/{}", g.id)),
        };
        // 402, not 403: like a key's spend limit, a spent budget is a
        // quota to raise or wait out (402 "payment required / quota"),
        // while OpenRouter keeps 403 for requests a guardrail refuses by
        // what they ask for. `metadata.guardrail` names it either way.
        return Err(refuse(
            402,
            g,
            format!(
                "Guardrail budget exhausted: the keys of guardrail `{}` have spent ${used} of its ${limit}{period} \
                 budget; {when}",
                g.spec.name
            ),
            [
                ("limit_usd", json!(limit.as_usd_f64())),
                ("usage_usd", json!(used.as_usd_f64())),
                ("reset_interval", json!(g.spec.reset.map(|r| r.as_str()))),
            ],
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_patterns() {
        assert!(allows("openai/*", "openai/gpt-4o"));
        assert!(allows("OpenAI/*", "openai/gpt-4o"));
        assert!(!allows("openai/*", "anthropic/claude"));
        assert!(!allows("openai/*", "openai"));
        assert!(allows("*", "anything/at-all"));
        assert!(allows("sim/text", "SIM/text"));
        assert!(!allows("sim/text", "sim/text-2"));
        assert!(!allows("é*", "e"));
    }

    #[test]
    fn provider_lists_intersect_by_slug_and_base() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(intersect(&s(&["sim", "sim-b"]), &s(&["SIM-B", "other"])), ["sim-b"]);
        assert_eq!(intersect(&s(&["google-vertex"]), &s(&["google-vertex/us-east5"])), ["google-vertex/us-east5"]);
        assert_eq!(intersect(&s(&["google-vertex/eu"]), &s(&["google-vertex"])), ["google-vertex/eu"]);
        assert!(intersect(&s(&["google"]), &s(&["google-vertex"])).is_empty());
        assert!(intersect(&s(&["a"]), &s(&["b"])).is_empty());
    }

    fn rail(spec: switchyard_store::GuardrailSpec) -> Arc<Compiled> {
        let rail = Guardrail { id: "g-1".into(), account_id: "a".into(), spec, created_at: 0, updated_at: 0 };
        let filters = Arc::new(compile_filters(&rail.spec.regex_filters));
        Arc::new(Compiled { rail, filters })
    }

    fn chat(texts: &[&str]) -> ChatRequest {
        let messages: Vec<Value> = texts.iter().map(|t| json!({"role": "user", "content": t})).collect();
        serde_json::from_value(json!({"model": "m", "messages": messages})).unwrap()
    }

    fn text_of(req: &ChatRequest, i: usize) -> String {
        req.messages[i].content.as_ref().unwrap().text()
    }

    #[test]
    fn redaction_rewrites_every_text_and_block_beats_redact() {
        use switchyard_store::{GuardrailSpec, PiiRule};
        let redactor = rail(GuardrailSpec {
            name: "r".into(),
            regex_filters: vec![RegexFilter {
                pattern: r"sk-[a-z0-9]{6}".into(),
                action: FilterAction::Redact,
                label: Some("api_key".into()),
            }],
            pii: Some(PiiRule { action: FilterAction::Redact, types: vec![PiiKind::Email, PiiKind::CreditCard] }),
            ..GuardrailSpec::default()
        });
        let rails: Rails = vec![redactor.clone()].into();
        let mut req = chat(&["key sk-abc123, mail a.b@example.com", "card 4111 1111 1111 1111", "clean"]);
        let parts: Value =
            json!([{"type": "text", "text": "part x@y.org"}, {"type": "image_url", "image_url": {"url": "http://i"}}]);
        req.messages[2].content = Some(serde_json::from_value(parts).unwrap());
        check_content(&rails, texts(&mut req)).unwrap();
        assert_eq!(text_of(&req, 0), "key [REDACTED:api_key], mail [REDACTED:email]");
        assert_eq!(text_of(&req, 1), "card [REDACTED:credit_card]");
        assert_eq!(text_of(&req, 2), "part [REDACTED:email]");

        // Another guardrail blocks e-mail: the block wins over the redaction.
        let blocker = rail(GuardrailSpec {
            name: "b".into(),
            pii: Some(PiiRule { action: FilterAction::Block, types: vec![PiiKind::Email] }),
            ..GuardrailSpec::default()
        });
        let rails: Rails = vec![redactor, blocker].into();
        let mut req = chat(&["mail a.b@example.com"]);
        let err = check_content(&rails, texts(&mut req)).unwrap_err();
        assert_eq!(err.status(), 403);
        let d = err.detail();
        assert_eq!(d.message, "Request blocked: sensitive information detected");
        let meta = d.metadata.unwrap();
        assert_eq!(meta["guardrail"]["name"], "b");
        assert_eq!(meta["patterns"], json!(["email"]));
        assert_eq!(text_of(&req, 0), "mail a.b@example.com", "nothing redacted when blocked");
    }
}
