//! End-to-end tests of the simulator's Google Gemini API over real loopback HTTP.

// Helpers outside #[test] fns are not covered by clippy.toml's test allowances.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::time::Duration;

use serde_json::{Value, json};
use switchyard_sim::{Outcome, SimServer};

async fn start() -> SimServer {
    SimServer::start("127.0.0.1:0".parse().unwrap()).await.unwrap()
}

/// POSTs `body` to `path` (which includes any query string).
async fn post_path(sim: &SimServer, path: &str, body: Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("http://{}{path}", sim.addr()))
        .header("x-goog-api-key", "AIza-test")
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn generate(sim: &SimServer, model: &str, body: Value) -> Value {
    let resp = post_path(sim, &format!("/v1beta/models/{model}:generateContent"), body).await;
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

async fn stream(sim: &SimServer, model: &str, body: Value) -> reqwest::Response {
    post_path(sim, &format!("/v1beta/models/{model}:streamGenerateContent?alt=sse"), body).await
}

/// Splits an SSE body into its `data:` payloads, parsed.
fn sse_data(text: &str) -> Vec<Value> {
    assert!(text.ends_with("\n\n"), "body must end with a blank line: {text:?}");
    let parse = |e: &str| serde_json::from_str(e.strip_prefix("data: ").unwrap()).unwrap();
    text.split("\n\n").filter(|e| !e.is_empty()).map(parse).collect()
}

fn parts(chunk: &Value) -> &Value {
    &chunk["candidates"][0]["content"]["parts"]
}

#[tokio::test]
async fn non_stream_text_and_recording() {
    let sim = start().await;
    let body = json!({"systemInstruction": {"parts": [{"text": "01234567"}]},
        "contents": [{"role": "user", "parts": [{"text": "abcd"}, {"inlineData": {"mimeType": "image/png"}}]}]});
    let v = generate(&sim, "tokens=3,cached=1", body.clone()).await;
    assert_eq!(
        v,
        json!({"candidates": [{"content": {"role": "model", "parts": [{"text": "tok0 tok1 tok2 "}]},
                "finishReason": "STOP", "index": 0}],
            "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 3, "totalTokenCount": 6,
                "cachedContentTokenCount": 1},
            "modelVersion": "tokens=3,cached=1", "responseId": "sim0"})
    );
    let rec = sim.wait_outcome(0, Duration::from_secs(1)).await.unwrap();
    assert_eq!(rec.outcome, Outcome::Completed);
    assert_eq!((rec.path.as_str(), &rec.body), ("/v1beta/models/tokens=3,cached=1:generateContent", &body));
    assert!(rec.headers.iter().any(|(k, v)| k == "x-goog-api-key" && v == "AIza-test"));

    // Percent-encoded spec (with a provider prefix) on the v1 path.
    let resp = post_path(&sim, "/v1/models/sim%2Ftokens%3D1%2Cfinish%3Dlength%3AgenerateContent", json!({})).await;
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["modelVersion"], "sim/tokens=1,finish=length");
    assert_eq!(parts(&v), &json!([{"text": "tok0 "}]));
    assert_eq!(v["candidates"][0]["finishReason"], "MAX_TOKENS");
    // The header wins over the path; Vertex paths work too.
    let url = format!(
        "http://{}/v1/projects/p/locations/us/publishers/google/models/gemini-2.5-flash:generateContent",
        sim.addr()
    );
    let resp = reqwest::Client::new().post(url).header("x-sim-scenario", "tokens=2").json(&json!({})).send().await;
    let v: Value = resp.unwrap().json().await.unwrap();
    assert_eq!(
        (v["modelVersion"].as_str(), parts(&v)[0]["text"].as_str()),
        (Some("gemini-2.5-flash"), Some("tok0 tok1 "))
    );
}

