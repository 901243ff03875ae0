//! End-to-end tests of the simulator's Anthropic Messages API over real loopback HTTP.

// Helpers outside #[test] fns are not covered by clippy.toml's test allowances.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::time::Duration;

use serde_json::{Value, json};
use switchyard_sim::{Outcome, SimServer};

async fn start() -> SimServer {
    SimServer::start("127.0.0.1:0".parse().unwrap()).await.unwrap()
}

async fn post(sim: &SimServer, body: Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("http://{}/v1/messages", sim.addr()))
        .header("x-api-key", "sk-ant-test")
        .header("anthropic-version", "2023-06-01")
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// Splits an SSE body into `(event name, data)` pairs.
fn sse_events(text: &str) -> Vec<(String, Value)> {
    assert!(text.ends_with("\n\n"), "body must end with a blank line: {text:?}");
    let event = |e: &str| {
        let (name, data) = e.strip_prefix("event: ").unwrap().split_once("\ndata: ").unwrap();
        let data: Value = serde_json::from_str(data).unwrap();
        if name != "error" {
            assert_eq!(data["type"], name);
        }
        (name.to_owned(), data)
    };
    text.split("\n\n").filter(|e| !e.is_empty()).map(event).collect()
}

fn names(events: &[(String, Value)]) -> Vec<&str> {
    events.iter().map(|(n, _)| n.as_str()).collect()
}

