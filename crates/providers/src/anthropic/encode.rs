//! Canonical request to an Anthropic Messages body.
//!
//! The body borrows from the canonical request, so the same request can be
//! encoded again for a fallback and base64 payloads are never copied.
//! Canonical fields Anthropic lacks (penalties, `seed`, `min_p`, `top_a`,
//! `logit_bias`, `n`...) and every unknown `extra` field are dropped: the
//! Messages API refuses unknown fields, so forwarding them would only turn a
//! working request into a 400.

use std::borrow::Cow;

use serde_json::{Value, json};
use switchyard_api::chat::{Stop, ToolCall};
use switchyard_api::{ChatRequest, Content, ContentPart, Message as CanonMessage, Role as CanonRole};

use super::wire::{
    Block, Message, Metadata, Request, Role, Source, System, Thinking, ToolChoice, ToolDef, ToolResultContent,
};
use super::{JSON_NOTE, JSON_TOOL, REASONING_FORMAT, response_tool};
use crate::error::ProviderError;
use crate::openai::encode::hash_user;
use crate::translate::{ClaudeThinking, parse_data_uri};

/// `max_tokens` when the client sets none (Anthropic requires one). With
/// thinking on, the answer still gets this much on top of the budget.
pub const DEFAULT_MAX_TOKENS: u32 = 4096;
/// Anthropic's smallest thinking budget.
const MIN_BUDGET: u32 = 1024;
/// OpenRouter's cap on a budget derived from an effort.
const MAX_BUDGET: u32 = 128_000;

pub(super) fn unsupported(msg: impl Into<String>) -> ProviderError {
    ProviderError::Unsupported(msg.into())
}

/// Encodes the body for `POST {base}/messages`.
pub fn encode(req: &ChatRequest, upstream_model: &str) -> Result<Vec<u8>, ProviderError> {
    let body = build(req, upstream_model)?;
    let fail = |e: serde_json::Error| unsupported(format!("request cannot be encoded: {e}"));
    // Native web search (the gateway's web plugin) adds a server tool.
    let Some(tool) = super::web_search::server_tool(req) else { return serde_json::to_vec(&body).map_err(fail) };
    let mut body = serde_json::to_value(&body).map_err(fail)?;
    super::web_search::add_tool(&mut body, tool);
    serde_json::to_vec(&body).map_err(fail)
}

/// Builds the body as a typed value (what [`encode`] serialises).
pub fn build<'a>(req: &'a ChatRequest, upstream_model: &'a str) -> Result<Request<'a>, ProviderError> {
    let max_out = req.max_output_tokens();
    let budget = thinking_budget(req, max_out)?;
    let max_tokens = match (max_out, budget) {
        (Some(m), _) => m,
        (None, Some(b)) => b.saturating_add(DEFAULT_MAX_TOKENS),
        (None, None) => DEFAULT_MAX_TOKENS,
    };
    let thinking = budget.is_some();

    let mut tools = tool_defs(req)?;
    let has_client_tools = !tools.is_empty();
    let json = response_tool(req)?;
    if json.is_some() && tools.iter().any(|t| t.name == JSON_TOOL) {
        return Err(unsupported(format!("the tool name `{JSON_TOOL}` is reserved when `response_format` is set")));
    }
    // Forcing a tool is refused with thinking on, and would stop the model
    // from calling the client's tools: then the tool is offered, not forced.
    let force_json = json.is_some() && !thinking && !has_client_tools && req.tool_choice.is_none();
    let note = (json.is_some() && !force_json).then_some(JSON_NOTE);
    tools.extend(json);

    Ok(Request {
        model: upstream_model,
        max_tokens,
        system: system(&req.messages, note)?,
        messages: messages(&req.messages)?,
        stream: req.is_stream(),
        // Anthropic refuses temperature and top_k changes, and top_p below
        // 0.95, while thinking; its temperature range is 0..1, not 0..2.
        temperature: req.temperature.filter(|_| !thinking).map(|t| t.clamp(0.0, 1.0)),
        top_p: req.top_p.filter(|p| !thinking || *p >= 0.95),
        top_k: req.top_k.filter(|_| !thinking),
        stop_sequences: stop_sequences(req.stop.as_ref()),
        tool_choice: tool_choice(req, force_json, !tools.is_empty())?,
        tools: (!tools.is_empty()).then_some(tools),
        thinking: budget.map(|b| Thinking { kind: "enabled", budget_tokens: b }),
        metadata: req.user.as_deref().map(|u| Metadata { user_id: hash_user(u) }),
    })
}

