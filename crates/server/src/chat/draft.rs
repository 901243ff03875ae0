//! The generation being produced: ids, timings, attempts and usage, turned
//! into a stored record exactly once, even when the client goes away.

use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;
use serde_json::{Value, json};
use switchyard_api::models::ModelPricing;
use switchyard_api::usage::{CostDetails, PromptTokensDetails};
use switchyard_api::{ChatRequest, NanoUsd, Usage};
use switchyard_router::{Attempt, Cost, Outcome, cost_of};

use crate::sticky::ConversationKey;
use switchyard_store::{GenerationRecord, now_ms};

use crate::auth::Caller;
use crate::state::AppState;

/// One upstream attempt, as explained in the generation record: OpenRouter's
/// `ProviderResponse` fields plus what happened.
#[derive(Clone, Debug, Serialize)]
pub struct AttemptLog {
    /// Provider display name.
    pub provider_name: String,
    /// Provider slug.
    pub provider: String,
    /// `provider/upstream-model`.
    pub endpoint_id: String,
    /// The catalog slug tried.
    pub model_permaslug: String,
    /// The provider's model id.
    pub model: String,
    /// `ok`, or why it failed.
    pub outcome: String,
    /// HTTP status the provider sent, if any.
    pub status: Option<u16>,
    /// Time spent on the attempt, ms.
    pub latency: u64,
    /// The attempt used the account's own provider key (BYOK).
    pub is_byok: bool,
    /// Request parameters left out because this endpoint does not take them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dropped_parameters: Vec<&'static str>,
    /// What middle-out compression removed from this attempt's request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compression: Option<crate::plugins::compression::Compressed>,
}

impl AttemptLog {
    /// The record of an attempt on `served` for catalog model `slug`.
    pub fn new(
        served: &Served,
        slug: &str,
        outcome: String,
        status: Option<u16>,
        latency: std::time::Duration,
    ) -> Self {
        AttemptLog {
            provider_name: served.provider_name.clone(),
            provider: served.provider_slug.clone(),
            endpoint_id: format!("{}/{}", served.provider_slug, served.upstream_model),
            model_permaslug: slug.to_owned(),
            model: served.upstream_model.clone(),
            outcome,
            status,
            latency: latency.as_millis() as u64,
            is_byok: served.byok_key.is_some(),
            dropped_parameters: served.dropped_parameters.clone(),
            compression: None,
        }
    }
}

/// The serving endpoint of a generation.
#[derive(Clone, Debug)]
pub struct Served {
    /// Provider slug.
    pub provider_slug: String,
    /// Provider display name.
    pub provider_name: String,
    /// The provider's model id.
    pub upstream_model: String,
    /// The endpoint's prices.
    pub pricing: ModelPricing,
    /// Request parameters this endpoint does not take, left out of its request.
    pub dropped_parameters: Vec<&'static str>,
    /// The id of the account's own key (BYOK) it is served with; `None`:
    /// the gateway's shared key.
    pub byok_key: Option<String>,
}

impl Served {
    /// The endpoint of `upstream` that serves an attempt.
    pub fn new(
        endpoint: &switchyard_router::EndpointSpec,
        upstream: &switchyard_providers::Upstream,
        dropped_parameters: Vec<&'static str>,
    ) -> Self {
        Served {
            provider_slug: endpoint.provider.clone(),
            provider_name: upstream.config.name.clone(),
            upstream_model: endpoint.model.clone(),
            pricing: endpoint.pricing(),
            dropped_parameters,
            byok_key: None,
        }
    }
}

