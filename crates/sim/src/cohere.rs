//! Cohere v2 Chat wire format (`POST /v2/chat`): request inspection,
//! non-stream chat bodies, SSE streams (`event: <type>\ndata: <json>\n\n`,
//! `message-start` ... `message-end`, then `data: [DONE]`) and Cohere-style
//! `{"id", "message"}` error bodies, all driven by the same
//! [`Scenario`](crate::Scenario)s and [`Answer`]s as the other wire modules.
//! In-stream errors are a `message-end` with `finish_reason: "ERROR"` and a
//! `delta.error` string.

use std::collections::VecDeque;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;
use serde_json::Value;

mod wire;

use wire::{
    ArgsDelta, Block, ChatResponse, ContentOf, DeltaContent, EndDelta, Event, Function, Message, StartMessage,
    ToolCall, ToolCallsOf, ToolPlanOf, Units, Usage, Wrap,
};

use crate::answer::{
    Answer, FinishWords, Piece, TOOL_ARGS, abort_after_flush, bytes_response, scenario_for, text_chars, truncated_json,
};
use crate::{Inner, OutcomeGuard};

const JSON: &str = "application/json";
/// `delta.error` of an in-stream failure.
const IN_BAND_ERROR: &str = "simulated in-stream error";

/// The parts of a v2 chat request that shape the simulated response.
pub(crate) struct ChatRequest {
    stream: bool,
    answer: Answer,
}

impl ChatRequest {
    /// Extracts what matters from the headers and JSON body (leniently:
    /// missing or odd fields fall back to defaults). Prompt characters are
    /// counted over every message's `content` (string or text items).
    pub(crate) fn new(headers: &HeaderMap, body: &Value) -> ChatRequest {
        let model = body["model"].as_str().unwrap_or_default();
        let scenario = scenario_for(headers, model);
        let tools = body["tools"].as_array().map_or(&[][..], Vec::as_slice);
        let tool_names = tools.iter().filter_map(|t| t["function"]["name"].as_str().map(str::to_owned)).collect();
        let messages = body["messages"].as_array().map_or(&[][..], Vec::as_slice);
        let prompt_chars = messages.iter().map(|m| text_chars(&m["content"])).sum();
        ChatRequest {
            stream: body["stream"].as_bool().unwrap_or(false),
            answer: Answer::new(scenario, tool_names, prompt_chars),
        }
    }
}

/// This protocol's finish reasons.
const COHERE_FINISH: FinishWords =
    FinishWords { stop: "COMPLETE", length: "MAX_TOKENS", tool_calls: "TOOL_CALL", content_filter: None };

/// A request plus the response identity.
struct Plan {
    req: ChatRequest,
    id: String,
    /// `tool_plan` of tool-call answers (streamed as two deltas).
    tool_plan: [String; 2],
}

impl Plan {
    fn a(&self) -> &Answer {
        &self.req.answer
    }

    /// The scenario's `finish=` (OpenAI names mapped to Cohere's, others
    /// verbatim), else `TOOL_CALL` / `COMPLETE`.
    fn finish_reason(&self) -> &str {
        self.a().finish_in(&COHERE_FINISH)
    }

    fn usage(&self, output_tokens: u64) -> Usage {
        let units = Units { input_tokens: self.a().prompt_tokens(), output_tokens };
        Usage { billed_units: units, tokens: units, cached_tokens: self.a().sc.cached }
    }
}

fn tool_call<'a>(k: usize, name: Option<&'a str>, arguments: &'a str) -> ToolCall<'a> {
    ToolCall { id: format!("call_sim_{k}"), kind: "function", function: Function { name, arguments } }
}

/// Handles one v2 chat request according to its scenario.
pub(crate) async fn chat(inner: &Inner, req: ChatRequest, mut guard: OutcomeGuard) -> Response {
    let sc = &req.answer.sc;
    let id = format!("sim{}", guard.seq());
    if sc.hang {
        // Until the client goes away (the guard then records it) or shutdown.
        inner.closed().await;
        return error_response(StatusCode::SERVICE_UNAVAILABLE, &id, "simulator shutting down", None);
    }
    if sc.first_byte_ms > 0 {
        tokio::time::sleep(Duration::from_millis(sc.first_byte_ms)).await;
    }
    if let Some(code) = sc.status {
        let retry_after = sc.retry_after.or((code == 429).then_some(1));
        let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        guard.complete();
        return error_response(status, &id, status_message(code), retry_after);
    }
    let (error_event, drop_after) = (sc.error_event, sc.drop_after.is_some());
    let name = req.answer.tool_name(0).to_owned();
    let plan = Plan { req, id, tool_plan: ["I will call ".to_owned(), format!("{name}.")] };
    if plan.req.stream {
        return stream_response(plan, guard);
    }
    guard.complete();
    let body = if error_event { error_json(&plan) } else { chat_json(&plan) };
    if drop_after && !error_event {
        return truncated_json(body);
    }
    bytes_response(StatusCode::OK, JSON, Body::from(body))
}