#[tokio::test]
async fn non_stream_tools_and_reasoning() {
    let sim = start().await;
    let tools = json!([{"functionDeclarations": [{"name": "get_weather"}, {"name": "b"}]}, {"googleSearch": {}}]);
    let v = generate(&sim, "tools=2", json!({"tools": tools})).await;
    let call = |name: &str| json!({"functionCall": {"name": name, "args": {"city": "Paris", "days": 3}}});
    assert_eq!(parts(&v), &json!([call("get_weather"), call("b")]));
    assert_eq!(v["candidates"][0]["finishReason"], "STOP");
    let v = generate(&sim, "tool", json!({})).await;
    assert_eq!(parts(&v), &json!([call("sim_tool")]));

    let v = generate(&sim, "reasoning,tokens=2", json!({"contents": [{"parts": [{"text": "12345678"}]}]})).await;
    assert_eq!(
        parts(&v),
        &json!([{"text": "Thinking about the answer.", "thought": true},
            {"text": "tok0 tok1 ", "thoughtSignature": "c2ltX3NpZ25hdHVyZQ=="}])
    );
    assert_eq!(
        v["usageMetadata"],
        json!({"promptTokenCount": 2, "candidatesTokenCount": 2, "totalTokenCount": 8, "thoughtsTokenCount": 4})
    );
    let v = generate(&sim, "json,tokens=4", json!({})).await;
    let text: Value = serde_json::from_str(parts(&v)[0]["text"].as_str().unwrap()).unwrap();
    assert_eq!(text, json!({"answer": "sim", "tokens": 4}));
}

#[tokio::test]
async fn stream_text_sequence() {
    let sim = start().await;
    let resp = stream(&sim, "tokens=3,prompt_tokens=10", json!({})).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let text = resp.text().await.unwrap();
    assert!(!text.contains("[DONE]") && !text.contains("event:"));
    let c = sse_data(&text);
    assert_eq!(c.len(), 4);
    for (i, chunk) in c[..3].iter().enumerate() {
        assert_eq!(parts(chunk), &json!([{"text": format!("tok{i} ")}]));
        assert!(chunk["candidates"][0].get("finishReason").is_none());
        assert_eq!(chunk["usageMetadata"]["candidatesTokenCount"], i + 1);
        assert_eq!(
            (chunk["responseId"].as_str(), chunk["modelVersion"].as_str()),
            (Some("sim0"), Some("tokens=3,prompt_tokens=10"))
        );
    }
    assert_eq!(
        c[3]["candidates"][0],
        json!({"content": {"role": "model", "parts": [{"text": ""}]}, "finishReason": "STOP", "index": 0})
    );
    assert_eq!(
        c[3]["usageMetadata"],
        json!({"promptTokenCount": 10, "candidatesTokenCount": 3, "totalTokenCount": 13})
    );
    let rec = sim.wait_outcome(0, Duration::from_secs(1)).await.unwrap();
    assert_eq!(rec.outcome, Outcome::Completed);

    // Without alt=sse: one JSON array of the same chunks.
    let path = "/v1beta/models/tokens=2:streamGenerateContent";
    let resp = post_path(&sim, path, json!({})).await;
    assert_eq!(resp.headers()["content-type"], "application/json");
    let v: Value = resp.json().await.unwrap();
    let arr = v.as_array().unwrap();
    assert_eq!(arr.len(), 3);
    assert_eq!(arr[2]["candidates"][0]["finishReason"], "STOP");
}

