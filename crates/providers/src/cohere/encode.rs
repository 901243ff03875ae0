//! Canonical request to a Cohere v2 chat body.
//!
//! The body borrows from the canonical request, so the same request can be
//! encoded again for a fallback and base64 payloads are never copied.
//! Sampling values are clamped into Cohere's ranges (`p` 0.01..0.99, `k`
//! 0..500, penalties 0..1, temperature at least 0) rather than refused.
//! Canonical fields Cohere lacks (`repetition_penalty`, `min_p`, `top_a`,
//! `user`, and from `extra` `logit_bias`, `logprobs`, `parallel_tool_calls`...)
//! and every other unknown `extra` field are dropped: forwarding them would
//! only turn a working request into a 400. `n` above 1 is refused.

use std::borrow::Cow;

use serde_json::{Value, json};
use switchyard_api::chat::{Stop, ToolCall as CanonToolCall};
use switchyard_api::{ChatRequest, Content, ContentPart, Message as CanonMessage, Role as CanonRole};

use super::wire::{
    Content as WireContent, FunctionCall, FunctionDef, ImageUrl, Message, Part, Request, ResponseFormat, Thinking,
    ToolCall, ToolChoice, ToolDef,
};
use crate::error::ProviderError;

/// Cohere's `p` range.
const MIN_P: f64 = 0.01;
/// Cohere's `p` range.
const MAX_P: f64 = 0.99;
/// Cohere's largest `k`.
const MAX_K: u32 = 500;

pub(super) fn unsupported(msg: impl Into<String>) -> ProviderError {
    ProviderError::Unsupported(msg.into())
}

/// Encodes the body for `POST {base}/chat`.
pub fn encode(req: &ChatRequest, upstream_model: &str) -> Result<Vec<u8>, ProviderError> {
    let body = build(req, upstream_model)?;
    serde_json::to_vec(&body).map_err(|e| unsupported(format!("request cannot be encoded: {e}")))
}

/// Builds the body as a typed value (what [`encode`] serialises).
pub fn build<'a>(req: &'a ChatRequest, upstream_model: &'a str) -> Result<Request<'a>, ProviderError> {
    if let Some(n) = req.extra.get("n").and_then(Value::as_u64)
        && n > 1
    {
        return Err(unsupported(format!("Cohere returns one choice per request; `n` = {n} is not supported")));
    }
    let mut tools = tool_defs(req)?;
    let tool_choice = tool_choice(req, &mut tools)?;
    let response_format = response_format(req)?;
    if response_format.is_some() && !tools.is_empty() {
        return Err(unsupported("Cohere cannot combine a JSON `response_format` with tools"));
    }
    let strict = req.tools.iter().flatten().any(|t| t.function.as_ref().and_then(|f| f.strict) == Some(true));

    Ok(Request {
        model: upstream_model,
        messages: messages(&req.messages)?,
        strict_tools: (strict && !tools.is_empty()).then_some(true),
        tools: (!tools.is_empty()).then_some(tools),
        tool_choice,
        response_format,
        max_tokens: req.max_output_tokens(),
        stop_sequences: stop_sequences(req.stop.as_ref()),
        temperature: req.temperature.map(|t| t.max(0.0)),
        seed: req.seed,
        frequency_penalty: req.frequency_penalty.map(|v| v.clamp(0.0, 1.0)),
        presence_penalty: req.presence_penalty.map(|v| v.clamp(0.0, 1.0)),
        k: req.top_k.map(|k| k.min(MAX_K)),
        p: req.top_p.map(|p| p.clamp(MIN_P, MAX_P)),
        thinking: thinking(req)?,
        stream: req.is_stream(),
    })
}

/// Reasoning settings as `thinking`: off (`enabled: false` or effort
/// `none`) is `disabled`; an explicit `reasoning.max_tokens` is the budget;
/// an effort (or `enabled: true`) turns thinking on, with a budget derived
/// from `max_tokens` by OpenRouter's effort ratios when one is set, else
/// Cohere's default. `reasoning: {}` or `include_reasoning` alone send
/// nothing. Only reasoning models (e.g. command-a-reasoning) accept it.
pub fn thinking(req: &ChatRequest) -> Result<Option<Thinking>, ProviderError> {
    let r = req.reasoning.as_ref();
    let effort = r.and_then(|r| r.effort.as_deref()).or(req.reasoning_effort.as_deref());
    let enabled = r.and_then(|r| r.enabled);
    if enabled == Some(false) || effort == Some("none") {
        return Ok(Some(Thinking { kind: "disabled", token_budget: None }));
    }
    let token_budget = if let Some(n) = r.and_then(|r| r.max_tokens) {
        Some(n.max(1))
    } else if let Some(e) = effort {
        let percent = effort_percent(e).ok_or_else(|| unsupported(format!("unknown reasoning effort `{e}`")))?;
        // At most max_tokens, so the cast back cannot truncate.
        req.max_output_tokens().map(|m| (u64::from(m) * percent / 100).max(1) as u32)
    } else if enabled == Some(true) {
        None
    } else {
        return Ok(None);
    };
    Ok(Some(Thinking { kind: "enabled", token_budget }))
}

