//! OpenAI Chat Completions wire format: request inspection, non-stream JSON
//! bodies, SSE streams (`data: <chunk>\n\n` ... `data: [DONE]\n\n`) and
//! OpenAI-style error bodies, all driven by a [`Scenario`](crate::Scenario).

use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;
use serde::Serialize;
use serde_json::Value;

mod wire;

use wire::{
    Choice, Chunk, ChunkChoice, Completion, CompletionDetails, Delta, Function, Message, PromptDetails, ToolCall, Usage,
};

use crate::answer::{
    Answer, Piece, TOOL_ARGS, abort_after_flush, bytes_response, scenario_for, text_chars, truncated_json, unix_now,
};
use crate::{Inner, OutcomeGuard};

/// Header that overrides the scenario spec taken from the `model` string.
pub const SCENARIO_HEADER: &str = "x-sim-scenario";

const JSON: &str = "application/json";
const IN_BAND_ERROR: &str =
    r#"{"error":{"message":"simulated in-stream error","type":"server_error","code":"server_error"}}"#;

/// The parts of a chat request that shape the simulated response.
pub(crate) struct ChatRequest {
    model: String,
    stream: bool,
    include_usage: bool,
    /// The bearer token starts with [`BAD_KEY_PREFIX`]: answered with a 401.
    bad_key: bool,
    /// `web_search_options` was set: the answer cites a (simulated) source.
    web_search: bool,
    answer: Answer,
}

/// Bearer tokens starting with this are refused with a 401, as a provider
/// refuses a revoked key (whatever the scenario).
pub const BAD_KEY_PREFIX: &str = "sk-bad-";

impl ChatRequest {
    /// Extracts what matters from the headers and JSON body (leniently:
    /// missing or odd fields fall back to defaults).
    pub(crate) fn new(headers: &HeaderMap, body: &Value) -> ChatRequest {
        let model = body["model"].as_str().unwrap_or_default().to_owned();
        let scenario = scenario_for(headers, &model);
        let tools = body["tools"].as_array().map_or(&[][..], Vec::as_slice);
        let tool_names = tools.iter().filter_map(|t| t["function"]["name"].as_str().map(str::to_owned)).collect();
        let messages = body["messages"].as_array().map_or(&[][..], Vec::as_slice);
        let prompt_chars = messages.iter().map(|m| text_chars(&m["content"])).sum();
        ChatRequest {
            model,
            stream: body["stream"].as_bool().unwrap_or(false),
            include_usage: body["stream_options"]["include_usage"] == Value::Bool(true),
            bad_key: headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .is_some_and(|t| t.starts_with(BAD_KEY_PREFIX)),
            web_search: body.get("web_search_options").is_some_and(|o| !o.is_null()),
            answer: Answer::new(scenario, tool_names, prompt_chars),
        }
    }
}

/// A request plus the response identity (`id`, `created`).
struct Plan {
    req: ChatRequest,
    id: String,
    created: u64,
}

impl Plan {
    fn a(&self) -> &Answer {
        &self.req.answer
    }

    /// OpenAI's `url_citation` annotations over the whole answer text, for
    /// a request with `web_search_options`.
    fn annotations(&self) -> Option<Value> {
        let len = self.a().content().map_or(0, |c| c.chars().count());
        self.req.web_search.then(|| {
            serde_json::json!([{"type": "url_citation", "url_citation": {
                "url": crate::answer::SEARCH_RESULT_URL, "title": crate::answer::SEARCH_RESULT_TITLE,
                "start_index": 0, "end_index": len}}])
        })
    }

    fn finish_reason(&self) -> &str {
        match &self.a().sc.finish {
            Some(reason) => reason,
            None if self.a().is_tool_calls() => "tool_calls",
            None => "stop",
        }
    }

    fn usage(&self) -> Usage {
        let (prompt, completion) = (self.a().prompt_tokens(), self.a().completion_tokens());
        Usage {
            prompt_tokens: prompt,
            completion_tokens: completion,
            total_tokens: prompt + completion,
            prompt_tokens_details: PromptDetails { cached_tokens: self.a().sc.cached, audio_tokens: 0 },
            completion_tokens_details: CompletionDetails {
                reasoning_tokens: self.a().reasoning_len() as u64,
                audio_tokens: 0,
                accepted_prediction_tokens: 0,
                rejected_prediction_tokens: 0,
            },
        }
    }

