//! Google Gemini wire format (`POST /v1beta/models/{model}:generateContent`
//! and `:streamGenerateContent`; also the `v1` and Vertex AI paths):
//! request inspection, non-stream `GenerateContentResponse` bodies, streams
//! (`?alt=sse`: `data: <chunk>\n\n` per chunk, no `[DONE]`; without `alt=sse`
//! one incrementally streamed JSON array) and Google RPC error bodies, all
//! driven by the same [`Scenario`](crate::Scenario)s and [`Answer`]s as the
//! other wire modules. The scenario comes from `x-sim-scenario` or else the
//! (percent-decoded) `{model}` path segment.

use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header, request::Parts};
use axum::response::Response;
use bytes::Bytes;
use serde_json::{Value, json};

mod wire;

use wire::{Candidate, Content, GenerateResponse, Part, UsageMetadata};

use crate::answer::{
    Answer, Piece, TOOL_ARGS, abort_after_flush, bytes_response, percent_decode, scenario_for, text_chars,
    truncated_json,
};
use crate::{Inner, OutcomeGuard};

const JSON: &str = "application/json";
/// Payload of the in-band error (stream event, non-stream body).
const IN_BAND_ERROR: &str = concat!(
    r#"{"error":{"code":503,"#,
    r#""message":"The model is overloaded. Please try again later. (simulated in-stream error)","#,
    r#""status":"UNAVAILABLE"}}"#
);
/// Opaque `thoughtSignature` (base64 of `sim_signature`) on the first
/// non-thought part of reasoning answers.
const THOUGHT_SIGNATURE: &str = "c2ltX3NpZ25hdHVyZQ==";

/// The RPC method named after the `:` in the last path segment.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Method {
    Generate,
    /// `streamGenerateContent`; `sse` when the query has `alt=sse`.
    Stream {
        sse: bool,
    },
    Unknown,
}

/// The parts of a `generateContent` request that shape the simulated response.
pub(crate) struct GenerateRequest {
    model: String,
    method: Method,
    /// A `google_search` tool was offered: the answer is grounded on a
    /// (simulated) search result.
    web_search: bool,
    answer: Answer,
}

impl GenerateRequest {
    /// Extracts what matters from the path, headers and JSON body (leniently:
    /// missing or odd fields fall back to defaults). Prompt characters are
    /// counted over `systemInstruction` and every `contents[].parts[].text`;
    /// tool names come from every `tools[].functionDeclarations[].name`.
    pub(crate) fn new(parts: &Parts, body: &Value) -> GenerateRequest {
        let sse = parts.uri.query().is_some_and(|q| q.split('&').any(|kv| kv == "alt=sse"));
        let (model, method) = model_and_method(parts.uri.path());
        let method = match method.as_str() {
            "generateContent" => Method::Generate,
            "streamGenerateContent" => Method::Stream { sse },
            _ => Method::Unknown,
        };
        let scenario = scenario_for(&parts.headers, &model);
        let tools = body["tools"].as_array().map_or(&[][..], Vec::as_slice);
        let declarations = |t| either(t, "functionDeclarations", "function_declarations").as_array();
        let tool_names = tools
            .iter()
            .filter_map(declarations)
            .flatten()
            .filter_map(|d| d["name"].as_str().map(str::to_owned))
            .collect();
        let system = either(body, "systemInstruction", "system_instruction");
        let contents = body["contents"].as_array().map_or(&[][..], Vec::as_slice);
        let content_chars: usize = contents.iter().map(|c| text_chars(&c["parts"])).sum();
        let prompt_chars = text_chars(system) + text_chars(&system["parts"]) + content_chars;
        let web_search = tools.iter().any(|t| !either(t, "googleSearch", "google_search").is_null());
        GenerateRequest { model, method, web_search, answer: Answer::new(scenario, tool_names, prompt_chars) }
    }
}

