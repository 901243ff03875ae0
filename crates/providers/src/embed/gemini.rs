//! Google embeddings. AI Studio: `POST {base}/models/{model}:batchEmbedContents`
//! with `{"requests": [{"model", "content": {"parts": [{"text"}]},
//! "taskType"?, "outputDimensionality"?}]}` answered by `{"embeddings":
//! [{"values": [...]}]}`, no token counts. Vertex AI: `POST
//! .../publishers/google/models/{model}:predict` with `{"instances":
//! [{"content", "task_type"?}], "parameters": {"outputDimensionality"}?}`
//! answered by `{"predictions": [{"embeddings": {"values", "statistics":
//! {"token_count"}}}]}`.
//!
//! `dimensions` is `outputDimensionality`; the client's `input_type` is the
//! task type (`search_document` → `RETRIEVAL_DOCUMENT`, `search_query` →
//! `RETRIEVAL_QUERY`, other names upper-cased: `clustering` → `CLUSTERING`).

use serde::{Deserialize, Serialize};
use switchyard_api::embeddings::{EmbeddingsRequest, EmbeddingsResponse};

use super::{Embedded, Encoding};
use crate::error::ProviderError;
use crate::upstream::{Protocol, Upstream};

/// Most `requests` one `batchEmbedContents` call takes.
const BATCH: usize = 100;
/// Most `instances` one Vertex `predict` call takes (`text-embedding-*`).
const VERTEX_BATCH: usize = 250;

#[derive(Serialize)]
struct BatchRequest<'a> {
    requests: Vec<EmbedContent<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EmbedContent<'a> {
    model: &'a str,
    content: Content<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    task_type: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    output_dimensionality: Option<u32>,
}

#[derive(Serialize)]
struct Content<'a> {
    parts: [Part<'a>; 1],
}

#[derive(Serialize)]
struct Part<'a> {
    text: &'a str,
}

#[derive(Deserialize)]
struct BatchResponse {
    #[serde(default)]
    embeddings: Vec<Values>,
}

#[derive(Deserialize)]
struct Values {
    #[serde(default)]
    values: Vec<f64>,
}

#[derive(Serialize)]
struct PredictRequest<'a> {
    instances: Vec<Instance<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parameters: Option<Parameters>,
}

#[derive(Serialize)]
struct Instance<'a> {
    content: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    task_type: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Parameters {
    output_dimensionality: u32,
}

#[derive(Deserialize)]
struct PredictResponse {
    #[serde(default)]
    predictions: Vec<Prediction>,
}

#[derive(Deserialize)]
struct Prediction {
    embeddings: PredictedEmbedding,
}

#[derive(Deserialize)]
struct PredictedEmbedding {
    #[serde(default)]
    values: Vec<f64>,
    #[serde(default)]
    statistics: Option<Statistics>,
}

#[derive(Deserialize)]
struct Statistics {
    #[serde(default)]
    token_count: Option<f64>,
}

/// Gemini's task type for a client `input_type`.
fn task_type(input_type: &str) -> String {
    match input_type {
        "search_document" => "RETRIEVAL_DOCUMENT".into(),
        "search_query" => "RETRIEVAL_QUERY".into(),
        other => other.to_ascii_uppercase(),
    }
}

/// The model's resource name (`models/{id}`, or a `tunedModels/...` id as
/// is): the chat path without its method, so both follow the same rules.
fn resource(upstream_model: &str) -> String {
    let path = crate::gemini::request_path(upstream_model, false);
    path.strip_suffix(":generateContent").map_or_else(|| path.clone(), str::to_owned)
}

fn batch_body<'a>(resource: &'a str, texts: &[&'a str], task: Option<&'a str>, dims: Option<u32>) -> BatchRequest<'a> {
    let requests = texts
        .iter()
        .map(|text| EmbedContent {
            model: resource,
            content: Content { parts: [Part { text }] },
            task_type: task,
            output_dimensionality: dims,
        })
        .collect();
    BatchRequest { requests }
}

/// AI Studio reports no token usage, so the count is estimated.
fn decode_batch(bytes: &[u8], texts: &[&str]) -> Result<Embedded, ProviderError> {
    let out: BatchResponse = super::from_json(bytes)?;
    let vectors = out.embeddings.into_iter().map(|e| e.values).collect();
    Ok(Embedded { vectors, prompt_tokens: super::estimate_tokens(texts) })
}

fn predict_body<'a>(texts: &[&'a str], task: Option<&'a str>, dims: Option<u32>) -> PredictRequest<'a> {
    PredictRequest {
        instances: texts.iter().map(|content| Instance { content, task_type: task }).collect(),
        parameters: dims.map(|output_dimensionality| Parameters { output_dimensionality }),
    }
}

/// Vertex counts tokens per instance; an instance without a count is estimated.
fn decode_predict(bytes: &[u8], texts: &[&str]) -> Result<Embedded, ProviderError> {
    let out: PredictResponse = super::from_json(bytes)?;
    let mut all = Embedded::default();
    for (i, p) in out.predictions.into_iter().enumerate() {
        let counted = p.embeddings.statistics.and_then(|s| s.token_count).filter(|n| n.is_finite() && *n >= 0.0);
        all.prompt_tokens += match counted {
            Some(n) => n.round() as u64,
            None => texts.get(i).map_or(1, |t| super::estimate_tokens(&[t])),
        };
        all.vectors.push(p.embeddings.values);
    }
    Ok(all)
}

