//! Encoding tests: a rich request checked field by field against the
//! reference's Messages shapes, and the parameter mapping tables.

use super::*;
use crate::anthropic::{DecodeOptions, JSON_NOTE};

fn req(body: Value) -> ChatRequest {
    serde_json::from_value(body).unwrap()
}

fn enc(r: &ChatRequest) -> Value {
    serde_json::from_slice(&encode(r, "claude-sonnet-4-20250514").unwrap()).unwrap()
}

fn enc_err(r: &ChatRequest) -> String {
    match encode(r, "m") {
        Err(ProviderError::Unsupported(m)) => m,
        other => panic!("expected Unsupported, got {other:?}"),
    }
}

fn rich() -> Value {
    json!({
        "model": "anthropic/claude-sonnet-4",
        "messages": [
            {"role": "system", "content": [
                {"type": "text", "text": "You are a terse weather bot.", "cache_control": {"type": "ephemeral"}}]},
            {"role": "developer", "content": "Use metric units."},
            {"role": "user", "content": [
                {"type": "text", "text": "Weather where this was taken?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo..."}},
                {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}},
                {"type": "file", "file": {"filename": "Report.pdf", "file_data": "data:application/pdf;base64,JVBERi0x"}}]},
            {"role": "assistant", "content": "I'll check.", "reasoning": "Need the tool.",
             "reasoning_details": [
                {"type": "reasoning.text", "text": "Need ", "format": "anthropic-claude-v1", "index": 0},
                {"type": "reasoning.text", "text": "the tool.", "format": "anthropic-claude-v1", "index": 0},
                {"type": "reasoning.text", "signature": "EqQBCkgIARAB", "format": "anthropic-claude-v1", "index": 0},
                {"type": "reasoning.encrypted", "data": "EmwKAhgB", "format": "anthropic-claude-v1", "index": 1},
                {"type": "reasoning.text", "text": "other vendor", "signature": "x", "format": "google-gemini-v1"}],
             "tool_calls": [{"id": "toolu_01NRLabsLyVHZPKxbKvkfSMn", "type": "function",
                "function": {"name": "get_weather", "arguments": "{\"location\":\"Paris\"}"}}]},
            {"role": "tool", "tool_call_id": "toolu_01NRLabsLyVHZPKxbKvkfSMn", "content": "{\"temp_c\":18}"},
            {"role": "user", "content": "And tomorrow?", "name": "alice"}
        ],
        "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Current weather for a location",
            "parameters": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}},
            "cache_control": {"type": "ephemeral"}}],
        "tool_choice": "auto",
        "parallel_tool_calls": false,
        "reasoning": {"effort": "high"},
        "max_tokens": 10000,
        "temperature": 0.2,
        "top_k": 5,
        "stop": "\n\nHuman:",
        "user": "alice",
        "stream": true,
        "seed": 7,
        "frequency_penalty": 0.5,
        "logit_bias": {"1": 2},
        "my_param": 7,
        "provider": {"order": ["anthropic"]}
    })
}

