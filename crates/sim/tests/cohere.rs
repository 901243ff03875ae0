//! End-to-end tests of the simulator's Cohere v2 Chat API over real loopback HTTP.

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
        .post(format!("http://{}/v2/chat", sim.addr()))
        .bearer_auth("co-test")
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn stream_events(sim: &SimServer, mut body: Value) -> Vec<(String, Value)> {
    body["stream"] = json!(true);
    let resp = post(sim, body).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    sse_events(&resp.text().await.unwrap())
}

/// Splits an SSE body into `(event name, data)` pairs; `data: [DONE]` becomes `("[DONE]", null)`.
fn sse_events(text: &str) -> Vec<(String, Value)> {
    assert!(text.ends_with("\n\n"), "body must end with a blank line: {text:?}");
    let event = |e: &str| {
        if e == "data: [DONE]" {
            return ("[DONE]".to_owned(), Value::Null);
        }
        let (name, data) = e.strip_prefix("event: ").unwrap().split_once("\ndata: ").unwrap();
        let data: Value = serde_json::from_str(data).unwrap();
        assert_eq!(data["type"], name);
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
    let body = json!({"model": "command-a,tokens=3,cached=1", "messages": [
        {"role": "system", "content": "01234567"},
        {"role": "user", "content": [{"type": "text", "text": "abcd"}]}]});
    let resp = post(&sim, body.clone()).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/json");
    let v: Value = resp.json().await.unwrap();
    let units = json!({"input_tokens": 3, "output_tokens": 3});
    assert_eq!(
        v,
        json!({"id": "sim0", "finish_reason": "COMPLETE",
            "message": {"role": "assistant", "content": [{"type": "text", "text": "tok0 tok1 tok2 "}]},
            "usage": {"billed_units": units, "tokens": units, "cached_tokens": 1}})
    );
    let rec = sim.wait_outcome(0, Duration::from_secs(1)).await.unwrap();
    assert_eq!(rec.outcome, Outcome::Completed);
    assert_eq!((rec.path.as_str(), &rec.body), ("/v2/chat", &body));
    assert!(rec.headers.iter().any(|(k, v)| k == "authorization" && v == "Bearer co-test"));
}

#[tokio::test]
async fn non_stream_tools_and_reasoning() {
    let sim = start().await;
    let tools = json!([{"type": "function", "function": {"name": "get_weather"}},
        {"type": "function", "function": {"name": "b"}}]);
    let v: Value = post(&sim, json!({"model": "tools=2", "tools": tools})).await.json().await.unwrap();
    assert_eq!(v["finish_reason"], "TOOL_CALL");
    let call = |k: u32, name: &str| {
        json!({"id": format!("call_sim_{k}"), "type": "function",
            "function": {"name": name, "arguments": "{\"city\":\"Paris\",\"days\":3}"}})
    };
    assert_eq!(
        v["message"],
        json!({"role": "assistant", "tool_plan": "I will call get_weather.",
            "tool_calls": [call(0, "get_weather"), call(1, "b")]})
    );
    let v: Value = post(&sim, json!({"model": "tool"})).await.json().await.unwrap();
    assert_eq!(v["message"]["tool_calls"][0]["function"]["name"], "sim_tool");

    let v: Value = post(&sim, json!({"model": "reasoning,tokens=2,finish=length"})).await.json().await.unwrap();
    assert_eq!(
        v["message"]["content"],
        json!([{"type": "thinking", "thinking": "Thinking about the answer."}, {"type": "text", "text": "tok0 tok1 "}])
    );
    assert_eq!(
        (v["finish_reason"].as_str(), v["usage"]["tokens"]["output_tokens"].as_u64()),
        (Some("MAX_TOKENS"), Some(6))
    );
}

#[tokio::test]
async fn stream_text_sequence() {
    let sim = start().await;
    let ev = stream_events(&sim, json!({"model": "tokens=3,prompt_tokens=10"})).await;
    assert_eq!(
        names(&ev),
        [
            "message-start",
            "content-start",
            "content-delta",
            "content-delta",
            "content-delta",
            "content-end",
            "message-end",
            "[DONE]"
        ]
    );
    assert_eq!(
        ev[0].1,
        json!({"type": "message-start", "id": "sim0", "delta": {"message": {"role": "assistant", "content": [],
            "tool_plan": "", "tool_calls": [], "citations": []}}})
    );
    assert_eq!(
        ev[1].1,
        json!({"type": "content-start", "index": 0, "delta": {"message": {"content": {"type": "text", "text": ""}}}})
    );
    assert_eq!(
        ev[2].1,
        json!({"type": "content-delta", "index": 0, "delta": {"message": {"content": {"text": "tok0 "}}}})
    );
    let joined: String =
        ev[2..5].iter().map(|(_, d)| d["delta"]["message"]["content"]["text"].as_str().unwrap()).collect();
    assert_eq!(joined, "tok0 tok1 tok2 ");
    assert_eq!(ev[5].1, json!({"type": "content-end", "index": 0}));
    let units = json!({"input_tokens": 10, "output_tokens": 3});
    assert_eq!(
        ev[6].1,
        json!({"type": "message-end", "delta": {"finish_reason": "COMPLETE",
            "usage": {"billed_units": units, "tokens": units, "cached_tokens": 0}}})
    );
    let rec = sim.wait_outcome(0, Duration::from_secs(1)).await.unwrap();
    assert_eq!(rec.outcome, Outcome::Completed);
}

#[tokio::test]
async fn stream_thinking_then_tool_calls() {
    let sim = start().await;
    let tools = json!([{"type": "function", "function": {"name": "get_weather"}}]);
    let ev = stream_events(&sim, json!({"model": "reasoning,tools=2", "tools": tools})).await;
    let n = names(&ev);
    assert_eq!(n[..3], ["message-start", "content-start", "content-delta"]);
    assert_eq!(ev[1].1["delta"]["message"]["content"], json!({"type": "thinking", "thinking": ""}));
    let thinking: String = ev
        .iter()
        .filter(|(n, _)| n == "content-delta")
        .map(|(_, d)| d["delta"]["message"]["content"]["thinking"].as_str().unwrap())
        .collect();
    assert_eq!(thinking, "Thinking about the answer.");
    let at = |name: &str| n.iter().position(|x| *x == name).unwrap();
    assert_eq!(
        n[at("content-end") + 1..at("content-end") + 4],
        ["tool-plan-delta", "tool-plan-delta", "tool-call-start"]
    );
    let plan: String = ev
        .iter()
        .filter(|(n, _)| n == "tool-plan-delta")
        .map(|(_, d)| d["delta"]["message"]["tool_plan"].as_str().unwrap())
        .collect();
    assert_eq!(plan, "I will call get_weather.");
    let starts: Vec<&Value> = ev.iter().filter(|(n, _)| n == "tool-call-start").map(|(_, d)| d).collect();
    assert_eq!(
        *starts[1],
        json!({"type": "tool-call-start", "index": 1, "delta": {"message": {"tool_calls": {"id": "call_sim_1",
            "type": "function", "function": {"name": "get_weather", "arguments": ""}}}}})
    );
    for k in 0..2 {
        let frags: Vec<&str> = ev
            .iter()
            .filter(|(n, d)| n == "tool-call-delta" && d["index"] == k)
            .map(|(_, d)| d["delta"]["message"]["tool_calls"]["function"]["arguments"].as_str().unwrap())
            .collect();
        assert!(frags.len() >= 3 && frags.iter().all(|f| f.len() <= 5));
        assert_eq!(serde_json::from_str::<Value>(&frags.concat()).unwrap(), json!({"city": "Paris", "days": 3}));
    }
    let ends: Vec<&Value> = ev.iter().filter(|(n, _)| n == "tool-call-end").map(|(_, d)| d).collect();
    assert_eq!(ends, [&json!({"type": "tool-call-end", "index": 0}), &json!({"type": "tool-call-end", "index": 1})]);
    let end = &ev[ev.len() - 2].1;
    assert_eq!((end["delta"]["finish_reason"].as_str(), ev.last().unwrap().0.as_str()), (Some("TOOL_CALL"), "[DONE]"));
}

#[tokio::test]
async fn error_statuses() {
    let sim = start().await;
    let resp = post(&sim, json!({"model": "status=429", "stream": true})).await;
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers()["retry-after"], "1");
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["id"], "sim0");
    assert!(v["message"].as_str().unwrap().contains("Trial key"));
    let resp = post(&sim, json!({"model": "status=429,retry_after=7"})).await;
    assert_eq!(resp.headers()["retry-after"], "7");
    for code in [400, 401, 404, 498, 500, 503] {
        let resp = post(&sim, json!({"model": format!("status={code}")})).await;
        assert_eq!(resp.status(), code);
        let v: Value = resp.json().await.unwrap();
        assert!(v["message"].is_string() && v["id"].is_string());
    }
    let rec = sim.wait_outcome(0, Duration::from_secs(1)).await.unwrap();
    assert_eq!(rec.outcome, Outcome::Completed);
}

