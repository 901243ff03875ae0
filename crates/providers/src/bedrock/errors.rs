//! Bedrock failures to [`ProviderError`]: REST-JSON error answers
//! (`x-amzn-ErrorType` header naming the exception, body `{"message"}`) and
//! `exception` / `error` messages inside a ConverseStream.

use std::time::Duration;

use serde_json::Value;
use switchyard_api::ErrorType;

use super::eventstream::Message;
use crate::error::{ProviderError, UpstreamFailure, kind_for_status};

/// Longest raw non-JSON error body kept for the client and the record.
const MAX_RAW: usize = 4096;

/// Classifies an error answer: HTTP status, `retry-after`, body and the
/// `x-amzn-ErrorType` header (`ThrottlingException:http://...`).
pub fn map_error(
    status: u16,
    retry_after: Option<Duration>,
    body: &[u8],
    error_type_header: Option<&str>,
) -> ProviderError {
    let raw: Option<Value> = serde_json::from_slice(body).ok().or_else(|| {
        let text = String::from_utf8_lossy(&body[..body.len().min(MAX_RAW)]).into_owned();
        (!text.is_empty()).then_some(Value::String(text))
    });
    let header = error_type_header.and_then(|h| h.split(':').next()).map(str::trim).filter(|h| !h.is_empty());
    // Some front-end errors name the type in the body (`__type`) instead.
    let body_type = raw.as_ref().and_then(|v| v.get("__type")).and_then(Value::as_str);
    let code = header.or_else(|| body_type.map(|t| t.rsplit('#').next().unwrap_or(t))).map(str::to_owned);
    failure(status, code, raw, retry_after)
}

/// Classifies an `exception` (`:exception-type`) or un-modelled `error`
/// (`:error-code`, `:error-message`) stream message. The status is the one
/// the exception carries as an HTTP error (429 for throttling...).
pub fn from_stream_message(msg: &Message) -> ProviderError {
    let raw: Option<Value> = serde_json::from_slice(&msg.payload).ok();
    let code = msg.header_str(":exception-type").or_else(|| msg.header_str(":error-code")).map(str::to_owned);
    let raw = match (raw, msg.header_str(":error-message")) {
        (None, Some(m)) => Some(serde_json::json!({"message": m})),
        (raw, _) => raw,
    };
    let status = code.as_deref().and_then(status_for_exception).unwrap_or(500);
    failure(status, code, raw, None)
}

fn failure(status: u16, code: Option<String>, raw: Option<Value>, retry_after: Option<Duration>) -> ProviderError {
    let field = |k: &str| raw.as_ref().and_then(|v| v.get(k)).and_then(Value::as_str).map(str::to_owned);
    let message = field("message").or_else(|| field("Message")).unwrap_or_else(|| match &code {
        Some(c) => format!("upstream returned HTTP {status} ({c})"),
        None => format!("upstream returned HTTP {status}"),
    });
    let mut kind = code.as_deref().and_then(kind_for_exception).unwrap_or_else(|| kind_for_status(status));
    if kind == ErrorType::InvalidRequest && is_context_length(&message) {
        kind = ErrorType::ContextLengthExceeded;
    }
    ProviderError::Upstream(UpstreamFailure { status, kind, message, raw, provider_code: code, retry_after })
}

/// Lower-cases an exception name so `ThrottlingException` (HTTP header) and
/// `throttlingException` (stream header) compare equal.
fn norm(name: &str) -> String {
    name.to_ascii_lowercase()
}

/// The OpenRouter class of a Bedrock exception name (either spelling).
pub fn kind_for_exception(name: &str) -> Option<ErrorType> {
    Some(match norm(name).as_str() {
        "validationexception" => ErrorType::InvalidRequest,
        "accessdeniedexception" => ErrorType::PermissionDenied,
        "unrecognizedclientexception" | "invalidsignatureexception" | "expiredtokenexception" => {
            ErrorType::Authentication
        }
        "resourcenotfoundexception" => ErrorType::NotFound,
        "modeltimeoutexception" => ErrorType::Timeout,
        "throttlingexception" => ErrorType::RateLimitExceeded,
        "servicequotaexceededexception" => ErrorType::RateLimitExceeded,
        "serviceunavailableexception" | "modelnotreadyexception" => ErrorType::ProviderOverloaded,
        "internalserverexception" | "modelerrorexception" | "modelstreamerrorexception" => {
            ErrorType::ProviderUnavailable
        }
        _ => return None,
    })
}

/// The HTTP status an exception stands for, for errors inside a stream.
pub fn status_for_exception(name: &str) -> Option<u16> {
    Some(match norm(name).as_str() {
        "validationexception" | "servicequotaexceededexception" => 400,
        "accessdeniedexception" => 403,
        "resourcenotfoundexception" => 404,
        "modeltimeoutexception" => 408,
        "throttlingexception" | "modelnotreadyexception" => 429,
        "internalserverexception" => 500,
        "modelstreamerrorexception" => 502,
        "serviceunavailableexception" => 503,
        "modelerrorexception" => 424,
        _ => return None,
    })
}

