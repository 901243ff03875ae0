//! AWS Bedrock Runtime wire format: `POST /model/{modelId}/converse`
//! (Converse, one JSON body) and `POST /model/{modelId}/converse-stream`
//! (ConverseStream, binary AWS event-stream messages, see [`eventstream`]),
//! plus REST-JSON error bodies with `x-amzn-ErrorType`, all driven by the
//! same [`Scenario`](crate::Scenario)s and [`Answer`]s as the other wire
//! modules. The scenario comes from `x-sim-scenario` or else the
//! percent-decoded `{modelId}`. SigV4 signatures are not verified (the
//! headers are recorded like any others).

use std::collections::VecDeque;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header, request::Parts};
use axum::response::Response;
use bytes::Bytes;
use serde_json::{Value, json};

mod eventstream;

use crate::answer::{
    Answer, FinishWords, Piece, TOOL_ARGS, abort_after_flush, bytes_response, percent_decode, scenario_for, text_chars,
    truncated_json,
};
use crate::{Inner, OutcomeGuard};

const JSON: &str = "application/json";
/// Content type of ConverseStream responses.
const EVENT_STREAM: &str = "application/vnd.amazon.eventstream";
/// Payload of the in-stream exception (and of the non-stream `error_event` error).
const IN_BAND_ERROR: &str = r#"{"message":"simulated in-stream error"}"#;
/// Signature of simulated reasoning blocks.
const SIGNATURE: &str = "sig";
/// Event type of content deltas.
const DELTA: &str = "contentBlockDelta";
/// Source of the length-obfuscation padding (`"p"`) in event payloads.
const PADDING: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// The operation named by the last path segment.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Operation {
    Converse,
    ConverseStream,
    Unknown,
}

/// The parts of a Converse request that shape the simulated response.
pub(crate) struct ConverseRequest {
    operation: Operation,
    answer: Answer,
}

impl ConverseRequest {
    /// Extracts what matters from the path, headers and JSON body (leniently:
    /// missing or odd fields fall back to defaults). Prompt characters are
    /// counted over `system[].text` and every `messages[].content[].text`;
    /// tool names come from `toolConfig.tools[].toolSpec.name`.
    pub(crate) fn new(parts: &Parts, body: &Value) -> ConverseRequest {
        let rest = parts.uri.path().strip_prefix("/model/").unwrap_or_default();
        let (model, operation) = match rest.rsplit_once('/') {
            Some((model, "converse")) => (model, Operation::Converse),
            Some((model, "converse-stream")) => (model, Operation::ConverseStream),
            Some((model, _)) => (model, Operation::Unknown),
            None => (rest, Operation::Unknown),
        };
        let scenario = scenario_for(&parts.headers, &percent_decode(model));
        let tools = body["toolConfig"]["tools"].as_array().map_or(&[][..], Vec::as_slice);
        let tool_names = tools.iter().filter_map(|t| t["toolSpec"]["name"].as_str().map(str::to_owned)).collect();
        let messages = body["messages"].as_array().map_or(&[][..], Vec::as_slice);
        let message_chars: usize = messages.iter().map(|m| text_chars(&m["content"])).sum();
        let prompt_chars = text_chars(&body["system"]) + message_chars;
        ConverseRequest { operation, answer: Answer::new(scenario, tool_names, prompt_chars) }
    }
}

/// The percent-decoded model id of an `InvokeModel` path
/// (`/model/{modelId}/invoke`), which the simulator serves for embeddings.
pub(crate) fn invoke_model(path: &str) -> Option<String> {
    let model = path.strip_prefix("/model/")?.strip_suffix("/invoke")?;
    Some(percent_decode(model))
}

/// A request plus the parsed tool input.
struct Plan {
    req: ConverseRequest,
    /// The tool input object (`TOOL_ARGS` parsed).
    tool_input: Value,
}

impl Plan {
    fn a(&self) -> &Answer {
        &self.req.answer
    }

    /// The scenario's `finish=` (OpenAI names mapped to Bedrock's, others
    /// verbatim), else `tool_use` / `end_turn`.
    fn stop_reason(&self) -> &str {
        self.a().finish_in(&BEDROCK_FINISH)
    }

    /// `TokenUsage`: `inputTokens` excludes the cached part, `totalTokens`
    /// includes it (as the real service reports).
    fn usage(&self) -> Value {
        let a = self.a();
        let cached = a.sc.cached;
        let input = a.prompt_tokens().saturating_sub(cached);
        let output = a.completion_tokens();
        json!({
            "inputTokens": input,
            "outputTokens": output,
            "totalTokens": input + output + cached,
            "cacheReadInputTokens": cached,
            "cacheWriteInputTokens": 0,
        })
    }
}

fn tool_use_id(k: usize) -> String {
    format!("tooluse_sim_{k}")
}

