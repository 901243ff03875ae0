//! Non-streaming chat completions.

use serde_json::{Value, json};

use crate::common::{Env, body};

#[tokio::test]
async fn non_stream_answer_has_openrouter_shape_and_cost() {
    let env = Env::start().await;
    let r = env.chat(body("sim/text")).await;
    assert_eq!(r.status(), 200);
    let gen_header = r.headers()["x-generation-id"].to_str().unwrap().to_owned();
    let timing = r.headers()["server-timing"].to_str().unwrap().to_owned();
    assert!(timing.contains("gateway;dur=") && timing.contains("upstream;dur="), "{timing}");
    let v: Value = r.json().await.unwrap();
    let id = v["id"].as_str().unwrap();
    assert!(id.starts_with("gen-"));
    assert_eq!(id, gen_header);
    assert_eq!(v["object"], "chat.completion");
    assert_eq!(v["model"], "sim/text");
    assert_eq!(v["provider"], "Simulator");
    assert_eq!(v["choices"][0]["message"]["content"], "tok0 tok1 tok2 tok3 tok4 ");
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    assert_eq!(v["choices"][0]["native_finish_reason"], "stop");
    let u = &v["usage"];
    assert_eq!(u["prompt_tokens"], 10);
    assert_eq!(u["completion_tokens"], 5);
    assert_eq!(u["total_tokens"], 15);
    // 10 x $1/M + 5 x $2/M = $0.00002
    assert_eq!(u["cost"].as_f64().unwrap(), 0.00002);
    assert_eq!(u["is_byok"], false);

    // What the upstream received: its own model id, the provider's key (not
    // the client's), and no OpenRouter-only fields.
    let reqs = env.sim.requests();
    let last = reqs.last().unwrap();
    assert_eq!(last.body["model"], "tokens=5,prompt_tokens=10");
    let auth = last.headers.iter().find(|(k, _)| k == "authorization").map(|(_, v)| v.as_str());
    assert_eq!(auth, Some("Bearer sk-upstream-secret"));
    assert!(!last.headers.iter().any(|(_, v)| v.contains(&env.key)));

    let g = env.generation_json(id).await;
    assert_eq!(g["model"], "sim/text");
    assert_eq!(g["provider_name"], "Simulator");
    assert_eq!(g["tokens_prompt"], 10);
    assert_eq!(g["tokens_completion"], 5);
    assert_eq!(g["total_cost"].as_f64().unwrap(), 0.00002);
    assert_eq!(g["streamed"], false);
    assert_eq!(g["cancelled"], false);
    assert_eq!(g["finish_reason"], "stop");
    assert!(g["upstream_id"].as_str().unwrap().starts_with("chatcmpl-"));
}

#[tokio::test]
async fn unknown_fields_pass_through_and_openrouter_fields_do_not() {
    let env = Env::start().await;
    let mut b = body("sim/text");
    b["logit_bias"] = json!({"50256": -100});
    b["my_vendor_param"] = json!({"x": 1});
    b["provider"] = json!({"order": ["sim"]});
    b["transforms"] = json!(["middle-out"]);
    b["usage"] = json!({"include": true});
    b["user"] = json!("alice@example.com");
    b["temperature"] = json!(0.25);
    b["max_tokens"] = json!(64);
    assert_eq!(env.chat(b).await.status(), 200);
    let reqs = env.sim.requests();
    let sent = &reqs.last().unwrap().body;
    assert_eq!(sent["logit_bias"]["50256"], -100);
    assert_eq!(sent["my_vendor_param"]["x"], 1);
    assert_eq!(sent["temperature"], 0.25);
    assert_eq!(sent["max_tokens"], 64);
    for gone in ["provider", "transforms", "usage"] {
        assert!(sent.get(gone).is_none(), "{gone} leaked");
    }
    assert_ne!(sent["user"], "alice@example.com");
}

