//! Stream decoding tests: the reference's SSE transcripts (CRLF-separated,
//! fed in odd-sized pieces), tool calls across chunks, errors and blocks.

use super::*;
use crate::sse::SseDecoder;
use switchyard_api::ErrorType;

/// The reference's text stream: a thought, then two text chunks, the last
/// with `finishReason` and final usage.
const TEXT: &str = concat!(
    r#"data: {"candidates": [{"content": {"parts": [{"text": "**Considering the weather**\nThe user wants...","thought": true}],"role": "model"},"index": 0}],"usageMetadata": {"promptTokenCount": 12,"totalTokenCount": 40,"thoughtsTokenCount": 28},"modelVersion": "gemini-2.5-flash","responseId": "mAitaLmkHPPlz7IPvtfUqQ4"}"#,
    "\r\n\r\n",
    r#"data: {"candidates": [{"content": {"parts": [{"text": "The sky appears blue because","thoughtSignature": "CiQB0e2Kb..."}],"role": "model"},"index": 0}],"usageMetadata": {"promptTokenCount": 12,"candidatesTokenCount": 5,"totalTokenCount": 45,"thoughtsTokenCount": 28},"modelVersion": "gemini-2.5-flash","responseId": "mAitaLmkHPPlz7IPvtfUqQ4"}"#,
    "\r\n\r\n",
    r#"data: {"candidates": [{"content": {"parts": [{"text": " of Rayleigh scattering."}],"role": "model"},"finishReason": "STOP","index": 0}],"usageMetadata": {"promptTokenCount": 12,"candidatesTokenCount": 10,"totalTokenCount": 50,"thoughtsTokenCount": 28,"promptTokensDetails": [{"modality": "TEXT","tokenCount": 12}]},"modelVersion": "gemini-2.5-flash","responseId": "mAitaLmkHPPlz7IPvtfUqQ4"}"#,
    "\r\n\r\n",
);

/// Text, then two whole function calls in separate chunks, the first signed.
const CALLS: &str = concat!(
    r#"data: {"candidates": [{"content": {"parts": [{"text": "Let me check."}],"role": "model"},"index": 0}],"modelVersion": "gemini-2.5-flash","responseId": "x1"}"#,
    "\n\n",
    r#"data: {"candidates": [{"content": {"parts": [{"functionCall": {"name": "get_weather","args": {"city": "Paris"}},"thoughtSignature": "CiQB0e2Kb..."}],"role": "model"},"index": 0}],"modelVersion": "gemini-2.5-flash","responseId": "x1"}"#,
    "\n\n",
    r#"data: {"candidates": [{"content": {"parts": [{"functionCall": {"name": "get_time","args": {"tz": "CET"}}}],"role": "model"},"finishReason": "STOP","index": 0}],"usageMetadata": {"promptTokenCount": 60,"candidatesTokenCount": 15,"totalTokenCount": 75},"modelVersion": "gemini-2.5-flash","responseId": "x1"}"#,
    "\n\n",
);

fn run(bytes: &[u8]) -> Result<Vec<StreamEvent>, ProviderError> {
    let mut d = SseDecoder::default();
    let mut evs = Vec::new();
    for piece in bytes.chunks(7) {
        d.push(piece, &mut evs).unwrap();
    }
    d.finish(&mut evs).unwrap();
    let mut state = StreamState::new();
    let mut out = VecDeque::new();
    for ev in &evs {
        state.decode_event(ev, &mut out)?;
    }
    Ok(out.into_iter().collect())
}

fn chunks(evs: &[StreamEvent]) -> Vec<&ChatChunk> {
    evs.iter()
        .filter_map(|e| match e {
            StreamEvent::Chunk(c) => Some(&**c),
            StreamEvent::Done => None,
        })
        .collect()
}

fn delta_text(cs: &[&ChatChunk], f: impl Fn(&Delta) -> Option<&str>) -> String {
    cs.iter().filter_map(|c| f(&c.choices[0].delta)).collect()
}

fn details(cs: &[&ChatChunk]) -> Vec<Value> {
    cs.iter()
        .filter_map(|c| c.choices[0].delta.reasoning_details.as_ref())
        .flat_map(|v| v.as_array().unwrap().clone())
        .collect()
}

