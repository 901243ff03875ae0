//! Gemini and Cohere upstreams, each in its own protocol, behind the same
//! OpenAI-shaped API.

use serde_json::{Value, json};

use crate::common::{Env, body, chunks, sse_events, stream_body};

/// (model prefix, provider display name, expected upstream path start, auth header, secret)
const PROTOCOLS: &[(&str, &str, &str, &str, &str)] = &[
    ("gem", "Gemini Sim", "/v1beta/models/", "x-goog-api-key", "gm-secret"),
    ("coh", "Cohere Sim", "/v2/chat", "authorization", "Bearer co-secret"),
    ("bed", "Bedrock Sim", "/model/", "authorization", "AWS4-HMAC-SHA256 Credential=AKIDSWITCHYARDTEST/"),
];

#[tokio::test]
async fn azure_v1_uses_api_key_auth_and_openai_wire_format() {
    let env = Env::start().await;
    let v: Value = env.chat(body("az/text")).await.json().await.unwrap();
    assert_eq!(v["provider"], "Azure Sim");
    assert_eq!(v["choices"][0]["message"]["content"], "tok0 tok1 tok2 tok3 tok4 ");
    let reqs = env.sim.requests();
    let rec = reqs.last().unwrap();
    assert_eq!(rec.path, "/v1/chat/completions");
    let header = |n: &str| rec.headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    assert_eq!(header("api-key").as_deref(), Some("az-secret"));
    assert_eq!(header("authorization"), None);
    let text = env.chat(stream_body("az/text")).await.text().await.unwrap();
    assert_eq!(sse_events(&text).0.last().unwrap(), "[DONE]");
}

#[tokio::test]
async fn native_protocols_answer_stream_and_report_cost() {
    let env = Env::start().await;
    for (prefix, name, path, auth, secret) in PROTOCOLS {
        let model = format!("{prefix}/text");
        let r = env.chat(body(&model)).await;
        assert_eq!(r.status(), 200, "{model}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["provider"], *name);
        assert_eq!(v["model"], model.as_str());
        assert_eq!(v["choices"][0]["message"]["content"], "tok0 tok1 tok2 tok3 tok4 ", "{model}");
        assert_eq!(v["choices"][0]["finish_reason"], "stop", "{model}");
        assert_eq!(v["usage"]["prompt_tokens"], 10, "{model}");
        assert_eq!(v["usage"]["completion_tokens"], 5, "{model}");
        assert_eq!(v["usage"]["cost"].as_f64().unwrap(), 0.00002, "{model}");
        let reqs = env.sim.requests();
        let rec = reqs.last().unwrap();
        assert!(rec.path.starts_with(path), "{model}: {}", rec.path);
        let got = rec.headers.iter().find(|(k, _)| k == auth).map(|(_, v)| v.as_str()).unwrap_or("");
        assert!(got.starts_with(secret), "{model}: {got}");
        assert!(!rec.headers.iter().any(|(_, v)| v.contains(&env.key)));

        let text = env.chat(stream_body(&model)).await.text().await.unwrap();
        let (events, _) = sse_events(&text);
        assert_eq!(events.last().unwrap(), "[DONE]", "{model}");
        let cs = chunks(&events);
        let content: String = cs
            .iter()
            .filter_map(|c| c["choices"].get(0).and_then(|ch| ch["delta"]["content"].as_str()).map(str::to_owned))
            .collect();
        assert_eq!(content, "tok0 tok1 tok2 tok3 tok4 ", "{model}");
        assert_eq!(cs.iter().filter(|c| c.get("usage").is_some()).count(), 1, "{model}");
        assert_eq!(cs.last().unwrap()["usage"]["completion_tokens"], 5, "{model}");
    }
}

#[tokio::test]
async fn native_protocols_translate_tool_calls_both_ways() {
    let env = Env::start().await;
    for (prefix, ..) in PROTOCOLS {
        let model = format!("{prefix}/tools");
        let mut b = body(&model);
        b["tools"] = json!([{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}},
                            {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object"}}}]);
        b["messages"] = json!([
            {"role": "user", "content": "Weather?"},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_prev", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Rome\"}"}}]},
            {"role": "tool", "tool_call_id": "call_prev", "content": "{\"temp_c\":20}"}
        ]);
        let v: Value = env.chat(b.clone()).await.json().await.unwrap();
        assert_eq!(v["choices"][0]["finish_reason"], "tool_calls", "{model}: {v}");
        let calls = v["choices"][0]["message"]["tool_calls"].as_array().unwrap();
        assert_eq!(calls.len(), 2, "{model}");
        assert_eq!(calls[0]["function"]["name"], "get_weather");
        let args: Value = serde_json::from_str(calls[0]["function"]["arguments"].as_str().unwrap()).unwrap();
        assert_eq!(args["city"], "Paris");
        let reqs = env.sim.requests();
        let sent = serde_json::to_string(&reqs.last().unwrap().body).unwrap();
        assert!(sent.contains("get_weather") && sent.contains("Rome") && sent.contains("temp_c"), "{model}: {sent}");

        b["stream"] = json!(true);
        let text = env.chat(b).await.text().await.unwrap();
        let cs = chunks(&sse_events(&text).0);
        let mut args = [String::new(), String::new()];
        for c in &cs {
            for call in c["choices"].get(0).and_then(|ch| ch["delta"]["tool_calls"].as_array()).into_iter().flatten() {
                let i = call["index"].as_u64().unwrap() as usize;
                args[i].push_str(call["function"]["arguments"].as_str().unwrap_or(""));
            }
        }
        for a in &args {
            assert_eq!(serde_json::from_str::<Value>(a).unwrap()["city"], "Paris", "{model}");
        }
        let finish = cs.iter().filter_map(|c| c["choices"].get(0)).find(|ch| !ch["finish_reason"].is_null()).unwrap();
        assert_eq!(finish["finish_reason"], "tool_calls", "{model}");
    }
}

