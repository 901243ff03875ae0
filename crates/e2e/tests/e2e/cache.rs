//! Response caching (reference §7.7) on one instance (the in-process
//! store): an identical request is answered from the cache with a new
//! generation id, zero usage and cost, and no upstream call.

use std::time::Duration;

use serde_json::{Value, json};

use crate::common::{Env, body, chunks, sse_events, stream_body};

/// Chat requests the simulator received.
fn upstream_calls(env: &Env) -> usize {
    env.sim.requests_where(|r| r.path.contains("/chat/completions")).len()
}

async fn cached_chat(env: &Env, key: &str, body: &Value, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut req = env.http.post(env.url("/chat/completions")).bearer_auth(key).json(body);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.unwrap()
}

fn header(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers().get(name).map(|v| v.to_str().unwrap().to_owned())
}

#[tokio::test]
async fn a_repeated_request_is_answered_from_the_cache_for_free() {
    let env = Env::start().await;
    let opt_in = [("X-OpenRouter-Cache", "true")];
    let first = cached_chat(&env, &env.key, &body("sim/text"), &opt_in).await;
    assert_eq!(first.status(), 200);
    assert_eq!(header(&first, "x-openrouter-cache-status").as_deref(), Some("MISS"));
    assert_eq!(header(&first, "x-openrouter-cache-ttl").as_deref(), Some("300"), "the default TTL");
    let first: Value = first.json().await.unwrap();
    assert!(first["usage"]["cost"].as_f64().unwrap() > 0.0);
    // The answer is stored in the background.
    tokio::time::sleep(Duration::from_millis(100)).await;

    let hit = cached_chat(&env, &env.key, &body("sim/text"), &opt_in).await;
    assert_eq!(hit.status(), 200);
    assert_eq!(header(&hit, "x-openrouter-cache-status").as_deref(), Some("HIT"));
    assert_eq!(header(&hit, "x-openrouter-cache-ttl").as_deref(), Some("300"));
    assert_eq!(header(&hit, "x-openrouter-cache-age").as_deref(), Some("0"));
    let source = first["id"].as_str().unwrap();
    assert_eq!(header(&hit, "x-openrouter-cache-source-id").as_deref(), Some(source));
    let hit_id = header(&hit, "x-generation-id").unwrap();
    let hit: Value = hit.json().await.unwrap();
    assert_eq!(upstream_calls(&env), 1, "the hit called no upstream");
    assert_ne!(hit["id"], first["id"], "a new generation id");
    assert_eq!(hit["id"], hit_id.as_str());
    assert_eq!(hit["choices"][0]["message"]["content"], first["choices"][0]["message"]["content"]);
    assert_eq!(hit["choices"][0]["finish_reason"], first["choices"][0]["finish_reason"]);
    let usage = &hit["usage"];
    assert_eq!((usage["prompt_tokens"].as_u64(), usage["completion_tokens"].as_u64()), (Some(0), Some(0)));
    assert_eq!((usage["total_tokens"].as_u64(), usage["cost"].as_f64()), (Some(0), Some(0.0)));

    let g = env.generation_json(&hit_id).await;
    assert_eq!(g["response_cache_source_id"], source);
    assert_eq!(g["total_cost"].as_f64(), Some(0.0), "nothing charged");
    assert_eq!(g["tokens_completion"].as_i64(), Some(0));
    let original = env.generation_json(source).await;
    assert!(original["response_cache_source_id"].is_null());
    assert!(original["total_cost"].as_f64().unwrap() > 0.0);

    // Without the header (and no key setting) the cache is not used.
    let plain = env.chat(body("sim/text")).await;
    assert!(header(&plain, "x-openrouter-cache-status").is_none());
    assert_eq!(upstream_calls(&env), 2);
    // A different request is a different entry.
    let other = json!({"model": "sim/text", "messages": [{"role": "user", "content": "Something else."}]});
    let r = cached_chat(&env, &env.key, &other, &opt_in).await;
    assert_eq!(header(&r, "x-openrouter-cache-status").as_deref(), Some("MISS"));
    assert_eq!(upstream_calls(&env), 3);
}

#[tokio::test]
async fn a_stream_request_replays_a_cached_answer() {
    let env = Env::start().await;
    let opt_in = [("X-OpenRouter-Cache", "true")];
    let whole: Value = cached_chat(&env, &env.key, &body("sim/text"), &opt_in).await.json().await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let r = cached_chat(&env, &env.key, &stream_body("sim/text"), &opt_in).await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "x-openrouter-cache-status").as_deref(), Some("HIT"));
    assert!(header(&r, "content-type").unwrap().starts_with("text/event-stream"));
    let (events, _) = sse_events(&r.text().await.unwrap());
    assert_eq!(events.last().map(String::as_str), Some("[DONE]"));
    let chunks = chunks(&events);
    let text: String =
        chunks.iter().filter_map(|c| c["choices"][0]["delta"]["content"].as_str()).collect::<Vec<_>>().concat();
    assert_eq!(text, whole["choices"][0]["message"]["content"].as_str().unwrap());
    let last = chunks.last().unwrap();
    assert_eq!(last["usage"]["cost"].as_f64(), Some(0.0));
    assert_eq!(last["usage"]["completion_tokens"].as_u64(), Some(0));
    assert_ne!(last["id"], whole["id"]);
    assert_eq!(upstream_calls(&env), 1);
}

