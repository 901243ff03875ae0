//! Every error path returns OpenRouter's error shape with the right status.

use serde_json::{Value, json};

use crate::common::{Env, body};

async fn error_of(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], status, "error.code equals the HTTP status");
    assert!(v["error"]["message"].as_str().is_some_and(|m| !m.is_empty()));
    (status, v)
}

async fn post_raw(env: &Env, raw: &str) -> reqwest::Response {
    env.http
        .post(env.url("/chat/completions"))
        .bearer_auth(&env.key)
        .header("content-type", "application/json")
        .body(raw.to_owned())
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn bad_requests_are_400s_naming_the_field() {
    let env = Env::start().await;
    let cases = [
        (r#"{"model":"sim/text","messages":[{"role":"user","content":"hi"}"#, "Invalid JSON"),
        (r#"{"model":"sim/text"}"#, "`messages` is required"),
        (r#"{"messages":[{"role":"user","content":"hi"}]}"#, "`model` is required"),
        (r#"{"model":"sim/text","messages":"hi"}"#, "`messages`"),
        (r#"{"model":"sim/text","messages":[{"role":"user","content":"hi"}],"temperature":"warm"}"#, "`temperature`"),
        (r#"{"model":"sim/text","messages":[{"role":"wizard","content":"hi"}]}"#, "`messages[0].role`"),
        (r#"{"model":"sim/text","messages":[]}"#, "at least one message"),
        (
            r#"{"model":"nobody/nothing","messages":[{"role":"user","content":"hi"}]}"#,
            "nobody/nothing is not a valid model ID",
        ),
    ];
    for (raw, needle) in cases {
        let (status, v) = error_of(post_raw(&env, raw).await).await;
        assert_eq!(status, 400, "{raw}");
        let msg = v["error"]["message"].as_str().unwrap();
        assert!(msg.contains(needle), "{raw}: {msg}");
    }
    assert!(env.sim.requests().is_empty(), "nothing invalid reaches the upstream");
}

#[tokio::test]
async fn oversized_body_is_413() {
    let env = Env::start().await;
    let big = "x".repeat(70_000);
    let (status, v) =
        error_of(env.chat(json!({"model":"sim/text","messages":[{"role":"user","content":big}]})).await).await;
    assert_eq!(status, 413);
    assert_eq!(v["error"]["metadata"]["error_type"], "payload_too_large");
}

#[tokio::test]
async fn upstream_errors_map_to_openrouter_codes_with_provider_details() {
    let env = Env::start().await;
    for (model, want, etype) in [
        ("sim/e400", 400, "invalid_request"),
        ("sim/e401", 401, "authentication"),
        ("sim/e429", 429, "rate_limit_exceeded"),
        ("sim/e500", 502, "provider_unavailable"),
        ("sim/e503", 503, "provider_overloaded"),
    ] {
        let r = env.chat(body(model)).await;
        let retry_after = r.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
        let (status, v) = error_of(r).await;
        assert_eq!(status, want, "{model}");
        let meta = &v["error"]["metadata"];
        assert_eq!(meta["error_type"], etype, "{model}");
        assert_eq!(meta["provider_name"], "Simulator");
        assert!(meta["raw"]["error"]["message"].is_string(), "{model}: raw upstream error kept");
        if model == "sim/e429" {
            assert_eq!(retry_after.as_deref(), Some("7"));
        }
    }
}

#[tokio::test]
async fn auth_failures_are_401() {
    let env = Env::start().await;
    let b = body("sim/text");
    let no_key = env.http.post(env.url("/chat/completions")).json(&b).send().await.unwrap();
    assert_eq!(error_of(no_key).await.0, 401);
    assert_eq!(error_of(env.chat_as("sk-sy-v1-not-a-real-key", b.clone()).await).await.0, 401);
    let store = env.gw.store();
    let acct = store.default_account().await.unwrap().unwrap();
    let k = store.create_key(&acct.id, "doomed", false, None).await.unwrap();
    assert_eq!(env.chat_as(&k.plaintext, b.clone()).await.status(), 200);
    store.set_key_disabled("doomed", true).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await; // key cache TTL
    let (status, v) = error_of(env.chat_as(&k.plaintext, b).await).await;
    assert_eq!(status, 401);
    assert!(v["error"]["message"].as_str().unwrap().contains("disabled"));
}

#[tokio::test]
async fn unknown_routes_and_methods_use_the_error_shape() {
    let env = Env::start().await;
    let r = env.http.get(env.url("/nope")).send().await.unwrap();
    assert_eq!(error_of(r).await.0, 404);
    let r = env.http.get(env.url("/chat/completions")).send().await.unwrap();
    assert_eq!(error_of(r).await.0, 405);
}
