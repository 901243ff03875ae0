//! An Anthropic Messages request as the canonical chat request.
//!
//! Blocks become OpenAI-style parts and messages: images and PDFs become
//! `image_url` / `file` parts, `tool_use` becomes `tool_calls`, each
//! `tool_result` its own `tool` message, thinking blocks `reasoning_details`
//! (in OpenRouter's `anthropic-claude-v1` format, so a Claude upstream gets
//! them back signed). `cache_control` stays on the parts that carried it.

use serde_json::{Map, Value, json};
use switchyard_api::chat::{FunctionCall, FunctionDef, ImageUrl, Reasoning, Stop, Tool, ToolCall};
use switchyard_api::messages::{
    InputBlock, InputMessage, InputRole, MediaSource, MessageContent, MessagesRequest, OutputConfig, SystemPrompt,
    ThinkingParam, ToolChoiceParam, ToolParam, ToolResultContent,
};
use switchyard_api::{ChatRequest, Content, ContentPart, Extra, Message, Role};

use crate::error::GatewayError;

/// `reasoning_details[].format` of Claude thinking (OpenRouter's spelling).
pub(super) const CLAUDE_FORMAT: &str = "anthropic-claude-v1";

fn bad(msg: impl Into<String>) -> GatewayError {
    GatewayError::BadRequest(msg.into())
}

/// Translates the request; refuses what has no canonical meaning (server
/// tools, unknown `tool_choice` or `thinking` types) with a 400.
pub fn to_chat(req: MessagesRequest) -> Result<ChatRequest, GatewayError> {
    let mut messages = Vec::with_capacity(req.messages.len() + 1);
    if let Some(system) = req.system {
        messages.extend(system_message(system)?);
    }
    for (i, m) in req.messages.into_iter().enumerate() {
        turn(m, i, &mut messages)?;
    }
    if let Some(cc) = req.cache_control {
        place_breakpoint(&mut messages, cc);
    }
    let mut extra = Extra::new();
    let tool_choice = match req.tool_choice {
        Some(tc) => Some(tool_choice(tc, &mut extra)?),
        None => None,
    };
    let tools = match req.tools {
        Some(tools) => Some(tools.into_iter().map(tool).collect::<Result<Vec<_>, _>>()?),
        None => None,
    };
    let (reasoning, response_format) = reasoning_and_format(req.thinking, req.output_config)?;
    let user = req.user.or_else(|| req.metadata.and_then(|m| m.user_id)).filter(|u| !u.is_empty());
    Ok(ChatRequest {
        model: req.model,
        models: req.models.or(req.fallbacks),
        messages,
        stream: req.stream,
        max_tokens: Some(req.max_tokens),
        temperature: req.temperature,
        top_p: req.top_p,
        top_k: req.top_k,
        stop: req.stop_sequences.filter(|s| !s.is_empty()).map(Stop::Many),
        tools,
        tool_choice,
        response_format,
        reasoning,
        provider: req.provider,
        plugins: req.plugins,
        route: req.route,
        user,
        session_id: req.session_id,
        trace: req.trace,
        extra,
        ..ChatRequest::default()
    })
}

fn message(role: Role, content: Option<Content>) -> Message {
    Message {
        role,
        content,
        name: None,
        tool_calls: None,
        tool_call_id: None,
        reasoning: None,
        reasoning_details: None,
        extra: Extra::new(),
    }
}

fn cache_extra(cache_control: Option<Value>) -> Extra {
    let mut extra = Extra::new();
    if let Some(cc) = cache_control {
        extra.insert("cache_control".into(), cc);
    }
    extra
}

fn system_message(system: SystemPrompt) -> Result<Option<Message>, GatewayError> {
    let content = match system {
        SystemPrompt::Text(t) if t.is_empty() => return Ok(None),
        SystemPrompt::Text(t) => Content::Text(t),
        SystemPrompt::Blocks(blocks) => {
            let mut parts = Vec::with_capacity(blocks.len());
            for b in blocks {
                match b {
                    InputBlock::Text { text, cache_control } => {
                        parts.push(ContentPart::Text { text, extra: cache_extra(cache_control) })
                    }
                    _ => return Err(bad("`system` accepts only text blocks")),
                }
            }
            if parts.is_empty() {
                return Ok(None);
            }
            Content::Parts(parts)
        }
    };
    Ok(Some(message(Role::System, Some(content))))
}

