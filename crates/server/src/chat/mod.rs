//! `POST /api/v1/chat/completions`: phases 1 to 6 for one request.

pub(crate) mod chain;
pub(crate) mod dialect;
mod draft;
pub(crate) mod routing;
mod stream;

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chain::{Chain, Won};
use dialect::{ChatCompletions, Dialect};
use serde_json::Value;
use switchyard_api::{ChatRequest, ChatResponse, FinishReason};
use switchyard_providers::{Answer, ProviderError, call};

pub use draft::{AttemptLog, Draft, Served, estimate_prompt_tokens, new_generation_id};

use crate::auth::Caller;
use crate::error::GatewayError;
use crate::state::AppState;
use crate::timing::server_timing;

/// The handler.
pub async fn chat_completions(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Body) -> Response {
    let started = Instant::now();
    let accepted = async {
        let (caller, bytes) = crate::accept::accept_inference(&state, &headers, body).await?;
        Ok::<_, GatewayError>((caller, crate::body::parse_chat(&bytes)?))
    };
    match accepted.await {
        Ok((caller, req)) => serve(state, &headers, caller, req, started, Arc::new(ChatCompletions)).await,
        Err(e) => e.into_response(),
    }
}

/// Phases 2 to 6 for a request already accepted (phase 1) and turned into
/// the canonical chat request: every inference API comes through here, and
/// its `dialect` writes the answer.
pub(crate) async fn serve(
    state: Arc<AppState>,
    headers: &HeaderMap,
    caller: Caller,
    mut req: ChatRequest,
    started: Instant,
    dialect: Arc<dyn Dialect>,
) -> Response {
    // Phase 2: normalize.
    if crate::presets::named(&req) {
        req = match crate::presets::apply(&state, &caller, req).await {
            Ok(req) => req,
            Err(e) => return dialect.error(e),
        };
    }
    let model = req.model.clone().filter(|m| !m.is_empty()).or_else(|| state.default_model.clone());
    let Some(model) = model else {
        return dialect.error(GatewayError::BadRequest("`model` is required".into()));
    };
    let mut draft = Draft::new(state.clone(), caller, model.clone(), req.is_stream(), started);
    let preset = req.preset.clone();
    match run(&state, req, model, &mut draft, headers, dialect.as_ref()).await {
        Ok(resp) => resp,
        Err(e) => {
            crate::presets::record(&mut draft.routing, preset.as_deref());
            draft.finish(e.status(), Some(e.to_string()), false);
            let mut resp = dialect.error(e);
            resp.headers_mut().insert("x-generation-id", header_value(&draft.id));
            resp
        }
    }
}