/// Thinking budget per OpenRouter's formula: an explicit
/// `reasoning.max_tokens` (at least 1024), else
/// `max(min(max_tokens * ratio(effort), 128000), 1024)`; `None` when off.
pub fn thinking_budget(req: &ChatRequest, max_out: Option<u32>) -> Result<Option<u32>, ProviderError> {
    let r = req.reasoning.as_ref();
    let effort = r.and_then(|r| r.effort.as_deref()).or(req.reasoning_effort.as_deref());
    let enabled = r.and_then(|r| r.enabled);
    if enabled == Some(false) || effort == Some("none") {
        return Ok(None);
    }
    let wanted = if let Some(n) = r.and_then(|r| r.max_tokens) {
        n.max(MIN_BUDGET)
    } else if let Some(e) = effort.or(enabled.map(|_| "medium")) {
        let percent = effort_percent(e).ok_or_else(|| unsupported(format!("unknown reasoning effort `{e}`")))?;
        let base = u64::from(max_out.unwrap_or(DEFAULT_MAX_TOKENS));
        // Bounded by MAX_BUDGET, so the cast back cannot truncate.
        (base * percent / 100).clamp(u64::from(MIN_BUDGET), u64::from(MAX_BUDGET)) as u32
    } else {
        return Ok(None); // `reasoning: {}` or `include_reasoning` alone do not turn thinking on
    };
    match max_out {
        // Anthropic needs the budget below max_tokens; the client's cap wins.
        Some(m) if wanted >= m && m > MIN_BUDGET => Ok(Some(m - 1)),
        Some(m) if wanted >= m => {
            Err(unsupported(format!("reasoning on Anthropic needs max_tokens above {MIN_BUDGET}, got {m}")))
        }
        _ => Ok(Some(wanted)),
    }
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

/// System and developer messages, wherever they appear, become the top-level
/// `system`: a plain string when that is all there is, else text blocks so
/// `cache_control` breakpoints survive.
fn system<'a>(msgs: &'a [CanonMessage], note: Option<&'static str>) -> Result<Option<System<'a>>, ProviderError> {
    let sys: Vec<&CanonMessage> =
        msgs.iter().filter(|m| matches!(m.role, CanonRole::System | CanonRole::Developer)).collect();
    if let ([only], None) = (sys.as_slice(), note)
        && let Some(Content::Text(t)) = &only.content
    {
        return Ok((!t.is_empty()).then_some(System::Text(t)));
    }
    let mut blocks = Vec::new();
    for m in sys {
        for b in content_blocks(m.content.as_ref())? {
            match b {
                Block::Text { .. } => blocks.push(b),
                _ => return Err(unsupported("Anthropic accepts only text in system messages")),
            }
        }
    }
    blocks.extend(note.map(|n| Block::Text { text: Cow::Borrowed(n), cache_control: None }));
    Ok((!blocks.is_empty()).then_some(System::Blocks(blocks)))
}

/// The conversation as user/assistant turns. Tool results ride in user turns;
/// consecutive turns of one role are merged (Anthropic wants alternation) and
/// tool results are moved to the front of their turn, as Anthropic requires.
fn messages(msgs: &[CanonMessage]) -> Result<Vec<Message<'_>>, ProviderError> {
    let mut out: Vec<Message<'_>> = Vec::with_capacity(msgs.len());
    for m in msgs {
        let (role, blocks) = match m.role {
            CanonRole::System | CanonRole::Developer => continue,
            CanonRole::User => (Role::User, content_blocks(m.content.as_ref())?),
            CanonRole::Assistant => (Role::Assistant, assistant_blocks(m)?),
            CanonRole::Tool => (Role::User, vec![tool_result(m)?]),
            CanonRole::Function => {
                return Err(unsupported("`function` messages are not supported by Anthropic; use `tool` messages"));
            }
        };
        if blocks.is_empty() {
            continue; // Anthropic refuses empty turns
        }
        match out.last_mut() {
            Some(last) if last.role == role => last.content.extend(blocks),
            _ => out.push(Message { role, content: blocks }),
        }
    }
    for m in out.iter_mut().filter(|m| m.role == Role::User) {
        // Stable: keeps the order within results and within the rest.
        m.content.sort_by_key(|b| !matches!(b, Block::ToolResult { .. }));
    }
    Ok(out)
}

