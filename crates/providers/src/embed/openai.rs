//! OpenAI-protocol embeddings (`POST {base}/embeddings`; Azure's v1 API):
//! the request is passed on, the answer back, as they are.

use serde::Serialize;
use serde_json::Value;
use switchyard_api::Extra;
use switchyard_api::embeddings::{EmbeddingsRequest, EmbeddingsResponse};

use crate::error::ProviderError;
use crate::upstream::Upstream;

#[derive(Serialize)]
struct Body<'a> {
    model: &'a str,
    input: &'a Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    encoding_format: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dimensions: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<String>,
    #[serde(flatten)]
    extra: &'a Extra,
}

fn encode(req: &EmbeddingsRequest, upstream_model: &str) -> Result<Vec<u8>, ProviderError> {
    super::to_json(&Body {
        model: upstream_model,
        input: &req.input,
        encoding_format: req.encoding_format.as_deref(),
        dimensions: req.dimensions,
        user: req.user.as_deref().map(crate::openai::encode::hash_user),
        extra: &req.extra,
    })
}

fn decode(bytes: &[u8]) -> Result<EmbeddingsResponse, ProviderError> {
    let out: EmbeddingsResponse = super::from_json(bytes)?;
    if out.data.is_empty() {
        return Err(ProviderError::InvalidResponse("the answer has no embeddings".into()));
    }
    Ok(out)
}

pub(super) async fn embed(
    upstream: &Upstream,
    req: &EmbeddingsRequest,
    upstream_model: &str,
) -> Result<EmbeddingsResponse, ProviderError> {
    // Azure's deployment URLs (with an `api_version`) have no embeddings URL.
    let Some(url) = &upstream.embeddings_url else {
        return Err(super::not_served(upstream));
    };
    let bytes = super::post(upstream, url.clone(), encode(req, upstream_model)?).await?;
    decode(&bytes)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::embed::tests::request;

    #[test]
    fn passes_the_request_through_with_the_user_hashed() {
        let req = request(json!({"model": "openai/x", "input": [[1, 2]], "encoding_format": "base64",
            "dimensions": 8, "user": "alice", "input_type": "query", "provider": {"order": ["a"]}}));
        let body: Value = serde_json::from_slice(&encode(&req, "text-embedding-3-small").unwrap()).unwrap();
        assert_eq!(body["model"], "text-embedding-3-small");
        assert_eq!(body["input"], json!([[1, 2]]));
        assert_eq!((body["encoding_format"].as_str(), body["dimensions"].as_u64()), (Some("base64"), Some(8)));
        assert_eq!(body["input_type"], "query");
        assert!(body.get("provider").is_none());
        assert_ne!(body["user"], "alice");
    }

    #[test]
    fn answers_pass_through_and_empty_ones_are_invalid() {
        let out = decode(
            br#"{"object":"list","data":[{"object":"embedding","index":0,"embedding":"AACAPw=="}],
            "model":"m","usage":{"prompt_tokens":3,"total_tokens":3}}"#,
        )
        .unwrap();
        assert_eq!(out.data[0]["embedding"], "AACAPw==");
        assert_eq!(out.usage.unwrap().prompt_tokens, 3);
        assert!(matches!(decode(br#"{"data":[]}"#), Err(ProviderError::InvalidResponse(_))));
        assert!(matches!(decode(b"nope"), Err(ProviderError::InvalidResponse(_))));
    }
}
