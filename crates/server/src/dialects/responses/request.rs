//! A Responses request turned into the canonical chat request: items into
//! messages, flat function tools into Chat's nested ones, `text.format`
//! into `response_format`, `max_output_tokens` into the completion cap.

use serde_json::{Map, Value, json};
use switchyard_api::chat::{FunctionCall, FunctionDef, ImageUrl, Tool, ToolCall};
use switchyard_api::responses::{
    FunctionCallItem, Input, InputItem, InputPart, InputRole, MessageContent, ReasoningItem, ReasoningTextPart,
    ResponsesRequest, ResponsesTool, SummaryPart, TextFormat,
};
use switchyard_api::{ChatRequest, Content, ContentPart, Message, Role};

use crate::error::GatewayError;

/// Request fields that only make sense to a stateful Responses server (or
/// that this translation already consumed): never passed upstream.
const DROPPED: &[&str] = &[
    "include",
    "truncation",
    "background",
    "max_tool_calls",
    "prompt",
    "conversation",
    "stream_options",
    "prompt_cache_retention",
    "messages",
];

/// The chat request a Responses request asks for.
pub fn to_chat(req: ResponsesRequest) -> Result<ChatRequest, GatewayError> {
    if req.store == Some(true) {
        return Err(GatewayError::BadRequest(
            "`store` must be false: this Responses API is stateless and stores nothing; \
             send the whole conversation in `input`"
                .into(),
        ));
    }
    if req.previous_response_id.as_ref().is_some_and(|v| !v.is_null()) {
        return Err(GatewayError::BadRequest(
            "`previous_response_id` is not supported: this Responses API is stateless; \
             send the whole conversation in `input`"
                .into(),
        ));
    }
    let mut messages = Vec::new();
    if let Some(text) = req.instructions.filter(|t| !t.is_empty()) {
        messages.push(message(Role::System, Some(Content::Text(text))));
    }
    match req.input {
        None => return Err(GatewayError::BadRequest("`input` is required".into())),
        Some(Input::Text(text)) => messages.push(message(Role::User, Some(Content::Text(text)))),
        Some(Input::Items(items)) => items_into(items, &mut messages)?,
    }
    if messages.iter().all(|m| m.role == Role::System) {
        return Err(GatewayError::BadRequest("`input` must contain at least one message".into()));
    }
    let tools = req.tools.map(|t| t.into_iter().enumerate().map(|(i, t)| tool(i, t)).collect()).transpose()?;
    let mut extra = Map::new();
    if let Some(v) = req.text.as_ref().and_then(|t| t.verbosity.clone()) {
        extra.insert("verbosity".into(), Value::from(v));
    }
    if let Some(n) = req.top_logprobs.filter(|n| *n > 0) {
        extra.insert("logprobs".into(), Value::from(true));
        extra.insert("top_logprobs".into(), Value::from(n));
    }
    if let Some(p) = req.parallel_tool_calls {
        extra.insert("parallel_tool_calls".into(), Value::from(p));
    }
    if let Some(t) = req.service_tier {
        extra.insert("service_tier".into(), Value::from(t));
    }
    let chat = ChatRequest {
        model: req.model,
        models: req.models,
        messages,
        stream: req.stream,
        max_completion_tokens: req.max_output_tokens,
        temperature: req.temperature,
        top_p: req.top_p,
        top_k: req.top_k,
        frequency_penalty: req.frequency_penalty,
        presence_penalty: req.presence_penalty,
        tools,
        tool_choice: req.tool_choice.map(tool_choice),
        response_format: req.text.and_then(|t| t.format).and_then(response_format),
        reasoning: req.reasoning,
        provider: req.provider,
        plugins: req.plugins,
        route: req.route,
        // `safety_identifier` is OpenAI's newer name for the end-user id.
        user: req.user.or(req.safety_identifier),
        session_id: req.session_id,
        extra,
        ..ChatRequest::default()
    };
    with_extras(chat, req.extra)
}

