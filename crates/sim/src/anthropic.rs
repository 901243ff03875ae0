//! Anthropic Messages wire format (`POST /v1/messages`): request inspection,
//! non-stream message bodies, SSE streams (`event: <name>\ndata: <json>\n\n`,
//! `message_start` ... `message_stop`, no `[DONE]`) and Anthropic-style error
//! bodies, all driven by the same [`Scenario`](crate::Scenario)s and
//! [`Answer`]s as the OpenAI wire module.

use std::collections::VecDeque;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;
use serde_json::Value;

mod wire;

use wire::{Block, Delta, Event, Message, MessageDelta, OutputUsage, ServerToolUse, Usage};

use crate::answer::{
    Answer, FinishWords, Piece, TOOL_ARGS, abort_after_flush, bytes_response, scenario_for, text_chars, truncated_json,
};
use crate::{Inner, OutcomeGuard};

const JSON: &str = "application/json";
/// Payload of the in-band error (stream `error` event, non-stream body).
const IN_BAND_ERROR: &str =
    r#"{"type":"error","error":{"type":"overloaded_error","message":"simulated in-stream error"}}"#;

/// The parts of a Messages request that shape the simulated response.
pub(crate) struct MessagesRequest {
    model: String,
    stream: bool,
    /// The `web_search` server tool is offered: the answer searches once
    /// and cites the (simulated) result.
    web_search: bool,
    answer: Answer,
}

/// Anthropic server tools are typed `web_search_YYYYMMDD`.
fn is_web_search(tool: &Value) -> bool {
    tool["type"].as_str().is_some_and(|t| t.starts_with("web_search_"))
}

/// The citation of the simulated search result.
fn citation() -> Value {
    serde_json::json!({"type": "web_search_result_location", "url": crate::answer::SEARCH_RESULT_URL,
        "title": crate::answer::SEARCH_RESULT_TITLE, "encrypted_index": "c2lt", "cited_text": "Simulated cited text."})
}

impl MessagesRequest {
    /// Extracts what matters from the headers and JSON body (leniently:
    /// missing or odd fields fall back to defaults). Prompt characters are
    /// counted over `system` (string or text blocks) and every message's
    /// `content` (string or text blocks).
    pub(crate) fn new(headers: &HeaderMap, body: &Value) -> MessagesRequest {
        let model = body["model"].as_str().unwrap_or_default().to_owned();
        let scenario = scenario_for(headers, &model);
        let tools = body["tools"].as_array().map_or(&[][..], Vec::as_slice);
        let tool_names =
            tools.iter().filter(|t| !is_web_search(t)).filter_map(|t| t["name"].as_str().map(str::to_owned)).collect();
        let messages = body["messages"].as_array().map_or(&[][..], Vec::as_slice);
        let message_chars: usize = messages.iter().map(|m| text_chars(&m["content"])).sum();
        let prompt_chars = text_chars(&body["system"]) + message_chars;
        MessagesRequest {
            model,
            stream: body["stream"].as_bool().unwrap_or(false),
            web_search: tools.iter().any(is_web_search),
            answer: Answer::new(scenario, tool_names, prompt_chars),
        }
    }
}

/// This protocol's finish reasons.
const ANTHROPIC_FINISH: FinishWords =
    FinishWords { stop: "end_turn", length: "max_tokens", tool_calls: "tool_use", content_filter: Some("refusal") };

/// A request plus the response identity.
struct Plan {
    req: MessagesRequest,
    id: String,
    signature: String,
    /// The tool input object (`TOOL_ARGS` parsed).
    tool_input: Value,
    /// `{}`: the `input` of a streamed `tool_use` block start.
    empty_input: Value,
}

impl Plan {
    fn a(&self) -> &Answer {
        &self.req.answer
    }

    /// The scenario's `finish=` (OpenAI names mapped to Anthropic's, others
    /// verbatim), else `tool_use` / `end_turn`.
    fn stop_reason(&self) -> &str {
        self.a().finish_in(&ANTHROPIC_FINISH)
    }

    /// Usage with the given output tokens; `input_tokens` excludes the cached part.
    fn usage(&self, output_tokens: u64) -> Usage {
        let cached = self.a().sc.cached;
        Usage {
            input_tokens: self.a().prompt_tokens().saturating_sub(cached),
            output_tokens,
            cache_creation_input_tokens: 0,
            cache_read_input_tokens: cached,
            server_tool_use: self.searches(),
        }
    }

    /// One search when the web search tool was offered.
    fn searches(&self) -> Option<ServerToolUse> {
        self.req.web_search.then_some(ServerToolUse { web_search_requests: 1 })
    }

    fn message<'a>(&'a self, content: &'a [Block<'a>], stop_reason: Option<&'a str>, output: u64) -> Message<'a> {
        Message {
            id: &self.id,
            kind: "message",
            role: "assistant",
            model: &self.req.model,
            content,
            stop_reason,
            stop_sequence: None,
            usage: self.usage(output),
        }
    }
}