    /// The fields every chunk shares, around the given choices and usage.
    fn chunk<'a>(&'a self, choices: &'a [ChunkChoice<'a>], usage: Option<&'a Usage>) -> Chunk<'a> {
        Chunk {
            id: &self.id,
            object: "chat.completion.chunk",
            created: self.created,
            model: &self.req.model,
            system_fingerprint: "fp_sim",
            choices,
            usage: self.req.include_usage.then_some(usage),
        }
    }
}

/// Handles one chat completion request according to its scenario.
pub(crate) async fn chat_completions(inner: &Inner, req: ChatRequest, mut guard: OutcomeGuard) -> Response {
    let sc = &req.answer.sc;
    if sc.hang {
        // Until the client goes away (the guard then records it) or shutdown.
        inner.closed().await;
        let status = StatusCode::SERVICE_UNAVAILABLE;
        return error_response(status, "simulator shutting down", "server_error", "shutdown", None);
    }
    if req.bad_key {
        guard.complete();
        let (message, kind, code) = status_error(401);
        return error_response(StatusCode::UNAUTHORIZED, message, kind, code, None);
    }
    if sc.first_byte_ms > 0 {
        tokio::time::sleep(Duration::from_millis(sc.first_byte_ms)).await;
    }
    if sc.context_exceeded {
        guard.complete();
        let message = "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 \
                       tokens. Please reduce the length of the messages. (simulated)";
        let invalid = "invalid_request_error";
        return error_response(StatusCode::BAD_REQUEST, message, invalid, "context_length_exceeded", None);
    }
    if let Some(code) = sc.status {
        let retry_after = sc.retry_after.or((code == 429).then_some(1));
        let (message, kind, err_code) = status_error(code);
        let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        guard.complete();
        return error_response(status, message, kind, err_code, retry_after);
    }
    let (error_event, drop_after) = (sc.error_event, sc.drop_after.is_some());
    let id = format!("chatcmpl-sim{}", guard.seq());
    let plan = Plan { req, id, created: unix_now() };
    if plan.req.stream {
        return stream_response(plan, guard);
    }
    guard.complete();
    if error_event {
        return bytes_response(StatusCode::OK, JSON, Body::from(IN_BAND_ERROR));
    }
    let body = completion_json(&plan);
    if drop_after {
        return truncated_json(body);
    }
    bytes_response(StatusCode::OK, JSON, Body::from(body))
}

fn completion_json(plan: &Plan) -> Vec<u8> {
    let a = plan.a();
    let tool_calls = a.is_tool_calls().then(|| {
        let call = |k| ToolCall {
            index: None,
            id: Some(format!("call_sim_{k}")),
            kind: Some("function"),
            function: Function { name: Some(a.tool_name(k)), arguments: TOOL_ARGS },
        };
        (0..a.sc.tool_calls as usize).map(call).collect()
    });
    let message = Message {
        role: "assistant",
        content: a.content(),
        refusal: None,
        tool_calls,
        reasoning: a.reasoning(),
        annotations: plan.annotations(),
    };
    let completion = Completion {
        id: &plan.id,
        object: "chat.completion",
        created: plan.created,
        model: &plan.req.model,
        system_fingerprint: "fp_sim",
        choices: [Choice { index: 0, message, logprobs: None, finish_reason: plan.finish_reason() }],
        usage: plan.usage(),
    };
    serde_json::to_vec(&completion).unwrap_or_default()
}

/// Position in the SSE event sequence.
#[derive(Clone, Copy)]
enum Step {
    Role,
    Piece(usize),
    Finish,
    Usage,
    Done,
    End,
}

/// The body stream's state; dropping it early (client gone) drops the
/// guard, which records `ClientDisconnected`.
struct StreamState {
    plan: Plan,
    step: Step,
    guard: OutcomeGuard,
}