/// A generation in progress. Dropped without [`Draft::finish`], it is
/// recorded as cancelled with the tokens counted so far.
pub struct Draft {
    state: Arc<AppState>,
    /// `gen-...`.
    pub id: String,
    /// Unix seconds, for `created`.
    pub created: u64,
    /// Catalog slug asked for (then: that served).
    pub model: String,
    /// Who asked.
    pub caller: Caller,
    /// When the request arrived.
    pub started: Instant,
    /// When the first content reached (or was ready for) the client.
    pub first_content: Option<Instant>,
    /// Streaming request.
    pub streamed: bool,
    /// Every attempt so far.
    /// The worst case reserved against the balance and the key's limit,
    /// settled to the exact cost when the generation ends.
    pub reservation: Option<crate::spend::Reservation>,
    pub attempts: Vec<AttemptLog>,
    /// How the request was routed (kept in the generation record).
    pub routing: Option<serde_json::Value>,
    /// The client asked for the routing explanation in the response.
    pub echo_routing: bool,
    /// The attempt under way and when it started (for health).
    pub serving: Option<(Attempt, Instant)>,
    /// The conversation, for sticky routing, and whether the client named it.
    pub conversation: Option<(ConversationKey, bool)>,
    /// Where it is being served.
    pub served: Option<Served>,
    /// The provider's response id.
    pub upstream_id: Option<String>,
    /// Usage as the provider reported it.
    pub usage: Option<Usage>,
    /// Gateway estimate of prompt tokens, used when the provider reports none.
    pub prompt_estimate: u64,
    /// Content pieces seen (each ~one token), for the estimate.
    pub completion_pieces: u64,
    /// Normalised and native finish reasons.
    pub finish: Option<(String, String)>,
    /// The web plugin's search, charged and cited with the answer.
    pub web: Option<crate::plugins::web::WebUse>,
    /// The response cache's ticket, when the answer is to be stored.
    pub cache: Option<crate::cache::Ticket>,
    /// Served from the response cache: the generation that produced the answer.
    pub cache_source: Option<String>,
    done: bool,
}

/// Generation ids: `gen-<unix-ms>-<random>`.
pub fn new_generation_id() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    let tail: String = (0..20).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect();
    format!("gen-{}-{tail}", now_ms())
}

/// The prompt token estimate ([`switchyard_router::tokens::estimate`], a
/// real tokenizer): for routing by context window, middle-out compression,
/// and the usage when the provider reports none.
pub fn estimate_prompt_tokens(req: &ChatRequest) -> u64 {
    switchyard_router::tokens::estimate(req)
}

impl Draft {
    /// Starts a draft for an authenticated request.
    pub fn new(state: Arc<AppState>, caller: Caller, model: String, streamed: bool, started: Instant) -> Draft {
        Draft {
            state,
            id: new_generation_id(),
            created: (now_ms() / 1000) as u64,
            model,
            caller,
            started,
            first_content: None,
            streamed,
            reservation: None,
            attempts: Vec::new(),
            routing: None,
            echo_routing: false,
            serving: None,
            conversation: None,
            served: None,
            upstream_id: None,
            usage: None,
            prompt_estimate: 0,
            completion_pieces: 0,
            finish: None,
            web: None,
            cache: None,
            cache_source: None,
            done: false,
        }
    }

    /// Moves the draft out (into a stream body), leaving behind an empty one
    /// that records nothing when dropped.
    pub fn take(&mut self) -> Draft {
        let taken = Draft {
            state: self.state.clone(),
            id: self.id.clone(),
            created: self.created,
            model: self.model.clone(),
            caller: self.caller.clone(),
            started: self.started,
            first_content: self.first_content,
            streamed: self.streamed,
            reservation: self.reservation.take(),
            attempts: std::mem::take(&mut self.attempts),
            routing: self.routing.take(),
            echo_routing: self.echo_routing,
            serving: self.serving.take(),
            conversation: self.conversation.take(),
            served: self.served.take(),
            upstream_id: self.upstream_id.take(),
            usage: self.usage.take(),
            prompt_estimate: self.prompt_estimate,
            completion_pieces: self.completion_pieces,
            finish: self.finish.take(),
            web: self.web.take(),
            cache: self.cache.take(),
            cache_source: self.cache_source.take(),
            done: self.done,
        };
        self.done = true;
        taken
    }

