//! Embeddings in each protocol's native shape, all made of the same
//! deterministic unit vectors ([`vector`]) and token counts (four bytes a
//! token, at least one per text):
//!
//! * OpenAI, `POST /v1/embeddings`: `{"input", "dimensions"?}` →
//!   `{"object": "list", "data": [{"embedding"}], "usage"}`.
//! * Gemini, `POST /v1beta/models/{model}:batchEmbedContents`: `{"requests":
//!   [{"model": "models/{model}", "content": {"parts"}, "outputDimensionality"?}]}`
//!   → `{"embeddings": [{"values"}]}`, no usage.
//! * Vertex AI, `POST .../models/{model}:predict`: `{"instances": [{"content"}],
//!   "parameters": {"outputDimensionality"}?}` → `{"predictions": [{"embeddings":
//!   {"values", "statistics": {"token_count"}}}]}`.
//! * Cohere, `POST /v2/embed`: `{"model", "texts", "input_type",
//!   "output_dimension"?}` → `{"id", "embeddings": {"float"}, "texts", "meta":
//!   {"billed_units": {"input_tokens"}}}`.
//! * Bedrock, `POST /model/{modelId}/invoke`: a Titan body (`{"inputText",
//!   "dimensions"?}` → `{"embedding", "inputTextTokenCount"}`) or a Cohere body
//!   (`{"texts", "input_type"}` → `{"id", "embeddings": [[...]], "texts"}`).
//!
//! A `status=CODE` scenario (from `x-sim-scenario` or the model) answers with
//! the protocol's own error body. Native requests without their credentials
//! (`x-goog-api-key`, a bearer token, a SigV4 `authorization` header) are
//! refused as the real services refuse them; keys and signatures are not
//! verified.

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::OutcomeGuard;
use crate::answer::scenario_for;

/// Vector length when the request names no dimensions.
const DEFAULT_DIMENSIONS: usize = 8;

/// The protocol an embeddings request arrived in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Wire {
    Openai,
    Gemini,
    Vertex,
    Cohere,
    Bedrock,
}

/// A refusal: HTTP status and message, rendered in the protocol's error shape.
type Refusal = (u16, String);

/// Answers an embeddings request in `wire`'s shape. `model` selects the
/// scenario (unless `x-sim-scenario` does).
pub(crate) fn embed(wire: Wire, headers: &HeaderMap, model: &str, body: &Value, mut guard: OutcomeGuard) -> Response {
    guard.complete();
    let id = format!("sim{}", guard.seq());
    let sc = scenario_for(headers, model);
    let answer = match (unauthenticated(wire, headers), sc.status) {
        (Some(refusal), _) => Err(refusal),
        (None, Some(code)) => {
            return error_response(wire, code, None, sc.retry_after.or((code == 429).then_some(1)), &id);
        }
        (None, None) => match wire {
            Wire::Openai => Ok(openai(model, body)),
            Wire::Gemini => gemini(model, body),
            Wire::Vertex => Ok(vertex(body)),
            Wire::Cohere => cohere(body, &id),
            Wire::Bedrock => bedrock(body, &id),
        },
    };
    match answer {
        Ok(v) => axum::Json(v).into_response(),
        Err((code, message)) => error_response(wire, code, Some(&message), None, &id),
    }
}

/// The refusal of a native request that carries no credentials.
fn unauthenticated(wire: Wire, headers: &HeaderMap) -> Option<Refusal> {
    let auth = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or("");
    match wire {
        Wire::Openai => None,
        Wire::Gemini if !headers.contains_key("x-goog-api-key") => Some((
            403,
            "Method doesn't allow unregistered callers (callers without established identity). \
             Please use API Key or other form of API consumer identity to call this API. (simulated)"
                .into(),
        )),
        Wire::Vertex | Wire::Cohere if !auth.starts_with("Bearer ") => {
            Some((401, "Request is missing a bearer token. (simulated)".into()))
        }
        Wire::Bedrock if !auth.starts_with("AWS4-HMAC-SHA256 ") || !headers.contains_key("x-amz-date") => {
            Some((403, "Missing Authentication Token (simulated)".into()))
        }
        _ => None,
    }
}

/// The protocol's error response for `code` (with its default message
/// unless one is given).
fn error_response(wire: Wire, code: u16, message: Option<&str>, retry: Option<u64>, id: &str) -> Response {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match wire {
        Wire::Openai => {
            let (default, kind, err_code) = crate::openai::status_error(code);
            crate::openai::error_response(status, message.unwrap_or(default), kind, err_code, retry)
        }
        Wire::Gemini | Wire::Vertex => {
            crate::gemini::error_response(code, message.unwrap_or(crate::gemini::status_message(code)), retry)
        }
        Wire::Cohere => {
            crate::cohere::error_response(status, id, message.unwrap_or(crate::cohere::status_message(code)), retry)
        }
        Wire::Bedrock => {
            let (kind, default) = crate::bedrock::status_error(code);
            crate::bedrock::error_response(code, kind, message.unwrap_or(default), retry)
        }
    }
}

