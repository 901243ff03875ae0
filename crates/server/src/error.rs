//! The one place gateway failures become OpenRouter error responses.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use switchyard_api::Extra;
use switchyard_api::error::{ErrorBody, ErrorDetail, ErrorType};
use switchyard_providers::ProviderError;

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// The request is malformed or invalid.
    #[error("{0}")]
    BadRequest(String),
    /// The body exceeds the configured limit.
    #[error("request body exceeds {0} bytes")]
    PayloadTooLarge(usize),
    /// The client took too long sending its request.
    #[error("timed out reading the request body")]
    RequestTimeout,
    /// Missing, unknown, disabled or expired key.
    #[error("{0}")]
    Unauthorized(String),
    /// The account cannot pay for this request.
    #[error("{0}")]
    PaymentRequired(String),
    /// The key may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// Nothing with that id (or not visible to this key).
    #[error("{0}")]
    NotFound(String),
    /// Every attempt failed; this is the last provider's failure.
    #[error("{error}")]
    Provider {
        /// The failure (boxed: it carries the raw upstream body).
        error: Box<ProviderError>,
        /// Display name of the provider that failed.
        provider_name: String,
        /// Attempts made before giving up.
        attempts: usize,
    },
    /// No endpoint can serve the request: unknown model, or every endpoint
    /// filtered out by preferences, with which filter removed which.
    #[error("{0}")]
    Route(#[from] switchyard_router::RouteError),
    /// One of Switchyard's own request caps is full.
    #[error("{message}")]
    RateLimited {
        /// What was exceeded.
        message: String,
        /// Requests allowed in the window.
        limit: u32,
        /// When the window ends, Unix ms.
        reset_ms: i64,
        /// Until then.
        retry_after: std::time::Duration,
    },
    /// A guardrail refused the request (reference §8.5, §6.2): 403 for what
    /// it asks (a model, its content), 402 for a spent budget, 404 when its
    /// provider allow-list leaves no provider. The metadata names the
    /// guardrail and what matched.
    #[error("{message}")]
    Guardrail {
        /// 402, 403 or 404.
        status: u16,
        /// `Request blocked: <reason>`, or why.
        message: String,
        /// `guardrail: {id, name}`, `patterns`, ...
        metadata: Extra,
    },
    /// A shared service the request needs (Redis, for spend reservations)
    /// is unreachable: 503, rather than serve without the check.
    #[error("{0}")]
    Unavailable(String),
    /// A fault of the gateway itself; details are logged, not returned.
    #[error("internal error: {0}")]
    Internal(String),
}

impl GatewayError {
    /// The OpenRouter `error_type`.
    pub fn error_type(&self) -> ErrorType {
        match self {
            GatewayError::BadRequest(_) => ErrorType::InvalidRequest,
            GatewayError::PayloadTooLarge(_) => ErrorType::PayloadTooLarge,
            GatewayError::RequestTimeout => ErrorType::Timeout,
            GatewayError::Unauthorized(_) => ErrorType::Authentication,
            GatewayError::PaymentRequired(_) => ErrorType::PaymentRequired,
            GatewayError::Forbidden(_) => ErrorType::PermissionDenied,
            GatewayError::NotFound(_) => ErrorType::NotFound,
            GatewayError::Provider { error, .. } => error.error_type(),
            GatewayError::Route(e) if e.is_context_length() => ErrorType::ContextLengthExceeded,
            GatewayError::Route(e) if e.http_status() == 404 => ErrorType::NotFound,
            GatewayError::Route(_) => ErrorType::InvalidRequest,
            GatewayError::RateLimited { .. } => ErrorType::RateLimitExceeded,
            GatewayError::Guardrail { status: 402, .. } => ErrorType::PaymentRequired,
            GatewayError::Guardrail { status: 404, .. } => ErrorType::NotFound,
            GatewayError::Guardrail { .. } => ErrorType::PermissionDenied,
            GatewayError::Internal(_) | GatewayError::Unavailable(_) => ErrorType::Server,
        }
    }

