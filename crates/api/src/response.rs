//! Chat responses: the non-streaming body and the streaming chunk.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::ErrorDetail;
use crate::{Extra, Usage};

/// Non-streaming chat completion in OpenRouter's shape.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct ChatResponse {
    /// `gen-...`, the generation id.
    #[serde(default)]
    pub id: String,
    /// `chat.completion`.
    #[serde(default = "completion_object")]
    pub object: String,
    /// Unix seconds.
    #[serde(default)]
    pub created: u64,
    /// The catalog slug that served the request.
    #[serde(default)]
    pub model: String,
    /// Display name of the serving provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Upstream fingerprint, may be null.
    #[serde(default)]
    pub system_fingerprint: Option<Value>,
    /// The answers.
    #[serde(default)]
    pub choices: Vec<Choice>,
    /// Tokens and cost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// Other upstream fields (`service_tier`...).
    #[serde(flatten)]
    pub extra: Extra,
}

fn completion_object() -> String {
    "chat.completion".to_owned()
}

/// One choice of a non-streaming response.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct Choice {
    /// Choice index.
    #[serde(default)]
    pub index: u32,
    /// The assistant message.
    #[serde(default)]
    pub message: ResponseMessage,
    /// Normalised finish reason.
    #[serde(default)]
    pub finish_reason: Option<String>,
    /// The provider's own finish reason.
    #[serde(default)]
    pub native_finish_reason: Option<String>,
    /// Token log probabilities.
    #[serde(default)]
    pub logprobs: Option<Value>,
    /// Set when a provider error cut the generation short.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorDetail>,
    /// Other fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The assistant message of a choice.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct ResponseMessage {
    /// Always `assistant`.
    #[serde(default = "assistant_role")]
    pub role: String,
    /// Text, or null for pure tool calls.
    #[serde(default)]
    pub content: Option<String>,
    /// Refusal text, if the model refused.
    #[serde(default)]
    pub refusal: Option<String>,
    /// Reasoning text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<String>,
    /// Structured reasoning blocks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_details: Option<Value>,
    /// Tool calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Value>,
    /// Other fields (`annotations`, `audio`, `images`...).
    #[serde(flatten)]
    pub extra: Extra,
}

impl Default for ResponseMessage {
    fn default() -> Self {
        ResponseMessage {
            role: assistant_role(),
            content: None,
            refusal: None,
            reasoning: None,
            reasoning_details: None,
            tool_calls: None,
            extra: Extra::new(),
        }
    }
}

fn assistant_role() -> String {
    "assistant".to_owned()
}

/// One server-sent chunk of a streaming chat completion.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct ChatChunk {
    /// `gen-...`, the same on every chunk.
    #[serde(default)]
    pub id: String,
    /// `chat.completion.chunk`.
    #[serde(default = "chunk_object")]
    pub object: String,
    /// Unix seconds.
    #[serde(default)]
    pub created: u64,
    /// The catalog slug that serves the request.
    #[serde(default)]
    pub model: String,
    /// Display name of the serving provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Upstream fingerprint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_fingerprint: Option<Value>,
    /// Deltas; empty on the usage chunk.
    #[serde(default)]
    pub choices: Vec<ChunkChoice>,
    /// Present once, on the last chunk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// A failure after streaming began.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorDetail>,
    /// Other fields.
    #[serde(flatten)]
    pub extra: Extra,
}

fn chunk_object() -> String {
    "chat.completion.chunk".to_owned()
}

/// One choice of a stream chunk.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct ChunkChoice {
    /// Choice index.
    #[serde(default)]
    pub index: u32,
    /// What this chunk adds.
    #[serde(default)]
    pub delta: Delta,
    /// Set on the last chunk of the choice.
    #[serde(default)]
    pub finish_reason: Option<String>,
    /// The provider's own finish reason.
    #[serde(default)]
    pub native_finish_reason: Option<String>,
    /// Token log probabilities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logprobs: Option<Value>,
    /// Other fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The incremental part of a stream chunk.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct Delta {
    /// `assistant`, on the first chunk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Text fragment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// Reasoning fragment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<String>,
    /// Structured reasoning fragments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_details: Option<Value>,
    /// Tool-call fragments, keyed by `index`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Value>,
    /// Refusal fragment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal: Option<String>,
    /// Other fields.
    #[serde(flatten)]
    pub extra: Extra,
}
