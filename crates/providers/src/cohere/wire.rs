//! Cohere v2 chat wire types: the request body we send (borrowing from the
//! canonical request, so big base64 payloads are never copied) and the
//! answers and stream events we read.
//!
//! Only what the gateway maps is modelled; unknown response fields, content
//! item types and event types are ignored rather than failing the answer.
//! Token counts are read as numbers of any kind (the SDK types them as
//! floats).

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `POST /v2/chat` request body, keys as the Cohere SDK sends them.
#[derive(Debug, Serialize)]
pub struct Request<'a> {
    /// Cohere's model id.
    pub model: &'a str,
    /// The conversation, system messages included.
    pub messages: Vec<Message<'a>>,
    /// Function tools, OpenAI's shape.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<ToolDef<'a>>>,
    /// Enforce the tool schemas.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strict_tools: Option<bool>,
    /// `REQUIRED` or `NONE`; omitted for auto.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<ToolChoice>,
    /// JSON output, optionally with a schema.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_format: Option<ResponseFormat<'a>>,
    /// Output token cap.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// Stop strings (up to 5).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_sequences: Option<Vec<&'a str>>,
    /// At least 0.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Best-effort determinism.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    /// 0..1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frequency_penalty: Option<f64>,
    /// 0..1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub presence_penalty: Option<f64>,
    /// Top-k, 0..500 (0 = off).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub k: Option<u32>,
    /// Top-p, 0.01..0.99.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p: Option<f64>,
    /// Reasoning on reasoning models.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thinking: Option<Thinking>,
    /// Server-sent events; always sent, as the SDK does.
    pub stream: bool,
}

/// One message, discriminated by `role`.
#[derive(Debug, Serialize)]
#[serde(tag = "role", rename_all = "lowercase")]
pub enum Message<'a> {
    /// Instructions (canonical `system` and `developer`).
    System {
        /// Text or text blocks.
        content: Content<'a>,
    },
    /// The end user.
    User {
        /// Text or text and image blocks.
        content: Content<'a>,
    },
    /// An earlier answer.
    Assistant {
        /// The answer text; absent on a pure tool-call turn.
        #[serde(skip_serializing_if = "Option::is_none")]
        content: Option<Cow<'a, str>>,
        /// The model's plan before its tool calls.
        #[serde(skip_serializing_if = "Option::is_none")]
        tool_plan: Option<Cow<'a, str>>,
        /// Tool calls, OpenAI's shape.
        #[serde(skip_serializing_if = "Option::is_none")]
        tool_calls: Option<Vec<ToolCall<'a>>>,
    },
    /// A tool's answer.
    Tool {
        /// The call it answers.
        tool_call_id: &'a str,
        /// Text or text blocks.
        content: Content<'a>,
    },
}

/// Message content: a plain string or content blocks.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Content<'a> {
    /// Plain text.
    Text(&'a str),
    /// Blocks.
    Parts(Vec<Part<'a>>),
}

/// A request content block.
#[derive(Debug, Serialize, PartialEq, Eq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Part<'a> {
    /// Text.
    Text {
        /// The text.
        text: &'a str,
    },
    /// An image (vision models only).
    ImageUrl {
        /// URL or data URI.
        image_url: ImageUrl<'a>,
    },
}

/// `image_url` of an image block.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct ImageUrl<'a> {
    /// `https://...` or `data:image/...;base64,...`.
    pub url: &'a str,
    /// `auto`, `low` or `high`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<&'a str>,
}

/// A tool call in an assistant message.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct ToolCall<'a> {
    /// Call id, echoed by the matching tool message.
    pub id: &'a str,
    /// Always `function`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Name and JSON-string arguments.
    pub function: FunctionCall<'a>,
}

/// The function a tool call invokes.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct FunctionCall<'a> {
    /// Function name.
    pub name: &'a str,
    /// Arguments as a JSON string.
    pub arguments: &'a str,
}

/// A function tool definition.
#[derive(Debug, Serialize)]
pub struct ToolDef<'a> {
    /// Always `function`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The function.
    pub function: FunctionDef<'a>,
}

/// A function tool's schema.
#[derive(Debug, Serialize)]
pub struct FunctionDef<'a> {
    /// Function name.
    pub name: &'a str,
    /// What it does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<&'a str>,
    /// JSON Schema of the arguments object.
    pub parameters: Cow<'a, Value>,
}

/// `tool_choice`; auto is expressed by leaving it out.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "UPPERCASE")]
pub enum ToolChoice {
    /// The model must call a tool.
    Required,
    /// The model must not call tools.
    None,
}

/// `response_format` for JSON output.
#[derive(Debug, Serialize, PartialEq)]
pub struct ResponseFormat<'a> {
    /// Always `json_object` (plain text is the default and not sent).
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The JSON Schema the answer must follow.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub json_schema: Option<&'a Value>,
}

/// `thinking: {type, token_budget?}`.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Thinking {
    /// `enabled` or `disabled`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Most tokens to think with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_budget: Option<u32>,
}

/// A non-streaming answer.
#[derive(Debug, Default, Deserialize)]
pub struct ChatResponse {
    /// Generation id (a UUID).
    #[serde(default)]
    pub id: String,
    /// `COMPLETE`, `STOP_SEQUENCE`, `MAX_TOKENS`, `TOOL_CALL`, `ERROR`, `TIMEOUT`.
    #[serde(default)]
    pub finish_reason: Option<String>,
    /// The assistant message.
    #[serde(default)]
    pub message: Option<ResponseMessage>,
    /// Token counts.
    #[serde(default)]
    pub usage: Option<WireUsage>,
}

