//! Stream decoding tests: the recorded Anthropic fixtures (fed in odd-sized
//! pieces) and synthetic thinking, error and structured-output streams.

use super::*;
use crate::sse::SseDecoder;
use switchyard_api::ErrorType;

fn run(bytes: &[u8], opts: DecodeOptions) -> Result<Vec<StreamEvent>, ProviderError> {
    let mut d = SseDecoder::default();
    let mut evs = Vec::new();
    for piece in bytes.chunks(7) {
        d.push(piece, &mut evs).unwrap();
    }
    d.finish(&mut evs).unwrap();
    let mut state = StreamState::new(opts);
    let mut out = VecDeque::new();
    for ev in &evs {
        state.decode_event(ev, &mut out)?;
    }
    Ok(out.into_iter().collect())
}

fn fixture(name: &str) -> Vec<StreamEvent> {
    let path = format!("{}/tests/fixtures/anthropic/{name}", env!("CARGO_MANIFEST_DIR"));
    run(&std::fs::read(path).unwrap(), DecodeOptions::default()).unwrap()
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

fn finish<'a>(cs: &[&'a ChatChunk]) -> Vec<&'a str> {
    cs.iter().filter_map(|c| c.choices[0].finish_reason.as_deref()).collect()
}

#[test]
fn basic_fixture_reassembles_text_and_usage() {
    let evs = fixture("stream-basic_response.sse");
    assert!(matches!(evs.last(), Some(StreamEvent::Done)), "message_stop flushed without a trailing newline");
    let cs = chunks(&evs);
    let first = cs[0];
    assert_eq!(first.choices[0].delta.role.as_deref(), Some("assistant"));
    assert_eq!(first.choices[0].delta.content.as_deref(), Some(""));
    for c in &cs {
        assert_eq!(c.id, "msg_4QpJur2dWWDjF6C758FbBw5vm12BaVipnK");
        assert_eq!(c.object, "chat.completion.chunk");
        assert_eq!(c.model, "claude-3-opus-latest");
    }
    assert_eq!(text(&cs), "Hello there!");
    assert_eq!(finish(&cs), ["end_turn"]);
    let last = cs.last().unwrap();
    assert!(last.choices[0].delta.content.is_none());
    let u = last.usage.as_ref().unwrap();
    assert_eq!((u.prompt_tokens, u.completion_tokens, u.total_tokens), (11, 6, 17));
    assert_eq!(cs.iter().filter(|c| c.usage.is_some()).count(), 1);
}

#[test]
fn tool_use_fixture_reassembles_valid_arguments() {
    let evs = fixture("stream-tool_use_response.sse");
    let cs = chunks(&evs);
    assert_eq!(text(&cs), "I'll check the current weather in Paris for you.");
    let calls: Vec<&Value> =
        cs.iter().filter_map(|c| c.choices[0].delta.tool_calls.as_ref()).flat_map(|v| v.as_array().unwrap()).collect();
    let first = calls[0];
    assert_eq!(first["index"], 0);
    assert_eq!(first["id"], "toolu_01NRLabsLyVHZPKxbKvkfSMn");
    assert_eq!(first["type"], "function");
    assert_eq!(first["function"]["name"], "get_weather");
    assert_eq!(first["function"]["arguments"], "");
    for later in &calls[1..] {
        assert_eq!(later["index"], 0);
        assert!(later.get("id").is_none() && later["function"].get("name").is_none());
    }
    let args: String = calls.iter().filter_map(|c| c["function"]["arguments"].as_str()).collect();
    let parsed: Value = serde_json::from_str(&args).unwrap();
    assert_eq!(parsed, json!({"location": "Paris"}));
    assert_eq!(finish(&cs), ["tool_use"]);
    let u = cs.last().unwrap().usage.as_ref().unwrap();
    assert_eq!((u.prompt_tokens, u.completion_tokens, u.cached_tokens()), (377, 65, 0));
    assert!(matches!(evs.last(), Some(StreamEvent::Done)));
}

#[test]
fn refusal_fixture_finishes_with_refusal() {
    let evs = fixture("stream-refusal_response.sse");
    let cs = chunks(&evs);
    assert_eq!(text(&cs), "");
    assert_eq!(finish(&cs), ["refusal"]);
    assert_eq!(cs.last().unwrap().usage.as_ref().unwrap().prompt_tokens, 20);
    assert!(matches!(evs.last(), Some(StreamEvent::Done)));
}

const THINKING: &str = r#"event: message_start
data: {"type":"message_start","message":{"id":"msg_T","type":"message","role":"assistant","content":[],"model":"claude-sonnet-4-5","stop_reason":null,"usage":{"input_tokens":50,"cache_read_input_tokens":1000,"cache_creation_input_tokens":200,"output_tokens":1}}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"The user asks about 27*453. "}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"27*453 = 12231."}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"EqQBCkgIARABGAIiQL2"}}

event: content_block_stop
data: {"type":"content_block_stop","index":0}