async fn run(
    state: &Arc<AppState>,
    req: ChatRequest,
    model: String,
    draft: &mut Draft,
    headers: &HeaderMap,
    dialect: &dyn Dialect,
) -> Result<Response, GatewayError> {
    if req.messages.is_empty() {
        return Err(GatewayError::BadRequest("`messages` must contain at least one message".into()));
    }
    crate::plugins::validate(&req)?;
    // The key's guardrails: allowed models, content (redacted here), budgets.
    let (req, guard) = crate::guardrails::enforce(state, &draft.caller, req, &model).await?;
    // The response cache, on the request as it would go upstream (after
    // guardrails, so a hit never bypasses them): a hit calls no upstream.
    let ticket = state.cache.ticket(headers, &draft.caller, &req, &model)?;
    if let Some(t) = &ticket
        && let Some(hit) = state.cache.lookup(t).await
    {
        return crate::cache::replay(hit, draft, dialect);
    }
    draft.cache = ticket;
    // PDFs become text for models that cannot read them (file-parser plugin).
    let (req, parsed_files) = crate::plugins::file_parser::apply(state, req, &model).await?;
    draft.prompt_estimate = estimate_prompt_tokens(&req);
    draft.echo_routing = wants_routing_metadata(&req, headers);

    // Phase 3: plan.
    let key_name = draft.caller.key.name.clone();
    let account = draft.caller.key.account_id.clone();
    // The key's workspace's routing defaults (keys without one skip this).
    let workspace = match draft.caller.key.workspace_id.as_deref() {
        Some(id) => Some(state.workspaces.prefs(&state.store, id).await?),
        None => None,
    };
    let routed = routing::plan(
        state,
        &req,
        &model,
        &key_name,
        &account,
        headers,
        draft.prompt_estimate,
        &guard,
        workspace.as_deref(),
    )?;
    draft.routing = Some(routed.explain(state, &model));
    if let (Some(note), Some(Value::Object(routing))) = (parsed_files, draft.routing.as_mut()) {
        routing.insert("file_parser".into(), note);
    }
    crate::presets::record(&mut draft.routing, req.preset.as_deref());
    draft.conversation = Some(routed.conversation);
    let max_out = req.max_output_tokens().map(u64::from);
    // The web plugin: native or engine search, its cost reserved too.
    let web = match crate::plugins::web::options(state, &req, &model)? {
        Some(opts) => crate::plugins::web::plan(state, opts, &routed.route.attempts)?,
        None => None,
    };
    let web_worst = web.as_ref().map_or_else(Default::default, |w| w.worst_cost(state, &routed.route.attempts));
    let prompt_bound = crate::spend::prompt_upper_bound(&req, draft.prompt_estimate)
        + web.as_ref().map_or(0, |w| w.prompt_tokens_bound());
    // The account's own provider keys (BYOK) go around the shared attempts.
    let own_keys = state.byok.account(&state.store, &state.upstreams, &account).await?;
    let own_keys = own_keys.for_workspace(draft.caller.key.workspace_id.as_deref());
    let steps = own_keys.steps(&routed.route.attempts, &state.catalog);
    let worst = crate::byok::worst_case(&steps, &state.catalog, prompt_bound, max_out);
    let key_worst = if draft.caller.key.include_byok_in_limit {
        crate::byok::worst_case_with_list(&steps, &state.catalog, prompt_bound, max_out)
    } else {
        worst
    };
    let (worst, key_worst) = (worst.saturating_add(web_worst), key_worst.saturating_add(web_worst));
    draft.reservation = Some(crate::spend::reserve_with_key(&draft.caller, worst, key_worst).await?);
    if routed.is_free_model(state) {
        let account = &draft.caller.key.account_id;
        state.limiter.check_free(&state.store, account, switchyard_store::now_ms()).await?;
    }

    let req = match web {
        Some(plan) => {
            let (req, used) = plan.apply(req).await?;
            draft.web = Some(used);
            req
        }
        None => req,
    };

    // Phase 4: execute, falling back on failures another endpoint may not have.
    let fallbacks_allowed = routed.fallbacks_allowed();
    let req = Arc::new(req);
    let chain = Chain::new(
        state.clone(),
        req.clone(),
        routed.route.attempts,
        routed.requested,
        fallbacks_allowed,
        draft.started,
    )
    .with_steps(steps);
    if req.is_stream() {
        // The stream stores its answer once it has finished (see `crate::cache`).
        let ticket = draft.cache.clone();
        let mut resp = stream::start(state, chain, draft, dialect.stream()).await?;
        if let Some(t) = ticket {
            crate::cache::mark_miss(&mut resp, &t);
        }
        return Ok(resp);
    }
    let mut chain = chain;
    let mut result =
        chain.run(|upstream, req, served| async move { call(&upstream, &req, &served.upstream_model).await }).await;
    if let Ok(Won { value: Answer::Complete(resp), .. }) = &mut result {
        crate::plugins::healing::apply(&req, resp);
    }
    draft.attempts.append(&mut chain.logs);
    match result {
        Ok(won) => complete(state, won, draft, dialect),
        Err(lost) => Err(lost.into_gateway_error(draft.attempts.len())),
    }
}

/// `X-OpenRouter-Metadata: enabled` (or a `debug` object in the body) asks
/// for the routing explanation in the response.
fn wants_routing_metadata(req: &ChatRequest, headers: &HeaderMap) -> bool {
    let header =
        |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).is_some_and(|v| v.eq_ignore_ascii_case("enabled"));
    header("x-openrouter-metadata")
        || header("x-openrouter-experimental-metadata")
        || req.debug.as_ref().is_some_and(|d| !d.is_null())
}

/// The whole answer of the attempt that won, rewritten into OpenRouter's shape.
fn complete(
    state: &AppState,
    won: Won<Answer>,
    draft: &mut Draft,
    dialect: &dyn Dialect,
) -> Result<Response, GatewayError> {
    let t0 = won.started;
    let Answer::Complete(mut resp) = won.value else {
        let error = ProviderError::InvalidResponse("stream answer to a non-stream request".into());
        return Err(GatewayError::Provider {
            error: Box::new(error),
            provider_name: won.served.provider_name,
            attempts: 1,
        });
    };
    draft.model = won.slug;
    draft.serving = Some((won.attempt, t0));
    let served = won.served;
    let upstream_time = t0.elapsed();
    draft.first_content = Some(Instant::now());
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
    if let Some(web) = &draft.web {
        web.annotate(&mut resp.choices);
    }
    let metadata = draft.routing_metadata();
    // Phase 5: account.
    let (usage, _) = draft.finish(200, None, false);
    // Phase 6: deliver.
    let mut out = ChatResponse {
        id: draft.id.clone(),
        object: "chat.completion".into(),
        created: draft.created,
        model: draft.model.clone(),
        provider: Some(served.provider_name),
        usage: Some(usage),
        ..resp
    };
    if let Some(meta) = metadata {
        out.extra.insert("openrouter_metadata".into(), meta);
    }
    let cached = draft.cache.take().map(|t| (t, out.clone()));
    let mut r = Response::new(Body::from(dialect.whole(out)?));
    if let Some((ticket, out)) = cached {
        crate::cache::mark_miss(&mut r, &ticket);
        state.cache.store(ticket, &out);
    }
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
