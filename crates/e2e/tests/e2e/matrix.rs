//! The feature x provider matrix: every feature row checked end to end on
//! every native protocol, through the real gateway in front of the
//! simulator, looking at both what the client received and what the
//! upstream received. The observed outcomes must equal [`ROWS`] (every
//! differing cell is listed), and the observed table is written into
//! `docs/providers.md` between the `matrix` markers.
//!
//! All cells run at once against one gateway. Each cell's requests carry a
//! unique tag in their text, which is how the cell finds what its upstream
//! received among everyone else's.

use std::path::Path;
use std::time::Instant;

use futures_util::future::join_all;
use serde_json::{Value, json};
use switchyard_sim::RecordedRequest;

use crate::common::{Env, sse_events};

/// The native protocols, one column each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Proto {
    Openai,
    Anthropic,
    Gemini,
    Vertex,
    Bedrock,
    Cohere,
    Azure,
}

struct Column {
    proto: Proto,
    /// Slug prefix of the matrix models (`mx-{key}/...`).
    key: &'static str,
    title: &'static str,
    /// Harness provider id.
    provider: &'static str,
    /// Provider display name, as answers report it.
    name: &'static str,
    /// Put before every scenario in the upstream model id: Gemini's model
    /// generation and Bedrock's model family decide what is encoded.
    model_prefix: &'static str,
    /// Upstream model of the column's embeddings model.
    embed_model: &'static str,
}

static COLUMNS: [Column; 7] = [
    Column {
        proto: Proto::Openai,
        key: "oa",
        title: "OpenAI & compatible",
        provider: "sim",
        name: "Simulator",
        model_prefix: "",
        embed_model: "embed",
    },
    Column {
        proto: Proto::Anthropic,
        key: "anth",
        title: "Anthropic",
        provider: "anth",
        name: "Anthropic Sim",
        model_prefix: "",
        embed_model: "embed",
    },
    Column {
        proto: Proto::Gemini,
        key: "gem",
        title: "Gemini (AI Studio)",
        provider: "gem",
        name: "Gemini Sim",
        model_prefix: "gemini-2.5-flash,",
        embed_model: "text-embedding-004",
    },
    Column {
        proto: Proto::Vertex,
        key: "vtx",
        title: "Vertex AI",
        provider: "vtx",
        name: "Vertex Sim",
        model_prefix: "gemini-2.5-flash,",
        embed_model: "gemini-embedding-001",
    },
    Column {
        proto: Proto::Bedrock,
        key: "bed",
        title: "Bedrock Converse",
        provider: "bed",
        name: "Bedrock Sim",
        model_prefix: "anthropic.claude-sonnet-4-5-v1:0,",
        embed_model: "amazon.titan-embed-text-v2:0",
    },
    Column {
        proto: Proto::Cohere,
        key: "coh",
        title: "Cohere v2",
        provider: "coh",
        name: "Cohere Sim",
        model_prefix: "",
        embed_model: "embed-v4.0",
    },
    Column {
        proto: Proto::Azure,
        key: "az",
        title: "Azure OpenAI",
        provider: "az",
        name: "Azure Sim",
        model_prefix: "",
        embed_model: "embed",
    },
];

/// The feature rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Feature {
    Text,
    Stream,
    System,
    MultiTurn,
    Tools,
    ToolDeltas,
    ToolResults,
    JsonSchema,
    ReasoningEffort,
    ReasoningBudget,
    ReasoningText,
    Cached,
    ImageData,
    ImageUrl,
    Pdf,
    PdfUrl,
    Audio,
    Stop,
    Errors,
    StreamError,
    Embeddings,
}

/// The expected outcome of every cell, one symbol per column in [`COLUMNS`]
/// order: `✅` works, `✗` refused with a clean 400 (nothing reaches the
/// upstream), `–` the provider has no such API (the gateway refuses
/// cleanly too), `GAP` a known gateway gap (the check fails; see the
/// comment on the row and [`GAPS`]).
const ROWS: &[(Feature, &str, &str)] = &[
    (Feature::Text, "text, non-stream", "✅ ✅ ✅ ✅ ✅ ✅ ✅"),
    (Feature::Stream, "text, stream (one usage chunk, `[DONE]`)", "✅ ✅ ✅ ✅ ✅ ✅ ✅"),
    (Feature::System, "system / developer messages", "✅ ✅ ✅ ✅ ✅ ✅ ✅"),
    (Feature::MultiTurn, "multi-turn conversations", "✅ ✅ ✅ ✅ ✅ ✅ ✅"),
    (Feature::Tools, "tools, named `tool_choice`", "✅ ✅ ✅ ✅ ✅ ✅ ✅"),
    (Feature::ToolDeltas, "tool-call argument deltas in streams", "✅ ✅ ✅ ✅ ✅ ✅ ✅"),
    (Feature::ToolResults, "tool results, ids kept across turns", "✅ ✅ ✅ ✅ ✅ ✅ ✅"),
    (Feature::JsonSchema, "structured output (`json_schema`)", "✅ ✅ ✅ ✅ ✅ ✅ ✅"),
    (Feature::ReasoningEffort, "reasoning effort (`reasoning.effort`)", "✅ ✅ ✅ ✅ ✅ ✅ ✅"),
    (Feature::ReasoningBudget, "reasoning budget (`reasoning.max_tokens`)", "✅ ✅ ✅ ✅ ✅ ✅ ✅"),
    (Feature::ReasoningText, "reasoning text returned (`message.reasoning`)", "✅ ✅ ✅ ✅ ✅ ✅ ✅"),
    (Feature::Cached, "cached tokens in usage and cost", "✅ ✅ ✅ ✅ ✅ ✅ ✅"),
    (Feature::ImageData, "images as data URIs", "✅ ✅ ✅ ✅ ✅ ✅ ✅"),
    (Feature::ImageUrl, "images by URL", "✅ ✅ ✅ ✅ ✅ ✅ ✅"),
    (Feature::Pdf, "PDFs (`file` parts, base64)", "✅ ✅ ✅ ✅ ✅ ✗ ✅"),
    (Feature::PdfUrl, "PDFs by URL", "✅ ✅ ✅ ✅ ✅ ✗ ✅"),
    (Feature::Audio, "audio input (`input_audio`)", "✅ ✗ ✅ ✅ ✗ ✗ ✅"),
    (Feature::Stop, "stop sequences", "✅ ✅ ✅ ✅ ✅ ✅ ✅"),
    (Feature::Errors, "error mapping (429 + `Retry-After`, 400, overloaded → 503)", "✅ ✅ ✅ ✅ ✅ ✅ ✅"),
    (Feature::StreamError, "in-stream error after content", "✅ ✅ ✅ ✅ ✅ ✅ ✅"),
    (Feature::Embeddings, "embeddings (`/api/v1/embeddings`)", "✅ – ✅ ✅ ✅ ✅ ✅"),
];

