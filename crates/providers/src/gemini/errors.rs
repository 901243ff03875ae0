//! Google RPC error bodies (`{"error":{"code","message","status","details"}}`)
//! to [`ProviderError`], from an HTTP answer or an error inside a stream.

use std::time::Duration;

use serde_json::Value;
use switchyard_api::ErrorType;

use crate::error::{ProviderError, UpstreamFailure, kind_for_status};

/// Longest raw non-JSON error body kept for the client and the record.
const MAX_RAW: usize = 4096;

/// Longest retry delay taken from a body.
const MAX_RETRY: Duration = Duration::from_secs(3600);

/// Classifies an error answer: HTTP status, `retry-after` and body.
pub fn map_error(status: u16, retry_after: Option<Duration>, body: &[u8]) -> ProviderError {
    let raw: Option<Value> = serde_json::from_slice(body).ok().or_else(|| {
        let text = String::from_utf8_lossy(&body[..body.len().min(MAX_RAW)]).into_owned();
        (!text.is_empty()).then_some(Value::String(text))
    });
    from_error_body(status, retry_after, raw)
}

/// Classifies an error that arrived inside a 200 answer or stream: its
/// `error` object (or the whole body holding one); the status is the
/// error's own `code`.
pub fn in_band(err: Value) -> ProviderError {
    let raw = if err.get("error").is_some() { err } else { serde_json::json!({"error": err}) };
    let code = raw["error"].get("code").and_then(Value::as_u64).and_then(|c| u16::try_from(c).ok());
    from_error_body(code.unwrap_or(200), None, Some(raw))
}

/// Classifies a parsed error body. The RPC `status` decides the class where
/// it is known; the HTTP status otherwise. A `retry-after` header wins over
/// the body's `RetryInfo.retryDelay`.
pub fn from_error_body(status: u16, retry_after: Option<Duration>, raw: Option<Value>) -> ProviderError {
    // The non-SSE stream endpoint wraps errors in an array.
    let body = match &raw {
        Some(Value::Array(items)) => items.first(),
        other => other.as_ref(),
    };
    let err = body.and_then(|v| v.get("error"));
    let field = |k: &str| err.and_then(|e| e.get(k)).and_then(Value::as_str).map(str::to_owned);
    let rpc = field("status");
    let message = field("message").unwrap_or_else(|| format!("upstream returned HTTP {status}"));
    let details = err.and_then(|e| e.get("details")).and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]);
    let mut kind = rpc.as_deref().and_then(|s| kind_for_rpc(s, &message)).unwrap_or_else(|| kind_for_status(status));
    if kind == ErrorType::InvalidRequest {
        kind = refine_invalid(&message, details);
    }
    let retry_after = retry_after.or_else(|| details.iter().find_map(retry_delay));
    ProviderError::Upstream(UpstreamFailure { status, kind, message, raw, provider_code: rpc, retry_after })
}

/// The OpenRouter class of a Google RPC `status`.
pub fn kind_for_rpc(rpc: &str, message: &str) -> Option<ErrorType> {
    Some(match rpc {
        "INVALID_ARGUMENT" | "OUT_OF_RANGE" => ErrorType::InvalidRequest,
        // Region not served or billing not set up: this account's problem,
        // which another endpoint may not share.
        "FAILED_PRECONDITION" if message.to_ascii_lowercase().contains("billing") => ErrorType::PaymentRequired,
        "FAILED_PRECONDITION" | "PERMISSION_DENIED" => ErrorType::PermissionDenied,
        "UNAUTHENTICATED" => ErrorType::Authentication,
        "NOT_FOUND" => ErrorType::NotFound,
        "RESOURCE_EXHAUSTED" => ErrorType::RateLimitExceeded,
        "UNAVAILABLE" => ErrorType::ProviderOverloaded,
        "DEADLINE_EXCEEDED" => ErrorType::Timeout,
        "INTERNAL" | "UNKNOWN" | "ABORTED" | "CANCELLED" | "DATA_LOSS" | "UNIMPLEMENTED" => {
            ErrorType::ProviderUnavailable
        }
        _ => return None,
    })
}

/// Gemini reports a bad key, an over-long prompt and an oversized body as
/// plain invalid arguments.
fn refine_invalid(message: &str, details: &[Value]) -> ErrorType {
    let m = message.to_ascii_lowercase();
    if details.iter().any(|d| d.get("reason").and_then(Value::as_str) == Some("API_KEY_INVALID"))
        || m.contains("api key not valid")
    {
        ErrorType::Authentication
    } else if m.contains("input token count") && m.contains("exceeds the maximum") {
        ErrorType::ContextLengthExceeded
    } else if m.contains("payload size exceeds") {
        ErrorType::PayloadTooLarge
    } else {
        ErrorType::InvalidRequest
    }
}

