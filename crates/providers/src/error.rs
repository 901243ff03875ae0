//! What can go wrong talking to an upstream, typed by who is at fault and
//! whether another attempt (another endpoint) may help.

use std::time::Duration;

use serde_json::Value;
use switchyard_api::ErrorType;

/// A failed upstream exchange.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// The TCP/TLS connection could not be made or broke before an answer.
    #[error("could not reach the provider: {0}")]
    Connect(String),
    /// No answer (or no next stream event) within the deadline.
    #[error("the provider did not answer within {0:?}")]
    Timeout(Duration),
    /// The provider answered with an error.
    #[error("{0}")]
    Upstream(UpstreamFailure),
    /// The provider's answer could not be understood.
    #[error("the provider returned an invalid response: {0}")]
    InvalidResponse(String),
    /// The connection closed before the stream finished.
    #[error("the provider closed the stream before it finished")]
    Disconnected,
    /// The request cannot be expressed in this provider's protocol.
    #[error("{0}")]
    Unsupported(String),
}

/// An error answer from the provider, already classified.
#[derive(Debug, Clone)]
pub struct UpstreamFailure {
    /// HTTP status the provider sent (200 for an error inside a stream).
    pub status: u16,
    /// The OpenRouter class of the failure.
    pub kind: ErrorType,
    /// The provider's message.
    pub message: String,
    /// The provider's raw error body.
    pub raw: Option<Value>,
    /// The provider's own error code, if it sent one.
    pub provider_code: Option<String>,
    /// How long the provider asked us to wait.
    pub retry_after: Option<Duration>,
}

impl std::fmt::Display for UpstreamFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "provider returned {}: {}", self.status, self.message)
    }
}

impl ProviderError {
    /// The OpenRouter `error_type` for this failure.
    pub fn error_type(&self) -> ErrorType {
        match self {
            ProviderError::Connect(_) | ProviderError::Disconnected | ProviderError::InvalidResponse(_) => {
                ErrorType::ProviderUnavailable
            }
            ProviderError::Timeout(_) => ErrorType::Timeout,
            ProviderError::Upstream(f) => f.kind,
            ProviderError::Unsupported(_) => ErrorType::InvalidRequest,
        }
    }

    /// True when another endpoint may succeed where this one failed; false
    /// when the request itself is at fault.
    pub fn retryable(&self) -> bool {
        match self {
            ProviderError::Unsupported(_) => false,
            ProviderError::Upstream(f) => !matches!(
                f.kind,
                ErrorType::InvalidRequest | ErrorType::PayloadTooLarge | ErrorType::ContentPolicyViolation
            ),
            _ => true,
        }
    }

    /// The provider's retry hint, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ProviderError::Upstream(f) => f.retry_after,
            _ => None,
        }
    }

    /// Maps a reqwest transport error.
    pub fn from_transport(e: &reqwest::Error, deadline: Duration) -> ProviderError {
        if e.is_timeout() {
            ProviderError::Timeout(deadline)
        } else if e.is_body() || e.is_decode() {
            ProviderError::Disconnected
        } else {
            ProviderError::Connect(root_cause(e))
        }
    }
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut msg = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        msg = format!("{msg}: {s}");
        src = s.source();
    }
    msg
}

/// The OpenRouter class for an upstream HTTP status, before any
/// protocol-specific refinement of the body.
pub fn kind_for_status(status: u16) -> ErrorType {
    match status {
        400 | 404 | 405 | 409 | 422 => {
            if status == 404 {
                ErrorType::NotFound
            } else {
                ErrorType::InvalidRequest
            }
        }
        401 => ErrorType::Authentication,
        402 => ErrorType::PaymentRequired,
        403 => ErrorType::PermissionDenied,
        408 | 504 | 524 => ErrorType::Timeout,
        413 => ErrorType::PayloadTooLarge,
        429 => ErrorType::RateLimitExceeded,
        503 | 529 => ErrorType::ProviderOverloaded,
        _ => ErrorType::ProviderUnavailable,
    }
}

/// Reads a `Retry-After` header given in seconds (the form providers use).
pub fn parse_retry_after(headers: &http::HeaderMap) -> Option<Duration> {
    let v = headers.get(http::header::RETRY_AFTER)?.to_str().ok()?;
    let secs: f64 = v.trim().parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(3600.0)))
}