/// Text or parts as content blocks; empty text is skipped (Anthropic
/// refuses empty text blocks).
fn content_blocks(content: Option<&Content>) -> Result<Vec<Block<'_>>, ProviderError> {
    match content {
        None => Ok(Vec::new()),
        Some(Content::Text(t)) if t.is_empty() => Ok(Vec::new()),
        Some(Content::Text(t)) => Ok(vec![Block::Text { text: Cow::Borrowed(t), cache_control: None }]),
        Some(Content::Parts(parts)) => parts.iter().filter_map(|p| part_block(p).transpose()).collect(),
    }
}

fn part_block(part: &ContentPart) -> Result<Option<Block<'_>>, ProviderError> {
    Ok(Some(match part {
        ContentPart::Text { text, .. } if text.is_empty() => return Ok(None),
        ContentPart::Text { text, extra } => {
            Block::Text { text: Cow::Borrowed(text), cache_control: extra.get("cache_control") }
        }
        ContentPart::ImageUrl { image_url, extra } => {
            Block::Image { source: image_source(&image_url.url)?, cache_control: extra.get("cache_control") }
        }
        ContentPart::File { file, extra } => document(file, extra.get("cache_control"))?,
        ContentPart::InputAudio { .. } => return Err(unsupported("Anthropic does not accept audio input")),
        ContentPart::VideoUrl { .. } => return Err(unsupported("Anthropic does not accept video input")),
    }))
}

/// `data:<media>;base64,<data>` as its media type and data.
fn is_http(url: &str) -> bool {
    url.starts_with("https://") || url.starts_with("http://")
}

fn image_source(url: &str) -> Result<Source<'_>, ProviderError> {
    if let Some((media_type, data)) = parse_data_uri(url) {
        Ok(Source::Base64 { media_type, data })
    } else if is_http(url) {
        Ok(Source::Url { url })
    } else {
        Err(unsupported("images must be http(s) URLs or base64 data URIs"))
    }
}

/// A `file` part (OpenRouter: `{filename?, file_data}`) as a PDF document.
fn document<'a>(file: &'a Value, cache_control: Option<&'a Value>) -> Result<Block<'a>, ProviderError> {
    let data = file.get("file_data").and_then(Value::as_str);
    let title = file.get("filename").and_then(Value::as_str);
    let source = match data {
        Some(d) if is_http(d) => Source::Url { url: d },
        Some(d) => match parse_data_uri(d) {
            Some((media_type @ "application/pdf", data)) => Source::Base64 { media_type, data },
            _ => return Err(unsupported("Anthropic accepts files only as PDF (a base64 data URI or an http(s) URL)")),
        },
        None => return Err(unsupported("file parts need `file_data`; file ids are not supported by Anthropic")),
    };
    Ok(Block::Document { source, title, cache_control })
}

/// Thinking blocks first (passed back for thinking + tool use), then text,
/// then the tool calls.
fn assistant_blocks(m: &CanonMessage) -> Result<Vec<Block<'_>>, ProviderError> {
    let mut blocks = Vec::new();
    if let Some(details) = &m.reasoning_details {
        thinking_blocks(details, &mut blocks);
    }
    blocks.extend(content_blocks(m.content.as_ref())?);
    for call in m.tool_calls.iter().flatten() {
        blocks.push(tool_use(call)?);
    }
    Ok(blocks)
}

