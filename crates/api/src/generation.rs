//! `GET /api/v1/generation`: the stored record of one request, in
//! OpenRouter's shape (every field its SDKs require is present).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `{"data": {...}}`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GenerationResponse {
    /// The generation.
    pub data: Generation,
}

/// One generation.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Generation {
    /// `gen-...`.
    pub id: String,
    /// Client request id (none).
    pub request_id: Option<String>,
    /// Session id, if the request had one.
    pub session_id: Option<String>,
    /// The provider's response id.
    pub upstream_id: Option<String>,
    /// RFC 3339 UTC.
    pub created_at: String,
    /// Catalog slug that served.
    pub model: String,
    /// App id (none).
    pub app_id: Option<i64>,
    /// Serving provider's display name.
    pub provider_name: Option<String>,
    /// The provider's model id (Switchyard addition).
    pub upstream_model: Option<String>,
    /// `completions`.
    pub api_type: Option<String>,
    /// Streamed over SSE.
    pub streamed: Option<bool>,
    /// The client went away before the end.
    pub cancelled: Option<bool>,
    /// Normalised finish reason.
    pub finish_reason: Option<String>,
    /// The provider's finish reason.
    pub native_finish_reason: Option<String>,
    /// Prompt tokens.
    pub tokens_prompt: Option<i64>,
    /// Completion tokens.
    pub tokens_completion: Option<i64>,
    /// Prompt tokens by the provider's tokenizer.
    pub native_tokens_prompt: Option<i64>,
    /// Completion tokens by the provider's tokenizer.
    pub native_tokens_completion: Option<i64>,
    /// Image tokens in the completion.
    pub native_tokens_completion_images: Option<i64>,
    /// Reasoning tokens.
    pub native_tokens_reasoning: Option<i64>,
    /// Cached prompt tokens.
    pub native_tokens_cached: Option<i64>,
    /// Prompt tokens written to the cache (Switchyard addition).
    pub native_tokens_cache_write: Option<i64>,
    /// Media items in the prompt.
    pub num_media_prompt: Option<i64>,
    /// Audio inputs in the prompt.
    pub num_input_audio_prompt: Option<i64>,
    /// Media items in the completion.
    pub num_media_completion: Option<i64>,
    /// Web search results used.
    pub num_search_results: Option<i64>,
    /// Web fetches made.
    pub num_fetches: Option<i64>,
    /// Web search engine used.
    pub web_search_engine: Option<String>,
    /// True when the provider reported no usage and Switchyard counted (Switchyard addition).
    pub usage_estimated: bool,
    /// Charged, USD.
    pub total_cost: f64,
    /// Charged, USD (same as `total_cost`).
    pub usage: f64,
    /// What the provider charged (BYOK).
    pub upstream_inference_cost: Option<f64>,
    /// Discount from prompt caching.
    pub cache_discount: Option<f64>,
    /// Used the caller's own provider key.
    pub is_byok: bool,
    /// Request start to end, ms.
    pub latency: Option<i64>,
    /// Moderation time, ms.
    pub moderation_latency: Option<i64>,
    /// Request start to first content, ms (Switchyard addition).
    pub time_to_first_token: Option<i64>,
    /// First content to end, ms.
    pub generation_time: Option<i64>,
    /// Origin of the request.
    pub origin: String,
    /// `HTTP-Referer` of the request.
    pub http_referer: Option<String>,
    /// User agent of the request.
    pub user_agent: Option<String>,
    /// The request's `user`.
    pub external_user: Option<String>,
    /// Preset used.
    pub preset_id: Option<String>,
    /// Router used.
    pub router: Option<String>,
    /// Service tier served.
    pub service_tier: Option<String>,
    /// `global`.
    pub data_region: String,
    /// Workspace.
    pub workspace_id: Option<String>,
    /// For an answer served from the response cache: the generation whose
    /// answer was replayed.
    #[serde(default)]
    pub response_cache_source_id: Option<String>,
    /// HTTP status returned (Switchyard addition).
    pub status: u16,
    /// Error, if the request failed (Switchyard addition).
    pub error: Option<String>,
    /// Every attempt, fallbacks included.
    pub provider_responses: Value,
    /// Switchyard's routing decision: the endpoints in the order planned,
    /// those filtered out and why, and soft preferences applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing: Option<Value>,
}