#[test]
fn text_stream_reassembles_text_reasoning_finish_and_usage() {
    let evs = run(TEXT.as_bytes()).unwrap();
    assert!(matches!(evs.last(), Some(StreamEvent::Done)), "the finishing chunk ends the stream");
    assert_eq!(evs.iter().filter(|e| matches!(e, StreamEvent::Done)).count(), 1);
    let cs = chunks(&evs);
    assert_eq!(cs[0].choices[0].delta.role.as_deref(), Some("assistant"));
    assert_eq!(cs.iter().filter(|c| c.choices[0].delta.role.is_some()).count(), 1);
    for c in &cs {
        assert_eq!(c.id, "mAitaLmkHPPlz7IPvtfUqQ4");
        assert_eq!(c.object, "chat.completion.chunk");
        assert_eq!(c.model, "gemini-2.5-flash");
        assert!(c.created > 0);
    }
    assert_eq!(delta_text(&cs, |d| d.content.as_deref()), "The sky appears blue because of Rayleigh scattering.");
    assert_eq!(delta_text(&cs, |d| d.reasoning.as_deref()), "**Considering the weather**\nThe user wants...");
    assert_eq!(
        details(&cs),
        [
            json!({"type": "reasoning.text", "text": "**Considering the weather**\nThe user wants...",
                "format": "google-gemini-v1", "index": 0}),
            json!({"type": "reasoning.text", "signature": "CiQB0e2Kb...", "format": "google-gemini-v1", "index": 0}),
        ]
    );
    let finishes: Vec<&ChatChunk> = cs.iter().copied().filter(|c| c.choices[0].finish_reason.is_some()).collect();
    assert_eq!(finishes.len(), 1);
    let last = *cs.last().unwrap();
    assert_eq!(last.choices[0].finish_reason.as_deref(), Some("STOP"));
    let d = &last.choices[0].delta;
    assert!(d.content.is_none() && d.role.is_none() && d.tool_calls.is_none() && d.reasoning.is_none());
    let u = last.usage.as_ref().unwrap();
    assert_eq!((u.prompt_tokens, u.completion_tokens, u.total_tokens, u.reasoning_tokens()), (12, 38, 50, 28));
    assert_eq!(cs.iter().filter(|c| c.usage.is_some()).count(), 1);
}

#[test]
fn whole_function_calls_are_single_deltas_numbered_across_the_stream() {
    let evs = run(CALLS.as_bytes()).unwrap();
    let cs = chunks(&evs);
    assert_eq!(delta_text(&cs, |d| d.content.as_deref()), "Let me check.");
    let calls: Vec<&Value> =
        cs.iter().filter_map(|c| c.choices[0].delta.tool_calls.as_ref()).flat_map(|v| v.as_array().unwrap()).collect();
    assert_eq!(
        calls,
        [
            &json!({"index": 0, "id": "call_x1_0", "type": "function",
                "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}),
            &json!({"index": 1, "id": "call_x1_1", "type": "function",
                "function": {"name": "get_time", "arguments": "{\"tz\":\"CET\"}"}}),
        ]
    );
    assert_eq!(
        details(&cs),
        [json!({"type": "reasoning.encrypted", "data": "CiQB0e2Kb...", "id": "call_x1_0",
            "format": "google-gemini-v1", "index": 0})]
    );
    let last = *cs.last().unwrap();
    assert_eq!(last.choices[0].finish_reason.as_deref(), Some("STOP"));
    let u = last.usage.as_ref().unwrap();
    assert_eq!((u.prompt_tokens, u.completion_tokens, u.total_tokens), (60, 15, 75));
    assert!(matches!(evs.last(), Some(StreamEvent::Done)));
}

#[test]
fn error_event_is_classified_by_its_code_and_status() {
    let body = concat!(
        r#"data: {"candidates": [{"content": {"parts": [{"text": "Hel"}],"role": "model"},"index": 0}],"responseId": "r"}"#,
        "\n\n",
        r#"data: {"error": {"code": 503, "message": "The model is overloaded. Please try again later.", "status": "UNAVAILABLE"}}"#,
        "\n\n"
    );
    match run(body.as_bytes()) {
        Err(ProviderError::Upstream(f)) => {
            assert_eq!((f.status, f.kind), (503, ErrorType::ProviderOverloaded));
            assert_eq!(f.provider_code.as_deref(), Some("UNAVAILABLE"));
        }
        other => panic!("expected an upstream error, got {other:?}"),
    }
    assert!(matches!(run(b"data: {not json\n\n"), Err(ProviderError::InvalidResponse(_))));
}

#[test]
fn blocked_prompt_finishes_and_later_events_are_ignored() {
    let body = concat!(
        r#"data: {"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"},"usageMetadata": {"promptTokenCount": 9,"totalTokenCount": 9},"modelVersion": "gemini-2.5-flash"}"#,
        "\n\n",
        r#"data: {"candidates": [{"content": {"parts": [{"text": "late"}],"role": "model"},"index": 0}]}"#,
        "\n\n"
    );
    let evs = run(body.as_bytes()).unwrap();
    let cs = chunks(&evs);
    assert_eq!(cs.len(), 2, "role chunk, then the finish chunk");
    assert_eq!(cs[1].choices[0].finish_reason.as_deref(), Some("PROHIBITED_CONTENT"));
    assert_eq!(cs[1].usage.as_ref().unwrap().prompt_tokens, 9);
    assert!(matches!(evs.last(), Some(StreamEvent::Done)));
    assert_eq!(delta_text(&cs, |d| d.content.as_deref()), "");
}
