//! `POST /api/v1/completions`: legacy prompt completions through the chat
//! pipeline, whole and streamed.

use serde_json::{Value, json};

use crate::common::{Env, chunks, sse_events};

#[tokio::test]
async fn prompt_is_completed_as_text_completion() {
    let env = Env::start().await;
    let (status, v) = env
        .send(
            "POST",
            &env.key,
            "/completions",
            Some(json!({"model": "sim/text", "prompt": "Once upon a time",
            "max_tokens": 32, "temperature": 0.1, "stop": ["\n\n"]})),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    assert!(v["id"].as_str().unwrap().starts_with("gen-"));
    assert_eq!((v["object"].as_str(), v["model"].as_str()), (Some("text_completion"), Some("sim/text")));
    assert_eq!(
        v["choices"],
        json!([{"index": 0, "text": "tok0 tok1 tok2 tok3 tok4 ", "finish_reason": "stop",
        "native_finish_reason": "stop", "logprobs": null}])
    );
    assert_eq!((v["usage"]["prompt_tokens"].as_u64(), v["usage"]["completion_tokens"].as_u64()), (Some(10), Some(5)));
    assert_eq!(v["usage"]["cost"].as_f64().unwrap(), 0.00002);
    let reqs = env.sim.requests();
    let sent = &reqs.last().unwrap().body;
    assert_eq!(sent["messages"], json!([{"role": "user", "content": "Once upon a time"}]));
    assert_eq!((sent["max_tokens"].as_u64(), sent["stop"].clone()), (Some(32), json!(["\n\n"])));
    assert!(sent.get("prompt").is_none());
    let g = env.generation_json(v["id"].as_str().unwrap()).await;
    assert_eq!(g["tokens_completion"], 5);
}

#[tokio::test]
async fn stream_sends_text_chunks_then_usage_and_done() {
    let env = Env::start().await;
    let r = env
        .http
        .post(env.url("/completions"))
        .bearer_auth(&env.key)
        .json(&json!({"model": "anth/text", "prompt": "Hi", "stream": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (events, _) = sse_events(&r.text().await.unwrap());
    assert_eq!(events.last().map(String::as_str), Some("[DONE]"));
    let cs: Vec<Value> = chunks(&events);
    assert!(cs.iter().all(|c| c["object"] == "text_completion"));
    let text: String = cs.iter().filter_map(|c| c["choices"][0]["text"].as_str()).collect();
    assert_eq!(text, "tok0 tok1 tok2 tok3 tok4 ");
    let finish: Vec<&Value> =
        cs.iter().filter_map(|c| c["choices"][0].get("finish_reason")).filter(|f| !f.is_null()).collect();
    assert_eq!(finish, [&json!("stop")]);
    let last = cs.last().unwrap();
    assert_eq!(last["choices"], json!([]));
    assert_eq!(last["usage"]["completion_tokens"], 5);
    assert_eq!(env.sim.requests().last().unwrap().path, "/v1/messages");
}

#[tokio::test]
async fn bad_prompts_are_400s_in_openrouter_shape() {
    let env = Env::start().await;
    for (body, needle) in [
        (json!({"model": "sim/text", "prompt": ["a", "b"]}), "exactly one"),
        (json!({"model": "sim/text"}), "`prompt` is required"),
        (json!({"model": "sim/text", "prompt": "x", "messages": [{"role": "user", "content": "y"}]}), "`messages`"),
    ] {
        let (status, v) = env.send("POST", &env.key, "/completions", Some(body)).await;
        assert_eq!((status, v["error"]["code"].as_u64()), (400, Some(400)), "{v}");
        assert!(v["error"]["message"].as_str().unwrap().contains(needle), "{v}");
    }
    assert!(env.sim.requests().is_empty());
}
