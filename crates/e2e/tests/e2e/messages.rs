//! The Anthropic Messages API (`POST /api/v1/messages`) as Anthropic's SDK
//! speaks it, in front of OpenAI-protocol and Anthropic-protocol models:
//! the answer, the exact event sequence, tools, thinking, images and the
//! Anthropic error envelope.

use serde_json::{Value, json};

use crate::common::Env;

/// The headers Anthropic's Python SDK sends on every request.
const SDK_HEADERS: &[(&str, &str)] = &[
    ("anthropic-version", "2023-06-01"),
    ("accept", "application/json"),
    ("user-agent", "Anthropic/Python 0.69.0"),
    ("x-stainless-lang", "python"),
    ("x-stainless-package-version", "0.69.0"),
    ("x-stainless-os", "Linux"),
    ("x-stainless-arch", "x64"),
    ("x-stainless-runtime", "CPython"),
    ("x-stainless-runtime-version", "3.12.3"),
    ("x-stainless-retry-count", "0"),
    ("x-stainless-read-timeout", "600"),
    ("x-stainless-async", "false"),
];

/// POSTs `body` to `/messages` the way the SDK does, with `key` as `x-api-key`.
async fn post_as(env: &Env, key: &str, body: &Value) -> reqwest::Response {
    let mut req = env
        .http
        .post(env.url("/messages"))
        .header("x-api-key", key)
        .header("content-type", "application/json")
        .body(serde_json::to_vec(body).unwrap());
    for (k, v) in SDK_HEADERS {
        req = req.header(*k, *v);
    }
    if body["stream"] == true {
        req = req.header("x-stainless-helper-method", "stream");
    }
    req.send().await.unwrap()
}

async fn post(env: &Env, body: &Value) -> reqwest::Response {
    post_as(env, &env.key, body).await
}

/// The body `client.messages.create(model=..., max_tokens=1024, messages=[...])` sends.
fn sdk_body(model: &str) -> Value {
    json!({"max_tokens": 1024, "messages": [{"role": "user", "content": "Hello, simulator."}], "model": model})
}

fn sdk_stream_body(model: &str) -> Value {
    let mut b = sdk_body(model);
    b["stream"] = json!(true);
    b
}

/// Parses an SSE body into its events (`event:` name and `data:` JSON),
/// checking that each data's `type` is its event name; comments are skipped.
fn sse(text: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for block in text.split("\n\n").filter(|b| !b.trim().is_empty()) {
        let mut name = None;
        let mut data = None;
        for line in block.lines() {
            if let Some(n) = line.strip_prefix("event: ") {
                name = Some(n.to_owned());
            } else if let Some(d) = line.strip_prefix("data: ") {
                data = Some(serde_json::from_str::<Value>(d).unwrap());
            }
        }
        if let (Some(name), Some(data)) = (name, data) {
            assert_eq!(data["type"], name.as_str(), "event name and type agree");
            out.push(data);
        } else {
            assert!(block.lines().all(|l| l.starts_with(':')), "only comments outside events: {block:?}");
        }
    }
    out
}

/// `type[:index]` of each event, pings left out.
fn shape(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .filter(|e| e["type"] != "ping")
        .map(|e| match e.get("index") {
            Some(i) => format!("{}:{i}", e["type"].as_str().unwrap()),
            None => e["type"].as_str().unwrap().to_owned(),
        })
        .collect()
}

/// `start:i, delta:i x n, stop:i` for one block.
fn block(i: usize, deltas: usize) -> Vec<String> {
    let mut v = vec![format!("content_block_start:{i}")];
    v.extend(std::iter::repeat_n(format!("content_block_delta:{i}"), deltas));
    v.push(format!("content_block_stop:{i}"));
    v
}

fn framed(blocks: Vec<Vec<String>>) -> Vec<String> {
    let mut v = vec!["message_start".to_owned()];
    v.extend(blocks.into_iter().flatten());
    v.extend(["message_delta".to_owned(), "message_stop".to_owned()]);
    v
}

/// The concatenated `field` of the deltas of block `i`.
fn joined(events: &[Value], i: u64, field: &str) -> String {
    events
        .iter()
        .filter(|e| e["type"] == "content_block_delta" && e["index"] == i)
        .filter_map(|e| e["delta"][field].as_str())
        .collect()
}

