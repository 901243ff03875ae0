//! Token usage and cost, as reported to clients.

use serde::{Deserialize, Serialize};

use crate::Extra;

/// `usage` in responses and the final stream chunk.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct Usage {
    /// Prompt tokens, cached ones included.
    #[serde(default)]
    pub prompt_tokens: u64,
    /// Completion tokens, reasoning ones included.
    #[serde(default)]
    pub completion_tokens: u64,
    /// Prompt plus completion.
    #[serde(default)]
    pub total_tokens: u64,
    /// Cached and cache-write prompt tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_tokens_details: Option<PromptTokensDetails>,
    /// Reasoning tokens among the completion tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_tokens_details: Option<CompletionTokensDetails>,
    /// Amount charged, in USD.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<f64>,
    /// True when the request used the caller's own provider key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_byok: Option<bool>,
    /// Cost split (prompt/completion) in USD.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_details: Option<CostDetails>,
    /// Other upstream usage fields.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Usage {
    /// Prompt tokens served from the provider's cache.
    pub fn cached_tokens(&self) -> u64 {
        self.prompt_tokens_details.as_ref().and_then(|d| d.cached_tokens).unwrap_or(0)
    }

    /// Prompt tokens written to the provider's cache.
    pub fn cache_write_tokens(&self) -> u64 {
        self.prompt_tokens_details.as_ref().and_then(|d| d.cache_write_tokens).unwrap_or(0)
    }

    /// Reasoning tokens among the completion tokens.
    pub fn reasoning_tokens(&self) -> u64 {
        self.completion_tokens_details.as_ref().and_then(|d| d.reasoning_tokens).unwrap_or(0)
    }
}

/// `usage.prompt_tokens_details`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct PromptTokensDetails {
    /// Tokens read from the prompt cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_tokens: Option<u64>,
    /// Tokens written to the prompt cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_write_tokens: Option<u64>,
    /// Other details (`audio_tokens`...).
    #[serde(flatten)]
    pub extra: Extra,
}

/// `usage.completion_tokens_details`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct CompletionTokensDetails {
    /// Reasoning tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_tokens: Option<u64>,
    /// Other details.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `usage.cost_details`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct CostDetails {
    /// What the upstream charged (BYOK), else null.
    pub upstream_inference_cost: Option<f64>,
    /// Prompt share of the cost, USD.
    pub upstream_inference_prompt_cost: f64,
    /// Completion share of the cost, USD.
    pub upstream_inference_completions_cost: f64,
    /// Web search share of the cost (the web plugin), USD.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web_search_cost: Option<f64>,
}
