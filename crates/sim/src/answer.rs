//! Protocol-neutral answer generation shared by the wire modules.
//!
//! An [`Answer`] says *what* the simulated model produces for a scenario
//! (text tokens, a JSON object, tool calls, reasoning words) as a sequence of
//! [`Piece`]s, one per streamed chunk, plus token counts. Wire modules
//! ([`crate::openai`], `anthropic`, `gemini`, `cohere`, `bedrock`) render it
//! in their protocol's format. Also holds small HTTP body helpers every
//! protocol needs.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;
use futures_util::StreamExt;
use serde_json::Value;

use crate::SCENARIO_HEADER;
use crate::scenario::Scenario;

/// Words of the simulated reasoning output; one reasoning token each.
pub(crate) const REASONING_WORDS: [&str; 4] = ["Thinking ", "about ", "the ", "answer."];
/// Arguments of every simulated tool call.
pub(crate) const TOOL_ARGS: &str = r#"{"city":"Paris","days":3}"#;
/// Fragment size (bytes; the fragmented texts are ASCII) for streamed tool
/// arguments and JSON content.
const FRAGMENT: usize = 5;
/// Tool name used when the request declares no tools.
const DEFAULT_TOOL: &str = "sim_tool";
/// Chunks per tool call in a stream: one header plus the argument fragments.
const PER_CALL: usize = 1 + TOOL_ARGS.len().div_ceil(FRAGMENT);

