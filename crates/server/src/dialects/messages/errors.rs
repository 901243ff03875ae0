//! Failures in Anthropic's envelope: `{"type":"error","error":{"type",
//! "message","error_type"},"request_id"}` (reference §6.3), with the status
//! and the rate-limit headers the gateway's own error response has.

use axum::body::Body;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use switchyard_api::ErrorDetail;
use switchyard_api::messages::{ErrorEnvelope, ErrorObject};

use crate::error::GatewayError;

/// Anthropic's `error.type` for OpenRouter's `error_type` (and the status,
/// for failures that carry none).
pub fn anthropic_type(error_type: Option<&str>, status: u16) -> &'static str {
    match error_type {
        Some("authentication") => "authentication_error",
        Some("permission_denied") => "permission_error",
        Some("payment_required") => "billing_error",
        Some("not_found" | "image_not_found") => "not_found_error",
        Some("rate_limit_exceeded") => "rate_limit_error",
        Some("provider_overloaded") => "overloaded_error",
        Some("timeout") => "timeout_error",
        Some("payload_too_large") => "request_too_large",
        Some("server" | "unmapped" | "provider_unavailable") => "api_error",
        Some(_) if status == 400 => "invalid_request_error",
        Some(_) => "api_error",
        None => match status {
            400 | 422 => "invalid_request_error",
            401 => "authentication_error",
            402 => "billing_error",
            403 => "permission_error",
            404 => "not_found_error",
            413 => "request_too_large",
            429 => "rate_limit_error",
            503 | 529 => "overloaded_error",
            504 => "timeout_error",
            _ => "api_error",
        },
    }
}

/// The error object for a gateway error detail (also used mid-stream).
pub fn error_object(detail: &ErrorDetail) -> ErrorObject {
    let error_type = detail.metadata.as_ref().and_then(|m| m.get("error_type")).and_then(|v| v.as_str());
    ErrorObject {
        kind: anthropic_type(error_type, detail.code).to_owned(),
        message: detail.message.clone(),
        error_type: error_type.map(str::to_owned),
    }
}

/// The response for a failure before anything was streamed: the gateway's
/// status and headers (`Retry-After`, `X-RateLimit-*`), Anthropic's body.
pub fn response(e: GatewayError) -> Response {
    let detail = e.detail();
    let envelope = ErrorEnvelope { kind: "error".into(), error: error_object(&detail), request_id: None };
    let (mut parts, _) = e.into_response().into_parts();
    let body = serde_json::to_vec(&envelope).unwrap_or_else(|_| b"{\"type\":\"error\"}".to_vec());
    parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(body))
}

/// Fills `request_id` with the generation id once the pipeline has stamped
/// it on a failed response (`x-generation-id`); failures before routing keep
/// a null one.
pub async fn with_request_id(resp: Response) -> Response {
    let id = resp.headers().get("x-generation-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (Some(id), false) = (id, resp.status().is_success()) else { return resp };
    let (mut parts, body) = resp.into_parts();
    // Error bodies are small; one that is not ours is passed on as it was.
    let Ok(bytes) = axum::body::to_bytes(body, 1 << 20).await else {
        return GatewayError::Internal("error body unreadable".into()).into_response();
    };
    let stamped = serde_json::from_slice::<ErrorEnvelope>(&bytes).ok().and_then(|mut env| {
        env.request_id = Some(id);
        serde_json::to_vec(&env).ok()
    });
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(stamped.unwrap_or_else(|| bytes.to_vec())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_follow_openrouters_mapping() {
        assert_eq!(anthropic_type(Some("authentication"), 401), "authentication_error");
        assert_eq!(anthropic_type(Some("rate_limit_exceeded"), 429), "rate_limit_error");
        assert_eq!(anthropic_type(Some("provider_overloaded"), 503), "overloaded_error");
        assert_eq!(anthropic_type(Some("context_length_exceeded"), 400), "invalid_request_error");
        assert_eq!(anthropic_type(Some("provider_unavailable"), 502), "api_error");
        assert_eq!(anthropic_type(None, 529), "overloaded_error");
    }

    #[tokio::test]
    async fn envelope_keeps_status_and_retry_headers() {
        let e = GatewayError::RateLimited {
            message: "Rate limit exceeded".into(),
            limit: 5,
            reset_ms: 1000,
            retry_after: std::time::Duration::from_secs(3),
        };
        let r = response(e);
        assert_eq!(r.status(), 429);
        assert_eq!(r.headers()["retry-after"], "3");
        assert_eq!(r.headers()["x-ratelimit-limit"], "5");
        let body = axum::body::to_bytes(r.into_body(), 1 << 16).await.unwrap();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"type": "error", "request_id": null, "error": {"type": "rate_limit_error",
                "message": "Rate limit exceeded", "error_type": "rate_limit_exceeded"}})
        );
    }
}
