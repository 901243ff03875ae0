//! Read-only API routes: models, the current key, credits, generations.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use switchyard_api::generation::{Generation, GenerationResponse};
use switchyard_api::models::ModelObject;

use crate::error::GatewayError;
use crate::state::AppState;

/// `?output_modalities=` of `/models`.
#[derive(Deserialize)]
pub struct ModelsQuery {
    output_modalities: Option<String>,
}

/// `GET /api/v1/models`: every routable model whose output modalities match
/// (default `text`, as on OpenRouter; `all` for everything). Public.
pub async fn models(State(state): State<Arc<AppState>>, Query(q): Query<ModelsQuery>) -> Response {
    let wanted = q.output_modalities.unwrap_or_else(|| "text".into());
    let wanted: Vec<&str> = wanted.split(',').map(str::trim).filter(|w| !w.is_empty()).collect();
    list_models(&state, |m| {
        wanted.contains(&"all") || m.architecture.output_modalities.iter().any(|o| wanted.contains(&o.as_str()))
    })
}

/// `GET /api/v1/embeddings/models`: the embedding models.
pub async fn embedding_models(State(state): State<Arc<AppState>>) -> Response {
    list_models(&state, |m| m.architecture.output_modalities.iter().any(|o| o == "embeddings"))
}

fn list_models(state: &AppState, keep: impl Fn(&ModelObject) -> bool) -> Response {
    let data: Vec<&ModelObject> = state.catalog.models().iter().map(|m| &m.object).filter(|m| keep(m)).collect();
    Json(json!({ "data": data, "total_count": data.len(), "links": { "next": null } })).into_response()
}

/// `GET /api/v1/key`: the calling key, its limit and its spend per UTC
/// day, week (from Monday) and month.
pub async fn key(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Result<Response, GatewayError> {
    let caller = state.auth.authenticate(&headers).await?;
    // Usage changes with every request: read it fresh, not from the auth cache.
    let fresh = state.store.key_by_hash(&caller.key.hash).await?;
    let k = fresh.as_ref().unwrap_or(&caller.key);
    let usage = state.store.key_period_usage(&k.hash, state.auth.now_ms()).await?;
    let credits = state.store.credits(&k.account_id).await?;
    let mut data = crate::keys_api::key_object(k, &usage);
    for (name, value) in [
        ("is_free_tier", json!(credits.total_credits.0 == 0)),
        ("is_management_key", json!(k.is_management)),
        ("is_provisioning_key", json!(k.is_management)),
        ("creator_user_id", Value::Null),
        (
            "rate_limit",
            json!({ "requests": -1, "interval": "10s", "note": "Switchyard sets no request-rate limit on this key" }),
        ),
    ] {
        data.insert(name.to_owned(), value);
    }
    Ok(Json(json!({ "data": data })).into_response())
}

/// `GET /api/v1/credits`: the account's totals.
pub async fn credits(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Result<Response, GatewayError> {
    let caller = state.auth.authenticate(&headers).await?;
    let c = state.store.credits(&caller.key.account_id).await?;
    Ok(Json(json!({ "data": {
        "total_credits": c.total_credits.as_usd_f64(),
        "total_usage": c.total_usage.as_usd_f64(),
    }}))
    .into_response())
}

/// `?id=` of `/generation`.
#[derive(Deserialize)]
pub struct GenerationQuery {
    id: Option<String>,
}

/// `GET /api/v1/generation?id=`: one generation, only to its own account.
pub async fn generation(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(q): Query<GenerationQuery>,
) -> Result<Response, GatewayError> {
    let caller = state.auth.authenticate(&headers).await?;
    let id = q.id.filter(|i| !i.is_empty()).ok_or_else(|| GatewayError::BadRequest("`id` is required".into()))?;
    let not_found = || GatewayError::NotFound(format!("Generation {id} not found"));
    let g = state.store.generation(&id).await?.ok_or_else(not_found)?;
    // Another account's generation is indistinguishable from a missing one.
    if g.account_id != caller.key.account_id {
        return Err(not_found());
    }
    // So is another member's to a key of a member with role `member`.
    if let Some(member) = crate::members::scope(&caller).member() {
        let key = state.store.key_by_hash(&g.key_hash).await?;
        if key.is_none_or(|k| k.member_id.as_deref() != Some(member)) {
            return Err(not_found());
        }
    }
    let created = chrono_like_iso(g.created_at);
    // Served with the account's own key: the draft recorded the list cost.
    let byok = g.routing.as_ref().and_then(|r| r.get("byok"));
    let web = g.routing.as_ref().and_then(|r| r.get("web_search"));
    let data = Generation {
        id: g.id,
        upstream_id: g.upstream_id,
        created_at: created,
        model: g.model,
        provider_name: g.provider_name,
        upstream_model: g.upstream_model,
        api_type: Some("completions".into()),
        streamed: Some(g.streamed),
        cancelled: Some(g.cancelled),
        finish_reason: g.finish_reason,
        native_finish_reason: g.native_finish_reason,
        tokens_prompt: Some(g.tokens_prompt),
        tokens_completion: Some(g.tokens_completion),
        native_tokens_prompt: Some(g.tokens_prompt),
        native_tokens_completion: Some(g.tokens_completion),
        native_tokens_completion_images: Some(0),
        native_tokens_reasoning: Some(g.tokens_reasoning),
        native_tokens_cached: Some(g.tokens_cached),
        native_tokens_cache_write: Some(g.tokens_cache_write),
        num_media_prompt: Some(0),
        num_input_audio_prompt: Some(0),
        num_media_completion: Some(0),
        num_search_results: Some(web.and_then(|w| w["results"].as_i64()).unwrap_or(0)),
        web_search_engine: web.and_then(|w| w["engine"].as_str()).map(str::to_owned),
        num_fetches: Some(0),
        usage_estimated: g.usage_estimated,
        total_cost: g.cost.as_usd_f64(),
        usage: g.cost.as_usd_f64(),
        is_byok: byok.is_some(),
        upstream_inference_cost: byok.and_then(|b| b.get("upstream_inference_cost")).and_then(|c| c.as_f64()),
        latency: Some(g.latency_ms),
        time_to_first_token: g.ttft_ms,
        generation_time: Some(g.generation_time_ms),
        data_region: "global".into(),
        status: g.status,
        error: g.error,
        provider_responses: g.attempts,
        preset_id: crate::presets::recorded(g.routing.as_ref()),
        routing: g.routing,
        response_cache_source_id: g.response_cache_source_id,
        ..Generation::default()
    };
    Ok(Json(GenerationResponse { data }).into_response())
}

/// RFC 3339 UTC timestamp from Unix milliseconds, without a date crate.
pub fn chrono_like_iso(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = switchyard_store::civil_from_days(secs.div_euclid(86_400));
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60,
        ms.rem_euclid(1000)
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn iso_dates() {
        assert_eq!(super::chrono_like_iso(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(super::chrono_like_iso(1_764_000_000_123), "2025-11-24T16:00:00.123Z");
    }
}