/// One Anthropic turn as one or more canonical messages.
fn turn(m: InputMessage, i: usize, out: &mut Vec<Message>) -> Result<(), GatewayError> {
    match (m.role, m.content) {
        (InputRole::User, MessageContent::Text(t)) => out.push(message(Role::User, Some(Content::Text(t)))),
        (InputRole::System, MessageContent::Text(t)) => out.push(message(Role::System, Some(Content::Text(t)))),
        (InputRole::Assistant, MessageContent::Text(t)) => out.push(message(Role::Assistant, Some(Content::Text(t)))),
        (InputRole::User, MessageContent::Blocks(blocks)) => user_turn(blocks, i, out)?,
        (InputRole::System, MessageContent::Blocks(blocks)) => {
            if let Some(m) = system_message(SystemPrompt::Blocks(blocks))? {
                out.push(m);
            }
        }
        (InputRole::Assistant, MessageContent::Blocks(blocks)) => out.push(assistant_turn(blocks, i)?),
    }
    Ok(())
}

/// Tool results first, each a `tool` message (Anthropic puts them first in
/// the turn, OpenAI right after the assistant's calls), then the rest as one
/// user message.
fn user_turn(blocks: Vec<InputBlock>, i: usize, out: &mut Vec<Message>) -> Result<(), GatewayError> {
    let mut parts = Vec::new();
    for b in blocks {
        match b {
            InputBlock::ToolResult { tool_use_id, content, is_error, cache_control } => {
                let mut content = tool_result_content(content, i)?;
                if is_error == Some(true) {
                    // OpenAI's tool messages have no error flag: the model reads it.
                    content = match content {
                        Content::Text(t) => Content::Text(format!("Error: {t}")),
                        Content::Parts(mut p) => {
                            p.insert(0, ContentPart::Text { text: "Error:".into(), extra: Extra::new() });
                            Content::Parts(p)
                        }
                    };
                }
                if let Some(cc) = cache_control {
                    content = with_breakpoint(content, cc);
                }
                let mut m = message(Role::Tool, Some(content));
                m.tool_call_id = Some(tool_use_id);
                out.push(m);
            }
            other => parts.push(part(other, i)?),
        }
    }
    if !parts.is_empty() {
        out.push(message(Role::User, Some(Content::Parts(parts))));
    }
    Ok(())
}

fn tool_result_content(content: Option<ToolResultContent>, i: usize) -> Result<Content, GatewayError> {
    Ok(match content {
        None => Content::Text(String::new()),
        Some(ToolResultContent::Text(t)) => Content::Text(t),
        Some(ToolResultContent::Blocks(blocks)) => {
            let parts = blocks.into_iter().map(|b| part(b, i)).collect::<Result<Vec<_>, _>>()?;
            // Plain text where it is all text: every upstream takes that.
            let plain = parts.iter().all(|p| matches!(p, ContentPart::Text { extra, .. } if extra.is_empty()));
            if plain { Content::Text(Content::Parts(parts).text()) } else { Content::Parts(parts) }
        }
    })
}

/// A content block a user (or tool result) may carry, as a canonical part.
fn part(b: InputBlock, i: usize) -> Result<ContentPart, GatewayError> {
    Ok(match b {
        InputBlock::Text { text, cache_control } => ContentPart::Text { text, extra: cache_extra(cache_control) },
        InputBlock::Image { source, cache_control } => {
            let url = match source {
                MediaSource::Base64 { media_type, data } => format!("data:{media_type};base64,{data}"),
                MediaSource::Url { url } => url,
                MediaSource::Text { .. } => return Err(bad(format!("messages[{i}]: an image source cannot be text"))),
            };
            ContentPart::ImageUrl { image_url: ImageUrl { url, detail: None }, extra: cache_extra(cache_control) }
        }
        InputBlock::Document { source, title, cache_control } => {
            let file_data = match source {
                MediaSource::Base64 { media_type, data } => format!("data:{media_type};base64,{data}"),
                MediaSource::Url { url } => url,
                MediaSource::Text { data, .. } => {
                    let text = match title {
                        Some(t) => format!("{t}\n\n{data}"),
                        None => data,
                    };
                    return Ok(ContentPart::Text { text, extra: cache_extra(cache_control) });
                }
            };
            let filename = title.unwrap_or_else(|| "document.pdf".into());
            ContentPart::File {
                file: json!({"filename": filename, "file_data": file_data}),
                extra: cache_extra(cache_control),
            }
        }
        InputBlock::ToolUse { .. } | InputBlock::Thinking { .. } | InputBlock::RedactedThinking { .. } => {
            return Err(bad(format!("messages[{i}]: tool_use and thinking blocks belong in assistant turns")));
        }
        InputBlock::ToolResult { .. } => {
            return Err(bad(format!("messages[{i}]: a tool_result cannot be nested in another")));
        }
    })
}