/// OpenRouter's effort to budget ratios, in percent.
fn effort_percent(effort: &str) -> Option<u64> {
    Some(match effort {
        "max" | "xhigh" => 95,
        "high" => 80,
        "medium" => 50,
        "low" => 20,
        "minimal" => 10,
        _ => return None,
    })
}

/// The conversation, message by message (Cohere keeps OpenAI's roles).
fn messages(msgs: &[CanonMessage]) -> Result<Vec<Message<'_>>, ProviderError> {
    let mut out = Vec::with_capacity(msgs.len());
    for m in msgs {
        let msg = match m.role {
            CanonRole::System | CanonRole::Developer => match &m.content {
                None => continue,
                Some(c) => Message::System { content: text_content(c, "system")? },
            },
            CanonRole::User => Message::User { content: user_content(m.content.as_ref())? },
            CanonRole::Assistant => match assistant(m) {
                Some(msg) => msg,
                None => continue, // nothing said and nothing called
            },
            CanonRole::Tool => {
                let tool_call_id =
                    m.tool_call_id.as_deref().ok_or_else(|| unsupported("a `tool` message needs `tool_call_id`"))?;
                let content = match &m.content {
                    None => WireContent::Text(""),
                    Some(c) => text_content(c, "tool")?,
                };
                Message::Tool { tool_call_id, content }
            }
            CanonRole::Function => {
                return Err(unsupported("`function` messages are not supported by Cohere; use `tool` messages"));
            }
        };
        out.push(msg);
    }
    Ok(out)
}

/// System and tool content: text or text blocks only.
fn text_content<'a>(content: &'a Content, who: &str) -> Result<WireContent<'a>, ProviderError> {
    match content {
        Content::Text(t) => Ok(WireContent::Text(t)),
        Content::Parts(parts) => parts
            .iter()
            .map(|p| match p {
                ContentPart::Text { text, .. } => Ok(Part::Text { text }),
                _ => Err(unsupported(format!("Cohere accepts only text in {who} messages"))),
            })
            .collect::<Result<_, _>>()
            .map(WireContent::Parts),
    }
}

/// User content: text and images; audio, files and video have no Cohere
/// chat equivalent.
fn user_content(content: Option<&Content>) -> Result<WireContent<'_>, ProviderError> {
    let parts = match content {
        None => return Ok(WireContent::Text("")),
        Some(Content::Text(t)) => return Ok(WireContent::Text(t)),
        Some(Content::Parts(parts)) => parts,
    };
    parts
        .iter()
        .map(|p| match p {
            ContentPart::Text { text, .. } => Ok(Part::Text { text }),
            ContentPart::ImageUrl { image_url, .. } => {
                Ok(Part::ImageUrl { image_url: ImageUrl { url: &image_url.url, detail: image_url.detail.as_deref() } })
            }
            ContentPart::InputAudio { .. } => Err(unsupported("Cohere does not accept audio input")),
            ContentPart::File { .. } => Err(unsupported("Cohere chat does not accept files; send their text instead")),
            ContentPart::VideoUrl { .. } => Err(unsupported("Cohere does not accept video input")),
        })
        .collect::<Result<_, _>>()
        .map(WireContent::Parts)
}

/// An assistant turn. With tool calls, its text (else its `reasoning`, which
/// is where the decoders put Cohere's `tool_plan`) travels as `tool_plan`,
/// the shape Cohere itself produces; `None` for an empty turn.
fn assistant(m: &CanonMessage) -> Option<Message<'_>> {
    let text = match &m.content {
        None => None,
        Some(Content::Text(t)) => Some(Cow::Borrowed(t.as_str())),
        Some(c @ Content::Parts(_)) => Some(Cow::Owned(c.text())),
    }
    .filter(|t| !t.is_empty());
    let calls: Vec<ToolCall<'_>> = m.tool_calls.iter().flatten().map(tool_call).collect();
    if calls.is_empty() {
        return text.map(|t| Message::Assistant { content: Some(t), tool_plan: None, tool_calls: None });
    }
    let reasoning = m.reasoning.as_deref().filter(|r| !r.is_empty()).map(Cow::Borrowed);
    Some(Message::Assistant { content: None, tool_plan: text.or(reasoning), tool_calls: Some(calls) })
}