/// What a `GAP` cell shows in the docs: row, column key, a short note for
/// the cell and a sentence for the list under the table.
const GAPS: &[(Feature, &str, &str, &str)] = &[];

/// Scenarios every column has a model for: `mx-{key}/{name}`.
const SCENARIOS: &[(&str, &str)] = &[
    ("text", "tokens=5,prompt_tokens=10"),
    ("tools", "tools=2"),
    ("json", "json"),
    // What Anthropic answers when a tool is forced.
    ("forced-tool", "tool"),
    ("reasoning", "reasoning,tokens=5,prompt_tokens=10"),
    ("cached", "cached=4,prompt_tokens=10,tokens=5"),
    ("e429", "status=429,retry_after=7"),
    ("e400", "status=400"),
    ("e503", "status=503"),
    ("e529", "status=529"),
    ("error-after", "tokens=10,error_after=3"),
];

/// Prices of every matrix chat model, USD per token.
const PROMPT_PRICE: f64 = 0.000001;
const COMPLETION_PRICE: f64 = 0.000002;
const CACHE_READ_PRICE: f64 = 0.0000001;

/// The answer text of the `tokens=5` scenarios.
const TEXT: &str = "tok0 tok1 tok2 tok3 tok4 ";
/// The simulator's reasoning text.
const REASONING: &str = "Thinking about the answer.";
/// A 44-byte WAV header (no samples), base64.
const WAV_B64: &str = "UklGRiQAAABXQVZFZm10IBAAAAABAAEAQB8AAIA+AAACABAAZGF0YQAAAAA=";

const START: &str = "<!-- matrix:start -->";
const END: &str = "<!-- matrix:end -->";

fn models_toml() -> String {
    let mut t = String::new();
    for c in &COLUMNS {
        for (scenario, spec) in SCENARIOS {
            t.push_str(&format!(
                "[[models]]\nid = \"mx-{}/{scenario}\"\ncontext_length = 200000\n\
                 input_modalities = [\"text\", \"image\", \"file\", \"audio\"]\n[[models.endpoints]]\nprovider = \"{}\"\n\
                 model = \"{}{spec}\"\nprompt = \"{PROMPT_PRICE}\"\ncompletion = \"{COMPLETION_PRICE}\"\n\
                 input_cache_read = \"{CACHE_READ_PRICE}\"\n",
                c.key, c.provider, c.model_prefix
            ));
        }
        t.push_str(&format!(
            "[[models]]\nid = \"mx-{}/embed\"\noutput_modalities = [\"embeddings\"]\n[[models.endpoints]]\n\
             provider = \"{}\"\nmodel = \"{}\"\nprompt = \"0.0000001\"\n",
            c.key, c.provider, c.embed_model
        ));
    }
    t
}

/// What one cell's check found.
#[derive(Debug)]
enum Obs {
    /// It works; a short note on how, or "".
    Works(&'static str),
    /// The gateway answered a clean 400 and nothing reached the upstream.
    Refused(String),
}

type Checked = Result<Obs, String>;

macro_rules! ensure {
    ($cond:expr, $($arg:tt)+) => {
        let holds: bool = $cond;
        if !holds {
            return Err(format!($($arg)+));
        }
    };
}

/// Sends a chat request; a clean refusal ends the check as `Refused`.
macro_rules! answer {
    ($cell:expr, $body:expr) => {{
        let reply = $cell.chat(&$body).await;
        if let Some(message) = $cell.refusal(&reply) {
            return Ok(Obs::Refused(message));
        }
        reply
    }};
}

/// A gateway answer, read whole.
struct Reply {
    status: u16,
    retry_after: Option<String>,
    text: String,
}

impl Reply {
    fn short(&self) -> String {
        self.text.chars().take(400).collect()
    }

    fn json(&self) -> Result<Value, String> {
        serde_json::from_str(&self.text).map_err(|e| format!("HTTP {}, not JSON ({e}): {}", self.status, self.short()))
    }

    /// The JSON body of a 200.
    fn ok(&self) -> Result<Value, String> {
        ensure!(self.status == 200, "HTTP {}: {}", self.status, self.short());
        self.json()
    }

    /// The chunks of a 200 SSE stream that ends with `[DONE]`.
    fn chunks(&self) -> Result<Vec<Value>, String> {
        ensure!(self.status == 200, "HTTP {}: {}", self.status, self.short());
        let (events, _) = sse_events(&self.text);
        ensure!(events.last().is_some_and(|e| e == "[DONE]"), "the stream does not end with [DONE]: {}", self.short());
        events[..events.len() - 1]
            .iter()
            .map(|e| serde_json::from_str(e).map_err(|err| format!("chunk is not JSON ({err}): {e}")))
            .collect()
    }
}

/// One cell: a column, and a tag unique to the cell.
struct Cell<'a> {
    env: &'a Env,
    col: &'a Column,
    tag: String,
}

impl Cell<'_> {
    fn proto(&self) -> Proto {
        self.col.proto
    }

    fn model(&self, scenario: &str) -> String {
        format!("mx-{}/{scenario}", self.col.key)
    }

    /// A one-message request carrying the cell's tag.
    fn body(&self, scenario: &str) -> Value {
        self.with_messages(scenario, json!([{"role": "user", "content": format!("Hello [{}]", self.tag)}]))
    }

    fn with_messages(&self, scenario: &str, messages: Value) -> Value {
        json!({"model": self.model(scenario), "messages": messages})
    }

    fn stream(&self, mut body: Value) -> Value {
        body["stream"] = json!(true);
        body
    }

    /// A user message of a text part and `part`.
    fn with_part(&self, scenario: &str, part: Value) -> Value {
        let text = json!({"type": "text", "text": format!("What is this? [{}]", self.tag)});
        self.with_messages(scenario, json!([{"role": "user", "content": [text, part]}]))
    }

    async fn post(&self, path: &str, body: &Value) -> Reply {
        let sent = self.env.http.post(self.env.url(path)).bearer_auth(&self.env.key).json(body).send().await;
        match sent {
            Ok(r) => {
                let status = r.status().as_u16();
                let retry_after = r.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_owned);
                let text = r.text().await.unwrap_or_else(|e| format!("<body failed: {e}>"));
                Reply { status, retry_after, text }
            }
            Err(e) => Reply { status: 0, retry_after: None, text: format!("<request failed: {e}>") },
        }
    }

    async fn chat(&self, body: &Value) -> Reply {
        self.post("/chat/completions", body).await
    }

    /// The upstream calls this cell caused (media fetches aside).
    fn upstream(&self) -> Vec<RecordedRequest> {
        let tag = self.tag.as_str();
        self.env
            .sim
            .requests_where(|r| !r.path.starts_with("/_sim/") && (r.path.contains(tag) || mentions(&r.body, tag)))
    }

    /// The body of the cell's last upstream call.
    fn sent(&self) -> Result<Value, String> {
        self.upstream().pop().map(|r| r.body).ok_or_else(|| "nothing reached the upstream".to_owned())
    }

    /// The paths of the cell's media fetches.
    fn fetches(&self) -> Vec<String> {
        let tag = self.tag.as_str();
        self.env
            .sim
            .requests_where(|r| r.path.starts_with("/_sim/media/") && r.path.contains(tag))
            .into_iter()
            .map(|r| r.path)
            .collect()
    }

    /// `Some(message)` when the reply is a clean refusal: a 400 in
    /// OpenRouter's error shape, with nothing sent upstream.
    fn refusal(&self, r: &Reply) -> Option<String> {
        if r.status != 400 {
            return None;
        }
        let v: Value = serde_json::from_str(&r.text).ok()?;
        let message = v["error"]["message"].as_str().filter(|m| !m.is_empty())?;
        (v["error"]["code"] == 400 && self.upstream().is_empty()).then(|| message.to_owned())
    }
}

