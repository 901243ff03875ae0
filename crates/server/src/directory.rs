//! Public directory routes about where models are served: `GET /providers`
//! and `GET /models/{author}/{slug}/endpoints`.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use switchyard_providers::known::public_info;
use switchyard_router::Attempt;

use crate::error::GatewayError;
use crate::state::AppState;

/// `GET /api/v1/providers`: every enabled provider, with its published
/// policies where Switchyard knows them.
pub async fn providers(State(state): State<Arc<AppState>>) -> Response {
    let mut list: Vec<_> = state.upstreams.values().collect();
    list.sort_by(|a, b| a.config.name.cmp(&b.config.name));
    let data: Vec<_> = list
        .into_iter()
        .map(|u| {
            let info = public_info(&u.config.slug);
            json!({
                "name": u.config.name,
                "slug": u.config.slug,
                "privacy_policy_url": info.map(|i| i.privacy_policy_url),
                "terms_of_service_url": info.map(|i| i.terms_of_service_url),
                "status_page_url": info.map(|i| i.status_page_url),
                "headquarters": info.map(|i| i.headquarters),
                "datacenters": null,
            })
        })
        .collect();
    Json(json!({ "data": data })).into_response()
}

/// `GET /api/v1/models/{author}/{slug}/endpoints`: where a model is served,
/// at what price, with what parameters, and how each endpoint has been doing
/// in this instance's traffic (uptime, time to first token, throughput).
pub async fn model_endpoints(
    State(state): State<Arc<AppState>>,
    Path((author, slug)): Path<(String, String)>,
) -> Result<Response, GatewayError> {
    let id = format!("{author}/{slug}");
    let index = state.catalog.index_of(&id).ok_or_else(|| GatewayError::NotFound(format!("No model named {id}")))?;
    let model = &state.catalog.models()[index];
    let now = std::time::Instant::now();
    let endpoints: Vec<_> = model
        .endpoints
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let name = state.upstreams.get(&e.provider).map_or(e.provider.as_str(), |u| u.config.name.as_str());
            let attempt = Attempt { model: index, endpoint: i };
            let stats = state.health.stats(attempt, now);
            let failing = state.health.is_recently_failing(attempt, now);
            json!({
                "name": format!("{name} | {}", model.spec.id),
                "model_id": model.spec.id,
                "model_name": model.object.name,
                "provider_name": name,
                "tag": e.routing_tag(),
                "upstream_model": e.model,
                "context_length": e.context_length.unwrap_or(model.spec.context_length),
                "max_completion_tokens": e.max_completion_tokens,
                "max_prompt_tokens": null,
                "pricing": e.pricing(),
                "quantization": e.quantization,
                "service_tier": e.service_tier,
                "supported_parameters": e.supported_parameters.as_ref().unwrap_or(&model.spec.supported_parameters),
                "data_policy": { "training": e.training, "retains_prompts": e.retains_prompts, "zdr": e.zdr },
                // 0 is healthy; -1 marks an endpoint with a significant outage in the last 30 seconds.
                "status": if failing { -1 } else { 0 },
                "uptime_last_5m": stats.uptime_last_5m,
                "uptime_last_30m": stats.uptime_last_30m,
                "uptime_last_1d": stats.uptime_last_1d,
                "latency_last_30m": stats.latency_last_30m,
                "throughput_last_30m": stats.throughput_last_30m,
                "supports_implicit_caching": e.input_cache_read.is_some(),
            })
        })
        .collect();
    let o = &model.object;
    Ok(Json(json!({ "data": {
        "id": o.id,
        "name": o.name,
        "created": o.created,
        "description": o.description,
        "architecture": o.architecture,
        "endpoints": endpoints,
    }}))
    .into_response())
}
