//! Stream decoding tests: the generated event-stream fixtures, unframed by
//! [`EventStreamDecoder`] in odd-sized pieces, plus synthetic reasoning.

use super::*;
use crate::bedrock::eventstream::{EventStreamDecoder, encode_message};
use switchyard_api::ErrorType;

fn run(bytes: &[u8]) -> Result<Vec<StreamEvent>, ProviderError> {
    let mut d = EventStreamDecoder::new();
    let mut msgs = Vec::new();
    for piece in bytes.chunks(7) {
        d.push(piece, &mut msgs)?;
    }
    let mut state = StreamState::new();
    let mut out = VecDeque::new();
    for m in &msgs {
        state.decode_message(m, &mut out)?;
    }
    Ok(out.into_iter().collect())
}

fn fixture(name: &str) -> Result<Vec<StreamEvent>, ProviderError> {
    run(&std::fs::read(format!("{}/src/bedrock/testdata/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap())
}

fn chunks(evs: &[StreamEvent]) -> Vec<&ChatChunk> {
    evs.iter()
        .filter_map(|e| match e {
            StreamEvent::Chunk(c) => Some(&**c),
            StreamEvent::Done => None,
        })
        .collect()
}

fn event(kind: &str, payload: serde_json::Value) -> Vec<u8> {
    let body = serde_json::to_vec(&payload).unwrap();
    encode_message(&[(":event-type", kind), (":content-type", "application/json"), (":message-type", "event")], &body)
}

#[test]
fn text_fixture_reassembles_text_usage_and_done() {
    let evs = fixture("converse-stream-text.eventstream").unwrap();
    assert!(matches!(evs.last(), Some(StreamEvent::Done)));
    assert_eq!(evs.iter().filter(|e| matches!(e, StreamEvent::Done)).count(), 1);
    let cs = chunks(&evs);
    let first = &cs[0].choices[0].delta;
    assert_eq!((first.role.as_deref(), first.content.as_deref()), (Some("assistant"), Some("")));
    let text: String = cs.iter().filter_map(|c| c.choices[0].delta.content.as_deref()).collect();
    assert_eq!(text, "Hello there!");
    let last = cs.last().unwrap();
    assert_eq!(last.choices[0].finish_reason.as_deref(), Some("end_turn"));
    assert!(last.choices[0].delta.content.is_none() && last.choices[0].delta.role.is_none());
    let u = last.usage.as_ref().unwrap();
    assert_eq!((u.prompt_tokens, u.completion_tokens, u.total_tokens), (12, 4, 16));
    assert!(cs[..cs.len() - 1].iter().all(|c| c.usage.is_none() && c.choices[0].finish_reason.is_none()));
    assert_eq!(cs[0].object, "chat.completion.chunk");
}

#[test]
fn tool_use_fixture_reassembles_arguments_into_valid_json() {
    let evs = fixture("converse-stream-tool-use.eventstream").unwrap();
    assert!(matches!(evs.last(), Some(StreamEvent::Done)));
    let cs = chunks(&evs);
    let calls: Vec<&serde_json::Value> = cs.iter().filter_map(|c| c.choices[0].delta.tool_calls.as_ref()).collect();
    assert_eq!(
        calls[0],
        &json!([{"index": 0, "id": "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", "type": "function",
            "function": {"name": "get_weather", "arguments": ""}}])
    );
    let args: String = calls.iter().filter_map(|c| c[0]["function"]["arguments"].as_str()).collect();
    assert_eq!(serde_json::from_str::<serde_json::Value>(&args).unwrap(), json!({"city": "Paris"}));
    assert!(calls.iter().all(|c| c[0]["index"] == 0));
    let last = cs.last().unwrap();
    assert_eq!(last.choices[0].finish_reason.as_deref(), Some("tool_use"));
    let u = last.usage.as_ref().unwrap();
    assert_eq!((u.prompt_tokens, u.completion_tokens), (380, 42));
}

#[test]
fn throttling_fixture_is_a_rate_limit_error() {
    match fixture("converse-stream-throttling-exception.eventstream") {
        Err(ProviderError::Upstream(f)) => {
            assert_eq!((f.status, f.kind), (429, ErrorType::RateLimitExceeded));
            assert_eq!(f.provider_code.as_deref(), Some("throttlingException"));
            assert!(!f.message.is_empty());
        }
        other => panic!("expected a throttling error, got {:?}", other.map(|e| e.len())),
    }
}

#[test]
fn reasoning_second_tool_and_cache_usage() {
    let mut bytes = event("messageStart", json!({"role": "assistant", "p": "ab"}));
    bytes.extend(event(
        "contentBlockDelta",
        json!({"contentBlockIndex": 0, "delta": {"reasoningContent": {"text": "Let me think"}}}),
    ));
    bytes.extend(event(
        "contentBlockDelta",
        json!({"contentBlockIndex": 0, "delta": {"reasoningContent": {"signature": "EqQB"}}}),
    ));
    bytes.extend(event("contentBlockStop", json!({"contentBlockIndex": 0})));
    bytes.extend(event("contentBlockDelta", json!({"contentBlockIndex": 1, "delta": {"text": "Sure."}})));
    for (block, id) in [(2, "t1"), (3, "t2")] {
        bytes.extend(event(
            "contentBlockStart",
            json!({"contentBlockIndex": block, "start": {"toolUse": {"toolUseId": id, "name": "f"}}}),
        ));
        bytes.extend(event(
            "contentBlockDelta",
            json!({"contentBlockIndex": block, "delta": {"toolUse": {"input": "{}"}}}),
        ));
    }
    bytes.extend(event("messageStop", json!({"stopReason": "tool_use"})));
    bytes.extend(event(
        "metadata",
        json!({"usage": {"inputTokens": 5, "outputTokens": 7,
        "cacheReadInputTokens": 100, "cacheWriteInputTokens": 20}, "metrics": {"latencyMs": 1}}),
    ));
    let evs = run(&bytes).unwrap();
    let cs = chunks(&evs);
    assert_eq!(cs[1].choices[0].delta.reasoning.as_deref(), Some("Let me think"));
    assert_eq!(cs[2].choices[0].delta.reasoning_details.as_ref().unwrap()[0]["signature"], "EqQB");
    assert_eq!(cs[3].choices[0].delta.content.as_deref(), Some("Sure."));
    let ids: Vec<_> =
        cs.iter().filter_map(|c| c.choices[0].delta.tool_calls.as_ref()).map(|t| t[0]["index"].clone()).collect();
    assert_eq!(ids, [json!(0), json!(0), json!(1), json!(1)]);
    let u = cs.last().unwrap().usage.as_ref().unwrap();
    assert_eq!((u.prompt_tokens, u.cached_tokens(), u.cache_write_tokens(), u.total_tokens), (125, 100, 20, 132));
}

#[test]
fn garbage_payload_is_invalid_and_unknown_events_are_ignored() {
    let bad = encode_message(&[(":message-type", "event"), (":event-type", "contentBlockDelta")], b"nope");
    assert!(matches!(run(&bad), Err(ProviderError::InvalidResponse(_))));
    let odd = event("somethingNew", json!({"x": 1}));
    assert!(run(&odd).unwrap().is_empty());
}
