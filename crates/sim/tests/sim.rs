//! End-to-end tests of the simulator over real loopback HTTP.

// Helpers outside #[test] fns are not covered by clippy.toml's test allowances.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::time::Duration;

use serde_json::{Value, json};
use switchyard_sim::{Outcome, SimOptions, SimServer};

async fn start() -> SimServer {
    SimServer::start("127.0.0.1:0".parse().unwrap()).await.unwrap()
}

fn url(sim: &SimServer) -> String {
    format!("{}/chat/completions", sim.base_url())
}

async fn post(sim: &SimServer, body: Value) -> reqwest::Response {
    reqwest::Client::new().post(url(sim)).bearer_auth("sk-test").json(&body).send().await.unwrap()
}

/// Splits an SSE body into its `data:` payloads.
fn sse_data(text: &str) -> Vec<String> {
    assert!(text.ends_with("\n\n"), "body must end with a blank line: {text:?}");
    text.split("\n\n").filter(|e| !e.is_empty()).map(|e| e.strip_prefix("data: ").unwrap().to_owned()).collect()
}

fn chunks(events: &[String]) -> Vec<Value> {
    events.iter().filter(|e| e.as_str() != "[DONE]").map(|e| serde_json::from_str(e).unwrap()).collect()
}

#[tokio::test]
async fn default_non_stream_shape() {
    let sim = start().await;
    let body = json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "0123456789abcdef"}]});
    let resp = post(&sim, body).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/json");
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["id"], "chatcmpl-sim0");
    assert_eq!(v["object"], "chat.completion");
    assert_eq!(v["model"], "gpt-4o");
    assert_eq!(v["system_fingerprint"], "fp_sim");
    assert!(v["created"].as_u64().unwrap() > 1_600_000_000);
    let choice = &v["choices"][0];
    assert_eq!(choice["index"], 0);
    assert_eq!(choice["finish_reason"], "stop");
    assert_eq!(choice["logprobs"], Value::Null);
    assert_eq!(choice["message"]["role"], "assistant");
    assert_eq!(choice["message"]["refusal"], Value::Null);
    assert_eq!(choice["message"]["content"], "tok0 tok1 tok2 tok3 tok4 tok5 tok6 tok7 ");
    assert!(choice["message"].get("tool_calls").is_none());
    let u = &v["usage"];
    assert_eq!((u["prompt_tokens"].as_u64(), u["completion_tokens"].as_u64()), (Some(4), Some(8)));
    assert_eq!(u["total_tokens"], 12);
    assert_eq!(u["prompt_tokens_details"], json!({"cached_tokens": 0, "audio_tokens": 0}));
    assert_eq!(u["completion_tokens_details"]["reasoning_tokens"], 0);
    let rec = sim.wait_outcome(0, Duration::from_secs(1)).await.unwrap();
    assert_eq!(rec.outcome, Outcome::Completed);
}

#[tokio::test]
async fn stream_tokens_with_usage() {
    let sim = start().await;
    let body = json!({"model": "tokens=5,cached=2,prompt_tokens=11", "messages": [], "stream": true,
        "stream_options": {"include_usage": true}});
    let resp = post(&sim, body).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let events = sse_data(&resp.text().await.unwrap());
    assert_eq!(events.last().unwrap(), "[DONE]");
    let c = chunks(&events);
    assert_eq!(c.len(), 1 + 5 + 1 + 1);
    for chunk in &c {
        assert_eq!(chunk["object"], "chat.completion.chunk");
        assert_eq!(chunk["id"], "chatcmpl-sim0");
        assert_eq!(chunk["model"], "tokens=5,cached=2,prompt_tokens=11");
        assert_eq!(chunk["system_fingerprint"], "fp_sim");
    }
    assert_eq!(c[0]["choices"][0]["delta"], json!({"role": "assistant", "content": ""}));
    let text: String = c[1..6].iter().map(|ch| ch["choices"][0]["delta"]["content"].as_str().unwrap()).collect();
    assert_eq!(text, "tok0 tok1 tok2 tok3 tok4 ");
    assert_eq!(c[6]["choices"][0]["delta"], json!({}));
    assert_eq!(c[6]["choices"][0]["finish_reason"], "stop");
    assert_eq!(c[6]["usage"], Value::Null);
    assert_eq!(c[7]["choices"], json!([]));
    let u = &c[7]["usage"];
    assert_eq!((u["prompt_tokens"].as_u64(), u["completion_tokens"].as_u64()), (Some(11), Some(5)));
    assert_eq!(u["prompt_tokens_details"]["cached_tokens"], 2);
    let rec = sim.wait_outcome(0, Duration::from_secs(1)).await.unwrap();
    assert_eq!(rec.outcome, Outcome::Completed);

    // Without include_usage: no usage chunk, no usage fields.
    let resp = post(&sim, json!({"model": "tokens=2", "stream": true})).await;
    let c = chunks(&sse_data(&resp.text().await.unwrap()));
    assert_eq!(c.len(), 4);
    assert!(c.iter().all(|ch| ch.get("usage").is_none()));
}

