//! Cohere embeddings: `POST {base}/embed` (v2) with `{"model", "texts",
//! "input_type", "embedding_types": ["float"], "output_dimension"?}`,
//! answered by `{"id", "embeddings": {"float": [[...]]}, "texts", "meta":
//! {"billed_units": {"input_tokens"}}}`. The same body without `model` and
//! `embedding_types` is Cohere Embed on Bedrock (see `super::bedrock`),
//! whose answer has a bare `embeddings` list and no token counts.
//!
//! Cohere requires an `input_type`: the client's (an extra field), else
//! `search_document`. `dimensions` is `output_dimension` (Embed v4).

use serde::{Deserialize, Serialize};
use switchyard_api::embeddings::{EmbeddingsRequest, EmbeddingsResponse};

use super::{Embedded, Encoding};
use crate::error::ProviderError;
use crate::upstream::Upstream;

/// Path of the embed endpoint, relative to the configured base URL.
const EMBED_PATH: &str = "embed";
/// Most texts one call takes.
pub(super) const BATCH: usize = 96;
/// `input_type` when the client names none.
const DEFAULT_INPUT_TYPE: &str = "search_document";

/// An embed request body (Cohere's API and Cohere on Bedrock).
#[derive(Serialize)]
pub(super) struct EmbedBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    model: Option<&'a str>,
    texts: &'a [&'a str],
    input_type: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    embedding_types: Option<[&'static str; 1]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    output_dimension: Option<u32>,
}

impl<'a> EmbedBody<'a> {
    /// The body for `texts`; `model` only for Cohere's own API (Bedrock
    /// names the model in the path and answers plain float lists).
    pub(super) fn new(req: &'a EmbeddingsRequest, texts: &'a [&'a str], model: Option<&'a str>) -> EmbedBody<'a> {
        EmbedBody {
            model,
            texts,
            input_type: super::input_type(req).unwrap_or(DEFAULT_INPUT_TYPE),
            embedding_types: model.map(|_| ["float"]),
            output_dimension: req.dimensions,
        }
    }
}

#[derive(Deserialize)]
struct EmbedAnswer {
    embeddings: Vectors,
    #[serde(default)]
    meta: Option<Meta>,
}

/// `{"float": [[...]]}` (with `embedding_types`) or `[[...]]` (without).
#[derive(Deserialize)]
#[serde(untagged)]
enum Vectors {
    ByType { float: Vec<Vec<f64>> },
    Floats(Vec<Vec<f64>>),
}

#[derive(Deserialize)]
struct Meta {
    #[serde(default)]
    billed_units: Option<BilledUnits>,
}

#[derive(Deserialize)]
struct BilledUnits {
    #[serde(default)]
    input_tokens: Option<f64>,
}

/// An embed answer; without billed input tokens the count is estimated.
pub(super) fn decode(bytes: &[u8], texts: &[&str]) -> Result<Embedded, ProviderError> {
    let out: EmbedAnswer = super::from_json(bytes)?;
    let vectors = match out.embeddings {
        Vectors::ByType { float } | Vectors::Floats(float) => float,
    };
    let billed = out.meta.and_then(|m| m.billed_units).and_then(|b| b.input_tokens);
    let prompt_tokens = match billed.filter(|n| n.is_finite() && *n >= 0.0) {
        Some(n) => n.round() as u64,
        None => super::estimate_tokens(texts),
    };
    Ok(Embedded { vectors, prompt_tokens })
}

pub(super) async fn embed(
    upstream: &Upstream,
    req: &EmbeddingsRequest,
    upstream_model: &str,
) -> Result<EmbeddingsResponse, ProviderError> {
    let texts = super::texts(req)?;
    let encoding = Encoding::of(req)?;
    let url = upstream.url(EMBED_PATH)?;
    let out = super::in_chunks(&texts, BATCH, |chunk| {
        let url = url.clone();
        async move {
            let body = super::to_json(&EmbedBody::new(req, chunk, Some(upstream_model)))?;
            decode(&super::post(upstream, url, body).await?, chunk)
        }
    })
    .await?;
    out.into_response(encoding, texts.len(), upstream_model)
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::embed::tests::request;

    fn body(req: &EmbeddingsRequest, texts: &[&str], model: Option<&str>) -> Value {
        serde_json::to_value(EmbedBody::new(req, texts, model)).unwrap()
    }

    #[test]
    fn body_is_golden_with_the_default_or_the_clients_input_type() {
        let req = request(json!({"input": ["a", "b"], "dimensions": 256}));
        assert_eq!(
            body(&req, &["a", "b"], Some("embed-v4.0")),
            json!({"model": "embed-v4.0", "texts": ["a", "b"], "input_type": "search_document",
                   "embedding_types": ["float"], "output_dimension": 256})
        );
        let req = request(json!({"input": "q", "input_type": "search_query"}));
        assert_eq!(body(&req, &["q"], None), json!({"texts": ["q"], "input_type": "search_query"}));
    }

    #[test]
    fn answers_decode_by_type_or_bare_with_billed_or_estimated_tokens() {
        let v2 = br#"{"id":"e1","embeddings":{"float":[[0.5,0.25],[1,0]]},"texts":["a","b"],
            "meta":{"api_version":{"version":"2"},"billed_units":{"input_tokens":4}},"response_type":"embeddings_by_type"}"#;
        let out = decode(v2, &["a", "b"]).unwrap();
        assert_eq!((out.vectors, out.prompt_tokens), (vec![vec![0.5, 0.25], vec![1.0, 0.0]], 4));
        let bedrock =
            br#"{"id":"e2","embeddings":[[0.1,0.2]],"response_type":"embeddings_floats","texts":["hello world"]}"#;
        let out = decode(bedrock, &["hello world"]).unwrap();
        assert_eq!((out.vectors, out.prompt_tokens), (vec![vec![0.1, 0.2]], 3));
        assert!(matches!(decode(br#"{"embeddings":{"int8":[[1]]}}"#, &["a"]), Err(ProviderError::InvalidResponse(_))));
    }
}
