//! Embeddings (`POST /api/v1/embeddings`) through each protocol's native API:
//! OpenAI's `/embeddings` (also Azure's v1 API), Gemini's
//! `batchEmbedContents` (Vertex AI: `predict`), Cohere's v2 `/embed` and
//! Bedrock's `InvokeModel` (Titan and Cohere bodies). Answers come back in
//! OpenAI's shape. The pieces every protocol shares live here: reading the
//! input, sending with the upstream's deadlines and error mapping, and
//! rendering vectors as floats or base64.

mod bedrock;
mod cohere;
mod gemini;
mod openai;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use switchyard_api::Usage;
use switchyard_api::embeddings::{EmbeddingsRequest, EmbeddingsResponse};

use crate::error::ProviderError;
use crate::upstream::{Protocol, Upstream};

/// Sends an embeddings request to `upstream` as `upstream_model`.
pub async fn embed(
    upstream: &Upstream,
    req: &EmbeddingsRequest,
    upstream_model: &str,
) -> Result<EmbeddingsResponse, ProviderError> {
    match upstream.config.protocol {
        Protocol::Openai | Protocol::Azure => openai::embed(upstream, req, upstream_model).await,
        Protocol::Gemini | Protocol::Vertex => gemini::embed(upstream, req, upstream_model).await,
        Protocol::Cohere => cohere::embed(upstream, req, upstream_model).await,
        Protocol::Bedrock => bedrock::embed(upstream, req, upstream_model).await,
        Protocol::Anthropic => Err(not_served(upstream)),
    }
}

/// The error for an upstream that has no embeddings endpoint.
fn not_served(upstream: &Upstream) -> ProviderError {
    ProviderError::Unsupported(format!(
        "provider {} does not serve embeddings through Switchyard",
        upstream.config.slug
    ))
}

/// The input texts: `input` as a string or a list of strings. Native APIs
/// take text only, so token arrays are refused rather than detokenized.
fn texts(req: &EmbeddingsRequest) -> Result<Vec<&str>, ProviderError> {
    let refuse = |item: &Value| {
        ProviderError::Unsupported(if item.is_number() || item.is_array() {
            "token arrays as `input` are only accepted by OpenAI-protocol providers: send text".into()
        } else {
            "`input` must be a string or a list of strings".into()
        })
    };
    match &req.input {
        Value::String(s) => Ok(vec![s.as_str()]),
        Value::Array(items) if !items.is_empty() => items.iter().map(|i| i.as_str().ok_or_else(|| refuse(i))).collect(),
        other => Err(refuse(other)),
    }
}

/// The client's `input_type` (Cohere's names: `search_document`,
/// `search_query`, `classification`, `clustering`), an extra field.
fn input_type(req: &EmbeddingsRequest) -> Option<&str> {
    req.extra.get("input_type").and_then(Value::as_str).filter(|t| !t.is_empty())
}

/// How vectors are returned (`encoding_format`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Encoding {
    /// A JSON array of numbers (the default).
    Float,
    /// A base64 string of little-endian `f32`s, as OpenAI sends it.
    Base64,
}

impl Encoding {
    fn of(req: &EmbeddingsRequest) -> Result<Encoding, ProviderError> {
        match req.encoding_format.as_deref() {
            None | Some("float") => Ok(Encoding::Float),
            Some("base64") => Ok(Encoding::Base64),
            Some(other) => {
                Err(ProviderError::Unsupported(format!("unknown `encoding_format` `{other}`: use `float` or `base64`")))
            }
        }
    }
}

/// Vectors in input order and the prompt tokens they cost.
#[derive(Debug, Default, PartialEq)]
struct Embedded {
    vectors: Vec<Vec<f64>>,
    prompt_tokens: u64,
}

impl Embedded {
    /// Appends another call's result (for inputs split over calls).
    fn extend(&mut self, other: Embedded) {
        self.vectors.extend(other.vectors);
        self.prompt_tokens += other.prompt_tokens;
    }

    /// OpenAI's response shape. `model` is the upstream id; the server sets
    /// the id, slug and provider.
    fn into_response(
        self,
        encoding: Encoding,
        expected: usize,
        model: &str,
    ) -> Result<EmbeddingsResponse, ProviderError> {
        if self.vectors.len() != expected {
            return Err(ProviderError::InvalidResponse(format!(
                "the answer has {} embeddings for {expected} inputs",
                self.vectors.len()
            )));
        }
        let data = self
            .vectors
            .into_iter()
            .enumerate()
            .map(|(index, v)| {
                let embedding = match encoding {
                    Encoding::Float => Value::from(v),
                    Encoding::Base64 => Value::String(base64_f32(&v)),
                };
                json!({"object": "embedding", "index": index, "embedding": embedding})
            })
            .collect();
        let usage = Usage { prompt_tokens: self.prompt_tokens, total_tokens: self.prompt_tokens, ..Usage::default() };
        Ok(EmbeddingsResponse {
            object: "list".into(),
            model: model.to_owned(),
            data,
            usage: Some(usage),
            ..EmbeddingsResponse::default()
        })
    }
}

/// OpenAI's base64 form: the vector as little-endian `f32` bytes.
fn base64_f32(values: &[f64]) -> String {
    let bytes: Vec<u8> = values.iter().flat_map(|v| (*v as f32).to_le_bytes()).collect();
    STANDARD.encode(bytes)
}