/// The percent-decoded `{model}` and the `{method}` of a
/// `.../models/{model}:{method}` path (AI Studio or Vertex AI); the method
/// is empty when the path names none.
pub(crate) fn model_and_method(path: &str) -> (String, String) {
    let segment = path.split_once("/models/").map_or("", |(_, rest)| rest);
    let decoded = percent_decode(segment);
    match decoded.rsplit_once(':') {
        Some((model, method)) => (model.to_owned(), method.to_owned()),
        None => (decoded, String::new()),
    }
}

/// `v[camel]`, or `v[snake]` if that is absent (requests may use either case).
fn either<'a>(v: &'a Value, camel: &str, snake: &str) -> &'a Value {
    if v[camel].is_null() { &v[snake] } else { &v[camel] }
}

/// A request plus the response identity.
struct Plan {
    req: GenerateRequest,
    response_id: String,
    /// The function call `args` object (`TOOL_ARGS` parsed).
    args: Value,
}

impl Plan {
    fn a(&self) -> &Answer {
        &self.req.answer
    }

    /// The scenario's `finish=` (OpenAI names mapped to Gemini's, others
    /// verbatim), else `STOP` (Gemini has no tool-call finish reason).
    fn finish_reason(&self) -> &str {
        match self.a().sc.finish.as_deref() {
            Some("stop" | "tool_calls") | None => "STOP",
            Some("length") => "MAX_TOKENS",
            Some("content_filter") => "SAFETY",
            Some(reason) => reason,
        }
    }

    /// Usage after the first `done` answer pieces (running totals, as the
    /// real API reports on every stream chunk).
    fn usage(&self, done: usize, last: bool) -> UsageMetadata {
        let a = self.a();
        let thoughts = done.min(a.reasoning_len()) as u64;
        let candidates = (done as u64).saturating_sub(thoughts);
        let prompt = a.prompt_tokens();
        UsageMetadata {
            prompt_token_count: prompt,
            candidates_token_count: (last || candidates > 0).then_some(candidates),
            total_token_count: prompt + candidates + thoughts,
            thoughts_token_count: a.sc.reasoning.then_some(thoughts),
            cached_content_token_count: (a.sc.cached > 0).then_some(a.sc.cached),
        }
    }

    fn response<'a>(&'a self, parts: &'a [Part<'a>], finish: Option<&'a str>, usage: UsageMetadata) -> Vec<u8> {
        // Grounding comes with the last chunk, over the whole answer (byte offsets).
        let grounding_metadata = (self.req.web_search && finish.is_some()).then(|| {
            let end = self.a().content().map_or(0, |c| c.len());
            serde_json::json!({
                "webSearchQueries": ["simulated query"],
                "groundingChunks": [{"web": {"uri": crate::answer::SEARCH_RESULT_URL,
                    "title": crate::answer::SEARCH_RESULT_TITLE}}],
                "groundingSupports": [{"segment": {"startIndex": 0, "endIndex": end, "text": "Simulated cited text."},
                    "groundingChunkIndices": [0]}],
            })
        });
        let content = Content { role: "model", parts };
        let candidate = Candidate { content, finish_reason: finish, index: 0, grounding_metadata };
        let response = GenerateResponse {
            candidates: [candidate],
            usage_metadata: usage,
            model_version: &self.req.model,
            response_id: &self.response_id,
        };
        serde_json::to_vec(&response).unwrap_or_default()
    }
}

