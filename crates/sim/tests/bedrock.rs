//! End-to-end tests of the simulator's AWS Bedrock Converse / ConverseStream
//! API over real loopback HTTP, with a small event-stream decoder.

// Helpers outside #[test] fns are not covered by clippy.toml's test allowances.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::time::Duration;

use serde_json::{Value, json};
use switchyard_sim::{Outcome, SimServer};

const AUTH: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250102/us-east-1/bedrock/aws4_request, \
    SignedHeaders=content-type;host;x-amz-date, Signature=0000000000000000000000000000000000000000000000000000000000000000";

async fn start() -> SimServer {
    SimServer::start("127.0.0.1:0".parse().unwrap()).await.unwrap()
}

/// Percent-encodes the characters of model ids / scenario specs that the
/// gateway must escape in the path.
fn encode(model: &str) -> String {
    model.replace(':', "%3A").replace(',', "%2C").replace('=', "%3D").replace('/', "%2F")
}

async fn call(sim: &SimServer, model: &str, op: &str, scenario: Option<&str>, body: Value) -> reqwest::Response {
    let url = format!("http://{}/model/{}/{op}", sim.addr(), encode(model));
    let mut req = reqwest::Client::new()
        .post(url)
        .header("authorization", AUTH)
        .header("x-amz-date", "20250102T030405Z")
        .json(&body);
    if let Some(spec) = scenario {
        req = req.header("x-sim-scenario", spec);
    }
    req.send().await.unwrap()
}

async fn converse(sim: &SimServer, model: &str, body: Value) -> Value {
    let resp = call(sim, model, "converse", None, body).await;
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

/// One decoded event-stream message.
#[derive(Debug)]
struct Message {
    headers: Vec<(String, String)>,
    payload: Value,
}

impl Message {
    fn header(&self, name: &str) -> &str {
        self.headers.iter().find(|(n, _)| n == name).map_or("", |(_, v)| v.as_str())
    }

    /// `:event-type`, or `!` + `:exception-type` for exceptions.
    fn kind(&self) -> String {
        match self.header(":message-type") {
            "event" => self.header(":event-type").to_owned(),
            "exception" => format!("!{}", self.header(":exception-type")),
            other => panic!("unexpected message type {other:?}"),
        }
    }

    /// The payload without the random `"p"` padding.
    fn body(&self) -> Value {
        let mut v = self.payload.clone();
        v.as_object_mut().unwrap().remove("p");
        v
    }
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes(b[..4].try_into().unwrap())
}

/// Decodes a complete body, verifying both CRCs of every message.
fn decode(mut data: &[u8]) -> Vec<Message> {
    let mut out = Vec::new();
    while !data.is_empty() {
        let (total, headers_len) = (be32(data) as usize, be32(&data[4..]) as usize);
        assert!(total <= data.len(), "truncated message");
        let msg = &data[..total];
        assert_eq!(be32(&msg[8..]), crc32fast::hash(&msg[..8]), "prelude crc");
        assert_eq!(be32(&msg[total - 4..]), crc32fast::hash(&msg[..total - 4]), "message crc");
        let (mut h, mut headers) = (&msg[12..12 + headers_len], Vec::new());
        while !h.is_empty() {
            let n = usize::from(h[0]);
            assert_eq!(h[1 + n], 7, "string header");
            let len = usize::from(u16::from_be_bytes([h[2 + n], h[3 + n]]));
            let value = String::from_utf8(h[4 + n..4 + n + len].to_vec()).unwrap();
            headers.push((String::from_utf8(h[1..1 + n].to_vec()).unwrap(), value));
            h = &h[4 + n + len..];
        }
        assert_eq!(headers.iter().find(|(n, _)| n == ":content-type").unwrap().1, "application/json");
        let payload = serde_json::from_slice(&msg[12 + headers_len..total - 4]).unwrap();
        out.push(Message { headers, payload });
        data = &data[total..];
    }
    out
}

async fn stream(sim: &SimServer, model: &str, body: Value) -> Vec<Message> {
    let resp = call(sim, model, "converse-stream", None, body).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/vnd.amazon.eventstream");
    decode(&resp.bytes().await.unwrap())
}

fn kinds(messages: &[Message]) -> Vec<String> {
    messages.iter().map(Message::kind).collect()
}

#[tokio::test]
async fn non_stream_text_and_recording() {
    let sim = start().await;
    let body = json!({"system": [{"text": "01234567"}, {"cachePoint": {"type": "default"}}],
        "messages": [{"role": "user", "content": [{"text": "abcdefgh"}]}],
        "inferenceConfig": {"maxTokens": 64}});
    let resp = call(&sim, "tokens=3,cached=1", "converse", None, body.clone()).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/json");
    assert!(resp.headers().contains_key("x-amzn-requestid"));
    let v: Value = resp.json().await.unwrap();
    assert_eq!(
        v,
        json!({"output": {"message": {"role": "assistant", "content": [{"text": "tok0 tok1 tok2 "}]}},
            "stopReason": "end_turn",
            "usage": {"inputTokens": 3, "outputTokens": 3, "totalTokens": 7, "cacheReadInputTokens": 1,
                "cacheWriteInputTokens": 0},
            "metrics": {"latencyMs": 1}})
    );
    let rec = sim.wait_outcome(0, Duration::from_secs(1)).await.unwrap();
    assert_eq!(rec.outcome, Outcome::Completed);
    assert_eq!((rec.path.as_str(), &rec.body), ("/model/tokens%3D3%2Ccached%3D1/converse", &body));
    let header = |name: &str| rec.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    assert!(header("authorization").unwrap().starts_with("AWS4-HMAC-SHA256 "));
    assert_eq!(header("x-amz-date").as_deref(), Some("20250102T030405Z"));

    // A real model id (with `:`) plus the scenario header.
    let model = "anthropic.claude-3-haiku-20240307-v1:0";
    let resp = call(&sim, model, "converse", Some("tokens=1"), json!({"messages": []})).await;
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["output"]["message"]["content"], json!([{"text": "tok0 "}]));
}

