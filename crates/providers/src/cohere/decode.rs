//! Cohere non-streaming chat answer to the canonical response.
//!
//! `finish_reason` carries Cohere's raw value (`COMPLETE`, `TOOL_CALL`...):
//! the server normalises it and keeps the raw value as
//! `native_finish_reason`. Text items are joined into `content`; `thinking`
//! items and the `tool_plan` become `reasoning` (Cohere signs nothing, so
//! there are no `reasoning_details`). Citations and logprobs are not mapped
//! (the gateway sends no `documents` and no `logprobs`).

use serde_json::{Value, json};
use switchyard_api::response::ResponseMessage;
use switchyard_api::usage::PromptTokensDetails;
use switchyard_api::{ChatResponse, Choice, Usage};

use super::errors::from_error_body;
use super::unix_now;
use super::wire::{ChatResponse as WireResponse, ContentItem, ResponseContent, WireToolCall, WireUsage};
use crate::error::ProviderError;

/// Decodes a 2xx body.
pub fn decode(body: &[u8]) -> Result<ChatResponse, ProviderError> {
    let resp: WireResponse = match serde_json::from_slice(body) {
        Ok(r) => r,
        Err(e) => {
            // An error body (`{"id", "message": "..."}`) that came with a success status.
            let raw: Option<Value> = serde_json::from_slice(body).ok();
            if raw.as_ref().and_then(|v| v.get("message")).is_some_and(Value::is_string) {
                return Err(from_error_body(200, None, raw));
            }
            return Err(ProviderError::InvalidResponse(format!("not a Cohere chat answer: {e}")));
        }
    };
    let Some(msg) = resp.message else {
        return Err(ProviderError::InvalidResponse("the answer is not a Cohere chat message".into()));
    };

    let mut text = String::new();
    let mut has_text = false;
    let mut reasoning = Vec::new();
    match msg.content {
        Some(ResponseContent::Text(t)) => {
            has_text = true;
            text = t;
        }
        Some(ResponseContent::Items(items)) => {
            for item in items {
                match item_kind(item) {
                    ItemKind::Text(t) => {
                        has_text = true;
                        text.push_str(&t);
                    }
                    ItemKind::Thinking(t) => reasoning.push(t),
                    ItemKind::Other => {}
                }
            }
        }
        None => {}
    }
    reasoning.extend(msg.tool_plan.filter(|p| !p.is_empty()));
    let calls: Vec<Value> = msg.tool_calls.into_iter().flatten().map(tool_call).collect();
    let has_calls = !calls.is_empty();
    let message = ResponseMessage {
        // OpenAI's shape: null content on a pure tool-call turn.
        content: (has_text || !has_calls).then_some(text),
        reasoning: (!reasoning.is_empty()).then(|| reasoning.join("\n")),
        tool_calls: has_calls.then_some(Value::Array(calls)),
        ..ResponseMessage::default()
    };
    Ok(ChatResponse {
        id: resp.id,
        object: "chat.completion".into(),
        created: unix_now(),
        choices: vec![Choice { message, finish_reason: resp.finish_reason, ..Choice::default() }],
        usage: resp.usage.map(usage),
        ..ChatResponse::default()
    })
}

/// What a content item carries.
pub(super) enum ItemKind {
    /// Visible text.
    Text(String),
    /// Reasoning text.
    Thinking(String),
    /// Not mapped.
    Other,
}

/// Sorts a content item by its `type`, or by its fields when the type is
/// missing (stream deltas omit it).
pub(super) fn item_kind(item: ContentItem) -> ItemKind {
    match (item.kind.as_deref(), item.text, item.thinking) {
        (Some("text") | None, Some(t), _) => ItemKind::Text(t),
        (Some("thinking") | None, _, Some(t)) => ItemKind::Thinking(t),
        _ => ItemKind::Other,
    }
}

/// A Cohere tool call in OpenAI's shape (it already is one, nearly).
fn tool_call(call: WireToolCall) -> Value {
    let f = call.function.unwrap_or_default();
    let arguments = f.arguments.filter(|a| !a.trim().is_empty()).unwrap_or_else(|| "{}".into());
    json!({"id": call.id.unwrap_or_default(), "type": "function",
        "function": {"name": f.name.unwrap_or_default(), "arguments": arguments}})
}

/// Cohere's usage in OpenAI's terms: the real `tokens` counts, each falling
/// back to `billed_units`; `cached_tokens` when Cohere reports it.
pub fn usage(u: WireUsage) -> Usage {
    let pick = |real: Option<f64>, billed: Option<f64>| count(real.or(billed));
    let (tokens, billed) = (u.tokens.unwrap_or_default(), u.billed_units.unwrap_or_default());
    let prompt = pick(tokens.input_tokens, billed.input_tokens);
    let completion = pick(tokens.output_tokens, billed.output_tokens);
    Usage {
        prompt_tokens: prompt,
        completion_tokens: completion,
        total_tokens: prompt + completion,
        prompt_tokens_details: u
            .cached_tokens
            .map(|c| PromptTokensDetails { cached_tokens: Some(count(Some(c))), ..PromptTokensDetails::default() }),
        ..Usage::default()
    }
}

