//! Presets: `/api/v1/presets` CRUD with its permissions, and presets applied
//! to chat requests as the upstream sees them.

use serde_json::{Value, json};
use switchyard_store::Billing;

use crate::common::{Env, chunks, sse_events};

/// The management key of the harness account.
async fn admin(env: &Env) -> String {
    let store = env.gw.store();
    let account = store.default_account().await.unwrap().unwrap();
    store.create_key(&account.id, "admin", true, None).await.unwrap().plaintext
}

async fn put(env: &Env, key: &str, slug: &str, config: Value) -> reqwest::Response {
    env.http.put(env.url(&format!("/presets/{slug}"))).bearer_auth(key).json(&config).send().await.unwrap()
}

async fn delete(env: &Env, key: &str, slug: &str) -> reqwest::Response {
    env.http.delete(env.url(&format!("/presets/{slug}"))).bearer_auth(key).send().await.unwrap()
}

fn terse() -> Value {
    json!({
        "model": "sim/text",
        "temperature": 0.2,
        "system_prompt": "You are terse.",
        "tools": [{"type": "function", "function": {"name": "lookup", "description": "preset's",
            "parameters": {"type": "object", "properties": {}}}}],
    })
}

fn user(extra: Value) -> Value {
    let mut b = json!({"messages": [{"role": "user", "content": "Hello, simulator."}]});
    for (k, v) in extra.as_object().unwrap() {
        b[k] = v.clone();
    }
    b
}

/// The body the upstream received for the last request.
fn sent(env: &Env) -> Value {
    env.sim.requests().last().unwrap().body.clone()
}

#[tokio::test]
async fn a_preset_configures_the_request_and_the_request_wins() {
    let env = Env::start().await;
    let admin = admin(&env).await;
    assert_eq!(put(&env, &admin, "x", terse()).await.status(), 201);

    // `@preset/x`: the preset's model, sampling, system prompt and tool.
    let r = env.chat(user(json!({"model": "@preset/x"}))).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["model"], "sim/text");
    let up = sent(&env);
    assert_eq!(up["model"], "tokens=5,prompt_tokens=10");
    assert_eq!(up["temperature"], 0.2);
    assert_eq!(up["messages"][0], json!({"role": "system", "content": "You are terse."}));
    assert_eq!(up["messages"][1]["role"], "user");
    assert_eq!(up["tools"][0]["function"]["name"], "lookup");
    assert!(up.get("preset").is_none() && up.get("system_prompt").is_none(), "{up}");
    let g = env.generation_json(v["id"].as_str().unwrap()).await;
    assert_eq!(g["preset_id"], "x");
    assert_eq!(g["routing"]["preset"], "x");

    // The request's own fields win; tools are unioned by function name.
    let r = env
        .chat(user(json!({
            "model": "@preset/x",
            "temperature": 0.9,
            "tools": [
                {"type": "function", "function": {"name": "other"}},
                {"type": "function", "function": {"name": "lookup", "description": "request's"}},
            ],
        })))
        .await;
    assert_eq!(r.status(), 200);
    let up = sent(&env);
    assert_eq!(up["temperature"], 0.9);
    let tools: Vec<(&str, &str)> = up["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let f = &t["function"];
            (f["name"].as_str().unwrap(), f["description"].as_str().unwrap_or(""))
        })
        .collect();
    assert_eq!(tools, [("lookup", "request's"), ("other", "")]);

    // `<model>@preset/x`: the model part wins over the preset's model.
    assert_eq!(env.chat(user(json!({"model": "sim/json@preset/x"}))).await.status(), 200);
    let up = sent(&env);
    assert_eq!(up["model"], "json");
    assert_eq!(up["temperature"], 0.2);

    // `preset` with a model.
    assert_eq!(env.chat(user(json!({"model": "sim/json", "preset": "x"}))).await.status(), 200);
    assert_eq!(sent(&env)["model"], "json");
    assert_eq!(sent(&env)["messages"][0]["content"], "You are terse.");
    // ... and without one: the preset's.
    assert_eq!(env.chat(user(json!({"preset": "x"}))).await.status(), 200);
    assert_eq!(sent(&env)["model"], "tokens=5,prompt_tokens=10");

    // A request with its own system message keeps only that one.
    let own = json!({"model": "@preset/x", "messages": [
        {"role": "system", "content": "Be verbose."}, {"role": "user", "content": "hi"}]});
    assert_eq!(env.chat(own).await.status(), 200);
    let messages = sent(&env)["messages"].as_array().unwrap().clone();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0]["content"], "Be verbose.");

    // Streaming requests take presets too.
    let r = env.chat(user(json!({"model": "@preset/x", "stream": true}))).await;
    assert_eq!(r.status(), 200);
    let (events, _) = sse_events(&r.text().await.unwrap());
    assert!(chunks(&events).iter().any(|c| c.get("usage").is_some_and(|u| !u.is_null())));
    assert_eq!(sent(&env)["temperature"], 0.2);

    // Unknown presets, and two different ones at once.
    let r = env.chat(user(json!({"model": "@preset/nope"}))).await;
    assert_eq!(r.status(), 404);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["message"], "No preset named nope");
    assert_eq!(env.chat(user(json!({"model": "sim/text", "preset": "nope"}))).await.status(), 404);
    assert_eq!(env.chat(user(json!({"model": "@preset/x", "preset": "y"}))).await.status(), 400);

    // A failed generation records its preset too, even when routing failed.
    assert_eq!(put(&env, &admin, "broken", json!({"model": "nobody/nothing"})).await.status(), 201);
    let r = env.chat(user(json!({"model": "@preset/broken"}))).await;
    assert_eq!(r.status(), 400, "unknown model");
    let id = r.headers()["x-generation-id"].to_str().unwrap().to_owned();
    assert_eq!(env.generation_json(&id).await["preset_id"], "broken");
}

