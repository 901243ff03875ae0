//! OpenAI error bodies to [`ProviderError`].

use serde_json::Value;
use switchyard_api::ErrorType;

use crate::error::{ProviderError, UpstreamFailure, kind_for_status};

/// Longest raw error body kept for the client and the generation record.
const MAX_RAW: usize = 4096;

/// Classifies an error answer: HTTP status, headers and body.
pub fn map_error(status: u16, retry_after: Option<std::time::Duration>, body: &[u8]) -> ProviderError {
    let raw: Option<Value> = serde_json::from_slice(body).ok().or_else(|| {
        let text = String::from_utf8_lossy(&body[..body.len().min(MAX_RAW)]).into_owned();
        (!text.is_empty()).then_some(Value::String(text))
    });
    let err = raw.as_ref().and_then(|v| v.get("error"));
    from_error_object(status, retry_after, err, raw.clone())
}

/// Classifies the `error` object of an OpenAI body (also found inside streams).
pub fn from_error_object(
    status: u16,
    retry_after: Option<std::time::Duration>,
    err: Option<&Value>,
    raw: Option<Value>,
) -> ProviderError {
    let field = |k: &str| err.and_then(|e| e.get(k)).and_then(value_text);
    let code = field("code");
    let etype = field("type");
    let message = field("message")
        .or_else(|| err.and_then(value_text))
        .unwrap_or_else(|| format!("upstream returned HTTP {status}"));
    let mut kind = kind_for_status(status);
    let hint = code.as_deref().or(etype.as_deref()).unwrap_or("");
    if hint == "context_length_exceeded" || message.contains("maximum context length") {
        kind = ErrorType::ContextLengthExceeded;
    } else if hint == "content_filter" || hint == "content_policy_violation" {
        kind = ErrorType::ContentPolicyViolation;
    } else if status == 200 {
        // An error event inside a 200 stream: classify by its words.
        kind = match hint {
            "rate_limit_exceeded" | "tokens" | "requests" => ErrorType::RateLimitExceeded,
            "overloaded" | "overloaded_error" | "service_unavailable" => ErrorType::ProviderOverloaded,
            "invalid_request_error" => ErrorType::InvalidRequest,
            _ => ErrorType::ProviderUnavailable,
        };
    }
    ProviderError::Upstream(UpstreamFailure { status, kind, message, raw, provider_code: code.or(etype), retry_after })
}

fn value_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(e: ProviderError) -> UpstreamFailure {
        match e {
            ProviderError::Upstream(f) => f,
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn context_length_is_recognised() {
        let body = br#"{"error":{"message":"This model's maximum context length is 128000 tokens.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}"#;
        let f = failure(map_error(400, None, body));
        assert_eq!(f.kind, ErrorType::ContextLengthExceeded);
        assert_eq!(f.provider_code.as_deref(), Some("context_length_exceeded"));
    }

    #[test]
    fn rate_limit_keeps_retry_after_and_is_retryable() {
        let body =
            br#"{"error":{"message":"Rate limit reached","type":"tokens","param":null,"code":"rate_limit_exceeded"}}"#;
        let e = map_error(429, Some(std::time::Duration::from_secs(2)), body);
        assert!(e.retryable());
        assert_eq!(e.retry_after(), Some(std::time::Duration::from_secs(2)));
        assert_eq!(failure(e).kind, ErrorType::RateLimitExceeded);
    }

    #[test]
    fn bad_request_is_not_retryable_and_text_bodies_survive() {
        let e = map_error(400, None, b"bad things");
        assert!(!e.retryable());
        assert_eq!(failure(e).raw, Some(Value::String("bad things".into())));
        assert_eq!(failure(map_error(503, None, b"")).kind, ErrorType::ProviderOverloaded);
        assert_eq!(failure(map_error(500, None, b"{}")).kind, ErrorType::ProviderUnavailable);
    }
}