#[tokio::test]
async fn a_streamed_answer_is_stored_whole() {
    let env = Env::start().await;
    let opt_in = [("X-OpenRouter-Cache", "true")];
    for model in ["sim/text", "sim/tool"] {
        let r = cached_chat(&env, &env.key, &stream_body(model), &opt_in).await;
        assert_eq!(header(&r, "x-openrouter-cache-status").as_deref(), Some("MISS"));
        let (events, _) = sse_events(&r.text().await.unwrap());
        let streamed = chunks(&events);
        let text: String =
            streamed.iter().filter_map(|c| c["choices"][0]["delta"]["content"].as_str()).collect::<Vec<_>>().concat();
        tokio::time::sleep(Duration::from_millis(100)).await;
        // The same request, not streamed: answered from the streamed answer.
        let r = cached_chat(&env, &env.key, &body(model), &opt_in).await;
        assert_eq!(header(&r, "x-openrouter-cache-status").as_deref(), Some("HIT"), "{model}");
        let whole: Value = r.json().await.unwrap();
        let message = &whole["choices"][0]["message"];
        assert_eq!(message["content"].as_str().unwrap_or(""), text, "{model}");
        assert_eq!(whole["usage"]["cost"].as_f64(), Some(0.0));
        if model == "sim/tool" {
            assert_eq!(whole["choices"][0]["finish_reason"], "tool_calls");
            let call = &message["tool_calls"][0];
            assert!(call["id"].as_str().is_some_and(|id| !id.is_empty()), "{whole}");
            assert!(call.get("index").is_none(), "stream-only fields are gone: {call}");
            let args = call["function"]["arguments"].as_str().unwrap();
            serde_json::from_str::<Value>(args).expect("the argument fragments joined into JSON");
        }
    }
    assert_eq!(upstream_calls(&env), 2, "one upstream call per model");
}

#[tokio::test]
async fn entries_expire_after_the_requested_ttl() {
    let env = Env::start().await;
    let opt = [("X-OpenRouter-Cache", "true"), ("X-OpenRouter-Cache-TTL", "1")];
    let r = cached_chat(&env, &env.key, &body("sim/text"), &opt).await;
    assert_eq!(header(&r, "x-openrouter-cache-ttl").as_deref(), Some("1"));
    tokio::time::sleep(Duration::from_millis(100)).await;
    let r = cached_chat(&env, &env.key, &body("sim/text"), &opt).await;
    assert_eq!(header(&r, "x-openrouter-cache-status").as_deref(), Some("HIT"));
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let r = cached_chat(&env, &env.key, &body("sim/text"), &opt).await;
    assert_eq!(header(&r, "x-openrouter-cache-status").as_deref(), Some("MISS"), "expired");
    assert_eq!(upstream_calls(&env), 2);

    for bad in ["0", "86401", "soon"] {
        let r = cached_chat(
            &env,
            &env.key,
            &body("sim/text"),
            &[("X-OpenRouter-Cache", "true"), ("X-OpenRouter-Cache-TTL", bad)],
        )
        .await;
        assert_eq!(r.status(), 400, "TTL {bad}");
        let e: Value = r.json().await.unwrap();
        assert!(e["error"]["message"].as_str().unwrap().contains("X-OpenRouter-Cache-TTL"), "{e}");
    }
}

#[tokio::test]
async fn a_key_can_cache_by_default_and_a_request_can_opt_out() {
    let env = Env::start().await;
    let admin = env.admin_key().await;
    let (status, created) =
        env.send("POST", &admin, "/keys", Some(json!({"name": "cached", "cache_responses": true}))).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["data"]["cache_responses"], true);
    let key = created["key"].as_str().unwrap().to_owned();
    let hash = created["data"]["hash"].as_str().unwrap().to_owned();

    let r = cached_chat(&env, &key, &body("sim/text"), &[]).await;
    assert_eq!(header(&r, "x-openrouter-cache-status").as_deref(), Some("MISS"));
    tokio::time::sleep(Duration::from_millis(100)).await;
    let r = cached_chat(&env, &key, &body("sim/text"), &[]).await;
    assert_eq!(header(&r, "x-openrouter-cache-status").as_deref(), Some("HIT"), "cached without the header");
    let r = cached_chat(&env, &key, &body("sim/text"), &[("X-OpenRouter-Cache", "false")]).await;
    assert!(header(&r, "x-openrouter-cache-status").is_none(), "the header opts out");
    assert_eq!(upstream_calls(&env), 2);

    // Another key of the same account shares the account's entries when it opts in.
    let r = cached_chat(&env, &env.key, &body("sim/text"), &[("X-OpenRouter-Cache", "true")]).await;
    assert_eq!(header(&r, "x-openrouter-cache-status").as_deref(), Some("HIT"));

    let (status, updated) =
        env.send("PATCH", &admin, &format!("/keys/{hash}"), Some(json!({"cache_responses": false}))).await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["data"]["cache_responses"], false);
    let (_, got) = env.send("GET", &admin, &format!("/keys/{hash}"), None).await;
    assert_eq!(got["data"]["cache_responses"], false);
    let r = cached_chat(&env, &key, &body("sim/text"), &[]).await;
    assert!(header(&r, "x-openrouter-cache-status").is_none(), "the setting is off");
    assert_eq!(upstream_calls(&env), 3);
}

#[tokio::test]
async fn failed_answers_are_not_cached() {
    let env = Env::start().await;
    let opt_in = [("X-OpenRouter-Cache", "true")];
    for _ in 0..2 {
        let r = cached_chat(&env, &env.key, &body("sim/e400"), &opt_in).await;
        assert_eq!(r.status(), 400);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(upstream_calls(&env), 2, "each failure went upstream");
}
