//! The canonical answer as an Anthropic message: thinking, text and
//! tool_use blocks, Anthropic's stop reasons and usage, plus OpenRouter's
//! cost and `provider`.

use serde_json::Value;
use switchyard_api::messages::{MessagesResponse, MessagesUsage, OutputBlock};
use switchyard_api::response::ResponseMessage;
use switchyard_api::{ChatResponse, FinishReason, Usage};

/// Anthropic's own stop reasons, kept as they are when the upstream is Claude.
const ANTHROPIC_STOPS: &[&str] =
    &["end_turn", "max_tokens", "stop_sequence", "tool_use", "pause_turn", "refusal", "model_context_window_exceeded"];

/// Anthropic's `stop_reason` for a normalised finish reason and the
/// upstream's own; `None` for a failed generation.
pub fn stop_reason(finish: Option<&str>, native: Option<&str>) -> Option<String> {
    let normalized = FinishReason::normalize(finish?);
    if normalized == FinishReason::ToolCalls {
        return Some("tool_use".into());
    }
    if let Some(n) = native.filter(|n| ANTHROPIC_STOPS.contains(n)) {
        return Some(n.to_owned());
    }
    Some(
        match normalized {
            FinishReason::Stop => "end_turn",
            FinishReason::Length => "max_tokens",
            FinishReason::ToolCalls => "tool_use",
            FinishReason::ContentFilter => "refusal",
            FinishReason::Error => return None,
        }
        .to_owned(),
    )
}

/// The matched stop sequence: known when the stop reason says one matched
/// and the request had only one.
pub fn stop_sequence(stop_reason: Option<&str>, sequences: &[String]) -> Option<String> {
    match (stop_reason, sequences) {
        (Some("stop_sequence"), [only]) => Some(only.clone()),
        _ => None,
    }
}

/// OpenRouter's usage in Anthropic's terms: `input_tokens` is the uncached
/// part of the prompt, cache reads and writes are counted apart.
pub fn usage(u: &Usage) -> MessagesUsage {
    let read = u.cached_tokens();
    let written = u.cache_write_tokens();
    MessagesUsage {
        input_tokens: u.prompt_tokens.saturating_sub(read + written),
        output_tokens: u.completion_tokens,
        cache_creation_input_tokens: written,
        cache_read_input_tokens: read,
        cost: u.cost,
        is_byok: u.is_byok,
        cost_details: u.cost_details.clone(),
        service_tier: Some("standard".into()),
    }
}

/// Tool arguments (a JSON string) as the `input` object Anthropic sends.
/// Arguments that are not an object are kept, under `arguments`, rather
/// than lost.
pub fn tool_input(arguments: &str) -> Value {
    if arguments.trim().is_empty() {
        return Value::Object(serde_json::Map::new());
    }
    match serde_json::from_str::<Value>(arguments) {
        Ok(v @ Value::Object(_)) => v,
        Ok(other) => serde_json::json!({ "arguments": other }),
        Err(_) => serde_json::json!({ "arguments": arguments }),
    }
}

/// One reasoning detail as a thinking block, or `None` for kinds with no
/// Anthropic form.
fn thinking_block(d: &Value) -> Option<OutputBlock> {
    let field = |k: &str| d.get(k).and_then(Value::as_str);
    match field("type")? {
        "reasoning.text" => Some(OutputBlock::Thinking {
            thinking: field("text").unwrap_or_default().to_owned(),
            signature: field("signature").unwrap_or_default().to_owned(),
        }),
        "reasoning.summary" => Some(OutputBlock::Thinking {
            thinking: field("summary").unwrap_or_default().to_owned(),
            signature: String::new(),
        }),
        "reasoning.encrypted" => Some(OutputBlock::RedactedThinking { data: field("data")?.to_owned() }),
        _ => None,
    }
}

/// The reasoning of an answer as thinking blocks: its details where it has
/// them (they carry signatures), else its reasoning text. Details sharing an
/// `index` are fragments of one block.
fn thinking_blocks(m: &ResponseMessage) -> Vec<OutputBlock> {
    let mut out: Vec<(Option<i64>, OutputBlock)> = Vec::new();
    for d in m.reasoning_details.as_ref().and_then(Value::as_array).into_iter().flatten() {
        let Some(block) = thinking_block(d) else { continue };
        let index = d.get("index").and_then(Value::as_i64);
        match (out.last_mut(), block) {
            (
                Some((i, OutputBlock::Thinking { thinking, signature })),
                OutputBlock::Thinking { thinking: t, signature: s },
            ) if index.is_some() && *i == index => {
                thinking.push_str(&t);
                if !s.is_empty() {
                    *signature = s;
                }
            }
            (_, block) => out.push((index, block)),
        }
    }
    if out.is_empty()
        && let Some(r) = m.reasoning.as_ref().filter(|r| !r.is_empty())
    {
        return vec![OutputBlock::Thinking { thinking: r.clone(), signature: String::new() }];
    }
    out.into_iter().map(|(_, b)| b).collect()
}