event: content_block_start
data: {"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"12231"}}

event: content_block_stop
data: {"type":"content_block_stop","index":1}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":120}}

event: message_stop
data: {"type":"message_stop"}"#;

#[test]
fn thinking_streams_as_reasoning_with_signature() {
    let evs = run(THINKING.as_bytes(), DecodeOptions::default()).unwrap();
    let cs = chunks(&evs);
    let reasoning: String = cs.iter().filter_map(|c| c.choices[0].delta.reasoning.as_deref()).collect();
    assert_eq!(reasoning, "The user asks about 27*453. 27*453 = 12231.");
    let details: Vec<&Value> = cs
        .iter()
        .filter_map(|c| c.choices[0].delta.reasoning_details.as_ref())
        .flat_map(|v| v.as_array().unwrap())
        .collect();
    assert_eq!(details.len(), 3);
    assert_eq!(
        details[0],
        &json!({"type": "reasoning.text", "text": "The user asks about 27*453. ", "format": "anthropic-claude-v1", "index": 0})
    );
    assert_eq!(
        details[2],
        &json!({"type": "reasoning.text", "signature": "EqQBCkgIARABGAIiQL2", "format": "anthropic-claude-v1", "index": 0})
    );
    assert_eq!(text(&cs), "12231");
    let u = cs.last().unwrap().usage.as_ref().unwrap();
    assert_eq!((u.prompt_tokens, u.completion_tokens), (1250, 120));
    assert_eq!((u.cached_tokens(), u.cache_write_tokens()), (1000, 200));

    let excluded = run(THINKING.as_bytes(), DecodeOptions { exclude_reasoning: true, json_tool: false }).unwrap();
    let cs = chunks(&excluded);
    assert!(
        cs.iter().all(|c| c.choices[0].delta.reasoning.is_none() && c.choices[0].delta.reasoning_details.is_none())
    );
    assert_eq!(text(&cs), "12231");
}

#[test]
fn error_event_is_classified_like_http_errors() {
    let body = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"model\":\"c\",\"usage\":{}}}\n\n\
                event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n";
    let e = run(body.as_bytes(), DecodeOptions::default()).unwrap_err();
    assert!(e.retryable());
    let ProviderError::Upstream(f) = e else { panic!("{e:?}") };
    assert_eq!((f.kind, f.provider_code.as_deref()), (ErrorType::ProviderOverloaded, Some("overloaded_error")));
    let body =
        "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\",\"message\":\"slow\"}}";
    let ProviderError::Upstream(f) = run(body.as_bytes(), DecodeOptions::default()).unwrap_err() else { panic!() };
    assert_eq!(f.kind, ErrorType::RateLimitExceeded);
    let garbage = run(b"data: {nope\n\n", DecodeOptions::default()).unwrap_err();
    assert!(matches!(garbage, ProviderError::InvalidResponse(_)));
}

#[test]
fn json_tool_streams_as_text_and_second_tool_gets_index_one() {
    let start = r#"{"type":"message_start","message":{"id":"m","model":"c","usage":{"input_tokens":5}}}"#;
    let ev = |data: &str| format!("data: {data}\n\n");
    let json_stream = [
        ev(start),
        ev(r#"{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"t","name":"json_response","input":{}}}"#),
        ev(r#"{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"a\":"}}"#),
        ev(r#"{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"1}"}}"#),
        ev(r#"{"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":9}}"#),
        ev(r#"{"type":"message_stop"}"#),
    ]
    .concat();
    let evs = run(json_stream.as_bytes(), DecodeOptions { exclude_reasoning: false, json_tool: true }).unwrap();
    let cs = chunks(&evs);
    assert_eq!(text(&cs), r#"{"a":1}"#);
    assert!(cs.iter().all(|c| c.choices[0].delta.tool_calls.is_none()));
    assert_eq!(finish(&cs), ["end_turn"]);

    let two_tools = [
        ev(start),
        ev(r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#),
        ev(r#"{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"a","name":"f","input":{}}}"#),
        ev(r#"{"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"b","name":"g","input":{}}}"#),
        ev(r#"{"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{}"}}"#),
        ev(r#"{"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":9}}"#),
    ]
    .concat();
    let evs = run(two_tools.as_bytes(), DecodeOptions { exclude_reasoning: false, json_tool: true }).unwrap();
    let cs = chunks(&evs);
    let calls: Vec<&Value> = cs.iter().filter_map(|c| c.choices[0].delta.tool_calls.as_ref()).collect();
    assert_eq!((calls[1][0]["index"].as_u64(), calls[1][0]["id"].as_str()), (Some(1), Some("b")));
    assert_eq!(calls[2][0]["index"], 1);
    assert_eq!(finish(&cs), ["tool_use"]);
}

#[test]
fn web_search_citations_stream_as_annotations_after_the_cited_block() {
    let sse = concat!(
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"c\",\"content\":[],\"usage\":{\"input_tokens\":3}}}\n\n",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"server_tool_use\",\"id\":\"s\",\"name\":\"web_search\",\"input\":{}}}\n\n",
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"citations_delta\",\"citation\":{\"type\":\"web_search_result_location\",\"url\":\"https://a.com\",\"title\":\"A\",\"cited_text\":\"c\"}}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\"Paris\"}}\n\n",
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n",
        "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":4,\"server_tool_use\":{\"web_search_requests\":1}}}\n\n",
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
    );
    let evs = run(sse.as_bytes(), DecodeOptions::default()).unwrap();
    let cs = chunks(&evs);
    assert_eq!(text(&cs), "Paris");
    let cited: Vec<_> = cs.iter().filter_map(|c| c.choices[0].delta.extra.get("annotations")).collect();
    assert_eq!(
        cited,
        [&json!([{"type": "url_citation", "url_citation": {"url": "https://a.com", "title": "A", "content": "c",
            "start_index": 0, "end_index": 5}}])]
    );
    let usage = cs.last().unwrap().usage.as_ref().unwrap();
    assert_eq!(usage.extra["server_tool_use"], json!({"web_search_requests": 1}));
}
