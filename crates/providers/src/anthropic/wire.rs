//! Anthropic Messages wire types: the request body we send (borrowing from
//! the canonical request, so big base64 payloads are never copied) and the
//! answers and stream events we read.
//!
//! Only what the gateway maps is modelled; unknown response fields and block
//! types are ignored rather than failing the answer, since Anthropic adds
//! new ones regularly.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `POST /v1/messages` request body.
#[derive(Debug, Serialize)]
pub struct Request<'a> {
    /// Anthropic's model id.
    pub model: &'a str,
    /// Output cap including thinking; required by Anthropic.
    pub max_tokens: u32,
    /// System prompt, top-level rather than a message role.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system: Option<System<'a>>,
    /// Alternating user / assistant turns.
    pub messages: Vec<Message<'a>>,
    /// Server-sent events.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub stream: bool,
    /// 0..1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Nucleus sampling.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// Top-k sampling.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_k: Option<u32>,
    /// Stop strings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_sequences: Option<Vec<&'a str>>,
    /// Client tools.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<ToolDef<'a>>>,
    /// How the model may use the tools.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<ToolChoice<'a>>,
    /// Extended thinking.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thinking: Option<Thinking>,
    /// End-user id (hashed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
}

/// `system`: a plain string or text blocks (which may carry `cache_control`).
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum System<'a> {
    /// One plain string.
    Text(&'a str),
    /// Text blocks.
    Blocks(Vec<Block<'a>>),
}

/// Message author; Anthropic has only these two.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The user, also the carrier of tool results.
    User,
    /// The model.
    Assistant,
}

/// One turn.
#[derive(Debug, Serialize)]
pub struct Message<'a> {
    /// Author.
    pub role: Role,
    /// Content blocks, never empty.
    pub content: Vec<Block<'a>>,
}

/// A request content block.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Block<'a> {
    /// Text.
    Text {
        /// The text, never empty (Anthropic refuses empty text blocks).
        text: Cow<'a, str>,
        /// Prompt-cache breakpoint.
        #[serde(skip_serializing_if = "Option::is_none")]
        cache_control: Option<&'a Value>,
    },
    /// An image.
    Image {
        /// Inline bytes or a URL.
        source: Source<'a>,
        /// Prompt-cache breakpoint.
        #[serde(skip_serializing_if = "Option::is_none")]
        cache_control: Option<&'a Value>,
    },
    /// A PDF.
    Document {
        /// Inline bytes or a URL.
        source: Source<'a>,
        /// The file name, shown to the model.
        #[serde(skip_serializing_if = "Option::is_none")]
        title: Option<&'a str>,
        /// Prompt-cache breakpoint.
        #[serde(skip_serializing_if = "Option::is_none")]
        cache_control: Option<&'a Value>,
    },
    /// A tool call made by the assistant.
    ToolUse {
        /// Call id, echoed by the matching result.
        id: &'a str,
        /// Tool name.
        name: &'a str,
        /// Arguments as a JSON object.
        input: Value,
    },
    /// A tool's answer, inside a user turn.
    ToolResult {
        /// The call it answers.
        tool_use_id: &'a str,
        /// The result.
        content: ToolResultContent<'a>,
    },
    /// A thinking block passed back unchanged from an earlier answer.
    Thinking {
        /// Thinking text.
        thinking: Cow<'a, str>,
        /// Anthropic's signature over it.
        signature: Cow<'a, str>,
    },
    /// Encrypted thinking passed back unchanged.
    RedactedThinking {
        /// Opaque data.
        data: &'a str,
    },
}

/// `tool_result.content`: a string or text/image blocks.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum ToolResultContent<'a> {
    /// Plain text.
    Text(&'a str),
    /// Blocks.
    Blocks(Vec<Block<'a>>),
}

/// Where an image or document's bytes are.
#[derive(Debug, Serialize, PartialEq, Eq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Source<'a> {
    /// Inline base64.
    Base64 {
        /// MIME type.
        media_type: &'a str,
        /// Base64 bytes.
        data: &'a str,
    },
    /// Fetched by Anthropic.
    Url {
        /// `http(s)://...`.
        url: &'a str,
    },
}

/// A client tool definition.
#[derive(Debug, Serialize)]
pub struct ToolDef<'a> {
    /// Tool name.
    pub name: &'a str,
    /// What it does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<&'a str>,
    /// JSON Schema of the input object.
    pub input_schema: Cow<'a, Value>,
    /// Prompt-cache breakpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<&'a Value>,
}

/// `tool_choice`.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct ToolChoice<'a> {
    /// `auto`, `any`, `tool` or `none`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The forced tool, for `tool`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<&'a str>,
    /// At most one tool call per turn.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disable_parallel_tool_use: Option<bool>,
}

/// `thinking: {type: "enabled", budget_tokens}`.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Thinking {
    /// Always `enabled` (omitted entirely when off).
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Token budget, at least 1024 and below `max_tokens`.
    pub budget_tokens: u32,
}