#[tokio::test]
async fn tool_stream_fragments() {
    let sim = start().await;
    let tools = json!([{"type": "function", "function": {"name": "get_weather", "parameters": {}}}]);
    let body = json!({"model": "x", "stream": true, "tools": tools, "messages": []});
    let resp =
        reqwest::Client::new().post(url(&sim)).header("x-sim-scenario", "tool").json(&body).send().await.unwrap();
    let c = chunks(&sse_data(&resp.text().await.unwrap()));
    assert_eq!(c[0]["choices"][0]["delta"], json!({"role": "assistant", "content": null}));
    let head = &c[1]["choices"][0]["delta"]["tool_calls"][0];
    assert_eq!(
        *head,
        json!({"index": 0, "id": "call_sim_0", "type": "function",
            "function": {"name": "get_weather", "arguments": ""}})
    );
    let frags: Vec<&Value> = c[2..c.len() - 1].iter().map(|ch| &ch["choices"][0]["delta"]["tool_calls"][0]).collect();
    assert!(frags.len() >= 3);
    let mut args = String::new();
    for f in frags {
        assert_eq!(f["index"], 0);
        assert!(f.get("id").is_none() && f["function"].get("name").is_none());
        args.push_str(f["function"]["arguments"].as_str().unwrap());
    }
    let parsed: Value = serde_json::from_str(&args).unwrap();
    assert_eq!(parsed, json!({"city": "Paris", "days": 3}));
    assert_eq!(c.last().unwrap()["choices"][0]["finish_reason"], "tool_calls");
}

#[tokio::test]
async fn non_stream_variants() {
    let sim = start().await;
    let tools =
        json!([{"type": "function", "function": {"name": "a"}}, {"type": "function", "function": {"name": "b"}}]);
    let v: Value = post(&sim, json!({"model": "tools=2", "tools": tools})).await.json().await.unwrap();
    let msg = &v["choices"][0]["message"];
    assert_eq!(msg["content"], Value::Null);
    assert_eq!(msg["tool_calls"][1]["id"], "call_sim_1");
    assert_eq!(msg["tool_calls"][1]["function"]["name"], "b");
    assert_eq!(v["choices"][0]["finish_reason"], "tool_calls");

    let v: Value = post(&sim, json!({"model": "json,reasoning,tokens=3,finish=length"})).await.json().await.unwrap();
    let msg = &v["choices"][0]["message"];
    let content: Value = serde_json::from_str(msg["content"].as_str().unwrap()).unwrap();
    assert_eq!(content, json!({"answer": "sim", "tokens": 3}));
    assert!(msg["reasoning"].as_str().unwrap().starts_with("Thinking"));
    assert_eq!(v["choices"][0]["finish_reason"], "length");
    assert_eq!(v["usage"]["completion_tokens_details"]["reasoning_tokens"], 4);

    let resp = post(&sim, json!({"model": "error_event"})).await;
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["type"], "server_error");

    let resp = post(&sim, json!({"model": "error_after=2", "stream": true})).await;
    let events = sse_data(&resp.text().await.unwrap());
    assert_eq!(events.len(), 4);
    assert!(events[3].contains("simulated in-stream error"));
}