/// Text as the content, tool_use blocks as tool calls, thinking blocks as
/// reasoning details (signature kept) and reasoning text.
fn assistant_turn(blocks: Vec<InputBlock>, i: usize) -> Result<Message, GatewayError> {
    let mut parts = Vec::new();
    let mut calls = Vec::new();
    let mut details = Vec::new();
    let mut reasoning = Vec::new();
    for b in blocks {
        match b {
            InputBlock::Text { text, cache_control } => {
                parts.push(ContentPart::Text { text, extra: cache_extra(cache_control) })
            }
            InputBlock::ToolUse { id, name, input, .. } => {
                let arguments = match input {
                    Value::Null => "{}".to_owned(),
                    v => v.to_string(),
                };
                calls.push(ToolCall { id, kind: "function".into(), function: FunctionCall { name, arguments } });
            }
            InputBlock::Thinking { thinking, signature } => {
                let mut d = json!({"type": "reasoning.text", "text": thinking, "format": CLAUDE_FORMAT,
                    "index": details.len()});
                if !signature.is_empty() {
                    d["signature"] = Value::String(signature);
                }
                details.push(d);
                reasoning.push(thinking);
            }
            InputBlock::RedactedThinking { data } => details.push(
                json!({"type": "reasoning.encrypted", "data": data, "format": CLAUDE_FORMAT, "index": details.len()}),
            ),
            InputBlock::Image { .. } | InputBlock::Document { .. } | InputBlock::ToolResult { .. } => {
                return Err(bad(format!("messages[{i}]: assistant turns carry only text, tool_use and thinking")));
            }
        }
    }
    let breakpoints = parts.iter().any(|p| matches!(p, ContentPart::Text { extra, .. } if !extra.is_empty()));
    let content = if parts.is_empty() {
        None
    } else if breakpoints {
        Some(Content::Parts(parts))
    } else {
        Some(Content::Text(Content::Parts(parts).text()))
    };
    let mut m = message(Role::Assistant, content);
    m.tool_calls = (!calls.is_empty()).then_some(calls);
    m.reasoning = (!reasoning.is_empty()).then(|| reasoning.concat());
    m.reasoning_details = (!details.is_empty()).then_some(Value::Array(details));
    Ok(m)
}

/// `content` with a breakpoint on its last part.
fn with_breakpoint(content: Content, cc: Value) -> Content {
    let mut parts = match content {
        Content::Text(text) => vec![ContentPart::Text { text, extra: Extra::new() }],
        Content::Parts(p) => p,
    };
    if let Some(last) = parts.last_mut() {
        let extra = match last {
            ContentPart::Text { extra, .. }
            | ContentPart::ImageUrl { extra, .. }
            | ContentPart::InputAudio { extra, .. }
            | ContentPart::File { extra, .. }
            | ContentPart::VideoUrl { extra, .. } => extra,
        };
        extra.insert("cache_control".into(), cc);
    }
    Content::Parts(parts)
}

/// The top-level `cache_control`: Anthropic puts the breakpoint on the last
/// cacheable block, i.e. the last part of the last message with content.
fn place_breakpoint(messages: &mut [Message], cc: Value) {
    let last = messages.iter_mut().rev().find(|m| match &m.content {
        Some(Content::Text(t)) => !t.is_empty(),
        Some(Content::Parts(p)) => !p.is_empty(),
        None => false,
    });
    if let Some(m) = last
        && let Some(content) = m.content.take()
    {
        m.content = Some(with_breakpoint(content, cc));
    }
}

fn tool(t: ToolParam) -> Result<Tool, GatewayError> {
    match t.kind.as_deref() {
        None | Some("custom") => {}
        Some(other) => return Err(bad(format!("server tool `{other}` is not supported; declare client tools"))),
    }
    let parameters = t.input_schema.unwrap_or_else(|| json!({"type": "object", "properties": {}}));
    let extra = cache_extra(t.cache_control);
    Ok(Tool {
        kind: "function".into(),
        function: Some(FunctionDef {
            name: t.name,
            description: t.description,
            parameters: Some(parameters),
            strict: t.strict,
        }),
        extra,
    })
}

