//! `POST /api/v1/embeddings` through an OpenAI-protocol upstream and through
//! the native embeddings APIs of Gemini (AI Studio and Vertex AI), Cohere and
//! Bedrock (Titan and Cohere bodies).

use serde_json::{Value, json};
use switchyard_sim::RecordedRequest;

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

/// POSTs an embeddings request with the harness key.
async fn embed(env: &Env, body: Value) -> reqwest::Response {
    env.http.post(env.url("/embeddings")).bearer_auth(&env.key).json(&body).send().await.unwrap()
}

/// Checks the OpenAI shape of a 200 answer (`n` vectors of `dims` floats)
/// and its usage at $0.10 per million prompt tokens; returns the prompt tokens.
async fn openai_shape(r: reqwest::Response, model: &str, provider: &str, n: usize, dims: usize) -> (Value, u64) {
    assert_eq!(r.status(), 200, "{model}");
    let v: Value = r.json().await.unwrap();
    assert!(v["id"].as_str().unwrap().starts_with("gen-"));
    assert_eq!((v["object"].as_str(), v["model"].as_str()), (Some("list"), Some(model)));
    assert_eq!(v["provider"], provider);
    let data = v["data"].as_array().unwrap();
    assert_eq!(data.len(), n, "{v}");
    for (i, d) in data.iter().enumerate() {
        assert_eq!((d["object"].as_str(), d["index"].as_u64()), (Some("embedding"), Some(i as u64)));
        let e = d["embedding"].as_array().unwrap();
        assert_eq!(e.len(), dims);
        let norm: f64 = e.iter().map(|x| x.as_f64().unwrap().powi(2)).sum();
        assert!((norm - 1.0).abs() < 1e-6, "the simulator's vectors are unit length");
    }
    let prompt = v["usage"]["prompt_tokens"].as_u64().unwrap();
    assert!(prompt > 0);
    // $0.10 per million tokens = 100 nano-dollars per token.
    let cost = v["usage"]["cost"].as_f64().unwrap();
    assert!(cost > 0.0);
    assert_eq!((cost * 1e9).round(), prompt as f64 * 100.0);
    (v, prompt)
}

/// The requests the simulator received on paths starting with `prefix`.
fn received(env: &Env, prefix: &str) -> Vec<RecordedRequest> {
    env.sim.requests().into_iter().filter(|r| r.path.starts_with(prefix)).collect()
}

fn header<'a>(r: &'a RecordedRequest, name: &str) -> Option<&'a str> {
    r.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// Standard base64 to bytes (the test has no base64 crate).
fn base64_decode(s: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let sextets: Vec<u32> =
        s.bytes().filter(|b| *b != b'=').map(|b| ALPHABET.iter().position(|a| *a == b).unwrap() as u32).collect();
    let mut out = Vec::new();
    for group in sextets.chunks(4) {
        let n = group.iter().enumerate().fold(0u32, |acc, (i, s)| acc | (s << (18 - 6 * i)));
        out.extend_from_slice(&n.to_be_bytes()[1..group.len()]);
    }
    out
}