/// Handles one `generateContent` / `streamGenerateContent` request
/// according to its scenario.
pub(crate) async fn generate(inner: &Inner, req: GenerateRequest, mut guard: OutcomeGuard) -> Response {
    let sc = &req.answer.sc;
    if req.method == Method::Unknown {
        guard.complete();
        return error_response(404, "Method not found (simulated).", None);
    }
    if sc.hang {
        // Until the client goes away (the guard then records it) or shutdown.
        inner.closed().await;
        return error_response(503, "simulator shutting down", None);
    }
    if sc.first_byte_ms > 0 {
        tokio::time::sleep(Duration::from_millis(sc.first_byte_ms)).await;
    }
    if let Some(code) = sc.status {
        let retry_after = sc.retry_after.or((code == 429).then_some(1));
        guard.complete();
        return error_response(code, status_message(code), retry_after);
    }
    let (error_event, drop_after) = (sc.error_event, sc.drop_after.is_some());
    let plan = Plan {
        req,
        response_id: format!("sim{}", guard.seq()),
        args: serde_json::from_str(TOOL_ARGS).unwrap_or_default(),
    };
    if let Method::Stream { sse } = plan.req.method {
        return stream_response(plan, sse, guard);
    }
    guard.complete();
    if error_event {
        return bytes_response(StatusCode::OK, JSON, Body::from(IN_BAND_ERROR));
    }
    let body = response_json(&plan);
    if drop_after {
        return truncated_json(body);
    }
    bytes_response(StatusCode::OK, JSON, Body::from(body))
}

fn response_json(plan: &Plan) -> Vec<u8> {
    let a = plan.a();
    let (reasoning, content) = (a.reasoning(), a.content());
    let mut parts = Vec::new();
    if let Some(thought) = &reasoning {
        parts.push(Part::thought(thought));
    }
    if let Some(text) = &content {
        parts.push(Part::text(text));
    }
    for k in 0..a.sc.tool_calls as usize {
        parts.push(Part::call(a.tool_name(k), &plan.args));
    }
    if let Some(first) = parts.iter_mut().find(|p| !p.thought).filter(|_| a.sc.reasoning) {
        first.thought_signature = Some(THOUGHT_SIGNATURE);
    }
    plan.response(&parts, Some(plan.finish_reason()), plan.usage(a.len(), true))
}

/// Number of stream chunks before the final one: one per reasoning word,
/// then one per text token (or JSON fragment), or one per whole tool call.
fn chunk_count(a: &Answer) -> usize {
    let body = if a.is_tool_calls() { a.sc.tool_calls as usize } else { a.len() - a.reasoning_len() };
    a.reasoning_len() + body
}

/// Position in the stream.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Chunks,
    Close,
    End,
}

/// The body stream's state; dropping it early (client gone) drops the
/// guard, which records `ClientDisconnected`.
struct StreamState {
    plan: Plan,
    phase: Phase,
    /// Next answer piece (a tool call's argument pieces are skipped).
    next: usize,
    /// Chunks sent so far (the unit of `drop_after` / `error_after`).
    emitted: usize,
    /// SSE framing (`alt=sse`), else one JSON array.
    sse: bool,
    /// Whether the JSON array's `[` was sent.
    opened: bool,
    guard: OutcomeGuard,
}

fn stream_response(plan: Plan, sse: bool, guard: OutcomeGuard) -> Response {
    let state = StreamState { plan, phase: Phase::Chunks, next: 0, emitted: 0, sse, opened: false, guard };
    let stream = futures_util::stream::unfold(state, |mut st| async move {
        let item = next_event(&mut st).await?;
        Some((item, st))
    });
    let content_type = if sse { "text/event-stream" } else { JSON };
    let mut resp = bytes_response(StatusCode::OK, content_type, Body::from_stream(stream));
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    resp
}

/// Produces the next body frame, or `None` at the end, marking the request
/// `Completed`.
async fn next_event(st: &mut StreamState) -> Option<Result<Bytes, std::io::Error>> {
    let a = st.plan.a();
    let (sc, total) = (&a.sc, chunk_count(a));
    let reached = |limit: Option<u32>| limit.is_some_and(|k| st.emitted >= (k as usize).min(total));
    let (error_now, drop_now) = (sc.error_event || reached(sc.error_after), reached(sc.drop_after));
    let (token_ms, more) = (sc.token_ms, st.next < a.len());
    let json = match st.phase {
        Phase::Chunks if drop_now && !sc.error_event => {
            st.guard.complete();
            st.phase = Phase::End;
            return Some(abort_after_flush().await);
        }
        Phase::Chunks if error_now => {
            st.phase = Phase::Close;
            IN_BAND_ERROR.as_bytes().to_vec()
        }
        Phase::Chunks if more => {
            if token_ms > 0 {
                tokio::time::sleep(Duration::from_millis(token_ms)).await;
            }
            st.emitted += 1;
            render_chunk(st)
        }
        Phase::Chunks => {
            st.phase = Phase::Close;
            let plan = &st.plan;
            let parts = [Part::text("")];
            plan.response(&parts, Some(plan.finish_reason()), plan.usage(plan.a().len(), true))
        }
        Phase::Close => {
            st.phase = Phase::End;
            if st.sse {
                st.guard.complete();
                return None;
            }
            let close: &'static [u8] = if st.opened { b"]" } else { b"[]" };
            return Some(Ok(Bytes::from_static(close)));
        }
        Phase::End => {
            st.guard.complete();
            return None;
        }
    };
    Some(Ok(frame(st, &json)))
}

