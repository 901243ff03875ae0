//! Opt-in active health probes: endpoints of models in use that have seen
//! no traffic for a while get a one-token request, so routing knows whether
//! they are up before a client finds out. Off unless
//! `[routing] probe_interval_ms` is set; every probe is a real, billed call
//! to the provider, paid by the operator and recorded only in health.

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use switchyard_api::ChatRequest;
use switchyard_providers::{Answer, ProviderError, call};
use switchyard_router::{Attempt, Outcome};

use crate::state::AppState;

/// Most probes sent per round, so a large catalog never floods providers.
const MAX_PROBES_PER_ROUND: usize = 8;

/// A model counts as in use if any of its endpoints saw an outcome this recently.
const IN_USE: Duration = Duration::from_secs(24 * 3600);

/// Starts the probe loop when configured. It stops by itself once the
/// gateway's state is gone.
pub fn spawn(state: &Arc<AppState>) {
    let interval = state.routing.probe_interval_ms;
    if interval == 0 {
        return;
    }
    let weak = Arc::downgrade(state);
    tokio::spawn(run(weak, Duration::from_millis(interval)));
}

async fn run(state: Weak<AppState>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(state) = state.upgrade() else { return };
        let due = due(&state, Instant::now());
        let probes = due.into_iter().map(|at| probe(&state, at));
        futures_util::future::join_all(probes).await;
    }
}

/// The idle endpoints of models in use, at most [`MAX_PROBES_PER_ROUND`],
/// longest idle (or never seen) first.
fn due(state: &AppState, now: Instant) -> Vec<Attempt> {
    let idle = Duration::from_millis(state.routing.probe_idle_ms);
    let mut due: Vec<(Option<Instant>, Attempt)> = Vec::new();
    for (m, model) in state.catalog.models().iter().enumerate() {
        if model.spec.output_modalities.iter().any(|o| o == "embeddings") {
            continue;
        }
        let last = |e: usize| state.health.last_outcome(Attempt { model: m, endpoint: e });
        let in_use = (0..model.endpoints.len()).any(|e| last(e).is_some_and(|t| now.duration_since(t) < IN_USE));
        if !in_use {
            continue;
        }
        for e in 0..model.endpoints.len() {
            let seen = last(e);
            if seen.is_none_or(|t| now.duration_since(t) >= idle) {
                due.push((seen, Attempt { model: m, endpoint: e }));
            }
        }
    }
    due.sort_by_key(|(seen, _)| *seen);
    due.into_iter().take(MAX_PROBES_PER_ROUND).map(|(_, at)| at).collect()
}

/// One probe: a one-token request, its outcome fed into health.
async fn probe(state: &AppState, at: Attempt) {
    let endpoint = at.endpoint(&state.catalog);
    let Some(upstream) = state.upstreams.get(&endpoint.provider) else { return };
    let req: ChatRequest = match serde_json::from_value(
        serde_json::json!({"messages": [{"role": "user", "content": "ping"}], "max_tokens": 1}),
    ) {
        Ok(r) => r,
        Err(_) => return,
    };
    let t0 = Instant::now();
    let outcome = match call(upstream, &req, &endpoint.model).await {
        Ok(Answer::Complete(_)) => Outcome::Success { ttft: t0.elapsed(), tokens_per_sec: None },
        Ok(Answer::Stream(_)) => Outcome::Failure { rate_limited: false },
        Err(e) => {
            let rate_limited = matches!(&e, ProviderError::Upstream(f) if f.status == 429);
            tracing::debug!(provider = %endpoint.provider, model = %endpoint.model, error = %e, "probe failed");
            Outcome::Failure { rate_limited }
        }
    };
    state.health.record(at, Instant::now(), outcome);
}