/// Estimated prompt tokens for APIs that report none (Gemini, Cohere on
/// Bedrock): about four characters a token, at least one per input. Billing
/// follows this estimate, so it errs neither way on typical text.
fn estimate_tokens(texts: &[&str]) -> u64 {
    texts.iter().map(|t| (t.chars().count() as u64).div_ceil(4).max(1)).sum()
}

/// Runs `call` on consecutive chunks of at most `size` texts, all at once,
/// and joins the results in input order.
async fn in_chunks<'t, F, Fut>(texts: &'t [&'t str], size: usize, call: F) -> Result<Embedded, ProviderError>
where
    F: Fn(&'t [&'t str]) -> Fut,
    Fut: Future<Output = Result<Embedded, ProviderError>>,
{
    let parts = futures_util::future::try_join_all(texts.chunks(size.max(1)).map(call)).await?;
    let mut all = Embedded { vectors: Vec::with_capacity(texts.len()), prompt_tokens: 0 };
    for part in parts {
        all.extend(part);
    }
    Ok(all)
}

/// A request body as JSON bytes.
fn to_json(body: &impl Serialize) -> Result<Vec<u8>, ProviderError> {
    serde_json::to_vec(body).map_err(|e| ProviderError::Unsupported(format!("request cannot be encoded: {e}")))
}

/// A response body from JSON.
fn from_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ProviderError> {
    serde_json::from_slice(bytes).map_err(|e| ProviderError::InvalidResponse(format!("undecodable JSON: {e}")))
}

/// POSTs `body` to `url` with the upstream's (signed) headers, within its
/// first-byte deadline for the answer's head and its idle deadline for the
/// body. A non-2xx answer becomes the protocol's classified error.
async fn post(upstream: &Upstream, url: reqwest::Url, body: Vec<u8>) -> Result<Bytes, ProviderError> {
    let resp = crate::send::post(upstream, url, body).await?;
    crate::send::read_body(resp, upstream.timeouts.idle).await
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn request(v: Value) -> EmbeddingsRequest {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn input_is_text_or_a_clear_refusal() {
        assert_eq!(texts(&request(json!({"input": "a"}))).unwrap(), ["a"]);
        assert_eq!(texts(&request(json!({"input": ["a", "b"]}))).unwrap(), ["a", "b"]);
        for tokens in [json!([1, 2, 3]), json!([[1, 2], [3]])] {
            let e = texts(&request(json!({ "input": tokens }))).unwrap_err();
            assert!(matches!(&e, ProviderError::Unsupported(m) if m.contains("token arrays")), "{e}");
            assert!(!e.retryable());
        }
        assert!(texts(&request(json!({"input": [{"image": "x"}]}))).is_err());
        assert_eq!(input_type(&request(json!({"input": "a", "input_type": "search_query"}))), Some("search_query"));
        assert_eq!(input_type(&request(json!({"input": "a"}))), None);
    }

    #[test]
    fn base64_is_little_endian_f32_like_openai() {
        // 1.0f32 = 00 00 80 3f, -2.0f32 = 00 00 00 c0.
        assert_eq!(base64_f32(&[1.0, -2.0]), STANDARD.encode([0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0]));
        assert_eq!(base64_f32(&[1.0, -2.0]), "AACAPwAAAMA=");
        assert_eq!(Encoding::of(&request(json!({"input": "a"}))).unwrap(), Encoding::Float);
        assert_eq!(
            Encoding::of(&request(json!({"input": "a", "encoding_format": "base64"}))).unwrap(),
            Encoding::Base64
        );
        assert!(Encoding::of(&request(json!({"input": "a", "encoding_format": "int8"}))).is_err());
    }

    #[test]
    fn responses_take_openai_shape_and_count_is_checked() {
        let e = Embedded { vectors: vec![vec![0.5, -0.25], vec![1.0, 0.0]], prompt_tokens: 7 };
        let r = Embedded { vectors: e.vectors.clone(), ..Embedded::default() };
        let out = e.into_response(Encoding::Float, 2, "m").unwrap();
        assert_eq!(out.object, "list");
        assert_eq!(out.data[1], json!({"object": "embedding", "index": 1, "embedding": [1.0, 0.0]}));
        let usage = out.usage.unwrap();
        assert_eq!((usage.prompt_tokens, usage.completion_tokens, usage.total_tokens), (7, 0, 7));
        let b64 = Embedded { vectors: vec![vec![1.0, -2.0]], prompt_tokens: 1 }.into_response(Encoding::Base64, 1, "m");
        assert_eq!(b64.unwrap().data[0]["embedding"], "AACAPwAAAMA=");
        assert!(matches!(r.into_response(Encoding::Float, 3, "m"), Err(ProviderError::InvalidResponse(_))));
    }

    #[test]
    fn estimates_four_characters_a_token_at_least_one_each() {
        assert_eq!(estimate_tokens(&["", "abcd", "abcde", "été"]), 1 + 1 + 2 + 1);
    }

    #[tokio::test]
    async fn chunks_run_together_and_keep_order() {
        let texts = ["a", "b", "c", "d", "e"];
        let out = in_chunks(&texts, 2, |chunk: &[&str]| {
            let vectors = chunk.iter().map(|t| vec![f64::from(u32::from(t.as_bytes()[0]))]).collect();
            async move { Ok(Embedded { vectors, prompt_tokens: 1 }) }
        })
        .await
        .unwrap();
        assert_eq!(out.vectors, [[97.0], [98.0], [99.0], [100.0], [101.0]]);
        assert_eq!(out.prompt_tokens, 3);
    }
}