/// Handles one Converse / ConverseStream request according to its scenario.
pub(crate) async fn converse(inner: &Inner, req: ConverseRequest, mut guard: OutcomeGuard) -> Response {
    let sc = &req.answer.sc;
    let request_id = format!("00000000-0000-4000-8000-{:012}", guard.seq());
    let mut resp = if req.operation == Operation::Unknown {
        guard.complete();
        error_response(404, "UnknownOperationException", "Unknown operation (simulated).", None)
    } else if sc.hang {
        // Until the client goes away (the guard then records it) or shutdown.
        inner.closed().await;
        error_response(503, "ServiceUnavailableException", "simulator shutting down", None)
    } else {
        if sc.first_byte_ms > 0 {
            tokio::time::sleep(Duration::from_millis(sc.first_byte_ms)).await;
        }
        respond(req, guard)
    };
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        resp.headers_mut().insert("x-amzn-requestid", value);
    }
    resp
}

/// The response once `first_byte_ms` has passed.
fn respond(req: ConverseRequest, mut guard: OutcomeGuard) -> Response {
    let sc = &req.answer.sc;
    if let Some(code) = sc.status {
        let retry_after = sc.retry_after.or((code == 429).then_some(1));
        let (kind, message) = status_error(code);
        guard.complete();
        return error_response(code, kind, message, retry_after);
    }
    let (error_event, drop_after) = (sc.error_event, sc.drop_after.is_some());
    let plan = Plan { req, tool_input: serde_json::from_str(TOOL_ARGS).unwrap_or_default() };
    if plan.req.operation == Operation::ConverseStream {
        return stream_response(plan, guard);
    }
    guard.complete();
    if error_event {
        // Converse has no in-band errors: a failing model surfaces as 424.
        return error_response(424, "ModelErrorException", "simulated in-stream error", None);
    }
    let body = serde_json::to_vec(&converse_json(&plan)).unwrap_or_default();
    if drop_after {
        return truncated_json(body);
    }
    bytes_response(StatusCode::OK, JSON, Body::from(body))
}

/// The non-stream `ConverseResponse`.
fn converse_json(plan: &Plan) -> Value {
    let a = plan.a();
    let mut content = Vec::new();
    if let Some(text) = a.reasoning() {
        content.push(json!({"reasoningContent": {"reasoningText": {"text": text, "signature": SIGNATURE}}}));
    }
    if let Some(text) = a.content().filter(|t| !t.is_empty()) {
        content.push(json!({ "text": text }));
    }
    for k in 0..a.sc.tool_calls as usize {
        let tool_use = json!({"toolUseId": tool_use_id(k), "name": a.tool_name(k), "input": plan.tool_input});
        content.push(json!({ "toolUse": tool_use }));
    }
    json!({
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": plan.stop_reason(),
        "usage": plan.usage(),
        "metrics": {"latencyMs": 1},
    })
}

/// Position in the event sequence.
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
    reasoning: bool,
}

/// The body stream's state; dropping it early (client gone) drops the
/// guard, which records `ClientDisconnected`.
struct StreamState {
    plan: Plan,
    phase: Phase,
    /// Next answer piece; each piece is one `contentBlockDelta` (a tool
    /// call's head piece is its `contentBlockStart`).
    next: usize,
    open: Option<Open>,
    /// Encoded messages not yet sent (each is its own body frame).
    pending: VecDeque<Bytes>,
    /// Events encoded so far (varies the padding length).
    events: usize,
    guard: OutcomeGuard,
}

impl StreamState {
    /// Queues an `event` message; `payload` gets a `"p"` padding field.
    fn push(&mut self, event_type: &str, mut payload: Value) {
        let pad = PADDING.get(..1 + self.events % PADDING.len()).unwrap_or_default();
        payload["p"] = Value::from(pad);
        self.events += 1;
        let bytes = serde_json::to_vec(&payload).unwrap_or_default();
        self.pending.push_back(eventstream::event(event_type, &bytes));
    }

    /// Queues the in-stream exception and ends the stream after it.
    fn push_exception(&mut self) {
        let exception = eventstream::exception("modelStreamErrorException", IN_BAND_ERROR.as_bytes());
        self.pending.push_back(exception);
        self.phase = Phase::End;
    }
}

fn stream_response(plan: Plan, guard: OutcomeGuard) -> Response {
    let pending = VecDeque::with_capacity(4);
    let state = StreamState { plan, phase: Phase::Start, next: 0, open: None, pending, events: 0, guard };
    let stream = futures_util::stream::unfold(state, |mut st| async move {
        let item = next_frame(&mut st).await?;
        Some((item, st))
    });
    let mut resp = bytes_response(StatusCode::OK, EVENT_STREAM, Body::from_stream(stream));
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    resp
}