async fn stream_events(env: &Env, body: &Value) -> Vec<Value> {
    let r = post(env, body).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/event-stream");
    sse(&r.text().await.unwrap())
}

#[tokio::test]
async fn sdk_request_gets_a_message_from_openai_and_anthropic_models() {
    let env = Env::start().await;
    // prompt 10 tokens, 5 completion: $1/M + $2/M on sim, $3/M + $15/M on anth.
    for (model, provider, cost) in [("sim/text", "Simulator", 0.00002), ("anth/text", "Anthropic Sim", 0.000105)] {
        let r = post(&env, &sdk_body(model)).await;
        assert_eq!(r.status(), 200, "{model}");
        let gen_id = r.headers()["x-generation-id"].to_str().unwrap().to_owned();
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["id"], gen_id.as_str());
        assert!(gen_id.starts_with("gen-"));
        assert_eq!(v["type"], "message");
        assert_eq!(v["role"], "assistant");
        assert_eq!(v["model"], model);
        assert_eq!(v["provider"], provider);
        assert_eq!(v["content"], json!([{"type": "text", "text": "tok0 tok1 tok2 tok3 tok4 "}]), "{model}");
        assert_eq!(v["stop_reason"], "end_turn");
        assert_eq!(v["stop_sequence"], Value::Null);
        let u = &v["usage"];
        assert_eq!((u["input_tokens"].as_u64(), u["output_tokens"].as_u64()), (Some(10), Some(5)), "{model}");
        assert_eq!(u["cache_read_input_tokens"], 0);
        assert_eq!(u["cache_creation_input_tokens"], 0);
        assert_eq!(u["cost"].as_f64().unwrap(), cost, "{model}");
        assert_eq!(u["is_byok"], false);
        assert_eq!(u["service_tier"], "standard");
        assert!(u["cost_details"]["upstream_inference_prompt_cost"].is_number());

        let g = env.generation_json(&gen_id).await;
        assert_eq!(g["model"], model);
        assert_eq!(g["tokens_prompt"], 10);
        assert_eq!(g["tokens_completion"], 5);
        assert_eq!(g["total_cost"].as_f64().unwrap(), cost);
        assert_eq!(g["streamed"], false);
    }
    // The upstream got what the SDK asked for: max_tokens and the user turn.
    let reqs = env.sim.requests();
    let openai = &reqs[0].body;
    assert_eq!(openai["max_tokens"], 1024);
    assert_eq!(openai["messages"], json!([{"role": "user", "content": "Hello, simulator."}]));
    let anth = &reqs.last().unwrap().body;
    assert_eq!(anth["max_tokens"], 1024);
    assert_eq!(anth["messages"][0]["content"][0]["text"], "Hello, simulator.");
}

#[tokio::test]
async fn text_stream_is_anthropics_exact_event_sequence() {
    let env = Env::start().await;
    for model in ["sim/text", "anth/text"] {
        let events = stream_events(&env, &sdk_stream_body(model)).await;
        assert_eq!(shape(&events), framed(vec![block(0, 5)]), "{model}");
        let start = &events[0]["message"];
        assert!(start["id"].as_str().unwrap().starts_with("gen-"));
        assert_eq!(start["model"], model);
        assert_eq!(start["content"], json!([]));
        assert_eq!(start["stop_reason"], Value::Null);
        assert_eq!(start["usage"]["input_tokens"], 0);
        assert_eq!(events[1]["content_block"], json!({"type": "text", "text": ""}));
        assert_eq!(events[2]["delta"]["type"], "text_delta");
        assert_eq!(joined(&events, 0, "text"), "tok0 tok1 tok2 tok3 tok4 ");
        let md = &events[events.len() - 2];
        assert_eq!(md["delta"], json!({"stop_reason": "end_turn", "stop_sequence": null}), "{model}");
        assert_eq!(md["usage"]["output_tokens"], 5);
        assert_eq!(md["usage"]["input_tokens"], 10);
        assert!(md["usage"]["cost"].as_f64().unwrap() > 0.0);

        let g = env.generation_json(start["id"].as_str().unwrap()).await;
        assert_eq!(g["streamed"], true);
        assert_eq!(g["tokens_completion"], 5);
        assert!(g["total_cost"].as_f64().unwrap() > 0.0);
    }
}