#[test]
fn rich_request_matches_the_reference_shapes() {
    let v = enc(&req(rich()));
    assert_eq!(v["model"], "claude-sonnet-4-20250514");
    assert_eq!(v["max_tokens"], 10000);
    assert_eq!(v["stream"], true);
    assert_eq!(
        v["system"],
        json!([{"type": "text", "text": "You are a terse weather bot.", "cache_control": {"type": "ephemeral"}},
               {"type": "text", "text": "Use metric units."}])
    );
    let msgs = v["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 3);
    assert_eq!(msgs[0]["role"], "user");
    assert_eq!(
        msgs[0]["content"],
        json!([
            {"type": "text", "text": "Weather where this was taken?"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo..."}},
            {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
            {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0x"},
             "title": "Report.pdf"}
        ])
    );
    assert_eq!(msgs[1]["role"], "assistant");
    assert_eq!(
        msgs[1]["content"],
        json!([
            {"type": "thinking", "thinking": "Need the tool.", "signature": "EqQBCkgIARAB"},
            {"type": "redacted_thinking", "data": "EmwKAhgB"},
            {"type": "text", "text": "I'll check."},
            {"type": "tool_use", "id": "toolu_01NRLabsLyVHZPKxbKvkfSMn", "name": "get_weather",
             "input": {"location": "Paris"}}
        ])
    );
    // The tool result and the next user message merge into one user turn, result first.
    assert_eq!(msgs[2]["role"], "user");
    assert_eq!(
        msgs[2]["content"],
        json!([
            {"type": "tool_result", "tool_use_id": "toolu_01NRLabsLyVHZPKxbKvkfSMn", "content": "{\"temp_c\":18}"},
            {"type": "text", "text": "And tomorrow?"}
        ])
    );
    assert_eq!(
        v["tools"],
        json!([{"name": "get_weather", "description": "Current weather for a location",
            "input_schema": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]},
            "cache_control": {"type": "ephemeral"}}])
    );
    assert_eq!(v["tool_choice"], json!({"type": "auto", "disable_parallel_tool_use": true}));
    assert_eq!(v["thinking"], json!({"type": "enabled", "budget_tokens": 8000}));
    assert_eq!(v["stop_sequences"], json!(["\n\nHuman:"]));
    // Thinking forbids temperature and top_k changes.
    assert!(v.get("temperature").is_none() && v.get("top_k").is_none());
    assert_eq!(v["metadata"]["user_id"], crate::openai::encode::hash_user("alice"));
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    for k in keys {
        assert!(
            [
                "model",
                "max_tokens",
                "system",
                "messages",
                "stream",
                "tools",
                "tool_choice",
                "thinking",
                "stop_sequences",
                "metadata"
            ]
            .contains(&k.as_str()),
            "`{k}` must not reach Anthropic"
        );
    }
}

#[test]
fn plain_request_gets_defaults_and_a_string_system() {
    let r = req(json!({"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"},
        {"role": "user", "content": [{"type": "text", "text": "there"}, {"type": "text", "text": ""}]}],
        "temperature": 1.7, "top_p": 0.9, "top_k": 3, "stop": ["a", "b"]}));
    let v = enc(&r);
    assert_eq!(v["system"], "Be brief.");
    assert_eq!(v["max_tokens"], DEFAULT_MAX_TOKENS);
    assert_eq!(
        v["messages"],
        json!([{"role": "user", "content": [{"type": "text", "text": "hi"}, {"type": "text", "text": "there"}]}])
    );
    assert_eq!((v["temperature"].as_f64(), v["top_p"].as_f64(), v["top_k"].as_u64()), (Some(1.0), Some(0.9), Some(3)));
    assert_eq!(v["stop_sequences"], json!(["a", "b"]));
    assert!(v.get("stream").is_none() && v.get("thinking").is_none() && v.get("tools").is_none());
    let r =
        req(json!({"messages": [{"role": "user", "content": "hi"}], "max_completion_tokens": 77, "max_tokens": 99}));
    assert_eq!(enc(&r)["max_tokens"], 77);
}

fn budget(reasoning: Value, max_tokens: Option<u32>) -> Result<(Option<u32>, u32), ProviderError> {
    let mut body = json!({"messages": [{"role": "user", "content": "hi"}], "reasoning": reasoning});
    if let Some(m) = max_tokens {
        body["max_tokens"] = m.into();
    }
    let r = req(body);
    let b = build(&r, "m")?;
    Ok((b.thinking.map(|t| t.budget_tokens), b.max_tokens))
}

#[test]
fn reasoning_budget_follows_openrouters_formula() {
    assert_eq!(budget(json!({"effort": "high"}), Some(10000)).unwrap(), (Some(8000), 10000));
    assert_eq!(budget(json!({"effort": "xhigh"}), Some(10000)).unwrap(), (Some(9500), 10000));
    assert_eq!(budget(json!({"effort": "low"}), Some(10000)).unwrap(), (Some(2000), 10000));
    assert_eq!(budget(json!({"effort": "minimal"}), Some(10000)).unwrap(), (Some(1024), 10000));
    assert_eq!(budget(json!({"effort": "max"}), Some(200000)).unwrap(), (Some(128000), 200000));
    // No cap from the client: the default base, and room for the answer on top.
    assert_eq!(budget(json!({"effort": "medium"}), None).unwrap(), (Some(2048), 2048 + DEFAULT_MAX_TOKENS));
    assert_eq!(budget(json!({"enabled": true}), None).unwrap().0, Some(2048));
    assert_eq!(budget(json!({"max_tokens": 500}), None).unwrap(), (Some(1024), 1024 + DEFAULT_MAX_TOKENS));
    assert_eq!(budget(json!({"max_tokens": 5000}), Some(3000)).unwrap(), (Some(2999), 3000));
    assert_eq!(budget(json!({"effort": "none"}), Some(3000)).unwrap(), (None, 3000));
    assert_eq!(budget(json!({"effort": "high", "enabled": false}), None).unwrap().0, None);
    assert_eq!(budget(json!({"exclude": true}), None).unwrap().0, None);
    assert!(matches!(budget(json!({"effort": "low"}), Some(1000)), Err(ProviderError::Unsupported(_))));
    assert!(matches!(budget(json!({"effort": "huge"}), None), Err(ProviderError::Unsupported(_))));
    let r = req(json!({"messages": [{"role": "user", "content": "hi"}], "reasoning_effort": "low", "max_tokens": 8000,
        "top_p": 0.5}));
    let v = enc(&r);
    assert_eq!(v["thinking"]["budget_tokens"], 1600);
    assert!(v.get("top_p").is_none(), "top_p below 0.95 is refused with thinking");
}

