//! Anthropic non-streaming message to the canonical response.
//!
//! `finish_reason` carries Anthropic's raw `stop_reason` (`end_turn`,
//! `tool_use`...): the server normalises it and keeps the raw value as
//! `native_finish_reason`. Web search citations on text become
//! `url_citation` annotations (the web plugin's native search); other
//! server-tool blocks are not mapped.

use serde_json::{Value, json};
use switchyard_api::response::ResponseMessage;
use switchyard_api::usage::PromptTokensDetails;
use switchyard_api::{ChatResponse, Choice, Usage};

use super::errors::from_error_body;
use super::wire::{ContentBlock, MessageResponse, WireUsage};
use super::{DecodeOptions, JSON_TOOL, REASONING_FORMAT};
use crate::error::ProviderError;

/// Decodes a 2xx body.
pub fn decode(body: &[u8], opts: &DecodeOptions) -> Result<ChatResponse, ProviderError> {
    let msg: MessageResponse =
        serde_json::from_slice(body).map_err(|e| ProviderError::InvalidResponse(format!("undecodable JSON: {e}")))?;
    if msg.kind == "error" {
        return Err(from_error_body(200, None, serde_json::from_slice(body).ok()));
    }
    if msg.id.is_empty() && msg.content.is_empty() && msg.stop_reason.is_none() {
        return Err(ProviderError::InvalidResponse("the answer is not an Anthropic message".into()));
    }
    let mut text = String::new();
    let mut has_text = false;
    let mut reasoning = Vec::new();
    let mut details = Vec::new();
    let mut calls = Vec::new();
    let mut annotations = Vec::new();
    for block in msg.content {
        match block {
            ContentBlock::Text { text: t, citations } => {
                has_text = true;
                let start = text.chars().count();
                text.push_str(&t);
                let end = start + t.chars().count();
                let cited = citations.iter().flatten().filter_map(|c| super::web_search::annotation(c, start, end));
                annotations.extend(cited);
            }
            ContentBlock::ToolUse { name, input, .. } if opts.json_tool && name == JSON_TOOL => {
                has_text = true;
                text.push_str(&compact(&input));
            }
            ContentBlock::ToolUse { id, name, input } => {
                calls.push(
                    json!({"id": id, "type": "function", "function": {"name": name, "arguments": compact(&input)}}),
                );
            }
            ContentBlock::Thinking { .. } | ContentBlock::RedactedThinking { .. } if opts.exclude_reasoning => {}
            ContentBlock::Thinking { thinking, signature } => {
                details.push(json!({"type": "reasoning.text", "text": thinking, "signature": signature,
                    "format": REASONING_FORMAT, "index": details.len()}));
                reasoning.push(thinking);
            }
            ContentBlock::RedactedThinking { data } => {
                details.push(json!({"type": "reasoning.encrypted", "data": data, "format": REASONING_FORMAT,
                    "index": details.len()}));
            }
            ContentBlock::Other => {}
        }
    }
    let has_calls = !calls.is_empty();
    let mut message = ResponseMessage {
        // OpenAI's shape: null content on a pure tool-call turn.
        content: (has_text || !has_calls).then_some(text),
        reasoning: (!reasoning.is_empty()).then(|| reasoning.join("\n")),
        reasoning_details: (!details.is_empty()).then_some(Value::Array(details)),
        tool_calls: has_calls.then_some(Value::Array(calls)),
        ..ResponseMessage::default()
    };
    if !annotations.is_empty() {
        message.extra.insert("annotations".into(), Value::Array(annotations));
    }
    Ok(ChatResponse {
        id: msg.id,
        object: "chat.completion".into(),
        created: unix_now(),
        model: msg.model,
        choices: vec![Choice {
            message,
            finish_reason: finish_reason(msg.stop_reason, opts, has_calls),
            ..Choice::default()
        }],
        usage: Some(usage(msg.usage)),
        ..ChatResponse::default()
    })
}

/// Anthropic's usage in OpenAI's terms: the prompt is the uncached input plus
/// cache reads and writes; cache reads are `cached_tokens`, writes
/// `cache_write_tokens`.
pub fn usage(u: WireUsage) -> Usage {
    let read = u.cache_read_input_tokens.unwrap_or(0);
    let written = u.cache_creation_input_tokens.unwrap_or(0);
    let prompt = u.input_tokens.unwrap_or(0) + read + written;
    let completion = u.output_tokens.unwrap_or(0);
    let mut extra = switchyard_api::Extra::new();
    if let Some(s) = u.server_tool_use {
        extra.insert("server_tool_use".into(), json!({"web_search_requests": s.web_search_requests}));
    }
    Usage {
        prompt_tokens: prompt,
        completion_tokens: completion,
        total_tokens: prompt + completion,
        prompt_tokens_details: Some(PromptTokensDetails {
            cached_tokens: Some(read),
            cache_write_tokens: Some(written),
            ..PromptTokensDetails::default()
        }),
        extra,
        ..Usage::default()
    }
}