#[tokio::test]
async fn thinking_streams_as_a_thinking_block_before_the_text() {
    let env = Env::start().await;
    for model in ["sim/reasoning", "anth/reasoning"] {
        let mut b = sdk_stream_body(model);
        b["max_tokens"] = json!(4096);
        b["thinking"] = json!({"type": "enabled", "budget_tokens": 2048});
        let events = stream_events(&env, &b).await;
        // Four reasoning words; Claude signs its thinking just before the block closes.
        let thinking_deltas = if model == "anth/reasoning" { 5 } else { 4 };
        assert_eq!(shape(&events), framed(vec![block(0, thinking_deltas), block(1, 8)]), "{model}");
        assert_eq!(events[1]["content_block"], json!({"type": "thinking", "thinking": "", "signature": ""}));
        assert_eq!(joined(&events, 0, "thinking"), "Thinking about the answer.");
        if model == "anth/reasoning" {
            let sig = &events[thinking_deltas + 1]["delta"];
            assert_eq!(sig["type"], "signature_delta");
            assert!(!sig["signature"].as_str().unwrap().is_empty());
        }
        assert_eq!(events[thinking_deltas + 3]["content_block"]["type"], "text");
        let md = &events[events.len() - 2];
        assert_eq!(md["usage"]["output_tokens"], 12, "{model}: reasoning tokens count as output");
        assert_eq!(md["usage"]["cache_read_input_tokens"], 4);
        assert_eq!(md["usage"]["input_tokens"], 6);
    }
    // The budget reached each upstream in its own terms.
    let reqs = env.sim.requests();
    assert!(reqs[0].body["reasoning_effort"].is_string(), "{}", reqs[0].body);
    assert_eq!(reqs[1].body["thinking"], json!({"type": "enabled", "budget_tokens": 2048}));
    assert_eq!(reqs[1].body["max_tokens"], 4096);
}

#[tokio::test]
async fn thinking_answer_carries_the_signature_and_passes_back() {
    let env = Env::start().await;
    let mut b = sdk_body("anth/reasoning");
    b["max_tokens"] = json!(2048);
    b["thinking"] = json!({"type": "enabled", "budget_tokens": 1024});
    let v: Value = post(&env, &b).await.json().await.unwrap();
    let thinking = &v["content"][0];
    assert_eq!(thinking["type"], "thinking");
    assert_eq!(thinking["thinking"], "Thinking about the answer.");
    let signature = thinking["signature"].as_str().unwrap().to_owned();
    assert!(!signature.is_empty());
    assert_eq!(v["content"][1]["type"], "text");

    // The SDK sends the assistant turn back unchanged: Claude gets its signed thinking.
    b["messages"] = json!([
        {"role": "user", "content": "Hello, simulator."},
        {"role": "assistant", "content": v["content"].clone()},
        {"role": "user", "content": "Go on."}
    ]);
    assert_eq!(post(&env, &b).await.status(), 200);
    let reqs = env.sim.requests();
    let sent = &reqs.last().unwrap().body;
    assert_eq!(
        sent["messages"][1]["content"][0],
        json!({"type": "thinking", "thinking": "Thinking about the answer.", "signature": signature})
    );
}