/// Adds the request's other fields (`seed`, `stop`, `prompt_cache_key`...)
/// where a chat request would have them: typed fields parsed as Chat parses
/// them, the rest passed through.
fn with_extras(chat: ChatRequest, extras: Map<String, Value>) -> Result<ChatRequest, GatewayError> {
    let extras: Vec<_> = extras.into_iter().filter(|(k, _)| !DROPPED.contains(&k.as_str())).collect();
    if extras.is_empty() {
        return Ok(chat);
    }
    let Ok(Value::Object(mut map)) = serde_json::to_value(&chat) else {
        return Err(GatewayError::Internal("chat request did not serialize to an object".into()));
    };
    for (k, v) in extras {
        map.entry(k).or_insert(v);
    }
    serde_path_to_error::deserialize(Value::Object(map)).map_err(|e| {
        let path = e.path().to_string();
        GatewayError::BadRequest(format!("Invalid value for `{path}`: {}", e.into_inner()))
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
        extra: Map::new(),
    }
}

/// Items in order; `function_call`s join the assistant turn they belong
/// to, and a `reasoning` item rides on the assistant turn that follows it.
fn items_into(items: Vec<InputItem>, out: &mut Vec<Message>) -> Result<(), GatewayError> {
    let mut reasoning: Option<ReasoningItem> = None;
    for (i, item) in items.into_iter().enumerate() {
        match item {
            InputItem::Message(m) => {
                let role = match m.role {
                    InputRole::User => Role::User,
                    InputRole::Assistant => Role::Assistant,
                    InputRole::System => Role::System,
                    InputRole::Developer => Role::Developer,
                };
                let content = content(m.content, role == Role::User, i)?;
                let mut msg = message(role, Some(content));
                if role == Role::Assistant {
                    attach_reasoning(&mut msg, reasoning.take());
                } else {
                    reasoning = None;
                }
                out.push(msg);
            }
            InputItem::FunctionCall(c) => {
                let call = tool_call(c);
                match out.last_mut().filter(|m| m.role == Role::Assistant) {
                    Some(turn) => {
                        turn.tool_calls.get_or_insert_with(Vec::new).push(call);
                        attach_reasoning(turn, reasoning.take());
                    }
                    None => {
                        let mut msg = message(Role::Assistant, None);
                        msg.tool_calls = Some(vec![call]);
                        attach_reasoning(&mut msg, reasoning.take());
                        out.push(msg);
                    }
                }
            }
            InputItem::FunctionCallOutput(o) => {
                let mut msg = message(Role::Tool, Some(content(o.output, false, i)?));
                msg.tool_call_id = Some(o.call_id);
                out.push(msg);
                reasoning = None;
            }
            InputItem::Reasoning(r) => match &mut reasoning {
                // Several reasoning items before one turn: keep them all.
                Some(prev) => {
                    prev.summary.extend(r.summary);
                    if let Some(c) = r.content {
                        prev.content.get_or_insert_with(Vec::new).extend(c);
                    }
                    prev.encrypted_content = r.encrypted_content.or(prev.encrypted_content.take());
                }
                None => reasoning = Some(r),
            },
        }
    }
    Ok(())
}

fn tool_call(c: FunctionCallItem) -> ToolCall {
    ToolCall { id: c.call_id, kind: "function".into(), function: FunctionCall { name: c.name, arguments: c.arguments } }
}

/// An earlier turn's reasoning sent back: its text as `reasoning` and its
/// opaque state as `reasoning_details`, which adapters hand back to the
/// provider (signatures, encrypted thoughts).
fn attach_reasoning(msg: &mut Message, item: Option<ReasoningItem>) {
    let Some(item) = item else { return };
    let raw: Vec<&str> = item
        .content
        .iter()
        .flatten()
        .map(|p| match p {
            ReasoningTextPart::ReasoningText { text } => text.as_str(),
        })
        .collect();
    let text = if raw.is_empty() {
        item.summary.iter().map(|SummaryPart::SummaryText { text }| text.as_str()).collect::<Vec<_>>().join("\n\n")
    } else {
        raw.concat()
    };
    if !text.is_empty() {
        msg.reasoning = Some(text);
    }
    if let Some(data) = item.encrypted_content {
        msg.reasoning_details = Some(super::output::details_from_encrypted(data, item.id));
    }
}

/// A message's content. User messages keep their parts (images, files);
/// other roles' parts are text, joined.
fn content(c: MessageContent, keep_parts: bool, item: usize) -> Result<Content, GatewayError> {
    let parts = match c {
        MessageContent::Text(t) => return Ok(Content::Text(t)),
        MessageContent::Parts(parts) => parts,
    };
    let parts = parts.into_iter().map(|p| part(p, item)).collect::<Result<Vec<_>, _>>()?;
    let all_text = parts.iter().all(|p| matches!(p, ContentPart::Text { .. }));
    if all_text && !keep_parts {
        return Ok(Content::Text(Content::Parts(parts).text()));
    }
    Ok(Content::Parts(parts))
}

fn part(p: InputPart, item: usize) -> Result<ContentPart, GatewayError> {
    let no_files = |kind: &str| {
        GatewayError::BadRequest(format!(
            "`input[{item}]`: {kind} by `file_id` needs uploaded files, which this gateway does not store; \
             send a URL or a data URI instead"
        ))
    };
    let text = |text: String| ContentPart::Text { text, extra: Map::new() };
    Ok(match p {
        InputPart::InputText { text: t } | InputPart::OutputText { text: t, .. } => text(t),
        InputPart::Refusal { refusal } => text(refusal),
        InputPart::InputImage { image_url: Some(url), detail, .. } => {
            ContentPart::ImageUrl { image_url: ImageUrl { url, detail }, extra: Map::new() }
        }
        InputPart::InputImage { image_url: None, .. } => return Err(no_files("an image")),
        InputPart::InputFile { filename, file_data, file_url, .. } => {
            let Some(data) = file_data.or(file_url) else { return Err(no_files("a file")) };
            let mut file = json!({"file_data": data});
            if let Some(name) = filename {
                file["filename"] = Value::from(name);
            }
            ContentPart::File { file, extra: Map::new() }
        }
        InputPart::InputAudio { input_audio } => ContentPart::InputAudio { input_audio, extra: Map::new() },
    })
}

/// A flat Responses tool as a Chat tool; non-function tools pass through.
fn tool(i: usize, t: ResponsesTool) -> Result<Tool, GatewayError> {
    if t.kind != "function" {
        let mut extra = t.extra;
        let mut put = |k: &str, v: Option<Value>| {
            if let Some(v) = v {
                extra.insert(k.into(), v);
            }
        };
        put("name", t.name.map(Value::from));
        put("description", t.description.map(Value::from));
        put("parameters", t.parameters);
        put("strict", t.strict.map(Value::from));
        return Ok(Tool { kind: t.kind, function: None, extra });
    }
    let Some(name) = t.name else {
        return Err(GatewayError::BadRequest(format!("`tools[{i}].name` is required for function tools")));
    };
    let function = FunctionDef { name, description: t.description, parameters: t.parameters, strict: t.strict };
    Ok(Tool { kind: t.kind, function: Some(function), extra: Map::new() })
}

/// `{type: "function", name}` becomes Chat's `{type: "function", function: {name}}`;
/// `allowed_tools` nests its list the Chat way; the rest is the same in both.
fn tool_choice(v: Value) -> Value {
    let function = |name: &Value| json!({"type": "function", "function": {"name": name}});
    match v.get("type").and_then(Value::as_str) {
        Some("function") if v.get("function").is_none() => function(&v["name"]),
        Some("allowed_tools") if v.get("allowed_tools").is_none() => {
            let tools: Vec<Value> = v["tools"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|t| {
                            if t["type"] == "function" && t.get("name").is_some() {
                                function(&t["name"])
                            } else {
                                t.clone()
                            }
                        })
                        .collect()
                })
                .unwrap_or_default();
            json!({"type": "allowed_tools", "allowed_tools": {"mode": v.get("mode").cloned().unwrap_or_else(|| "auto".into()), "tools": tools}})
        }
        _ => v,
    }
}

