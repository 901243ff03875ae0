//! The simulator's native embeddings endpoints over real loopback HTTP:
//! their answer shapes, their refusals of unauthenticated or malformed
//! requests, and `status=CODE` errors in each protocol's shape.

#![allow(clippy::unwrap_used, clippy::panic)]

use serde_json::{Value, json};
use switchyard_sim::{Outcome, SimServer};

async fn post(
    sim: &SimServer,
    path: &str,
    headers: &[(&str, &str)],
    body: Value,
) -> (u16, Value, reqwest::header::HeaderMap) {
    let mut req = reqwest::Client::new().post(format!("http://{}{path}", sim.addr())).json(&body);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.unwrap();
    let (status, headers) = (resp.status().as_u16(), resp.headers().clone());
    (status, resp.json().await.unwrap(), headers)
}

const SIGV4: &[(&str, &str)] = &[
    ("authorization", "AWS4-HMAC-SHA256 Credential=AKID/20250102/us-east-1/bedrock/aws4_request, Signature=x"),
    ("x-amz-date", "20250102T030405Z"),
];

#[tokio::test]
async fn gemini_batch_embed_contents() {
    let sim = SimServer::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let path = "/v1beta/models/text-embedding-004:batchEmbedContents";
    let request =
        |model: &str| json!({"model": model, "content": {"parts": [{"text": "hi"}]}, "outputDimensionality": 4});
    let body = json!({"requests": [request("models/text-embedding-004"), request("models/text-embedding-004")]});
    let (status, v, _) = post(&sim, path, &[("x-goog-api-key", "k")], body.clone()).await;
    assert_eq!(status, 200);
    assert_eq!(v["embeddings"].as_array().unwrap().len(), 2);
    assert_eq!(v["embeddings"][0]["values"].as_array().unwrap().len(), 4);
    assert_eq!(v["embeddings"][0], v["embeddings"][1], "vectors are deterministic");
    assert_eq!(sim.requests()[0].outcome, Outcome::Completed);

    let (status, v, _) = post(&sim, path, &[], body).await;
    assert_eq!((status, v["error"]["status"].as_str()), (403, Some("PERMISSION_DENIED")));
    let other = json!({"requests": [request("models/other")]});
    let (status, v, _) = post(&sim, path, &[("x-goog-api-key", "k")], other).await;
    assert_eq!((status, v["error"]["status"].as_str()), (400, Some("INVALID_ARGUMENT")));
    let (status, v, headers) = post(
        &sim,
        "/v1beta/models/status%3D429:batchEmbedContents",
        &[("x-goog-api-key", "k")],
        json!({"requests": [request("models/status=429")]}),
    )
    .await;
    assert_eq!((status, v["error"]["status"].as_str()), (429, Some("RESOURCE_EXHAUSTED")));
    assert_eq!(headers["retry-after"], "1");
}

#[tokio::test]
async fn vertex_predict() {
    let sim = SimServer::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let path = "/v1/projects/p/locations/us-central1/publishers/google/models/text-embedding-005:predict";
    let body = json!({"instances": [{"content": "hello world"}], "parameters": {"outputDimensionality": 3}});
    let (status, v, _) = post(&sim, path, &[("authorization", "Bearer t")], body.clone()).await;
    assert_eq!(status, 200);
    let e = &v["predictions"][0]["embeddings"];
    assert_eq!((e["values"].as_array().unwrap().len(), e["statistics"]["token_count"].as_u64()), (3, Some(3)));
    let (status, v, _) = post(&sim, path, &[], body).await;
    assert_eq!((status, v["error"]["status"].as_str()), (401, Some("UNAUTHENTICATED")));
}

#[tokio::test]
async fn cohere_v2_embed() {
    let sim = SimServer::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let auth = [("authorization", "Bearer co")];
    let body = json!({"model": "embed-v4.0", "texts": ["a", "hello world"], "input_type": "search_query",
        "embedding_types": ["float"]});
    let (status, v, _) = post(&sim, "/v2/embed", &auth, body.clone()).await;
    assert_eq!(status, 200);
    assert_eq!(v["embeddings"]["float"].as_array().unwrap().len(), 2);
    assert_eq!(
        (v["texts"][1].as_str(), v["meta"]["billed_units"]["input_tokens"].as_u64()),
        (Some("hello world"), Some(4))
    );
    let (status, v, _) = post(&sim, "/v2/embed", &[], body).await;
    assert_eq!(status, 401);
    assert!(v["message"].as_str().unwrap().contains("bearer"));
    let (status, _, _) = post(&sim, "/v2/embed", &auth, json!({"model": "m", "texts": ["a"]})).await;
    assert_eq!(status, 400, "input_type is required");
    let (status, v, _) =
        post(&sim, "/v2/embed", &auth, json!({"model": "status=503", "texts": ["a"], "input_type": "x"})).await;
    assert_eq!(status, 503);
    assert!(v["id"].as_str().unwrap().starts_with("sim"));
}

#[tokio::test]
async fn bedrock_invoke_titan_and_cohere() {
    let sim = SimServer::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let titan = "/model/amazon.titan-embed-text-v2%3A0/invoke";
    let (status, v, _) = post(&sim, titan, SIGV4, json!({"inputText": "hello world", "dimensions": 5})).await;
    assert_eq!(status, 200);
    assert_eq!((v["embedding"].as_array().unwrap().len(), v["inputTextTokenCount"].as_u64()), (5, Some(3)));
    let cohere = "/model/cohere.embed-english-v3/invoke";
    let (status, v, _) = post(&sim, cohere, SIGV4, json!({"texts": ["a", "b"], "input_type": "search_document"})).await;
    assert_eq!(status, 200);
    assert_eq!(v["embeddings"].as_array().unwrap().len(), 2);
    assert_eq!(v["response_type"], "embeddings_floats");

    let (status, _, headers) = post(&sim, titan, &[], json!({"inputText": "x"})).await;
    assert_eq!(status, 403);
    assert!(headers["x-amzn-errortype"].to_str().unwrap().starts_with("AccessDeniedException:"));
    let (status, _, headers) = post(&sim, cohere, SIGV4, json!({"texts": ["a"]})).await;
    assert_eq!(status, 400);
    assert!(headers["x-amzn-errortype"].to_str().unwrap().starts_with("ValidationException:"));
    let throttled = "/model/amazon.titan-embed-text-v2%3A0%2Cstatus%3D429/invoke";
    let (status, v, headers) = post(&sim, throttled, SIGV4, json!({"inputText": "x"})).await;
    assert_eq!(status, 429);
    assert!(headers["x-amzn-errortype"].to_str().unwrap().starts_with("ThrottlingException:"));
    assert!(v["message"].is_string());
}
