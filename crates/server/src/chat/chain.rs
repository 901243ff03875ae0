//! Phase 4: the routed endpoints tried one after another until one answers.
//! The same chain serves whole answers and streams; a stream keeps running
//! it after keep-alives went out, because a comment is not content: until
//! the first content byte reaches the client another endpoint may still
//! take over (reference §7.4).
//!
//! Each step is a planned endpoint with either the gateway's shared key or
//! one of the account's own keys (BYOK, see [`crate::byok`]): a failing own
//! key moves on like any failing attempt.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use switchyard_api::{ChatRequest, ErrorType};
use switchyard_providers::{Protocol, ProviderError, Upstream};
use switchyard_router::{Attempt, Outcome, params};

use super::draft::{AttemptLog, Served};
use super::routing::unsupported_parameters;
use crate::byok::ByokUse;
use crate::error::GatewayError;
use crate::state::AppState;

/// One try: a planned endpoint, with the shared key or an account's own.
#[derive(Clone, Debug)]
pub struct Step {
    /// The endpoint.
    pub attempt: Attempt,
    /// The account's key to use; `None`: the gateway's shared key.
    pub key: Option<Arc<ByokUse>>,
}

impl Step {
    /// The endpoint with the gateway's shared key.
    pub fn shared(attempt: Attempt) -> Step {
        Step { attempt, key: None }
    }
}

/// The attempt that answered, with what it produced.
pub struct Won<T> {
    /// What the attempt produced (an answer, or a stream and its first event).
    pub value: T,
    /// Which endpoint.
    pub attempt: Attempt,
    /// Its provider, model and prices.
    pub served: Served,
    /// The catalog slug it serves.
    pub slug: String,
    /// When the attempt started.
    pub started: Instant,
}

/// Why the chain gave up: the last failure and its provider.
pub struct Lost {
    /// The last failure (boxed: it carries the raw upstream body).
    pub error: Box<ProviderError>,
    /// Display name of the provider that failed last.
    pub provider_name: String,
}

impl Lost {
    /// The client-facing error.
    pub fn into_gateway_error(self, attempts: usize) -> GatewayError {
        GatewayError::Provider { error: self.error, provider_name: self.provider_name, attempts }
    }
}

/// The endpoints still to try and the rules for moving on.
pub struct Chain {
    state: Arc<AppState>,
    req: Arc<ChatRequest>,
    steps: Vec<Step>,
    next: usize,
    requested: Vec<&'static str>,
    fallbacks_allowed: bool,
    deadline: Instant,
    max_wait: Duration,
    /// Every attempt made so far, failures and the winner.
    pub logs: Vec<AttemptLog>,
}

impl Chain {
    /// A chain over `attempts` for `req`.
    pub fn new(
        state: Arc<AppState>,
        req: Arc<ChatRequest>,
        attempts: Vec<Attempt>,
        requested: Vec<&'static str>,
        fallbacks_allowed: bool,
        started: Instant,
    ) -> Chain {
        let routing = &state.routing;
        let deadline = started + Duration::from_millis(routing.total_timeout_ms);
        let max_wait = Duration::from_millis(routing.max_retry_after_ms);
        let steps = attempts.into_iter().map(Step::shared).collect();
        Chain { state, req, steps, next: 0, requested, fallbacks_allowed, deadline, max_wait, logs: Vec::new() }
    }

    /// Replaces the plan's steps (the shared attempts) with `steps`, which
    /// add the account's own keys ([`crate::byok::AccountKeys::steps`]).
    /// Without fallbacks only the first step's endpoint is tried, with each
    /// of its keys in turn.
    pub fn with_steps(mut self, mut steps: Vec<Step>) -> Chain {
        if !self.fallbacks_allowed
            && steps.iter().any(|s| s.key.is_some())
            && let Some(first) = steps.first().map(|s| s.attempt)
        {
            steps.retain(|s| s.attempt == first);
            self.fallbacks_allowed = true;
        }
        self.steps = steps;
        self
    }