/// The whole answer. `stops` are the request's stop sequences.
pub fn message(resp: ChatResponse, stops: &[String]) -> MessagesResponse {
    let mut content = Vec::new();
    let (mut finish, mut native) = (None, None);
    if let Some(choice) = resp.choices.into_iter().next() {
        let m = &choice.message;
        content.extend(thinking_blocks(m));
        let text = [&m.content, &m.refusal].into_iter().flatten().find(|t| !t.is_empty());
        if let Some(text) = text {
            content.push(OutputBlock::Text { text: text.clone() });
        }
        for call in m.tool_calls.as_ref().and_then(Value::as_array).into_iter().flatten() {
            let s = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_owned();
            let f = call.get("function");
            content.push(OutputBlock::ToolUse {
                id: s(call.get("id")),
                name: s(f.and_then(|f| f.get("name"))),
                input: tool_input(f.and_then(|f| f.get("arguments")).and_then(Value::as_str).unwrap_or_default()),
            });
        }
        finish = choice.finish_reason;
        native = choice.native_finish_reason;
    }
    let stop_reason = stop_reason(finish.as_deref(), native.as_deref());
    MessagesResponse {
        id: resp.id,
        kind: "message".into(),
        role: "assistant".into(),
        model: resp.model,
        content,
        stop_sequence: stop_sequence(stop_reason.as_deref(), stops),
        stop_reason,
        usage: usage(&resp.usage.unwrap_or_default()),
        provider: resp.provider,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn resp(message: Value, finish: &str, native: &str) -> ChatResponse {
        serde_json::from_value(json!({
            "id": "gen-1", "model": "anth/x", "provider": "P",
            "choices": [{"index": 0, "message": message, "finish_reason": finish, "native_finish_reason": native}],
            "usage": {"prompt_tokens": 20, "completion_tokens": 7, "total_tokens": 27,
                "prompt_tokens_details": {"cached_tokens": 4, "cache_write_tokens": 6},
                "cost": 0.5, "is_byok": false,
                "cost_details": {"upstream_inference_cost": null, "upstream_inference_prompt_cost": 0.2,
                    "upstream_inference_completions_cost": 0.3}}
        }))
        .unwrap()
    }

    #[test]
    fn signed_thinking_text_and_tool_use_blocks() {
        let m = json!({"role": "assistant", "content": "Checking.", "reasoning": "Hmm.",
            "reasoning_details": [
                {"type": "reasoning.text", "text": "Hm", "format": "anthropic-claude-v1", "index": 0},
                {"type": "reasoning.text", "text": "m.", "format": "anthropic-claude-v1", "index": 0},
                {"type": "reasoning.text", "signature": "SIG", "format": "anthropic-claude-v1", "index": 0},
                {"type": "reasoning.encrypted", "data": "ENC", "index": 1}],
            "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{\"a\":1}"}}]});
        let out = message(resp(m, "tool_calls", "tool_use"), &[]);
        let v = serde_json::to_value(&out).unwrap();
        assert_eq!(
            v["content"],
            json!([{"type": "thinking", "thinking": "Hmm.", "signature": "SIG"},
                {"type": "redacted_thinking", "data": "ENC"},
                {"type": "text", "text": "Checking."},
                {"type": "tool_use", "id": "call_1", "name": "f", "input": {"a": 1}}])
        );
        assert_eq!(v["stop_reason"], "tool_use");
        assert_eq!(
            (v["id"].clone(), v["type"].clone(), v["role"].clone()),
            (json!("gen-1"), json!("message"), json!("assistant"))
        );
        assert_eq!(
            v["usage"],
            json!({"input_tokens": 10, "output_tokens": 7, "cache_creation_input_tokens": 6,
                "cache_read_input_tokens": 4, "cost": 0.5, "is_byok": false, "service_tier": "standard",
                "cost_details": {"upstream_inference_cost": null, "upstream_inference_prompt_cost": 0.2,
                    "upstream_inference_completions_cost": 0.3}})
        );
        assert_eq!(v["provider"], "P");
    }

    #[test]
    fn reasoning_text_without_details_and_stop_reasons() {
        let m = json!({"role": "assistant", "content": "hi", "reasoning": "because"});
        let out = message(resp(m, "length", "length"), &[]);
        assert_eq!(out.content[0], OutputBlock::Thinking { thinking: "because".into(), signature: String::new() });
        assert_eq!(out.stop_reason.as_deref(), Some("max_tokens"));
        assert_eq!(stop_reason(Some("stop"), Some("stop")).as_deref(), Some("end_turn"));
        assert_eq!(stop_reason(Some("stop"), Some("stop_sequence")).as_deref(), Some("stop_sequence"));
        assert_eq!(stop_reason(Some("tool_calls"), Some("STOP")).as_deref(), Some("tool_use"));
        assert_eq!(stop_reason(Some("content_filter"), Some("SAFETY")).as_deref(), Some("refusal"));
        assert_eq!(stop_reason(Some("error"), Some("error")), None);
        assert_eq!(stop_sequence(Some("stop_sequence"), &["END".into()]).as_deref(), Some("END"));
        assert_eq!(tool_input("[1]"), json!({"arguments": [1]}));
        assert_eq!(tool_input(""), json!({}));
    }
}
