//! Decoding tests on the reference's example answers.

use super::*;
use switchyard_api::{ChatRequest, ErrorType};

const THOUGHTS: &str = r#"{
  "candidates": [{
    "content": {"role": "model", "parts": [
      {"text": "User wants weather; tool says 18C.", "thought": true},
      {"text": "Paris: 18 °C, cloudy.", "thoughtSignature": "CiQB0e2Kb..."}]},
    "finishReason": "STOP", "index": 0, "avgLogprobs": -0.12,
    "safetyRatings": [{"category": "HARM_CATEGORY_HARASSMENT", "probability": "NEGLIGIBLE"}]}],
  "usageMetadata": {"promptTokenCount": 1290, "candidatesTokenCount": 9, "totalTokenCount": 1423,
    "cachedContentTokenCount": 1024, "thoughtsTokenCount": 124,
    "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 32}, {"modality": "IMAGE", "tokenCount": 1258}],
    "cacheTokensDetails": [{"modality": "TEXT", "tokenCount": 1024}]},
  "modelVersion": "gemini-2.5-flash",
  "responseId": "mAitaLmkHPPlz7IPvtfUqQ4"
}"#;

const CALL: &str = r#"{"candidates": [{"content": {"role": "model", "parts": [
    {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": "CiQB0e2Kb..."},
    {"functionCall": {"name": "get_time", "id": "fc_7"}}]},
  "finishReason": "STOP", "index": 0}],
  "usageMetadata": {"promptTokenCount": 60, "candidatesTokenCount": 15, "totalTokenCount": 75},
  "modelVersion": "gemini-2.5-flash", "responseId": "x1"}"#;

const BLOCKED: &str = r#"{"promptFeedback": {"blockReason": "SAFETY",
   "safetyRatings": [{"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH", "blocked": true}]},
 "usageMetadata": {"promptTokenCount": 12, "totalTokenCount": 12}, "modelVersion": "gemini-2.5-flash"}"#;

fn dec(body: &str) -> ChatResponse {
    decode(body.as_bytes()).unwrap()
}

#[test]
fn thoughts_become_reasoning_with_the_signature_and_usage_counts_them() {
    let r = dec(THOUGHTS);
    assert_eq!(r.id, "mAitaLmkHPPlz7IPvtfUqQ4");
    assert_eq!(r.object, "chat.completion");
    assert_eq!(r.model, "gemini-2.5-flash");
    assert!(r.created > 0);
    let c = &r.choices[0];
    assert_eq!(c.finish_reason.as_deref(), Some("STOP"));
    assert_eq!(c.message.content.as_deref(), Some("Paris: 18 °C, cloudy."));
    assert_eq!(c.message.reasoning.as_deref(), Some("User wants weather; tool says 18C."));
    assert_eq!(
        c.message.reasoning_details.as_ref().unwrap(),
        &json!([{"type": "reasoning.text", "text": "User wants weather; tool says 18C.", "signature": "CiQB0e2Kb...",
            "format": "google-gemini-v1", "index": 0}])
    );
    assert!(c.message.tool_calls.is_none());
    let u = r.usage.unwrap();
    assert_eq!((u.prompt_tokens, u.completion_tokens, u.total_tokens), (1290, 133, 1423));
    assert_eq!((u.cached_tokens(), u.reasoning_tokens()), (1024, 124));
}

#[test]
fn function_calls_become_tool_calls_with_stable_ids_and_raw_stop() {
    let r = dec(CALL);
    let c = &r.choices[0];
    assert_eq!(c.finish_reason.as_deref(), Some("STOP"), "normalising to tool_calls is the server's job");
    assert!(c.message.content.is_none());
    assert_eq!(
        c.message.tool_calls.as_ref().unwrap(),
        &json!([
            {"id": "call_x1_0", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
            {"id": "fc_7", "type": "function", "function": {"name": "get_time", "arguments": "{}"}}
        ])
    );
    assert_eq!(
        c.message.reasoning_details.as_ref().unwrap(),
        &json!([{"type": "reasoning.encrypted", "data": "CiQB0e2Kb...", "id": "call_x1_0",
            "format": "google-gemini-v1", "index": 0}])
    );
    assert!(c.message.reasoning.is_none());
    let u = r.usage.unwrap();
    assert_eq!((u.prompt_tokens, u.completion_tokens, u.reasoning_tokens()), (60, 15, 0));
}

#[test]
fn a_decoded_call_signature_goes_back_on_the_call() {
    let c = dec(CALL).choices.remove(0);
    let assistant = json!({"role": "assistant", "content": c.message.content, "tool_calls": c.message.tool_calls,
        "reasoning_details": c.message.reasoning_details});
    let r: ChatRequest =
        serde_json::from_value(json!({"messages": [{"role": "user", "content": "x"}, assistant]})).unwrap();
    let v: Value = serde_json::from_slice(&crate::gemini::encode::encode(&r, "gemini-2.5-flash").unwrap()).unwrap();
    assert_eq!(
        v["contents"][1]["parts"],
        json!([{"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": "CiQB0e2Kb..."},
               {"functionCall": {"name": "get_time", "args": {}}}])
    );
}

#[test]
fn blocked_prompt_is_an_empty_content_filter_answer() {
    let r = dec(BLOCKED);
    assert_eq!(r.choices.len(), 1);
    let c = &r.choices[0];
    assert_eq!(c.finish_reason.as_deref(), Some("SAFETY"));
    assert_eq!(c.message.content.as_deref(), Some(""));
    assert_eq!(r.id, "");
    let u = r.usage.unwrap();
    assert_eq!((u.prompt_tokens, u.completion_tokens), (12, 0));
}

#[test]
fn several_candidates_and_empty_ones_map_to_choices() {
    let body = r#"{"candidates": [
        {"content": {"role": "model", "parts": [{"text": "a"}, {"text": "b"}]}, "finishReason": "STOP", "index": 0},
        {"content": {"role": "model"}, "finishReason": "MAX_TOKENS", "index": 1}],
      "modelVersion": "gemini-2.5-pro"}"#;
    let r = dec(body);
    assert_eq!(r.choices.len(), 2);
    assert_eq!(r.choices[0].message.content.as_deref(), Some("ab"));
    assert_eq!((r.choices[1].index, r.choices[1].finish_reason.as_deref()), (1, Some("MAX_TOKENS")));
    assert_eq!(r.choices[1].message.content.as_deref(), Some(""));
    assert!(r.usage.is_none(), "no usageMetadata: the server estimates");
}

#[test]
fn errors_and_garbage_are_failures() {
    let e = decode(br#"{"error": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}}"#);
    assert!(
        matches!(e, Err(ProviderError::Upstream(ref f)) if f.kind == ErrorType::ProviderOverloaded && f.status == 503)
    );
    assert!(matches!(decode(b"nope"), Err(ProviderError::InvalidResponse(_))));
    assert!(matches!(decode(b"{}"), Err(ProviderError::InvalidResponse(_))));
}
