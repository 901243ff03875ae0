//! Anthropic Messages wire types (serialized with serde, borrowing wherever
//! possible so rendering a stream event allocates little).

use serde::Serialize;
use serde_json::Value;

/// Token usage as Anthropic reports it (`input_tokens` excludes cached tokens).
#[derive(Serialize, Clone, Copy)]
pub(super) struct Usage {
    pub(super) input_tokens: u64,
    pub(super) output_tokens: u64,
    pub(super) cache_creation_input_tokens: u64,
    pub(super) cache_read_input_tokens: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) server_tool_use: Option<ServerToolUse>,
}

/// `usage.server_tool_use`: server tools run (web searches).
#[derive(Serialize, Clone, Copy)]
pub(super) struct ServerToolUse {
    pub(super) web_search_requests: u64,
}

/// A full message (non-stream body, or the skeleton in `message_start`).
#[derive(Serialize)]
pub(super) struct Message<'a> {
    pub(super) id: &'a str,
    #[serde(rename = "type")]
    pub(super) kind: &'static str,
    pub(super) role: &'static str,
    pub(super) model: &'a str,
    pub(super) content: &'a [Block<'a>],
    pub(super) stop_reason: Option<&'a str>,
    pub(super) stop_sequence: Option<()>,
    pub(super) usage: Usage,
}

/// A response content block.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(super) enum Block<'a> {
    Thinking {
        thinking: &'a str,
        signature: &'a str,
    },
    Text {
        text: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        citations: Option<Value>,
    },
    ToolUse {
        id: String,
        name: &'a str,
        input: &'a Value,
    },
    ServerToolUse {
        id: &'a str,
        name: &'a str,
        input: Value,
    },
    WebSearchToolResult {
        tool_use_id: &'a str,
        content: Value,
    },
}

/// A `content_block_delta` payload.
#[derive(Serialize)]
#[serde(tag = "type")]
pub(super) enum Delta<'a> {
    #[serde(rename = "text_delta")]
    Text { text: &'a str },
    #[serde(rename = "thinking_delta")]
    Thinking { thinking: &'a str },
    #[serde(rename = "signature_delta")]
    Signature { signature: &'a str },
    #[serde(rename = "input_json_delta")]
    InputJson { partial_json: &'a str },
    #[serde(rename = "citations_delta")]
    Citations { citation: Value },
}

/// The `delta` of a `message_delta` event.
#[derive(Serialize)]
pub(super) struct MessageDelta<'a> {
    pub(super) stop_reason: &'a str,
    pub(super) stop_sequence: Option<()>,
}

/// The `usage` of a `message_delta` event (cumulative output tokens).
#[derive(Serialize)]
pub(super) struct OutputUsage {
    pub(super) output_tokens: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) server_tool_use: Option<ServerToolUse>,
}

/// One SSE event; `type` in the data equals the `event:` name.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(super) enum Event<'a> {
    MessageStart { message: Message<'a> },
    Ping,
    ContentBlockStart { index: usize, content_block: Block<'a> },
    ContentBlockDelta { index: usize, delta: Delta<'a> },
    ContentBlockStop { index: usize },
    MessageDelta { delta: MessageDelta<'a>, usage: OutputUsage },
    MessageStop,
}

impl Event<'_> {
    /// The SSE `event:` name.
    pub(super) fn name(&self) -> &'static str {
        match self {
            Event::MessageStart { .. } => "message_start",
            Event::Ping => "ping",
            Event::ContentBlockStart { .. } => "content_block_start",
            Event::ContentBlockDelta { .. } => "content_block_delta",
            Event::ContentBlockStop { .. } => "content_block_stop",
            Event::MessageDelta { .. } => "message_delta",
            Event::MessageStop => "message_stop",
        }
    }
}
