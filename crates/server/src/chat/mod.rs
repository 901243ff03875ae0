//! `POST /api/v1/chat/completions`: phases 1 to 6 for one request.

mod draft;
mod stream;

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use switchyard_api::{ChatRequest, ChatResponse, FinishReason};
use switchyard_providers::{Answer, ProviderError, call};
use switchyard_router::{Attempt, params, plan};

pub use draft::{AttemptLog, Draft, Served, estimate_prompt_tokens, new_generation_id};

use crate::error::GatewayError;
use crate::state::AppState;
use crate::timing::server_timing;

/// The handler.
pub async fn chat_completions(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Body) -> Response {
    let started = Instant::now();
    match handle(state, &headers, body, started).await {
        Ok(resp) => resp,
        Err(e) => e.into_response(),
    }
}

async fn handle(
    state: Arc<AppState>,
    headers: &HeaderMap,
    body: Body,
    started: Instant,
) -> Result<Response, GatewayError> {
    // Phase 1: accept.
    let (caller, bytes) = crate::accept::accept_inference(&state, headers, body).await?;

    // Phase 2: normalize.
    let req = crate::body::parse_chat(&bytes)?;
    let model = req
        .model
        .clone()
        .filter(|m| !m.is_empty())
        .or_else(|| state.default_model.clone())
        .ok_or_else(|| GatewayError::BadRequest("`model` is required".into()))?;
    let mut draft = Draft::new(state.clone(), caller, model.clone(), req.is_stream(), started);
    let result = run(&state, req, model, &mut draft).await;
    match result {
        Ok(resp) => Ok(resp),
        Err(e) => {
            draft.finish(e.status(), Some(e.to_string()), false);
            let mut resp = e.into_response();
            resp.headers_mut().insert("x-generation-id", header_value(&draft.id));
            Ok(resp)
        }
    }
}

async fn run(
    state: &Arc<AppState>,
    req: ChatRequest,
    model: String,
    draft: &mut Draft,
) -> Result<Response, GatewayError> {
    if req.messages.is_empty() {
        return Err(GatewayError::BadRequest("`messages` must contain at least one message".into()));
    }
    // Phase 3: plan.
    let mut wanted: Vec<&str> = vec![model.as_str()];
    if let Some(extra) = &req.models {
        wanted.extend(extra.iter().map(String::as_str).filter(|m| *m != model));
    }
    let mut plan = plan(&state.catalog, &wanted).map_err(|e| GatewayError::BadRequest(e.to_string()))?;
    let requested = params::requested(&req);
    if require_parameters(&req) && !plan.attempts.is_empty() {
        let before = plan.attempts.len();
        let mut missing: Vec<&str> = Vec::new();
        plan.attempts.retain(|a| {
            let unsupported = unsupported_parameters(state, *a, &requested);
            for p in &unsupported {
                if !missing.contains(p) {
                    missing.push(p);
                }
            }
            unsupported.is_empty()
        });
        if plan.attempts.is_empty() {
            return Err(GatewayError::NotFound(format!(
                "No endpoints found that can handle the requested parameters: all {before} endpoints of {model} \
                 were excluded by provider.require_parameters (not supported: {})",
                missing.join(", ")
            )));
        }
    }
    let primary = plan.attempts.first().map(|a| a.model(&state.catalog));
    crate::accept::ensure_can_pay(&draft.caller, &plan, &state.catalog)?;
    if primary.is_none() {
        return Err(GatewayError::NotFound(format!("No endpoints found for {model}")));
    }
    draft.prompt_estimate = estimate_prompt_tokens(&req);

    // Phase 4: execute, falling back on retryable failures.
    let req = Arc::new(req);
    let mut last: Option<(ProviderError, String)> = None;
    let count = plan.attempts.len();
    for (i, attempt) in plan.attempts.iter().enumerate() {
        let dropped = unsupported_parameters(state, *attempt, &requested);
        let attempt_req = params::without(&req, &dropped).map_or_else(|| req.clone(), Arc::new);
        let (upstream, served, slug) = resolve(state, *attempt, dropped)?;
        draft.model = slug;
        let t0 = Instant::now();
        let outcome = if attempt_req.is_stream() {
            stream::start(state, attempt_req, upstream.clone(), served.clone(), draft, t0).await
        } else {
            complete(&upstream, &attempt_req, served.clone(), draft, t0).await
        };
        match outcome {
            Ok(resp) => return Ok(resp),
            Err(err) => {
                let status = match &err {
                    ProviderError::Upstream(f) => Some(f.status),
                    _ => None,
                };
                draft.attempts.push(AttemptLog::new(&served, &draft.model, err.to_string(), status, t0.elapsed()));
                let retry = err.retryable() && i + 1 < count;
                tracing::debug!(provider = %served.provider_slug, error = %err, retry, "attempt failed");
                last = Some((err, served.provider_name));
                if !retry {
                    break;
                }
            }
        }
    }
    let (error, provider_name) = last.ok_or_else(|| GatewayError::Internal("empty plan".into()))?;
    Err(GatewayError::Provider { error: Box::new(error), provider_name, attempts: draft.attempts.len() })
}