/// True when a string anywhere in `v` contains `needle`.
fn mentions(v: &Value, needle: &str) -> bool {
    match v {
        Value::String(s) => s.contains(needle),
        Value::Array(items) => items.iter().any(|x| mentions(x, needle)),
        Value::Object(m) => m.iter().any(|(k, x)| k.contains(needle) || mentions(x, needle)),
        _ => false,
    }
}

/// Every value under `key`, anywhere in `v`.
fn find<'a>(v: &'a Value, key: &str) -> Vec<&'a Value> {
    fn walk<'a>(v: &'a Value, key: &str, out: &mut Vec<&'a Value>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    if k == key {
                        out.push(x);
                    }
                    walk(x, key, out);
                }
            }
            Value::Array(items) => items.iter().for_each(|x| walk(x, key, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(v, key, &mut out);
    out
}

/// Standard base64 with padding.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for group in bytes.chunks(3) {
        let byte = |i: usize| u32::from(group.get(i).copied().unwrap_or(0));
        let n = (byte(0) << 16) | (byte(1) << 8) | byte(2);
        for i in 0..4 {
            if i <= group.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The conversation turns the upstream received, system turns left out.
fn turns(p: Proto, sent: &Value) -> Vec<Value> {
    let list = if matches!(p, Proto::Gemini | Proto::Vertex) { &sent["contents"] } else { &sent["messages"] };
    let all = list.as_array().cloned().unwrap_or_default();
    all.into_iter().filter(|m| !matches!(m["role"].as_str(), Some("system" | "developer"))).collect()
}

/// Where each protocol takes the system prompt, as text.
fn system_text(p: Proto, sent: &Value) -> String {
    match p {
        Proto::Openai | Proto::Azure | Proto::Cohere => {
            let all = sent["messages"].as_array().cloned().unwrap_or_default();
            let sys = all.iter().filter(|m| matches!(m["role"].as_str(), Some("system" | "developer")));
            sys.map(Value::to_string).collect()
        }
        Proto::Anthropic | Proto::Bedrock => sent["system"].to_string(),
        Proto::Gemini | Proto::Vertex => sent["systemInstruction"].to_string(),
    }
}

/// `field` of choice 0's delta, concatenated over the stream's chunks.
fn deltas(chunks: &[Value], field: &str) -> String {
    chunks.iter().filter_map(|c| c["choices"].get(0).and_then(|ch| ch["delta"][field].as_str())).collect()
}

/// The first finish reason of a stream.
fn stream_finish(chunks: &[Value]) -> Value {
    chunks
        .iter()
        .filter_map(|c| c["choices"].get(0))
        .map(|ch| ch["finish_reason"].clone())
        .find(|f| !f.is_null())
        .unwrap_or(Value::Null)
}

fn usage_chunks(chunks: &[Value]) -> Vec<usize> {
    chunks.iter().enumerate().filter(|(_, c)| c.get("usage").is_some_and(|u| !u.is_null())).map(|(i, _)| i).collect()
}

/// Tokens and cost in `usage` at the matrix prices.
fn check_usage(u: &Value, prompt: u64, completion: u64, cached: u64) -> Result<(), String> {
    ensure!(u["prompt_tokens"] == prompt && u["completion_tokens"] == completion, "usage: {u}");
    if cached > 0 {
        ensure!(u["prompt_tokens_details"]["cached_tokens"] == cached, "cached tokens: {u}");
    }
    let want = (prompt - cached) as f64 * PROMPT_PRICE
        + cached as f64 * CACHE_READ_PRICE
        + completion as f64 * COMPLETION_PRICE;
    let got = u["cost"].as_f64().ok_or_else(|| format!("no usage.cost: {u}"))?;
    ensure!((got - want).abs() < 1e-12, "cost {got}, want {want}: {u}");
    Ok(())
}

fn tools() -> Value {
    json!([
        {"type": "function", "function": {"name": "get_weather", "description": "Weather for a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}},
        {"type": "function", "function": {"name": "get_time",
            "parameters": {"type": "object", "properties": {"zone": {"type": "string"}}}}}
    ])
}

fn names<'a>(defs: &'a Value, pointer: &str) -> Vec<&'a str> {
    defs.as_array().into_iter().flatten().filter_map(|d| d.pointer(pointer).and_then(Value::as_str)).collect()
}

impl Feature {
    async fn check(self, c: &Cell<'_>) -> Checked {
        match self {
            Feature::Text => text(c).await,
            Feature::Stream => stream(c).await,
            Feature::System => system(c).await,
            Feature::MultiTurn => multi_turn(c).await,
            Feature::Tools => tool_choice(c).await,
            Feature::ToolDeltas => tool_deltas(c).await,
            Feature::ToolResults => tool_results(c).await,
            Feature::JsonSchema => json_schema(c).await,
            Feature::ReasoningEffort => reasoning_effort(c).await,
            Feature::ReasoningBudget => reasoning_budget(c).await,
            Feature::ReasoningText => reasoning_text(c).await,
            Feature::Cached => cached(c).await,
            Feature::ImageData => image_data(c).await,
            Feature::ImageUrl => image_url(c).await,
            Feature::Pdf => pdf(c).await,
            Feature::PdfUrl => pdf_url(c).await,
            Feature::Audio => audio(c).await,
            Feature::Stop => stop(c).await,
            Feature::Errors => errors(c).await,
            Feature::StreamError => stream_error(c).await,
            Feature::Embeddings => embeddings(c).await,
        }
    }
}

async fn text(c: &Cell<'_>) -> Checked {
    let v = answer!(c, c.body("text")).ok()?;
    ensure!(v["id"].as_str().is_some_and(|id| id.starts_with("gen-")), "id: {}", v["id"]);
    ensure!(v["provider"] == c.col.name, "provider: {}", v["provider"]);
    ensure!(v["model"] == c.model("text").as_str(), "model: {}", v["model"]);
    let choice = &v["choices"][0];
    ensure!(choice["message"]["content"] == TEXT, "content: {}", choice["message"]["content"]);
    ensure!(choice["finish_reason"] == "stop", "finish_reason: {}", choice["finish_reason"]);
    ensure!(choice["native_finish_reason"].is_string(), "native_finish_reason: {}", choice["native_finish_reason"]);
    check_usage(&v["usage"], 10, 5, 0)?;
    Ok(Obs::Works(""))
}

async fn stream(c: &Cell<'_>) -> Checked {
    let cs = answer!(c, c.stream(c.body("text"))).chunks()?;
    ensure!(deltas(&cs, "content") == TEXT, "streamed content: {:?}", deltas(&cs, "content"));
    ensure!(stream_finish(&cs) == "stop", "finish_reason: {}", stream_finish(&cs));
    let usage = usage_chunks(&cs);
    ensure!(usage == [cs.len() - 1], "usage must come once, in the last chunk: chunks {usage:?} of {}", cs.len());
    let last = &cs[cs.len() - 1];
    ensure!(last["choices"] == json!([]), "the usage chunk has choices: {last}");
    check_usage(&last["usage"], 10, 5, 0)?;
    Ok(Obs::Works(""))
}

async fn system(c: &Cell<'_>) -> Checked {
    let (sys, dev) = (format!("SYS-{}", c.tag), format!("DEV-{}", c.tag));
    let messages = json!([
        {"role": "system", "content": format!("Be terse. {sys}")},
        {"role": "developer", "content": format!("Answer in English. {dev}")},
        {"role": "user", "content": format!("Hello [{}]", c.tag)}
    ]);
    let v = answer!(c, c.with_messages("text", messages)).ok()?;
    ensure!(v["choices"][0]["message"]["content"] == TEXT, "content: {}", v["choices"][0]["message"]["content"]);
    let sent = c.sent()?;
    let native = system_text(c.proto(), &sent);
    ensure!(native.contains(&sys) && native.contains(&dev), "the system prompt is not in its native place: {sent}");
    for t in turns(c.proto(), &sent) {
        ensure!(!t.to_string().contains(&sys), "the system prompt went into a turn: {t}");
    }
    Ok(Obs::Works(""))
}

async fn multi_turn(c: &Cell<'_>) -> Checked {
    let said = [format!("Q1-{}", c.tag), format!("A1-{}", c.tag), format!("Q2-{}", c.tag)];
    let messages = json!([
        {"role": "user", "content": said[0]},
        {"role": "assistant", "content": said[1]},
        {"role": "user", "content": said[2]}
    ]);
    let v = answer!(c, c.with_messages("text", messages)).ok()?;
    ensure!(v["choices"][0]["message"]["content"] == TEXT, "content: {}", v["choices"][0]["message"]["content"]);
    let sent = c.sent()?;
    let t = turns(c.proto(), &sent);
    ensure!(t.len() == 3, "want 3 turns upstream, got {}: {sent}", t.len());
    let roles: Vec<&str> = t.iter().map(|m| m["role"].as_str().unwrap_or("")).collect();
    ensure!(
        roles[0] == "user" && matches!(roles[1], "assistant" | "model") && roles[2] == "user",
        "turn roles: {roles:?}"
    );
    for (turn, text) in t.iter().zip(&said) {
        ensure!(mentions(turn, text), "turn out of order or lost: {text} not in {turn}");
    }
    Ok(Obs::Works(""))
}

async fn tool_choice(c: &Cell<'_>) -> Checked {
    let mut b = c.body("tools");
    b["tools"] = tools();
    b["tool_choice"] = json!({"type": "function", "function": {"name": "get_weather"}});
    let v = answer!(c, b).ok()?;
    let choice = &v["choices"][0];
    ensure!(choice["finish_reason"] == "tool_calls", "finish_reason: {}", choice["finish_reason"]);
    let calls = choice["message"]["tool_calls"].as_array().cloned().unwrap_or_default();
    ensure!(!calls.is_empty(), "no tool calls: {v}");
    for call in &calls {
        ensure!(call["id"].as_str().is_some_and(|id| !id.is_empty()) && call["type"] == "function", "call: {call}");
        let args: Value = serde_json::from_str(call["function"]["arguments"].as_str().unwrap_or(""))
            .map_err(|e| format!("arguments are not JSON ({e}): {call}"))?;
        ensure!(args["city"] == "Paris", "arguments: {args}");
    }
    ensure!(calls[0]["function"]["name"] == "get_weather", "first call: {}", calls[0]);
    let sent = c.sent()?;
    let both = ["get_weather", "get_time"];
    let mut note = "";
    match c.proto() {
        Proto::Openai | Proto::Azure => {
            ensure!(sent["tools"] == tools(), "tools: {}", sent["tools"]);
            ensure!(sent["tool_choice"]["function"]["name"] == "get_weather", "tool_choice: {}", sent["tool_choice"]);
        }
        Proto::Anthropic => {
            ensure!(names(&sent["tools"], "/name") == both, "tools: {}", sent["tools"]);
            ensure!(sent["tools"][0]["input_schema"]["properties"]["city"].is_object(), "schema: {}", sent["tools"]);
            let tc = &sent["tool_choice"];
            ensure!(tc["type"] == "tool" && tc["name"] == "get_weather", "tool_choice: {tc}");
        }
        Proto::Gemini | Proto::Vertex => {
            let decls = &sent["tools"][0]["functionDeclarations"];
            ensure!(names(decls, "/name") == both, "tools: {}", sent["tools"]);
            let schema = if decls[0]["parametersJsonSchema"].is_null() {
                &decls[0]["parameters"]
            } else {
                &decls[0]["parametersJsonSchema"]
            };
            ensure!(schema["properties"]["city"].is_object(), "schema: {decls}");
            let fc = &sent["toolConfig"]["functionCallingConfig"];
            ensure!(fc["mode"] == "ANY" && fc["allowedFunctionNames"] == json!(["get_weather"]), "toolConfig: {fc}");
        }
        Proto::Bedrock => {
            let defs = &sent["toolConfig"]["tools"];
            ensure!(names(defs, "/toolSpec/name") == both, "tools: {defs}");
            ensure!(defs[0]["toolSpec"]["inputSchema"]["json"]["properties"]["city"].is_object(), "schema: {defs}");
            let tc = &sent["toolConfig"]["toolChoice"];
            ensure!(tc["tool"]["name"] == "get_weather", "toolChoice: {tc}");
        }
        Proto::Cohere => {
            // Cohere cannot name a tool: only that tool is sent, as required.
            ensure!(names(&sent["tools"], "/function/name") == ["get_weather"], "tools: {}", sent["tools"]);
            ensure!(sent["tools"][0]["function"]["parameters"]["properties"]["city"].is_object(), "schema");
            ensure!(sent["tool_choice"] == "REQUIRED", "tool_choice: {}", sent["tool_choice"]);
            note = "named choice: only that tool is sent";
        }
    }
    Ok(Obs::Works(note))
}

async fn tool_deltas(c: &Cell<'_>) -> Checked {
    let mut b = c.stream(c.body("tools"));
    b["tools"] = tools();
    let cs = answer!(c, b).chunks()?;
    let (mut ids, mut names, mut args, mut fragments) =
        (vec![String::new(); 2], vec![String::new(); 2], vec![String::new(); 2], [0usize; 2]);
    for chunk in &cs {
        let calls = chunk["choices"].get(0).and_then(|ch| ch["delta"]["tool_calls"].as_array());
        for call in calls.into_iter().flatten() {
            let i = call["index"].as_u64().map_or(usize::MAX, |i| i as usize);
            ensure!(i < 2, "tool call index: {call}");
            if let Some(id) = call["id"].as_str() {
                ids[i] = id.to_owned();
            }
            if let Some(n) = call["function"]["name"].as_str() {
                names[i].push_str(n);
            }
            let a = call["function"]["arguments"].as_str().unwrap_or("");
            if !a.is_empty() {
                args[i].push_str(a);
                fragments[i] += 1;
            }
        }
    }
    ensure!(names == ["get_weather", "get_time"], "names: {names:?}");
    ensure!(ids.iter().all(|id| !id.is_empty()) && ids[0] != ids[1], "ids: {ids:?}");
    for a in &args {
        let parsed: Value = serde_json::from_str(a).map_err(|e| format!("arguments {a:?} are not JSON: {e}"))?;
        ensure!(parsed["city"] == "Paris", "arguments: {a}");
    }
    ensure!(stream_finish(&cs) == "tool_calls", "finish_reason: {}", stream_finish(&cs));
    ensure!(usage_chunks(&cs).len() == 1, "usage chunks: {:?}", usage_chunks(&cs));
    Ok(Obs::Works(if fragments == [1, 1] { "whole calls" } else { "" }))
}

async fn tool_results(c: &Cell<'_>) -> Checked {
    let id = format!("call_{}", c.tag);
    let mut b = c.with_messages(
        "text",
        json!([
            {"role": "user", "content": format!("Weather in Rome? [{}]", c.tag)},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": id, "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Rome\"}"}}]},
            {"role": "tool", "tool_call_id": id, "content": "{\"temp_c\":20}"}
        ]),
    );
    b["tools"] = tools();
    let v = answer!(c, b).ok()?;
    ensure!(v["choices"][0]["message"]["content"] == TEXT, "content: {}", v["choices"][0]["message"]["content"]);
    let sent = c.sent()?;
    let mut note = "";
    match c.proto() {
        Proto::Openai | Proto::Azure | Proto::Cohere => {
            let t = turns(c.proto(), &sent);
            ensure!(t.len() == 3, "turns: {sent}");
            let call = &t[1]["tool_calls"][0];
            ensure!(call["id"] == id.as_str() && call["function"]["name"] == "get_weather", "call: {}", t[1]);
            ensure!(t[2]["role"] == "tool" && t[2]["tool_call_id"] == id.as_str(), "result: {}", t[2]);
            ensure!(mentions(&t[2]["content"], "temp_c"), "result content: {}", t[2]);
        }
        Proto::Anthropic => {
            let uses: Vec<&Value> = find(&sent, "type").into_iter().filter(|t| *t == "tool_use").collect();
            ensure!(uses.len() == 1, "tool_use blocks: {sent}");
            let call = find(&sent, "input");
            ensure!(call.iter().any(|i| i["city"] == "Rome"), "tool_use input: {sent}");
            ensure!(find(&sent, "id").iter().any(|i| *i == id.as_str()), "tool_use id: {sent}");
            ensure!(find(&sent, "tool_use_id") == [&json!(id)], "tool_result id: {sent}");
        }
        Proto::Gemini | Proto::Vertex => {
            // Gemini pairs a response with its call by name, not id.
            let call = find(&sent, "functionCall");
            ensure!(
                call.len() == 1 && call[0]["name"] == "get_weather" && call[0]["args"]["city"] == "Rome",
                "call: {sent}"
            );
            let resp = find(&sent, "functionResponse");
            ensure!(
                resp.len() == 1 && resp[0]["name"] == "get_weather" && resp[0]["response"]["temp_c"] == 20,
                "functionResponse: {sent}"
            );
            note = "paired by name";
        }
        Proto::Bedrock => {
            let call = find(&sent, "toolUse");
            ensure!(
                call.len() == 1 && call[0]["toolUseId"] == id.as_str() && call[0]["input"]["city"] == "Rome",
                "toolUse: {sent}"
            );
            let result = find(&sent, "toolResult");
            ensure!(result.len() == 1 && result[0]["toolUseId"] == id.as_str(), "toolResult: {sent}");
            ensure!(
                mentions(&result[0]["content"], "temp_c") || find(result[0], "temp_c").len() == 1,
                "toolResult content: {sent}"
            );
        }
    }
    Ok(Obs::Works(note))
}

