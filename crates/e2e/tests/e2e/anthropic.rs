//! The same OpenAI-shaped requests served by an Anthropic-protocol upstream:
//! translated both ways, streamed, with usage, cost and errors mapped.

use serde_json::{Value, json};

use crate::common::{Env, body, chunks, sse_events, stream_body};

fn header<'a>(rec: &'a switchyard_sim::RecordedRequest, name: &str) -> Option<&'a str> {
    rec.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

#[tokio::test]
async fn anthropic_upstream_answers_in_openrouter_shape() {
    let env = Env::start().await;
    let mut b = body("anth/text");
    b["messages"] = json!([
        {"role": "system", "content": "Be terse."},
        {"role": "user", "content": "Hello, simulator."}
    ]);
    b["max_tokens"] = json!(100);
    b["temperature"] = json!(0.5);
    b["stop"] = json!(["END"]);
    let r = env.chat(b).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["model"], "anth/text");
    assert_eq!(v["provider"], "Anthropic Sim");
    assert_eq!(v["choices"][0]["message"]["content"], "tok0 tok1 tok2 tok3 tok4 ");
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    assert_eq!(v["choices"][0]["native_finish_reason"], "end_turn");
    assert_eq!(v["usage"]["prompt_tokens"], 10);
    assert_eq!(v["usage"]["completion_tokens"], 5);
    // 10 x $3/M + 5 x $15/M
    assert_eq!(v["usage"]["cost"].as_f64().unwrap(), 0.000105);

    let reqs = env.sim.requests();
    let rec = reqs.last().unwrap();
    assert_eq!(rec.path, "/v1/messages");
    assert_eq!(header(rec, "x-api-key"), Some("sk-ant-secret"));
    assert!(header(rec, "anthropic-version").is_some());
    assert_eq!(header(rec, "authorization"), None);
    let sent = &rec.body;
    assert_eq!(sent["system"], "Be terse.");
    assert_eq!(sent["messages"][0]["role"], "user");
    assert_eq!(sent["max_tokens"], 100);
    assert_eq!(sent["stop_sequences"], json!(["END"]));
    assert_eq!(sent["temperature"], 0.5);
}

#[tokio::test]
async fn anthropic_tool_calls_round_trip_and_stream_as_openai_deltas() {
    let env = Env::start().await;
    let tools = json!([{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}},
                       {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object"}}}]);
    let mut b = body("anth/tools");
    b["tools"] = tools.clone();
    b["tool_choice"] = json!("required");
    b["messages"] = json!([
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "content": null, "tool_calls": [
            {"id": "toolu_prev", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Rome\"}"}}]},
        {"role": "tool", "tool_call_id": "toolu_prev", "content": "{\"temp_c\":20}"}
    ]);
    let v: Value = env.chat(b.clone()).await.json().await.unwrap();
    assert_eq!(v["choices"][0]["finish_reason"], "tool_calls");
    assert_eq!(v["choices"][0]["native_finish_reason"], "tool_use");
    let calls = v["choices"][0]["message"]["tool_calls"].as_array().unwrap();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[1]["function"]["name"], "get_time");
    let args: Value = serde_json::from_str(calls[0]["function"]["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(args["city"], "Paris");
    let reqs = env.sim.requests();
    let sent = &reqs.last().unwrap().body;
    assert_eq!(sent["tools"][0]["name"], "get_weather");
    assert_eq!(sent["tool_choice"]["type"], "any");
    assert_eq!(sent["messages"][1]["content"][0]["type"], "tool_use");
    assert_eq!(sent["messages"][1]["content"][0]["id"], "toolu_prev");
    assert_eq!(sent["messages"][1]["content"][0]["input"]["city"], "Rome");
    assert_eq!(sent["messages"][2]["content"][0]["type"], "tool_result");
    assert_eq!(sent["messages"][2]["content"][0]["tool_use_id"], "toolu_prev");

    b["stream"] = json!(true);
    let text = env.chat(b).await.text().await.unwrap();
    let (events, _) = sse_events(&text);
    assert_eq!(events.last().unwrap(), "[DONE]");
    let cs = chunks(&events);
    let mut args = [String::new(), String::new()];
    let mut ids = [String::new(), String::new()];
    for c in &cs {
        for call in c["choices"].get(0).and_then(|ch| ch["delta"]["tool_calls"].as_array()).into_iter().flatten() {
            let i = call["index"].as_u64().unwrap() as usize;
            if let Some(id) = call["id"].as_str() {
                ids[i] = id.to_owned();
            }
            args[i].push_str(call["function"]["arguments"].as_str().unwrap_or(""));
        }
    }
    assert!(ids.iter().all(|id| id.starts_with("toolu_")), "{ids:?}");
    for a in &args {
        assert_eq!(serde_json::from_str::<Value>(a).unwrap()["city"], "Paris");
    }
    assert_eq!(cs.iter().filter(|c| c.get("usage").is_some()).count(), 1);
}

#[tokio::test]
async fn anthropic_thinking_becomes_reasoning_with_cached_usage() {
    let env = Env::start().await;
    let mut b = stream_body("anth/reasoning");
    b["reasoning"] = json!({"max_tokens": 2048});
    b["max_tokens"] = json!(4096);
    let text = env.chat(b.clone()).await.text().await.unwrap();
    let cs = chunks(&sse_events(&text).0);
    let reasoning: String = cs
        .iter()
        .filter_map(|c| c["choices"].get(0).and_then(|ch| ch["delta"]["reasoning"].as_str()).map(str::to_owned))
        .collect();
    assert!(!reasoning.is_empty());
    let usage = &cs.last().unwrap()["usage"];
    assert_eq!(usage["prompt_tokens"], 10);
    assert_eq!(usage["prompt_tokens_details"]["cached_tokens"], 4);
    // 6 x $3/M + 4 x $0.3/M (cache read) + completion
    let completion = usage["completion_tokens"].as_f64().unwrap();
    let want = (6.0 * 3.0 + 4.0 * 0.3 + completion * 15.0) / 1e6;
    assert!((usage["cost"].as_f64().unwrap() - want).abs() < 1e-12);
    let reqs = env.sim.requests();
    let sent = &reqs.last().unwrap().body;
    assert_eq!(sent["thinking"]["type"], "enabled");
    assert_eq!(sent["thinking"]["budget_tokens"], 2048);
}

#[tokio::test]
async fn anthropic_errors_map_to_openrouter_codes() {
    let env = Env::start().await;
    let r = env.chat(body("anth/e529")).await;
    assert_eq!(r.status(), 503);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["metadata"]["error_type"], "provider_overloaded");
    assert_eq!(v["error"]["metadata"]["provider_code"], "overloaded_error");
    let r = env.chat(body("anth/e400")).await;
    assert_eq!(r.status(), 400);

    let text = env.chat(stream_body("anth/error-after")).await.text().await.unwrap();
    let cs = chunks(&sse_events(&text).0);
    let err = cs.iter().find(|c| c.get("error").is_some()).unwrap();
    assert_eq!(err["choices"][0]["finish_reason"], "error");
    assert_eq!(err["error"]["code"], 503);
}