/// Vector length from a request's dimensions field.
fn dimensions(v: &Value) -> usize {
    v.as_u64().map_or(DEFAULT_DIMENSIONS, |d| d as usize).clamp(1, 4096)
}

/// Simulated tokens of one text.
fn tokens(text: &str) -> usize {
    text.len().div_ceil(4).max(1)
}

/// Strings of a JSON array (others skipped).
fn strings(v: &Value) -> Vec<&str> {
    v.as_array().map_or_else(Vec::new, |items| items.iter().filter_map(Value::as_str).collect())
}

fn openai(model: &str, body: &Value) -> Value {
    let inputs: Vec<String> = match body.get("input") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => {
            items.iter().map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned)).collect()
        }
        _ => Vec::new(),
    };
    let dims = dimensions(&body["dimensions"]);
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .map(|(i, text)| json!({"object": "embedding", "index": i, "embedding": vector(text, dims)}))
        .collect();
    let prompt_tokens: usize = inputs.iter().map(|t| tokens(t)).sum();
    json!({
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens},
    })
}

fn gemini(model: &str, body: &Value) -> Result<Value, Refusal> {
    let requests = body["requests"].as_array().filter(|r| !r.is_empty());
    let requests =
        requests.ok_or((400, "* BatchEmbedContentsRequest.requests: at least one request is required".into()))?;
    let expected = format!("models/{model}");
    let mut embeddings = Vec::with_capacity(requests.len());
    for (i, r) in requests.iter().enumerate() {
        if r["model"].as_str() != Some(&expected) {
            return Err((
                400,
                format!("* BatchEmbedContentsRequest.requests[{i}].model: must be `{expected}` (simulated)"),
            ));
        }
        let parts = r["content"]["parts"].as_array().map_or(&[][..], Vec::as_slice);
        let text: String = parts.iter().filter_map(|p| p["text"].as_str()).collect();
        embeddings.push(json!({"values": vector(&text, dimensions(&r["outputDimensionality"]))}));
    }
    Ok(json!({ "embeddings": embeddings }))
}

fn vertex(body: &Value) -> Value {
    let instances = body["instances"].as_array().map_or(&[][..], Vec::as_slice);
    let dims = dimensions(&body["parameters"]["outputDimensionality"]);
    let mut chars = 0;
    let predictions: Vec<Value> = instances
        .iter()
        .map(|i| {
            let text = i["content"].as_str().unwrap_or_default();
            chars += text.chars().count();
            let statistics = json!({"token_count": tokens(text), "truncated": false});
            json!({"embeddings": {"values": vector(text, dims), "statistics": statistics}})
        })
        .collect();
    json!({"predictions": predictions, "metadata": {"billableCharacterCount": chars}})
}

fn cohere(body: &Value, id: &str) -> Result<Value, Refusal> {
    let texts = strings(&body["texts"]);
    if texts.is_empty() {
        return Err((400, "invalid request: texts must not be empty (simulated)".into()));
    }
    if body["input_type"].as_str().is_none() {
        return Err((400, "invalid request: input_type is required for embed-v3+ models (simulated)".into()));
    }
    let dims = dimensions(&body["output_dimension"]);
    let vectors: Vec<Value> = texts.iter().map(|t| vector(t, dims).into()).collect();
    let input_tokens: usize = texts.iter().map(|t| tokens(t)).sum();
    Ok(json!({
        "id": id,
        "embeddings": {"float": vectors},
        "texts": texts,
        "meta": {"api_version": {"version": "2"}, "billed_units": {"input_tokens": input_tokens}},
        "response_type": "embeddings_by_type",
    }))
}

fn bedrock(body: &Value, id: &str) -> Result<Value, Refusal> {
    if let Some(text) = body["inputText"].as_str() {
        let embedding = vector(text, dimensions(&body["dimensions"]));
        return Ok(json!({
            "embedding": embedding,
            "embeddingsByType": {"float": embedding},
            "inputTextTokenCount": tokens(text),
        }));
    }
    let texts = strings(&body["texts"]);
    if texts.is_empty() || body["input_type"].as_str().is_none() {
        return Err((
            400,
            "Malformed input request: #: required key [inputText] or [texts, input_type] not found, \
             please reformat your input and try again."
                .into(),
        ));
    }
    let dims = dimensions(&body["output_dimension"]);
    let vectors: Vec<Value> = texts.iter().map(|t| vector(t, dims).into()).collect();
    Ok(json!({"id": id, "embeddings": vectors, "response_type": "embeddings_floats", "texts": texts}))
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