    /// Usage to report: the provider's, or the gateway's estimate; with cost.
    /// Served with the account's own key (BYOK), the charge (`usage.cost`,
    /// the returned total) is the BYOK fee on the list cost, and the list
    /// cost is what the provider bills the account
    /// (`cost_details.upstream_inference_cost`, and the split).
    pub fn final_usage(&self, charge: bool) -> (Usage, Cost, bool) {
        let (usage, cost, _, estimated) = self.final_usage_with_list(charge);
        (usage, cost, estimated)
    }

    /// [`Draft::final_usage`], with the BYOK list cost (zero when not BYOK).
    fn final_usage_with_list(&self, charge: bool) -> (Usage, Cost, NanoUsd, bool) {
        let (mut usage, estimated) = match &self.usage {
            Some(u) => (u.clone(), false),
            None => {
                let u = Usage {
                    prompt_tokens: self.prompt_estimate,
                    completion_tokens: self.completion_pieces,
                    total_tokens: self.prompt_estimate + self.completion_pieces,
                    ..Usage::default()
                };
                (u, true)
            }
        };
        if usage.total_tokens == 0 {
            usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
        }
        let list = match (&self.served, charge) {
            (Some(s), true) => cost_of(&s.pricing, &usage),
            _ => Cost::default(),
        };
        let byok = self.served.as_ref().is_some_and(|s| s.byok_key.is_some());
        let mut cost = if byok { Cost { total: crate::byok::fee(list.total), ..list } } else { list };
        // Web search is charged on top, BYOK or not, free model or not.
        let web = self.web.as_ref().map(|w| (w.cost(self.served.as_ref(), &usage, charge), w.searches(&usage, charge)));
        if let Some((web_cost, searches)) = web {
            cost.total = cost.total.saturating_add(web_cost);
            usage.extra.insert("server_tool_use_details".into(), json!({"web_search_requests": searches}));
        }
        usage.cost = Some(cost.total.as_usd_f64());
        usage.is_byok = Some(byok);
        usage.cost_details = Some(CostDetails {
            upstream_inference_cost: byok.then(|| list.total.as_usd_f64()),
            upstream_inference_prompt_cost: list.prompt.as_usd_f64(),
            upstream_inference_completions_cost: list.completion.as_usd_f64(),
            web_search_cost: web.map(|(c, _)| c.as_usd_f64()),
        });
        if usage.prompt_tokens_details.is_none() {
            usage.prompt_tokens_details = Some(PromptTokensDetails { cached_tokens: Some(0), ..Default::default() });
        }
        let byok_list = if byok { list.total } else { NanoUsd::ZERO };
        (usage, cost, byok_list, estimated)
    }

    /// The routing explanation and the attempts so far, when the client
    /// asked for them (`openrouter_metadata`).
    pub fn routing_metadata(&self) -> Option<serde_json::Value> {
        let mut meta = self.routing.clone().filter(|_| self.echo_routing)?;
        if let Some(obj) = meta.as_object_mut() {
            obj.insert("attempts".into(), serde_json::to_value(&self.attempts).unwrap_or_default());
        }
        Some(meta)
    }

    /// Feeds the served attempt's outcome into endpoint health and, after a
    /// success, pins the conversation to its endpoint (§7.6: any success
    /// with a named session; otherwise only one that read the prompt cache
    /// where reading it is cheaper than a fresh prompt).
    fn learn(&self, now: Instant, usage: &Usage, failed: bool, cancelled: bool) {
        let (Some((attempt, t0)), Some(served)) = (self.serving, self.served.as_ref()) else { return };
        if failed {
            self.state.health.record(attempt, now, Outcome::Failure { rate_limited: false });
            return;
        }
        let first = self.first_content.unwrap_or(now);
        let generating = now.saturating_duration_since(first).as_secs_f64();
        let tokens_per_sec = (!cancelled && usage.completion_tokens > 1 && generating > 0.0)
            .then(|| usage.completion_tokens as f64 / generating);
        self.state.health.record(
            attempt,
            now,
            Outcome::Success { ttft: first.saturating_duration_since(t0), tokens_per_sec },
        );
        if let Some((key, explicit)) = self.conversation {
            let cheaper_cache = served.pricing.input_cache_read.is_some_and(|r| r < served.pricing.prompt);
            if explicit || (usage.cached_tokens() > 0 && cheaper_cache) {
                let tag = attempt.endpoint(&self.state.catalog).routing_tag();
                self.state.sticky.pin(key, tag, now);
            }
        }
    }