/// The raw stop reason, except that a structured answer given through the
/// JSON tool is an ordinary end of turn, not a tool call.
pub fn finish_reason(stop: Option<String>, opts: &DecodeOptions, real_tool_calls: bool) -> Option<String> {
    match stop {
        Some(s) if s == "tool_use" && opts.json_tool && !real_tool_calls => Some("end_turn".into()),
        other => other,
    }
}

/// Compact JSON text of a tool input.
pub fn compact(v: &Value) -> String {
    // A `Value` always serialises.
    serde_json::to_string(v).unwrap_or_default()
}

/// Unix seconds now (Anthropic's answers carry no timestamp).
pub fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    const THINKING: &str = r#"{"id":"msg_019Q1hrJbZG26Fb9BQhrkHEr","type":"message","role":"assistant",
      "model":"claude-sonnet-4-20250514","content":[
        {"type":"thinking","thinking":"User wants Paris weather; tool returned 18C.","signature":"EqQBCkgIARABGAIiQL..."},
        {"type":"text","text":"Paris is 18 °C."}],
      "stop_reason":"end_turn","stop_sequence":null,
      "usage":{"input_tokens":377,"cache_creation_input_tokens":0,"cache_read_input_tokens":1200,
        "cache_creation":{"ephemeral_5m_input_tokens":0,"ephemeral_1h_input_tokens":0},"output_tokens":65,
        "service_tier":"standard"}}"#;

    const TOOL_USE: &str = r#"{"id":"msg_01T","type":"message","role":"assistant","model":"claude-sonnet-4-20250514",
      "content":[{"type":"text","text":"I'll check the current weather in Paris for you."},
        {"type":"tool_use","id":"toolu_01NRLabsLyVHZPKxbKvkfSMn","name":"get_weather","input":{"location":"Paris"},
         "caller":{"type":"direct"}}],
      "stop_reason":"tool_use","stop_sequence":null,
      "usage":{"input_tokens":377,"cache_creation_input_tokens":100,"cache_read_input_tokens":0,"output_tokens":65}}"#;

    fn dec(body: &str, opts: DecodeOptions) -> ChatResponse {
        decode(body.as_bytes(), &opts).unwrap()
    }

    #[test]
    fn thinking_answer_has_reasoning_details_and_cache_usage() {
        let r = dec(THINKING, DecodeOptions::default());
        assert_eq!(r.id, "msg_019Q1hrJbZG26Fb9BQhrkHEr");
        assert_eq!(r.object, "chat.completion");
        assert_eq!(r.model, "claude-sonnet-4-20250514");
        let c = &r.choices[0];
        assert_eq!(c.finish_reason.as_deref(), Some("end_turn"));
        assert_eq!(c.message.content.as_deref(), Some("Paris is 18 °C."));
        assert_eq!(c.message.reasoning.as_deref(), Some("User wants Paris weather; tool returned 18C."));
        let d = c.message.reasoning_details.as_ref().unwrap();
        assert_eq!(
            d,
            &json!([{"type": "reasoning.text", "text": "User wants Paris weather; tool returned 18C.",
                "signature": "EqQBCkgIARABGAIiQL...", "format": "anthropic-claude-v1", "index": 0}])
        );
        assert!(c.message.tool_calls.is_none());
        let u = r.usage.unwrap();
        assert_eq!((u.prompt_tokens, u.completion_tokens, u.total_tokens), (1577, 65, 1642));
        assert_eq!((u.cached_tokens(), u.cache_write_tokens()), (1200, 0));
    }

    #[test]
    fn tool_use_becomes_tool_calls_with_compact_arguments() {
        let r = dec(TOOL_USE, DecodeOptions::default());
        let c = &r.choices[0];
        assert_eq!(c.finish_reason.as_deref(), Some("tool_use"));
        assert_eq!(c.message.content.as_deref(), Some("I'll check the current weather in Paris for you."));
        assert_eq!(
            c.message.tool_calls.as_ref().unwrap(),
            &json!([{"id": "toolu_01NRLabsLyVHZPKxbKvkfSMn", "type": "function",
                "function": {"name": "get_weather", "arguments": "{\"location\":\"Paris\"}"}}])
        );
        let u = r.usage.unwrap();
        assert_eq!((u.prompt_tokens, u.cache_write_tokens()), (477, 100));
    }

    #[test]
    fn pure_tool_call_has_null_content_and_text_only_has_no_reasoning() {
        let body = r#"{"id":"m","type":"message","model":"c","stop_reason":"tool_use","usage":{"input_tokens":1,"output_tokens":2},
            "content":[{"type":"tool_use","id":"t1","name":"f","input":{}},{"type":"server_tool_use","id":"s","name":"web_search","input":{}}]}"#;
        let r = dec(body, DecodeOptions::default());
        assert!(r.choices[0].message.content.is_none());
        assert_eq!(r.choices[0].message.tool_calls.as_ref().unwrap()[0]["function"]["arguments"], "{}");
        let body = r#"{"id":"m","type":"message","model":"c","content":[{"type":"text","text":"hi"}],"stop_reason":"max_tokens","usage":{}}"#;
        let r = dec(body, DecodeOptions::default());
        assert_eq!(r.choices[0].finish_reason.as_deref(), Some("max_tokens"));
        assert!(r.choices[0].message.reasoning.is_none() && r.choices[0].message.reasoning_details.is_none());
    }

    #[test]
    fn redacted_thinking_is_encrypted_and_exclude_drops_reasoning() {
        let body = r#"{"id":"m","type":"message","model":"c","stop_reason":"end_turn","usage":{},"content":[
            {"type":"redacted_thinking","data":"EmwKAhgB"},{"type":"thinking","thinking":"t","signature":"s"},
            {"type":"text","text":"ok"}]}"#;
        let r = dec(body, DecodeOptions::default());
        let d = r.choices[0].message.reasoning_details.as_ref().unwrap();
        assert_eq!(
            d[0],
            json!({"type": "reasoning.encrypted", "data": "EmwKAhgB", "format": "anthropic-claude-v1", "index": 0})
        );
        assert_eq!(d[1]["index"], 1);
        let r = dec(body, DecodeOptions { exclude_reasoning: true, json_tool: false });
        assert!(r.choices[0].message.reasoning.is_none() && r.choices[0].message.reasoning_details.is_none());
        assert_eq!(r.choices[0].message.content.as_deref(), Some("ok"));
    }

    #[test]
    fn web_search_citations_become_annotations_and_searches_are_counted() {
        let body = r#"{"id":"m","type":"message","model":"c","stop_reason":"end_turn",
            "usage":{"input_tokens":5,"output_tokens":9,"server_tool_use":{"web_search_requests":2}},"content":[
            {"type":"text","text":"Let me look. "},
            {"type":"server_tool_use","id":"srvtoolu_1","name":"web_search","input":{"query":"q"}},
            {"type":"web_search_tool_result","tool_use_id":"srvtoolu_1","content":[{"type":"web_search_result",
              "url":"https://a.com/x","title":"A","encrypted_content":"e","page_age":"1 day"}]},
            {"type":"text","text":"Né in 1916.","citations":[{"type":"web_search_result_location",
              "url":"https://a.com/x","title":"A","encrypted_index":"i","cited_text":"born 1916"}]}]}"#;
        let r = dec(body, DecodeOptions::default());
        let m = &r.choices[0].message;
        assert_eq!(m.content.as_deref(), Some("Let me look. Né in 1916."));
        assert_eq!(
            m.extra["annotations"],
            json!([{"type": "url_citation", "url_citation": {"url": "https://a.com/x", "title": "A",
                "content": "born 1916", "start_index": 13, "end_index": 24}}])
        );
        assert_eq!(r.usage.unwrap().extra["server_tool_use"], json!({"web_search_requests": 2}));
    }

    #[test]
    fn json_tool_input_is_the_answer_text() {
        let body = r#"{"id":"m","type":"message","model":"c","stop_reason":"tool_use","usage":{},"content":[
            {"type":"tool_use","id":"t","name":"json_response","input":{"city":"Paris","temp":18}}]}"#;
        let r = dec(body, DecodeOptions { exclude_reasoning: false, json_tool: true });
        let c = &r.choices[0];
        assert_eq!(c.message.content.as_deref(), Some(r#"{"city":"Paris","temp":18}"#));
        assert!(c.message.tool_calls.is_none());
        assert_eq!(c.finish_reason.as_deref(), Some("end_turn"));
    }

    #[test]
    fn errors_and_garbage_are_failures() {
        let e = decode(
            br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
            &DecodeOptions::default(),
        );
        assert!(
            matches!(e, Err(ProviderError::Upstream(ref f)) if f.kind == switchyard_api::ErrorType::ProviderOverloaded)
        );
        assert!(matches!(decode(b"nope", &DecodeOptions::default()), Err(ProviderError::InvalidResponse(_))));
        assert!(matches!(decode(b"{}", &DecodeOptions::default()), Err(ProviderError::InvalidResponse(_))));
    }
}
