//! Streaming chat completions over SSE.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{Value, json};
use switchyard_sim::Outcome;

use crate::common::{Env, chunks, sse_events, stream_body};

#[tokio::test]
async fn stream_has_ordered_chunks_one_usage_chunk_and_done() {
    let env = Env::start().await;
    let r = env.chat(stream_body("sim/text")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/event-stream");
    let id = r.headers()["x-generation-id"].to_str().unwrap().to_owned();
    let text = r.text().await.unwrap();
    let (events, _) = sse_events(&text);
    assert_eq!(events.last().unwrap(), "[DONE]");
    let cs = chunks(&events);
    assert!(cs.iter().all(|c| c["id"] == id.as_str() && c["model"] == "sim/text" && c["provider"] == "Simulator"));
    assert!(cs.iter().all(|c| c["object"] == "chat.completion.chunk"));
    assert_eq!(cs[0]["choices"][0]["delta"]["role"], "assistant");
    let content: String = cs
        .iter()
        .filter_map(|c| c["choices"].get(0).and_then(|ch| ch["delta"]["content"].as_str()).map(str::to_owned))
        .collect();
    assert_eq!(content, "tok0 tok1 tok2 tok3 tok4 ");
    let with_usage: Vec<&Value> = cs.iter().filter(|c| c.get("usage").is_some()).collect();
    assert_eq!(with_usage.len(), 1, "usage exactly once");
    let last = cs.last().unwrap();
    assert_eq!(last["choices"], json!([]));
    assert_eq!(last["usage"]["completion_tokens"], 5);
    assert_eq!(last["usage"]["cost"].as_f64().unwrap(), 0.00002);
    let finish = &cs[cs.len() - 2]["choices"][0];
    assert_eq!(finish["finish_reason"], "stop");
    assert_eq!(finish["native_finish_reason"], "stop");
    // The gateway asks the upstream for usage even though the client did not.
    assert_eq!(env.sim.requests().last().unwrap().body["stream_options"]["include_usage"], true);
    let g = env.generation_json(&id).await;
    assert_eq!(g["streamed"], true);
    assert_eq!(g["tokens_completion"], 5);
}

#[tokio::test]
async fn tool_call_argument_deltas_pass_through_intact() {
    let env = Env::start().await;
    let mut b = stream_body("sim/tools2");
    b["tools"] = json!([{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}},
                        {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object"}}}]);
    let text = env.chat(b).await.text().await.unwrap();
    let cs = chunks(&sse_events(&text).0);
    let mut args = [String::new(), String::new()];
    let mut names = [String::new(), String::new()];
    let mut fragments = 0;
    for c in &cs {
        if let Some(calls) = c["choices"].get(0).and_then(|ch| ch["delta"]["tool_calls"].as_array()) {
            for call in calls {
                let i = call["index"].as_u64().unwrap() as usize;
                if let Some(n) = call["function"]["name"].as_str() {
                    names[i] = n.to_owned();
                }
                args[i].push_str(call["function"]["arguments"].as_str().unwrap_or(""));
                fragments += 1;
            }
        }
    }
    assert!(fragments > 4, "arguments arrive in fragments");
    assert_eq!(names, ["get_weather".to_owned(), "get_time".to_owned()]);
    for a in &args {
        assert_eq!(serde_json::from_str::<Value>(a).unwrap()["city"], "Paris");
    }
    let finish: Vec<&Value> =
        cs.iter().filter_map(|c| c["choices"].get(0)).filter(|ch| !ch["finish_reason"].is_null()).collect();
    assert_eq!(finish[0]["finish_reason"], "tool_calls");
}

#[tokio::test]
async fn client_disconnect_cancels_the_upstream_and_records_tokens_so_far() {
    let env = Env::start().await;
    let r = env.chat(stream_body("sim/long")).await;
    let id = r.headers()["x-generation-id"].to_str().unwrap().to_owned();
    let mut body = r.bytes_stream();
    let mut seen = String::new();
    while seen.matches("tok").count() < 3 {
        seen.push_str(&String::from_utf8_lossy(&body.next().await.unwrap().unwrap()));
    }
    drop(body);
    let seq = env.sim.requests().last().unwrap().seq;
    let rec = env.sim.wait_outcome(seq, Duration::from_secs(3)).await.unwrap();
    assert_eq!(rec.outcome, Outcome::ClientDisconnected, "upstream saw the connection close");
    let g = env.generation_json(&id).await;
    assert_eq!(g["cancelled"], true);
    let n = g["tokens_completion"].as_i64().unwrap();
    assert!((3..200).contains(&n), "tokens so far: {n}");
    assert!(g["total_cost"].as_f64().unwrap() > 0.0, "generated tokens are charged");
}

#[tokio::test]
async fn keepalive_comments_while_waiting_for_the_first_byte() {
    let env = Env::start().await;
    let r = env.chat(stream_body("sim/slow-first")).await;
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    assert!(text.starts_with(": SWITCHYARD PROCESSING\n\n"), "{text}");
    let (events, comments) = sse_events(&text);
    assert!(comments >= 1);
    assert_eq!(events.last().unwrap(), "[DONE]");
}

#[tokio::test]
async fn error_inside_a_200_stream_before_content_is_a_proper_error() {
    let env = Env::start().await;
    let r = env.chat(stream_body("sim/error-event")).await;
    assert_eq!(r.status(), 502);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], 502);
    assert_eq!(v["error"]["metadata"]["provider_name"], "Simulator");
    assert_eq!(v["error"]["metadata"]["raw"]["error"]["message"], "simulated in-stream error");
}

#[tokio::test]
async fn failure_after_content_ends_with_an_error_chunk() {
    let env = Env::start().await;
    for model in ["sim/error-after", "sim/drop-after"] {
        let r = env.chat(stream_body(model)).await;
        assert_eq!(r.status(), 200);
        let id = r.headers()["x-generation-id"].to_str().unwrap().to_owned();
        let text = r.text().await.unwrap();
        let (events, _) = sse_events(&text);
        assert_eq!(events.last().unwrap(), "[DONE]", "{model}: stream ends cleanly");
        let cs = chunks(&events);
        let err = cs.iter().find(|c| c.get("error").is_some()).unwrap_or_else(|| panic!("{model}: {text}"));
        assert_eq!(err["choices"][0]["finish_reason"], "error");
        assert!(err["error"]["code"].as_u64().unwrap() >= 500);
        assert_eq!(cs.iter().filter(|c| c.get("usage").is_some()).count(), 1);
        let g = env.generation_json(&id).await;
        assert_eq!(g["finish_reason"], "error");
        assert_eq!(g["total_cost"].as_f64().unwrap(), 0.0, "{model}: failed generations are not charged");
    }
}

#[tokio::test]
async fn upstream_hang_times_out_with_an_error_not_a_hang() {
    let env = Env::start().await;
    let r = env.chat(stream_body("sim/hang")).await;
    // Keep-alives commit the stream first; the timeout then arrives in-band.
    let text = r.text().await.unwrap();
    let cs = chunks(&sse_events(&text).0);
    let err = cs.iter().find(|c| c.get("error").is_some()).unwrap();
    assert_eq!(err["error"]["code"], 504);
    let r = env.chat(crate::common::body("sim/hang")).await;
    assert_eq!(r.status(), 504);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["metadata"]["error_type"], "timeout");
}