#[tokio::test]
async fn non_stream_text_and_recording() {
    let sim = start().await;
    let body = json!({"model": "claude-x,tokens=3,cached=1", "max_tokens": 64,
        "system": [{"type": "text", "text": "01234567"}],
        "messages": [{"role": "user", "content": "abcd"}, {"role": "user", "content": [{"type": "text", "text": "efgh"}]}]});
    let resp = post(&sim, body.clone()).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/json");
    assert_eq!(resp.headers()["request-id"], "req_sim0");
    let v: Value = resp.json().await.unwrap();
    assert_eq!(
        v,
        json!({"id": "msg_sim0", "type": "message", "role": "assistant", "model": "claude-x,tokens=3,cached=1",
            "content": [{"type": "text", "text": "tok0 tok1 tok2 "}], "stop_reason": "end_turn", "stop_sequence": null,
            "usage": {"input_tokens": 3, "output_tokens": 3, "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 1}})
    );
    let rec = sim.wait_outcome(0, Duration::from_secs(1)).await.unwrap();
    assert_eq!(rec.outcome, Outcome::Completed);
    assert_eq!((rec.path.as_str(), &rec.body), ("/v1/messages", &body));
    let header = |name: &str| rec.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    assert_eq!(header("x-api-key").as_deref(), Some("sk-ant-test"));
    assert_eq!(header("anthropic-version").as_deref(), Some("2023-06-01"));

    // `/messages` works too, without any Anthropic headers.
    let url = format!("http://{}/messages", sim.addr());
    let resp = reqwest::Client::new().post(url).json(&json!({"model": "tokens=1"})).send().await.unwrap();
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["content"][0]["text"], "tok0 ");
}

#[tokio::test]
async fn non_stream_tool_use_and_thinking() {
    let sim = start().await;
    let tools = json!([{"name": "get_weather", "input_schema": {}}, {"name": "b", "input_schema": {}}]);
    let v: Value = post(&sim, json!({"model": "tools=2", "tools": tools})).await.json().await.unwrap();
    assert_eq!(v["stop_reason"], "tool_use");
    assert_eq!(
        v["content"],
        json!([{"type": "tool_use", "id": "toolu_sim_0", "name": "get_weather", "input": {"city": "Paris", "days": 3}},
            {"type": "tool_use", "id": "toolu_sim_1", "name": "b", "input": {"city": "Paris", "days": 3}}])
    );
    let v: Value = post(&sim, json!({"model": "tool"})).await.json().await.unwrap();
    assert_eq!(v["content"][0]["name"], "sim_tool");

    let v: Value = post(&sim, json!({"model": "reasoning,tokens=2,finish=length"})).await.json().await.unwrap();
    let content = v["content"].as_array().unwrap();
    assert_eq!(content.len(), 2);
    assert_eq!(content[0]["type"], "thinking");
    assert!(content[0]["thinking"].as_str().unwrap().starts_with("Thinking"));
    assert!(content[0]["signature"].as_str().unwrap().starts_with("sig_sim"));
    assert_eq!(content[1], json!({"type": "text", "text": "tok0 tok1 "}));
    assert_eq!(v["stop_reason"], "max_tokens");
    assert_eq!(v["usage"]["output_tokens"], 6);

    let v: Value = post(&sim, json!({"model": "json,tokens=4"})).await.json().await.unwrap();
    let text: Value = serde_json::from_str(v["content"][0]["text"].as_str().unwrap()).unwrap();
    assert_eq!(text, json!({"answer": "sim", "tokens": 4}));
}

#[tokio::test]
async fn stream_text_event_sequence() {
    let sim = start().await;
    let body = json!({"model": "tokens=3,prompt_tokens=10,cached=4", "stream": true, "messages": []});
    let resp = post(&sim, body).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let text = resp.text().await.unwrap();
    assert!(!text.contains("[DONE]"));
    let ev = sse_events(&text);
    assert_eq!(
        names(&ev),
        [
            "message_start",
            "ping",
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    let msg = &ev[0].1["message"];
    assert_eq!(
        (msg["id"].as_str(), msg["content"].clone(), msg["stop_reason"].clone()),
        (Some("msg_sim0"), json!([]), Value::Null)
    );
    assert_eq!(
        msg["usage"],
        json!({"input_tokens": 6, "output_tokens": 1, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 4})
    );
    assert_eq!(ev[2].1["content_block"], json!({"type": "text", "text": ""}));
    let joined: String = ev[3..6].iter().map(|(_, d)| d["delta"]["text"].as_str().unwrap()).collect();
    assert_eq!(joined, "tok0 tok1 tok2 ");
    assert_eq!(ev[3].1["delta"]["type"], "text_delta");
    assert_eq!(ev[6].1, json!({"type": "content_block_stop", "index": 0}));
    assert_eq!(
        ev[7].1,
        json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null},
            "usage": {"output_tokens": 3}})
    );
    let rec = sim.wait_outcome(0, Duration::from_secs(1)).await.unwrap();
    assert_eq!(rec.outcome, Outcome::Completed);
}

#[tokio::test]
async fn stream_thinking_then_tool_fragments() {
    let sim = start().await;
    let tools = json!([{"name": "get_weather", "input_schema": {}}]);
    let body = json!({"model": "reasoning,tool", "stream": true, "tools": tools});
    let ev = sse_events(&post(&sim, body).await.text().await.unwrap());
    let blocks: Vec<&Value> = ev.iter().filter(|(n, _)| n == "content_block_start").map(|(_, d)| d).collect();
    assert_eq!(blocks[0]["content_block"], json!({"type": "thinking", "thinking": "", "signature": ""}));
    assert_eq!(
        *blocks[1],
        json!({"type": "content_block_start", "index": 1,
            "content_block": {"type": "tool_use", "id": "toolu_sim_0", "name": "get_weather", "input": {}}})
    );
    let deltas = |kind: &str| -> Vec<Value> {
        ev.iter().filter(|(_, d)| d["delta"]["type"] == kind).map(|(_, d)| d.clone()).collect()
    };
    let thinking: String = deltas("thinking_delta").iter().map(|d| d["delta"]["thinking"].as_str().unwrap()).collect();
    assert_eq!(thinking, "Thinking about the answer.");
    let sig = deltas("signature_delta");
    assert_eq!(sig.len(), 1);
    assert_eq!(sig[0]["index"], 0);
    let frags = deltas("input_json_delta");
    assert!(frags.len() >= 3);
    assert!(frags.iter().all(|d| d["index"] == 1));
    assert!(frags.iter().all(|d| d["delta"]["partial_json"].as_str().unwrap().len() <= 5));
    let args: String = frags.iter().map(|d| d["delta"]["partial_json"].as_str().unwrap()).collect();
    assert_eq!(serde_json::from_str::<Value>(&args).unwrap(), json!({"city": "Paris", "days": 3}));
    // signature_delta, then stop of block 0, before block 1 starts.
    let pos = |pred: &dyn Fn(&Value) -> bool| ev.iter().position(|(_, d)| pred(d)).unwrap();
    let sig_at = pos(&|d| d["delta"]["type"] == "signature_delta");
    assert_eq!(ev[sig_at + 1].1, json!({"type": "content_block_stop", "index": 0}));
    assert_eq!(ev[sig_at + 2].0, "content_block_start");
    let n = ev.len();
    assert_eq!(ev[n - 3].1, json!({"type": "content_block_stop", "index": 1}));
    assert_eq!(ev[n - 2].1["delta"]["stop_reason"], "tool_use");
    assert_eq!(ev[n - 1].0, "message_stop");
}

#[tokio::test]
async fn error_statuses() {
    let sim = start().await;
    let resp = post(&sim, json!({"model": "status=529"})).await;
    assert_eq!(resp.status(), 529);
    assert!(resp.headers().get("retry-after").is_none());
    let v: Value = resp.json().await.unwrap();
    assert_eq!(
        v,
        json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}, "request_id": "req_sim0"})
    );

    let resp = post(&sim, json!({"model": "status=429", "stream": true})).await;
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers()["retry-after"], "1");
    let v: Value = resp.json().await.unwrap();
    assert_eq!((v["type"].as_str(), v["error"]["type"].as_str()), (Some("error"), Some("rate_limit_error")));

    let resp = post(&sim, json!({"model": "status=429,retry_after=7"})).await;
    assert_eq!(resp.headers()["retry-after"], "7");
    for (code, kind) in [(400, "invalid_request_error"), (401, "authentication_error"), (413, "request_too_large")] {
        let v: Value = post(&sim, json!({"model": format!("status={code}")})).await.json().await.unwrap();
        assert_eq!(v["error"]["type"], kind);
    }
    let rec = sim.wait_outcome(0, Duration::from_secs(1)).await.unwrap();
    assert_eq!(rec.outcome, Outcome::Completed);
}