fn chat_json(plan: &Plan) -> Vec<u8> {
    let a = plan.a();
    let (reasoning, content) = (a.reasoning(), a.content());
    let mut blocks = Vec::new();
    if let Some(thinking) = &reasoning {
        blocks.push(Block::Thinking { thinking });
    }
    if let Some(text) = &content {
        blocks.push(Block::Text { text });
    }
    let calls: Vec<ToolCall<'_>> =
        (0..a.sc.tool_calls as usize).map(|k| tool_call(k, Some(a.tool_name(k)), TOOL_ARGS)).collect();
    let tool_plan = a.is_tool_calls().then(|| plan.tool_plan.concat());
    let message = Message { role: "assistant", content: &blocks, tool_plan: tool_plan.as_deref(), tool_calls: &calls };
    let response = ChatResponse {
        id: &plan.id,
        finish_reason: plan.finish_reason(),
        message,
        usage: plan.usage(a.completion_tokens()),
    };
    serde_json::to_vec(&response).unwrap_or_default()
}

/// The non-stream in-band error: an empty message with `finish_reason: "ERROR"`.
fn error_json(plan: &Plan) -> Vec<u8> {
    let message = Message { role: "assistant", content: &[], tool_plan: None, tool_calls: &[] };
    let response = ChatResponse { id: &plan.id, finish_reason: "ERROR", message, usage: plan.usage(0) };
    serde_json::to_vec(&response).unwrap_or_default()
}

/// Position in the SSE event sequence.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Start,
    Pieces,
    End,
}

/// The content item or tool call currently open in a stream.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Open {
    Content(usize),
    Tool(usize),
}

/// The body stream's state; dropping it early (client gone) drops the
/// guard, which records `ClientDisconnected`.
struct StreamState {
    plan: Plan,
    phase: Phase,
    /// Next answer piece; each piece is one content or tool-call event.
    next: usize,
    open: Option<Open>,
    /// Rendered events not yet sent (each is its own body frame).
    pending: VecDeque<Bytes>,
    guard: OutcomeGuard,
}

fn stream_response(plan: Plan, guard: OutcomeGuard) -> Response {
    let pending = VecDeque::with_capacity(4);
    let state = StreamState { plan, phase: Phase::Start, next: 0, open: None, pending, guard };
    let stream = futures_util::stream::unfold(state, |mut st| async move {
        let item = next_event(&mut st).await?;
        Some((item, st))
    });
    let mut resp = bytes_response(StatusCode::OK, "text/event-stream", Body::from_stream(stream));
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    resp
}

/// Produces the next SSE event (one body frame), or `None` at the end,
/// marking the request `Completed`.
async fn next_event(st: &mut StreamState) -> Option<Result<Bytes, std::io::Error>> {
    loop {
        if let Some(event) = st.pending.pop_front() {
            return Some(Ok(event));
        }
        let (sc, len) = (&st.plan.a().sc, st.plan.a().len());
        let reached = |limit: Option<u32>, i: usize| limit.is_some_and(|k| i >= (k as usize).min(len));
        match st.phase {
            Phase::Start => {
                let message =
                    StartMessage { role: "assistant", content: [], tool_plan: "", tool_calls: [], citations: [] };
                st.pending.push_back(sse(&Event::MessageStart { id: &st.plan.id, delta: Wrap { message } }));
                if sc.error_event {
                    st.pending.push_back(error_event());
                    st.phase = Phase::End;
                } else {
                    st.phase = Phase::Pieces;
                }
            }
            Phase::Pieces if reached(sc.drop_after, st.next) => {
                st.guard.complete();
                st.phase = Phase::End;
                return Some(abort_after_flush().await);
            }
            Phase::Pieces if reached(sc.error_after, st.next) => {
                st.pending.push_back(error_event());
                st.phase = Phase::End;
            }
            Phase::Pieces if st.next < len => {
                if sc.token_ms > 0 {
                    tokio::time::sleep(Duration::from_millis(sc.token_ms)).await;
                }
                push_piece(st);
                st.next += 1;
            }
            Phase::Pieces => {
                if let Some(open) = st.open.take() {
                    st.pending.push_back(close_event(open));
                }
                let plan = &st.plan;
                let usage = Some(plan.usage(plan.a().completion_tokens()));
                let delta = EndDelta { error: None, finish_reason: plan.finish_reason(), usage };
                st.pending.push_back(sse(&Event::MessageEnd { delta }));
                st.pending.push_back(Bytes::from_static(b"data: [DONE]\n\n"));
                st.phase = Phase::End;
            }
            Phase::End => {
                st.guard.complete();
                return None;
            }
        }
    }
}

