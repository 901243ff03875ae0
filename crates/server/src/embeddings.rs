//! `POST /api/v1/embeddings`: embeddings through the catalog's embedding
//! models, with fallbacks, cost and a generation record like chat.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use switchyard_api::embeddings::{EmbeddingsRequest, EmbeddingsResponse};
use switchyard_providers::{ProviderError, embed};
use switchyard_router::plan;

use crate::chat::{AttemptLog, Draft, Served};
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
    let req: EmbeddingsRequest = crate::body::parse_json(&bytes)?;
    let model = req
        .model
        .clone()
        .filter(|m| !m.is_empty())
        .ok_or_else(|| GatewayError::BadRequest("`model` is required".into()))?;
    if req.input.is_null() || req.input.as_array().is_some_and(Vec::is_empty) || req.input.as_str() == Some("") {
        return Err(GatewayError::BadRequest("`input` must not be empty".into()));
    }
    let mut draft = Draft::new(state.clone(), caller, model.clone(), false, started);
    match run(&state, &req, &model, &mut draft).await {
        Ok(resp) => Ok(resp),
        Err(e) => {
            draft.finish(e.status(), Some(e.to_string()), false);
            Ok(e.into_response())
        }
    }
}

async fn run(
    state: &AppState,
    req: &EmbeddingsRequest,
    model: &str,
    draft: &mut Draft,
) -> Result<Response, GatewayError> {
    let plan = plan(&state.catalog, &[model]).map_err(|e| GatewayError::BadRequest(e.to_string()))?;
    let Some(first) = plan.attempts.first() else {
        return Err(GatewayError::NotFound(format!("No endpoints found for {model}")));
    };
    if !first.model(&state.catalog).spec.output_modalities.iter().any(|m| m == "embeddings") {
        return Err(GatewayError::BadRequest(format!("{model} is not an embedding model")));
    }
    crate::accept::ensure_can_pay(&draft.caller, &plan.attempts, &state.catalog)?;
    let mut last: Option<(ProviderError, String)> = None;
    for (i, attempt) in plan.attempts.iter().enumerate() {
        let endpoint = attempt.endpoint(&state.catalog);
        let Some(upstream) = state.upstreams.get(&endpoint.provider) else { continue };
        let served = Served::new(endpoint, upstream, Vec::new());
        let t0 = Instant::now();
        match embed(upstream, req, &endpoint.model).await {
            Ok(mut resp) => {
                let upstream_time = t0.elapsed();
                draft.attempts.push(AttemptLog::new(&served, model, "ok".into(), Some(200), upstream_time));
                draft.served = Some(served.clone());
                draft.usage = resp.usage.take();
                draft.first_content = Some(Instant::now());
                // An embedding has no finish reason; a complete answer is "stop".
                draft.finish = Some(("stop".into(), "stop".into()));
                let (usage, _) = draft.finish(200, None, false);
                let out = EmbeddingsResponse {
                    id: draft.id.clone(),
                    object: "list".into(),
                    model: model.to_owned(),
                    provider: Some(served.provider_name),
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
                return Ok(r);
            }
            Err(err) => {
                let status = match &err {
                    ProviderError::Upstream(f) => Some(f.status),
                    _ => None,
                };
                draft.attempts.push(AttemptLog::new(&served, model, err.to_string(), status, t0.elapsed()));
                let retry = err.retryable() && i + 1 < plan.attempts.len();
                last = Some((err, served.provider_name));
                if !retry {
                    break;
                }
            }
        }
    }
    let (error, provider_name) =
        last.ok_or_else(|| GatewayError::NotFound(format!("No endpoints found for {model}")))?;
    Err(GatewayError::Provider { error: Box::new(error), provider_name, attempts: draft.attempts.len() })
}