async fn json_schema(c: &Cell<'_>) -> Checked {
    let schema = json!({"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"],
        "additionalProperties": false});
    let rf = json!({"type": "json_schema", "json_schema": {"name": "answer", "strict": true, "schema": schema}});
    let scenario = if c.proto() == Proto::Anthropic { "forced-tool" } else { "json" };
    let mut b = c.body(scenario);
    b["response_format"] = rf.clone();
    let v = answer!(c, b.clone()).ok()?;
    let content = v["choices"][0]["message"]["content"].as_str().unwrap_or("");
    let parsed: Value = serde_json::from_str(content).map_err(|e| format!("content is not JSON ({e}): {content:?}"))?;
    ensure!(parsed.is_object(), "content is not an object: {content}");
    let sent = c.sent()?;
    let cs = answer!(c, c.stream(b)).chunks()?;
    ensure!(deltas(&cs, "content") == content, "streamed content {:?}, want {content:?}", deltas(&cs, "content"));
    let note = match c.proto() {
        Proto::Openai | Proto::Azure => {
            ensure!(sent["response_format"] == rf, "response_format: {}", sent["response_format"]);
            "passed through"
        }
        Proto::Anthropic => {
            let tool = sent["tools"].as_array().and_then(|t| t.iter().find(|t| t["name"] == "json_response"));
            ensure!(tool.is_some_and(|t| t["input_schema"] == schema), "no json_response tool: {sent}");
            let tc = &sent["tool_choice"];
            ensure!(tc["type"] == "tool" && tc["name"] == "json_response", "tool_choice: {tc}");
            "forced tool"
        }
        Proto::Gemini | Proto::Vertex => {
            let g = &sent["generationConfig"];
            ensure!(g["responseMimeType"] == "application/json", "generationConfig: {g}");
            ensure!(g["responseJsonSchema"] == schema, "responseJsonSchema: {g}");
            "`responseJsonSchema`"
        }
        Proto::Bedrock => {
            let tf = &sent["outputConfig"]["textFormat"];
            ensure!(tf["type"] == "json_schema", "outputConfig: {}", sent["outputConfig"]);
            let s = tf["structure"]["jsonSchema"]["schema"].as_str().unwrap_or("");
            ensure!(serde_json::from_str::<Value>(s).ok() == Some(schema.clone()), "schema: {tf}");
            "`outputConfig.textFormat`"
        }
        Proto::Cohere => {
            let f = &sent["response_format"];
            ensure!(f["type"] == "json_object" && f["json_schema"] == schema, "response_format: {f}");
            "`json_object` with schema"
        }
    };
    Ok(Obs::Works(note))
}

