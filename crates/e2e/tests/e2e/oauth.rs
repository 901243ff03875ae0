//! OAuth PKCE: a code bound to an app's challenge, exchanged once for a key.

use serde_json::{Value, json};

use crate::common::{Env, body};

/// RFC 7636 appendix B: a verifier and its S256 challenge.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

async fn post(env: &Env, path: &str, key: Option<&str>, body: Value) -> (u16, Value) {
    let mut r = env.http.post(env.url(path)).json(&body);
    if let Some(k) = key {
        r = r.bearer_auth(k);
    }
    let r = r.send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn an_app_gets_a_key_for_a_code_and_its_verifier_once() {
    let env = Env::start().await;
    let (status, code) = post(
        &env,
        "/auth/keys/code",
        Some(&env.key),
        json!({"code_challenge": CHALLENGE, "code_challenge_method": "S256", "key_label": "my-app",
               "limit": 1.5, "usage_limit_type": "daily", "callback_url": "http://localhost:3000/cb"}),
    )
    .await;
    assert_eq!(status, 200, "{code}");
    let id = code["data"]["id"].as_str().unwrap().to_owned();

    let exchange =
        |verifier: &str, method: &str| json!({"code": id, "code_verifier": verifier, "code_challenge_method": method});
    assert_eq!(post(&env, "/auth/keys", None, exchange("not-the-verifier", "S256")).await.0, 403);
    assert_eq!(post(&env, "/auth/keys", None, exchange(VERIFIER, "plain")).await.0, 403, "the method must match");
    let (status, granted) = post(&env, "/auth/keys", None, exchange(VERIFIER, "S256")).await;
    assert_eq!(status, 200, "{granted}");
    let key = granted["key"].as_str().unwrap().to_owned();
    let account = env.gw.store().default_account().await.unwrap().unwrap();
    assert_eq!(granted["user_id"], account.id.as_str());
    assert_eq!(post(&env, "/auth/keys", None, exchange(VERIFIER, "S256")).await.0, 403, "single use");

    assert_eq!(env.chat_as(&key, body("sim/text")).await.status(), 200);
    let me: Value = env.get_as(&key, "/key").await.json().await.unwrap();
    assert_eq!(me["data"]["name"], "my-app");
    assert_eq!(me["data"]["limit"], 1.5);
    assert_eq!(me["data"]["limit_reset"], "daily");
}

#[tokio::test]
async fn bad_requests_are_refused_clearly() {
    let env = Env::start().await;
    let no_key = post(&env, "/auth/keys/code", None, json!({"code_challenge": CHALLENGE})).await;
    assert_eq!(no_key.0, 401);
    let (status, e) = post(
        &env,
        "/auth/keys/code",
        Some(&env.key),
        json!({"code_challenge": CHALLENGE, "code_challenge_method": "S512"}),
    )
    .await;
    assert_eq!(status, 400);
    assert!(e["error"]["message"].as_str().unwrap().contains("code_challenge_method"), "{e}");
    let short = post(
        &env,
        "/auth/keys/code",
        Some(&env.key),
        json!({"code_challenge": "abc", "code_challenge_method": "S256"}),
    );
    assert_eq!(short.await.0, 400);
    let (status, _) = post(
        &env,
        "/auth/keys",
        None,
        json!({"code": "nope", "code_verifier": VERIFIER, "code_challenge_method": "S256"}),
    )
    .await;
    assert_eq!(status, 403);
    let wrong_method = env.http.get(env.url("/auth/keys")).send().await.unwrap();
    assert_eq!(wrong_method.status(), 405);
}