/// Queues the events for piece `st.next`: closing the previous item and
/// opening a new one (after the tool plan, for the first tool call) when
/// the piece starts one, then its delta.
fn push_piece(st: &mut StreamState) {
    let plan = &st.plan;
    let a = plan.a();
    let base = usize::from(a.sc.reasoning);
    let piece = a.piece(st.next);
    let target = match piece {
        Piece::Reasoning(_) => Open::Content(0),
        Piece::Text(_) | Piece::Json(_) => Open::Content(base),
        Piece::ToolHead(k) | Piece::ToolArgs(k, _) => Open::Tool(k),
    };
    let mut events = Vec::with_capacity(4);
    if st.open != Some(target) {
        events.extend(st.open.map(close_event));
        let start = match (&piece, target) {
            (Piece::Reasoning(_), Open::Content(index)) => {
                let content = Block::Thinking { thinking: "" };
                Event::ContentStart { index, delta: Wrap { message: ContentOf { content } } }
            }
            (_, Open::Content(index)) => {
                let content = Block::Text { text: "" };
                Event::ContentStart { index, delta: Wrap { message: ContentOf { content } } }
            }
            (_, Open::Tool(k)) => {
                if k == 0 {
                    for tool_plan in &plan.tool_plan {
                        let delta = Wrap { message: ToolPlanOf { tool_plan } };
                        events.push(sse(&Event::ToolPlanDelta { delta }));
                    }
                }
                let tool_calls = tool_call(k, Some(a.tool_name(k)), "");
                Event::ToolCallStart { index: k, delta: Wrap { message: ToolCallsOf { tool_calls } } }
            }
        };
        events.push(sse(&start));
    }
    let content = match &piece {
        Piece::Reasoning(word) => Some(DeltaContent::Thinking { thinking: word }),
        Piece::Text(text) => Some(DeltaContent::Text { text }),
        Piece::Json(fragment) => Some(DeltaContent::Text { text: fragment }),
        Piece::ToolHead(_) => None,
        Piece::ToolArgs(k, arguments) => {
            let tool_calls = ArgsDelta { function: Function { name: None, arguments } };
            events.push(sse(&Event::ToolCallDelta { index: *k, delta: Wrap { message: ToolCallsOf { tool_calls } } }));
            None
        }
    };
    if let (Some(content), Open::Content(index)) = (content, target) {
        events.push(sse(&Event::ContentDelta { index, delta: Wrap { message: ContentOf { content } } }));
    }
    st.open = Some(target);
    st.pending.extend(events);
}

/// `content-end` or `tool-call-end` for the open item.
fn close_event(open: Open) -> Bytes {
    match open {
        Open::Content(index) => sse(&Event::ContentEnd { index }),
        Open::Tool(index) => sse(&Event::ToolCallEnd { index }),
    }
}

/// `event: <type>\ndata: <json>\n\n`.
fn sse(event: &Event<'_>) -> Bytes {
    let mut buf = Vec::with_capacity(192);
    buf.extend_from_slice(b"event: ");
    buf.extend_from_slice(event.name().as_bytes());
    buf.extend_from_slice(b"\ndata: ");
    let _ = serde_json::to_writer(&mut buf, event);
    buf.extend_from_slice(b"\n\n");
    Bytes::from(buf)
}

/// The in-band error: `message-end` with `finish_reason: "ERROR"`.
fn error_event() -> Bytes {
    let delta = EndDelta { error: Some(IN_BAND_ERROR), finish_reason: "ERROR", usage: None };
    sse(&Event::MessageEnd { delta })
}

/// Cohere-style message for a simulated HTTP error status.
pub(crate) fn status_message(code: u16) -> &'static str {
    match code {
        400 => "invalid request: message must be at least 1 token long or tool results must be specified. (simulated)",
        401 => "invalid api token (simulated)",
        403 => "forbidden (simulated)",
        404 => "model 'sim' not found, make sure the correct model ID was used (simulated)",
        422 => "unprocessable entity (simulated)",
        429 => "You are using a Trial key, which is limited to 10 API calls / minute. (simulated)",
        498 => "invalid or expired api token (simulated)",
        499 => "request cancelled (simulated)",
        500 => "internal server error, this has been reported to our developers. (simulated)",
        503 => "service unavailable (simulated)",
        504 => "gateway timeout (simulated)",
        _ if code < 500 => "simulated client error",
        _ => "simulated server error",
    }
}

/// Builds a Cohere-style `{"id", "message"}` error response with an
/// optional `retry-after` header.
pub(crate) fn error_response(status: StatusCode, id: &str, message: &str, retry: Option<u64>) -> Response {
    let bytes = serde_json::to_vec(&serde_json::json!({"id": id, "message": message})).unwrap_or_default();
    let mut resp = bytes_response(status, JSON, Body::from(bytes));
    if let Some(secs) = retry {
        resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    resp
}