fn tool_use(call: &ToolCall) -> Result<Block<'_>, ProviderError> {
    let input = crate::translate::tool_arguments(call, "Anthropic")?;
    Ok(Block::ToolUse { id: &call.id, name: &call.function.name, input })
}

/// `reasoning_details` back into thinking blocks (see
/// [`crate::translate::claude_thinking`]).
fn thinking_blocks<'a>(details: &'a Value, out: &mut Vec<Block<'a>>) {
    for t in crate::translate::claude_thinking(details, REASONING_FORMAT) {
        out.push(match t {
            ClaudeThinking::Signed { text, signature } => Block::Thinking { thinking: text, signature },
            ClaudeThinking::Redacted(data) => Block::RedactedThinking { data },
        });
    }
}

fn tool_result(m: &CanonMessage) -> Result<Block<'_>, ProviderError> {
    let tool_use_id = m.tool_call_id.as_deref().ok_or_else(|| unsupported("a `tool` message needs `tool_call_id`"))?;
    let content = match &m.content {
        None => ToolResultContent::Blocks(Vec::new()),
        Some(Content::Text(t)) => ToolResultContent::Text(t),
        Some(parts) => ToolResultContent::Blocks(content_blocks(Some(parts))?),
    };
    Ok(Block::ToolResult { tool_use_id, content })
}

/// Function tools as `{name, description, input_schema}`.
fn tool_defs(req: &ChatRequest) -> Result<Vec<ToolDef<'_>>, ProviderError> {
    let mut out = Vec::new();
    for t in req.tools.iter().flatten() {
        let f = match (t.kind.as_str(), &t.function) {
            ("function", Some(f)) => f,
            ("function", None) => return Err(unsupported("a function tool needs `function`")),
            (other, _) => return Err(unsupported(format!("tool type `{other}` is not supported by Anthropic"))),
        };
        // Anthropic insists on an object schema; clients often send `{}` or nothing.
        let input_schema = match &f.parameters {
            Some(p) if p.get("type").is_some() => Cow::Borrowed(p),
            Some(Value::Object(o)) => {
                let mut o = o.clone();
                o.insert("type".into(), "object".into());
                Cow::Owned(Value::Object(o))
            }
            _ => Cow::Owned(json!({"type": "object", "properties": {}})),
        };
        out.push(ToolDef {
            name: &f.name,
            description: f.description.as_deref(),
            input_schema,
            cache_control: t.extra.get("cache_control"),
        });
    }
    Ok(out)
}

/// `tool_choice` and `parallel_tool_calls: false`. Omitted without tools:
/// Anthropic refuses a tool choice with no tools.
fn tool_choice<'a>(
    req: &'a ChatRequest,
    force_json: bool,
    has_tools: bool,
) -> Result<Option<ToolChoice<'a>>, ProviderError> {
    if !has_tools {
        return Ok(None);
    }
    if force_json {
        return Ok(Some(ToolChoice { kind: "tool", name: Some(JSON_TOOL), disable_parallel_tool_use: None }));
    }
    let serial = req.extra.get("parallel_tool_calls") == Some(&Value::Bool(false));
    let choice = |kind: &'static str, name: Option<&'a str>| ToolChoice {
        kind,
        name,
        disable_parallel_tool_use: serial.then_some(true),
    };
    Ok(match &req.tool_choice {
        None if serial => Some(choice("auto", None)),
        None => None,
        Some(Value::String(s)) => match s.as_str() {
            "none" => Some(ToolChoice { kind: "none", name: None, disable_parallel_tool_use: None }),
            "auto" => Some(choice("auto", None)),
            "required" | "any" => Some(choice("any", None)),
            other => return Err(unsupported(format!("unknown tool_choice `{other}`"))),
        },
        Some(v) => {
            let name = v.get("function").and_then(|f| f.get("name")).and_then(Value::as_str);
            match name {
                Some(n) => Some(choice("tool", Some(n))),
                None => return Err(unsupported("tool_choice must be none, auto, required or a named function")),
            }
        }
    })
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
