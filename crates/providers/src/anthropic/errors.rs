//! Anthropic error bodies (`{"type":"error","error":{"type","message"}}`) to
//! [`ProviderError`], from an HTTP answer or an `error` stream event.

use std::time::Duration;

use serde_json::Value;
use switchyard_api::ErrorType;

use crate::error::{ProviderError, UpstreamFailure, kind_for_status};

/// Longest raw non-JSON error body kept for the client and the record.
const MAX_RAW: usize = 4096;

/// Classifies an error answer: HTTP status, `retry-after` and body.
pub fn map_error(status: u16, retry_after: Option<Duration>, body: &[u8]) -> ProviderError {
    let raw: Option<Value> = serde_json::from_slice(body).ok().or_else(|| {
        let text = String::from_utf8_lossy(&body[..body.len().min(MAX_RAW)]).into_owned();
        (!text.is_empty()).then_some(Value::String(text))
    });
    from_error_body(status, retry_after, raw)
}

/// Classifies a parsed error body. `status` is 200 for an error event inside
/// a stream; the error type then decides alone.
pub fn from_error_body(status: u16, retry_after: Option<Duration>, raw: Option<Value>) -> ProviderError {
    let err = raw.as_ref().and_then(|v| v.get("error"));
    let field = |k: &str| err.and_then(|e| e.get(k)).and_then(Value::as_str).map(str::to_owned);
    let etype = field("type");
    let message = field("message").unwrap_or_else(|| format!("upstream returned HTTP {status}"));
    let mut kind = etype.as_deref().and_then(kind_for_type).unwrap_or_else(|| kind_for_status(status));
    if kind == ErrorType::InvalidRequest && is_context_length(&message) {
        kind = ErrorType::ContextLengthExceeded;
    }
    ProviderError::Upstream(UpstreamFailure { status, kind, message, raw, provider_code: etype, retry_after })
}

/// The OpenRouter class of an Anthropic `error.type`. The type is more
/// precise than the status (a 529 is overload, not a generic 5xx) and is
/// the only signal inside a 200 stream.
pub fn kind_for_type(etype: &str) -> Option<ErrorType> {
    Some(match etype {
        "invalid_request_error" => ErrorType::InvalidRequest,
        "authentication_error" => ErrorType::Authentication,
        "billing_error" => ErrorType::PaymentRequired,
        "permission_error" => ErrorType::PermissionDenied,
        "not_found_error" => ErrorType::NotFound,
        "request_too_large" => ErrorType::PayloadTooLarge,
        "rate_limit_error" => ErrorType::RateLimitExceeded,
        "api_error" => ErrorType::ProviderUnavailable,
        "timeout_error" | "gateway_timeout_error" => ErrorType::Timeout,
        "overloaded_error" => ErrorType::ProviderOverloaded,
        _ => return None,
    })
}

/// Anthropic reports an over-long prompt as a plain invalid request.
fn is_context_length(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("prompt is too long") || m.contains("exceed context limit") || m.contains("context window")
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

    fn body(etype: &str, message: &str) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({"type": "error", "error": {"type": etype, "message": message},
            "request_id": "req_011CSHoEeqs5C35K2UUqR7Fy"}))
        .unwrap()
    }

    #[test]
    fn the_reference_error_table_maps() {
        let table = [
            (400, "invalid_request_error", "max_tokens: field required", ErrorType::InvalidRequest, false),
            (401, "authentication_error", "invalid x-api-key", ErrorType::Authentication, true),
            (402, "billing_error", "credit balance too low", ErrorType::PaymentRequired, true),
            (403, "permission_error", "no access", ErrorType::PermissionDenied, true),
            (404, "not_found_error", "model: claude-x", ErrorType::NotFound, true),
            (413, "request_too_large", "too big", ErrorType::PayloadTooLarge, false),
            (429, "rate_limit_error", "slow down", ErrorType::RateLimitExceeded, true),
            (500, "api_error", "internal", ErrorType::ProviderUnavailable, true),
            (504, "timeout_error", "timed out", ErrorType::Timeout, true),
            (529, "overloaded_error", "Overloaded", ErrorType::ProviderOverloaded, true),
        ];
        for (status, etype, message, kind, retryable) in table {
            let e = map_error(status, None, &body(etype, message));
            assert_eq!(e.retryable(), retryable, "{etype}");
            let f = failure(e);
            assert_eq!((f.status, f.kind), (status, kind), "{etype}");
            assert_eq!(f.provider_code.as_deref(), Some(etype));
            assert_eq!(f.message, message);
            assert_eq!(f.raw.as_ref().unwrap()["request_id"], "req_011CSHoEeqs5C35K2UUqR7Fy");
        }
        assert_eq!(ErrorType::ProviderOverloaded.status(), 503);
    }

    #[test]
    fn prompt_too_long_is_context_length() {
        let b = body("invalid_request_error", "prompt is too long: 215000 tokens > 200000 maximum");
        let f = failure(map_error(400, None, &b));
        assert_eq!(f.kind, ErrorType::ContextLengthExceeded);
        assert_eq!(f.provider_code.as_deref(), Some("invalid_request_error"));
    }

    #[test]
    fn rate_limit_keeps_retry_after() {
        let e = map_error(429, Some(Duration::from_secs(14)), &body("rate_limit_error", "per-minute limit"));
        assert!(e.retryable());
        assert_eq!(e.retry_after(), Some(Duration::from_secs(14)));
    }

    #[test]
    fn stream_errors_classify_by_type_and_odd_bodies_fall_back_to_status() {
        let raw = serde_json::json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}});
        let f = failure(from_error_body(200, None, Some(raw)));
        assert_eq!((f.status, f.kind), (200, ErrorType::ProviderOverloaded));
        let f = failure(map_error(502, None, b"<html>bad gateway</html>"));
        assert_eq!(f.kind, ErrorType::ProviderUnavailable);
        assert_eq!(f.raw, Some(Value::String("<html>bad gateway</html>".into())));
        assert_eq!(failure(map_error(529, None, b"")).kind, ErrorType::ProviderOverloaded);
        assert_eq!(failure(map_error(400, None, b"{}")).message, "upstream returned HTTP 400");
    }
}
