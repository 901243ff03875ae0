//! Encoding tests: a rich request checked against the reference's
//! `generateContent` shapes, and the parameter mapping tables.

use super::*;

fn req(body: Value) -> ChatRequest {
    serde_json::from_value(body).unwrap()
}

fn enc_for(r: &ChatRequest, model: &str) -> Value {
    serde_json::from_slice(&encode(r, model).unwrap()).unwrap()
}

fn enc(r: &ChatRequest) -> Value {
    enc_for(r, "gemini-2.5-flash")
}

fn enc_err_for(r: &ChatRequest, model: &str) -> String {
    match encode(r, model) {
        Err(ProviderError::Unsupported(m)) => m,
        other => panic!("expected Unsupported, got {other:?}"),
    }
}

fn user(extra: Value) -> Value {
    let mut body = json!({"messages": [{"role": "user", "content": "Hi"}]});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    body
}

fn weather_tool() -> Value {
    json!([{"type": "function", "function": {"name": "get_weather", "description": "Current weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
            "additionalProperties": false}}}])
}

fn rich() -> Value {
    json!({
        "model": "google/gemini-2.5-flash",
        "messages": [
            {"role": "system", "content": "You are a terse weather bot."},
            {"role": "developer", "content": [{"type": "text", "text": "Use metric units."}]},
            {"role": "user", "content": [
                {"type": "text", "text": "Weather where this was taken?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo..."}}]},
            {"role": "assistant", "content": null, "reasoning": "User wants weather.",
             "reasoning_details": [
                {"type": "reasoning.text", "text": "User wants weather.", "format": "google-gemini-v1", "index": 0},
                {"type": "reasoning.encrypted", "data": "CiQB0e2Kb...", "id": "call_1", "format": "google-gemini-v1", "index": 1},
                {"type": "reasoning.text", "text": "claude", "signature": "EqQB", "format": "anthropic-claude-v1"}],
             "tool_calls": [{"id": "call_1", "type": "function",
                "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "{\"temp_c\":18,\"sky\":\"cloudy\"}"},
            {"role": "user", "content": "And tomorrow?", "name": "alice"}
        ],
        "tools": weather_tool(),
        "tool_choice": "auto",
        "parallel_tool_calls": false,
        "reasoning": {"max_tokens": 1024},
        "max_tokens": 1024,
        "temperature": 0.2,
        "top_p": 0.9,
        "top_k": 40,
        "seed": 7,
        "presence_penalty": 0.1,
        "frequency_penalty": 0.2,
        "stop": "END",
        "user": "alice",
        "stream": true,
        "logit_bias": {"1": 2},
        "my_param": 7,
        "provider": {"order": ["google-ai-studio"]}
    })
}

#[test]
fn rich_request_matches_the_reference_shapes() {
    let v = enc(&req(rich()));
    assert_eq!(
        v["systemInstruction"],
        json!({"parts": [{"text": "You are a terse weather bot."}, {"text": "Use metric units."}]})
    );
    assert_eq!(
        v["contents"],
        json!([
            {"role": "user", "parts": [
                {"text": "Weather where this was taken?"},
                {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo..."}}]},
            {"role": "model", "parts": [
                {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": "CiQB0e2Kb..."}]},
            // The function response and the next user message share one user turn.
            {"role": "user", "parts": [
                {"functionResponse": {"name": "get_weather", "response": {"temp_c": 18, "sky": "cloudy"}}},
                {"text": "And tomorrow?"}]}
        ])
    );
    assert_eq!(
        v["tools"],
        json!([{"functionDeclarations": [{"name": "get_weather", "description": "Current weather for a city",
            "parametersJsonSchema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
                "additionalProperties": false}}]}])
    );
    assert_eq!(v["toolConfig"], json!({"functionCallingConfig": {"mode": "AUTO"}}));
    assert_eq!(
        v["generationConfig"],
        json!({"temperature": 0.2, "topP": 0.9, "topK": 40, "maxOutputTokens": 1024, "stopSequences": ["END"],
            "seed": 7, "presencePenalty": 0.1, "frequencyPenalty": 0.2,
            "thinkingConfig": {"thinkingBudget": 1024, "includeThoughts": true}})
    );
    // Unknown and unmapped fields are dropped; streaming is the path's business.
    let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["contents", "generationConfig", "systemInstruction", "toolConfig", "tools"]);
}

#[test]
fn legacy_models_get_the_openapi_subset_and_no_thinking() {
    let mut body = rich();
    body["response_format"] = json!({"type": "json_schema", "json_schema": {"name": "w", "schema": {"type": "object", "properties": {"city": {"type": "string"}}}}});
    body["tool_choice"] = json!("none");
    let v = enc_for(&req(body), "gemini-2.0-flash");
    assert_eq!(
        v["tools"][0]["functionDeclarations"][0]["parameters"],
        json!({"type": "OBJECT", "properties": {"city": {"type": "STRING"}}, "required": ["city"]})
    );
    assert!(v["tools"][0]["functionDeclarations"][0].get("parametersJsonSchema").is_none());
    assert_eq!(v["generationConfig"]["responseMimeType"], "application/json");
    assert_eq!(
        v["generationConfig"]["responseSchema"],
        json!({"type": "OBJECT", "properties": {"city": {"type": "STRING"}}})
    );
    assert!(v["generationConfig"].get("thinkingConfig").is_none());
    assert_eq!(v["toolConfig"], json!({"functionCallingConfig": {"mode": "NONE"}}));
}

#[test]
fn tool_choice_maps_to_function_calling_modes() {
    let cases = [
        (json!("auto"), json!({"mode": "AUTO"})),
        (json!("none"), json!({"mode": "NONE"})),
        (json!("required"), json!({"mode": "ANY"})),
        (
            json!({"type": "function", "function": {"name": "get_weather"}}),
            json!({"mode": "ANY", "allowedFunctionNames": ["get_weather"]}),
        ),
    ];
    for (choice, want) in cases {
        let v = enc(&req(user(json!({"tools": weather_tool(), "tool_choice": choice}))));
        assert_eq!(v["toolConfig"]["functionCallingConfig"], want);
    }
    let v = enc(&req(user(json!({"tool_choice": "required"}))));
    assert!(v.get("toolConfig").is_none() && v.get("tools").is_none(), "no tools, no tool config");
    let no_params =
        json!([{"type": "function", "function": {"name": "now", "parameters": {"type": "object", "properties": {}}}}]);
    let v = enc(&req(user(json!({"tools": no_params}))));
    assert_eq!(v["tools"], json!([{"functionDeclarations": [{"name": "now"}]}]));
    let bad = req(user(json!({"tools": [{"type": "web_search"}]})));
    assert!(enc_err_for(&bad, "gemini-2.5-flash").contains("web_search"));
}

#[test]
fn reasoning_maps_to_thinking_config() {
    let thinking =
        |model: &str, extra: Value| enc_for(&req(user(extra)), model)["generationConfig"]["thinkingConfig"].clone();
    let flash = "gemini-2.5-flash";
    assert_eq!(thinking(flash, json!({})), json!({"includeThoughts": true}));
    assert_eq!(
        thinking(flash, json!({"reasoning": {"effort": "high"}, "max_tokens": 10000})),
        json!({"thinkingBudget": 8000, "includeThoughts": true})
    );
    // Without an output cap the share is of the model's largest budget.
    assert_eq!(thinking(flash, json!({"reasoning_effort": "low"}))["thinkingBudget"], 4915);
    assert_eq!(thinking(flash, json!({"reasoning": {"enabled": true}}))["thinkingBudget"], 12288);
    assert_eq!(thinking(flash, json!({"reasoning": {"effort": "none"}})), json!({"thinkingBudget": 0}));
    assert_eq!(
        thinking(flash, json!({"reasoning": {"effort": "medium", "exclude": true}, "max_tokens": 1000})),
        json!({"thinkingBudget": 500, "includeThoughts": false})
    );
    assert_eq!(thinking(flash, json!({"include_reasoning": false})), json!({"includeThoughts": false}));
    assert_eq!(thinking("gemini-2.5-pro", json!({"reasoning": {"max_tokens": 10}}))["thinkingBudget"], 128);
    assert_eq!(thinking("gemini-2.5-flash-lite", json!({"reasoning": {"max_tokens": 99999}}))["thinkingBudget"], 24576);
    let off = req(user(json!({"reasoning": {"enabled": false}})));
    assert!(enc_err_for(&off, "gemini-2.5-pro").contains("cannot be turned off"));
    assert!(enc_err_for(&req(user(json!({"reasoning_effort": "extreme"}))), flash).contains("extreme"));

    let pro3 = "gemini-3-pro-preview";
    assert_eq!(
        thinking(pro3, json!({"reasoning_effort": "minimal"})),
        json!({"thinkingLevel": "LOW", "includeThoughts": true})
    );
    assert_eq!(thinking(pro3, json!({"reasoning_effort": "medium"}))["thinkingLevel"], "HIGH");
    assert_eq!(thinking(pro3, json!({"reasoning": {"max_tokens": 2048}}))["thinkingBudget"], 2048);
    assert!(enc_err_for(&req(user(json!({"reasoning_effort": "none"}))), pro3).contains("cannot be turned off"));
    let flash3 = "gemini-3-flash-preview";
    assert_eq!(thinking(flash3, json!({"reasoning_effort": "medium"}))["thinkingLevel"], "MEDIUM");
    assert_eq!(thinking(flash3, json!({"reasoning_effort": "none"}))["thinkingLevel"], "MINIMAL");
    assert_eq!(thinking(flash3, json!({"reasoning_effort": "xhigh"}))["thinkingLevel"], "HIGH");

    assert!(
        enc_for(&req(user(json!({"reasoning_effort": "high"}))), "gemini-2.0-flash").get("generationConfig").is_none()
    );
}

#[test]
fn response_format_and_its_conflict_with_tools() {
    let v = enc(&req(user(json!({"response_format": {"type": "json_object"}}))));
    assert_eq!(v["generationConfig"]["responseMimeType"], "application/json");
    let schema = json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]});
    let rf = json!({"type": "json_schema", "json_schema": {"name": "w", "strict": true, "schema": schema}});
    let v = enc(&req(user(json!({"response_format": rf}))));
    assert_eq!(v["generationConfig"]["responseJsonSchema"], schema);
    assert!(v["generationConfig"].get("responseSchema").is_none());
    let both = req(user(json!({"response_format": rf, "tools": weather_tool()})));
    assert!(enc_err_for(&both, "gemini-2.5-flash").contains("cannot combine"));
    assert_eq!(enc_for(&both, "gemini-3-pro-preview")["generationConfig"]["responseMimeType"], "application/json");
    let text = enc(&req(user(json!({"response_format": {"type": "text"}}))));
    assert!(text["generationConfig"].get("responseMimeType").is_none());
    assert!(
        enc_err_for(&req(user(json!({"response_format": {"type": "grammar"}}))), "gemini-2.5-flash")
            .contains("grammar")
    );
}

#[test]
fn media_parts_map_or_are_refused() {
    let msg = |part: Value| req(json!({"messages": [{"role": "user", "content": [part]}]}));
    let part0 = |part: Value| enc(&msg(part))["contents"][0]["parts"][0].clone();
    assert_eq!(
        part0(
            json!({"type": "file", "file": {"filename": "a.pdf", "file_data": "data:application/pdf;base64,JVBERi0x"}})
        ),
        json!({"inlineData": {"mimeType": "application/pdf", "data": "JVBERi0x"}})
    );
    assert_eq!(
        part0(json!({"type": "input_audio", "input_audio": {"data": "UklGR", "format": "wav"}})),
        json!({"inlineData": {"mimeType": "audio/wav", "data": "UklGR"}})
    );
    let files = "https://generativelanguage.googleapis.com/v1beta/files/abc";
    assert_eq!(
        part0(json!({"type": "image_url", "image_url": {"url": files}})),
        json!({"fileData": {"fileUri": files}})
    );
    let yt = "https://www.youtube.com/watch?v=9hE5-98ZeCg";
    assert_eq!(part0(json!({"type": "video_url", "video_url": {"url": yt}})), json!({"fileData": {"fileUri": yt}}));
    let http = msg(json!({"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}}));
    assert!(enc_err_for(&http, "gemini-2.5-flash").contains("does not fetch image URLs"));
    let id_only = msg(json!({"type": "file", "file": {"file_id": "file-abc"}}));
    assert!(enc_err_for(&id_only, "gemini-2.5-flash").contains("file_data"));
    let sys_image = req(json!({"messages": [{"role": "system", "content": [
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA"}}]}, {"role": "user", "content": "x"}]}));
    assert!(enc_err_for(&sys_image, "gemini-2.5-flash").contains("system"));
}

fn tool_turn(result: Value, call_id: &str) -> ChatRequest {
    req(json!({"messages": [
        {"role": "user", "content": "x"},
        {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": ""}}]},
        {"role": "tool", "tool_call_id": call_id, "content": result}
    ]}))
}

#[test]
fn tool_results_are_objects_named_after_their_call() {
    let response = |r: &ChatRequest| enc(r)["contents"][2]["parts"][0]["functionResponse"].clone();
    assert_eq!(response(&tool_turn(json!("sunny"), "c1")), json!({"name": "f", "response": {"result": "sunny"}}));
    assert_eq!(response(&tool_turn(json!("[1,2]"), "c1")), json!({"name": "f", "response": {"result": [1, 2]}}));
    assert_eq!(response(&tool_turn(json!("{\"ok\":true}"), "c1")), json!({"name": "f", "response": {"ok": true}}));
    let parts = json!([{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]);
    assert_eq!(response(&tool_turn(parts, "c1")), json!({"name": "f", "response": {"result": "ab"}}));
    assert_eq!(
        enc(&tool_turn(json!("x"), "c1"))["contents"][1]["parts"][0]["functionCall"],
        json!({"name": "f", "args": {}})
    );
    assert!(enc_err_for(&tool_turn(json!("x"), "other"), "gemini-2.5-flash").contains("answers no earlier tool call"));
    let bad_args = req(json!({"messages": [{"role": "user", "content": "x"},
        {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "[1]"}}]}]}));
    assert!(enc_err_for(&bad_args, "gemini-2.5-flash").contains("not a JSON object"));
}

#[test]
fn signatures_go_back_on_their_parts_and_gemini_3_calls_are_always_signed() {
    let r = req(json!({"messages": [
        {"role": "user", "content": "x"},
        {"role": "assistant", "content": "Checking.", "reasoning_details": [
            {"type": "reasoning.text", "text": "think", "format": "google-gemini-v1", "index": 0},
            {"type": "reasoning.text", "signature": "SIG_TEXT", "format": "google-gemini-v1", "index": 0}],
         "tool_calls": [{"id": "a", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "a", "content": "1"},
        {"role": "assistant", "content": "Done."},
        {"role": "assistant", "content": "Really."}
    ]}));
    let v = enc_for(&r, "gemini-3-pro-preview");
    assert_eq!(
        v["contents"][1]["parts"],
        json!([{"text": "Checking.", "thoughtSignature": "SIG_TEXT"},
               {"functionCall": {"name": "f", "args": {}}, "thoughtSignature": SKIP_SIGNATURE}])
    );
    // Consecutive assistant messages merge into one model turn.
    assert_eq!(v["contents"][3], json!({"role": "model", "parts": [{"text": "Done."}, {"text": "Really."}]}));
    let v = enc_for(&r, "gemini-2.5-flash");
    assert!(v["contents"][1]["parts"][1].get("thoughtSignature").is_none());
}

#[test]
fn candidates_seed_and_empty_conversations() {
    let v = enc(&req(user(json!({"n": 2}))));
    assert_eq!(v["generationConfig"]["candidateCount"], 2);
    assert!(enc_err_for(&req(user(json!({"n": 2, "stream": true}))), "gemini-2.5-flash").contains("single candidate"));
    assert!(enc_err_for(&req(user(json!({"seed": 1_i64 << 40}))), "gemini-2.5-flash").contains("32-bit"));
    let only_system = req(json!({"messages": [{"role": "system", "content": "be nice"}]}));
    assert!(enc_err_for(&only_system, "gemini-2.5-flash").contains("at least one"));
    let safety = json!([{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}]);
    assert_eq!(enc(&req(user(json!({"safety_settings": safety}))))["safetySettings"], safety);
    let plain = enc_for(&req(user(json!({}))), "gemini-2.0-flash");
    assert_eq!(plain, json!({"contents": [{"role": "user", "parts": [{"text": "Hi"}]}]}));
}