/// Produces the next event-stream message (one body frame), or `None` at
/// the end, marking the request `Completed`.
async fn next_frame(st: &mut StreamState) -> Option<Result<Bytes, std::io::Error>> {
    loop {
        if let Some(frame) = st.pending.pop_front() {
            return Some(Ok(frame));
        }
        let (sc, len) = (&st.plan.a().sc, st.plan.a().len());
        let reached = |limit: Option<u32>, i: usize| limit.is_some_and(|k| i >= (k as usize).min(len));
        match st.phase {
            Phase::Start if sc.error_event => st.push_exception(),
            Phase::Start => {
                st.push("messageStart", json!({"role": "assistant"}));
                st.phase = Phase::Pieces;
            }
            Phase::Pieces if reached(sc.drop_after, st.next) => {
                st.guard.complete();
                st.phase = Phase::End;
                return Some(abort_after_flush().await);
            }
            Phase::Pieces if reached(sc.error_after, st.next) => st.push_exception(),
            Phase::Pieces if st.next < len => {
                if sc.token_ms > 0 {
                    tokio::time::sleep(Duration::from_millis(sc.token_ms)).await;
                }
                push_piece(st);
                st.next += 1;
            }
            Phase::Pieces => {
                close_block(st);
                let stop_reason = st.plan.stop_reason().to_owned();
                st.push("messageStop", json!({ "stopReason": stop_reason }));
                let usage = st.plan.usage();
                st.push("metadata", json!({"usage": usage, "metrics": {"latencyMs": 1}}));
                st.phase = Phase::End;
            }
            Phase::End => {
                st.guard.complete();
                return None;
            }
        }
    }
}

/// Queues the events for piece `st.next`: closing the previous block when
/// the piece belongs to a new one, a `contentBlockStart` for a tool call's
/// head, else the piece's `contentBlockDelta`.
fn push_piece(st: &mut StreamState) {
    let a = st.plan.a();
    let base = usize::from(a.sc.reasoning);
    let (index, event_type, mut payload) = match a.piece(st.next) {
        Piece::Reasoning(word) => (0, DELTA, json!({"delta": {"reasoningContent": {"text": word}}})),
        Piece::Text(text) => (base, DELTA, json!({"delta": {"text": text}})),
        Piece::Json(fragment) => (base, DELTA, json!({"delta": {"text": fragment}})),
        Piece::ToolHead(k) => {
            let start = json!({"toolUse": {"toolUseId": tool_use_id(k), "name": a.tool_name(k)}});
            (base + k, "contentBlockStart", json!({ "start": start }))
        }
        Piece::ToolArgs(k, fragment) => (base + k, DELTA, json!({"delta": {"toolUse": {"input": fragment}}})),
    };
    let reasoning = a.sc.reasoning && index == 0;
    if st.open.map(|o| o.index) != Some(index) {
        close_block(st);
    }
    st.open = Some(Open { index, reasoning });
    payload["contentBlockIndex"] = Value::from(index);
    st.push(event_type, payload);
}

/// Queues the events closing the open block, if any: a reasoning block gets
/// its signature delta just before its `contentBlockStop`.
fn close_block(st: &mut StreamState) {
    if let Some(open) = st.open.take() {
        if open.reasoning {
            let delta =
                json!({"contentBlockIndex": open.index, "delta": {"reasoningContent": {"signature": SIGNATURE}}});
            st.push(DELTA, delta);
        }
        st.push("contentBlockStop", json!({ "contentBlockIndex": open.index }));
    }
}

/// Bedrock `(exception name, message)` for a simulated HTTP error status.
pub(crate) fn status_error(code: u16) -> (&'static str, &'static str) {
    match code {
        400 => ("ValidationException", "Invalid request (simulated)."),
        401 => ("UnrecognizedClientException", "The security token included in the request is invalid (simulated)."),
        403 => ("AccessDeniedException", "You don't have access to the model with the specified model ID (simulated)."),
        404 => ("ResourceNotFoundException", "The requested model was not found (simulated)."),
        408 => ("ModelTimeoutException", "Model timed out (simulated)."),
        424 => ("ModelErrorException", "The model returned an error (simulated)."),
        429 => ("ThrottlingException", "Too many requests, please wait before trying again."),
        503 => ("ServiceUnavailableException", "Service unavailable (simulated)."),
        _ if code < 500 => ("ValidationException", "Simulated client error."),
        _ => ("InternalServerException", "Internal server error (simulated)."),
    }
}

/// Builds a REST-JSON error response: `{"message": ...}` with an
/// `x-amzn-ErrorType` header (in the service's `Type:namespace` form) and an
/// optional `retry-after` header.
pub(crate) fn error_response(code: u16, kind: &str, message: &str, retry: Option<u64>) -> Response {
    let bytes = serde_json::to_vec(&json!({ "message": message })).unwrap_or_default();
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = bytes_response(status, JSON, Body::from(bytes));
    let error_type = format!("{kind}:http://internal.amazon.com/coral/com.amazon.bedrock/");
    if let Ok(value) = HeaderValue::from_str(&error_type) {
        resp.headers_mut().insert("x-amzn-errortype", value);
    }
    if let Some(secs) = retry {
        resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    resp
}
/// This protocol's finish reasons.
const BEDROCK_FINISH: FinishWords = FinishWords {
    stop: "end_turn",
    length: "max_tokens",
    tool_calls: "tool_use",
    content_filter: Some("content_filtered"),
};