    /// Runs `op` on each endpoint in turn until one succeeds. It moves on
    /// after failures another endpoint may not have (connect errors,
    /// timeouts, 5xx, 429, overload), after a context-length failure only
    /// to endpoints with a larger window, and never after the request's own
    /// fault (a 400). A 429 with nowhere else to go is retried once after
    /// its Retry-After when that fits the deadline. Every failure feeds the
    /// endpoint's health.
    pub async fn run<T, F, Fut>(&mut self, mut op: F) -> Result<Won<T>, Lost>
    where
        F: FnMut(Arc<Upstream>, Arc<ChatRequest>, Served) -> Fut,
        Fut: Future<Output = Result<T, ProviderError>>,
    {
        let mut last: Option<Lost> = None;
        let mut needs_context: Option<u64> = None;
        let mut waited = false;
        while self.next < self.steps.len() {
            let step = self.steps[self.next].clone();
            let attempt = step.attempt;
            let context = self.context_of(attempt);
            if needs_context.is_some_and(|c| context <= c) {
                self.next += 1;
                continue;
            }
            let now = Instant::now();
            if now >= self.deadline {
                let error = ProviderError::Timeout(Duration::from_millis(self.state.routing.total_timeout_ms));
                let provider_name = last.map(|l| l.provider_name).unwrap_or_default();
                return Err(Lost { error: Box::new(error), provider_name });
            }
            let (upstream, served, slug) = self.resolve(&step)?;
            let req = self.request_for(attempt, &upstream, &served);
            let (req, compression) = self.compressed(attempt, &upstream, req);
            let outcome = match tokio::time::timeout(self.deadline - now, op(upstream, req, served.clone())).await {
                Ok(o) => o,
                Err(_) => Err(ProviderError::Timeout(self.deadline - now)),
            };
            let mut error = match outcome {
                Ok(value) => {
                    let log = AttemptLog::new(&served, &slug, "ok".into(), Some(200), now.elapsed());
                    self.logs.push(AttemptLog { compression, ..log });
                    self.next += 1;
                    return Ok(Won { value, attempt, served, slug, started: now });
                }
                Err(e) => e,
            };
            let status = match &error {
                ProviderError::Upstream(f) => Some(f.status),
                _ => None,
            };
            if let Some(key) = &step.key {
                key.scrub(&mut error);
            }
            // An own key refused or rate-limited says nothing about the
            // endpoint everyone else uses.
            let key_specific = step.key.is_some() && matches!(status, Some(401..=403 | 429));
            if !key_specific {
                let failure = Outcome::Failure { rate_limited: status == Some(429) };
                self.state.health.record(attempt, Instant::now(), failure);
            }
            let log = AttemptLog::new(&served, &slug, error.to_string(), status, now.elapsed());
            self.logs.push(AttemptLog { compression, ..log });
            let is_context = error.error_type() == ErrorType::ContextLengthExceeded;
            if is_context {
                needs_context = Some(context);
            }
            let more = self.steps[self.next + 1..]
                .iter()
                .any(|s| needs_context.is_none_or(|c| self.context_of(s.attempt) > c));
            tracing::debug!(provider = %served.provider_slug, error = %error, more, "attempt failed");
            let wait = error.retry_after().filter(|w| *w <= self.max_wait && Instant::now() + *w < self.deadline);
            let lost = Lost { error: Box::new(error), provider_name: served.provider_name };
            if status == Some(429)
                && !more
                && !waited
                && let Some(wait) = wait
            {
                waited = true;
                last = Some(lost);
                tokio::time::sleep(wait).await;
                continue;
            }
            let retryable = lost.error.retryable() || is_context;
            last = Some(lost);
            if !(retryable && more && self.fallbacks_allowed) {
                break;
            }
            self.next += 1;
        }
        Err(last.unwrap_or_else(|| Lost {
            error: Box::new(ProviderError::Unsupported("no endpoint is left to try".into())),
            provider_name: String::new(),
        }))
    }

    /// The request as this endpoint gets it: without the parameters it
    /// does not take and, on a service-tier endpoint, asking for that tier
    /// (the tier is what its prices are for).
    fn request_for(&self, attempt: Attempt, upstream: &Upstream, served: &Served) -> Arc<ChatRequest> {
        let tier = attempt.endpoint(&self.state.catalog).service_tier.as_deref();
        let tier = tier.filter(|_| matches!(upstream.config.protocol, Protocol::Openai | Protocol::Azure));
        let tier_differs = tier.is_some_and(|t| self.req.extra.get("service_tier").and_then(|v| v.as_str()) != Some(t));
        let mut owned = params::without(&self.req, &served.dropped_parameters);
        if let Some(t) = tier.filter(|_| tier_differs) {
            owned.get_or_insert_with(|| (*self.req).clone()).extra.insert("service_tier".into(), t.into());
        }
        owned.map_or_else(|| self.req.clone(), Arc::new)
    }

    /// The request after middle-out compression for this endpoint's window,
    /// when it applies ([`crate::plugins::compression::fit`]).
    fn compressed(
        &self,
        attempt: Attempt,
        upstream: &Upstream,
        req: Arc<ChatRequest>,
    ) -> (Arc<ChatRequest>, Option<crate::plugins::compression::Compressed>) {
        let cap = attempt.endpoint(&self.state.catalog).max_completion_tokens;
        let context = self.context_of(attempt);
        match crate::plugins::compression::fit(&req, context, cap, upstream.config.protocol) {
            Some((smaller, note)) => (Arc::new(smaller), Some(note)),
            None => (req, None),
        }
    }

    fn context_of(&self, attempt: Attempt) -> u64 {
        let model = attempt.model(&self.state.catalog);
        attempt.endpoint(&self.state.catalog).context_length.unwrap_or(model.spec.context_length)
    }

    fn resolve(&self, step: &Step) -> Result<(Arc<Upstream>, Served, String), Lost> {
        let state = &self.state;
        let attempt = step.attempt;
        let endpoint = attempt.endpoint(&state.catalog);
        let own = step.key.as_ref().map(|k| k.upstream.clone());
        let Some(upstream) = own.or_else(|| state.upstreams.get(&endpoint.provider).cloned()) else {
            let error = ProviderError::Unsupported(format!("provider {} is not enabled", endpoint.provider));
            return Err(Lost { error: Box::new(error), provider_name: endpoint.provider.clone() });
        };
        let dropped = unsupported_parameters(state, attempt, &self.requested);
        let mut served = Served::new(endpoint, &upstream, dropped);
        served.byok_key = step.key.as_ref().map(|k| k.id.clone());
        Ok((upstream, served, attempt.model(&state.catalog).spec.id.clone()))
    }
}
