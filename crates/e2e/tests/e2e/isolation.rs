//! Accounts are walled off from each other on every endpoint: another
//! account's generations, keys, presets, guardrails, BYOK keys and activity
//! are "not found" (never "forbidden", which would confirm they exist), and
//! no response to the other account carries them.

use serde_json::{Value, json};
use switchyard_store::Billing;

use crate::common::{Env, body};

/// `Env::send` with the body as text, for checks on everything it says.
async fn call(env: &Env, method: &str, key: &str, path: &str, body: Option<Value>) -> (u16, String) {
    let (status, v) = env.send(method, key, path, body).await;
    (status, v.to_string())
}

/// The `id` of a created object (`{data: {id}}` or `{id}`).
fn id_of(created: &str) -> String {
    let v: Value = serde_json::from_str(created).unwrap();
    v["data"]["id"].as_str().or_else(|| v["id"].as_str()).unwrap().to_owned()
}

#[tokio::test]
async fn nothing_of_one_account_is_reachable_from_another() {
    let env = Env::start().await;
    let store = env.gw.store();
    let a = store.default_account().await.unwrap().unwrap();
    let a_admin = store.create_key(&a.id, "a-admin", true, None).await.unwrap().plaintext;
    let b = store.create_account("b", Billing::Postpaid).await.unwrap();
    let b_admin = store.create_key(&b.id, "b-admin", true, None).await.unwrap().plaintext;
    let b_key = store.create_key(&b.id, "b", false, None).await.unwrap().plaintext;

    // Account A owns one of everything.
    let v: Value = env.chat(body("sim/text")).await.json().await.unwrap();
    let generation = v["id"].as_str().unwrap().to_owned();
    assert_eq!(env.generation(&env.key, &generation).await.status(), 200);
    let (s, created) = call(&env, "POST", &a_admin, "/keys", Some(json!({"name": "a-app"}))).await;
    assert_eq!(s, 201, "{created}");
    let a_hash = serde_json::from_str::<Value>(&created).unwrap()["data"]["hash"].as_str().unwrap().to_owned();
    let (s, _) = call(&env, "PUT", &a_admin, "/presets/a-secret", Some(json!({"model": "sim/text"}))).await;
    assert!(s == 200 || s == 201);
    let (s, g) = call(&env, "POST", &a_admin, "/guardrails", Some(json!({"name": "a-rail"}))).await;
    assert_eq!(s, 201, "{g}");
    let rail = id_of(&g);
    let secret = "sk-a-own-provider-secret-0123456789";
    let (s, k) = call(&env, "POST", &a_admin, "/byok", Some(json!({"provider": "sim", "api_key": secret}))).await;
    assert_eq!(s, 201, "{k}");
    let byok = id_of(&k);

    // Account B reaches none of it, by any route.
    let mut bodies = Vec::new();
    for (method, key, path, body) in [
        ("GET", &b_key, format!("/generation?id={generation}"), None),
        ("GET", &b_admin, format!("/keys/{a_hash}"), None),
        ("PATCH", &b_admin, format!("/keys/{a_hash}"), Some(json!({"disabled": true}))),
        ("DELETE", &b_admin, format!("/keys/{a_hash}"), None),
        ("GET", &b_key, "/presets/a-secret".to_owned(), None),
        ("DELETE", &b_admin, "/presets/a-secret".to_owned(), None),
        ("GET", &b_admin, format!("/guardrails/{rail}"), None),
        ("PATCH", &b_admin, format!("/guardrails/{rail}"), Some(json!({"name": "mine"}))),
        ("DELETE", &b_admin, format!("/guardrails/{rail}"), None),
        ("POST", &b_admin, format!("/guardrails/{rail}/keys"), Some(json!({"key_hashes": [a_hash.clone()]}))),
        ("GET", &b_admin, format!("/byok/{byok}"), None),
        ("PATCH", &b_admin, format!("/byok/{byok}"), Some(json!({"label": "mine"}))),
        ("DELETE", &b_admin, format!("/byok/{byok}"), None),
        ("GET", &b_admin, format!("/activity?api_key_hash={a_hash}"), None),
    ] {
        let (status, text) = call(&env, method, key, &path, body).await;
        assert_eq!(status, 404, "{method} {path}: {text}");
        bodies.push(text);
    }
    let r = env
        .chat_as(&b_key, json!({"model": "@preset/a-secret", "messages": [{"role": "user", "content": "hi"}]}))
        .await;
    assert_eq!(r.status(), 404);

    // B's own lists are empty of A's things, and A's secret appears nowhere.
    for path in ["/keys", "/guardrails", "/byok", "/activity", "/credits"] {
        let (status, text) = call(&env, "GET", &b_admin, path, None).await;
        assert_eq!(status, 200, "{path}: {text}");
        assert!(!text.contains(&a_hash) && !text.contains(&rail) && !text.contains(&byok), "{path}: {text}");
        bodies.push(text);
    }
    let (_, presets) = call(&env, "GET", &b_key, "/presets", None).await;
    assert!(!presets.contains("a-secret"), "{presets}");
    for text in &bodies {
        assert!(!text.contains(secret), "a BYOK secret leaked: {text}");
    }

    // And A still has everything.
    assert_eq!(call(&env, "GET", &a_admin, &format!("/keys/{a_hash}"), None).await.0, 200);
    assert_eq!(call(&env, "GET", &a_admin, &format!("/byok/{byok}"), None).await.0, 200);
}
