//! OpenAI's `POST /v1/embeddings`: deterministic vectors, real usage
//! counts, and the same error scenarios (`status=CODE`) as chat.

use std::sync::Arc;

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::answer::scenario_for;
use crate::{Inner, OutcomeGuard};

/// Vector length when the request names no `dimensions`.
const DEFAULT_DIMENSIONS: usize = 8;

/// Answers an embeddings request.
pub(crate) async fn embeddings(
    _inner: &Arc<Inner>,
    headers: &HeaderMap,
    body: &Value,
    mut guard: OutcomeGuard,
) -> Response {
    let model = body.get("model").and_then(Value::as_str).unwrap_or("");
    let sc = scenario_for(headers, model);
    if let Some(code) = sc.status.filter(|c| (400..600).contains(c)) {
        guard.complete();
        let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let (msg, kind, err_code) = crate::openai::status_error(code);
        let retry = sc.retry_after.or((code == 429).then_some(1));
        return crate::openai::error_response(status, msg, kind, err_code, retry);
    }
    let inputs: Vec<String> = match body.get("input") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => {
            items.iter().map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned)).collect()
        }
        _ => Vec::new(),
    };
    let dims = body.get("dimensions").and_then(Value::as_u64).map_or(DEFAULT_DIMENSIONS, |d| d as usize).clamp(1, 4096);
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .map(|(i, text)| json!({"object": "embedding", "index": i, "embedding": vector(text, dims)}))
        .collect();
    let prompt_tokens: usize = inputs.iter().map(|t| t.len().div_ceil(4).max(1)).sum();
    guard.complete();
    axum::Json(json!({
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens},
    }))
    .into_response()
}

/// A deterministic unit-length vector derived from the text.
fn vector(text: &str, dims: usize) -> Vec<f64> {
    let mut state: u64 =
        text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    let raw: Vec<f64> = (0..dims)
        .map(|_| {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            ((state >> 11) as f64 / (1u64 << 53) as f64) - 0.5
        })
        .collect();
    let norm = raw.iter().map(|x| x * x).sum::<f64>().sqrt().max(f64::MIN_POSITIVE);
    raw.into_iter().map(|x| x / norm).collect()
}