#[tokio::test]
async fn non_stream_tool_and_reasoning() {
    let sim = start().await;
    let tools = json!({"tools": [{"toolSpec": {"name": "get_weather", "inputSchema": {"json": {}}}},
        {"cachePoint": {"type": "default"}}, {"toolSpec": {"name": "b", "inputSchema": {"json": {}}}}]});
    let v = converse(&sim, "tools=2", json!({"toolConfig": tools})).await;
    assert_eq!(v["stopReason"], "tool_use");
    let input = json!({"city": "Paris", "days": 3});
    assert_eq!(
        v["output"]["message"]["content"],
        json!([{"toolUse": {"toolUseId": "tooluse_sim_0", "name": "get_weather", "input": input}},
            {"toolUse": {"toolUseId": "tooluse_sim_1", "name": "b", "input": input}}])
    );
    let v = converse(&sim, "tool", json!({})).await;
    assert_eq!(v["output"]["message"]["content"][0]["toolUse"]["name"], "sim_tool");

    let v = converse(&sim, "reasoning,tokens=2,finish=length", json!({})).await;
    assert_eq!(
        v["output"]["message"]["content"],
        json!([{"reasoningContent": {"reasoningText": {"text": "Thinking about the answer.", "signature": "sig"}}},
            {"text": "tok0 tok1 "}])
    );
    assert_eq!((v["stopReason"].as_str(), v["usage"]["outputTokens"].as_u64()), (Some("max_tokens"), Some(6)));
}

#[tokio::test]
async fn stream_text_event_sequence() {
    let sim = start().await;
    let body = json!({"messages": [{"role": "user", "content": [{"text": "x"}]}]});
    let ev = stream(&sim, "tokens=3,prompt_tokens=10,cached=4", body).await;
    let expected = ["messageStart", "contentBlockDelta", "contentBlockDelta", "contentBlockDelta"];
    let tail = ["contentBlockStop", "messageStop", "metadata"];
    assert_eq!(kinds(&ev), [&expected[..], &tail[..]].concat());
    assert!(ev.iter().all(|m| m.payload["p"].is_string()));
    assert_eq!(ev[0].body(), json!({"role": "assistant"}));
    assert_eq!(ev[1].body(), json!({"contentBlockIndex": 0, "delta": {"text": "tok0 "}}));
    let joined: String = ev[1..4].iter().map(|m| m.payload["delta"]["text"].as_str().unwrap().to_owned()).collect();
    assert_eq!(joined, "tok0 tok1 tok2 ");
    assert_eq!(ev[4].body(), json!({"contentBlockIndex": 0}));
    assert_eq!(ev[5].body(), json!({"stopReason": "end_turn"}));
    assert_eq!(
        ev[6].body(),
        json!({"usage": {"inputTokens": 6, "outputTokens": 3, "totalTokens": 13, "cacheReadInputTokens": 4,
            "cacheWriteInputTokens": 0}, "metrics": {"latencyMs": 1}})
    );
    let rec = sim.wait_outcome(0, Duration::from_secs(1)).await.unwrap();
    assert_eq!(rec.outcome, Outcome::Completed);
}

#[tokio::test]
async fn stream_reasoning_then_tool_fragments() {
    let sim = start().await;
    let tools = json!({"tools": [{"toolSpec": {"name": "get_weather", "inputSchema": {"json": {}}}}]});
    let ev = stream(&sim, "reasoning,tool", json!({"toolConfig": tools})).await;
    let reasoning: String =
        ev.iter().filter_map(|m| m.payload["delta"]["reasoningContent"]["text"].as_str()).map(str::to_owned).collect();
    assert_eq!(reasoning, "Thinking about the answer.");
    let sig_at = ev.iter().position(|m| m.payload["delta"]["reasoningContent"]["signature"] == "sig").unwrap();
    assert_eq!(ev[sig_at].payload["contentBlockIndex"], 0);
    assert_eq!(
        (ev[sig_at + 1].kind(), ev[sig_at + 1].body()),
        ("contentBlockStop".into(), json!({"contentBlockIndex": 0}))
    );
    assert_eq!(
        (ev[sig_at + 2].kind(), ev[sig_at + 2].body()),
        (
            "contentBlockStart".into(),
            json!({"contentBlockIndex": 1, "start": {"toolUse": {"toolUseId": "tooluse_sim_0", "name": "get_weather"}}})
        )
    );
    let frags: Vec<&Message> = ev.iter().filter(|m| m.payload["delta"]["toolUse"].is_object()).collect();
    assert!(frags.len() >= 3);
    assert!(frags.iter().all(|m| m.payload["contentBlockIndex"] == 1 && m.kind() == "contentBlockDelta"));
    let args: String = frags.iter().map(|m| m.payload["delta"]["toolUse"]["input"].as_str().unwrap()).collect();
    assert_eq!(serde_json::from_str::<Value>(&args).unwrap(), json!({"city": "Paris", "days": 3}));
    let n = ev.len();
    assert_eq!(ev[n - 3].body(), json!({"contentBlockIndex": 1}));
    assert_eq!(ev[n - 2].body(), json!({"stopReason": "tool_use"}));
    assert_eq!(ev[n - 1].kind(), "metadata");
}