async fn reasoning_effort(c: &Cell<'_>) -> Checked {
    let mut b = c.body("reasoning");
    b["reasoning"] = json!({"effort": "high"});
    b["max_tokens"] = json!(4000);
    answer!(c, b).ok()?;
    let sent = c.sent()?;
    // high = 80% of max_tokens where the native knob is a budget.
    let note = match c.proto() {
        Proto::Openai | Proto::Azure => {
            ensure!(sent["reasoning_effort"] == "high", "reasoning_effort: {sent}");
            "`reasoning_effort`"
        }
        Proto::Anthropic => {
            ensure!(sent["thinking"] == json!({"type": "enabled", "budget_tokens": 3200}), "thinking: {sent}");
            "thinking budget"
        }
        Proto::Gemini | Proto::Vertex => {
            let t = &sent["generationConfig"]["thinkingConfig"];
            ensure!(t["thinkingBudget"] == 3200, "thinkingConfig: {sent}");
            "`thinkingBudget`"
        }
        Proto::Bedrock => {
            let t = &sent["additionalModelRequestFields"]["thinking"];
            ensure!(t["type"] == "enabled" && t["budget_tokens"] == 3200, "thinking: {sent}");
            "Claude thinking"
        }
        Proto::Cohere => {
            ensure!(
                sent["thinking"]["type"] == "enabled" && sent["thinking"]["token_budget"] == 3200,
                "thinking: {sent}"
            );
            "`thinking`"
        }
    };
    Ok(Obs::Works(note))
}