#[tokio::test]
async fn in_band_errors() {
    let sim = start().await;
    let ev = stream_events(&sim, json!({"model": "error_after=2"})).await;
    assert_eq!(names(&ev), ["message-start", "content-start", "content-delta", "content-delta", "message-end"]);
    assert_eq!(
        ev[4].1,
        json!({"type": "message-end", "delta": {"error": "simulated in-stream error", "finish_reason": "ERROR"}})
    );
    let ev = stream_events(&sim, json!({"model": "error_event"})).await;
    assert_eq!(names(&ev), ["message-start", "message-end"]);
    assert_eq!(ev[1].1["delta"]["finish_reason"], "ERROR");
    let v: Value = post(&sim, json!({"model": "error_event"})).await.json().await.unwrap();
    assert_eq!((v["finish_reason"].as_str(), v["message"].get("content")), (Some("ERROR"), None));
}

#[tokio::test]
async fn drops_and_disconnects() {
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
    assert_eq!(names(&ev), ["message-start", "content-start", "content-delta", "content-delta"]);

    let resp = post(&sim, json!({"model": "drop_after=1"})).await;
    assert!(resp.bytes().await.is_err());

    let mut resp = post(&sim, json!({"model": "token_ms=50,tokens=100", "stream": true})).await;
    resp.chunk().await.unwrap().unwrap();
    drop(resp);
    let rec = sim.wait_outcome(2, Duration::from_secs(2)).await.unwrap();
    assert_eq!(rec.outcome, Outcome::ClientDisconnected);
}
