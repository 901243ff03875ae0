//! Stream decoding tests: the reference's two example streams (fed in
//! odd-sized pieces), framing variants, thinking, several tool calls and
//! failures.

use super::*;
use crate::sse::SseDecoder;
use switchyard_api::ErrorType;

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

fn text(cs: &[&ChatChunk]) -> String {
    cs.iter().filter_map(|c| c.choices[0].delta.content.as_deref()).collect()
}

fn reasoning(cs: &[&ChatChunk]) -> String {
    cs.iter().filter_map(|c| c.choices[0].delta.reasoning.as_deref()).collect()
}

fn finish<'a>(cs: &[&'a ChatChunk]) -> Vec<&'a str> {
    cs.iter().filter_map(|c| c.choices[0].finish_reason.as_deref()).collect()
}

fn calls<'a>(cs: &[&'a ChatChunk]) -> Vec<&'a Value> {
    cs.iter().filter_map(|c| c.choices[0].delta.tool_calls.as_ref()).flat_map(|v| v.as_array().unwrap()).collect()
}

fn dones(evs: &[StreamEvent]) -> usize {
    evs.iter().filter(|e| matches!(e, StreamEvent::Done)).count()
}

/// The reference's text stream, verbatim.
const TEXT: &str = r#"event: message-start
data: {"id":"29f14a5a-11de-4cae-9800-25e4747408ea","type":"message-start","delta":{"message":{"role":"assistant","content":[],"tool_plan":"","tool_calls":[],"citations":[]}}}

event: content-start
data: {"type":"content-start","index":0,"delta":{"message":{"content":{"type":"text","text":""}}}}

event: content-delta
data: {"type":"content-delta","index":0,"delta":{"message":{"content":{"text":"Paris"}}}}

event: content-delta
data: {"type":"content-delta","index":0,"delta":{"message":{"content":{"text":" is 18 °C."}}}}

event: content-end
data: {"type":"content-end","index":0}

event: message-end
data: {"type":"message-end","delta":{"finish_reason":"COMPLETE","usage":{"billed_units":{"input_tokens":9,"output_tokens":6},"tokens":{"input_tokens":680,"output_tokens":6},"cached_tokens":0}}}

data: [DONE]

"#;

/// The reference's tool-call stream, verbatim.
const TOOL: &str = r#"event: message-start
data: {"id":"4f6c…","type":"message-start","delta":{"message":{"role":"assistant","content":[],"tool_plan":"","tool_calls":[],"citations":[]}}}

event: tool-plan-delta
data: {"type":"tool-plan-delta","delta":{"message":{"tool_plan":"I will"}}}

event: tool-plan-delta
data: {"type":"tool-plan-delta","delta":{"message":{"tool_plan":" check the weather."}}}

event: tool-call-start
data: {"type":"tool-call-start","index":0,"delta":{"message":{"tool_calls":{"id":"get_weather_nsz5zm3w56q3","type":"function","function":{"name":"get_weather","arguments":""}}}}}

event: tool-call-delta
data: {"type":"tool-call-delta","index":0,"delta":{"message":{"tool_calls":{"function":{"arguments":"{\n    \""}}}}}

event: tool-call-delta
data: {"type":"tool-call-delta","index":0,"delta":{"message":{"tool_calls":{"function":{"arguments":"city\": \"Paris\"\n}"}}}}}

event: tool-call-end
data: {"type":"tool-call-end","index":0}

event: message-end
data: {"type":"message-end","delta":{"finish_reason":"TOOL_CALL","usage":{"billed_units":{"input_tokens":37,"output_tokens":21},"tokens":{"input_tokens":1012,"output_tokens":54}}}}

"#;

#[test]
fn reference_text_stream_reassembles_text_finish_and_usage() {
    let evs = run(TEXT.as_bytes()).unwrap();
    assert!(matches!(evs.last(), Some(StreamEvent::Done)));
    assert_eq!(dones(&evs), 1, "[DONE] after message-end adds nothing");
    let cs = chunks(&evs);
    let first = &cs[0].choices[0].delta;
    assert_eq!((first.role.as_deref(), first.content.as_deref()), (Some("assistant"), Some("")));
    for c in &cs {
        assert_eq!(c.id, "29f14a5a-11de-4cae-9800-25e4747408ea");
        assert_eq!(c.object, "chat.completion.chunk");
        assert!(c.created > 0);
    }
    assert_eq!(text(&cs), "Paris is 18 °C.");
    assert_eq!(finish(&cs), ["COMPLETE"]);
    let last = cs.last().unwrap();
    let d = &last.choices[0].delta;
    assert!(d.content.is_none() && d.role.is_none() && d.tool_calls.is_none());
    let u = last.usage.as_ref().unwrap();
    assert_eq!((u.prompt_tokens, u.completion_tokens, u.total_tokens, u.cached_tokens()), (680, 6, 686, 0));
    assert_eq!(cs.iter().filter(|c| c.usage.is_some()).count(), 1);
}