async fn reasoning_budget(c: &Cell<'_>) -> Checked {
    let mut b = c.body("reasoning");
    b["reasoning"] = json!({"max_tokens": 2048});
    answer!(c, b).ok()?;
    let sent = c.sent()?;
    let note = match c.proto() {
        Proto::Openai | Proto::Azure => {
            // No `max_tokens` to measure 2048 against: a small budget is a low effort.
            ensure!(sent["reasoning_effort"] == "low", "reasoning_effort: {sent}");
            "nearest `reasoning_effort`"
        }
        Proto::Anthropic => {
            ensure!(sent["thinking"] == json!({"type": "enabled", "budget_tokens": 2048}), "thinking: {sent}");
            ""
        }
        Proto::Gemini | Proto::Vertex => {
            ensure!(sent["generationConfig"]["thinkingConfig"]["thinkingBudget"] == 2048, "thinkingConfig: {sent}");
            ""
        }
        Proto::Bedrock => {
            ensure!(sent["additionalModelRequestFields"]["thinking"]["budget_tokens"] == 2048, "thinking: {sent}");
            "Claude thinking"
        }
        Proto::Cohere => {
            ensure!(sent["thinking"]["token_budget"] == 2048, "thinking: {sent}");
            ""
        }
    };
    Ok(Obs::Works(note))
}

async fn reasoning_text(c: &Cell<'_>) -> Checked {
    let mut b = c.body("reasoning");
    b["reasoning"] = json!({"effort": "medium"});
    let v = answer!(c, b.clone()).ok()?;
    let message = &v["choices"][0]["message"];
    ensure!(message["reasoning"] == REASONING, "message.reasoning: {message}");
    ensure!(message["content"] == TEXT, "content: {message}");
    let cs = answer!(c, c.stream(b)).chunks()?;
    ensure!(deltas(&cs, "reasoning") == REASONING, "streamed reasoning: {:?}", deltas(&cs, "reasoning"));
    ensure!(deltas(&cs, "content") == TEXT, "streamed content: {:?}", deltas(&cs, "content"));
    Ok(Obs::Works(""))
}

async fn cached(c: &Cell<'_>) -> Checked {
    let v = answer!(c, c.body("cached")).ok()?;
    check_usage(&v["usage"], 10, 5, 4)?;
    let cs = answer!(c, c.stream(c.body("cached"))).chunks()?;
    let usage = cs.last().map(|l| l["usage"].clone()).unwrap_or(Value::Null);
    check_usage(&usage, 10, 5, 4).map_err(|e| format!("stream: {e}"))?;
    Ok(Obs::Works(""))
}

/// Checks that the upstream got `data` (base64) of `mime` in its native media place.
fn native_media(p: Proto, sent: &Value, mime: &str, data: &str) -> Result<(), String> {
    let uri = format!("data:{mime};base64,{data}");
    let found = match p {
        Proto::Openai | Proto::Azure | Proto::Cohere => mentions(sent, &uri),
        Proto::Anthropic => {
            find(sent, "source").iter().any(|s| s["type"] == "base64" && s["media_type"] == mime && s["data"] == data)
        }
        Proto::Gemini | Proto::Vertex => {
            find(sent, "inlineData").iter().any(|b| b["mimeType"] == mime && b["data"] == data)
        }
        Proto::Bedrock => {
            let format = mime.rsplit('/').next().unwrap_or("");
            let key = if mime.starts_with("image/") { "image" } else { "document" };
            find(sent, key).iter().any(|b| b["format"] == format && b["source"]["bytes"] == data)
        }
    };
    ensure!(found, "the {mime} data is not in its native place: {sent}");
    Ok(())
}

async fn image_data(c: &Cell<'_>) -> Checked {
    let data = base64(switchyard_sim::media::PNG);
    let part = json!({"type": "image_url", "image_url": {"url": format!("data:image/png;base64,{data}")}});
    answer!(c, c.with_part("text", part)).ok()?;
    native_media(c.proto(), &c.sent()?, "image/png", &data)?;
    Ok(Obs::Works(""))
}

