//! Embeddings through OpenAI-protocol upstreams (`POST {base}/embeddings`).

use serde::Serialize;
use serde_json::Value;
use switchyard_api::Extra;
use switchyard_api::embeddings::{EmbeddingsRequest, EmbeddingsResponse};

use crate::error::{ProviderError, parse_retry_after};
use crate::openai;
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

/// Sends an embeddings request to `upstream` as `upstream_model`.
pub async fn embed(
    upstream: &Upstream,
    req: &EmbeddingsRequest,
    upstream_model: &str,
) -> Result<EmbeddingsResponse, ProviderError> {
    let Some(url) = &upstream.embeddings_url else {
        return Err(ProviderError::Unsupported(format!(
            "provider {} does not serve embeddings through Switchyard yet",
            upstream.config.slug
        )));
    };
    let body = serde_json::to_vec(&Body {
        model: upstream_model,
        input: &req.input,
        encoding_format: req.encoding_format.as_deref(),
        dimensions: req.dimensions,
        user: req.user.as_deref().map(openai::encode::hash_user),
        extra: &req.extra,
    })
    .map_err(|e| ProviderError::Unsupported(format!("request cannot be encoded: {e}")))?;
    let t = upstream.timeouts;
    let send = upstream.client.post(url.clone()).headers(upstream.headers.clone()).body(body).send();
    let resp = match tokio::time::timeout(t.first_byte, send).await {
        Err(_) => return Err(ProviderError::Timeout(t.first_byte)),
        Ok(Err(e)) => return Err(ProviderError::from_transport(&e, t.first_byte)),
        Ok(Ok(r)) => r,
    };
    let status = resp.status();
    let retry_after = parse_retry_after(resp.headers());
    let bytes = match tokio::time::timeout(t.idle, resp.bytes()).await {
        Err(_) => return Err(ProviderError::Timeout(t.idle)),
        Ok(Err(e)) => return Err(ProviderError::from_transport(&e, t.idle)),
        Ok(Ok(b)) => b,
    };
    if !status.is_success() {
        return Err(openai::errors::map_error(status.as_u16(), retry_after, &bytes));
    }
    let out: EmbeddingsResponse =
        serde_json::from_slice(&bytes).map_err(|e| ProviderError::InvalidResponse(format!("undecodable JSON: {e}")))?;
    if out.data.is_empty() {
        return Err(ProviderError::InvalidResponse("the answer has no embeddings".into()));
    }
    Ok(out)
}
