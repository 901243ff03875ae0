//! One POST to an upstream, shared by chat and embeddings: per-request
//! headers (SigV4, OAuth), the first-byte deadline, and a non-2xx answer
//! turned into the protocol's classified error.

use std::time::Duration;

use bytes::Bytes;

use crate::error::{ProviderError, parse_retry_after};
use crate::upstream::{Protocol, Upstream};
use crate::{anthropic, bedrock, cohere, gemini, openai};

/// POSTs `body` to `url` and returns the response once its head arrived with
/// a 2xx status, within the upstream's first-byte deadline.
pub(crate) async fn post(
    upstream: &Upstream,
    url: reqwest::Url,
    body: Vec<u8>,
) -> Result<reqwest::Response, ProviderError> {
    let headers = upstream.request_headers(&url, &body).await?;
    let t = upstream.timeouts;
    let send = upstream.client.post(url).headers(headers).body(body).send();
    let resp = match tokio::time::timeout(t.first_byte, send).await {
        Err(_) => return Err(ProviderError::Timeout(t.first_byte)),
        Ok(Err(e)) => return Err(ProviderError::from_transport(&e, t.first_byte)),
        Ok(Ok(r)) => r,
    };
    let status = resp.status();
    if status.is_success() {
        return Ok(resp);
    }
    let status = status.as_u16();
    let retry_after = parse_retry_after(resp.headers());
    let error_type = resp.headers().get("x-amzn-errortype").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let bytes = read_body(resp, t.idle).await.unwrap_or_default();
    if status == 401 {
        // A revoked or expired OAuth token: the next request mints a new one.
        if let Some(v) = &upstream.config.vertex {
            v.token.invalidate().await;
        }
    }
    Err(match upstream.config.protocol {
        Protocol::Openai | Protocol::Azure => openai::errors::map_error(status, retry_after, &bytes),
        Protocol::Anthropic => anthropic::errors::map_error(status, retry_after, &bytes),
        Protocol::Gemini | Protocol::Vertex => gemini::errors::map_error(status, retry_after, &bytes),
        Protocol::Cohere => cohere::errors::map_error(status, retry_after, &bytes),
        Protocol::Bedrock => bedrock::errors::map_error(status, retry_after, &bytes, error_type.as_deref()),
    })
}

/// Reads a whole body within the idle deadline.
pub(crate) async fn read_body(resp: reqwest::Response, idle: Duration) -> Result<Bytes, ProviderError> {
    match tokio::time::timeout(idle, resp.bytes()).await {
        Err(_) => Err(ProviderError::Timeout(idle)),
        Ok(Err(e)) => Err(ProviderError::from_transport(&e, idle)),
        Ok(Ok(b)) => Ok(b),
    }
}
