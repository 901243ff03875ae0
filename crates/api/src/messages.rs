//! Anthropic Messages API wire types (`POST /api/v1/messages`), as
//! Anthropic's SDKs send and read them, plus OpenRouter's extensions
//! (routing fields in the request, `provider` and cost in the answer).
//!
//! Pure data: the translation to and from the canonical chat request lives
//! in the server. Request fields Anthropic defines but the gateway does not
//! map (`container`, `mcp_servers`, `service_tier`...) land in `extra` and
//! are not forwarded, since most upstreams would refuse them.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Extra;
use crate::provider::ProviderPreferences;
use crate::usage::CostDetails;

/// `POST /api/v1/messages` request body.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct MessagesRequest {
    /// Catalog slug (any model, not only Claude).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The conversation: `user` and `assistant` turns.
    pub messages: Vec<InputMessage>,
    /// Output cap including thinking; required, as in Anthropic's API.
    pub max_tokens: u32,
    /// System prompt: a string or text blocks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<SystemPrompt>,
    /// Sampling temperature, 0..1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Nucleus sampling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// Top-k sampling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_k: Option<u32>,
    /// Custom stop strings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_sequences: Option<Vec<String>>,
    /// Server-sent events instead of one JSON body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
    /// Client tool definitions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<ToolParam>>,
    /// How the model may use the tools.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<ToolChoiceParam>,
    /// Extended thinking.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thinking: Option<ThinkingParam>,
    /// `{user_id}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<RequestMetadata>,
    /// Top-level prompt-cache breakpoint: placed on the last content block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<Value>,
    /// Effort and structured output format.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_config: Option<OutputConfig>,
    /// OpenRouter: fallback models, tried after `model` in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub models: Option<Vec<String>>,
    /// OpenRouter: the Messages spelling of `models`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallbacks: Option<Vec<String>>,
    /// OpenRouter: provider routing preferences.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<ProviderPreferences>,
    /// OpenRouter: plugins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugins: Option<Value>,
    /// OpenRouter: deprecated alias of `provider.sort.partition`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<Value>,
    /// OpenRouter: sticky-routing and grouping key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// OpenRouter: end-user id (wins over `metadata.user_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// OpenRouter: observability trace fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<Value>,
    /// Anthropic fields the gateway does not map; not forwarded.
    #[serde(flatten)]
    pub extra: Extra,
}

impl MessagesRequest {
    /// True when the client asked for server-sent events.
    pub fn is_stream(&self) -> bool {
        self.stream.unwrap_or(false)
    }
}

/// Who wrote a turn.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum InputRole {
    /// The end user, also the carrier of tool results.
    User,
    /// The model.
    Assistant,
    /// Mid-conversation system text (newest SDKs).
    System,
}

/// One turn of the conversation.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct InputMessage {
    /// Author.
    pub role: InputRole,
    /// A string or content blocks.
    pub content: MessageContent,
}

/// Turn content: plain text or blocks.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(untagged)]
pub enum MessageContent {
    /// Plain text.
    Text(String),
    /// Typed blocks.
    Blocks(Vec<InputBlock>),
}

/// `system`: a string or text blocks (which may carry `cache_control`).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(untagged)]
pub enum SystemPrompt {
    /// Plain text.
    Text(String),
    /// Text blocks.
    Blocks(Vec<InputBlock>),
}

/// A request content block.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum InputBlock {
    /// Text.
    Text {
        /// The text.
        text: String,
        /// Prompt-cache breakpoint.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cache_control: Option<Value>,
    },
    /// An image.
    Image {
        /// Inline base64 or a URL.
        source: MediaSource,
        /// Prompt-cache breakpoint.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cache_control: Option<Value>,
    },
    /// A document: a PDF (base64 or URL) or plain text.
    Document {
        /// Where its content is.
        source: MediaSource,
        /// Shown to the model as the file name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        title: Option<String>,
        /// Prompt-cache breakpoint.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cache_control: Option<Value>,
    },
    /// A tool call made by the assistant in an earlier turn.
    ToolUse {
        /// Call id, echoed by the matching result.
        id: String,
        /// Tool name.
        name: String,
        /// Arguments object.
        #[serde(default)]
        input: Value,
        /// Prompt-cache breakpoint.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cache_control: Option<Value>,
    },
    /// A tool's answer, in a user turn.
    ToolResult {
        /// The call it answers.
        tool_use_id: String,
        /// A string or text/image blocks; absent means empty.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        content: Option<ToolResultContent>,
        /// The tool failed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        is_error: Option<bool>,
        /// Prompt-cache breakpoint.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cache_control: Option<Value>,
    },
    /// Thinking from an earlier answer, passed back unchanged.
    Thinking {
        /// Thinking text.
        thinking: String,
        /// The provider's signature over it.
        #[serde(default)]
        signature: String,
    },
    /// Encrypted thinking from an earlier answer.
    RedactedThinking {
        /// Opaque data.
        data: String,
    },
}

