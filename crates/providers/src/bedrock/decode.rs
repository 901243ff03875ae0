//! Bedrock Converse answer to the canonical response.
//!
//! `finish_reason` carries Bedrock's raw `stopReason` (`end_turn`,
//! `tool_use`, `max_tokens`, `stop_sequence`, `guardrail_intervened`,
//! `content_filtered`...): the server normalises it and keeps the raw value as
//! `native_finish_reason`. Converse answers carry no id, model or timestamp:
//! the id and model are left empty for the caller to fill in.

use serde_json::{Value, json};
use switchyard_api::response::ResponseMessage;
use switchyard_api::usage::PromptTokensDetails;
use switchyard_api::{ChatResponse, Choice, Usage};

use super::REASONING_FORMAT;
use super::wire::{ConverseResponse, WireUsage};
use crate::error::ProviderError;

/// Decodes a 2xx body.
pub fn decode(body: &[u8]) -> Result<ChatResponse, ProviderError> {
    let resp: ConverseResponse =
        serde_json::from_slice(body).map_err(|e| ProviderError::InvalidResponse(format!("undecodable JSON: {e}")))?;
    let Some(msg) = resp.output.and_then(|o| o.message) else {
        return Err(ProviderError::InvalidResponse("the answer has no `output.message`".into()));
    };
    let mut text = String::new();
    let mut has_text = false;
    let mut reasoning = Vec::new();
    let mut details = Vec::new();
    let mut calls = Vec::new();
    for block in msg.content {
        if let Some(t) = block.text {
            has_text = true;
            text.push_str(&t);
        }
        if let Some(tu) = block.tool_use {
            let args = compact(&tu.input);
            calls.push(json!({"id": tu.tool_use_id, "type": "function",
                "function": {"name": tu.name, "arguments": args}}));
        }
        if let Some(rc) = block.reasoning_content {
            if let Some(rt) = rc.reasoning_text {
                details.push(json!({"type": "reasoning.text", "text": rt.text, "signature": rt.signature,
                    "format": REASONING_FORMAT, "index": details.len()}));
                reasoning.push(rt.text);
            }
            if let Some(data) = rc.redacted_content {
                details.push(json!({"type": "reasoning.encrypted", "data": data, "format": REASONING_FORMAT,
                    "index": details.len()}));
            }
        }
    }
    let has_calls = !calls.is_empty();
    let message = ResponseMessage {
        // OpenAI's shape: null content on a pure tool-call turn.
        content: (has_text || !has_calls).then_some(text),
        reasoning: (!reasoning.is_empty()).then(|| reasoning.join("\n")),
        reasoning_details: (!details.is_empty()).then_some(Value::Array(details)),
        tool_calls: has_calls.then_some(Value::Array(calls)),
        ..ResponseMessage::default()
    };
    Ok(ChatResponse {
        object: "chat.completion".into(),
        created: unix_now(),
        choices: vec![Choice { message, finish_reason: resp.stop_reason, ..Choice::default() }],
        usage: Some(usage(resp.usage.unwrap_or_default())),
        ..ChatResponse::default()
    })
}

/// Bedrock's usage in OpenAI's terms: the prompt is the uncached input plus
/// cache reads and writes; reads are `cached_tokens`, writes
/// `cache_write_tokens`.
pub fn usage(u: WireUsage) -> Usage {
    let prompt = u.input_tokens + u.cache_read_input_tokens + u.cache_write_input_tokens;
    Usage {
        prompt_tokens: prompt,
        completion_tokens: u.output_tokens,
        total_tokens: prompt + u.output_tokens,
        prompt_tokens_details: Some(PromptTokensDetails {
            cached_tokens: Some(u.cache_read_input_tokens),
            cache_write_tokens: Some(u.cache_write_input_tokens),
            ..PromptTokensDetails::default()
        }),
        ..Usage::default()
    }
}

/// Compact JSON text of a tool input.
pub fn compact(v: &Value) -> String {
    match v {
        // A missing input is an empty argument object.
        Value::Null => "{}".into(),
        // A `Value` always serialises.
        v => serde_json::to_string(v).unwrap_or_default(),
    }
}

