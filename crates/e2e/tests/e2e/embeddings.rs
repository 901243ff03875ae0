//! `POST /api/v1/embeddings` through an OpenAI-protocol upstream.

use serde_json::{Value, json};

use crate::common::Env;

#[tokio::test]
async fn embeddings_have_openai_shape_usage_and_cost() {
    let env = Env::start().await;
    let r = env
        .http
        .post(env.url("/embeddings"))
        .bearer_auth(&env.key)
        .json(&json!({"model": "sim/embed", "input": ["hello world", "second text"], "dimensions": 8, "input_type": "search_document"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert!(v["id"].as_str().unwrap().starts_with("gen-"));
    assert_eq!(v["object"], "list");
    assert_eq!(v["model"], "sim/embed");
    assert_eq!(v["provider"], "Simulator");
    let data = v["data"].as_array().unwrap();
    assert_eq!(data.len(), 2);
    assert_eq!(data[1]["index"], 1);
    assert_eq!(data[0]["embedding"].as_array().unwrap().len(), 8);
    let prompt = v["usage"]["prompt_tokens"].as_f64().unwrap();
    assert!(prompt > 0.0);
    // $0.02 per million tokens = 20 nano-dollars per token.
    assert_eq!((v["usage"]["cost"].as_f64().unwrap() * 1e9).round(), prompt * 20.0);
    let reqs = env.sim.requests();
    let sent = &reqs.last().unwrap().body;
    assert_eq!(sent["model"], "embed");
    assert_eq!(sent["dimensions"], 8);
    assert_eq!(sent["input_type"], "search_document");
    let g = env.generation_json(v["id"].as_str().unwrap()).await;
    assert_eq!(g["tokens_prompt"].as_f64().unwrap(), prompt);

    // A chat model is not an embedding model, and an empty input is refused.
    let bad = env
        .http
        .post(env.url("/embeddings"))
        .bearer_auth(&env.key)
        .json(&json!({"model": "sim/text", "input": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let empty = env
        .http
        .post(env.url("/embeddings"))
        .bearer_auth(&env.key)
        .json(&json!({"model": "sim/embed", "input": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(empty.status(), 400);
    // Embedding models are listed apart from chat models.
    let models: Value = env.http.get(env.url("/embeddings/models")).send().await.unwrap().json().await.unwrap();
    assert!(models["data"].as_array().unwrap().iter().any(|m| m["id"] == "sim/embed"));
    let chat_models: Value = env.http.get(env.url("/models")).send().await.unwrap().json().await.unwrap();
    assert!(!chat_models["data"].as_array().unwrap().iter().any(|m| m["id"] == "sim/embed"));
}