#[tokio::test]
async fn status_429_and_header_override() {
    let sim = start().await;
    let resp = post(&sim, json!({"model": "status=429"})).await;
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers()["retry-after"], "1");
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["code"], "rate_limit_exceeded");
    assert_eq!(v["error"]["param"], Value::Null);

    let resp = reqwest::Client::new()
        .post(url(&sim))
        .header("x-sim-scenario", "status=503,retry_after=4")
        .json(&json!({"model": "tokens=3"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 503);
    assert_eq!(resp.headers()["retry-after"], "4");
    let v: Value = resp.json().await.unwrap();
    assert!(v["error"]["message"].as_str().unwrap().contains("overloaded"));

    let resp = reqwest::Client::new()
        .post(url(&sim))
        .header("x-sim-scenario", "tokens=2")
        .json(&json!({"model": "status=500"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["usage"]["completion_tokens"], 2);
    assert_eq!(v["model"], "status=500");
}

#[tokio::test]
async fn recording_and_control_routes() {
    let sim = start().await;
    let body = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]});
    post(&sim, body.clone()).await.bytes().await.unwrap();
    let models: Value = reqwest::get(format!("{}/models?x=1", sim.base_url())).await.unwrap().json().await.unwrap();
    assert_eq!(models["data"][0]["id"], "sim");

    let recs = sim.requests();
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[0].seq, 0);
    assert_eq!(recs[0].method, "POST");
    assert_eq!(recs[0].path, "/v1/chat/completions");
    assert_eq!(recs[0].body, body);
    assert_eq!(recs[0].outcome, Outcome::Completed);
    let auth = recs[0].headers.iter().find(|(k, _)| k == "authorization");
    assert_eq!(auth.map(|(_, v)| v.as_str()), Some("Bearer sk-test"));
    assert!(recs[0].headers.iter().any(|(k, v)| k == "content-type" && v == "application/json"));
    assert_eq!((recs[1].method.as_str(), recs[1].path.as_str()), ("GET", "/v1/models?x=1"));

    let control = format!("http://{}/_sim/requests", sim.addr());
    let listed: Value = reqwest::get(&control).await.unwrap().json().await.unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert_eq!(listed[0]["outcome"], "Completed");
    let resp = reqwest::Client::new().delete(&control).send().await.unwrap();
    assert!(resp.status().is_success());
    assert!(sim.requests().is_empty());
    post(&sim, json!({"model": "m"})).await.bytes().await.unwrap();
    sim.clear();
    assert!(sim.requests().is_empty());

    let bench = SimServer::start_with("127.0.0.1:0".parse().unwrap(), SimOptions { record: false }).await.unwrap();
    let resp = post(&bench, json!({"model": "m"})).await;
    assert_eq!(resp.status(), 200);
    assert!(bench.requests().is_empty());
}

#[tokio::test]
async fn dropped_stream_is_client_disconnected() {
    let sim = start().await;
    let mut resp = post(&sim, json!({"model": "token_ms=50,tokens=100", "stream": true})).await;
    resp.chunk().await.unwrap().unwrap();
    resp.chunk().await.unwrap().unwrap();
    drop(resp);
    let rec = sim.wait_outcome(0, Duration::from_secs(2)).await.unwrap();
    assert_eq!(rec.outcome, Outcome::ClientDisconnected);
}

#[tokio::test]
async fn hang_then_client_timeout_is_client_disconnected() {
    let sim = start().await;
    let client = reqwest::Client::builder().timeout(Duration::from_millis(200)).build().unwrap();
    let err = client.post(url(&sim)).json(&json!({"model": "hang"})).send().await.unwrap_err();
    assert!(err.is_timeout());
    let rec = sim.wait_outcome(0, Duration::from_secs(2)).await.unwrap();
    assert_eq!(rec.outcome, Outcome::ClientDisconnected);
}

#[tokio::test]
async fn drop_after_breaks_the_body() {
    let sim = start().await;
    let mut resp = post(&sim, json!({"model": "drop_after=2", "stream": true})).await;
    assert_eq!(resp.status(), 200);
    let mut seen = Vec::new();
    let err = loop {
        match resp.chunk().await {
            Ok(Some(bytes)) => seen.extend_from_slice(&bytes),
            Ok(None) => panic!("body ended cleanly"),
            Err(e) => break e,
        }
    };
    assert!(err.is_body() || err.is_decode(), "{err:?}");
    let seen = String::from_utf8(seen).unwrap();
    assert_eq!(chunks(&sse_data(&seen)).len(), 3, "role + 2 content chunks: {seen}");
    assert!(!seen.contains("[DONE]"));

    let resp = post(&sim, json!({"model": "drop_after=1"})).await;
    assert_eq!(resp.status(), 200);
    assert!(resp.content_length().unwrap() > 0);
    assert!(resp.bytes().await.is_err());
}

#[tokio::test]
async fn first_byte_delay_and_unknown_route() {
    let sim = start().await;
    let t = std::time::Instant::now();
    let resp = post(&sim, json!({"model": "first_byte_ms=100", "stream": true})).await;
    assert!(t.elapsed() >= Duration::from_millis(100));
    assert!(resp.text().await.unwrap().ends_with("data: [DONE]\n\n"));
    let resp = reqwest::get(format!("http://{}/nope", sim.addr())).await.unwrap();
    assert_eq!(resp.status(), 404);
}

#[tokio::test]
async fn dropping_the_server_releases_hanging_requests() {
    let sim = start().await;
    let u = url(&sim);
    let pending = tokio::spawn(async move {
        let body = json!({"model": "hang"});
        reqwest::Client::new().post(u).json(&body).send().await
    });
    while sim.requests().is_empty() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    drop(sim);
    let resp = tokio::time::timeout(Duration::from_secs(2), pending).await.unwrap().unwrap().unwrap();
    assert_eq!(resp.status(), 503);
}