/// Unix seconds now.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    const REASONING: &str = r#"{
      "output": {"message": {"role": "assistant", "content": [
        {"reasoningContent": {"reasoningText": {"text": "Tool said 18C.", "signature": "EqQBCkgIARAB..."}}},
        {"text": "Paris is 18 °C."}]}},
      "stopReason": "end_turn",
      "usage": {"inputTokens": 30, "outputTokens": 12, "totalTokens": 1066,
        "cacheReadInputTokens": 1024, "cacheWriteInputTokens": 0},
      "metrics": {"latencyMs": 812},
      "additionalModelResponseFields": {"stop_sequence": null}}"#;

    const TOOL_USE: &str = r#"{"output": {"message": {"role": "assistant", "content": [
        {"toolUse": {"toolUseId": "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", "name": "get_weather", "input": {"city": "Paris"}}}]}},
      "stopReason": "tool_use",
      "usage": {"inputTokens": 380, "outputTokens": 42, "totalTokens": 522, "cacheWriteInputTokens": 100}}"#;

    #[test]
    fn reference_answer_has_reasoning_text_and_cache_usage() {
        let r = decode(REASONING.as_bytes()).unwrap();
        let c = &r.choices[0];
        assert_eq!(c.finish_reason.as_deref(), Some("end_turn"));
        assert_eq!(c.message.content.as_deref(), Some("Paris is 18 °C."));
        assert_eq!(c.message.reasoning.as_deref(), Some("Tool said 18C."));
        assert_eq!(
            c.message.reasoning_details.as_ref().unwrap(),
            &json!([{"type": "reasoning.text", "text": "Tool said 18C.", "signature": "EqQBCkgIARAB...",
                "format": "anthropic-claude-v1", "index": 0}])
        );
        assert!(c.message.tool_calls.is_none());
        let u = r.usage.unwrap();
        assert_eq!((u.prompt_tokens, u.completion_tokens, u.total_tokens), (1054, 12, 1066));
        assert_eq!((u.cached_tokens(), u.cache_write_tokens()), (1024, 0));
    }

    #[test]
    fn tool_use_becomes_tool_calls_with_null_content() {
        let r = decode(TOOL_USE.as_bytes()).unwrap();
        let c = &r.choices[0];
        assert_eq!(c.finish_reason.as_deref(), Some("tool_use"));
        assert!(c.message.content.is_none());
        assert_eq!(
            c.message.tool_calls.as_ref().unwrap(),
            &json!([{"id": "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", "type": "function",
                "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}])
        );
        let u = r.usage.unwrap();
        assert_eq!((u.prompt_tokens, u.total_tokens, u.cache_write_tokens()), (480, 522, 100));
    }

    #[test]
    fn raw_stop_reasons_redacted_reasoning_and_garbage() {
        for stop in ["max_tokens", "stop_sequence", "guardrail_intervened", "content_filtered"] {
            let body = format!(
                r#"{{"output":{{"message":{{"content":[{{"text":"a"}},{{"text":"b"}}]}}}},"stopReason":"{stop}"}}"#
            );
            let r = decode(body.as_bytes()).unwrap();
            assert_eq!(r.choices[0].finish_reason.as_deref(), Some(stop));
            assert_eq!(r.choices[0].message.content.as_deref(), Some("ab"));
            assert_eq!(r.usage.as_ref().unwrap().prompt_tokens, 0);
        }
        let body = br#"{"output":{"message":{"content":[{"reasoningContent":{"redactedContent":"EmwK"}},{"text":"ok"}]}},"stopReason":"end_turn"}"#;
        let r = decode(body).unwrap();
        assert_eq!(r.choices[0].message.reasoning_details.as_ref().unwrap()[0]["type"], "reasoning.encrypted");
        assert!(r.choices[0].message.reasoning.is_none());
        assert!(matches!(decode(b"nope"), Err(ProviderError::InvalidResponse(_))));
        assert!(matches!(decode(b"{}"), Err(ProviderError::InvalidResponse(_))));
    }
}