/// Renders the chunk for piece `st.next` and advances past it (past all of
/// a tool call's argument pieces: Gemini sends whole calls).
fn render_chunk(st: &mut StreamState) -> Vec<u8> {
    let plan = &st.plan;
    let a = plan.a();
    let start = st.next;
    let mut next = start + 1;
    let text;
    let mut part = match a.piece(start) {
        Piece::Reasoning(word) => Part::thought(word),
        Piece::Text(t) => {
            text = t;
            Part::text(&text)
        }
        Piece::Json(fragment) => Part::text(fragment),
        Piece::ToolHead(k) | Piece::ToolArgs(k, _) => {
            while next < a.len() && matches!(a.piece(next), Piece::ToolArgs(j, _) if j == k) {
                next += 1;
            }
            Part::call(a.tool_name(k), &plan.args)
        }
    };
    if a.sc.reasoning && start == a.reasoning_len() {
        part.thought_signature = Some(THOUGHT_SIGNATURE);
    }
    let json = plan.response(&[part], None, plan.usage(next, false));
    st.next = next;
    json
}

/// Frames one chunk: `data: <json>\n\n`, or an element of the JSON array.
fn frame(st: &mut StreamState, json: &[u8]) -> Bytes {
    if st.sse {
        return [b"data: ", json, b"\n\n"].concat().into();
    }
    let separator: &[u8] = if st.opened { b",\r\n" } else { b"[" };
    st.opened = true;
    [separator, json].concat().into()
}

/// Google RPC status name for an HTTP status.
fn rpc_status(code: u16) -> &'static str {
    match code {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ABORTED",
        429 => "RESOURCE_EXHAUSTED",
        499 => "CANCELLED",
        501 => "UNIMPLEMENTED",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        _ if code < 500 => "FAILED_PRECONDITION",
        _ => "INTERNAL",
    }
}

/// Gemini-style message for a simulated HTTP error status.
pub(crate) fn status_message(code: u16) -> &'static str {
    match code {
        400 => "Request contains an invalid argument. (simulated)",
        401 => "Request had invalid authentication credentials. (simulated)",
        403 => "The caller does not have permission. (simulated)",
        404 => "models/sim is not found for API version v1beta. (simulated)",
        429 => "You exceeded your current quota, please check your plan and billing details. (simulated)",
        503 => "The model is overloaded. Please try again later. (simulated)",
        504 => "Deadline expired before operation could complete. (simulated)",
        _ if code < 500 => "Simulated client error.",
        _ => "An internal error has occurred. (simulated)",
    }
}

/// Builds a Google RPC error response; a `retry` delay becomes both a
/// `retry-after` header and a `RetryInfo` detail.
pub(crate) fn error_response(code: u16, message: &str, retry: Option<u64>) -> Response {
    let mut error = json!({"code": code, "message": message, "status": rpc_status(code)});
    if let Some(secs) = retry {
        let info = json!({"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": format!("{secs}s")});
        error["details"] = json!([info]);
    }
    let bytes = serde_json::to_vec(&json!({ "error": error })).unwrap_or_default();
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = bytes_response(status, JSON, Body::from(bytes));
    if let Some(secs) = retry {
        resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    resp
}