/// `auto` / `any` / `tool` / `none` as OpenAI's choices;
/// `disable_parallel_tool_use` as `parallel_tool_calls: false`.
fn tool_choice(tc: ToolChoiceParam, extra: &mut Extra) -> Result<Value, GatewayError> {
    if tc.disable_parallel_tool_use == Some(true) {
        extra.insert("parallel_tool_calls".into(), Value::Bool(false));
    }
    Ok(match tc.kind.as_str() {
        "auto" => json!("auto"),
        "any" => json!("required"),
        "none" => json!("none"),
        "tool" => match tc.name {
            Some(name) => json!({"type": "function", "function": {"name": name}}),
            None => return Err(bad("`tool_choice` of type `tool` needs `name`")),
        },
        other => return Err(bad(format!("unknown `tool_choice.type` `{other}`: use auto, any, tool or none"))),
    })
}

/// `thinking` and `output_config` as OpenRouter's `reasoning` and
/// `response_format`.
fn reasoning_and_format(
    thinking: Option<ThinkingParam>,
    output: Option<OutputConfig>,
) -> Result<(Option<Reasoning>, Option<Value>), GatewayError> {
    let mut reasoning = match thinking {
        None => None,
        Some(t) => {
            let mut r = Reasoning::default();
            match t.kind.as_str() {
                "enabled" => {
                    let budget = t.budget_tokens.ok_or_else(|| bad("`thinking.budget_tokens` is required"))?;
                    r.max_tokens = Some(budget);
                }
                "adaptive" => r.enabled = Some(true),
                "disabled" => r.enabled = Some(false),
                other => {
                    return Err(bad(format!("unknown `thinking.type` `{other}`: use enabled, adaptive or disabled")));
                }
            }
            if t.display.as_deref() == Some("omitted") && r.enabled != Some(false) {
                r.exclude = Some(true);
            }
            Some(r)
        }
    };
    let Some(output) = output else { return Ok((reasoning, None)) };
    if let Some(effort) = output.effort {
        reasoning.get_or_insert_with(Reasoning::default).effort = Some(effort);
    }
    let format = match output.format {
        None | Some(Value::Null) => None,
        Some(f) => match f.get("type").and_then(Value::as_str) {
            Some("json_schema") => {
                let schema = f.get("schema").cloned().unwrap_or_else(|| json!({"type": "object"}));
                let mut js = Map::new();
                js.insert("name".into(), Value::from("output"));
                js.insert("schema".into(), schema);
                js.insert("strict".into(), Value::Bool(true));
                Some(json!({"type": "json_schema", "json_schema": js}))
            }
            _ => return Err(bad("`output_config.format.type` must be `json_schema`")),
        },
    };
    Ok((reasoning, format))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chat(body: Value) -> ChatRequest {
        to_chat(serde_json::from_value(body).unwrap()).unwrap()
    }

    fn v(req: &ChatRequest) -> Value {
        serde_json::to_value(req).unwrap()
    }

    #[test]
    fn system_blocks_images_documents_keep_cache_control() {
        let req = chat(json!({"model": "m", "max_tokens": 50,
            "system": [{"type": "text", "text": "Sys", "cache_control": {"type": "ephemeral"}}],
            "messages": [{"role": "user", "content": [
                {"type": "text", "text": "Look"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}},
                {"type": "image", "source": {"type": "url", "url": "https://x/c.jpg"}},
                {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBE"},
                 "title": "r.pdf"},
                {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "notes"}}]}],
            "metadata": {"user_id": "u-1"}, "stop_sequences": ["END"], "top_k": 3}));
        let v = v(&req);
        assert_eq!(
            v["messages"][0],
            json!({"role": "system", "content": [
            {"type": "text", "text": "Sys", "cache_control": {"type": "ephemeral"}}]})
        );
        let parts = &v["messages"][1]["content"];
        assert_eq!(parts[1]["image_url"]["url"], "data:image/png;base64,AAAA");
        assert_eq!(parts[2]["image_url"]["url"], "https://x/c.jpg");
        assert_eq!(
            parts[3],
            json!({"type": "file", "file": {"filename": "r.pdf", "file_data": "data:application/pdf;base64,JVBE"}})
        );
        assert_eq!(parts[4], json!({"type": "text", "text": "notes"}));
        assert_eq!(
            (v["max_tokens"].clone(), v["user"].clone(), v["stop"].clone()),
            (json!(50), json!("u-1"), json!(["END"]))
        );
        assert_eq!(v["top_k"], 3);
    }

    #[test]
    fn tool_round_trip_becomes_tool_calls_and_tool_messages() {
        let req = chat(json!({"model": "m", "max_tokens": 50,
            "tools": [{"name": "get_weather", "description": "W", "input_schema": {"type": "object"},
                       "cache_control": {"type": "ephemeral"}}],
            "tool_choice": {"type": "tool", "name": "get_weather", "disable_parallel_tool_use": true},
            "messages": [
                {"role": "user", "content": "Weather?"},
                {"role": "assistant", "content": [
                    {"type": "thinking", "thinking": "Need tool.", "signature": "SIG"},
                    {"type": "text", "text": "Checking."},
                    {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": [{"type": "text", "text": "18C"}]},
                    {"type": "tool_result", "tool_use_id": "toolu_2", "content": "boom", "is_error": true},
                    {"type": "text", "text": "And tomorrow?"}]}]}));
        let v = v(&req);
        let m = &v["messages"];
        assert_eq!(m[1]["content"], "Checking.");
        assert_eq!(
            m[1]["tool_calls"],
            json!([{"id": "toolu_1", "type": "function",
            "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}])
        );
        assert_eq!(
            m[1]["reasoning_details"],
            json!([{"type": "reasoning.text", "text": "Need tool.",
            "signature": "SIG", "format": "anthropic-claude-v1", "index": 0}])
        );
        assert_eq!(m[2], json!({"role": "tool", "content": "18C", "tool_call_id": "toolu_1"}));
        assert_eq!(m[3], json!({"role": "tool", "content": "Error: boom", "tool_call_id": "toolu_2"}));
        assert_eq!(m[4], json!({"role": "user", "content": [{"type": "text", "text": "And tomorrow?"}]}));
        assert_eq!(
            v["tools"],
            json!([{"type": "function", "function": {"name": "get_weather", "description": "W",
            "parameters": {"type": "object"}}, "cache_control": {"type": "ephemeral"}}])
        );
        assert_eq!(v["tool_choice"], json!({"type": "function", "function": {"name": "get_weather"}}));
        assert_eq!(v["parallel_tool_calls"], false);
    }

    #[test]
    fn thinking_output_config_and_fallbacks() {
        let base = json!({"model": "m", "max_tokens": 4000, "messages": [{"role": "user", "content": "hi"}]});
        let with = |k: &str, val: Value| {
            let mut b = base.clone();
            b[k] = val;
            chat(b)
        };
        let r = with("thinking", json!({"type": "enabled", "budget_tokens": 2048}));
        assert_eq!(r.reasoning.unwrap().max_tokens, Some(2048));
        assert_eq!(with("thinking", json!({"type": "adaptive"})).reasoning.unwrap().enabled, Some(true));
        assert_eq!(with("thinking", json!({"type": "disabled"})).reasoning.unwrap().enabled, Some(false));
        let r = with(
            "output_config",
            json!({"effort": "low", "format": {"type": "json_schema", "schema": {"type": "object"}}}),
        );
        assert_eq!(r.reasoning.unwrap().effort.as_deref(), Some("low"));
        assert_eq!(r.response_format.unwrap()["json_schema"]["schema"], json!({"type": "object"}));
        assert_eq!(with("fallbacks", json!(["a/b"])).models, Some(vec!["a/b".to_owned()]));
        let bad_req = |k: &str, val: Value| {
            let mut b = base.clone();
            b[k] = val;
            to_chat(serde_json::from_value(b).unwrap()).unwrap_err().to_string()
        };
        assert!(bad_req("thinking", json!({"type": "enabled"})).contains("budget_tokens"));
        assert!(bad_req("tool_choice", json!({"type": "sometimes"})).contains("tool_choice"));
        assert!(
            bad_req("tools", json!([{"type": "web_search_20250305", "name": "web_search"}])).contains("server tool")
        );
    }

    #[test]
    fn top_level_cache_control_marks_the_last_block() {
        let req = chat(json!({"model": "m", "max_tokens": 5, "cache_control": {"type": "ephemeral"},
            "messages": [{"role": "user", "content": "first"}, {"role": "assistant", "content": "ok"},
                         {"role": "user", "content": "last"}]}));
        let v = v(&req);
        assert_eq!(v["messages"][0]["content"], "first");
        assert_eq!(
            v["messages"][2]["content"],
            json!([{"type": "text", "text": "last", "cache_control": {"type": "ephemeral"}}])
        );
    }
}
