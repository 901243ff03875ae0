//! Phase 3: from the request's `model`, `models` and `provider` fields to an
//! ordered list of endpoints, and the record of why.

use std::time::Instant;

use axum::http::HeaderMap;
use rand::seq::SliceRandom;
use serde_json::{Value, json};
use switchyard_api::ChatRequest;
use switchyard_api::provider::{MaxPrice, ProviderPreferences};
use switchyard_router::{
    Attempt, Needs, Resolved, Route, RouteError, RouteInput, RouterSlug, params, pick_auto, pick_free, resolve, route,
    router_slug,
};

use crate::error::GatewayError;
use crate::state::AppState;
use crate::sticky::ConversationKey;

/// The routed request: what to try, and what the generation record and
/// `openrouter_metadata` say about it.
pub struct Routed {
    /// The endpoints, in order.
    pub route: Route,
    /// The preferences used (request over key over workspace over server
    /// defaults).
    pub prefs: ProviderPreferences,
    /// The parameters the request sets.
    pub requested: Vec<&'static str>,
    /// `auto`, `free`, `alias` or `direct` (reference §1.2 `strategy`).
    pub strategy: &'static str,
    /// The conversation, for sticky routing, and whether the client named it.
    pub conversation: (ConversationKey, bool),
    /// The routing tag the conversation was pinned to, if any.
    pub sticky: Option<String>,
}

impl Routed {
    /// Whether attempts may move past the first endpoint of a model.
    pub fn fallbacks_allowed(&self) -> bool {
        self.prefs.fallbacks_allowed()
    }

    /// A request for a free model (`:free`, or the free router): the
    /// free-model caps apply (reference §8.1).
    pub fn is_free_model(&self, state: &AppState) -> bool {
        self.strategy == "free"
            || self.route.attempts.first().is_some_and(|a| a.model(&state.catalog).spec.id.ends_with(":free"))
    }

    /// The routing explanation kept in the generation record and returned
    /// as `openrouter_metadata`.
    pub fn explain(&self, state: &AppState, requested_model: &str) -> Value {
        let catalog = &state.catalog;
        let tag = |a: &Attempt| a.endpoint(catalog).routing_tag().to_owned();
        let planned: Vec<Value> = self
            .route
            .attempts
            .iter()
            .map(|a| {
                let e = a.endpoint(catalog);
                json!({
                    "model": a.model(catalog).spec.id,
                    "provider": tag(a),
                    "upstream_model": e.model,
                    "prompt_price": e.prompt.per_million_usd(),
                    "completion_price": e.completion.per_million_usd(),
                })
            })
            .collect();
        let deprioritized: Vec<Value> =
            self.route.deprioritized.iter().map(|(a, why)| json!({"provider": tag(a), "preference": why})).collect();
        json!({
            "requested": requested_model,
            "strategy": self.strategy,
            "load_balanced": self.route.load_balanced,
            "sticky": self.sticky,
            "planned": planned,
            "excluded": self.route.excluded,
            "deprioritized": deprioritized,
            "preferences": self.prefs,
            "params": self.requested,
        })
    }
}

/// The provider preferences a request is routed with: the server's
/// defaults, then the key's workspace's, then the key name's config, then
/// the request's own; guardrails can only tighten the result (their
/// provider allow-lists intersect `only`, ZDR ORs).
pub fn preferences(
    state: &AppState,
    request: Option<&ProviderPreferences>,
    key_name: &str,
    workspace: Option<&ProviderPreferences>,
    guard: &crate::guardrails::Guard,
) -> Result<ProviderPreferences, GatewayError> {
    let mut prefs = state.routing.provider.clone();
    if let Some(ws) = workspace {
        prefs = ws.merged_over(&prefs);
    }
    if let Some(k) = state.routing.keys.get(key_name) {
        prefs = k.provider.merged_over(&prefs);
    }
    if let Some(mine) = request {
        prefs = mine.merged_over(&prefs);
    }
    let slug_of = |name: &str| {
        state.upstreams.values().find(|u| u.config.name.eq_ignore_ascii_case(name)).map(|u| u.config.slug.clone())
    };
    guard.constrain(&mut prefs, slug_of)?;
    Ok(prefs)
}

