//! Bedrock Converse response shapes (camelCase JSON). Requests are built as
//! JSON values in [`super::encode`]; only what the decoders read is typed
//! here, and every unknown key (the stream's `"p"` padding included) is
//! ignored.

use serde::Deserialize;
use serde_json::Value;

/// A Converse answer.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConverseResponse {
    /// `{message}`.
    #[serde(default)]
    pub output: Option<Output>,
    /// `end_turn`, `tool_use`, `max_tokens`...
    #[serde(default)]
    pub stop_reason: Option<String>,
    /// Token counts.
    #[serde(default)]
    pub usage: Option<WireUsage>,
}

/// `output`.
#[derive(Debug, Default, Deserialize)]
pub struct Output {
    /// The assistant message.
    #[serde(default)]
    pub message: Option<OutputMessage>,
}

/// `output.message`.
#[derive(Debug, Default, Deserialize)]
pub struct OutputMessage {
    /// Content blocks (unions with one key each).
    #[serde(default)]
    pub content: Vec<ContentBlock>,
}

/// A response content block; unknown members are kept as `other`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContentBlock {
    /// Text.
    #[serde(default)]
    pub text: Option<String>,
    /// A tool call.
    #[serde(default)]
    pub tool_use: Option<ToolUse>,
    /// Reasoning (text plus signature, or redacted bytes).
    #[serde(default)]
    pub reasoning_content: Option<ReasoningContent>,
}

/// `toolUse`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolUse {
    /// Call id.
    #[serde(default)]
    pub tool_use_id: String,
    /// Tool name.
    #[serde(default)]
    pub name: String,
    /// Arguments as a JSON value (a JSON string fragment in stream deltas).
    #[serde(default)]
    pub input: Value,
}

/// `reasoningContent`: a whole block in answers, a fragment in deltas.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReasoningContent {
    /// `{text, signature?}` in answers.
    #[serde(default)]
    pub reasoning_text: Option<ReasoningText>,
    /// Encrypted reasoning, base64.
    #[serde(default)]
    pub redacted_content: Option<String>,
    /// Text fragment (stream deltas).
    #[serde(default)]
    pub text: Option<String>,
    /// Signature (stream deltas).
    #[serde(default)]
    pub signature: Option<String>,
}

/// `reasoningText`.
#[derive(Debug, Default, Deserialize)]
pub struct ReasoningText {
    /// The reasoning.
    #[serde(default)]
    pub text: String,
    /// Signature to send back on later turns.
    #[serde(default)]
    pub signature: Option<String>,
}

/// `usage` (`TokenUsage`).
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct WireUsage {
    /// Uncached input tokens.
    #[serde(default)]
    pub input_tokens: u64,
    /// Output tokens.
    #[serde(default)]
    pub output_tokens: u64,
    /// Input tokens read from the cache.
    #[serde(default)]
    pub cache_read_input_tokens: u64,
    /// Input tokens written to the cache.
    #[serde(default)]
    pub cache_write_input_tokens: u64,
}

/// A ConverseStream event payload; which fields are set depends on the
/// `:event-type` header.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamPayload {
    /// `contentBlockStart` / `contentBlockDelta` / `contentBlockStop`.
    #[serde(default)]
    pub content_block_index: u32,
    /// `contentBlockStart`: `{toolUse: {toolUseId, name}}`.
    #[serde(default)]
    pub start: Option<ContentBlock>,
    /// `contentBlockDelta`: `{text}` | `{toolUse: {input}}` | `{reasoningContent}`.
    #[serde(default)]
    pub delta: Option<ContentBlock>,
    /// `messageStop`.
    #[serde(default)]
    pub stop_reason: Option<String>,
    /// `metadata`.
    #[serde(default)]
    pub usage: Option<WireUsage>,
}