/// A URL of the simulator's media route, unique to the cell.
fn media_url(c: &Cell<'_>, file: &str) -> String {
    format!("http://{}/_sim/media/{file}?cell={}", c.env.sim.addr(), c.tag)
}

/// Sends `part` (pointing at `url`) and checks that the URL reached the
/// upstream as is, or was fetched once and inlined as `mime`.
async fn by_url(c: &Cell<'_>, part: Value, url: &str, mime: &str, bytes: &[u8]) -> Checked {
    answer!(c, c.with_part("text", part)).ok()?;
    let sent = c.sent()?;
    let fetches = c.fetches();
    let note = match c.proto() {
        Proto::Openai | Proto::Azure | Proto::Cohere | Proto::Anthropic => {
            ensure!(mentions(&sent, url), "the URL did not reach the upstream: {sent}");
            ensure!(fetches.is_empty(), "the gateway fetched a URL the upstream takes: {fetches:?}");
            "URL passed on"
        }
        Proto::Gemini | Proto::Vertex | Proto::Bedrock => {
            ensure!(fetches.len() == 1, "media fetches: {fetches:?}");
            ensure!(!mentions(&sent, url), "the URL itself reached the upstream: {sent}");
            native_media(c.proto(), &sent, mime, &base64(bytes))?;
            "fetched and inlined"
        }
    };
    Ok(Obs::Works(note))
}

async fn image_url(c: &Cell<'_>) -> Checked {
    let url = media_url(c, "cat.png");
    let part = json!({"type": "image_url", "image_url": {"url": url}});
    by_url(c, part, &url, "image/png", switchyard_sim::media::PNG).await
}

async fn pdf(c: &Cell<'_>) -> Checked {
    let data = base64(switchyard_sim::media::PDF);
    let file = json!({"filename": "doc.pdf", "file_data": format!("data:application/pdf;base64,{data}")});
    answer!(c, c.with_part("text", json!({"type": "file", "file": file}))).ok()?;
    native_media(c.proto(), &c.sent()?, "application/pdf", &data)?;
    Ok(Obs::Works(""))
}

async fn pdf_url(c: &Cell<'_>) -> Checked {
    let url = media_url(c, "doc.pdf");
    let part = json!({"type": "file", "file": {"filename": "doc.pdf", "file_data": url}});
    by_url(c, part, &url, "application/pdf", switchyard_sim::media::PDF).await
}

async fn audio(c: &Cell<'_>) -> Checked {
    let part = json!({"type": "input_audio", "input_audio": {"data": WAV_B64, "format": "wav"}});
    answer!(c, c.with_part("text", part)).ok()?;
    let sent = c.sent()?;
    match c.proto() {
        Proto::Gemini | Proto::Vertex => native_media(c.proto(), &sent, "audio/wav", WAV_B64)?,
        _ => {
            let passed = find(&sent, "input_audio").iter().any(|a| a["data"] == WAV_B64 && a["format"] == "wav");
            ensure!(passed, "input_audio did not reach the upstream: {sent}");
        }
    }
    Ok(Obs::Works(""))
}

async fn stop(c: &Cell<'_>) -> Checked {
    let mut b = c.body("text");
    let stops = json!(["END", "STOP"]);
    b["stop"] = stops.clone();
    answer!(c, b).ok()?;
    let sent = c.sent()?;
    let native = match c.proto() {
        Proto::Openai | Proto::Azure => &sent["stop"],
        Proto::Anthropic | Proto::Cohere => &sent["stop_sequences"],
        Proto::Gemini | Proto::Vertex => &sent["generationConfig"]["stopSequences"],
        Proto::Bedrock => &sent["inferenceConfig"]["stopSequences"],
    };
    ensure!(*native == stops, "stop sequences not in their native place: {sent}");
    Ok(Obs::Works(""))
}

async fn errors(c: &Cell<'_>) -> Checked {
    let expect = |r: &Reply, status: u16, kind: Option<&str>| -> Result<(), String> {
        ensure!(r.status == status, "want HTTP {status}, got {}: {}", r.status, r.short());
        let v = r.json()?;
        ensure!(v["error"]["code"] == status, "error.code: {v}");
        ensure!(v["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "error.message: {v}");
        ensure!(v["error"]["metadata"]["provider_name"] == c.col.name, "metadata.provider_name: {v}");
        if let Some(kind) = kind {
            ensure!(v["error"]["metadata"]["error_type"] == kind, "metadata.error_type: {v}");
        }
        Ok(())
    };
    let r = c.chat(&c.body("e429")).await;
    expect(&r, 429, Some("rate_limit_exceeded"))?;
    ensure!(r.retry_after.as_deref() == Some("7"), "Retry-After: {:?}", r.retry_after);
    expect(&c.chat(&c.body("e400")).await, 400, None)?;
    let overloaded = if c.proto() == Proto::Anthropic { "e529" } else { "e503" };
    expect(&c.chat(&c.body(overloaded)).await, 503, Some("provider_overloaded"))?;
    Ok(Obs::Works(""))
}

async fn stream_error(c: &Cell<'_>) -> Checked {
    let cs = answer!(c, c.stream(c.body("error-after"))).chunks()?;
    let Some(at) = cs.iter().position(|ch| ch.get("error").is_some_and(|e| !e.is_null())) else {
        return Err(format!("no error chunk: {cs:?}"));
    };
    let err = &cs[at];
    ensure!(err["choices"][0]["finish_reason"] == "error", "error chunk: {err}");
    ensure!(err["error"]["code"].as_u64().is_some_and(|c| c >= 500), "error code: {err}");
    let before = deltas(&cs[..at], "content");
    ensure!(before == "tok0 tok1 tok2 ", "content before the error: {before:?}");
    let usage = usage_chunks(&cs);
    ensure!(usage.len() == 1 && usage[0] > at, "want one usage chunk after the error, got {usage:?} (error at {at})");
    Ok(Obs::Works(""))
}

async fn embeddings(c: &Cell<'_>) -> Checked {
    let b = json!({"model": c.model("embed"), "input": [format!("hello [{}]", c.tag), format!("second [{}]", c.tag)]});
    let r = c.post("/embeddings", &b).await;
    if let Some(message) = c.refusal(&r) {
        return Ok(Obs::Refused(message));
    }
    let v = r.ok()?;
    ensure!(v["provider"] == c.col.name, "provider: {}", v["provider"]);
    let data = v["data"].as_array().cloned().unwrap_or_default();
    ensure!(data.len() == 2, "want 2 vectors: {v}");
    ensure!(data.iter().all(|d| d["embedding"].as_array().is_some_and(|e| !e.is_empty())), "vectors: {v}");
    ensure!(v["usage"]["prompt_tokens"].as_u64().is_some_and(|n| n > 0), "usage: {}", v["usage"]);
    ensure!(v["usage"]["cost"].as_f64().is_some_and(|x| x > 0.0), "cost: {}", v["usage"]);
    let paths: Vec<String> = c.upstream().into_iter().map(|r| r.path).collect();
    let (native, note) = match c.proto() {
        Proto::Openai | Proto::Azure => ("/embeddings", ""),
        Proto::Anthropic => ("", ""),
        Proto::Gemini => (":batchEmbedContents", "`batchEmbedContents`"),
        Proto::Vertex => (":predict", "`predict`"),
        Proto::Bedrock => ("/invoke", "`InvokeModel` (Titan)"),
        Proto::Cohere => ("/v2/embed", "`/v2/embed`"),
    };
    ensure!(!paths.is_empty() && paths.iter().all(|p| p.ends_with(native)), "upstream paths: {paths:?}");
    Ok(Obs::Works(note))
}

/// A cell's outcome, as expected or as observed.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Outcome {
    Works,
    Refused,
    NotOffered,
    Gap,
}

impl Outcome {
    fn parse(symbol: &str) -> Outcome {
        match symbol {
            "✅" => Outcome::Works,
            "✗" => Outcome::Refused,
            "–" => Outcome::NotOffered,
            "GAP" => Outcome::Gap,
            other => panic!("unknown expectation symbol {other:?}"),
        }
    }

    fn symbol(&self) -> &'static str {
        match self {
            Outcome::Works => "✅",
            Outcome::Refused => "✗",
            Outcome::NotOffered => "–",
            Outcome::Gap => "GAP",
        }
    }
}