#[tokio::test]
async fn stream_thoughts_then_whole_calls() {
    let sim = start().await;
    let tools = json!([{"function_declarations": [{"name": "get_weather"}]}]);
    let c = sse_data(&stream(&sim, "reasoning,tools=2", json!({"tools": tools})).await.text().await.unwrap());
    assert_eq!(c.len(), 4 + 2 + 1);
    let thoughts: String = c[..4]
        .iter()
        .map(|ch| {
            assert_eq!(parts(ch)[0]["thought"], true);
            parts(ch)[0]["text"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(thoughts, "Thinking about the answer.");
    assert_eq!(c[0]["usageMetadata"]["thoughtsTokenCount"], 1);
    assert!(c[0]["usageMetadata"].get("candidatesTokenCount").is_none());
    let args = json!({"city": "Paris", "days": 3});
    assert_eq!(
        parts(&c[4]),
        &json!([{"functionCall": {"name": "get_weather", "args": args}, "thoughtSignature": "c2ltX3NpZ25hdHVyZQ=="}])
    );
    assert_eq!(parts(&c[5]), &json!([{"functionCall": {"name": "get_weather", "args": args}}]));
    assert_eq!(c[6]["candidates"][0]["finishReason"], "STOP");
    let u = &c[6]["usageMetadata"];
    assert_eq!((u["thoughtsTokenCount"].as_u64(), u["totalTokenCount"].as_u64()), (Some(4), Some(1 + 4 + 12)));
}

#[tokio::test]
async fn error_statuses() {
    let sim = start().await;
    let resp = stream(&sim, "status=429", json!({})).await;
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers()["retry-after"], "1");
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["code"], 429);
    assert_eq!(v["error"]["status"], "RESOURCE_EXHAUSTED");
    assert_eq!(
        v["error"]["details"][0],
        json!({"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1s"})
    );
    let resp = post_path(&sim, "/v1beta/models/status=429,retry_after=7:generateContent", json!({})).await;
    assert_eq!(resp.headers()["retry-after"], "7");
    for (code, status) in [
        (400, "INVALID_ARGUMENT"),
        (401, "UNAUTHENTICATED"),
        (403, "PERMISSION_DENIED"),
        (404, "NOT_FOUND"),
        (500, "INTERNAL"),
        (503, "UNAVAILABLE"),
    ] {
        let resp = post_path(&sim, &format!("/v1beta/models/status={code}:generateContent"), json!({})).await;
        assert_eq!(resp.status(), code);
        assert!(resp.headers().get("retry-after").is_none());
        let v: Value = resp.json().await.unwrap();
        assert_eq!((v["error"]["code"].as_u64(), v["error"]["status"].as_str()), (Some(u64::from(code)), Some(status)));
        assert!(v["error"].get("details").is_none());
    }
    let resp = post_path(&sim, "/v1beta/models/gemini:countTokens", json!({})).await;
    assert_eq!(resp.status(), 404);
    let rec = sim.wait_outcome(0, Duration::from_secs(1)).await.unwrap();
    assert_eq!(rec.outcome, Outcome::Completed);
}

#[tokio::test]
async fn in_band_errors() {
    let sim = start().await;
    let c = sse_data(&stream(&sim, "error_after=2", json!({})).await.text().await.unwrap());
    assert_eq!(c.len(), 3);
    assert_eq!(parts(&c[1]), &json!([{"text": "tok1 "}]));
    assert_eq!((c[2]["error"]["code"].as_u64(), c[2]["error"]["status"].as_str()), (Some(503), Some("UNAVAILABLE")));
    let c = sse_data(&stream(&sim, "error_event", json!({})).await.text().await.unwrap());
    assert_eq!(c.len(), 1);
    assert_eq!(c[0]["error"]["status"], "UNAVAILABLE");
    let v = generate(&sim, "error_event", json!({})).await;
    assert_eq!(v["error"]["code"], 503);
    let rec = sim.wait_outcome(0, Duration::from_secs(1)).await.unwrap();
    assert_eq!(rec.outcome, Outcome::Completed);
}

#[tokio::test]
async fn drops_and_disconnects() {
    let sim = start().await;
    let mut resp = stream(&sim, "drop_after=2", json!({})).await;
    let mut seen = Vec::new();
    let err = loop {
        match resp.chunk().await {
            Ok(Some(bytes)) => seen.extend_from_slice(&bytes),
            Ok(None) => panic!("body ended cleanly"),
            Err(e) => break e,
        }
    };
    assert!(err.is_body() || err.is_decode(), "{err:?}");
    assert_eq!(sse_data(&String::from_utf8(seen).unwrap()).len(), 2);

    let mut resp = stream(&sim, "token_ms=50,tokens=100", json!({})).await;
    resp.chunk().await.unwrap().unwrap();
    drop(resp);
    let rec = sim.wait_outcome(1, Duration::from_secs(2)).await.unwrap();
    assert_eq!(rec.outcome, Outcome::ClientDisconnected);

    let client = reqwest::Client::builder().timeout(Duration::from_millis(200)).build().unwrap();
    let url = format!("http://{}/v1beta/models/hang:generateContent", sim.addr());
    assert!(client.post(url).json(&json!({})).send().await.unwrap_err().is_timeout());
    let rec = sim.wait_outcome(2, Duration::from_secs(2)).await.unwrap();
    assert_eq!(rec.outcome, Outcome::ClientDisconnected);
}