/// Routes one chat request.
#[allow(clippy::too_many_arguments)]
pub fn plan(
    state: &AppState,
    req: &ChatRequest,
    model: &str,
    key_name: &str,
    account_id: &str,
    headers: &HeaderMap,
    prompt_tokens: u64,
    guard: &crate::guardrails::Guard,
    workspace: Option<&ProviderPreferences>,
) -> Result<Routed, GatewayError> {
    let catalog = &state.catalog;
    let mut prefs = preferences(state, req.provider.as_ref(), key_name, workspace, guard)?;
    let mut needs = Needs::of(req, prompt_tokens);
    needs.compress_up_to = crate::plugins::compression::compress_up_to(req);

    let (mut resolved, strategy): (Vec<Resolved>, &'static str) = match router_slug(catalog, model) {
        Some(RouterSlug::Auto) => {
            let tier = req.extra.get("cost_tier").and_then(Value::as_str);
            let picked = pick_auto(catalog, &state.routing.auto_models, &needs, tier)?;
            (picked.into_iter().map(Resolved::model).collect(), "auto")
        }
        Some(RouterSlug::Free) => {
            // A random free model that can serve the request, and only its free endpoints.
            let mut picked = pick_free(catalog, &needs)?;
            picked.shuffle(&mut rand::rng());
            prefs.max_price =
                Some(MaxPrice { prompt: Some(0.0), completion: Some(0.0), request: Some(0.0), ..MaxPrice::default() });
            (picked.into_iter().map(Resolved::model).collect(), "free")
        }
        None => (vec![resolve(catalog, model)?], if model.starts_with('~') { "alias" } else { "direct" }),
    };
    for m in req.models.iter().flatten().filter(|m| m.as_str() != model) {
        resolved.push(resolve(catalog, m)?);
    }

    let requested = params::requested(req);
    let conversation =
        ConversationKey::of(account_id, model, req, headers.get("x-session-id").and_then(|v| v.to_str().ok()));
    let sticky = state.sticky.get(conversation.0, Instant::now());
    let service_tier = req.extra.get("service_tier").and_then(Value::as_str);
    let input = RouteInput {
        models: &resolved,
        prefs: &prefs,
        requested: &requested,
        needs: &needs,
        service_tier,
        sticky: sticky.as_deref(),
    };
    let can_send = |e: &switchyard_router::EndpointSpec, p: &str| {
        state.upstreams.get(&e.provider).is_none_or(|u| u.config.protocol.can_send(p))
    };
    let route = route(catalog, &input, &state.health, Instant::now(), &mut rand::rng(), &can_send)
        .map_err(GatewayError::Route)?;
    if route.attempts.is_empty() {
        return Err(GatewayError::Route(RouteError::NoEndpoints {
            models: vec![model.to_owned()],
            excluded: Vec::new(),
        }));
    }
    Ok(Routed { route, prefs, requested, strategy, conversation, sticky })
}

/// The parameters of `requested` that the attempt's endpoint does not take,
/// by the catalog's list or because its protocol has no way to send them:
/// they are left out of that endpoint's request.
pub fn unsupported_parameters(state: &AppState, attempt: Attempt, requested: &[&'static str]) -> Vec<&'static str> {
    if requested.is_empty() {
        return Vec::new();
    }
    let model = attempt.model(&state.catalog);
    let endpoint = attempt.endpoint(&state.catalog);
    let protocol = state.upstreams.get(&endpoint.provider).map(|u| u.config.protocol);
    requested
        .iter()
        .copied()
        .filter(|p| !params::endpoint_takes(model, endpoint, p) || protocol.is_some_and(|proto| !proto.can_send(p)))
        .collect()
}