#[test]
fn reference_tool_stream_reassembles_valid_arguments() {
    let evs = run(TOOL.as_bytes()).unwrap();
    let cs = chunks(&evs);
    assert!(cs.iter().all(|c| c.id == "4f6c…"));
    assert_eq!(reasoning(&cs), "I will check the weather.");
    assert_eq!(text(&cs), "");
    let calls = calls(&cs);
    assert_eq!(
        calls[0],
        &json!({"index": 0, "id": "get_weather_nsz5zm3w56q3", "type": "function",
            "function": {"name": "get_weather", "arguments": ""}})
    );
    assert_eq!(calls.len(), 3);
    for later in &calls[1..] {
        assert_eq!(later["index"], 0);
        assert!(later.get("id").is_none() && later["function"].get("name").is_none());
    }
    let args: String = calls.iter().filter_map(|c| c["function"]["arguments"].as_str()).collect();
    let parsed: Value = serde_json::from_str(&args).unwrap();
    assert_eq!(parsed, json!({"city": "Paris"}));
    assert_eq!(finish(&cs), ["TOOL_CALL"]);
    let u = cs.last().unwrap().usage.as_ref().unwrap();
    assert_eq!((u.prompt_tokens, u.completion_tokens, u.total_tokens), (1012, 54, 1066));
    assert!(u.prompt_tokens_details.is_none());
    assert!(matches!(evs.last(), Some(StreamEvent::Done)));
    assert_eq!(dones(&evs), 1);
}

#[test]
fn framing_variants_decode_the_same() {
    // No `event:` lines at all.
    let bare: String = TEXT.lines().filter(|l| !l.starts_with("event:")).map(|l| format!("{l}\n")).collect();
    let evs = run(bare.as_bytes()).unwrap();
    assert_eq!(text(&chunks(&evs)), "Paris is 18 °C.");
    // Newline-delimited JSON objects arriving as one event's data lines.
    let ndjson: Vec<&str> = TEXT.lines().filter_map(|l| l.strip_prefix("data: ")).collect();
    let mut state = StreamState::new();
    let mut out = VecDeque::new();
    state.decode_event(&SseEvent { event: None, data: ndjson.join("\n") }, &mut out).unwrap();
    let evs: Vec<StreamEvent> = out.into_iter().collect();
    assert_eq!(text(&chunks(&evs)), "Paris is 18 °C.");
    assert_eq!(dones(&evs), 1);
    // The type only in the SSE event name; non-JSON data skipped.
    let mut state = StreamState::new();
    let mut out = VecDeque::new();
    let named = SseEvent {
        event: Some("content-delta".into()),
        data: r#"{"index":0,"delta":{"message":{"content":{"text":"hi"}}}}"#.into(),
    };
    state.decode_event(&named, &mut out).unwrap();
    state.decode_event(&SseEvent { event: None, data: "not json".into() }, &mut out).unwrap();
    state.decode_event(&SseEvent { event: Some("debug".into()), data: "{}".into() }, &mut out).unwrap();
    let evs: Vec<StreamEvent> = out.into_iter().collect();
    assert_eq!(evs.len(), 1);
    assert_eq!(text(&chunks(&evs)), "hi");
}

