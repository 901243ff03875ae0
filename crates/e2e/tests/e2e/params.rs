//! Parameters an endpoint does not take: dropped for that endpoint (and said
//! so in the generation record), or the endpoint skipped when the request
//! sets `provider.require_parameters`.

use serde_json::{Value, json};

use crate::common::{Env, body};

/// One model with two endpoints: the free one (always tried first while
/// healthy) takes only `temperature`, the paid one (on another provider)
/// also `top_k`.
const PICKY: &str = r#"
[[models]]
id = "sim/picky"
supported_parameters = ["temperature", "max_tokens"]
[[models.endpoints]]
provider = "sim"
model = "tokens=2"
[[models.endpoints]]
provider = "sim-b"
model = "tokens=3"
prompt = "0.000002"
supported_parameters = ["temperature", "top_k", "max_tokens"]
"#;

fn picky(extra: Value) -> Value {
    let mut b = body("sim/picky");
    for (k, v) in extra.as_object().unwrap() {
        b[k] = v.clone();
    }
    b
}

#[tokio::test]
async fn unsupported_parameters_are_dropped_and_recorded() {
    let env = Env::start_with(PICKY).await;
    let r = env.chat(picky(json!({"temperature": 0.3, "top_k": 5, "logit_bias": {"7": 1}, "custom_flag": true}))).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["provider"], "Simulator", "the cheaper endpoint still serves");
    let sent = env.sim.requests().last().unwrap().body.clone();
    assert_eq!(sent["temperature"], 0.3);
    assert!(sent.get("top_k").is_none() && sent.get("logit_bias").is_none(), "{sent}");
    assert_eq!(sent["custom_flag"], true, "unknown fields still pass through");

    let g = env.generation_json(v["id"].as_str().unwrap()).await;
    assert_eq!(g["provider_responses"][0]["dropped_parameters"], json!(["top_k", "logit_bias"]));
}

#[tokio::test]
async fn require_parameters_skips_endpoints_that_lack_one() {
    let env = Env::start_with(PICKY).await;
    let r = env.chat(picky(json!({"top_k": 5, "provider": {"require_parameters": true}}))).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["provider"], "Simulator B");
    assert_eq!(env.sim.requests().last().unwrap().body["top_k"], 5);

    let r = env.chat(picky(json!({"top_k": 5, "seed": 1, "provider": {"require_parameters": true}}))).await;
    assert_eq!(r.status(), 404);
    let e: Value = r.json().await.unwrap();
    let msg = e["error"]["message"].as_str().unwrap();
    assert!(msg.contains("require_parameters") && msg.contains("seed") && msg.contains("top_k"), "{msg}");
    assert_eq!(e["error"]["code"], 404);
}

#[tokio::test]
async fn require_parameters_knows_what_a_protocol_cannot_send() {
    let env = Env::start().await;
    // Anthropic's Messages API has no frequency penalty.
    let mut b = body("anth/text");
    b["frequency_penalty"] = json!(0.5);
    b["provider"] = json!({"require_parameters": true});
    let before = env.sim.requests().len();
    let r = env.chat(b.clone()).await;
    assert_eq!(r.status(), 404);
    assert_eq!(env.sim.requests().len(), before, "nothing was sent upstream");
    b["provider"] = json!({"require_parameters": false});
    assert_eq!(env.chat(b).await.status(), 200);
}