#[tokio::test]
async fn gemini_embeddings_use_batch_embed_contents() {
    let env = Env::start().await;
    let r = embed(&env, json!({"model": "gem/embed", "input": "hello world", "dimensions": 16})).await;
    let (one, prompt) = openai_shape(r, "gem/embed", "Gemini Sim", 1, 16).await;
    // Gemini reports no usage: ceil(11 characters / 4).
    assert_eq!(prompt, 3);
    let body = json!({"model": "gem/embed", "input": ["hello world", "second text"], "input_type": "search_query"});
    let (_, prompt) = openai_shape(embed(&env, body).await, "gem/embed", "Gemini Sim", 2, 8).await;
    assert_eq!(prompt, 3 + 3);
    let reqs = received(&env, "/v1beta/models/");
    assert_eq!(reqs.len(), 2);
    assert!(reqs.iter().all(|r| r.path == "/v1beta/models/text-embedding-004:batchEmbedContents"));
    assert!(reqs.iter().all(|r| header(r, "x-goog-api-key") == Some("gm-secret")));
    assert_eq!(
        reqs[0].body,
        json!({"requests": [{"model": "models/text-embedding-004", "content": {"parts": [{"text": "hello world"}]},
            "outputDimensionality": 16}]})
    );
    let sent = &reqs[1].body["requests"];
    assert_eq!(sent.as_array().unwrap().len(), 2);
    assert_eq!(
        (sent[1]["content"]["parts"][0]["text"].as_str(), sent[1]["taskType"].as_str()),
        (Some("second text"), Some("RETRIEVAL_QUERY"))
    );

    // base64: the same vector as little-endian f32 bytes.
    let body = json!({"model": "gem/embed", "input": "hello world", "dimensions": 16, "encoding_format": "base64"});
    let r = embed(&env, body).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    let bytes = base64_decode(v["data"][0]["embedding"].as_str().unwrap());
    assert_eq!(bytes.len(), 16 * 4);
    let floats = one["data"][0]["embedding"].as_array().unwrap();
    for (chunk, f) in bytes.chunks(4).zip(floats) {
        assert_eq!(f32::from_le_bytes(chunk.try_into().unwrap()), f.as_f64().unwrap() as f32);
    }
    let g = env.generation_json(v["id"].as_str().unwrap()).await;
    assert_eq!(g["tokens_prompt"].as_f64(), Some(3.0));
}

#[tokio::test]
async fn cohere_embeddings_use_v2_embed_with_billed_tokens() {
    let env = Env::start().await;
    let r = embed(&env, json!({"model": "coh/embed", "input": "hello world", "dimensions": 12})).await;
    let (_, prompt) = openai_shape(r, "coh/embed", "Cohere Sim", 1, 12).await;
    assert_eq!(prompt, 3);
    let body = json!({"model": "coh/embed", "input": ["a", "second text", "third"], "input_type": "classification"});
    let (_, prompt) = openai_shape(embed(&env, body).await, "coh/embed", "Cohere Sim", 3, 8).await;
    assert_eq!(prompt, 1 + 3 + 2, "billed_units.input_tokens");
    let reqs = received(&env, "/v2/embed");
    assert_eq!(reqs.len(), 2);
    assert!(reqs.iter().all(|r| header(r, "authorization") == Some("Bearer co-secret")));
    assert_eq!(
        reqs[0].body,
        json!({"model": "embed-v4.0", "texts": ["hello world"], "input_type": "search_document",
            "embedding_types": ["float"], "output_dimension": 12})
    );
    assert_eq!(reqs[1].body["texts"], json!(["a", "second text", "third"]));
    assert_eq!(reqs[1].body["input_type"], "classification");
}