/// `text.format` as Chat's `response_format` (the schema's fields nest
/// under `json_schema` there).
fn response_format(f: TextFormat) -> Option<Value> {
    match f {
        TextFormat::Text => None,
        TextFormat::JsonObject => Some(json!({"type": "json_object"})),
        TextFormat::JsonSchema { name, schema, strict, description } => {
            let mut js = json!({"name": name});
            if let Some(s) = schema {
                js["schema"] = s;
            }
            if let Some(s) = strict {
                js["strict"] = Value::from(s);
            }
            if let Some(d) = description {
                js["description"] = Value::from(d);
            }
            Some(json!({"type": "json_schema", "json_schema": js}))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chat(body: Value) -> Result<ChatRequest, GatewayError> {
        to_chat(serde_json::from_value(body).unwrap())
    }

    #[test]
    fn string_input_and_instructions_become_system_and_user() {
        let c = chat(json!({"model": "a/b", "input": "Hi", "instructions": "Be terse.", "max_output_tokens": 99,
            "temperature": 0.3, "safety_identifier": "u1", "metadata": {"k": "v"}, "include": ["x"], "seed": 7}))
        .unwrap();
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(
            v["messages"],
            json!([{"role": "system", "content": "Be terse."}, {"role": "user", "content": "Hi"}])
        );
        assert_eq!(v["max_completion_tokens"], 99);
        assert_eq!(v["temperature"], 0.3);
        assert_eq!(v["user"], "u1");
        assert_eq!(c.seed, Some(7));
        assert!(v.get("metadata").is_none() && v.get("include").is_none());
    }

    #[test]
    fn tool_round_trip_items_become_one_assistant_turn_and_tool_messages() {
        let c = chat(json!({"input": [
            {"role": "user", "content": [{"type": "input_text", "text": "Weather?"},
                {"type": "input_image", "image_url": "https://x/y.png", "detail": "low"}]},
            {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "Need tools."}],
             "encrypted_content": "ENC"},
            {"type": "function_call", "call_id": "call_a", "name": "get_weather", "arguments": "{\"city\":\"Paris\"}"},
            {"type": "function_call", "call_id": "call_b", "name": "get_time", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "call_a", "output": "18C"},
            {"type": "function_call_output", "call_id": "call_b", "output": [{"type": "input_text", "text": "noon"}]}],
            "tools": [{"type": "function", "name": "get_weather", "parameters": {"type": "object"}, "strict": true},
                      {"type": "web_search", "search_context_size": "low"}],
            "tool_choice": {"type": "function", "name": "get_weather"}}))
        .unwrap();
        let v = serde_json::to_value(&c).unwrap();
        let m = &v["messages"];
        assert_eq!(m.as_array().unwrap().len(), 4);
        assert_eq!(
            m[0]["content"][1],
            json!({"type": "image_url", "image_url": {"url": "https://x/y.png", "detail": "low"}})
        );
        assert_eq!(m[1]["role"], "assistant");
        assert_eq!(m[1]["tool_calls"][1]["id"], "call_b");
        assert_eq!(m[1]["tool_calls"][0]["function"]["arguments"], "{\"city\":\"Paris\"}");
        assert_eq!(m[1]["reasoning"], "Need tools.");
        assert_eq!(m[1]["reasoning_details"][0], json!({"type": "reasoning.encrypted", "data": "ENC", "id": "rs_1"}));
        assert_eq!(m[2], json!({"role": "tool", "content": "18C", "tool_call_id": "call_a"}));
        assert_eq!(m[3]["content"], "noon");
        assert_eq!(
            v["tools"][0],
            json!({"type": "function", "function": {"name": "get_weather",
            "parameters": {"type": "object"}, "strict": true}})
        );
        assert_eq!(v["tools"][1], json!({"type": "web_search", "search_context_size": "low"}));
        assert_eq!(v["tool_choice"], json!({"type": "function", "function": {"name": "get_weather"}}));
    }

    #[test]
    fn text_format_and_reasoning_map_to_chat_fields() {
        let c = chat(json!({"input": "x", "reasoning": {"effort": "high", "summary": "auto"},
            "text": {"format": {"type": "json_schema", "name": "w", "schema": {"type": "object"}, "strict": true},
                     "verbosity": "low"}, "top_logprobs": 3, "parallel_tool_calls": false}))
        .unwrap();
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(
            v["response_format"],
            json!({"type": "json_schema",
            "json_schema": {"name": "w", "schema": {"type": "object"}, "strict": true}})
        );
        assert_eq!(v["reasoning"], json!({"effort": "high", "summary": "auto"}));
        assert_eq!(
            (v["verbosity"].as_str(), v["logprobs"].as_bool(), v["top_logprobs"].as_u64()),
            (Some("low"), Some(true), Some(3))
        );
        assert_eq!(v["parallel_tool_calls"], false);
        let c = chat(json!({"input": "x", "text": {"format": {"type": "json_object"}}})).unwrap();
        assert_eq!(c.response_format, Some(json!({"type": "json_object"})));
    }

    #[test]
    fn stateful_requests_and_empty_input_are_refused() {
        let err = |b: Value| chat(b).unwrap_err().to_string();
        assert!(err(json!({"input": "x", "store": true})).contains("`store` must be false"));
        assert!(err(json!({"input": "x", "previous_response_id": "resp_1"})).contains("`previous_response_id`"));
        assert!(err(json!({"model": "a/b"})).contains("`input` is required"));
        assert!(err(json!({"input": [], "instructions": "x"})).contains("at least one message"));
        assert!(
            err(json!({"input": [{"role": "user", "content": [{"type": "input_image", "file_id": "f"}]}]}))
                .contains("file_id")
        );
        assert!(err(json!({"input": "x", "stop": 5})).contains("`stop`"));
        assert!(chat(json!({"input": "x", "store": false, "previous_response_id": null})).is_ok());
    }
}