#[tokio::test]
async fn tool_calls_stream_one_block_each_with_input_json() {
    let env = Env::start().await;
    let tools = json!([
        {"name": "get_weather", "description": "Weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}},
        {"name": "get_time", "input_schema": {"type": "object"}}
    ]);
    for model in ["sim/tools2", "anth/tools"] {
        let mut b = sdk_stream_body(model);
        b["tools"] = tools.clone();
        let events = stream_events(&env, &b).await;
        // Each call: its arguments in 5 fragments of 5 bytes.
        assert_eq!(shape(&events), framed(vec![block(0, 5), block(1, 5)]), "{model}");
        for (i, name) in [(0, "get_weather"), (1, "get_time")] {
            let start = events.iter().find(|e| e["type"] == "content_block_start" && e["index"] == i).unwrap();
            let cb = &start["content_block"];
            assert_eq!(cb["type"], "tool_use");
            assert_eq!(cb["name"], name);
            assert_eq!(cb["input"], json!({}));
            assert!(!cb["id"].as_str().unwrap().is_empty());
            let input: Value = serde_json::from_str(&joined(&events, i, "partial_json")).unwrap();
            assert_eq!(input, json!({"city": "Paris", "days": 3}), "{model}");
        }
        let md = &events[events.len() - 2];
        assert_eq!(md["delta"]["stop_reason"], "tool_use", "{model}");

        // Non-streamed: tool_use blocks with the input as an object.
        b["stream"] = json!(false);
        let v: Value = post(&env, &b).await.json().await.unwrap();
        assert_eq!(v["stop_reason"], "tool_use");
        assert_eq!(v["content"][0]["type"], "tool_use");
        assert_eq!(v["content"][0]["input"], json!({"city": "Paris", "days": 3}));
        assert_eq!(v["content"][1]["name"], "get_time");
    }
    let reqs = env.sim.requests();
    let sent = &reqs[0].body;
    assert_eq!(sent["tools"][0]["function"]["name"], "get_weather");
    assert_eq!(sent["tools"][0]["function"]["parameters"]["properties"]["city"]["type"], "string");
}

/// A tool loop as the SDK continues it, with a system prompt and an image.
fn tool_loop(model: &str) -> Value {
    json!({
        "max_tokens": 512,
        "model": model,
        "system": [{"type": "text", "text": "You are a weather bot.", "cache_control": {"type": "ephemeral"}}],
        "tools": [{"name": "get_weather", "description": "Weather", "input_schema": {"type": "object"}}],
        "tool_choice": {"type": "any", "disable_parallel_tool_use": true},
        "stop_sequences": ["END"],
        "temperature": 0.3,
        "metadata": {"user_id": "user-42"},
        "messages": [
            {"role": "user", "content": [
                {"type": "text", "text": "Weather where this was taken?"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}]},
            {"role": "assistant", "content": [
                {"type": "text", "text": "Checking."},
                {"type": "tool_use", "id": "toolu_01A", "name": "get_weather", "input": {"city": "Paris"}}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_01A", "content": "18C"}]}
        ]
    })
}

#[tokio::test]
async fn tool_round_trip_system_and_image_reach_an_openai_upstream() {
    let env = Env::start().await;
    let r = post(&env, &tool_loop("sim/text")).await;
    assert_eq!(r.status(), 200);
    let reqs = env.sim.requests();
    let sent = &reqs[0].body;
    let m = &sent["messages"];
    assert_eq!(m[0]["role"], "system");
    assert_eq!(m[0]["content"][0]["text"], "You are a weather bot.");
    assert_eq!(m[1]["content"][1]["image_url"]["url"], "data:image/png;base64,iVBORw0KGgo=");
    assert_eq!(m[2]["role"], "assistant");
    assert_eq!(m[2]["content"], "Checking.");
    assert_eq!(m[2]["tool_calls"][0]["id"], "toolu_01A");
    assert_eq!(m[2]["tool_calls"][0]["function"]["name"], "get_weather");
    assert_eq!(
        serde_json::from_str::<Value>(m[2]["tool_calls"][0]["function"]["arguments"].as_str().unwrap()).unwrap(),
        json!({"city": "Paris"})
    );
    assert_eq!(m[3], json!({"role": "tool", "content": "18C", "tool_call_id": "toolu_01A"}));
    assert_eq!(sent["tool_choice"], "required");
    assert_eq!(sent["parallel_tool_calls"], false);
    assert_eq!(sent["stop"], json!(["END"]));
    assert_eq!(sent["temperature"], 0.3);
    assert_eq!(sent["max_tokens"], 512);
    assert!(sent["user"].is_string(), "metadata.user_id becomes the (hashed) user");
    assert!(sent.get("metadata").is_none() && sent.get("system").is_none());
}

#[tokio::test]
async fn tool_round_trip_system_and_image_reach_an_anthropic_upstream() {
    let env = Env::start().await;
    let r = post(&env, &tool_loop("anth/text")).await;
    assert_eq!(r.status(), 200);
    let reqs = env.sim.requests();
    let sent = &reqs[0].body;
    assert_eq!(
        sent["system"],
        json!([{"type": "text", "text": "You are a weather bot.", "cache_control": {"type": "ephemeral"}}])
    );
    let m = &sent["messages"];
    assert_eq!(
        m[0]["content"][1],
        json!({"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}})
    );
    assert_eq!(
        m[1]["content"],
        json!([{"type": "text", "text": "Checking."},
            {"type": "tool_use", "id": "toolu_01A", "name": "get_weather", "input": {"city": "Paris"}}])
    );
    assert_eq!(m[2]["content"], json!([{"type": "tool_result", "tool_use_id": "toolu_01A", "content": "18C"}]));
    assert_eq!(sent["tool_choice"], json!({"type": "any", "disable_parallel_tool_use": true}));
    assert_eq!(sent["stop_sequences"], json!(["END"]));
    assert!(sent["metadata"]["user_id"].is_string());
}

#[tokio::test]
async fn bearer_auth_and_any_catalog_protocol_work() {
    let env = Env::start().await;
    for model in ["gem/text", "bed/text", "coh/text"] {
        let r = env
            .http
            .post(env.url("/messages"))
            .bearer_auth(&env.key)
            .header("anthropic-version", "2023-06-01")
            .header("anthropic-beta", "prompt-caching-2024-07-31")
            .json(&sdk_body(model))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{model}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["content"][0]["text"], "tok0 tok1 tok2 tok3 tok4 ", "{model}");
        assert_eq!(v["stop_reason"], "end_turn", "{model}");
    }
}

/// Status, `error.type` and `request_id` of an Anthropic error response.
async fn error_of(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["type"], "error", "{v}");
    assert!(v["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
    (status, v)
}

#[tokio::test]
async fn failures_come_in_anthropics_error_envelope() {
    let env = Env::start().await;
    let (status, v) = error_of(post_as(&env, "sk-or-v1-nope", &sdk_body("sim/text")).await).await;
    assert_eq!((status, v["error"]["type"].as_str()), (401, Some("authentication_error")));
    assert_eq!(v["request_id"], Value::Null);

    let mut b = sdk_body("sim/text");
    b.as_object_mut().unwrap().remove("max_tokens");
    let (status, v) = error_of(post(&env, &b).await).await;
    assert_eq!((status, v["error"]["type"].as_str()), (400, Some("invalid_request_error")));
    assert!(v["error"]["message"].as_str().unwrap().contains("max_tokens"), "{v}");

    let (status, v) = error_of(post(&env, &sdk_body("nobody/nothing")).await).await;
    let expected = if status == 404 { "not_found_error" } else { "invalid_request_error" };
    assert!(status == 400 || status == 404, "{status}");
    assert_eq!(v["error"]["type"], expected);

    let r = post(&env, &sdk_body("sim/e429")).await;
    assert_eq!(r.headers()["retry-after"], "7");
    let gen_id = r.headers()["x-generation-id"].to_str().unwrap().to_owned();
    let (status, v) = error_of(r).await;
    assert_eq!((status, v["error"]["type"].as_str()), (429, Some("rate_limit_error")));
    assert_eq!(v["error"]["error_type"], "rate_limit_exceeded");
    assert_eq!(v["request_id"], gen_id.as_str());

    let (status, v) = error_of(post(&env, &sdk_body("anth/e529")).await).await;
    assert_eq!((status, v["error"]["type"].as_str()), (503, Some("overloaded_error")));

    let (status, v) = error_of(post(&env, &sdk_stream_body("sim/e429")).await).await;
    assert_eq!((status, v["error"]["type"].as_str()), (429, Some("rate_limit_error")));
}

#[tokio::test]
async fn a_mid_stream_failure_is_an_error_event() {
    let env = Env::start().await;
    for model in ["sim/error-after", "anth/error-after"] {
        let events = stream_events(&env, &sdk_stream_body(model)).await;
        let s = shape(&events);
        assert_eq!(
            s[..5],
            [
                "message_start",
                "content_block_start:0",
                "content_block_delta:0",
                "content_block_delta:0",
                "content_block_delta:0"
            ],
            "{model}"
        );
        assert_eq!(s.last().unwrap(), "error", "{model}: the error ends the stream");
        assert!(!s.contains(&"message_stop".to_owned()));
        let err = &events.last().unwrap()["error"];
        assert!(err["type"].as_str().unwrap().ends_with("_error"), "{err}");
    }
}