/// `metadata`.
#[derive(Debug, Serialize)]
pub struct Metadata {
    /// Opaque end-user id.
    pub user_id: String,
}

/// A non-streaming answer, also the skeleton in `message_start`.
#[derive(Debug, Default, Deserialize)]
pub struct MessageResponse {
    /// `msg_...`.
    #[serde(default)]
    pub id: String,
    /// `message` (or `error` when a 200 carries an error body).
    #[serde(rename = "type", default)]
    pub kind: String,
    /// The model that answered.
    #[serde(default)]
    pub model: String,
    /// Output blocks.
    #[serde(default)]
    pub content: Vec<ContentBlock>,
    /// Why generation stopped.
    #[serde(default)]
    pub stop_reason: Option<String>,
    /// Token counts.
    #[serde(default)]
    pub usage: WireUsage,
}

/// An output content block.
#[derive(Clone, Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ContentBlock {
    /// Visible text.
    Text {
        /// The text.
        #[serde(default)]
        text: String,
        /// Sources of this text (web search results, documents).
        #[serde(default)]
        citations: Option<Vec<Value>>,
    },
    /// Extended thinking.
    Thinking {
        /// Thinking text.
        #[serde(default)]
        thinking: String,
        /// Signature needed to pass it back.
        #[serde(default)]
        signature: String,
    },
    /// Encrypted thinking.
    RedactedThinking {
        /// Opaque data.
        #[serde(default)]
        data: String,
    },
    /// A client tool call.
    ToolUse {
        /// Call id.
        id: String,
        /// Tool name.
        name: String,
        /// Arguments object.
        #[serde(default)]
        input: Value,
    },
    /// Server tool blocks and anything newer: not mapped.
    #[serde(other)]
    Other,
}

/// `usage`; every field optional because `message_delta` sends only some.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
pub struct WireUsage {
    /// Uncached input tokens.
    #[serde(default)]
    pub input_tokens: Option<u64>,
    /// Output tokens, thinking included.
    #[serde(default)]
    pub output_tokens: Option<u64>,
    /// Input tokens written to the cache.
    #[serde(default)]
    pub cache_creation_input_tokens: Option<u64>,
    /// Input tokens read from the cache.
    #[serde(default)]
    pub cache_read_input_tokens: Option<u64>,
    /// Server tools run (web searches).
    #[serde(default)]
    pub server_tool_use: Option<ServerToolUse>,
}

/// `usage.server_tool_use`.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
pub struct ServerToolUse {
    /// Web searches run.
    #[serde(default)]
    pub web_search_requests: u64,
}

impl WireUsage {
    /// `later`'s counts where it has them, else ours: `message_delta` may
    /// repeat the input counts of `message_start`, or omit them.
    pub fn updated_by(self, later: WireUsage) -> WireUsage {
        WireUsage {
            input_tokens: later.input_tokens.or(self.input_tokens),
            output_tokens: later.output_tokens.or(self.output_tokens),
            cache_creation_input_tokens: later.cache_creation_input_tokens.or(self.cache_creation_input_tokens),
            cache_read_input_tokens: later.cache_read_input_tokens.or(self.cache_read_input_tokens),
            server_tool_use: later.server_tool_use.or(self.server_tool_use),
        }
    }
}

/// One stream event (`data.type` equals the SSE event name).
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StreamEvent {
    /// The message skeleton with input usage.
    MessageStart {
        /// Skeleton, `content: []`.
        message: MessageResponse,
    },
    /// A content block opens.
    ContentBlockStart {
        /// Block index.
        index: u32,
        /// The (empty) block.
        content_block: ContentBlock,
    },
    /// A piece of a content block.
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
    /// Stop reason and cumulative output usage.
    MessageDelta {
        /// Stop reason.
        delta: MessageDeltaBody,
        /// Cumulative usage.
        #[serde(default)]
        usage: WireUsage,
    },
    /// End of the stream.
    MessageStop,
    /// Keep-alive.
    Ping,
    /// A failure after the 200 status.
    Error,
    /// Event types newer than this code.
    #[serde(other)]
    Unknown,
}

/// A content block delta.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum BlockDelta {
    /// Visible text.
    TextDelta {
        /// Fragment.
        text: String,
    },
    /// Tool input JSON fragment.
    InputJsonDelta {
        /// Fragment (the first is often empty).
        partial_json: String,
    },
    /// Thinking text.
    ThinkingDelta {
        /// Fragment.
        thinking: String,
    },
    /// The thinking block's signature, just before it closes.
    SignatureDelta {
        /// The signature.
        signature: String,
    },
    /// A source of the text block's text (web search).
    CitationsDelta {
        /// The citation.
        citation: Value,
    },
    /// Anything newer: not mapped.
    #[serde(other)]
    Other,
}

/// `message_delta.delta`.
#[derive(Debug, Default, Deserialize)]
pub struct MessageDeltaBody {
    /// Why generation stopped.
    #[serde(default)]
    pub stop_reason: Option<String>,
}
