//! OpenRouter's error envelope and its `error_type` vocabulary.

use serde::{Deserialize, Serialize};

use crate::Extra;

/// `{"error": {...}}`, the body of every non-streaming error.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// The inner error object; also used in a mid-stream error chunk.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct ErrorDetail {
    /// HTTP status number.
    pub code: u16,
    /// Human-readable explanation.
    pub message: String,
    /// `error_type`, `provider_name`, `raw`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Extra>,
    /// Why no endpoint could serve the request (`code`, `retryable`,
    /// `requested_models`, `excluded`...), on routing failures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub availability: Option<serde_json::Value>,
}

/// The stable `error_type` vocabulary (reference section 6.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorType {
    /// Malformed or invalid request.
    InvalidRequest,
    /// Prompt too long for the model.
    ContextLengthExceeded,
    /// Bad or missing credentials.
    Authentication,
    /// Credits or key limit exhausted.
    PaymentRequired,
    /// Not allowed.
    PermissionDenied,
    /// Unknown resource.
    NotFound,
    /// Request too large.
    PayloadTooLarge,
    /// Rate limited.
    RateLimitExceeded,
    /// Provider refused or filtered content.
    ContentPolicyViolation,
    /// Provider overloaded.
    ProviderOverloaded,
    /// Provider down or returned garbage.
    ProviderUnavailable,
    /// Upstream did not answer in time.
    Timeout,
    /// Gateway fault.
    Server,
}

impl ErrorType {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorType::InvalidRequest => "invalid_request",
            ErrorType::ContextLengthExceeded => "context_length_exceeded",
            ErrorType::Authentication => "authentication",
            ErrorType::PaymentRequired => "payment_required",
            ErrorType::PermissionDenied => "permission_denied",
            ErrorType::NotFound => "not_found",
            ErrorType::PayloadTooLarge => "payload_too_large",
            ErrorType::RateLimitExceeded => "rate_limit_exceeded",
            ErrorType::ContentPolicyViolation => "content_policy_violation",
            ErrorType::ProviderOverloaded => "provider_overloaded",
            ErrorType::ProviderUnavailable => "provider_unavailable",
            ErrorType::Timeout => "timeout",
            ErrorType::Server => "server",
        }
    }

    /// The HTTP status OpenRouter uses for this type.
    pub fn status(self) -> u16 {
        match self {
            ErrorType::InvalidRequest | ErrorType::ContextLengthExceeded | ErrorType::ContentPolicyViolation => 400,
            ErrorType::Authentication => 401,
            ErrorType::PaymentRequired => 402,
            ErrorType::PermissionDenied => 403,
            ErrorType::NotFound => 404,
            ErrorType::PayloadTooLarge => 413,
            ErrorType::RateLimitExceeded => 429,
            ErrorType::ProviderUnavailable => 502,
            ErrorType::ProviderOverloaded => 503,
            ErrorType::Timeout => 504,
            ErrorType::Server => 500,
        }
    }
}