#[tokio::test]
async fn native_protocol_rate_limits_map_to_429() {
    let env = Env::start().await;
    for (prefix, name, ..) in PROTOCOLS {
        let r = env.chat(body(&format!("{prefix}/e429"))).await;
        assert_eq!(r.status(), 429, "{prefix}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["metadata"]["error_type"], "rate_limit_exceeded");
        assert_eq!(v["error"]["metadata"]["provider_name"], *name);
    }
}

#[tokio::test]
async fn media_urls_for_gemini_are_fetched_behind_the_private_address_guard() {
    let env = Env::start().await;
    for model in ["gem/text", "bed/text"] {
        let mut b = body(model);
        b["messages"] = json!([{"role": "user", "content": [
            {"type": "text", "text": "What is this?"},
            {"type": "image_url", "image_url": {"url": "http://169.254.169.254/latest/meta-data/cat.png"}}
        ]}]);
        let before = env.sim.requests().len();
        let r = env.chat(b).await;
        assert_eq!(r.status(), 400, "{model}");
        let v: Value = r.json().await.unwrap();
        let msg = v["error"]["message"].as_str().unwrap();
        assert!(msg.contains("private address") && msg.contains("169.254.169.254"), "{model}: {msg}");
        assert_eq!(env.sim.requests().len(), before, "{model}: nothing reached the upstream");
    }
}

/// `reasoning.exclude`: the model still reasons (and is paid for it), but
/// no protocol's reasoning text reaches the client, whole or streamed.
#[tokio::test]
async fn excluded_reasoning_is_not_returned_by_any_protocol() {
    let mut extra = String::new();
    for provider in ["sim", "coh", "bed", "gem"] {
        extra.push_str(&format!(
            "[[models]]\nid = \"rx/{provider}\"\n[[models.endpoints]]\nprovider = \"{provider}\"\nmodel = \"reasoning\"\n\
             prompt = \"0.000001\"\ncompletion = \"0.000002\"\n"
        ));
    }
    let env = Env::start_with(&extra).await;
    for provider in ["sim", "coh", "bed", "gem"] {
        let model = format!("rx/{provider}");
        let mut b = body(&model);
        let v: Value = env.chat(b.clone()).await.json().await.unwrap();
        assert!(v["choices"][0]["message"]["reasoning"].is_string(), "{model} reasons by default: {v}");

        b["reasoning"] = json!({"exclude": true});
        let v: Value = env.chat(b.clone()).await.json().await.unwrap();
        let msg = &v["choices"][0]["message"];
        assert!(msg.get("reasoning").is_none_or(Value::is_null), "{model}: {msg}");
        assert!(msg.get("reasoning_details").is_none_or(Value::is_null), "{model}: {msg}");
        assert!(msg["content"].as_str().is_some_and(|c| !c.is_empty()), "{model}: {msg}");

        b["stream"] = json!(true);
        let text = env.chat(b).await.text().await.unwrap();
        let cs = chunks(&sse_events(&text).0);
        assert!(cs.iter().any(|c| c["choices"][0]["delta"]["content"].is_string()), "{model}");
        for c in &cs {
            let d = &c["choices"][0]["delta"];
            assert!(d.get("reasoning").is_none_or(Value::is_null), "{model}: {c}");
            assert!(d.get("reasoning_details").is_none_or(Value::is_null), "{model}: {c}");
        }
    }
}