fn tool_id(k: usize) -> String {
    format!("toolu_sim_{k}")
}

/// Handles one Messages request according to its scenario.
pub(crate) async fn messages(inner: &Inner, req: MessagesRequest, mut guard: OutcomeGuard) -> Response {
    let sc = &req.answer.sc;
    let request_id = format!("req_sim{}", guard.seq());
    if sc.hang {
        // Until the client goes away (the guard then records it) or shutdown.
        inner.closed().await;
        let status = StatusCode::SERVICE_UNAVAILABLE;
        return error_response(status, "overloaded_error", "simulator shutting down", &request_id, None);
    }
    if sc.first_byte_ms > 0 {
        tokio::time::sleep(Duration::from_millis(sc.first_byte_ms)).await;
    }
    if let Some(code) = sc.status {
        let retry_after = sc.retry_after.or((code == 429).then_some(1));
        let (kind, message) = status_error(code);
        let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        guard.complete();
        return error_response(status, kind, message, &request_id, retry_after);
    }
    let (error_event, drop_after) = (sc.error_event, sc.drop_after.is_some());
    let seq = guard.seq();
    let plan = Plan {
        req,
        id: format!("msg_sim{seq}"),
        signature: format!("sig_sim{seq}"),
        tool_input: serde_json::from_str(TOOL_ARGS).unwrap_or_default(),
        empty_input: Value::Object(serde_json::Map::new()),
    };
    let mut resp = if plan.req.stream {
        stream_response(plan, guard)
    } else {
        guard.complete();
        if error_event {
            bytes_response(StatusCode::OK, JSON, Body::from(IN_BAND_ERROR))
        } else if drop_after {
            truncated_json(message_json(&plan))
        } else {
            bytes_response(StatusCode::OK, JSON, Body::from(message_json(&plan)))
        }
    };
    set_request_id(&mut resp, &request_id);
    resp
}

fn message_json(plan: &Plan) -> Vec<u8> {
    let a = plan.a();
    let (reasoning, content) = (a.reasoning(), a.content());
    let mut blocks = Vec::new();
    if let Some(thinking) = &reasoning {
        blocks.push(Block::Thinking { thinking, signature: &plan.signature });
    }
    let search_id = "srvtoolu_sim_0";
    if plan.req.web_search {
        let input = serde_json::json!({"query": "simulated query"});
        blocks.push(Block::ServerToolUse { id: search_id, name: "web_search", input });
        let content = serde_json::json!([{"type": "web_search_result", "url": crate::answer::SEARCH_RESULT_URL,
            "title": crate::answer::SEARCH_RESULT_TITLE, "encrypted_content": "c2lt", "page_age": "1 day ago"}]);
        blocks.push(Block::WebSearchToolResult { tool_use_id: search_id, content });
    }
    if let Some(text) = content.as_deref().filter(|t| !t.is_empty()) {
        let citations = plan.req.web_search.then(|| Value::Array(vec![citation()]));
        blocks.push(Block::Text { text, citations });
    }
    for k in 0..a.sc.tool_calls as usize {
        blocks.push(Block::ToolUse { id: tool_id(k), name: a.tool_name(k), input: &plan.tool_input });
    }
    let message = plan.message(&blocks, Some(plan.stop_reason()), a.completion_tokens());
    serde_json::to_vec(&message).unwrap_or_default()
}

/// Position in the SSE event sequence.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Start,
    Pieces,
    End,
}

/// The content block currently open in a stream.
#[derive(Clone, Copy)]
struct Open {
    index: usize,
    thinking: bool,
}

/// The body stream's state; dropping it early (client gone) drops the
/// guard, which records `ClientDisconnected`.
struct StreamState {
    plan: Plan,
    phase: Phase,
    /// Next answer piece; each piece is exactly one content delta.
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
    let no_cache = HeaderValue::from_static("no-cache");
    resp.headers_mut().insert(header::CACHE_CONTROL, no_cache);
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
            Phase::Start if sc.error_event => {
                st.pending.push_back(error_event());
                st.phase = Phase::End;
            }
            Phase::Start => {
                let start = Event::MessageStart { message: st.plan.message(&[], None, 1) };
                st.pending.push_back(sse(&start));
                st.pending.push_back(sse(&Event::Ping));
                st.phase = Phase::Pieces;
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
                close_block(st);
                let plan = &st.plan;
                let delta = MessageDelta { stop_reason: plan.stop_reason(), stop_sequence: None };
                let usage =
                    OutputUsage { output_tokens: plan.a().completion_tokens(), server_tool_use: plan.searches() };
                st.pending.push_back(sse(&Event::MessageDelta { delta, usage }));
                st.pending.push_back(sse(&Event::MessageStop));
                st.phase = Phase::End;
            }
            Phase::End => {
                st.guard.complete();
                return None;
            }
        }
    }
}

