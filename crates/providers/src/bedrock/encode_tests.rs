//! Encoding tests: the reference's Converse request reproduced from a
//! canonical request, and the parameter and content mapping rules.

use super::*;

const CLAUDE: &str = "anthropic.claude-3-5-sonnet-20240620-v1:0";

fn req(body: Value) -> ChatRequest {
    serde_json::from_value(body).unwrap()
}

fn enc(r: &ChatRequest, model: &str) -> Value {
    serde_json::from_slice(&encode(r, model).unwrap()).unwrap()
}

fn enc_err(r: &ChatRequest) -> String {
    match encode(r, CLAUDE) {
        Err(ProviderError::Unsupported(m)) => m,
        other => panic!("expected Unsupported, got {other:?}"),
    }
}

#[test]
fn reference_request_is_reproduced() {
    let r = req(json!({
        "model": "anthropic/claude-3.5-sonnet",
        "messages": [
            {"role": "system", "content": [
                {"type": "text", "text": "You are a terse weather bot.", "cache_control": {"type": "ephemeral"}}]},
            {"role": "user", "content": [
                {"type": "text", "text": "Weather where this was taken?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo..."}}]},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q",
                "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]},
            {"role": "tool", "tool_call_id": "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", "content": "{\"temp_c\": 18}"}
        ],
        "max_tokens": 512, "temperature": 0.2, "top_p": 0.9, "stop": ["END"], "top_k": 50,
        "frequency_penalty": 0.5, "seed": 7, "some_unknown_field": true,
        "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Current weather for a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}},
            "cache_control": {"type": "ephemeral"}}],
        "tool_choice": "auto"
    }));
    let expected = json!({
      "messages": [
        {"role": "user", "content": [
          {"text": "Weather where this was taken?"},
          {"image": {"format": "png", "source": {"bytes": "iVBORw0KGgo..."}}}
        ]},
        {"role": "assistant", "content": [
          {"toolUse": {"toolUseId": "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", "name": "get_weather", "input": {"city": "Paris"}}}
        ]},
        {"role": "user", "content": [
          {"toolResult": {"toolUseId": "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", "content": [{"json": {"temp_c": 18}}]}}
        ]}
      ],
      "system": [
        {"text": "You are a terse weather bot."},
        {"cachePoint": {"type": "default"}}
      ],
      "inferenceConfig": {"maxTokens": 512, "temperature": 0.2, "topP": 0.9, "stopSequences": ["END"]},
      "toolConfig": {
        "tools": [
          {"toolSpec": {"name": "get_weather", "description": "Current weather for a city",
                        "inputSchema": {"json": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}},
          {"cachePoint": {"type": "default"}}
        ],
        "toolChoice": {"auto": {}}
      },
      "additionalModelRequestFields": {"top_k": 50}
    });
    assert_eq!(enc(&r, CLAUDE), expected);
}

#[test]
fn consecutive_roles_merge_and_tool_results_share_a_user_turn() {
    let r = req(json!({"messages": [
        {"role": "user", "content": "a"}, {"role": "user", "content": [{"type": "text", "text": ""}, {"type": "text", "text": "b"}]},
        {"role": "assistant", "content": "c", "tool_calls": [
            {"id": "t1", "type": "function", "function": {"name": "f", "arguments": ""}},
            {"id": "t2", "type": "function", "function": {"name": "g", "arguments": "{\"x\":1}"}}]},
        {"role": "tool", "tool_call_id": "t1", "content": "sunny"},
        {"role": "tool", "tool_call_id": "t2", "content": [{"type": "text", "text": "42"}]},
        {"role": "developer", "content": "late system"}
    ]}));
    let b = enc(&r, "amazon.nova-pro-v1:0");
    assert_eq!(b["messages"].as_array().unwrap().len(), 3);
    assert_eq!(b["messages"][0]["content"], json!([{"text": "a"}, {"text": "b"}]));
    assert_eq!(b["messages"][1]["content"][1]["toolUse"]["input"], json!({}));
    assert_eq!(
        b["messages"][2]["content"],
        json!([{"toolResult": {"toolUseId": "t1", "content": [{"text": "sunny"}]}},
               {"toolResult": {"toolUseId": "t2", "content": [{"text": "42"}]}}])
    );
    assert_eq!(b["system"], json!([{"text": "late system"}]));
    assert!(b.get("inferenceConfig").is_none() && b.get("toolConfig").is_none());
}