/// `provider.require_parameters`: only endpoints that take every parameter
/// the request sets.
fn require_parameters(req: &ChatRequest) -> bool {
    req.provider.as_ref().and_then(|p| p.get("require_parameters")).and_then(serde_json::Value::as_bool) == Some(true)
}

/// The parameters of `requested` that the attempt's endpoint does not take,
/// by the catalog's list or because its protocol has no way to send them.
fn unsupported_parameters(state: &AppState, attempt: Attempt, requested: &[&'static str]) -> Vec<&'static str> {
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

fn resolve(
    state: &AppState,
    attempt: Attempt,
    dropped: Vec<&'static str>,
) -> Result<(Arc<switchyard_providers::Upstream>, Served, String), GatewayError> {
    let endpoint = attempt.endpoint(&state.catalog);
    let model = attempt.model(&state.catalog);
    let upstream = state
        .upstreams
        .get(&endpoint.provider)
        .cloned()
        .ok_or_else(|| GatewayError::Internal(format!("provider {} not enabled", endpoint.provider)))?;
    let served = Served::new(endpoint, &upstream, dropped);
    Ok((upstream, served, model.spec.id.clone()))
}

/// A non-streaming attempt: the whole answer, rewritten into OpenRouter's shape.
async fn complete(
    upstream: &switchyard_providers::Upstream,
    req: &ChatRequest,
    served: Served,
    draft: &mut Draft,
    t0: Instant,
) -> Result<Response, ProviderError> {
    let answer = call(upstream, req, &served.upstream_model).await?;
    let Answer::Complete(mut resp) = answer else {
        return Err(ProviderError::InvalidResponse("stream answer to a non-stream request".into()));
    };
    let upstream_time = t0.elapsed();
    draft.first_content = Some(Instant::now());
    draft.attempts.push(AttemptLog::new(&served, &draft.model, "ok".into(), Some(200), t0.elapsed()));
    draft.served = Some(served.clone());
    draft.upstream_id = Some(std::mem::take(&mut resp.id));
    draft.usage = resp.usage.take();
    draft.completion_pieces =
        resp.choices.iter().map(|c| c.message.content.as_ref().map_or(0, |t| (t.len() as u64).div_ceil(4))).sum();
    for choice in &mut resp.choices {
        if let Some(native) = choice.finish_reason.take() {
            let has_calls =
                choice.message.tool_calls.as_ref().is_some_and(|c| c.as_array().is_none_or(|a| !a.is_empty()));
            let normalized = normalize_finish(&native, has_calls);
            choice.native_finish_reason = Some(native.clone());
            choice.finish_reason = Some(normalized.clone());
            if draft.finish.is_none() {
                draft.finish = Some((normalized, native));
            }
        }
    }
    // Phase 5: account.
    let (usage, _) = draft.finish(200, None, false);
    // Phase 6: deliver.
    let out = ChatResponse {
        id: draft.id.clone(),
        object: "chat.completion".into(),
        created: draft.created,
        model: draft.model.clone(),
        provider: Some(served.provider_name),
        usage: Some(usage),
        ..resp
    };
    let body = serde_json::to_vec(&out).map_err(|e| ProviderError::InvalidResponse(e.to_string()))?;
    let mut r = Response::new(Body::from(Bytes::from(body)));
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    h.insert("x-generation-id", header_value(&draft.id));
    h.insert("server-timing", server_timing(draft.started.elapsed(), upstream_time));
    Ok(r)
}

/// OpenRouter's finish reason. Some providers (Gemini) end a tool-calling
/// answer with a plain "stop": an answer that called tools finished with
/// `tool_calls` whatever the provider's word for it.
pub(crate) fn normalize_finish(native: &str, called_tools: bool) -> String {
    let n = FinishReason::normalize(native);
    if called_tools && n == FinishReason::Stop { FinishReason::ToolCalls } else { n }.as_str().to_owned()
}

fn header_value(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
}