#[tokio::test]
async fn bedrock_titan_embeddings_invoke_once_per_input() {
    let env = Env::start().await;
    let r = embed(&env, json!({"model": "bed/titan-embed", "input": "hello world", "dimensions": 256})).await;
    let (_, prompt) = openai_shape(r, "bed/titan-embed", "Bedrock Sim", 1, 256).await;
    assert_eq!(prompt, 3);
    let body = json!({"model": "bed/titan-embed", "input": ["one", "second text", "third input"]});
    let (_, prompt) = openai_shape(embed(&env, body).await, "bed/titan-embed", "Bedrock Sim", 3, 8).await;
    assert_eq!(prompt, 1 + 3 + 3, "the calls' inputTextTokenCount summed");
    let reqs = received(&env, "/model/");
    assert_eq!(reqs.len(), 4, "one call per input");
    assert!(reqs.iter().all(|r| r.path == "/model/amazon.titan-embed-text-v2%3A0/invoke"));
    for r in &reqs {
        let auth = header(r, "authorization").unwrap();
        assert!(auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDSWITCHYARDTEST/"), "{auth}");
        assert!(auth.contains("/us-west-2/bedrock/aws4_request"));
        assert!(header(r, "x-amz-date").is_some());
    }
    assert_eq!(reqs[0].body, json!({"inputText": "hello world", "dimensions": 256, "normalize": true}));
    let mut texts: Vec<&str> = reqs[1..].iter().map(|r| r.body["inputText"].as_str().unwrap()).collect();
    texts.sort_unstable();
    assert_eq!(texts, ["one", "second text", "third input"]);
}

#[tokio::test]
async fn bedrock_cohere_embeddings_send_one_batch() {
    let env = Env::start().await;
    let r = embed(&env, json!({"model": "bed/cohere-embed", "input": "hello world"})).await;
    let (_, prompt) = openai_shape(r, "bed/cohere-embed", "Bedrock Sim", 1, 8).await;
    assert_eq!(prompt, 3, "estimated: Cohere on Bedrock reports no tokens");
    let body = json!({"model": "bed/cohere-embed", "input": ["a", "b"], "input_type": "search_query"});
    openai_shape(embed(&env, body).await, "bed/cohere-embed", "Bedrock Sim", 2, 8).await;
    let reqs = received(&env, "/model/");
    assert_eq!(reqs.len(), 2);
    assert!(reqs.iter().all(|r| r.path == "/model/cohere.embed-english-v3/invoke"));
    assert!(reqs.iter().all(|r| header(r, "authorization").is_some_and(|a| a.starts_with("AWS4-HMAC-SHA256 "))));
    assert_eq!(reqs[0].body, json!({"texts": ["hello world"], "input_type": "search_document"}));
    assert_eq!(reqs[1].body, json!({"texts": ["a", "b"], "input_type": "search_query"}));
}

#[tokio::test]
async fn native_embedding_errors_keep_the_openrouter_shape() {
    let env = Env::start().await;
    for (model, name) in
        [("gem/embed-e429", "Gemini Sim"), ("coh/embed-e429", "Cohere Sim"), ("bed/titan-embed-e429", "Bedrock Sim")]
    {
        let r = embed(&env, json!({"model": model, "input": ["x", "y"]})).await;
        assert_eq!(r.status(), 429, "{model}");
        assert_eq!(r.headers()["retry-after"], "1", "{model}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["code"], 429, "{v}");
        assert_eq!(v["error"]["metadata"]["error_type"], "rate_limit_exceeded", "{model}");
        assert_eq!(v["error"]["metadata"]["provider_name"], name);
    }
    // Native APIs take text: token arrays are refused before any call.
    let before = env.sim.requests().len();
    for model in ["gem/embed", "coh/embed", "bed/titan-embed"] {
        let r = embed(&env, json!({"model": model, "input": [[1, 2, 3]]})).await;
        assert_eq!(r.status(), 400, "{model}");
        let v: Value = r.json().await.unwrap();
        assert!(v["error"]["message"].as_str().unwrap().contains("token arrays"), "{v}");
    }
    assert_eq!(env.sim.requests().len(), before);
}

#[tokio::test]
async fn vertex_embeddings_use_predict_and_the_oauth_token() {
    let (env, _keys) = Env::start_with_vertex(
        "[[models]]\nid = \"vtx/embed\"\noutput_modalities = [\"embeddings\"]\n[[models.endpoints]]\n\
         provider = \"vtx\"\nmodel = \"gemini-embedding-001\"\nprompt = \"0.0000001\"\n",
    )
    .await;
    let body = json!({"model": "vtx/embed", "input": ["hello world", "second text"], "dimensions": 32});
    let (_, prompt) = openai_shape(embed(&env, body).await, "vtx/embed", "Vertex Sim", 2, 32).await;
    assert_eq!(prompt, 3 + 3, "the predictions' token_count summed");
    let reqs = received(&env, "/v1/projects/");
    assert_eq!(reqs.len(), 2, "gemini-embedding-001 takes one instance per call");
    let path = "/v1/projects/sim-project/locations/europe-west4/publishers/google/models/gemini-embedding-001:predict";
    assert!(reqs.iter().all(|r| r.path == path));
    assert!(reqs.iter().all(|r| header(r, "authorization").is_some_and(|a| a.starts_with("Bearer sim-vertex-token-"))));
    let mut texts: Vec<&str> = reqs.iter().map(|r| r.body["instances"][0]["content"].as_str().unwrap()).collect();
    texts.sort_unstable();
    assert_eq!(texts, ["hello world", "second text"]);
    assert_eq!(reqs[0].body["parameters"], json!({"outputDimensionality": 32}));
}