/// One generated piece of the answer (one stream chunk).
pub(crate) enum Piece<'a> {
    /// A reasoning word.
    Reasoning(&'static str),
    /// A text token (`tok3 `).
    Text(String),
    /// A fragment of JSON content.
    Json(&'a str),
    /// Start of tool call `k` (id, name, empty arguments).
    ToolHead(usize),
    /// A fragment of tool call `k`'s arguments.
    ToolArgs(usize, &'static str),
}

/// What the simulated model answers for one request.
/// A protocol's words for the finish reasons scenarios name.
pub(crate) struct FinishWords {
    /// A normal end.
    pub stop: &'static str,
    /// The output cap was reached.
    pub length: &'static str,
    /// The answer is tool calls.
    pub tool_calls: &'static str,
    /// A content filter stopped it, where the protocol says so.
    pub content_filter: Option<&'static str>,
}

/// The source simulated native web searches cite.
pub(crate) const SEARCH_RESULT_URL: &str = "https://sim.example/search-result";
/// Its title.
pub(crate) const SEARCH_RESULT_TITLE: &str = "Simulated search result";

pub(crate) struct Answer {
    /// The scenario in force.
    pub(crate) sc: Scenario,
    tool_names: Vec<String>,
    prompt_chars: usize,
    json_text: String,
}

impl Answer {
    /// Builds the answer for a scenario, the request's declared tool names
    /// and the total character count of its message texts.
    pub(crate) fn new(sc: Scenario, tool_names: Vec<String>, prompt_chars: usize) -> Answer {
        let json_text = if let Some(content) = sc.content.as_ref().filter(|_| sc.tool_calls == 0) {
            content.clone()
        } else if sc.json && sc.tool_calls == 0 {
            format!(r#"{{"answer":"sim","tokens":{}}}"#, sc.tokens)
        } else {
            String::new()
        };
        Answer { sc, tool_names, prompt_chars, json_text }
    }

    /// Number of reasoning pieces (they come first).
    pub(crate) fn reasoning_len(&self) -> usize {
        if self.sc.reasoning { REASONING_WORDS.len() } else { 0 }
    }

    /// Total number of pieces (reasoning + content/tool chunks).
    pub(crate) fn len(&self) -> usize {
        let content = if self.sc.tool_calls > 0 {
            self.sc.tool_calls as usize * PER_CALL
        } else if self.sc.json {
            self.json_text.len().div_ceil(FRAGMENT)
        } else {
            self.sc.tokens as usize
        };
        self.reasoning_len() + content
    }

    /// Piece number `i` (`i < self.len()`).
    pub(crate) fn piece(&self, i: usize) -> Piece<'_> {
        if let Some(word) = REASONING_WORDS.get(i).filter(|_| self.sc.reasoning) {
            return Piece::Reasoning(word);
        }
        let j = i.saturating_sub(self.reasoning_len());
        if self.sc.tool_calls > 0 {
            let (call, m) = (j / PER_CALL, j % PER_CALL);
            if m == 0 {
                return Piece::ToolHead(call);
            }
            Piece::ToolArgs(call, fragment(TOOL_ARGS, m - 1))
        } else if self.sc.json {
            Piece::Json(fragment(&self.json_text, j))
        } else {
            Piece::Text(format!("tok{j} "))
        }
    }

    /// Whether the answer is tool calls rather than content.
    pub(crate) fn is_tool_calls(&self) -> bool {
        self.sc.tool_calls > 0
    }

    /// The scenario's `finish=` in a protocol's words (OpenAI's names
    /// mapped, others verbatim), else that protocol's word for tool calls or
    /// for a normal stop.
    pub(crate) fn finish_in(&self, words: &FinishWords) -> &str {
        match (self.sc.finish.as_deref(), words.content_filter) {
            (Some("stop"), _) => words.stop,
            (Some("length"), _) => words.length,
            (Some("tool_calls"), _) => words.tool_calls,
            (Some("content_filter"), Some(filtered)) => filtered,
            (Some(reason), _) => reason,
            (None, _) if self.is_tool_calls() => words.tool_calls,
            (None, _) => words.stop,
        }
    }

    /// Name of tool call `call`: the request's tools in turn, or `sim_tool`.
    pub(crate) fn tool_name(&self, call: usize) -> &str {
        match self.tool_names.len() {
            0 => DEFAULT_TOOL,
            n => self.tool_names.get(call % n).map_or(DEFAULT_TOOL, |s| s),
        }
    }

    /// The full content text (`None` for tool calls); equals the
    /// concatenation of the streamed content pieces.
    pub(crate) fn content(&self) -> Option<String> {
        if self.is_tool_calls() {
            None
        } else if self.sc.json {
            Some(self.json_text.clone())
        } else {
            Some((0..self.sc.tokens).map(|i| format!("tok{i} ")).collect())
        }
    }

    /// The full reasoning text, if the scenario asks for reasoning.
    pub(crate) fn reasoning(&self) -> Option<String> {
        self.sc.reasoning.then(|| REASONING_WORDS.concat())
    }

    /// Prompt tokens: forced by the scenario, else characters / 4 (at least 1).
    pub(crate) fn prompt_tokens(&self) -> u64 {
        let estimate = (self.prompt_chars / 4).max(1) as u64;
        self.sc.prompt_tokens.unwrap_or(estimate)
    }

    /// Completion tokens: one per piece (reasoning words included).
    pub(crate) fn completion_tokens(&self) -> u64 {
        self.len() as u64
    }
}

/// The `n`th `FRAGMENT`-byte slice of an ASCII string (empty past the end).
fn fragment(s: &str, n: usize) -> &str {
    let start = (n * FRAGMENT).min(s.len());
    let end = (start + FRAGMENT).min(s.len());
    s.get(start..end).unwrap_or("")
}

/// The request's scenario: the `x-sim-scenario` header if present, else the
/// `model` string.
pub(crate) fn scenario_for(headers: &HeaderMap, model: &str) -> Scenario {
    match headers.get(SCENARIO_HEADER).and_then(|v| v.to_str().ok()) {
        Some(spec) => Scenario::parse(spec),
        None => Scenario::parse(model),
    }
}

/// Characters of a message `content` or system prompt: a string, or an
/// array of parts/blocks whose `text` fields count.
pub(crate) fn text_chars(content: &Value) -> usize {
    match content {
        Value::String(s) => s.chars().count(),
        Value::Array(parts) => parts.iter().filter_map(|p| p["text"].as_str()).map(|s| s.chars().count()).sum(),
        _ => 0,
    }
}

/// Decodes `%XX` escapes (invalid ones are kept verbatim).
pub(crate) fn percent_decode(s: &str) -> String {
    let hex = |b: Option<&u8>| b.and_then(|b| char::from(*b).to_digit(16));
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match (b, hex(bytes.get(i + 1)), hex(bytes.get(i + 2))) {
            (b'%', Some(hi), Some(lo)) => {
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Seconds since the Unix epoch.
pub(crate) fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// A response with a status, a content type and a body.
pub(crate) fn bytes_response(status: StatusCode, content_type: &'static str, body: Body) -> Response {
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    let value = HeaderValue::from_static(content_type);
    resp.headers_mut().insert(header::CONTENT_TYPE, value);
    resp
}

/// Yields once (so hyper flushes what was already written), then fails the
/// body, which makes hyper close the connection abruptly.
pub(crate) async fn abort_after_flush() -> Result<Bytes, std::io::Error> {
    tokio::task::yield_now().await;
    let kind = std::io::ErrorKind::ConnectionAborted;
    Err(std::io::Error::new(kind, "simulated connection drop"))
}

/// A 200 JSON response that announces the full length of `body`, sends
/// half of it, then aborts the connection (non-stream `drop_after`).
pub(crate) fn truncated_json(body: Vec<u8>) -> Response {
    let len = body.len();
    let partial = Bytes::from(body).slice(..len / 2);
    let stream =
        futures_util::stream::once(async move { Ok(partial) }).chain(futures_util::stream::once(abort_after_flush()));
    let mut resp = bytes_response(StatusCode::OK, "application/json", Body::from_stream(stream));
    resp.headers_mut().insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn streamed(a: &Answer) -> (String, String) {
        let (mut content, mut args) = (String::new(), String::new());
        for i in 0..a.len() {
            match a.piece(i) {
                Piece::Text(t) => content.push_str(&t),
                Piece::Json(f) => content.push_str(f),
                Piece::ToolArgs(0, f) => args.push_str(f),
                _ => {}
            }
        }
        (content, args)
    }

    #[test]
    fn pieces_match_full_texts() {
        let a = Answer::new(Scenario::parse("json,tokens=12,reasoning"), vec![], 9);
        assert_eq!(Some(streamed(&a).0), a.content());
        assert_eq!(a.prompt_tokens(), 2);
        assert!(matches!(a.piece(0), Piece::Reasoning("Thinking ")));
        let a = Answer::new(Scenario::parse("tools=2"), vec!["f".into()], 0);
        assert_eq!(streamed(&a).1, TOOL_ARGS);
        assert_eq!(a.len(), 2 * PER_CALL);
        assert_eq!((a.tool_name(1), a.content()), ("f", None));
        let a = Answer::new(Scenario::parse("tokens=3"), vec![], 0);
        assert_eq!(streamed(&a).0, "tok0 tok1 tok2 ");
    }

    #[test]
    fn decodes_percent_escapes() {
        assert_eq!(percent_decode("tokens%3D3%2Ctool:generateContent"), "tokens=3,tool:generateContent");
        assert_eq!(percent_decode("a%2Fb%zz%4"), "a/b%zz%4");
        assert_eq!(percent_decode("tokens=3,tool"), "tokens=3,tool");
    }
}
