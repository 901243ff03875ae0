//! Cohere v2 Chat wire types (serialized with serde, borrowing wherever
//! possible so rendering a stream event allocates little).

use serde::Serialize;

/// `billed_units` / `tokens` counts.
#[derive(Serialize, Clone, Copy)]
pub(super) struct Units {
    pub(super) input_tokens: u64,
    pub(super) output_tokens: u64,
}

/// Token usage (the simulator bills exactly what it counts).
#[derive(Serialize, Clone, Copy)]
pub(super) struct Usage {
    pub(super) billed_units: Units,
    pub(super) tokens: Units,
    pub(super) cached_tokens: u64,
}

/// The non-stream chat response.
#[derive(Serialize)]
pub(super) struct ChatResponse<'a> {
    pub(super) id: &'a str,
    pub(super) finish_reason: &'a str,
    pub(super) message: Message<'a>,
    pub(super) usage: Usage,
}

/// The assistant message of a non-stream response.
#[derive(Serialize)]
pub(super) struct Message<'a> {
    pub(super) role: &'static str,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub(super) content: &'a [Block<'a>],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) tool_plan: Option<&'a str>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub(super) tool_calls: &'a [ToolCall<'a>],
}

/// A content item (also the empty skeleton in `content-start`).
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(super) enum Block<'a> {
    Thinking { thinking: &'a str },
    Text { text: &'a str },
}

/// The untagged `content-delta` payload: `{"text": ..}` or `{"thinking": ..}`.
#[derive(Serialize)]
#[serde(untagged)]
pub(super) enum DeltaContent<'a> {
    Thinking { thinking: &'a str },
    Text { text: &'a str },
}

/// An OpenAI-style tool call (arguments are a JSON string).
#[derive(Serialize)]
pub(super) struct ToolCall<'a> {
    pub(super) id: String,
    #[serde(rename = "type")]
    pub(super) kind: &'static str,
    pub(super) function: Function<'a>,
}

/// A tool call's function.
#[derive(Serialize)]
pub(super) struct Function<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) name: Option<&'a str>,
    pub(super) arguments: &'a str,
}

/// The `message-start` skeleton: empty content, plan, calls and citations.
#[derive(Serialize)]
pub(super) struct StartMessage {
    pub(super) role: &'static str,
    pub(super) content: [(); 0],
    pub(super) tool_plan: &'static str,
    pub(super) tool_calls: [(); 0],
    pub(super) citations: [(); 0],
}

/// `{"message": ..}`: the wrapper of every event's `delta`.
#[derive(Serialize)]
pub(super) struct Wrap<T> {
    pub(super) message: T,
}

/// `delta.message` of content events.
#[derive(Serialize)]
pub(super) struct ContentOf<T> {
    pub(super) content: T,
}

/// `delta.message` of tool-call events (a single object, not an array).
#[derive(Serialize)]
pub(super) struct ToolCallsOf<T> {
    pub(super) tool_calls: T,
}

/// `delta.message` of `tool-plan-delta`.
#[derive(Serialize)]
pub(super) struct ToolPlanOf<'a> {
    pub(super) tool_plan: &'a str,
}

/// `tool_calls` of a `tool-call-delta`: only argument text.
#[derive(Serialize)]
pub(super) struct ArgsDelta<'a> {
    pub(super) function: Function<'a>,
}

/// The `delta` of `message-end`.
#[derive(Serialize)]
pub(super) struct EndDelta<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) error: Option<&'a str>,
    pub(super) finish_reason: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) usage: Option<Usage>,
}

/// One stream event; `type` in the data equals the SSE `event:` name.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub(super) enum Event<'a> {
    MessageStart { id: &'a str, delta: Wrap<StartMessage> },
    ContentStart { index: usize, delta: Wrap<ContentOf<Block<'a>>> },
    ContentDelta { index: usize, delta: Wrap<ContentOf<DeltaContent<'a>>> },
    ContentEnd { index: usize },
    ToolPlanDelta { delta: Wrap<ToolPlanOf<'a>> },
    ToolCallStart { index: usize, delta: Wrap<ToolCallsOf<ToolCall<'a>>> },
    ToolCallDelta { index: usize, delta: Wrap<ToolCallsOf<ArgsDelta<'a>>> },
    ToolCallEnd { index: usize },
    MessageEnd { delta: EndDelta<'a> },
}

impl Event<'_> {
    /// The SSE `event:` name.
    pub(super) fn name(&self) -> &'static str {
        match self {
            Event::MessageStart { .. } => "message-start",
            Event::ContentStart { .. } => "content-start",
            Event::ContentDelta { .. } => "content-delta",
            Event::ContentEnd { .. } => "content-end",
            Event::ToolPlanDelta { .. } => "tool-plan-delta",
            Event::ToolCallStart { .. } => "tool-call-start",
            Event::ToolCallDelta { .. } => "tool-call-delta",
            Event::ToolCallEnd { .. } => "tool-call-end",
            Event::MessageEnd { .. } => "message-end",
        }
    }
}
