//! Encoding tests: the reference's example request and a rich request
//! checked against the reference's v2 chat shapes, then the mapping tables.

use super::*;

fn req(body: Value) -> ChatRequest {
    serde_json::from_value(body).unwrap()
}

fn enc(r: &ChatRequest) -> Value {
    serde_json::from_slice(&encode(r, "command-a-03-2025").unwrap()).unwrap()
}

fn enc_err(r: &ChatRequest) -> String {
    match encode(r, "m") {
        Err(ProviderError::Unsupported(m)) => m,
        other => panic!("expected Unsupported, got {other:?}"),
    }
}

fn weather_tool() -> Value {
    json!({"type": "function", "function": {
        "name": "get_weather", "description": "Current weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}})
}

#[test]
fn reference_example_request_is_reproduced_exactly() {
    let r = req(json!({
        "model": "cohere/command-a",
        "messages": [
            {"role": "system", "content": "You are a terse weather bot."},
            {"role": "user", "content": "Weather in Paris?"}
        ],
        "tools": [weather_tool()],
        "temperature": 0.2, "top_p": 0.9, "max_tokens": 512, "stop": ["END"], "stream": false
    }));
    let expected = json!({
        "model": "command-a-03-2025",
        "messages": [
            {"role": "system", "content": "You are a terse weather bot."},
            {"role": "user", "content": "Weather in Paris?"}
        ],
        "tools": [weather_tool()],
        "temperature": 0.2,
        "p": 0.9,
        "max_tokens": 512,
        "stop_sequences": ["END"],
        "stream": false
    });
    assert_eq!(enc(&r), expected);
}

#[test]
fn rich_request_matches_the_reference_shapes() {
    let r = req(json!({
        "model": "cohere/command-a",
        "messages": [
            {"role": "system", "content": "You are a terse weather bot."},
            {"role": "developer", "content": [{"type": "text", "text": "Use metric units."}]},
            {"role": "user", "content": [
                {"type": "text", "text": "What is in this image?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo...", "detail": "auto"}},
                {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}}]},
            {"role": "assistant", "content": null, "reasoning": "I will look up the weather.",
             "tool_calls": [{"id": "get_weather_nsz5zm3w56q3", "type": "function",
                "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
                {"id": "now_1", "type": "function", "function": {"name": "now", "arguments": ""}}]},
            {"role": "tool", "tool_call_id": "get_weather_nsz5zm3w56q3", "content": "{\"temp_c\":18}"},
            {"role": "tool", "tool_call_id": "now_1", "content": [{"type": "text", "text": "12:00"}]},
            {"role": "assistant", "content": [{"type": "text", "text": "Paris is 18 °C."}]},
            {"role": "assistant", "content": ""},
            {"role": "user", "content": "And tomorrow?", "name": "alice"}
        ],
        "tools": [weather_tool(), {"type": "function", "function": {"name": "now", "strict": true}}],
        "tool_choice": "required",
        "parallel_tool_calls": false,
        "max_completion_tokens": 1000,
        "temperature": 0.2,
        "top_p": 1.0,
        "top_k": 900,
        "frequency_penalty": 1.5,
        "presence_penalty": -0.5,
        "seed": 42,
        "stop": "\n\nUser:",
        "reasoning": {"effort": "low"},
        "stream": true,
        "user": "alice",
        "logit_bias": {"1": 2},
        "logprobs": true,
        "repetition_penalty": 1.1,
        "min_p": 0.1,
        "my_param": 7,
        "provider": {"order": ["cohere"]}
    }));
    let expected = json!({
        "model": "command-a-03-2025",
        "messages": [
            {"role": "system", "content": "You are a terse weather bot."},
            {"role": "system", "content": [{"type": "text", "text": "Use metric units."}]},
            {"role": "user", "content": [
                {"type": "text", "text": "What is in this image?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo...", "detail": "auto"}},
                {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}}]},
            {"role": "assistant", "tool_plan": "I will look up the weather.", "tool_calls": [
                {"id": "get_weather_nsz5zm3w56q3", "type": "function",
                 "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
                {"id": "now_1", "type": "function", "function": {"name": "now", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "get_weather_nsz5zm3w56q3", "content": "{\"temp_c\":18}"},
            {"role": "tool", "tool_call_id": "now_1", "content": [{"type": "text", "text": "12:00"}]},
            {"role": "assistant", "content": "Paris is 18 °C."},
            {"role": "user", "content": "And tomorrow?"}
        ],
        "tools": [weather_tool(), {"type": "function", "function": {"name": "now",
            "parameters": {"type": "object", "properties": {}}}}],
        "strict_tools": true,
        "tool_choice": "REQUIRED",
        "max_tokens": 1000,
        "stop_sequences": ["\n\nUser:"],
        "temperature": 0.2,
        "seed": 42,
        "frequency_penalty": 1.0,
        "presence_penalty": 0.0,
        "k": 500,
        "p": 0.99,
        "thinking": {"type": "enabled", "token_budget": 200},
        "stream": true
    });
    assert_eq!(enc(&r), expected);
}

#[test]
fn assistant_text_next_to_tool_calls_becomes_the_tool_plan() {
    let r = req(json!({"messages": [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "Let me check.", "reasoning": "ignored",
         "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
        {"role": "assistant", "tool_calls": [{"id": "c2", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}
    ]}));
    let v = enc(&r);
    assert_eq!(v["messages"][1]["tool_plan"], "Let me check.");
    assert!(v["messages"][1].get("content").is_none());
    assert!(v["messages"][2].get("tool_plan").is_none() && v["messages"][2].get("content").is_none());
    assert_eq!(v["messages"][2]["tool_calls"][0]["id"], "c2");
}

#[test]
fn tool_choice_table() {
    let two_tools = json!([weather_tool(), {"type": "function", "function": {"name": "now"}}]);
    let with = |choice: Value| {
        req(json!({"messages": [{"role": "user", "content": "x"}], "tools": two_tools, "tool_choice": choice}))
    };
    let v = enc(&with(json!("auto")));
    assert!(v.get("tool_choice").is_none());
    assert_eq!(v["tools"].as_array().unwrap().len(), 2);
    assert_eq!(enc(&with(json!("none")))["tool_choice"], "NONE");
    assert_eq!(enc(&with(json!("required")))["tool_choice"], "REQUIRED");
    // A named function: only that tool is offered, and it must be called.
    let v = enc(&with(json!({"type": "function", "function": {"name": "now"}})));
    assert_eq!(v["tool_choice"], "REQUIRED");
    assert_eq!(
        v["tools"],
        json!([{"type": "function", "function": {"name": "now",
        "parameters": {"type": "object", "properties": {}}}}])
    );
    assert!(enc_err(&with(json!({"type": "function", "function": {"name": "nope"}}))).contains("nope"));
    assert!(enc_err(&with(json!("sometimes"))).contains("sometimes"));
    assert!(enc_err(&with(json!({"type": "function"}))).contains("named function"));

    let no_tools = |choice: Value| req(json!({"messages": [{"role": "user", "content": "x"}], "tool_choice": choice}));
    let v = enc(&no_tools(json!("none")));
    assert!(v.get("tool_choice").is_none() && v.get("tools").is_none());
    assert!(enc_err(&no_tools(json!("required"))).contains("needs at least one tool"));
}

#[test]
fn response_format_table() {
    let with = |rf: Value| req(json!({"messages": [{"role": "user", "content": "x"}], "response_format": rf}));
    assert_eq!(enc(&with(json!({"type": "json_object"})))["response_format"], json!({"type": "json_object"}));
    let schema = json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]});
    let v = enc(&with(json!({"type": "json_schema", "json_schema": {"name": "w", "strict": true, "schema": schema}})));
    assert_eq!(v["response_format"], json!({"type": "json_object", "json_schema": schema}));
    assert!(enc(&with(json!({"type": "text"}))).get("response_format").is_none());
    assert!(enc_err(&with(json!({"type": "grammar"}))).contains("grammar"));
    let mixed = req(json!({"messages": [{"role": "user", "content": "x"}], "tools": [weather_tool()],
        "response_format": {"type": "json_object"}}));
    assert!(enc_err(&mixed).contains("tools"));
}

#[test]
fn reasoning_table() {
    let with = |extra: Value| {
        let mut body = json!({"messages": [{"role": "user", "content": "x"}]});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        enc(&req(body)).get("thinking").cloned()
    };
    assert_eq!(with(json!({})), None);
    assert_eq!(with(json!({"reasoning": {}})), None);
    assert_eq!(with(json!({"include_reasoning": true})), None);
    assert_eq!(
        with(json!({"reasoning": {"max_tokens": 3000}})),
        Some(json!({"type": "enabled", "token_budget": 3000}))
    );
    assert_eq!(with(json!({"reasoning": {"enabled": true}})), Some(json!({"type": "enabled"})));
    assert_eq!(with(json!({"reasoning_effort": "high"})), Some(json!({"type": "enabled"})));
    assert_eq!(
        with(json!({"reasoning_effort": "high", "max_tokens": 1000})),
        Some(json!({"type": "enabled", "token_budget": 800}))
    );
    assert_eq!(with(json!({"reasoning": {"enabled": false}})), Some(json!({"type": "disabled"})));
    assert_eq!(with(json!({"reasoning_effort": "none"})), Some(json!({"type": "disabled"})));
    let r = req(json!({"messages": [{"role": "user", "content": "x"}], "reasoning": {"effort": "extreme"}}));
    assert!(enc_err(&r).contains("extreme"));
}

#[test]
fn unsupported_inputs_are_refused_with_reasons() {
    let user = |part: Value| req(json!({"messages": [{"role": "user", "content": [part]}]}));
    assert!(
        enc_err(&user(json!({"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}})))
            .contains("audio")
    );
    assert!(
        enc_err(&user(json!({"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBE"}})))
            .contains("files")
    );
    assert!(enc_err(&user(json!({"type": "video_url", "video_url": {"url": "https://x/v.mp4"}}))).contains("video"));
    let sys_image = req(json!({"messages": [{"role": "system", "content": [
        {"type": "image_url", "image_url": {"url": "https://x/a.png"}}]}]}));
    assert!(enc_err(&sys_image).contains("system"));
    let n = req(json!({"messages": [{"role": "user", "content": "x"}], "n": 2}));
    assert!(enc_err(&n).contains("`n`"));
    let n1 = req(json!({"messages": [{"role": "user", "content": "x"}], "n": 1}));
    assert!(enc(&n1).get("n").is_none());
    let tool = req(json!({"messages": [{"role": "tool", "content": "x"}]}));
    assert!(enc_err(&tool).contains("tool_call_id"));
    let func = req(json!({"messages": [{"role": "function", "name": "f", "content": "x"}]}));
    assert!(enc_err(&func).contains("function"));
    let server_tool = req(json!({"messages": [{"role": "user", "content": "x"}], "tools": [{"type": "web_search"}]}));
    assert!(enc_err(&server_tool).contains("web_search"));
}