#[tokio::test]
async fn in_band_errors() {
    let sim = start().await;
    let ev = sse_events(&post(&sim, json!({"model": "error_after=2", "stream": true})).await.text().await.unwrap());
    let deltas = ev.iter().filter(|(n, _)| n == "content_block_delta").count();
    assert_eq!(deltas, 2);
    let (name, data) = ev.last().unwrap();
    assert_eq!(name, "error");
    assert_eq!(
        *data,
        json!({"type": "error", "error": {"type": "overloaded_error", "message": "simulated in-stream error"}})
    );

    let ev = sse_events(&post(&sim, json!({"model": "error_event", "stream": true})).await.text().await.unwrap());
    assert_eq!(names(&ev), ["error"]);
    let v: Value = post(&sim, json!({"model": "error_event"})).await.json().await.unwrap();
    assert_eq!(v["error"]["type"], "overloaded_error");
}

#[tokio::test]
async fn drop_after_and_disconnect() {
    let sim = start().await;
    let mut resp = post(&sim, json!({"model": "drop_after=2", "stream": true})).await;
    let mut seen = Vec::new();
    let err = loop {
        match resp.chunk().await {
            Ok(Some(bytes)) => seen.extend_from_slice(&bytes),
            Ok(None) => panic!("body ended cleanly"),
            Err(e) => break e,
        }
    };
    assert!(err.is_body() || err.is_decode(), "{err:?}");
    let ev = sse_events(&String::from_utf8(seen).unwrap());
    assert_eq!(ev.iter().filter(|(n, _)| n == "content_block_delta").count(), 2);
    assert!(ev.iter().all(|(n, _)| n != "message_stop"));

    let mut resp = post(&sim, json!({"model": "token_ms=50,tokens=100", "stream": true})).await;
    resp.chunk().await.unwrap().unwrap();
    resp.chunk().await.unwrap().unwrap();
    drop(resp);
    let rec = sim.wait_outcome(1, Duration::from_secs(2)).await.unwrap();
    assert_eq!(rec.outcome, Outcome::ClientDisconnected);
}