#[test]
fn tool_choice_mapping() {
    let base = |choice: Value, history: bool| {
        let mut msgs = vec![json!({"role": "user", "content": "hi"})];
        if history {
            msgs.push(json!({"role": "assistant", "tool_calls": [
                {"id": "t", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}));
            msgs.push(json!({"role": "tool", "tool_call_id": "t", "content": "ok"}));
        }
        let mut r = json!({"messages": msgs, "tools": [{"type": "function", "function": {"name": "f"}}]});
        if !choice.is_null() {
            r["tool_choice"] = choice;
        }
        enc(&req(r), CLAUDE)
    };
    assert_eq!(base(json!("required"), false)["toolConfig"]["toolChoice"], json!({"any": {}}));
    let named = base(json!({"type": "function", "function": {"name": "f"}}), false);
    assert_eq!(named["toolConfig"]["toolChoice"], json!({"tool": {"name": "f"}}));
    let none = base(Value::Null, false);
    assert!(none["toolConfig"].get("toolChoice").is_none());
    assert_eq!(
        none["toolConfig"]["tools"][0]["toolSpec"],
        json!({"name": "f", "inputSchema": {"json": {"type": "object", "properties": {}}}})
    );
    assert!(base(json!("none"), false).get("toolConfig").is_none());
    let none_with_history = base(json!("none"), true);
    assert!(none_with_history["toolConfig"]["tools"].is_array());
    assert!(none_with_history["toolConfig"].get("toolChoice").is_none());
}

#[test]
fn thinking_for_claude_only() {
    let r = req(json!({"messages": [{"role": "user", "content": "hi"}], "reasoning": {"max_tokens": 2048},
        "temperature": 0.5, "top_p": 0.5, "top_k": 5}));
    let b = enc(&r, "us.anthropic.claude-sonnet-4-20250514-v1:0");
    assert_eq!(b["additionalModelRequestFields"], json!({"thinking": {"type": "enabled", "budget_tokens": 2048}}));
    assert_eq!(b["inferenceConfig"], json!({"maxTokens": 2048 + 4096}));
    let b = enc(&r, "amazon.nova-pro-v1:0");
    assert!(b.get("additionalModelRequestFields").is_none());
    assert_eq!(b["inferenceConfig"], json!({"temperature": 0.5, "topP": 0.5}));
}

#[test]
fn reasoning_details_go_back_as_reasoning_content() {
    let r = req(json!({"messages": [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "ok", "reasoning_details": [
            {"type": "reasoning.text", "text": "Need ", "format": "anthropic-claude-v1", "index": 0},
            {"type": "reasoning.text", "text": "it.", "signature": "EqQB", "format": "anthropic-claude-v1", "index": 0},
            {"type": "reasoning.encrypted", "data": "EmwK", "format": "anthropic-claude-v1", "index": 1},
            {"type": "reasoning.text", "text": "other", "signature": "x", "format": "google-gemini-v1"}]}
    ]}));
    assert_eq!(
        enc(&r, CLAUDE)["messages"][1]["content"],
        json!([{"reasoningContent": {"reasoningText": {"text": "Need it.", "signature": "EqQB"}}},
               {"reasoningContent": {"redactedContent": "EmwK"}}, {"text": "ok"}])
    );
}

#[test]
fn documents_structured_output_and_refusals() {
    let r = req(json!({"messages": [{"role": "user", "content": [
        {"type": "file", "file": {"filename": "Q3 report_v2.pdf", "file_data": "data:application/pdf;base64,JVBERi0x"}},
        {"type": "image_url", "image_url": {"url": "data:image/jpg;base64,/9j/"}}]}],
        "response_format": {"type": "json_schema", "json_schema": {"name": "weather", "schema": {"type": "object"}}}}));
    let b = enc(&r, CLAUDE);
    assert_eq!(
        b["messages"][0]["content"][0],
        json!({"document": {"format": "pdf", "name": "Q3 report-v2", "source": {"bytes": "JVBERi0x"}}})
    );
    assert_eq!(b["messages"][0]["content"][1]["image"]["format"], "jpeg");
    assert_eq!(
        b["outputConfig"],
        json!({"textFormat": {"type": "json_schema", "structure": {"jsonSchema": {"schema": "{\"type\":\"object\"}", "name": "weather"}}}})
    );
    let url = req(json!({"messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}]}]}));
    assert!(enc_err(&url).contains("data URIs"));
    let bad_args = req(json!({"messages": [{"role": "assistant", "tool_calls": [
        {"id": "t", "type": "function", "function": {"name": "f", "arguments": "[1]"}}]}]}));
    assert!(enc_err(&bad_args).contains("JSON object"));
    let audio = req(json!({"messages": [{"role": "user", "content": [
        {"type": "input_audio", "input_audio": {"data": "AA", "format": "wav"}}]}]}));
    assert!(enc_err(&audio).contains("audio"));
    let obj = req(json!({"messages": [{"role": "user", "content": "x"}], "response_format": {"type": "json_object"}}));
    assert!(enc_err(&obj).contains("json_object"));
}