    /// The HTTP status (equal to `error.code`).
    pub fn status(&self) -> u16 {
        match self {
            GatewayError::RequestTimeout => 408,
            GatewayError::Provider { error, .. } if matches!(&**error, ProviderError::Upstream(f) if f.status == 408) => {
                408
            }
            GatewayError::Unavailable(_) => 503,
            _ => self.error_type().status(),
        }
    }

    /// The error object, as sent in a body or a mid-stream chunk.
    pub fn detail(&self) -> ErrorDetail {
        let mut meta = Extra::new();
        meta.insert("error_type".into(), Value::from(self.error_type().as_str()));
        let message = match self {
            GatewayError::Internal(_) => "Internal server error".to_owned(),
            GatewayError::Provider { error, provider_name, attempts } => {
                meta.insert("provider_name".into(), Value::from(provider_name.clone()));
                meta.insert("attempts".into(), Value::from(*attempts));
                if let ProviderError::Upstream(f) = &**error {
                    if let Some(raw) = &f.raw {
                        meta.insert("raw".into(), raw.clone());
                    }
                    if let Some(code) = &f.provider_code {
                        meta.insert("provider_code".into(), Value::from(code.clone()));
                    }
                    if let Some(ra) = f.retry_after {
                        meta.insert("retry_after".into(), json!(ra.as_secs_f64()));
                    }
                    format!("{provider_name}: {}", f.message)
                } else {
                    format!("{provider_name}: {error}")
                }
            }
            other => other.to_string(),
        };
        if let GatewayError::Guardrail { metadata, .. } = self {
            meta.extend(metadata.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        let availability = match self {
            GatewayError::Route(e) => Some(availability(e)),
            _ => None,
        };
        ErrorDetail { code: self.status(), message, metadata: Some(meta), availability }
    }
}

/// `error.availability` (reference §6.2) for a routing failure: the code,
/// the models asked for, and every endpoint a filter removed, with why.
fn availability(e: &switchyard_router::RouteError) -> Value {
    use switchyard_router::RouteError;
    let (models, excluded): (Vec<String>, &[switchyard_router::Exclusion]) = match e {
        RouteError::NoEndpoints { models, excluded } => (models.clone(), excluded),
        RouteError::UnknownModel(m) => (vec![m.clone()], &[]),
        _ => (Vec::new(), &[]),
    };
    let mut by: Vec<&str> = excluded.iter().map(|x| x.by.as_str()).collect();
    by.sort_unstable();
    by.dedup();
    json!({
        "code": e.availability_code(),
        "retryable": false,
        "requested_models": models,
        "excluded_by": by,
        "excluded": excluded,
    })
}

impl IntoResponse for GatewayError {
    fn into_response(self) -> Response {
        if let GatewayError::Internal(msg) = &self {
            tracing::error!(error = %msg, "internal error");
        }
        let status = StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut resp = (status, axum::Json(ErrorBody { error: self.detail() })).into_response();
        if let GatewayError::Provider { error, .. } = &self
            && let Some(ra) = error.retry_after()
            && let Ok(v) = HeaderValue::from_str(&ra.as_secs().max(1).to_string())
        {
            resp.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
        }
        if let GatewayError::RateLimited { limit, reset_ms, retry_after, .. } = &self {
            let h = resp.headers_mut();
            h.insert("x-ratelimit-limit", HeaderValue::from(*limit));
            h.insert("x-ratelimit-remaining", HeaderValue::from(0));
            h.insert("x-ratelimit-reset", HeaderValue::from(*reset_ms));
            h.insert(
                axum::http::header::RETRY_AFTER,
                HeaderValue::from(retry_after.as_secs_f64().ceil().max(1.0) as u64),
            );
        }
        resp
    }
}

impl From<switchyard_store::StoreError> for GatewayError {
    fn from(e: switchyard_store::StoreError) -> Self {
        GatewayError::Internal(e.to_string())
    }
}
