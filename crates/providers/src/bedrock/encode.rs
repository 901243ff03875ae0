//! Canonical request to a Bedrock Converse body.
//!
//! Shapes per the reference's `ConverseRequest`: `messages` of union content
//! blocks (`text`, `image`, `document`, `toolUse`, `toolResult`,
//! `reasoningContent`, `cachePoint`), `system`, `inferenceConfig`,
//! `toolConfig`, `outputConfig.textFormat` and `additionalModelRequestFields`
//! (Claude `thinking` and `top_k`). Consecutive turns of one role are merged
//! (Bedrock enforces alternation). Canonical fields Converse lacks
//! (penalties, `seed`...) and unknown `extra` fields are dropped. Images and
//! PDFs must be base64 data URIs: Bedrock cannot fetch URLs.

use serde_json::{Map, Value, json};
use switchyard_api::chat::{Stop, ToolCall};
use switchyard_api::{ChatRequest, Content, ContentPart, Message as CanonMessage, Role as CanonRole};

use super::{REASONING_FORMAT, is_anthropic};
use crate::anthropic::encode::{DEFAULT_MAX_TOKENS, thinking_budget};
use crate::error::ProviderError;
use crate::translate::{ClaudeThinking, parse_data_uri};

fn unsupported(msg: impl Into<String>) -> ProviderError {
    ProviderError::Unsupported(msg.into())
}

/// Encodes the body for `POST {base}/model/{id}/converse[-stream]`. The
/// model travels in the path; `upstream_model` decides model-family fields.
pub fn encode(req: &ChatRequest, upstream_model: &str) -> Result<Vec<u8>, ProviderError> {
    let body = build(req, upstream_model)?;
    serde_json::to_vec(&body).map_err(|e| unsupported(format!("request cannot be encoded: {e}")))
}

/// Builds the body as a JSON value (what [`encode`] serialises).
pub fn build(req: &ChatRequest, upstream_model: &str) -> Result<Value, ProviderError> {
    let anthropic = is_anthropic(upstream_model);
    let max_out = req.max_output_tokens();
    // Thinking is Claude's; other models ignore the reasoning settings.
    let budget = if anthropic { thinking_budget(req, max_out)? } else { None };
    let thinking = budget.is_some();
    let mut body = Map::new();
    let messages = messages(&req.messages)?;
    let history_has_tools = messages.iter().any(|m| {
        m["content"]
            .as_array()
            .is_some_and(|c| c.iter().any(|b| b.get("toolUse").is_some() || b.get("toolResult").is_some()))
    });
    body.insert("messages".into(), Value::Array(messages));
    let system = system(&req.messages)?;
    if !system.is_empty() {
        body.insert("system".into(), Value::Array(system));
    }

    let mut inference = Map::new();
    let max_tokens = match (max_out, budget) {
        (Some(m), _) => Some(m),
        (None, Some(b)) => Some(b.saturating_add(DEFAULT_MAX_TOKENS)),
        (None, None) => None,
    };
    if let Some(m) = max_tokens {
        inference.insert("maxTokens".into(), m.into());
    }
    // Claude refuses temperature changes, and top_p below 0.95, while thinking.
    if let Some(t) = req.temperature.filter(|_| !thinking) {
        inference.insert("temperature".into(), t.clamp(0.0, 1.0).into());
    }
    if let Some(p) = req.top_p.filter(|p| !thinking || *p >= 0.95) {
        inference.insert("topP".into(), p.into());
    }
    if let Some(stop) = stop_sequences(req.stop.as_ref()) {
        inference.insert("stopSequences".into(), stop);
    }
    if !inference.is_empty() {
        body.insert("inferenceConfig".into(), Value::Object(inference));
    }

    if let Some(tc) = tool_config(req, history_has_tools)? {
        body.insert("toolConfig".into(), tc);
    }
    if let Some(oc) = output_config(req)? {
        body.insert("outputConfig".into(), oc);
    }

    let mut additional = Map::new();
    if let Some(b) = budget {
        additional.insert("thinking".into(), json!({"type": "enabled", "budget_tokens": b}));
    }
    if let Some(k) = req.top_k.filter(|_| anthropic && !thinking) {
        additional.insert("top_k".into(), k.into());
    }
    if !additional.is_empty() {
        body.insert("additionalModelRequestFields".into(), Value::Object(additional));
    }
    Ok(Value::Object(body))
}

/// System and developer messages, wherever they appear, as `system` blocks.
fn system(msgs: &[CanonMessage]) -> Result<Vec<Value>, ProviderError> {
    let mut out = Vec::new();
    for m in msgs.iter().filter(|m| matches!(m.role, CanonRole::System | CanonRole::Developer)) {
        for b in content_blocks(m.content.as_ref())? {
            if b.get("text").is_none() && b.get("cachePoint").is_none() {
                return Err(unsupported("Bedrock accepts only text in system messages"));
            }
            out.push(b);
        }
    }
    Ok(out)
}