#[tokio::test]
async fn error_statuses() {
    let sim = start().await;
    for op in ["converse", "converse-stream"] {
        let resp = call(&sim, "status=429", op, None, json!({})).await;
        assert_eq!(resp.status(), 429);
        assert_eq!(resp.headers()["content-type"], "application/json");
        assert_eq!(resp.headers()["retry-after"], "1");
        let kind = resp.headers()["x-amzn-errortype"].to_str().unwrap();
        assert_eq!(kind.split(':').next(), Some("ThrottlingException"));
        let v: Value = resp.json().await.unwrap();
        assert_eq!(v, json!({"message": "Too many requests, please wait before trying again."}));
    }
    let resp = call(&sim, "x", "converse", Some("status=429,retry_after=7"), json!({})).await;
    assert_eq!(resp.headers()["retry-after"], "7");
    let cases = [
        (400, "ValidationException"),
        (403, "AccessDeniedException"),
        (404, "ResourceNotFoundException"),
        (500, "InternalServerException"),
        (503, "ServiceUnavailableException"),
    ];
    for (code, kind) in cases {
        let resp = call(&sim, &format!("status={code}"), "converse", None, json!({})).await;
        assert_eq!(resp.status(), code);
        assert!(resp.headers().get("retry-after").is_none());
        assert!(resp.headers()["x-amzn-errortype"].to_str().unwrap().starts_with(&format!("{kind}:")));
        assert!(resp.json::<Value>().await.unwrap()["message"].is_string());
    }
    let resp = call(&sim, "tokens=1", "invoke-nothing", None, json!({})).await;
    assert_eq!(resp.status(), 404);
    let rec = sim.wait_outcome(0, Duration::from_secs(1)).await.unwrap();
    assert_eq!(rec.outcome, Outcome::Completed);
}

#[tokio::test]
async fn in_stream_errors() {
    let sim = start().await;
    let ev = stream(&sim, "error_after=2", json!({})).await;
    assert_eq!(kinds(&ev), ["messageStart", "contentBlockDelta", "contentBlockDelta", "!modelStreamErrorException"]);
    assert_eq!(ev[3].payload, json!({"message": "simulated in-stream error"}));
    let ev = stream(&sim, "error_event", json!({})).await;
    assert_eq!(kinds(&ev), ["!modelStreamErrorException"]);
    let resp = call(&sim, "error_event", "converse", None, json!({})).await;
    assert_eq!(resp.status(), 424);
    assert!(resp.headers()["x-amzn-errortype"].to_str().unwrap().starts_with("ModelErrorException:"));
}

#[tokio::test]
async fn drop_after_and_disconnect() {
    let sim = start().await;
    let mut resp = call(&sim, "drop_after=2", "converse-stream", None, json!({})).await;
    let mut seen = Vec::new();
    let err = loop {
        match resp.chunk().await {
            Ok(Some(bytes)) => seen.extend_from_slice(&bytes),
            Ok(None) => panic!("body ended cleanly"),
            Err(e) => break e,
        }
    };
    assert!(err.is_body() || err.is_decode(), "{err:?}");
    assert_eq!(kinds(&decode(&seen)), ["messageStart", "contentBlockDelta", "contentBlockDelta"]);

    let mut resp = call(&sim, "token_ms=50,tokens=100", "converse-stream", None, json!({})).await;
    resp.chunk().await.unwrap().unwrap();
    resp.chunk().await.unwrap().unwrap();
    drop(resp);
    let rec = sim.wait_outcome(1, Duration::from_secs(2)).await.unwrap();
    assert_eq!(rec.outcome, Outcome::ClientDisconnected);

    // `hang` holds the request open until the client gives up.
    let client = reqwest::Client::builder().timeout(Duration::from_millis(100)).build().unwrap();
    let url = format!("http://{}/model/hang/converse", sim.addr());
    assert!(client.post(url).json(&json!({})).send().await.unwrap_err().is_timeout());
    let rec = sim.wait_outcome(2, Duration::from_secs(2)).await.unwrap();
    assert_eq!(rec.outcome, Outcome::ClientDisconnected);
}