pub(super) async fn embed(
    upstream: &Upstream,
    req: &EmbeddingsRequest,
    upstream_model: &str,
) -> Result<EmbeddingsResponse, ProviderError> {
    let texts = super::texts(req)?;
    let encoding = Encoding::of(req)?;
    let task = super::input_type(req).map(task_type);
    let task = task.as_deref();
    let out = if upstream.config.protocol == Protocol::Vertex {
        let v = upstream.config.vertex.as_ref().ok_or_else(|| {
            ProviderError::Unsupported(format!("provider {} has no Vertex project", upstream.config.slug))
        })?;
        let chat = crate::vertex::endpoint_path(&v.project, &v.region, upstream_model, false);
        let url = upstream.url(&format!("{}:predict", chat.strip_suffix(":generateContent").unwrap_or(&chat)))?;
        // Gemini embedding models on Vertex take one instance per call.
        let per_call = if upstream_model.contains("gemini-embedding") { 1 } else { VERTEX_BATCH };
        super::in_chunks(&texts, per_call, |chunk| {
            let url = url.clone();
            async move {
                let body = super::to_json(&predict_body(chunk, task, req.dimensions))?;
                decode_predict(&super::post(upstream, url, body).await?, chunk)
            }
        })
        .await?
    } else {
        let resource = resource(upstream_model);
        let url = upstream.url(&format!("{resource}:batchEmbedContents"))?;
        let resource = resource.as_str();
        super::in_chunks(&texts, BATCH, |chunk| {
            let url = url.clone();
            async move {
                let body = super::to_json(&batch_body(resource, chunk, task, req.dimensions))?;
                decode_batch(&super::post(upstream, url, body).await?, chunk)
            }
        })
        .await?
    };
    out.into_response(encoding, texts.len(), upstream_model)
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn value(body: &impl Serialize) -> Value {
        serde_json::to_value(body).unwrap()
    }

    #[test]
    fn batch_body_is_golden() {
        let r = resource("text-embedding-004");
        assert_eq!(r, "models/text-embedding-004");
        assert_eq!(resource("tunedModels/t1"), "tunedModels/t1");
        let body = value(&batch_body(&r, &["hello", "world"], Some("RETRIEVAL_DOCUMENT"), Some(256)));
        assert_eq!(
            body,
            json!({"requests": [
                {"model": "models/text-embedding-004", "content": {"parts": [{"text": "hello"}]},
                 "taskType": "RETRIEVAL_DOCUMENT", "outputDimensionality": 256},
                {"model": "models/text-embedding-004", "content": {"parts": [{"text": "world"}]},
                 "taskType": "RETRIEVAL_DOCUMENT", "outputDimensionality": 256},
            ]})
        );
        let bare = value(&batch_body(&r, &["x"], None, None));
        assert_eq!(
            bare,
            json!({"requests": [{"model": "models/text-embedding-004", "content": {"parts": [{"text": "x"}]}}]})
        );
    }

    #[test]
    fn task_types_follow_input_types() {
        assert_eq!(task_type("search_document"), "RETRIEVAL_DOCUMENT");
        assert_eq!(task_type("search_query"), "RETRIEVAL_QUERY");
        assert_eq!(task_type("clustering"), "CLUSTERING");
        assert_eq!(task_type("SEMANTIC_SIMILARITY"), "SEMANTIC_SIMILARITY");
    }

    #[test]
    fn batch_answer_decodes_with_estimated_tokens() {
        let out = decode_batch(br#"{"embeddings":[{"values":[0.1,-0.2]},{"values":[0.3,0.4]}]}"#, &["abcdefgh", "a"])
            .unwrap();
        assert_eq!(out.vectors, [vec![0.1, -0.2], vec![0.3, 0.4]]);
        assert_eq!(out.prompt_tokens, 3);
        assert!(matches!(decode_batch(b"[", &["a"]), Err(ProviderError::InvalidResponse(_))));
        // A short answer is caught when the response is built.
        let short = decode_batch(br#"{"embeddings":[]}"#, &["a"]).unwrap();
        assert!(short.into_response(Encoding::Float, 1, "m").is_err());
    }

    #[test]
    fn vertex_predict_is_golden_and_counts_tokens() {
        let body = value(&predict_body(&["a", "b"], Some("RETRIEVAL_QUERY"), Some(128)));
        assert_eq!(
            body,
            json!({"instances": [{"content": "a", "task_type": "RETRIEVAL_QUERY"}, {"content": "b", "task_type": "RETRIEVAL_QUERY"}],
                   "parameters": {"outputDimensionality": 128}})
        );
        assert_eq!(value(&predict_body(&["a"], None, None)), json!({"instances": [{"content": "a"}]}));
        let answer = br#"{"predictions":[
            {"embeddings":{"values":[1.0,0.0],"statistics":{"token_count":6,"truncated":false}}},
            {"embeddings":{"values":[0.0,1.0]}}],"metadata":{"billableCharacterCount":12}}"#;
        let out = decode_predict(answer, &["first text", "abcdefghi"]).unwrap();
        assert_eq!(out.vectors, [vec![1.0, 0.0], vec![0.0, 1.0]]);
        assert_eq!(out.prompt_tokens, 6 + 3);
    }
}