#[tokio::test]
async fn provider_preferences_merge_key_by_key() {
    let env = Env::start().await;
    let admin = admin(&env).await;
    let config = json!({"model": "sim/fallback", "provider": {"order": ["sim-b"], "allow_fallbacks": false}});
    assert_eq!(put(&env, &admin, "b-only", config).await.status(), 201);
    // The preset alone: sim-b only, no fallback.
    let r = env.chat(user(json!({"model": "@preset/b-only"}))).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["provider"], "Simulator B");
    // The request changes one key; the preset's `order` stays.
    let r = env.chat(user(json!({"model": "@preset/b-only", "provider": {"allow_fallbacks": true}}))).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["provider"], "Simulator B");
    let g = env.generation_json(v["id"].as_str().unwrap()).await;
    assert_eq!(g["routing"]["preferences"]["order"], json!(["sim-b"]), "{g}");
}

#[tokio::test]
async fn presets_are_managed_by_management_keys_of_their_account() {
    let env = Env::start().await;
    let admin = admin(&env).await;

    // Writes need a management key.
    let r = put(&env, &env.key, "x", terse()).await;
    assert_eq!(r.status(), 403);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], 403);

    let r = put(&env, &admin, "x", terse()).await;
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["data"]["slug"], "x");
    assert_eq!(v["data"]["version"], 1);
    assert_eq!(v["data"]["config"], terse());
    assert!(v["data"]["created_at"].as_str().unwrap().ends_with('Z'));

    // Replacing bumps the version; transient fields are dropped.
    let mut again = terse();
    again["temperature"] = json!(0.4);
    again["messages"] = json!([{"role": "user", "content": "x"}]);
    again["stream"] = json!(true);
    let r = put(&env, &admin, "x", again).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["data"]["version"], 2);
    assert_eq!(v["data"]["config"]["temperature"], 0.4);
    assert!(v["data"]["config"].get("messages").is_none() && v["data"]["config"].get("stream").is_none());

    // Bad configs and slugs.
    let r = put(&env, &admin, "x", json!({"temperature": "hot"})).await;
    assert_eq!(r.status(), 400);
    assert!(r.json::<Value>().await.unwrap()["error"]["message"].as_str().unwrap().contains("`temperature`"));
    let r = put(&env, &admin, "x", json!({"system_prompt": ["no"]})).await;
    assert_eq!(r.status(), 400);
    assert_eq!(put(&env, &admin, "x", json!([1, 2])).await.status(), 400);
    assert_eq!(put(&env, &admin, "Not_A_Slug", terse()).await.status(), 400);
    assert_eq!(put(&env, &admin, "y", json!({"model": "@preset/x"})).await.status(), 400);

    // Reads: any key of the account.
    assert_eq!(put(&env, &admin, "a-first", json!({"top_p": 0.5})).await.status(), 201);
    let list: Value = env.get_as(&env.key, "/presets").await.json().await.unwrap();
    let slugs: Vec<&str> = list["data"].as_array().unwrap().iter().map(|p| p["slug"].as_str().unwrap()).collect();
    assert_eq!(slugs, ["a-first", "x"]);
    let r = env.get_as(&env.key, "/presets/x").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["data"]["version"], 2);
    assert_eq!(env.get_as(&admin, "/presets/x").await.status(), 200);

    // Another account sees none of it and cannot use it.
    let store = env.gw.store();
    let other = store.create_account("other", Billing::Postpaid).await.unwrap();
    let other_key = store.create_key(&other.id, "o", false, None).await.unwrap().plaintext;
    let other_admin = store.create_key(&other.id, "oa", true, None).await.unwrap().plaintext;
    assert_eq!(env.get_as(&other_key, "/presets/x").await.status(), 404);
    let list: Value = env.get_as(&other_key, "/presets").await.json().await.unwrap();
    assert_eq!(list["data"], json!([]));
    assert_eq!(env.chat_as(&other_key, user(json!({"model": "@preset/x"}))).await.status(), 404);
    assert_eq!(delete(&env, &other_admin, "x").await.status(), 404);
    // Its own `x` is its own.
    assert_eq!(put(&env, &other_admin, "x", json!({"model": "sim/json"})).await.status(), 201);
    assert_eq!(env.get_as(&env.key, "/presets/x").await.json::<Value>().await.unwrap()["data"]["version"], 2);

    // Deleting.
    assert_eq!(delete(&env, &env.key, "x").await.status(), 403);
    let r = delete(&env, &admin, "x").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"deleted": true}));
    assert_eq!(delete(&env, &admin, "x").await.status(), 404);
    assert_eq!(env.get_as(&env.key, "/presets/x").await.status(), 404);
    assert_eq!(env.chat(user(json!({"model": "@preset/x"}))).await.status(), 404);
    assert_eq!(env.get_as(&other_key, "/presets/x").await.status(), 200);
}