/// The conversation as user/assistant turns; tool results ride in user turns.
fn messages(msgs: &[CanonMessage]) -> Result<Vec<Value>, ProviderError> {
    let mut out: Vec<(&'static str, Vec<Value>)> = Vec::with_capacity(msgs.len());
    for m in msgs {
        let (role, blocks) = match m.role {
            CanonRole::System | CanonRole::Developer => continue,
            CanonRole::User => ("user", content_blocks(m.content.as_ref())?),
            CanonRole::Assistant => ("assistant", assistant_blocks(m)?),
            CanonRole::Tool => ("user", vec![tool_result(m)?]),
            CanonRole::Function => {
                return Err(unsupported("`function` messages are not supported by Bedrock; use `tool` messages"));
            }
        };
        if blocks.is_empty() {
            continue; // Bedrock refuses empty turns
        }
        match out.last_mut() {
            Some((r, content)) if *r == role => content.extend(blocks),
            _ => out.push((role, blocks)),
        }
    }
    Ok(out.into_iter().map(|(role, content)| json!({"role": role, "content": content})).collect())
}

/// Text or parts as content blocks; empty text is skipped (Bedrock refuses
/// blank text) and `cache_control` becomes a `cachePoint` after its block.
fn content_blocks(content: Option<&Content>) -> Result<Vec<Value>, ProviderError> {
    let mut out = Vec::new();
    match content {
        None => {}
        Some(Content::Text(t)) if t.is_empty() => {}
        Some(Content::Text(t)) => out.push(json!({"text": t})),
        Some(Content::Parts(parts)) => {
            for p in parts {
                let (block, extra) = match p {
                    ContentPart::Text { text, .. } if text.is_empty() => continue,
                    ContentPart::Text { text, extra } => (json!({"text": text}), extra),
                    ContentPart::ImageUrl { image_url, extra } => (image(&image_url.url)?, extra),
                    ContentPart::File { file, extra } => (document(file)?, extra),
                    ContentPart::InputAudio { .. } => {
                        return Err(unsupported("audio input is not supported on Bedrock"));
                    }
                    ContentPart::VideoUrl { .. } => return Err(unsupported("video input is not supported on Bedrock")),
                };
                out.push(block);
                if extra.get("cache_control").is_some() {
                    out.push(json!({"cachePoint": {"type": "default"}}));
                }
            }
        }
    }
    Ok(out)
}

/// `data:<media>;base64,<data>` as its media type and data.
fn image(url: &str) -> Result<Value, ProviderError> {
    let Some((media, data)) = parse_data_uri(url) else {
        return Err(unsupported("images on Bedrock must be base64 data URIs (URLs are not fetched)"));
    };
    let format = match media {
        "image/png" => "png",
        "image/jpeg" | "image/jpg" => "jpeg",
        "image/gif" => "gif",
        "image/webp" => "webp",
        other => return Err(unsupported(format!("image type `{other}` is not supported by Bedrock"))),
    };
    Ok(json!({"image": {"format": format, "source": {"bytes": data}}}))
}

/// A `file` part (`{filename?, file_data}`) as a PDF `document`.
fn document(file: &Value) -> Result<Value, ProviderError> {
    let data = file.get("file_data").and_then(Value::as_str);
    let Some(("application/pdf", data)) = data.and_then(parse_data_uri) else {
        return Err(unsupported("files on Bedrock must be PDFs given as base64 data URIs in `file_data`"));
    };
    let filename = file.get("filename").and_then(Value::as_str).unwrap_or("document");
    Ok(json!({"document": {"format": "pdf", "name": document_name(filename), "source": {"bytes": data}}}))
}

/// A document name Bedrock accepts: alphanumerics, single spaces, hyphens,
/// parentheses and square brackets; the extension is dropped.
fn document_name(filename: &str) -> String {
    let stem = filename.rsplit_once('.').map_or(filename, |(s, _)| s);
    let mapped: String =
        stem.chars().map(|c| if c.is_ascii_alphanumeric() || " -()[]".contains(c) { c } else { '-' }).collect();
    let name = mapped.split_whitespace().collect::<Vec<_>>().join(" ");
    if name.is_empty() { "document".into() } else { name }
}

/// Reasoning blocks first (passed back for thinking + tool use), then text,
/// then the tool calls.
fn assistant_blocks(m: &CanonMessage) -> Result<Vec<Value>, ProviderError> {
    let mut blocks = m.reasoning_details.as_ref().map(reasoning_blocks).unwrap_or_default();
    blocks.extend(content_blocks(m.content.as_ref())?);
    for call in m.tool_calls.iter().flatten() {
        blocks.push(tool_use(call)?);
    }
    Ok(blocks)
}

/// Signed Claude `reasoning_details` back into `reasoningContent` blocks
/// (see [`crate::translate::claude_thinking`]).
fn reasoning_blocks(details: &Value) -> Vec<Value> {
    crate::translate::claude_thinking(details, REASONING_FORMAT)
        .into_iter()
        .map(|t| match t {
            ClaudeThinking::Signed { text, signature } => {
                json!({"reasoningContent": {"reasoningText": {"text": text, "signature": signature}}})
            }
            ClaudeThinking::Redacted(data) => json!({"reasoningContent": {"redactedContent": data}}),
        })
        .collect()
}

fn tool_use(call: &ToolCall) -> Result<Value, ProviderError> {
    let input = crate::translate::tool_arguments(call, "Bedrock")?;
    Ok(json!({"toolUse": {"toolUseId": call.id, "name": call.function.name, "input": input}}))
}

/// A `tool` message as a `toolResult`: a JSON object result as `{json}`,
/// anything else as `{text}`.
fn tool_result(m: &CanonMessage) -> Result<Value, ProviderError> {
    let id = m.tool_call_id.as_deref().ok_or_else(|| unsupported("a `tool` message needs `tool_call_id`"))?;
    let content = match &m.content {
        Some(Content::Text(t)) => match serde_json::from_str::<Value>(t) {
            Ok(v @ Value::Object(_)) => vec![json!({"json": v})],
            _ if t.is_empty() => Vec::new(),
            _ => vec![json!({"text": t})],
        },
        other => content_blocks(other.as_ref())?.into_iter().filter(|b| b.get("cachePoint").is_none()).collect(),
    };
    Ok(json!({"toolResult": {"toolUseId": id, "content": content}}))
}

/// `toolConfig`. `tool_choice: "none"` has no Converse equivalent: the tools
/// are left out, unless the history holds tool blocks (Bedrock then needs
/// them) in which case they are sent without a choice.
fn tool_config(req: &ChatRequest, history_has_tools: bool) -> Result<Option<Value>, ProviderError> {
    let mut tools = Vec::new();
    for t in req.tools.iter().flatten() {
        let f = match (t.kind.as_str(), &t.function) {
            ("function", Some(f)) => f,
            ("function", None) => return Err(unsupported("a function tool needs `function`")),
            (other, _) => return Err(unsupported(format!("tool type `{other}` is not supported by Bedrock"))),
        };
        let schema = match &f.parameters {
            Some(p @ Value::Object(o)) if !o.is_empty() => p.clone(),
            _ => json!({"type": "object", "properties": {}}),
        };
        let mut spec = json!({"name": f.name, "inputSchema": {"json": schema}});
        if let Some(d) = f.description.as_deref().filter(|d| !d.is_empty()) {
            spec["description"] = d.into();
        }
        tools.push(json!({"toolSpec": spec}));
        if t.extra.get("cache_control").is_some() {
            tools.push(json!({"cachePoint": {"type": "default"}}));
        }
    }
    if tools.is_empty() {
        return Ok(None);
    }
    let choice = match &req.tool_choice {
        None => None,
        Some(Value::String(s)) => match s.as_str() {
            "none" if history_has_tools => None,
            "none" => return Ok(None),
            "auto" => Some(json!({"auto": {}})),
            "required" | "any" => Some(json!({"any": {}})),
            other => return Err(unsupported(format!("unknown tool_choice `{other}`"))),
        },
        Some(v) => match v.get("function").and_then(|f| f.get("name")).and_then(Value::as_str) {
            Some(n) => Some(json!({"tool": {"name": n}})),
            None => return Err(unsupported("tool_choice must be none, auto, required or a named function")),
        },
    };
    let mut config = json!({"tools": tools});
    if let Some(c) = choice {
        config["toolChoice"] = c;
    }
    Ok(Some(config))
}

/// `response_format` `json_schema` as `outputConfig.textFormat` (the schema
/// travels as a JSON string).
fn output_config(req: &ChatRequest) -> Result<Option<Value>, ProviderError> {
    let Some(rf) = &req.response_format else { return Ok(None) };
    match rf.get("type").and_then(Value::as_str) {
        Some("text") | None => Ok(None),
        Some("json_schema") => {
            let js = rf.get("json_schema");
            let schema = js.and_then(|j| j.get("schema")).cloned().unwrap_or_else(|| json!({"type": "object"}));
            let mut structure = json!({
                "schema": serde_json::to_string(&schema).unwrap_or_default(),
                "name": js.and_then(|j| j.get("name")).and_then(Value::as_str).unwrap_or("response"),
            });
            if let Some(d) = js.and_then(|j| j.get("description")).and_then(Value::as_str) {
                structure["description"] = d.into();
            }
            Ok(Some(json!({"textFormat": {"type": "json_schema", "structure": {"jsonSchema": structure}}})))
        }
        Some(other) => Err(unsupported(format!("response_format `{other}` is not supported by Bedrock Converse"))),
    }
}

fn stop_sequences(stop: Option<&Stop>) -> Option<Value> {
    match stop? {
        Stop::One(s) if s.is_empty() => None,
        Stop::One(s) => Some(json!([s])),
        Stop::Many(v) if v.is_empty() => None,
        Stop::Many(v) => Some(json!(v)),
    }
}

#[cfg(test)]
#[path = "encode_tests.rs"]
mod tests;