/// Bedrock reports an over-long prompt as a `ValidationException`.
fn is_context_length(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("too long")
        || m.contains("context window")
        || m.contains("context length")
        || m.contains("too many input tokens")
        || m.contains("exceed context limit")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bedrock::eventstream::{EventStreamDecoder, encode_message};

    fn failure(e: ProviderError) -> UpstreamFailure {
        match e {
            ProviderError::Upstream(f) => f,
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn the_reference_error_table_maps() {
        let table = [
            (400, "ValidationException", "Malformed input request", ErrorType::InvalidRequest, false),
            (403, "AccessDeniedException", "no model access", ErrorType::PermissionDenied, true),
            (403, "UnrecognizedClientException", "bad token", ErrorType::Authentication, true),
            (404, "ResourceNotFoundException", "no such model", ErrorType::NotFound, true),
            (408, "ModelTimeoutException", "timed out", ErrorType::Timeout, true),
            (424, "ModelErrorException", "model failed", ErrorType::ProviderUnavailable, true),
            (429, "ThrottlingException", "Too many requests", ErrorType::RateLimitExceeded, true),
            (429, "ModelNotReadyException", "loading", ErrorType::ProviderOverloaded, true),
            (500, "InternalServerException", "internal", ErrorType::ProviderUnavailable, true),
            (503, "ServiceUnavailableException", "unavailable", ErrorType::ProviderOverloaded, true),
        ];
        for (status, etype, message, kind, retryable) in table {
            let body = serde_json::to_vec(&serde_json::json!({"message": message})).unwrap();
            let header = format!("{etype}:http://internal.amazon.com/coral/com.amazon.bedrock/");
            let e = map_error(status, None, &body, Some(&header));
            assert_eq!(e.retryable(), retryable, "{etype}");
            let f = failure(e);
            assert_eq!((f.status, f.kind), (status, kind), "{etype}");
            assert_eq!(f.provider_code.as_deref(), Some(etype));
            assert_eq!(f.message, message);
            assert_eq!(f.raw.as_ref().unwrap()["message"], message);
        }
    }

    #[test]
    fn too_long_input_is_context_length_and_retry_after_is_kept() {
        let f = failure(map_error(
            400,
            None,
            br#"{"Message":"Input is too long for requested model."}"#,
            Some("ValidationException"),
        ));
        assert_eq!(f.kind, ErrorType::ContextLengthExceeded);
        assert_eq!(f.message, "Input is too long for requested model.");
        let e = map_error(429, Some(Duration::from_secs(3)), b"{}", Some("ThrottlingException"));
        assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));
    }

    #[test]
    fn odd_bodies_fall_back_to_status() {
        let f = failure(map_error(502, None, b"<html>bad gateway</html>", None));
        assert_eq!((f.kind, f.provider_code), (ErrorType::ProviderUnavailable, None));
        assert_eq!(f.raw, Some(Value::String("<html>bad gateway</html>".into())));
        let f = failure(map_error(403, None, br#"{"__type":"com.amazon#InvalidSignatureException"}"#, None));
        assert_eq!(
            (f.kind, f.provider_code.as_deref()),
            (ErrorType::Authentication, Some("InvalidSignatureException"))
        );
        assert_eq!(f.message, "upstream returned HTTP 403 (InvalidSignatureException)");
    }

    #[test]
    fn stream_exceptions_and_errors_classify() {
        let cases = [
            ("throttlingException", 429, ErrorType::RateLimitExceeded),
            ("serviceUnavailableException", 503, ErrorType::ProviderOverloaded),
            ("validationException", 400, ErrorType::InvalidRequest),
            ("modelStreamErrorException", 502, ErrorType::ProviderUnavailable),
            ("internalServerException", 500, ErrorType::ProviderUnavailable),
        ];
        for (name, status, kind) in cases {
            let bytes =
                encode_message(&[(":message-type", "exception"), (":exception-type", name)], br#"{"message":"boom"}"#);
            let mut out = Vec::new();
            EventStreamDecoder::new().push(&bytes, &mut out).unwrap();
            let f = failure(from_stream_message(&out[0]));
            assert_eq!((f.status, f.kind, f.message.as_str()), (status, kind, "boom"), "{name}");
            assert_eq!(f.provider_code.as_deref(), Some(name));
        }
        let bytes = encode_message(
            &[(":message-type", "error"), (":error-code", "InternalFailure"), (":error-message", "oops")],
            b"",
        );
        let mut out = Vec::new();
        EventStreamDecoder::new().push(&bytes, &mut out).unwrap();
        let f = failure(from_stream_message(&out[0]));
        assert_eq!((f.status, f.kind, f.message.as_str()), (500, ErrorType::ProviderUnavailable, "oops"));
    }
}