/// `tool_result.content`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(untagged)]
pub enum ToolResultContent {
    /// Plain text.
    Text(String),
    /// Text and image blocks.
    Blocks(Vec<InputBlock>),
}

/// Where an image's or a document's content is.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum MediaSource {
    /// Inline base64 bytes.
    Base64 {
        /// MIME type (`image/png`, `application/pdf`...).
        media_type: String,
        /// Base64 bytes.
        data: String,
    },
    /// Fetched from a URL.
    Url {
        /// `http(s)://...`.
        url: String,
    },
    /// Plain text (documents only).
    Text {
        /// `text/plain`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        media_type: Option<String>,
        /// The text.
        data: String,
    },
}

/// A tool definition. Client tools have no `type` (or `custom`); server
/// tools (`web_search_20250305`...) name theirs.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct ToolParam {
    /// Tool name.
    pub name: String,
    /// `custom` or a server tool's type.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// What it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// JSON Schema of the input object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_schema: Option<Value>,
    /// Strict schema adherence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
    /// Prompt-cache breakpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<Value>,
}

/// `tool_choice`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub struct ToolChoiceParam {
    /// `auto`, `any`, `tool` or `none`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The forced tool, for `tool`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// At most one tool call per turn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_parallel_tool_use: Option<bool>,
}

/// `thinking`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub struct ThinkingParam {
    /// `enabled`, `adaptive` or `disabled`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Token budget, for `enabled`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_tokens: Option<u32>,
    /// `summarized` (default) or `omitted`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
}

/// `metadata`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
pub struct RequestMetadata {
    /// Opaque end-user id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
}

/// `output_config`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct OutputConfig {
    /// `low|medium|high|xhigh|max`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effort: Option<String>,
    /// `{type: "json_schema", schema}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<Value>,
}

/// The answer: Anthropic's message object plus OpenRouter's `provider`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct MessagesResponse {
    /// `gen-...`, the generation id.
    pub id: String,
    /// Always `message`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Always `assistant`.
    pub role: String,
    /// The catalog slug that served the request.
    pub model: String,
    /// Output blocks; empty in `message_start`.
    pub content: Vec<OutputBlock>,
    /// `end_turn`, `max_tokens`, `stop_sequence`, `tool_use`, `refusal`...;
    /// null in `message_start`.
    pub stop_reason: Option<String>,
    /// The stop sequence that ended the answer.
    pub stop_sequence: Option<String>,
    /// Tokens and cost.
    pub usage: MessagesUsage,
    /// Display name of the serving provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
}

/// An output content block (also the empty block of `content_block_start`).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum OutputBlock {
    /// Visible text.
    Text {
        /// The text.
        text: String,
    },
    /// Reasoning.
    Thinking {
        /// The reasoning text.
        thinking: String,
        /// Signature needed to pass it back (empty when the upstream gave none).
        signature: String,
    },
    /// Encrypted reasoning.
    RedactedThinking {
        /// Opaque data.
        data: String,
    },
    /// A tool call.
    ToolUse {
        /// Call id.
        id: String,
        /// Tool name.
        name: String,
        /// Arguments object.
        input: Value,
    },
}

/// `usage`: Anthropic's counts plus OpenRouter's cost.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct MessagesUsage {
    /// Uncached input tokens.
    pub input_tokens: u64,
    /// Output tokens, thinking included.
    pub output_tokens: u64,
    /// Input tokens written to the prompt cache.
    pub cache_creation_input_tokens: u64,
    /// Input tokens read from the prompt cache.
    pub cache_read_input_tokens: u64,
    /// Amount charged, in USD.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<f64>,
    /// True when the request used the caller's own provider key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_byok: Option<bool>,
    /// Cost split (prompt/completion) in USD.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_details: Option<CostDetails>,
    /// Always `standard`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_tier: Option<String>,
}

/// One streamed event; its `type` is also the SSE event name.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StreamEvent {
    /// The message skeleton, `content: []`.
    MessageStart {
        /// Skeleton.
        message: Box<MessagesResponse>,
    },
    /// A content block opens.
    ContentBlockStart {
        /// Block index.
        index: u32,
        /// The empty block.
        content_block: OutputBlock,
    },
    /// A piece of the open block.
    ContentBlockDelta {
        /// Block index.
        index: u32,
        /// The piece.
        delta: BlockDelta,
    },
    /// A content block closes.
    ContentBlockStop {
        /// Block index.
        index: u32,
    },
    /// Stop reason and the final usage.
    MessageDelta {
        /// Stop reason.
        delta: MessageDeltaBody,
        /// Cumulative usage.
        usage: MessagesUsage,
    },
    /// The end of the stream.
    MessageStop,
    /// Keep-alive.
    Ping,
    /// A failure after the stream began.
    Error {
        /// What failed.
        error: ErrorObject,
    },
}