#[test]
fn tool_choice_table() {
    let with = |choice: Value| {
        let r = req(json!({"messages": [{"role": "user", "content": "hi"}], "tool_choice": choice,
            "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}]}));
        enc(&r)
    };
    assert_eq!(with(json!("none"))["tool_choice"], json!({"type": "none"}));
    assert_eq!(with(json!("auto"))["tool_choice"], json!({"type": "auto"}));
    assert_eq!(with(json!("required"))["tool_choice"], json!({"type": "any"}));
    assert_eq!(
        with(json!({"type": "function", "function": {"name": "f"}}))["tool_choice"],
        json!({"type": "tool", "name": "f"})
    );
    assert_eq!(with(json!("auto"))["tools"][0]["input_schema"], json!({"type": "object"}));
    // No tools: no tool_choice (Anthropic refuses one).
    let r = req(json!({"messages": [{"role": "user", "content": "hi"}], "tool_choice": "required"}));
    assert!(enc(&r).get("tool_choice").is_none());
}

#[test]
fn json_schema_uses_a_forced_tool_or_an_offered_one_with_thinking() {
    let schema = json!({"type": "object", "properties": {"city": {"type": "string"}}});
    let mut body = json!({"messages": [{"role": "user", "content": "hi"}],
        "response_format": {"type": "json_schema", "json_schema": {"name": "w", "schema": schema}}});
    let r = req(body.clone());
    assert!(DecodeOptions::for_request(&r).json_tool);
    let v = enc(&r);
    assert_eq!(v["tools"][0]["name"], JSON_TOOL);
    assert_eq!(v["tools"][0]["input_schema"], schema);
    assert_eq!(v["tool_choice"], json!({"type": "tool", "name": JSON_TOOL}));
    assert!(v.get("system").is_none());

    body["reasoning"] = json!({"effort": "low"});
    let v = enc(&req(body));
    assert!(v.get("tool_choice").is_none());
    assert_eq!(v["system"][0]["text"], JSON_NOTE);
    assert!(JSON_NOTE.contains(JSON_TOOL));

    let r = req(json!({"messages": [{"role": "user", "content": "hi"}], "response_format": {"type": "json_object"}}));
    assert_eq!(enc(&r)["tools"][0]["input_schema"], json!({"type": "object"}));
    let r = req(json!({"messages": [{"role": "user", "content": "hi"}], "response_format": {"type": "text"}}));
    assert!(enc(&r).get("tools").is_none() && !DecodeOptions::for_request(&r).json_tool);
}

#[test]
fn what_anthropic_cannot_take_is_refused_clearly() {
    let bad_args = req(json!({"messages": [{"role": "assistant", "tool_calls": [{"id": "c1", "type": "function",
        "function": {"name": "f", "arguments": "{not json"}}]}]}));
    assert!(enc_err(&bad_args).contains("not valid JSON"));
    let audio = req(json!({"messages": [{"role": "user", "content": [{"type": "input_audio",
        "input_audio": {"data": "AAAA", "format": "wav"}}]}]}));
    assert!(enc_err(&audio).contains("audio"));
    let docx = req(json!({"messages": [{"role": "user", "content": [{"type": "file",
        "file": {"file_data": "data:application/msword;base64,AAAA"}}]}]}));
    assert!(enc_err(&docx).contains("PDF"));
    let no_id = req(json!({"messages": [{"role": "tool", "content": "x"}]}));
    assert!(enc_err(&no_id).contains("tool_call_id"));
    let reserved =
        req(json!({"messages": [{"role": "user", "content": "hi"}], "response_format": {"type": "json_object"},
        "tools": [{"type": "function", "function": {"name": "json_response"}}]}));
    assert!(enc_err(&reserved).contains("reserved"));
    let empty_args = req(json!({"messages": [{"role": "assistant", "tool_calls": [{"id": "c1", "type": "function",
        "function": {"name": "f", "arguments": ""}}]}]}));
    assert_eq!(enc(&empty_args)["messages"][0]["content"][0]["input"], json!({}));
}
