//! Vertex AI: an OAuth token minted from a service-account key (RS256 JWT
//! exchanged at the token endpoint, cached), project/region URLs, and
//! Gemini's wire format.

use serde_json::Value;

use crate::common::{Env, body, chunks, sse_events, stream_body};

#[tokio::test]
async fn vertex_mints_a_token_once_and_serves_gemini_models() {
    let (env, _keys) = Env::start_with_vertex(
        "[[models]]\nid = \"vtx/text\"\n[[models.endpoints]]\nprovider = \"vtx\"\nmodel = \"tokens=5,prompt_tokens=10\"\n\
         prompt = \"0.000001\"\ncompletion = \"0.000002\"\n",
    )
    .await;
    let v: Value = env.chat(body("vtx/text")).await.json().await.unwrap();
    assert_eq!(v["provider"], "Vertex Sim");
    assert_eq!(v["choices"][0]["message"]["content"], "tok0 tok1 tok2 tok3 tok4 ");
    assert_eq!(v["usage"]["cost"].as_f64().unwrap(), 0.00002);
    let text = env.chat(stream_body("vtx/text")).await.text().await.unwrap();
    let (events, _) = sse_events(&text);
    assert_eq!(events.last().unwrap(), "[DONE]");
    assert_eq!(chunks(&events).last().unwrap()["usage"]["completion_tokens"], 5);

    let reqs = env.sim.requests();
    let tokens: Vec<_> = reqs.iter().filter(|r| r.path == "/token").collect();
    assert_eq!(tokens.len(), 1, "the token is minted once and cached");
    assert_eq!(tokens[0].body["grant_type"], "urn:ietf:params:oauth:grant-type:jwt-bearer");
    let chats: Vec<_> = reqs.iter().filter(|r| r.path.starts_with("/v1/projects/")).collect();
    assert_eq!(chats.len(), 2);
    assert!(chats[0].path.starts_with("/v1/projects/sim-project/locations/europe-west4/publishers/google/models/"));
    let auth = chats[1].headers.iter().find(|(k, _)| k == "authorization").map(|(_, v)| v.as_str());
    assert!(auth.is_some_and(|a| a.starts_with("Bearer sim-vertex-token-")), "{auth:?}");
}