/// The assistant message of an answer.
#[derive(Debug, Default, Deserialize)]
pub struct ResponseMessage {
    /// Text and thinking items (or, defensively, a plain string).
    #[serde(default)]
    pub content: Option<ResponseContent>,
    /// The plan written before tool calls.
    #[serde(default)]
    pub tool_plan: Option<String>,
    /// Tool calls.
    #[serde(default)]
    pub tool_calls: Option<Vec<WireToolCall>>,
}

/// `message.content`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum ResponseContent {
    /// Plain text.
    Text(String),
    /// Content items.
    Items(Vec<ContentItem>),
}

/// An answer content item; also the `content` of stream content events,
/// where the `type` may be missing (then it counts as text).
#[derive(Debug, Default, Deserialize)]
pub struct ContentItem {
    /// `text` or `thinking` (others are not mapped).
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    /// Visible text.
    #[serde(default)]
    pub text: Option<String>,
    /// Reasoning text.
    #[serde(default)]
    pub thinking: Option<String>,
}

/// A tool call as Cohere sends it; every field optional because stream
/// deltas carry only the new argument fragment.
#[derive(Debug, Default, Deserialize)]
pub struct WireToolCall {
    /// Call id.
    #[serde(default)]
    pub id: Option<String>,
    /// Name and arguments.
    #[serde(default)]
    pub function: Option<WireFunction>,
}

/// `tool_calls[].function`.
#[derive(Debug, Default, Deserialize)]
pub struct WireFunction {
    /// Function name.
    #[serde(default)]
    pub name: Option<String>,
    /// Arguments as a JSON string (or a fragment of one).
    #[serde(default)]
    pub arguments: Option<String>,
}

/// `usage`: real token counts and billed ones.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq)]
pub struct WireUsage {
    /// What is charged (smaller than the real counts).
    #[serde(default)]
    pub billed_units: Option<Tokens>,
    /// The real counts, the rendered system template included.
    #[serde(default)]
    pub tokens: Option<Tokens>,
    /// Prompt tokens served from the cache.
    #[serde(default)]
    pub cached_tokens: Option<f64>,
}

/// Input and output token counts.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq)]
pub struct Tokens {
    /// Prompt tokens.
    #[serde(default)]
    pub input_tokens: Option<f64>,
    /// Generated tokens.
    #[serde(default)]
    pub output_tokens: Option<f64>,
}

/// One stream event, dispatched on the JSON `type` (or the SSE event name
/// when the JSON has none).
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum StreamEvent {
    /// The message skeleton and its id.
    MessageStart {
        /// Generation id.
        #[serde(default)]
        id: String,
    },
    /// A content item opens (possibly with initial text).
    ContentStart {
        /// The item.
        #[serde(default)]
        delta: ContentDelta,
    },
    /// A piece of a content item.
    ContentDelta {
        /// The piece.
        #[serde(default)]
        delta: ContentDelta,
    },
    /// A piece of the tool plan.
    ToolPlanDelta {
        /// The piece.
        #[serde(default)]
        delta: ToolPlanDelta,
    },
    /// A tool call opens, with id and name.
    ToolCallStart {
        /// Tool-call index.
        #[serde(default)]
        index: u32,
        /// The call.
        #[serde(default)]
        delta: ToolCallDelta,
    },
    /// A fragment of a tool call's arguments.
    ToolCallDelta {
        /// Tool-call index.
        #[serde(default)]
        index: u32,
        /// The fragment.
        #[serde(default)]
        delta: ToolCallDelta,
    },
    /// Finish reason, usage, or a mid-stream failure.
    MessageEnd {
        /// The end.
        #[serde(default)]
        delta: MessageEndDelta,
    },
    /// `content-end`, `tool-call-end`, citations, `debug` and anything newer.
    #[serde(other)]
    Other,
}

/// `delta` of content events: `{message: {content: {...}}}`.
#[derive(Debug, Default, Deserialize)]
pub struct ContentDelta {
    /// Wrapper.
    #[serde(default)]
    pub message: ContentDeltaMessage,
}

/// `delta.message` of content events.
#[derive(Debug, Default, Deserialize)]
pub struct ContentDeltaMessage {
    /// The item or fragment.
    #[serde(default)]
    pub content: ContentItem,
}

/// `delta` of `tool-plan-delta`.
#[derive(Debug, Default, Deserialize)]
pub struct ToolPlanDelta {
    /// Wrapper.
    #[serde(default)]
    pub message: ToolPlanMessage,
}

/// `delta.message` of `tool-plan-delta`.
#[derive(Debug, Default, Deserialize)]
pub struct ToolPlanMessage {
    /// The fragment.
    #[serde(default)]
    pub tool_plan: String,
}

/// `delta` of tool-call events.
#[derive(Debug, Default, Deserialize)]
pub struct ToolCallDelta {
    /// Wrapper.
    #[serde(default)]
    pub message: ToolCallMessage,
}

/// `delta.message` of tool-call events: `tool_calls` is a single object.
#[derive(Debug, Default, Deserialize)]
pub struct ToolCallMessage {
    /// The call or fragment.
    #[serde(default)]
    pub tool_calls: WireToolCall,
}

/// `delta` of `message-end`.
#[derive(Debug, Default, Deserialize)]
pub struct MessageEndDelta {
    /// Raw finish reason.
    #[serde(default)]
    pub finish_reason: Option<String>,
    /// Usage of the whole generation.
    #[serde(default)]
    pub usage: Option<WireUsage>,
    /// Set when generation failed mid-stream.
    #[serde(default)]
    pub error: Option<String>,
}
