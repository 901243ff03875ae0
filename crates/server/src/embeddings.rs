//! `POST /api/v1/embeddings`: embeddings through the catalog's embedding
//! models, with fallbacks, cost and a generation record like chat.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use switchyard_api::ChatRequest;
use switchyard_api::embeddings::{EmbeddingsRequest, EmbeddingsResponse};
use switchyard_providers::embed;
use switchyard_router::{Needs, RouteInput, resolve, route};

use crate::chat::Draft;
use crate::chat::chain::Chain;
use crate::error::GatewayError;
use crate::state::AppState;
use crate::timing::server_timing;

/// The handler.
pub async fn embeddings(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Body) -> Response {
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
    let (caller, bytes) = crate::accept::accept_inference(&state, headers, body).await?;
    let mut req: EmbeddingsRequest = crate::body::parse_json(&bytes)?;
    let model = req
        .model
        .clone()
        .filter(|m| !m.is_empty())
        .ok_or_else(|| GatewayError::BadRequest("`model` is required".into()))?;
    if req.input.is_null() || req.input.as_array().is_some_and(Vec::is_empty) || req.input.as_str() == Some("") {
        return Err(GatewayError::BadRequest("`input` must not be empty".into()));
    }
    let mut draft = Draft::new(state.clone(), caller, model.clone(), false, started);
    match run(&state, &mut req, &model, &mut draft).await {
        Ok(resp) => Ok(resp),
        Err(e) => {
            draft.finish(e.status(), Some(e.to_string()), false);
            Ok(e.into_response())
        }
    }
}

async fn run(
    state: &Arc<AppState>,
    req: &mut EmbeddingsRequest,
    model: &str,
    draft: &mut Draft,
) -> Result<Response, GatewayError> {
    let guard = crate::guardrails::enforce_embeddings(state, &draft.caller, req, model).await?;
    let workspace = match draft.caller.key.workspace_id.as_deref() {
        Some(id) => Some(state.workspaces.prefs(&state.store, id).await?),
        None => None,
    };
    let key_name = draft.caller.key.name.clone();
    let prefs =
        crate::chat::routing::preferences(state, req.provider.as_ref(), &key_name, workspace.as_deref(), &guard)?;
    let resolved = [resolve(&state.catalog, model)?];
    if !state.catalog.models()[resolved[0].model].spec.output_modalities.iter().any(|m| m == "embeddings") {
        return Err(GatewayError::BadRequest(format!("{model} is not an embedding model")));
    }
    let needs = Needs::default();
    let input = RouteInput {
        models: &resolved,
        prefs: &prefs,
        requested: &[],
        needs: &needs,
        service_tier: None,
        sticky: None,
    };
    let routed = route(&state.catalog, &input, &state.health, Instant::now(), &mut rand::rng(), &|_, _| true)?;
    let prompt = crate::spend::embedding_tokens(req);
    let worst = crate::spend::worst_case(&routed.attempts, &state.catalog, prompt, Some(0));
    draft.reservation = Some(crate::spend::reserve(&draft.caller, worst).await?);
    // The chain's chat request stays empty: embeddings carry their own.
    // Redacted by the guardrails, if any: what every attempt sends.
    let sent: &EmbeddingsRequest = req;
    let mut chain = Chain::new(
        state.clone(),
        Arc::new(ChatRequest::default()),
        routed.attempts,
        Vec::new(),
        prefs.fallbacks_allowed(),
        draft.started,
    );
    let result =
        chain.run(|upstream, _, served| async move { embed(&upstream, sent, &served.upstream_model).await }).await;
    draft.attempts.append(&mut chain.logs);
    let won = result.map_err(|lost| lost.into_gateway_error(draft.attempts.len()))?;
    let mut resp = won.value;
    let upstream_time = won.started.elapsed();
    draft.serving = Some((won.attempt, won.started));
    draft.served = Some(won.served.clone());
    draft.usage = resp.usage.take();
    draft.first_content = Some(Instant::now());
    // An embedding has no finish reason; a complete answer is "stop".
    draft.finish = Some(("stop".into(), "stop".into()));
    let (usage, _) = draft.finish(200, None, false);
    let out = EmbeddingsResponse {
        id: draft.id.clone(),
        object: "list".into(),
        model: won.slug,
        provider: Some(won.served.provider_name),
        data: resp.data,
        usage: Some(usage),
    };
    let mut r = axum::Json(out).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Ok(v) = HeaderValue::from_str(&draft.id) {
        h.insert("x-generation-id", v);
    }
    h.insert("server-timing", server_timing(draft.started.elapsed(), upstream_time));
    Ok(r)
}