/// Queues the events for piece `st.next`: closing the previous block and
/// opening a new one when the piece starts one, then its delta.
fn push_piece(st: &mut StreamState) {
    let plan = &st.plan;
    let a = plan.a();
    let base = usize::from(a.sc.reasoning);
    let piece = a.piece(st.next);
    let index = match piece {
        Piece::Reasoning(_) => 0,
        Piece::ToolHead(k) | Piece::ToolArgs(k, _) => base + k,
        Piece::Text(_) | Piece::Json(_) => base,
    };
    let mut events = Vec::with_capacity(4);
    if st.open.map(|o| o.index) != Some(index) {
        if let Some(open) = st.open {
            events.extend(close_events(plan, open));
        }
        let content_block = match piece {
            Piece::Reasoning(_) => Block::Thinking { thinking: "", signature: "" },
            Piece::ToolHead(k) | Piece::ToolArgs(k, _) => {
                Block::ToolUse { id: tool_id(k), name: a.tool_name(k), input: &plan.empty_input }
            }
            Piece::Text(_) | Piece::Json(_) => Block::Text { text: "", citations: None },
        };
        let cites = plan.req.web_search && matches!(piece, Piece::Text(_));
        events.push(sse(&Event::ContentBlockStart { index, content_block }));
        if cites {
            events.push(sse(&Event::ContentBlockDelta { index, delta: Delta::Citations { citation: citation() } }));
        }
    }
    let delta = match &piece {
        Piece::Reasoning(word) => Delta::Thinking { thinking: word },
        Piece::Text(text) => Delta::Text { text },
        Piece::Json(fragment) => Delta::Text { text: fragment },
        // The real API's first tool fragment is often empty too.
        Piece::ToolHead(_) => Delta::InputJson { partial_json: "" },
        Piece::ToolArgs(_, fragment) => Delta::InputJson { partial_json: fragment },
    };
    events.push(sse(&Event::ContentBlockDelta { index, delta }));
    st.open = Some(Open { index, thinking: matches!(piece, Piece::Reasoning(_)) });
    st.pending.extend(events);
}

/// Queues the events closing the open block, if any.
fn close_block(st: &mut StreamState) {
    if let Some(open) = st.open.take() {
        let events = close_events(&st.plan, open);
        st.pending.extend(events);
    }
}

/// A thinking block gets its `signature_delta` just before its stop.
fn close_events(plan: &Plan, open: Open) -> impl Iterator<Item = Bytes> {
    let signature = open.thinking.then(|| {
        let delta = Delta::Signature { signature: &plan.signature };
        sse(&Event::ContentBlockDelta { index: open.index, delta })
    });
    signature.into_iter().chain(std::iter::once(sse(&Event::ContentBlockStop { index: open.index })))
}

/// `event: <name>\ndata: <json>\n\n`.
fn sse(event: &Event<'_>) -> Bytes {
    let mut buf = Vec::with_capacity(192);
    buf.extend_from_slice(b"event: ");
    buf.extend_from_slice(event.name().as_bytes());
    buf.extend_from_slice(b"\ndata: ");
    let _ = serde_json::to_writer(&mut buf, event);
    buf.extend_from_slice(b"\n\n");
    Bytes::from(buf)
}

/// The in-band `error` event.
fn error_event() -> Bytes {
    [b"event: error\ndata: ", IN_BAND_ERROR.as_bytes(), b"\n\n"].concat().into()
}

/// Anthropic `(error.type, message)` for a simulated HTTP error status.
fn status_error(code: u16) -> (&'static str, &'static str) {
    match code {
        400 => ("invalid_request_error", "Invalid request (simulated)."),
        401 => ("authentication_error", "invalid x-api-key (simulated)"),
        403 => ("permission_error", "Your API key does not have permission to use the specified resource (simulated)."),
        404 => ("not_found_error", "model: not found (simulated)"),
        413 => ("request_too_large", "Request exceeds the maximum allowed number of bytes (simulated)."),
        429 => ("rate_limit_error", "Number of requests has exceeded your rate limit (simulated)."),
        500 => ("api_error", "Internal server error (simulated)."),
        503 | 529 => ("overloaded_error", "Overloaded"),
        _ => ("api_error", "Simulated error."),
    }
}

/// Builds an Anthropic-style error response (with a `request-id` header and
/// an optional `retry-after` header).
fn error_response(status: StatusCode, kind: &str, message: &str, request_id: &str, retry: Option<u64>) -> Response {
    let body = serde_json::json!({
        "type": "error",
        "error": {"type": kind, "message": message},
        "request_id": request_id,
    });
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    let mut resp = bytes_response(status, JSON, Body::from(bytes));
    if let Some(secs) = retry {
        resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    set_request_id(&mut resp, request_id);
    resp
}

fn set_request_id(resp: &mut Response, request_id: &str) {
    if let Ok(value) = HeaderValue::from_str(request_id) {
        resp.headers_mut().insert("request-id", value);
    }
}
