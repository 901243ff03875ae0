//! Cohere error bodies (`{"id": "<request uuid>", "message": "..."}`, older
//! ones just `{"message": "..."}`) to [`ProviderError`], from an HTTP answer,
//! an error body inside a 200, or a failed stream.
//!
//! Cohere sends no error code, so the status decides, refined by the
//! message: an invalid request saying "too many tokens" is a context-length
//! error, and 498 (invalid or expired token) is an authentication error.
//! 429 covers both per-minute and trial-key limits; both are rate limits and
//! keep the `retry-after` hint. 499 (request cancelled upstream) and other
//! 5xx are provider-side and retryable.

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

/// Classifies a parsed error body. `status` is 200 for an error inside a
/// successful answer or stream; the message then decides alone.
pub fn from_error_body(status: u16, retry_after: Option<Duration>, raw: Option<Value>) -> ProviderError {
    let message = raw
        .as_ref()
        .and_then(|v| v.get("message").or_else(|| v.get("error")))
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| format!("upstream returned HTTP {status}"));
    failure(status, retry_after, message, raw)
}

/// A failure from a status and a message alone (a stream's
/// `message-end.delta.error`).
pub fn from_message(status: u16, message: String, raw: Option<Value>) -> ProviderError {
    failure(status, None, message, raw)
}

fn failure(status: u16, retry_after: Option<Duration>, message: String, raw: Option<Value>) -> ProviderError {
    let mut kind = match status {
        498 => ErrorType::Authentication,
        _ => kind_for_status(status),
    };
    if matches!(kind, ErrorType::InvalidRequest | ErrorType::ProviderUnavailable) && is_context_length(&message) {
        kind = ErrorType::ContextLengthExceeded;
    }
    ProviderError::Upstream(UpstreamFailure { status, kind, message, raw, provider_code: None, retry_after })
}

/// Cohere reports an over-long prompt as an invalid request: "too many
/// tokens: total number of tokens in the prompt cannot exceed 128000...".
fn is_context_length(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("too many tokens") || m.contains("context length") || m.contains("context window")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fail(e: ProviderError) -> UpstreamFailure {
        match e {
            ProviderError::Upstream(f) => f,
            other => panic!("unexpected {other:?}"),
        }
    }

    fn body(message: &str) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({"id": "5d4a4f3c-2a1e-4f4c-9a39-1c6f0a2d8e11", "message": message}))
            .unwrap()
    }

    #[test]
    fn the_reference_error_table_maps() {
        let too_many = "too many tokens: total number of tokens in the prompt cannot exceed 128000 - received 131586. \
                        Try using a shorter prompt";
        let table = [
            (400, "invalid request: message must be at least 1 token long", ErrorType::InvalidRequest, false),
            (400, too_many, ErrorType::ContextLengthExceeded, true),
            (401, "invalid api token", ErrorType::Authentication, true),
            (402, "please add a payment method", ErrorType::PaymentRequired, true),
            (403, "forbidden", ErrorType::PermissionDenied, true),
            (404, "model 'xyz' not found, make sure the correct model ID was used", ErrorType::NotFound, true),
            (422, "unprocessable entity", ErrorType::InvalidRequest, false),
            (
                429,
                "You are using a Trial key, which is limited to 10 API calls / minute",
                ErrorType::RateLimitExceeded,
                true,
            ),
            (498, "invalid or expired token", ErrorType::Authentication, true),
            (499, "request cancelled", ErrorType::ProviderUnavailable, true),
            (500, "internal server error", ErrorType::ProviderUnavailable, true),
            (501, "not implemented", ErrorType::ProviderUnavailable, true),
            (503, "service unavailable", ErrorType::ProviderOverloaded, true),
            (504, "gateway timeout", ErrorType::Timeout, true),
        ];
        for (status, message, kind, retryable) in table {
            let e = map_error(status, None, &body(message));
            assert_eq!(e.retryable(), retryable, "{status} {message}");
            let f = fail(e);
            assert_eq!((f.status, f.kind), (status, kind), "{message}");
            assert_eq!(f.message, message);
            assert_eq!(f.provider_code, None);
            assert_eq!(f.raw.as_ref().unwrap()["id"], "5d4a4f3c-2a1e-4f4c-9a39-1c6f0a2d8e11");
        }
    }

    #[test]
    fn rate_limit_keeps_retry_after() {
        let e = map_error(429, Some(Duration::from_secs(60)), br#"{"message":"trial key limit"}"#);
        assert!(e.retryable());
        assert_eq!(e.retry_after(), Some(Duration::from_secs(60)));
        assert_eq!(fail(e).raw, Some(serde_json::json!({"message": "trial key limit"})));
    }

    #[test]
    fn odd_bodies_fall_back_to_the_status() {
        let f = fail(map_error(502, None, b"<html>bad gateway</html>"));
        assert_eq!(f.kind, ErrorType::ProviderUnavailable);
        assert_eq!(f.raw, Some(Value::String("<html>bad gateway</html>".into())));
        assert_eq!(fail(map_error(400, None, b"{}")).message, "upstream returned HTTP 400");
        assert_eq!(fail(map_error(503, None, b"")).raw, None);
        let long = vec![b'x'; 10_000];
        assert_eq!(fail(map_error(500, None, &long)).raw.unwrap().as_str().unwrap().len(), MAX_RAW);
    }

    #[test]
    fn in_band_errors_classify_by_message() {
        let f = fail(from_message(200, "too many tokens: prompt exceeds".into(), None));
        assert_eq!((f.status, f.kind), (200, ErrorType::ContextLengthExceeded));
        let f = fail(from_error_body(200, None, Some(serde_json::json!({"message": "internal error"}))));
        assert_eq!(f.kind, ErrorType::ProviderUnavailable);
        assert!(ProviderError::Upstream(f).retryable());
    }
}
