//! Bedrock embeddings through `InvokeModel` (`POST {base}/model/{modelId}/invoke`,
//! SigV4-signed like Converse). The body depends on the model family, read
//! from the model id (foundation id, inference profile or ARN):
//!
//! * Amazon Titan Text Embeddings (`amazon.titan-embed-text-*`): one text
//!   per call, `{"inputText", "dimensions"?, "normalize": true}` answered by
//!   `{"embedding": [...], "inputTextTokenCount"}`. Inputs are sent as
//!   concurrent calls and their token counts summed. v1 takes `inputText`
//!   only.
//! * Cohere Embed (`cohere.embed-*`): Cohere's body without `model` (see
//!   `super::cohere`), answered by `{"embeddings": [[...]], ...}` with no
//!   token counts, so they are estimated.

use serde::{Deserialize, Serialize};
use switchyard_api::embeddings::{EmbeddingsRequest, EmbeddingsResponse};

use super::cohere::{self, EmbedBody};
use super::{Embedded, Encoding};
use crate::error::ProviderError;
use crate::upstream::Upstream;

/// The body family of a Bedrock embedding model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Family {
    /// Titan Text Embeddings v2 (and later): `dimensions` and `normalize`.
    Titan,
    /// Titan Text Embeddings v1 (`amazon.titan-embed-text-v1`, `amazon.titan-embed-g1-text-02`).
    TitanV1,
    /// Cohere Embed.
    Cohere,
}

impl Family {
    fn of(model_id: &str) -> Option<Family> {
        if model_id.contains("amazon.titan-embed-text-v1") || model_id.contains("amazon.titan-embed-g1-text") {
            Some(Family::TitanV1)
        } else if model_id.contains("amazon.titan-embed-text") {
            Some(Family::Titan)
        } else if model_id.contains("cohere.embed") {
            Some(Family::Cohere)
        } else {
            None
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TitanBody<'a> {
    input_text: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    dimensions: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    normalize: Option<bool>,
}

impl<'a> TitanBody<'a> {
    fn new(family: Family, text: &'a str, dimensions: Option<u32>) -> TitanBody<'a> {
        match family {
            Family::TitanV1 => TitanBody { input_text: text, dimensions: None, normalize: None },
            _ => TitanBody { input_text: text, dimensions, normalize: Some(true) },
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TitanAnswer {
    embedding: Vec<f64>,
    #[serde(default)]
    input_text_token_count: Option<u64>,
}

/// One Titan answer; a missing token count is estimated.
fn decode_titan(bytes: &[u8], text: &str) -> Result<Embedded, ProviderError> {
    let out: TitanAnswer = super::from_json(bytes)?;
    let prompt_tokens = out.input_text_token_count.unwrap_or_else(|| super::estimate_tokens(&[text]));
    Ok(Embedded { vectors: vec![out.embedding], prompt_tokens })
}

/// `model/{percent-encoded id}/invoke`: the Converse path with another operation.
fn invoke_path(model_id: &str) -> String {
    let converse = crate::bedrock::request_path(model_id, false);
    match converse.strip_suffix("/converse") {
        Some(model) => format!("{model}/invoke"),
        None => converse,
    }
}

pub(super) async fn embed(
    upstream: &Upstream,
    req: &EmbeddingsRequest,
    upstream_model: &str,
) -> Result<EmbeddingsResponse, ProviderError> {
    let family = Family::of(upstream_model).ok_or_else(|| {
        ProviderError::Unsupported(format!(
            "Bedrock model `{upstream_model}` has no known embeddings body: Titan Text Embeddings \
             (`amazon.titan-embed-text-*`) and Cohere Embed (`cohere.embed-*`) are supported"
        ))
    })?;
    let texts = super::texts(req)?;
    let encoding = Encoding::of(req)?;
    let url = upstream.url(&invoke_path(upstream_model))?;
    let per_call = if family == Family::Cohere { cohere::BATCH } else { 1 };
    let out = super::in_chunks(&texts, per_call, |chunk| {
        let url = url.clone();
        async move {
            match (family, chunk) {
                (Family::Titan | Family::TitanV1, [text]) => {
                    let body = super::to_json(&TitanBody::new(family, text, req.dimensions))?;
                    decode_titan(&super::post(upstream, url, body).await?, text)
                }
                (Family::Titan | Family::TitanV1, _) => {
                    Err(ProviderError::Unsupported("Titan embeds one text per call".into()))
                }
                (Family::Cohere, _) => {
                    let body = super::to_json(&EmbedBody::new(req, chunk, None))?;
                    cohere::decode(&super::post(upstream, url, body).await?, chunk)
                }
            }
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

    #[test]
    fn families_follow_the_model_id() {
        assert_eq!(Family::of("amazon.titan-embed-text-v2:0"), Some(Family::Titan));
        assert_eq!(Family::of("amazon.titan-embed-text-v1"), Some(Family::TitanV1));
        assert_eq!(Family::of("cohere.embed-english-v3"), Some(Family::Cohere));
        assert_eq!(Family::of("us.cohere.embed-v4:0"), Some(Family::Cohere));
        assert_eq!(Family::of("anthropic.claude-3-haiku-20240307-v1:0"), None);
        assert_eq!(invoke_path("amazon.titan-embed-text-v2:0"), "model/amazon.titan-embed-text-v2%3A0/invoke");
    }

    #[test]
    fn titan_bodies_are_golden() {
        let v2 = serde_json::to_value(TitanBody::new(Family::Titan, "hello", Some(256))).unwrap();
        assert_eq!(v2, json!({"inputText": "hello", "dimensions": 256, "normalize": true}));
        let v2 = serde_json::to_value(TitanBody::new(Family::Titan, "hello", None)).unwrap();
        assert_eq!(v2, json!({"inputText": "hello", "normalize": true}));
        let v1 = serde_json::to_value(TitanBody::new(Family::TitanV1, "hello", Some(256))).unwrap();
        assert_eq!(v1, json!({"inputText": "hello"}));
    }

    #[test]
    fn titan_answers_decode_with_their_token_count() {
        let out = decode_titan(br#"{"embedding":[0.5,-0.5],"inputTextTokenCount":7}"#, "x").unwrap();
        assert_eq!((out.vectors, out.prompt_tokens), (vec![vec![0.5, -0.5]], 7));
        let out = decode_titan(br#"{"embedding":[1.0]}"#, "abcdefgh").unwrap();
        assert_eq!(out.prompt_tokens, 2);
        assert!(matches!(decode_titan(br#"{"message":"x"}"#, "x"), Err(ProviderError::InvalidResponse(_))));
    }

    #[test]
    fn cohere_on_bedrock_has_no_model_in_the_body() {
        let req = request(json!({"input": ["a", "b"]}));
        let body: Value = serde_json::to_value(EmbedBody::new(&req, &["a", "b"], None)).unwrap();
        assert_eq!(body, json!({"texts": ["a", "b"], "input_type": "search_document"}));
    }
}
