//! Organizations: members with admin/member roles and what each may see and
//! manage; guardrails assigned to members and to workspaces, combined with
//! a key's own; workspace BYOK keys and presets; PKCE codes for a workspace.

use std::time::Duration;

use serde_json::{Value, json};
use switchyard_store::hash_key;

use crate::common::{Env, body};

/// Sends and asserts the status; the JSON body.
async fn call(env: &Env, method: &str, key: &str, path: &str, b: Option<Value>, status: u16) -> Value {
    let (got, v) = env.send(method, key, path, b).await;
    assert_eq!(got, status, "{method} {path}: {v}");
    v
}

/// Adds a member; its id.
async fn member(env: &Env, admin: &str, name: &str, role: &str) -> String {
    let v = call(env, "POST", admin, "/members", Some(json!({"name": name, "role": role})), 201).await;
    assert_eq!(v["data"]["role"], role);
    v["data"]["id"].as_str().unwrap().to_owned()
}

/// A management key of a member.
async fn member_manager(env: &Env, admin: &str, member: &str) -> String {
    let v = call(env, "POST", admin, &format!("/members/{member}/keys"), Some(json!({"name": "mgr"})), 201).await;
    assert_eq!(v["data"]["member_id"], member);
    v["key"].as_str().unwrap().to_owned()
}

/// Creates an inference key with `manager`; its plaintext and hash.
async fn key(env: &Env, manager: &str, extra: Value) -> (String, String) {
    let mut b = json!({"name": "k"});
    for (k, v) in extra.as_object().unwrap() {
        b[k] = v.clone();
    }
    let v = call(env, "POST", manager, "/keys", Some(b), 201).await;
    (v["key"].as_str().unwrap().to_owned(), v["data"]["hash"].as_str().unwrap().to_owned())
}

async fn workspace(env: &Env, admin: &str, name: &str) -> String {
    let v = call(env, "POST", admin, "/workspaces", Some(json!({"name": name})), 201).await;
    v["data"]["id"].as_str().unwrap().to_owned()
}

/// Chats; the status and body.
async fn chat(env: &Env, key: &str, b: Value) -> (u16, Value) {
    let r = env.chat_as(key, b).await;
    let status = r.status().as_u16();
    (status, r.json().await.unwrap())
}

/// Chats and waits until the generation is stored; its id.
async fn chat_stored(env: &Env, key: &str, model: &str) -> String {
    let (status, v) = chat(env, key, body(model)).await;
    assert_eq!(status, 200, "{v}");
    let id = v["id"].as_str().unwrap().to_owned();
    assert_eq!(env.generation(key, &id).await.status(), 200);
    id
}

fn hashes(v: &Value) -> Vec<String> {
    v["data"].as_array().unwrap().iter().map(|k| k["hash"].as_str().unwrap().to_owned()).collect()
}

fn requests(v: &Value) -> i64 {
    v["data"].as_array().unwrap().iter().map(|r| r["requests"].as_i64().unwrap()).sum()
}