impl StreamEvent {
    /// The SSE event name (equal to `type`).
    pub fn name(&self) -> &'static str {
        match self {
            StreamEvent::MessageStart { .. } => "message_start",
            StreamEvent::ContentBlockStart { .. } => "content_block_start",
            StreamEvent::ContentBlockDelta { .. } => "content_block_delta",
            StreamEvent::ContentBlockStop { .. } => "content_block_stop",
            StreamEvent::MessageDelta { .. } => "message_delta",
            StreamEvent::MessageStop => "message_stop",
            StreamEvent::Ping => "ping",
            StreamEvent::Error { .. } => "error",
        }
    }
}

/// A content block delta.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum BlockDelta {
    /// Visible text.
    TextDelta {
        /// Fragment.
        text: String,
    },
    /// Reasoning text.
    ThinkingDelta {
        /// Fragment.
        thinking: String,
    },
    /// The thinking block's signature.
    SignatureDelta {
        /// The signature.
        signature: String,
    },
    /// Tool input JSON, concatenated per block.
    InputJsonDelta {
        /// Fragment.
        partial_json: String,
    },
}

/// `message_delta.delta`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct MessageDeltaBody {
    /// Why generation stopped.
    pub stop_reason: Option<String>,
    /// The stop sequence that ended it.
    pub stop_sequence: Option<String>,
}

/// The error envelope: `{"type":"error","error":{...},"request_id":...}`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct ErrorEnvelope {
    /// Always `error`.
    #[serde(rename = "type")]
    pub kind: String,
    /// What failed.
    pub error: ErrorObject,
    /// The generation id, null for failures before routing.
    pub request_id: Option<String>,
}

/// The inner error object.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct ErrorObject {
    /// `invalid_request_error`, `authentication_error`, `rate_limit_error`...
    #[serde(rename = "type")]
    pub kind: String,
    /// Human-readable explanation.
    pub message: String,
    /// OpenRouter's `error_type` (`rate_limit_exceeded`, `not_found`...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sdk_request_parses_every_block_kind() {
        let body = json!({
            "model": "anthropic/claude", "max_tokens": 1024,
            "system": [{"type": "text", "text": "Be terse.", "cache_control": {"type": "ephemeral"}}],
            "messages": [
                {"role": "user", "content": [
                    {"type": "text", "text": "What is this?"},
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}},
                    {"type": "document", "source": {"type": "url", "url": "https://x/a.pdf"}, "title": "A"}]},
                {"role": "assistant", "content": [
                    {"type": "thinking", "thinking": "hm", "signature": "sig"},
                    {"type": "redacted_thinking", "data": "xx"},
                    {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {"a": 1}}]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": "ok", "is_error": false}]}],
            "tools": [{"name": "f", "input_schema": {"type": "object"}}],
            "tool_choice": {"type": "auto", "disable_parallel_tool_use": true},
            "thinking": {"type": "enabled", "budget_tokens": 2048},
            "metadata": {"user_id": "u1"},
            "container": "c1"
        });
        let req: MessagesRequest = serde_json::from_value(body).unwrap();
        assert_eq!(req.max_tokens, 1024);
        assert_eq!(req.extra["container"], "c1");
        let MessageContent::Blocks(b) = &req.messages[1].content else { panic!() };
        assert_eq!(
            b[2],
            InputBlock::ToolUse { id: "toolu_1".into(), name: "f".into(), input: json!({"a": 1}), cache_control: None }
        );
        assert!(
            matches!(&req.messages[0].content, MessageContent::Blocks(b) if matches!(&b[2], InputBlock::Document { title: Some(t), .. } if t == "A"))
        );
        assert_eq!(req.thinking.unwrap().budget_tokens, Some(2048));
    }

    #[test]
    fn events_serialise_with_their_type() {
        let e =
            StreamEvent::ContentBlockDelta { index: 1, delta: BlockDelta::InputJsonDelta { partial_json: "{".into() } };
        assert_eq!(e.name(), "content_block_delta");
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "{"}})
        );
        assert_eq!(serde_json::to_value(StreamEvent::MessageStop).unwrap(), json!({"type": "message_stop"}));
    }
}