#[tokio::test]
async fn tool_calls_round_trip_intact() {
    let env = Env::start().await;
    let b = json!({
        "model": "sim/tool",
        "messages": [
            {"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_prev", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Rome\"}"}}]},
            {"role": "tool", "tool_call_id": "call_prev", "content": "{\"temp_c\":20}"}
        ],
        "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}, "strict": true}}],
        "tool_choice": "auto"
    });
    let v: Value = env.chat(b.clone()).await.json().await.unwrap();
    assert_eq!(v["choices"][0]["finish_reason"], "tool_calls");
    let call = &v["choices"][0]["message"]["tool_calls"][0];
    assert_eq!(call["id"], "call_sim_0");
    assert_eq!(call["function"]["name"], "get_weather");
    let args: Value = serde_json::from_str(call["function"]["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(args["city"], "Paris");
    let reqs = env.sim.requests();
    let sent = &reqs.last().unwrap().body;
    assert_eq!(sent["tools"], b["tools"]);
    assert_eq!(sent["tool_choice"], "auto");
    assert_eq!(sent["messages"][1]["tool_calls"], b["messages"][1]["tool_calls"]);
    assert_eq!(sent["messages"][2]["tool_call_id"], "call_prev");
}

#[tokio::test]
async fn json_output_and_reasoning_with_cached_tokens() {
    let env = Env::start().await;
    let mut b = body("sim/json");
    b["response_format"] = json!({"type": "json_object"});
    let v: Value = env.chat(b).await.json().await.unwrap();
    let content: Value = serde_json::from_str(v["choices"][0]["message"]["content"].as_str().unwrap()).unwrap();
    assert!(content.is_object());
    assert_eq!(env.sim.requests().last().unwrap().body["response_format"]["type"], "json_object");

    let mut b = body("sim/reasoning");
    b["reasoning"] = json!({"effort": "high"});
    let v: Value = env.chat(b).await.json().await.unwrap();
    assert!(v["choices"][0]["message"]["reasoning"].as_str().unwrap().len() > 3);
    assert_eq!(v["usage"]["prompt_tokens_details"]["cached_tokens"], 4);
    assert_eq!(v["usage"]["completion_tokens_details"]["reasoning_tokens"], 4);
    let reqs = env.sim.requests();
    let sent = &reqs.last().unwrap().body;
    assert_eq!(sent["reasoning_effort"], "high");
    assert!(sent.get("reasoning").is_none());
}

#[tokio::test]
async fn retryable_failure_falls_back_to_the_next_endpoint() {
    let env = Env::start().await;
    let r = env.chat(body("sim/fallback")).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["provider"], "Simulator B");
    let models: Vec<Value> = env.sim.requests().iter().map(|r| r.body["model"].clone()).collect();
    assert_eq!(models, vec![json!("status=500"), json!("tokens=4")]);
    let g = env.generation_json(v["id"].as_str().unwrap()).await;
    let attempts = g["provider_responses"].as_array().unwrap();
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[0]["status"], 500);
    assert_eq!(attempts[1]["outcome"], "ok");
}

#[tokio::test]
async fn models_fallback_list_moves_to_the_next_model() {
    let env = Env::start().await;
    let mut b = body("sim/e503");
    b["models"] = json!(["sim/text"]);
    let v: Value = env.chat(b).await.json().await.unwrap();
    assert_eq!(v["model"], "sim/text");
}

#[tokio::test]
async fn models_endpoint_lists_openrouter_model_objects() {
    let env = Env::start().await;
    let v: Value = env.http.get(env.url("/models")).send().await.unwrap().json().await.unwrap();
    let data = v["data"].as_array().unwrap();
    let m = data.iter().find(|m| m["id"] == "sim/text").unwrap();
    for field in [
        "canonical_slug",
        "name",
        "created",
        "description",
        "context_length",
        "architecture",
        "pricing",
        "top_provider",
        "supported_parameters",
    ] {
        assert!(m.get(field).is_some(), "{field}");
    }
    assert_eq!(m["pricing"]["prompt"], "0.000001");
    assert_eq!(m["pricing"]["completion"], "0.000002");
    assert_eq!(m["architecture"]["modality"], "text+image+file+audio->text");
    assert_eq!(m["context_length"], 8192);
}