    /// Records the generation (once) and debits the account at once.
    pub fn finish(&mut self, status: u16, error: Option<String>, cancelled: bool) -> (Usage, Cost) {
        // Zero-completion insurance: nothing is charged for a failed
        // generation, nor for one that produced no tokens and no finish.
        let produced = self.usage.as_ref().map_or(self.completion_pieces > 0, |u| u.completion_tokens > 0);
        let failed = error.is_some() && !cancelled;
        let charge = !failed && (produced || self.finish.is_some());
        let (usage, cost, byok_list, estimated) = self.final_usage_with_list(charge);
        if self.done {
            return (usage, cost);
        }
        self.done = true;
        let now = Instant::now();
        self.learn(now, &usage, failed, cancelled);
        let ms = |d: std::time::Duration| d.as_millis() as i64;
        let served = self.served.as_ref();
        if let (Some(key), Some(Value::Object(routing))) = (served.and_then(|s| s.byok_key.as_ref()), &mut self.routing)
        {
            let upstream = usage.cost_details.as_ref().and_then(|d| d.upstream_inference_cost);
            routing.insert("byok".into(), json!({"key": key, "upstream_inference_cost": upstream}));
        }
        if let (Some(w), Some(Value::Object(routing))) = (&self.web, &mut self.routing) {
            let web_cost = w.cost(served, &usage, charge);
            routing.insert("web_search".into(), w.record(web_cost, w.searches(&usage, charge)));
        }
        let rec = GenerationRecord {
            id: self.id.clone(),
            account_id: self.caller.key.account_id.clone(),
            key_hash: self.caller.key.hash.clone(),
            model: self.model.clone(),
            provider_name: served.map(|s| s.provider_name.clone()),
            provider_slug: served.map(|s| s.provider_slug.clone()),
            upstream_model: served.map(|s| s.upstream_model.clone()),
            upstream_id: self.upstream_id.clone(),
            tokens_prompt: usage.prompt_tokens as i64,
            tokens_completion: usage.completion_tokens as i64,
            tokens_reasoning: usage.reasoning_tokens() as i64,
            tokens_cached: usage.cached_tokens() as i64,
            tokens_cache_write: usage.cache_write_tokens() as i64,
            usage_estimated: estimated,
            cost: cost.total,
            byok_cost: byok_list,
            latency_ms: ms(now - self.started),
            ttft_ms: self.first_content.map(|t| ms(t - self.started)),
            generation_time_ms: self.first_content.map_or(0, |t| ms(now - t)),
            finish_reason: self.finish.as_ref().map(|f| f.0.clone()),
            native_finish_reason: self.finish.as_ref().map(|f| f.1.clone()),
            streamed: self.streamed,
            cancelled,
            status,
            error,
            attempts: serde_json::to_value(&self.attempts).unwrap_or_default(),
            routing: self.routing.take(),
            created_at: now_ms(),
            response_cache_source_id: self.cache_source.clone(),
        };
        match self.reservation.take() {
            Some(r) => r.settle_byok(&self.caller, cost.total, byok_list),
            None => {
                if cost.total != NanoUsd::ZERO {
                    self.caller.debit(cost.total);
                }
                if byok_list != NanoUsd::ZERO {
                    self.caller.debit_byok(byok_list);
                }
            }
        }
        self.state.sink.record(rec);
        (usage, cost)
    }
}

impl Drop for Draft {
    fn drop(&mut self) {
        if !self.done {
            self.finish(499, Some("client closed the request".into()), true);
        }
    }
}