/// The rendered block between the markers: the table, a legend, what the
/// refusals say and the known gaps.
fn render(observed: &[Vec<(Outcome, String)>], refusals: &[String], gaps: &[String]) -> String {
    let mut t = String::new();
    t.push_str("<!-- Generated by `cargo test -p switchyard-e2e matrix`; do not edit by hand. -->\n\n");
    t.push_str("| feature |");
    for c in &COLUMNS {
        t.push_str(&format!(" {} |", c.title));
    }
    t.push_str("\n|---|");
    t.push_str(&"---|".repeat(COLUMNS.len()));
    t.push('\n');
    for ((_, title, _), row) in ROWS.iter().zip(observed) {
        t.push_str(&format!("| {title} |"));
        for (outcome, note) in row {
            let symbol = if *outcome == Outcome::Gap { "⚠️" } else { outcome.symbol() };
            if note.is_empty() {
                t.push_str(&format!(" {symbol} |"));
            } else {
                t.push_str(&format!(" {symbol} {note} |"));
            }
        }
        t.push('\n');
    }
    t.push_str("\n✅ works · ✗ refused with a clear 400 · – not offered by the provider");
    if !gaps.is_empty() {
        t.push_str(" · ⚠️ known gap");
    }
    t.push('\n');
    for (heading, items) in [("What the refusals say:", refusals), ("Known gaps:", gaps)] {
        if !items.is_empty() {
            t.push_str(&format!("\n{heading}\n\n"));
            for item in items {
                t.push_str(&format!("- {item}\n"));
            }
        }
    }
    t
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feature_matrix_matches_expectations_and_docs() {
    let started = Instant::now();
    let (env, _keys) = Env::start_with_vertex_upstream("allow_private_media_urls = true", &models_toml()).await;
    let booted = started.elapsed();
    let env = &env;
    let mut cells = Vec::new();
    for (ri, (feature, _, _)) in ROWS.iter().enumerate() {
        for (ci, col) in COLUMNS.iter().enumerate() {
            cells.push(async move {
                let cell = Cell { env, col, tag: format!("mx{ci}r{ri:02}z") };
                (ri, ci, feature.check(&cell).await)
            });
        }
    }
    let results = join_all(cells).await;

    let mut observed = vec![vec![(Outcome::Works, String::new()); COLUMNS.len()]; ROWS.len()];
    let mut wrong = Vec::new();
    let (mut refusals, mut gaps) = (Vec::new(), Vec::new());
    for (ri, ci, result) in results {
        let (feature, title, expected) = ROWS[ri];
        let symbols: Vec<&str> = expected.split_whitespace().collect();
        assert_eq!(symbols.len(), COLUMNS.len(), "row {title:?} needs one symbol per column");
        let want = Outcome::parse(symbols[ci]);
        let col = &COLUMNS[ci];
        let (got, note, detail) = match result {
            Ok(Obs::Works(note)) => (Outcome::Works, note.to_owned(), String::new()),
            Ok(Obs::Refused(message)) => {
                let prefix = format!("{}: ", col.name);
                let message =
                    message.strip_prefix(&prefix).unwrap_or(&message).replace(&env.sim.addr().to_string(), "<sim>");
                if want == Outcome::Refused {
                    refusals.push((ri, ci, format!("{title}, {}: “{message}”", col.title)));
                }
                let got = if want == Outcome::NotOffered { Outcome::NotOffered } else { Outcome::Refused };
                (got, String::new(), message)
            }
            Err(failure) => {
                let gap = GAPS.iter().find(|(f, key, ..)| *f == feature && *key == col.key);
                if let (Some((.., why)), Outcome::Gap) = (gap, &want) {
                    gaps.push((ri, ci, format!("{title}, {}: {why}", col.title)));
                }
                (Outcome::Gap, gap.map_or("", |g| g.2).to_owned(), failure)
            }
        };
        if got != want {
            let seen = if got == Outcome::Gap { "a failing check" } else { got.symbol() };
            wrong.push(format!("{title} / {}: expected {}, observed {seen}: {detail}", col.title, want.symbol()));
        }
        observed[ri][ci] = (got, note);
    }
    let elapsed = started.elapsed();
    eprintln!("matrix: {} cells in {elapsed:?} ({booted:?} to start)", ROWS.len() * COLUMNS.len());
    wrong.sort();
    assert!(wrong.is_empty(), "{} cells differ from the expected matrix:\n{}", wrong.len(), wrong.join("\n"));

    let in_order = |mut items: Vec<(usize, usize, String)>| {
        items.sort();
        items.into_iter().map(|(.., text)| text).collect::<Vec<_>>()
    };
    let block = render(&observed, &in_order(refusals), &in_order(gaps));
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/providers.md");
    let doc = std::fs::read_to_string(&path).unwrap();
    let start = doc.find(START).expect("docs/providers.md has the matrix start marker") + START.len();
    let end = doc.find(END).expect("docs/providers.md has the matrix end marker");
    assert!(start <= end, "the matrix markers are out of order");
    let updated = format!("{}\n{block}{}", &doc[..start], &doc[end..]);
    if updated != doc {
        assert!(
            std::env::var_os("CI").is_none(),
            "docs/providers.md is out of date: run `cargo test -p switchyard-e2e matrix` and commit it"
        );
        std::fs::write(&path, updated).unwrap();
    }
}