fn stream_response(plan: Plan, guard: OutcomeGuard) -> Response {
    let state = StreamState { plan, step: Step::Role, guard };
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
    let plan = &st.plan;
    let (sc, len) = (&plan.a().sc, plan.a().len());
    let reached = |limit: Option<u32>, i: usize| limit.is_some_and(|k| i >= (k as usize).min(len));
    let (event, next) = match st.step {
        Step::Role if sc.error_event => (sse_raw(IN_BAND_ERROR.as_bytes()), Step::End),
        Step::Role => {
            let content = (!plan.a().is_tool_calls()).then_some("");
            let delta = Delta { role: Some("assistant"), content: Some(content), ..Delta::default() };
            (chunk_event(plan, delta, None), Step::Piece(0))
        }
        Step::Piece(i) if reached(sc.drop_after, i) => {
            st.guard.complete();
            st.step = Step::End;
            return Some(abort_after_flush().await);
        }
        Step::Piece(i) if reached(sc.error_after, i) => (sse_raw(IN_BAND_ERROR.as_bytes()), Step::End),
        Step::Piece(i) if i < len => {
            if sc.token_ms > 0 {
                tokio::time::sleep(Duration::from_millis(sc.token_ms)).await;
            }
            (piece_event(plan, plan.a().piece(i)), Step::Piece(i + 1))
        }
        Step::Piece(_) if plan.req.web_search => {
            let delta = Delta { annotations: plan.annotations(), ..Delta::default() };
            (chunk_event(plan, delta, None), Step::Finish)
        }
        Step::Piece(_) | Step::Finish => {
            let next = if plan.req.include_usage { Step::Usage } else { Step::Done };
            (chunk_event(plan, Delta::default(), Some(plan.finish_reason())), next)
        }
        Step::Usage => (sse_event(&plan.chunk(&[], Some(&plan.usage()))), Step::Done),
        Step::Done => (Bytes::from_static(b"data: [DONE]\n\n"), Step::End),
        Step::End => {
            st.guard.complete();
            return None;
        }
    };
    st.step = next;
    Some(Ok(event))
}

fn piece_event<'a>(plan: &'a Plan, piece: Piece<'a>) -> Bytes {
    let tool = |index, id, name: Option<&'a str>, arguments| {
        let kind = name.map(|_| "function");
        let function = Function { name, arguments };
        Some([ToolCall { index: Some(index), id, kind, function }])
    };
    let text;
    let delta = match piece {
        Piece::Reasoning(word) => Delta { reasoning: Some(word), ..Delta::default() },
        Piece::Text(t) => {
            text = t;
            Delta { content: Some(Some(&text)), ..Delta::default() }
        }
        Piece::Json(frag) => Delta { content: Some(Some(frag)), ..Delta::default() },
        Piece::ToolHead(k) => {
            let (id, name) = (Some(format!("call_sim_{k}")), Some(plan.a().tool_name(k)));
            Delta { tool_calls: tool(k, id, name, ""), ..Delta::default() }
        }
        Piece::ToolArgs(k, frag) => Delta { tool_calls: tool(k, None, None, frag), ..Delta::default() },
    };
    chunk_event(plan, delta, None)
}

fn chunk_event(plan: &Plan, delta: Delta<'_>, finish_reason: Option<&str>) -> Bytes {
    let choices = [ChunkChoice { index: 0, delta, logprobs: None, finish_reason }];
    sse_event(&plan.chunk(&choices, None))
}

/// `data: <json>\n\n` for a serializable value.
fn sse_event<T: Serialize>(value: &T) -> Bytes {
    let mut buf = Vec::with_capacity(320);
    buf.extend_from_slice(b"data: ");
    let _ = serde_json::to_writer(&mut buf, value);
    buf.extend_from_slice(b"\n\n");
    Bytes::from(buf)
}

/// `data: <payload>\n\n` for a pre-rendered payload.
fn sse_raw(payload: &[u8]) -> Bytes {
    [b"data: ", payload, b"\n\n"].concat().into()
}

/// OpenAI-style `(message, type, code)` for a simulated HTTP error status.
pub(crate) fn status_error(code: u16) -> (&'static str, &'static str, &'static str) {
    const INVALID: &str = "invalid_request_error";
    match code {
        400 => ("Invalid request (simulated).", INVALID, INVALID),
        401 => ("Incorrect API key provided (simulated).", INVALID, "invalid_api_key"),
        403 => ("Permission denied (simulated).", INVALID, "permission_denied"),
        404 => ("The model does not exist (simulated).", INVALID, "model_not_found"),
        429 => ("Rate limit reached (simulated).", "requests", "rate_limit_exceeded"),
        500 => ("The server had an error processing your request (simulated).", "server_error", "server_error"),
        503 => ("The engine is currently overloaded, please try again later.", "server_error", "service_unavailable"),
        _ if code < 500 => ("Simulated client error.", INVALID, "sim_error"),
        _ => ("Simulated server error.", "server_error", "sim_error"),
    }
}

/// Builds an OpenAI-style error response with an optional `retry-after` header.
pub(crate) fn error_response(
    status: StatusCode,
    message: &str,
    kind: &str,
    code: &str,
    retry_after: Option<u64>,
) -> Response {
    let body = serde_json::json!({
        "error": {"message": message, "type": kind, "param": null, "code": code},
    });
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    let mut resp = bytes_response(status, JSON, Body::from(bytes));
    if let Some(secs) = retry_after {
        resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    resp
}