#[test]
fn thinking_streams_as_reasoning() {
    let ev = |data: &str| format!("data: {data}\n\n");
    let body = [
        ev(r#"{"id":"t","type":"message-start","delta":{"message":{"role":"assistant"}}}"#),
        ev(r#"{"type":"content-start","index":0,"delta":{"message":{"content":{"type":"thinking","thinking":""}}}}"#),
        ev(r#"{"type":"content-delta","index":0,"delta":{"message":{"content":{"thinking":"27*453 "}}}}"#),
        ev(r#"{"type":"content-delta","index":0,"delta":{"message":{"content":{"thinking":"= 12231."}}}}"#),
        ev(r#"{"type":"content-end","index":0}"#),
        ev(r#"{"type":"content-start","index":1,"delta":{"message":{"content":{"type":"text","text":"122"}}}}"#),
        ev(r#"{"type":"content-delta","index":1,"delta":{"message":{"content":{"text":"31"}}}}"#),
        ev(r#"{"type":"citation-start","index":0,"delta":{"message":{"citations":{"start":0}}}}"#),
        ev(r#"{"type":"message-end","delta":{"finish_reason":"MAX_TOKENS","usage":{"billed_units":{"input_tokens":3,"output_tokens":4},"cached_tokens":2}}}"#),
    ]
    .concat();
    let evs = run(body.as_bytes()).unwrap();
    let cs = chunks(&evs);
    assert_eq!(reasoning(&cs), "27*453 = 12231.");
    assert_eq!(text(&cs), "12231");
    assert_eq!(finish(&cs), ["MAX_TOKENS"]);
    let u = cs.last().unwrap().usage.as_ref().unwrap();
    assert_eq!((u.prompt_tokens, u.completion_tokens, u.cached_tokens()), (3, 4, 2));
}

#[test]
fn several_tool_calls_get_their_own_indexes() {
    let ev = |data: &str| format!("data: {data}\n\n");
    let start = |i: u32, id: &str, name: &str| {
        ev(&format!(
            r#"{{"type":"tool-call-start","index":{i},"delta":{{"message":{{"tool_calls":{{"id":"{id}","type":"function","function":{{"name":"{name}","arguments":""}}}}}}}}}}"#
        ))
    };
    let args = |i: u32, a: &str| {
        ev(&format!(
            r#"{{"type":"tool-call-delta","index":{i},"delta":{{"message":{{"tool_calls":{{"function":{{"arguments":"{a}"}}}}}}}}}}"#
        ))
    };
    let body = [
        ev(r#"{"id":"m","type":"message-start","delta":{}}"#),
        start(0, "a", "f"),
        args(0, "{}"),
        ev(r#"{"type":"tool-call-end","index":0}"#),
        start(1, "b", "g"),
        args(1, r#"{\"x\":"#),
        args(1, "1}"),
        ev(r#"{"type":"message-end","delta":{"finish_reason":"TOOL_CALL"}}"#),
    ]
    .concat();
    let evs = run(body.as_bytes()).unwrap();
    let cs = chunks(&evs);
    let calls = calls(&cs);
    assert_eq!((calls[2]["index"].as_u64(), calls[2]["id"].as_str()), (Some(1), Some("b")));
    let second: String =
        calls.iter().filter(|c| c["index"] == 1).filter_map(|c| c["function"]["arguments"].as_str()).collect();
    assert_eq!(serde_json::from_str::<Value>(&second).unwrap(), json!({"x": 1}));
    assert!(cs.last().unwrap().usage.is_none());
    assert!(matches!(evs.last(), Some(StreamEvent::Done)));
}

#[test]
fn failures_are_classified() {
    let start = "data: {\"id\":\"m\",\"type\":\"message-start\",\"delta\":{}}\n\n";
    let failed = format!(
        "{start}data: {{\"type\":\"message-end\",\"delta\":{{\"finish_reason\":\"ERROR\",\"error\":\"internal error\"}}}}\n\n"
    );
    let ProviderError::Upstream(f) = run(failed.as_bytes()).unwrap_err() else { panic!() };
    assert_eq!((f.status, f.kind, f.message.as_str()), (200, ErrorType::ProviderUnavailable, "internal error"));
    assert_eq!(f.raw.unwrap()["delta"]["finish_reason"], "ERROR");

    let e =
        run(format!("{start}data: {{\"id\":\"x\",\"message\":\"too many tokens: prompt too long\"}}\n\n").as_bytes());
    let Err(ProviderError::Upstream(f)) = e else { panic!("{e:?}") };
    assert_eq!(f.kind, ErrorType::ContextLengthExceeded);

    let e = run(b"event: error\ndata: {\"message\":\"boom\"}\n\n");
    assert!(matches!(e, Err(ProviderError::Upstream(ref f)) if f.message == "boom"));

    // A known event with a malformed body is not silently dropped.
    let e = run(b"data: {\"type\":\"tool-call-start\",\"index\":\"zero\"}\n\n");
    assert!(matches!(e, Err(ProviderError::InvalidResponse(_))));

    // An ERROR finish without an error text is an ordinary (raw) finish.
    let plain = format!("{start}data: {{\"type\":\"message-end\",\"delta\":{{\"finish_reason\":\"ERROR\"}}}}\n\n");
    let evs = run(plain.as_bytes()).unwrap();
    assert_eq!(finish(&chunks(&evs)), ["ERROR"]);
}