#[tokio::test]
async fn a_member_role_key_sees_and_manages_only_its_members_keys() {
    let env = Env::start().await;
    let admin = env.admin_key().await;
    let alice = member(&env, &admin, "Alice", "member").await;
    let bob = member(&env, &admin, "Bob", "member").await;
    let carol = member(&env, &admin, "Carol", "admin").await;
    let alice_mgr = member_manager(&env, &admin, &alice).await;
    let carol_mgr = member_manager(&env, &admin, &carol).await;

    // Alice's manager makes keys for Alice only; an admin makes them for anyone.
    let (a1, a1_hash) = key(&env, &alice_mgr, json!({})).await;
    let v = call(&env, "GET", &alice_mgr, &format!("/keys/{a1_hash}"), None, 200).await;
    assert_eq!(v["data"]["member_id"], alice.as_str());
    let (b1, b1_hash) = key(&env, &admin, json!({"member_id": bob})).await;
    call(&env, "POST", &alice_mgr, "/keys", Some(json!({"name": "x", "member_id": bob})), 404).await;
    let harness_hash = hash_key(&env.key);

    // Listing, reading, changing, deleting: another member's key (or the account's) is a 404.
    let v = call(&env, "GET", &alice_mgr, "/keys", None, 200).await;
    assert_eq!(hashes(&v), vec![a1_hash.clone()]);
    for other in [&b1_hash, &harness_hash] {
        let path = format!("/keys/{other}");
        call(&env, "GET", &alice_mgr, &path, None, 404).await;
        call(&env, "PATCH", &alice_mgr, &path, Some(json!({"disabled": true})), 404).await;
        call(&env, "DELETE", &alice_mgr, &path, None, 404).await;
    }
    call(&env, "PATCH", &alice_mgr, &format!("/keys/{a1_hash}"), Some(json!({"name": "renamed"})), 200).await;
    // Admins see every key: the account's own management keys and an admin member's.
    for manager in [&admin, &carol_mgr] {
        let listed = hashes(&call(&env, "GET", manager, "/keys", None, 200).await);
        for h in [&a1_hash, &b1_hash, &harness_hash] {
            assert!(listed.contains(h), "{listed:?}");
        }
    }

    // Generations and activity: only Alice's keys'.
    let a_gen = chat_stored(&env, &a1, "sim/text").await;
    let b_gen = chat_stored(&env, &b1, "sim/text").await;
    assert_eq!(env.get_as(&alice_mgr, &format!("/generation?id={a_gen}")).await.status(), 200);
    assert_eq!(env.get_as(&alice_mgr, &format!("/generation?id={b_gen}")).await.status(), 404);
    assert_eq!(env.get_as(&carol_mgr, &format!("/generation?id={b_gen}")).await.status(), 200);
    assert_eq!(requests(&call(&env, "GET", &alice_mgr, "/activity", None, 200).await), 1);
    assert_eq!(requests(&call(&env, "GET", &admin, "/activity", None, 200).await), 2);
    call(&env, "GET", &alice_mgr, &format!("/activity?api_key_hash={b1_hash}"), None, 404).await;
    let mine = call(&env, "GET", &alice_mgr, &format!("/activity?api_key_hash={a1_hash}"), None, 200).await;
    assert_eq!(requests(&mine), 1);

    // Members, guardrails, BYOK keys and workspaces are for admins: 403 naming the role.
    let ws = workspace(&env, &admin, "W").await;
    let g = call(&env, "POST", &admin, "/guardrails", Some(json!({"name": "g"})), 201).await;
    let g = g["data"]["id"].as_str().unwrap().to_owned();
    let refused: Vec<(&str, String, Option<Value>)> = vec![
        ("GET", "/members".into(), None),
        ("POST", "/members".into(), Some(json!({"name": "Eve"}))),
        ("GET", format!("/members/{bob}"), None),
        ("PATCH", format!("/members/{bob}"), Some(json!({"role": "admin"}))),
        ("DELETE", format!("/members/{bob}"), None),
        ("POST", format!("/members/{alice}/keys"), Some(json!({"name": "more"}))),
        ("GET", "/guardrails".into(), None),
        ("POST", "/guardrails".into(), Some(json!({"name": "mine"}))),
        ("PATCH", format!("/guardrails/{g}"), Some(json!({"limit_usd": 100}))),
        ("POST", format!("/guardrails/{g}/keys"), Some(json!({"key_hashes": [a1_hash]}))),
        ("POST", format!("/guardrails/{g}/members"), Some(json!({"member_ids": [alice]}))),
        ("GET", "/byok".into(), None),
        ("POST", "/byok".into(), Some(json!({"provider": "sim", "api_key": "sk-abcdefgh"}))),
        ("GET", "/workspaces".into(), None),
        ("POST", "/workspaces".into(), Some(json!({"name": "mine"}))),
        ("PATCH", format!("/workspaces/{ws}"), Some(json!({"name": "taken"}))),
        ("POST", format!("/workspaces/{ws}/members"), Some(json!({"member_ids": [alice]}))),
    ];
    for (method, path, b) in refused {
        let v = call(&env, method, &alice_mgr, &path, b, 403).await;
        let msg = v["error"]["message"].as_str().unwrap();
        assert!(msg.contains("role `member`"), "{method} {path}: {msg}");
    }
    for path in ["/members", "/guardrails", "/byok", "/workspaces"] {
        call(&env, "GET", &carol_mgr, path, None, 200).await;
    }
    // An admin member manages members; a promoted member sees everything at once.
    call(&env, "PATCH", &carol_mgr, &format!("/members/{alice}"), Some(json!({"role": "admin"})), 200).await;
    call(&env, "GET", &alice_mgr, "/members", None, 200).await;
    assert_eq!(env.get_as(&alice_mgr, &format!("/generation?id={b_gen}")).await.status(), 200);

    // A disabled member's keys are refused; deleting a member deletes their keys.
    call(&env, "PATCH", &admin, &format!("/members/{bob}"), Some(json!({"disabled": true})), 200).await;
    assert_eq!(chat(&env, &b1, body("sim/text")).await.0, 401);
    call(&env, "PATCH", &admin, &format!("/members/{bob}"), Some(json!({"disabled": false})), 200).await;
    assert_eq!(chat(&env, &b1, body("sim/text")).await.0, 200);
    call(&env, "DELETE", &admin, &format!("/members/{bob}"), None, 200).await;
    assert_eq!(chat(&env, &b1, body("sim/text")).await.0, 401);
    call(&env, "GET", &admin, &format!("/members/{bob}"), None, 404).await;
    let listed = call(&env, "GET", &admin, "/members", None, 200).await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_member_makes_keys_only_in_workspaces_they_belong_to() {
    let env = Env::start().await;
    let admin = env.admin_key().await;
    let alice = member(&env, &admin, "Alice", "member").await;
    let alice_mgr = member_manager(&env, &admin, &alice).await;
    let (w1, w2) = (workspace(&env, &admin, "One").await, workspace(&env, &admin, "Two").await);

    let v = call(&env, "POST", &admin, &format!("/workspaces/{w1}/members"), Some(json!({"member_ids": [alice]})), 200)
        .await;
    assert_eq!(v["added_count"], 1);
    assert_eq!(v["data"][0]["id"], alice.as_str());
    let m = call(&env, "GET", &admin, &format!("/members/{alice}"), None, 200).await;
    assert_eq!(m["data"]["workspace_ids"], json!([w1]));

    let (_, in_w1) = key(&env, &alice_mgr, json!({"workspace_id": w1})).await;
    let v = call(&env, "POST", &alice_mgr, "/keys", Some(json!({"name": "x", "workspace_id": w2})), 403).await;
    assert!(v["error"]["message"].as_str().unwrap().contains("does not belong to workspace"), "{v}");
    // Not by moving a key either, nor by an admin making a key of hers there.
    call(&env, "PATCH", &alice_mgr, &format!("/keys/{in_w1}"), Some(json!({"workspace_id": w2})), 403).await;
    call(&env, "POST", &admin, "/keys", Some(json!({"name": "x", "workspace_id": w2, "member_id": alice})), 403).await;
    // The default workspace is everyone's; an unknown workspace is a 404.
    key(&env, &alice_mgr, json!({})).await;
    call(&env, "POST", &alice_mgr, "/keys", Some(json!({"name": "x", "workspace_id": "ws_nope"})), 404).await;

    call(&env, "DELETE", &admin, &format!("/workspaces/{w1}/members/{alice}"), None, 200).await;
    call(&env, "DELETE", &admin, &format!("/workspaces/{w1}/members/{alice}"), None, 404).await;
    call(&env, "POST", &alice_mgr, "/keys", Some(json!({"name": "x", "workspace_id": w1})), 403).await;
    let v = call(&env, "GET", &admin, &format!("/workspaces/{w1}/members"), None, 200).await;
    assert_eq!(v["data"], json!([]));
    // An admin gives a key to a member; then it is hers, and the workspace rule holds for it.
    let (_, given) = key(&env, &admin, json!({})).await;
    call(&env, "GET", &alice_mgr, &format!("/keys/{given}"), None, 404).await;
    let v = call(&env, "PATCH", &admin, &format!("/keys/{given}"), Some(json!({"member_id": alice})), 200).await;
    assert_eq!(v["data"]["member_id"], alice.as_str());
    call(&env, "GET", &alice_mgr, &format!("/keys/{given}"), None, 200).await;
    call(&env, "PATCH", &admin, &format!("/keys/{given}"), Some(json!({"workspace_id": w2})), 403).await;
    let v = call(&env, "PATCH", &alice_mgr, &format!("/keys/{given}"), Some(json!({"member_id": null})), 403).await;
    assert!(v["error"]["message"].as_str().unwrap().contains("role `member`"), "{v}");
    call(&env, "PATCH", &admin, &format!("/keys/{given}"), Some(json!({"member_id": null})), 200).await;
    call(&env, "GET", &alice_mgr, &format!("/keys/{given}"), None, 404).await;
}

#[tokio::test]
async fn a_member_guardrail_budget_counts_all_the_members_keys() {
    let env = Env::start().await;
    let admin = env.admin_key().await;
    let m = member(&env, &admin, "Spender", "member").await;
    let (k1, _) = key(&env, &admin, json!({"member_id": m})).await;
    let (k2, _) = key(&env, &admin, json!({"member_id": m})).await;
    // sim/text costs $0.00002 a request: the budget holds one request of the member's.
    let g = call(&env, "POST", &admin, "/guardrails", Some(json!({"name": "team", "limit_usd": 0.00001})), 201).await;
    let id = g["data"]["id"].as_str().unwrap().to_owned();
    let v =
        call(&env, "POST", &admin, &format!("/guardrails/{id}/members"), Some(json!({"member_ids": [m]})), 200).await;
    assert_eq!((v["data"]["member_ids"].clone(), v["assigned_count"].clone()), (json!([m]), json!(1)));
    call(&env, "POST", &admin, &format!("/guardrails/{id}/members"), Some(json!({"member_ids": ["mem_nope"]})), 404)
        .await;

    chat_stored(&env, &k1, "sim/text").await;
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let (status, e) = chat(&env, &k2, body("sim/text")).await;
    assert_eq!(status, 402, "the other key of the member spent the budget: {e}");
    assert_eq!(e["error"]["metadata"]["guardrail"], json!({"id": id, "name": "team"}));
    assert_eq!(chat(&env, &env.key, body("sim/text")).await.0, 200, "keys of no member are unaffected");

    call(&env, "DELETE", &admin, &format!("/guardrails/{id}/members/{m}"), None, 200).await;
    assert_eq!(chat(&env, &k2, body("sim/text")).await.0, 200, "unassigned at once");
}

#[tokio::test]
async fn member_and_key_allow_lists_intersect() {
    let env = Env::start().await;
    let admin = env.admin_key().await;
    let m = member(&env, &admin, "M", "member").await;
    let (k, hash) = key(&env, &admin, json!({"member_id": m})).await;
    let team = call(
        &env,
        "POST",
        &admin,
        "/guardrails",
        Some(json!({"name": "team", "allowed_models": ["sim/text", "sim/json"]})),
        201,
    )
    .await;
    let team = team["data"]["id"].as_str().unwrap().to_owned();
    let own = call(
        &env,
        "POST",
        &admin,
        "/guardrails",
        Some(json!({"name": "own", "allowed_models": ["sim/text", "sim/free"]})),
        201,
    )
    .await;
    let own = own["data"]["id"].as_str().unwrap().to_owned();
    call(&env, "POST", &admin, &format!("/guardrails/{team}/members"), Some(json!({"member_ids": [m]})), 200).await;
    call(&env, "POST", &admin, &format!("/guardrails/{own}/keys"), Some(json!({"key_hashes": [hash]})), 200).await;

    let before = env.sim.requests().len();
    assert_eq!(chat(&env, &k, body("sim/text")).await.0, 200, "allowed by both");
    let (status, e) = chat(&env, &k, body("sim/json")).await;
    assert_eq!((status, e["error"]["metadata"]["guardrail"]["name"].clone()), (403, json!("own")), "{e}");
    let (status, e) = chat(&env, &k, body("sim/free")).await;
    assert_eq!((status, e["error"]["metadata"]["guardrail"]["name"].clone()), (403, json!("team")), "{e}");
    assert_eq!(env.sim.requests().len(), before + 1, "refused requests never reach the upstream");
    // Another member's key is under neither.
    assert_eq!(chat(&env, &env.key, body("sim/json")).await.0, 200);
}

#[tokio::test]
async fn a_workspace_guardrail_applies_to_the_workspaces_keys_only() {
    let env = Env::start().await;
    let admin = env.admin_key().await;
    let ws = workspace(&env, &admin, "Guarded").await;
    let (inside, _) = key(&env, &admin, json!({"workspace_id": ws})).await;
    let (outside, outside_hash) = key(&env, &admin, json!({})).await;
    let rule = json!({"name": "ws-rail", "workspace_id": ws,
                      "regex_filters": [{"pattern": "secret", "action": "block"}]});
    let g = call(&env, "POST", &admin, "/guardrails", Some(rule), 201).await;
    assert_eq!(g["data"]["workspace_id"], ws.as_str());
    let id = g["data"]["id"].as_str().unwrap().to_owned();
    // One guardrail per workspace; another account's or no workspace is a 404.
    let v = call(&env, "POST", &admin, "/guardrails", Some(json!({"name": "second", "workspace_id": ws})), 400).await;
    assert!(v["error"]["message"].as_str().unwrap().contains("already has guardrail"), "{v}");
    call(&env, "POST", &admin, "/guardrails", Some(json!({"name": "third", "workspace_id": "ws_nope"})), 404).await;

    let said = |text: &str| json!({"model": "sim/text", "messages": [{"role": "user", "content": text}]});
    let (status, e) = chat(&env, &inside, said("my secret")).await;
    assert_eq!((status, e["error"]["metadata"]["guardrail"]["id"].clone()), (403, json!(id)), "{e}");
    assert_eq!(chat(&env, &outside, said("my secret")).await.0, 200, "a key outside the workspace");
    // A key moved into the workspace comes under its guardrail at once; out of it, no more.
    call(&env, "PATCH", &admin, &format!("/keys/{outside_hash}"), Some(json!({"workspace_id": ws})), 200).await;
    assert_eq!(chat(&env, &outside, said("my secret")).await.0, 403);
    call(&env, "PATCH", &admin, &format!("/guardrails/{id}"), Some(json!({"workspace_id": null})), 200).await;
    assert_eq!(chat(&env, &inside, said("my secret")).await.0, 200);
}

const WS_OWN: &str = "sk-workspace-byok-0123456789";
const ACCT_OWN: &str = "sk-account-byok-9876543210";

/// The `authorization` header of the last chat request the simulator received.
fn last_auth(env: &Env) -> String {
    let reqs = env.sim.requests_where(|r| r.path.ends_with("/chat/completions"));
    let last = reqs.last().unwrap();
    last.headers.iter().find(|(n, _)| n == "authorization").map(|(_, v)| v.clone()).unwrap_or_default()
}

#[tokio::test]
async fn a_workspace_byok_key_serves_only_keys_in_its_workspace() {
    let env = Env::start().await;
    let admin = env.admin_key().await;
    let ws = workspace(&env, &admin, "Own keys").await;
    let (inside, _) = key(&env, &admin, json!({"workspace_id": ws})).await;
    let v = call(
        &env,
        "POST",
        &admin,
        "/byok",
        Some(json!({"provider": "sim", "api_key": WS_OWN, "workspace_id": ws})),
        201,
    )
    .await;
    assert_eq!(v["data"]["workspace_id"], ws.as_str());
    call(
        &env,
        "POST",
        &admin,
        "/byok",
        Some(json!({"provider": "sim", "api_key": "sk-x1234567", "workspace_id": "ws_nope"})),
        404,
    )
    .await;

    assert_eq!(chat(&env, &inside, body("sim/text")).await.0, 200);
    assert_eq!(last_auth(&env), format!("Bearer {WS_OWN}"));
    assert_eq!(chat(&env, &env.key, body("sim/text")).await.0, 200);
    assert_eq!(last_auth(&env), "Bearer sk-upstream-secret", "a key outside the workspace uses the shared key");

    // With an account-level key too: the workspace's comes first for its keys, the account's serves the rest.
    call(&env, "POST", &admin, "/byok", Some(json!({"provider": "sim", "api_key": ACCT_OWN})), 201).await;
    let (status, v) = chat(&env, &inside, body("sim/text")).await;
    assert_eq!(status, 200);
    assert_eq!(v["usage"]["is_byok"], true);
    assert_eq!(last_auth(&env), format!("Bearer {WS_OWN}"));
    assert_eq!(chat(&env, &env.key, body("sim/text")).await.0, 200);
    assert_eq!(last_auth(&env), format!("Bearer {ACCT_OWN}"));
    // A workspace with BYOK keys is not deleted from under them.
    let inside_hash = hash_key(&inside);
    call(&env, "DELETE", &admin, &format!("/keys/{inside_hash}"), None, 200).await;
    call(&env, "DELETE", &admin, &format!("/workspaces/{ws}"), None, 400).await;
}

/// The system prompt the simulator received last.
fn last_system(env: &Env) -> Value {
    env.sim.requests().last().unwrap().body["messages"][0]["content"].clone()
}

#[tokio::test]
async fn presets_resolve_workspace_first_then_account() {
    let env = Env::start().await;
    let admin = env.admin_key().await;
    let ws = workspace(&env, &admin, "Presets").await;
    let (inside, _) = key(&env, &admin, json!({"workspace_id": ws})).await;
    let config = |who: &str| json!({"model": "sim/text", "system_prompt": format!("from the {who}")});
    call(&env, "PUT", &admin, "/presets/p", Some(config("account")), 201).await;
    let v = call(&env, "PUT", &admin, &format!("/presets/p?workspace_id={ws}"), Some(config("workspace")), 201).await;
    assert_eq!(v["data"]["workspace_id"], ws.as_str());
    call(&env, "PUT", &admin, "/presets/p?workspace_id=ws_nope", Some(config("nowhere")), 404).await;

    let by_preset = json!({"model": "@preset/p", "messages": [{"role": "user", "content": "hi"}]});
    assert_eq!(chat(&env, &inside, by_preset.clone()).await.0, 200);
    assert_eq!(last_system(&env), "from the workspace");
    assert_eq!(chat(&env, &env.key, by_preset.clone()).await.0, 200);
    assert_eq!(last_system(&env), "from the account");

    let listed = call(&env, "GET", &admin, &format!("/presets?workspace_id={ws}"), None, 200).await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);
    let got = call(&env, "GET", &inside, "/presets/p", None, 200).await;
    assert_eq!(got["data"]["config"]["system_prompt"], "from the workspace");
    let got = call(&env, "GET", &env.key, "/presets/p", None, 200).await;
    assert_eq!(got["data"]["workspace_id"], Value::Null);

    // Only in the workspace: other keys do not find it; gone, the account's serves.
    call(&env, "PUT", &admin, &format!("/presets/only-ws?workspace_id={ws}"), Some(config("workspace")), 201).await;
    let only = json!({"model": "@preset/only-ws", "messages": [{"role": "user", "content": "hi"}]});
    assert_eq!(chat(&env, &inside, only.clone()).await.0, 200);
    assert_eq!(chat(&env, &env.key, only).await.0, 404);
    call(&env, "DELETE", &admin, &format!("/presets/p?workspace_id={ws}"), None, 200).await;
    assert_eq!(chat(&env, &inside, by_preset).await.0, 200);
    assert_eq!(last_system(&env), "from the account");
}