/// A token count sent as a JSON number of any kind.
fn count(n: Option<f64>) -> u64 {
    // Saturating float-to-int cast: negatives and NaN become 0.
    n.map_or(0, |n| n.round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_api::ErrorType;

    /// The reference's tool-call answer.
    const TOOL_CALL: &str = r#"{
      "id": "c14c80c3-18eb-4519-9460-6c92edd8cfb4",
      "finish_reason": "TOOL_CALL",
      "message": {
        "role": "assistant",
        "tool_plan": "I will look up the weather in Paris.",
        "tool_calls": [
          {"id": "get_weather_nsz5zm3w56q3", "type": "function",
           "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}
        ]
      },
      "usage": {
        "billed_units": {"input_tokens": 22, "output_tokens": 18},
        "tokens": {"input_tokens": 903, "output_tokens": 41},
        "cached_tokens": 0
      }
    }"#;

    /// The reference's text answer (citations abbreviated to one).
    const TEXT: &str = r#"{"id": "a1b2", "finish_reason": "COMPLETE",
      "message": {"role": "assistant", "content": [{"type": "text", "text": "Paris is 18 °C."}],
        "citations": [{"start": 0, "end": 5, "text": "Paris", "sources": []}]},
      "usage": {"billed_units": {"input_tokens": 9, "output_tokens": 6},
        "tokens": {"input_tokens": 680.0, "output_tokens": 6.0}, "cached_tokens": 512}}"#;

    #[test]
    fn reference_tool_call_answer() {
        let r = decode(TOOL_CALL.as_bytes()).unwrap();
        assert_eq!(r.id, "c14c80c3-18eb-4519-9460-6c92edd8cfb4");
        assert_eq!(r.object, "chat.completion");
        assert!(r.created > 0);
        let c = &r.choices[0];
        assert_eq!(c.finish_reason.as_deref(), Some("TOOL_CALL"));
        assert!(c.message.content.is_none());
        assert_eq!(c.message.reasoning.as_deref(), Some("I will look up the weather in Paris."));
        assert_eq!(
            c.message.tool_calls.as_ref().unwrap(),
            &json!([{"id": "get_weather_nsz5zm3w56q3", "type": "function",
                "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}])
        );
        let u = r.usage.unwrap();
        assert_eq!((u.prompt_tokens, u.completion_tokens, u.total_tokens, u.cached_tokens()), (903, 41, 944, 0));
    }

    #[test]
    fn reference_text_answer() {
        let r = decode(TEXT.as_bytes()).unwrap();
        let c = &r.choices[0];
        assert_eq!(c.finish_reason.as_deref(), Some("COMPLETE"));
        assert_eq!(c.message.content.as_deref(), Some("Paris is 18 °C."));
        assert!(c.message.reasoning.is_none() && c.message.tool_calls.is_none());
        let u = r.usage.unwrap();
        assert_eq!((u.prompt_tokens, u.completion_tokens, u.total_tokens, u.cached_tokens()), (680, 6, 686, 512));
    }

    #[test]
    fn thinking_items_are_reasoning_and_text_items_are_joined() {
        let body = r#"{"id": "r", "finish_reason": "MAX_TOKENS", "message": {"role": "assistant", "content": [
            {"type": "thinking", "thinking": "27*453 = 12231."}, {"type": "text", "text": "1223"},
            {"type": "text", "text": "1"}, {"type": "image", "url": "x"}]},
            "usage": {"billed_units": {"input_tokens": 5, "output_tokens": 7}}}"#;
        let r = decode(body.as_bytes()).unwrap();
        let c = &r.choices[0];
        assert_eq!(c.message.content.as_deref(), Some("12231"));
        assert_eq!(c.message.reasoning.as_deref(), Some("27*453 = 12231."));
        assert_eq!(c.finish_reason.as_deref(), Some("MAX_TOKENS"));
        // No `tokens`: the billed counts stand in; no cache figure reported.
        let u = r.usage.unwrap();
        assert_eq!((u.prompt_tokens, u.completion_tokens), (5, 7));
        assert!(u.prompt_tokens_details.is_none());
    }

    #[test]
    fn empty_arguments_and_missing_usage() {
        let body = r#"{"id": "x", "finish_reason": "TOOL_CALL", "message": {"role": "assistant", "content": [],
            "tool_calls": [{"id": "now_1", "type": "function", "function": {"name": "now", "arguments": ""}}]}}"#;
        let r = decode(body.as_bytes()).unwrap();
        assert_eq!(r.choices[0].message.tool_calls.as_ref().unwrap()[0]["function"]["arguments"], "{}");
        assert!(r.choices[0].message.content.is_none());
        assert!(r.usage.is_none());
    }

    #[test]
    fn error_bodies_and_garbage_are_failures() {
        let e = decode(br#"{"id": "5d4a", "message": "too many tokens: total number of tokens exceeds"}"#);
        let Err(ProviderError::Upstream(f)) = e else { panic!("{e:?}") };
        assert_eq!((f.status, f.kind), (200, ErrorType::ContextLengthExceeded));
        assert!(matches!(decode(b"nope"), Err(ProviderError::InvalidResponse(_))));
        assert!(matches!(decode(b"{}"), Err(ProviderError::InvalidResponse(_))));
        assert!(matches!(decode(b"[1]"), Err(ProviderError::InvalidResponse(_))));
    }
}