fn tool_call(call: &CanonToolCall) -> ToolCall<'_> {
    let args = call.function.arguments.as_str();
    ToolCall {
        id: &call.id,
        kind: "function",
        // Clients send "" for calls without arguments.
        function: FunctionCall {
            name: &call.function.name,
            arguments: if args.trim().is_empty() { "{}" } else { args },
        },
    }
}

/// Function tools, OpenAI's shape; a missing schema becomes an empty object
/// schema.
fn tool_defs(req: &ChatRequest) -> Result<Vec<ToolDef<'_>>, ProviderError> {
    let mut out = Vec::new();
    for t in req.tools.iter().flatten() {
        let f = match (t.kind.as_str(), &t.function) {
            ("function", Some(f)) => f,
            ("function", None) => return Err(unsupported("a function tool needs `function`")),
            (other, _) => return Err(unsupported(format!("tool type `{other}` is not supported by Cohere"))),
        };
        let parameters = f
            .parameters
            .as_ref()
            .map_or_else(|| Cow::Owned(json!({"type": "object", "properties": {}})), Cow::Borrowed);
        out.push(ToolDef {
            kind: "function",
            function: FunctionDef { name: &f.name, description: f.description.as_deref(), parameters },
        });
    }
    Ok(out)
}

/// `tool_choice`: `none` → `NONE`, `required` → `REQUIRED`, `auto` → left
/// out. Cohere cannot force one named tool, so a named function is
/// emulated by sending only that tool with `REQUIRED`. Without tools,
/// `none` and `auto` are left out (Cohere refuses a choice with no tools).
fn tool_choice(req: &ChatRequest, tools: &mut Vec<ToolDef<'_>>) -> Result<Option<ToolChoice>, ProviderError> {
    let Some(choice) = &req.tool_choice else { return Ok(None) };
    let name = match choice {
        Value::String(s) => match s.as_str() {
            "auto" => return Ok(None),
            "none" => return Ok((!tools.is_empty()).then_some(ToolChoice::None)),
            "required" | "any" if tools.is_empty() => {
                return Err(unsupported("tool_choice `required` needs at least one tool"));
            }
            "required" | "any" => return Ok(Some(ToolChoice::Required)),
            other => return Err(unsupported(format!("unknown tool_choice `{other}`"))),
        },
        v => v
            .get("function")
            .and_then(|f| f.get("name"))
            .and_then(Value::as_str)
            .ok_or_else(|| unsupported("tool_choice must be none, auto, required or a named function"))?,
    };
    if !tools.iter().any(|t| t.function.name == name) {
        return Err(unsupported(format!("tool_choice names `{name}`, which is not among the tools")));
    }
    tools.retain(|t| t.function.name == name);
    Ok(Some(ToolChoice::Required))
}

/// `json_object` as is; `json_schema` as a `json_object` carrying the
/// schema; `text` is the default and left out.
fn response_format(req: &ChatRequest) -> Result<Option<ResponseFormat<'_>>, ProviderError> {
    let Some(rf) = &req.response_format else { return Ok(None) };
    match rf.get("type").and_then(Value::as_str) {
        Some("json_object") => Ok(Some(ResponseFormat { kind: "json_object", json_schema: None })),
        Some("json_schema") => {
            let schema = rf.get("json_schema").and_then(|j| j.get("schema"));
            Ok(Some(ResponseFormat { kind: "json_object", json_schema: schema }))
        }
        Some("text") | None => Ok(None),
        Some(other) => Err(unsupported(format!("response_format `{other}` is not supported by Cohere"))),
    }
}

fn stop_sequences(stop: Option<&Stop>) -> Option<Vec<&str>> {
    match stop? {
        Stop::One(s) => Some(vec![s.as_str()]),
        Stop::Many(v) if v.is_empty() => None,
        Stop::Many(v) => Some(v.iter().map(String::as_str).collect()),
    }
}

#[cfg(test)]
#[path = "encode_tests.rs"]
mod tests;