/// RFC 7636 appendix B: a verifier and its S256 challenge.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

#[tokio::test]
async fn a_pkce_code_with_a_workspace_id_grants_a_key_in_that_workspace() {
    let env = Env::start().await;
    let admin = env.admin_key().await;
    let ws = workspace(&env, &admin, "Apps").await;
    let code = |ws: &str| json!({"code_challenge": CHALLENGE, "code_challenge_method": "S256", "workspace_id": ws});
    call(&env, "POST", &env.key, "/auth/keys/code", Some(code("ws_nope")), 404).await;
    let v = call(&env, "POST", &env.key, "/auth/keys/code", Some(code(&ws)), 200).await;
    let id = v["data"]["id"].as_str().unwrap();
    let exchange = json!({"code": id, "code_verifier": VERIFIER, "code_challenge_method": "S256"});
    let r = env.http.post(env.url("/auth/keys")).json(&exchange).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let granted: Value = r.json().await.unwrap();
    let hash = hash_key(granted["key"].as_str().unwrap());
    let k = call(&env, "GET", &admin, &format!("/keys/{hash}"), None, 200).await;
    assert_eq!(k["data"]["workspace_id"], ws.as_str());

    // A member's code: the key is theirs, and only in a workspace they belong to.
    let m = member(&env, &admin, "Dev", "member").await;
    let mgr = member_manager(&env, &admin, &m).await;
    call(&env, "POST", &mgr, "/auth/keys/code", Some(code(&ws)), 403).await;
    call(&env, "POST", &admin, &format!("/workspaces/{ws}/members"), Some(json!({"member_ids": [m]})), 200).await;
    let v = call(&env, "POST", &mgr, "/auth/keys/code", Some(code(&ws)), 200).await;
    let exchange = json!({"code": v["data"]["id"], "code_verifier": VERIFIER, "code_challenge_method": "S256"});
    let r = env.http.post(env.url("/auth/keys")).json(&exchange).send().await.unwrap();
    let granted: Value = r.json().await.unwrap();
    let hash = hash_key(granted["key"].as_str().unwrap());
    let k = call(&env, "GET", &mgr, &format!("/keys/{hash}"), None, 200).await;
    assert_eq!(
        (k["data"]["workspace_id"].as_str(), k["data"]["member_id"].as_str()),
        (Some(ws.as_str()), Some(m.as_str()))
    );
}