/// `RetryInfo.retryDelay` (a protobuf Duration string like `"17s"` or `"0.5s"`).
fn retry_delay(detail: &Value) -> Option<Duration> {
    let secs: f64 = detail.get("retryDelay")?.as_str()?.strip_suffix('s')?.trim().parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs).min(MAX_RETRY))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn failure(e: ProviderError) -> UpstreamFailure {
        match e {
            ProviderError::Upstream(f) => f,
            other => panic!("unexpected {other:?}"),
        }
    }

    fn body(code: u16, rpc: &str, message: &str) -> Vec<u8> {
        serde_json::to_vec(&json!({"error": {"code": code, "message": message, "status": rpc}})).unwrap()
    }

    #[test]
    fn the_reference_error_table_maps() {
        let table = [
            (400, "INVALID_ARGUMENT", "Invalid value at 'contents'", ErrorType::InvalidRequest, false),
            (
                400,
                "FAILED_PRECONDITION",
                "User location is not supported for the API use.",
                ErrorType::PermissionDenied,
                true,
            ),
            (400, "FAILED_PRECONDITION", "Please enable billing on your project.", ErrorType::PaymentRequired, true),
            (
                401,
                "UNAUTHENTICATED",
                "Request had invalid authentication credentials.",
                ErrorType::Authentication,
                true,
            ),
            (403, "PERMISSION_DENIED", "Generative Language API has not been used", ErrorType::PermissionDenied, true),
            (404, "NOT_FOUND", "models/gemini-9 is not found", ErrorType::NotFound, true),
            (429, "RESOURCE_EXHAUSTED", "You exceeded your current quota", ErrorType::RateLimitExceeded, true),
            (500, "INTERNAL", "An internal error has occurred.", ErrorType::ProviderUnavailable, true),
            (
                503,
                "UNAVAILABLE",
                "The model is overloaded. Please try again later.",
                ErrorType::ProviderOverloaded,
                true,
            ),
            (504, "DEADLINE_EXCEEDED", "Deadline expired before operation could complete.", ErrorType::Timeout, true),
        ];
        for (status, rpc, message, kind, retryable) in table {
            let e = map_error(status, None, &body(status, rpc, message));
            assert_eq!(e.retryable(), retryable, "{rpc}");
            let f = failure(e);
            assert_eq!((f.status, f.kind), (status, kind), "{rpc}");
            assert_eq!(f.provider_code.as_deref(), Some(rpc));
            assert_eq!(f.message, message);
            assert_eq!(f.raw.as_ref().unwrap()["error"]["code"], status);
        }
    }

    #[test]
    fn quota_error_takes_retry_delay_unless_a_header_gave_one() {
        let b = serde_json::to_vec(&json!({"error": {"code": 429, "status": "RESOURCE_EXHAUSTED",
            "message": "You exceeded your current quota, please check your plan and billing details.",
            "details": [
                {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [{"quotaId": "x"}]},
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "17s"}]}}))
        .unwrap();
        let e = map_error(429, None, &b);
        assert_eq!(e.retry_after(), Some(Duration::from_secs(17)));
        assert_eq!(failure(e).kind, ErrorType::RateLimitExceeded);
        assert_eq!(map_error(429, Some(Duration::from_secs(3)), &b).retry_after(), Some(Duration::from_secs(3)));
    }

    #[test]
    fn invalid_argument_is_refined() {
        let ctx = body(
            400,
            "INVALID_ARGUMENT",
            "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).",
        );
        assert_eq!(failure(map_error(400, None, &ctx)).kind, ErrorType::ContextLengthExceeded);
        let key = serde_json::to_vec(
            &json!({"error": {"code": 400, "message": "API key not valid. Please pass a valid API key.",
            "status": "INVALID_ARGUMENT", "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "API_KEY_INVALID", "domain": "googleapis.com"}]}}),
        )
        .unwrap();
        let e = map_error(400, None, &key);
        assert!(e.retryable());
        assert_eq!(failure(e).kind, ErrorType::Authentication);
        let big = body(400, "INVALID_ARGUMENT", "Request payload size exceeds the limit: 20971520 bytes.");
        assert_eq!(failure(map_error(400, None, &big)).kind, ErrorType::PayloadTooLarge);
    }

    #[test]
    fn in_band_errors_take_their_code_and_odd_bodies_fall_back_to_status() {
        let f = failure(in_band(json!({"code": 503, "message": "overloaded", "status": "UNAVAILABLE"})));
        assert_eq!((f.status, f.kind), (503, ErrorType::ProviderOverloaded));
        assert_eq!(f.raw.unwrap()["error"]["status"], "UNAVAILABLE");
        let arr =
            serde_json::to_vec(&json!([{"error": {"code": 404, "message": "nope", "status": "NOT_FOUND"}}])).unwrap();
        assert_eq!(failure(map_error(404, None, &arr)).kind, ErrorType::NotFound);
        let f = failure(map_error(502, None, b"<html>bad gateway</html>"));
        assert_eq!(f.kind, ErrorType::ProviderUnavailable);
        assert_eq!(f.raw, Some(Value::String("<html>bad gateway</html>".into())));
        assert_eq!(failure(map_error(503, None, b"")).kind, ErrorType::ProviderOverloaded);
        assert_eq!(failure(map_error(400, None, b"{}")).message, "upstream returned HTTP 400");
    }
}
