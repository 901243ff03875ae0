//! BYOK: an account's own provider keys, managed under `/api/v1/byok`,
//! tried around the shared key, charged a 5% fee; the key itself never
//! shows in a response or the gateway's log.

use std::io::Write;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use switchyard_store::Billing;

use crate::common::{Env, body, chunks, sse_events, stream_body};

const OWN: &str = "sk-own-byok-0123456789-abcd";
const BAD: &str = "sk-bad-revoked-9876543210-wxyz";
const SHARED: &str = "Bearer sk-upstream-secret";

/// Sends, asserts the status, returns the JSON body; no body may show a key.
async fn call(env: &Env, method: &str, key: &str, path: &str, body: Option<Value>, status: u16) -> Value {
    let (got, v) = env.send(method, key, path, body).await;
    let text = v.to_string();
    assert_eq!(got, status, "{method} {path}: {text}");
    for secret in [OWN, BAD, "0123456789", "9876543210"] {
        assert!(!text.contains(secret), "{method} {path} shows a key: {text}");
    }
    v
}

async fn add(env: &Env, admin: &str, body: Value) -> String {
    let v = call(env, "POST", admin, "/byok", Some(body), 201).await;
    v["data"]["id"].as_str().unwrap().to_owned()
}

/// The `authorization` header of each chat request the simulator received.
fn auths(env: &Env) -> Vec<String> {
    env.sim
        .requests_where(|r| r.path.ends_with("/chat/completions"))
        .iter()
        .map(|r| r.headers.iter().find(|(n, _)| n == "authorization").map(|(_, v)| v.clone()).unwrap_or_default())
        .collect()
}

fn bearer(key: &str) -> String {
    format!("Bearer {key}")
}

async fn chat_json(env: &Env, model: &str) -> (u16, Value) {
    let r = env.chat(body(model)).await;
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    assert!(!text.contains(OWN) && !text.contains(BAD), "{text}");
    (status, serde_json::from_str(&text).unwrap())
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-12
}

#[tokio::test]
async fn an_own_key_serves_first_and_pays_five_percent() {
    let env = Env::start().await;
    let admin = env.admin_key().await;
    let v = call(&env, "POST", &admin, "/byok", Some(json!({"provider": "sim", "api_key": OWN, "label": "mine"})), 201)
        .await;
    let d = &v["data"];
    assert_eq!((d["provider"].as_str(), d["label"].as_str()), (Some("sim"), Some("mine")));
    assert_eq!((d["last4"].as_str(), d["priority"].as_str()), (Some("…abcd"), Some("prioritized")));
    assert_eq!(d["always_use"], false);
    assert!(d["created_at"].as_str().unwrap().ends_with('Z'));

    // sim/text: 10 prompt tokens at $1/M and 5 completion tokens at $2/M = $0.00002 list.
    let (status, v) = chat_json(&env, "sim/text").await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(auths(&env), [bearer(OWN)], "the account's key, not the shared one");
    let usage = &v["usage"];
    assert_eq!(usage["is_byok"], true);
    assert!(close(usage["cost"].as_f64().unwrap(), 0.000001), "{usage}");
    assert!(close(usage["cost_details"]["upstream_inference_cost"].as_f64().unwrap(), 0.00002), "{usage}");

    // The generation records the fee as its cost.
    let g = env.generation_json(v["id"].as_str().unwrap()).await;
    assert!(close(g["total_cost"].as_f64().unwrap(), 0.000001), "{g}");
    assert_eq!(g["is_byok"], true);
    assert!(close(g["upstream_inference_cost"].as_f64().unwrap(), 0.00002), "{g}");
    assert_eq!(g["provider_responses"][0]["is_byok"], true);
    assert!(!g.to_string().contains(OWN));

    // Streams too: the usage chunk says BYOK and carries the fee.
    let r = env.chat(stream_body("sim/text")).await;
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    assert!(!text.contains(OWN));
    let (events, _) = sse_events(&text);
    let last = chunks(&events).into_iter().rev().find(|c| c["usage"].is_object()).unwrap();
    assert_eq!(last["usage"]["is_byok"], true);
    assert!(close(last["usage"]["cost"].as_f64().unwrap(), 0.000001), "{last}");
    assert_eq!(auths(&env), [bearer(OWN), bearer(OWN)]);

    // A provider without a key of the account still uses the shared one.
    env.sim.clear();
    let (status, v) = chat_json(&env, "sim/fallback").await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(auths(&env)[0], bearer(OWN), "the sim endpoint comes first, with the own key");
    assert_eq!(v["usage"]["is_byok"], false, "served by sim-b, which has no key of the account: {v}");
}

#[tokio::test]
async fn own_keys_go_before_every_shared_attempt_and_fallback_keys_after() {
    let env = Env::start().await;
    let admin = env.admin_key().await;
    // sim/fallback plans sim (failing, free) before sim-b; sim-b has no shared key.
    let id = add(&env, &admin, json!({"provider": "sim-b", "api_key": OWN})).await;
    let (status, v) = chat_json(&env, "sim/fallback").await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(auths(&env), [bearer(OWN)], "the own key of sim-b before the shared sim endpoint");
    assert_eq!(v["usage"]["is_byok"], true);

    // As a fallback key it comes after the whole shared plan.
    call(&env, "PATCH", &admin, &format!("/byok/{id}"), Some(json!({"priority": "fallback"})), 200).await;
    env.sim.clear();
    let (status, v) = chat_json(&env, "sim/fallback").await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(auths(&env), [SHARED.to_owned(), String::new()], "shared sim, then shared sim-b (no key)");
    assert_eq!(v["usage"]["is_byok"], false);

    // When shared capacity fails, the fallback key is tried last.
    add(&env, &admin, json!({"provider": "sim", "api_key": OWN, "priority": "fallback"})).await;
    env.sim.clear();
    let (status, _) = chat_json(&env, "sim/e500").await;
    assert!(status >= 500, "{status}");
    assert_eq!(auths(&env), [SHARED.to_owned(), bearer(OWN)]);
}

#[tokio::test]
async fn a_refused_own_key_falls_back_to_the_shared_key_unless_always_use() {
    let env = Env::start().await;
    let admin = env.admin_key().await;
    let id = add(&env, &admin, json!({"provider": "sim", "api_key": BAD})).await;

    let r = env.chat(body("sim/text")).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(auths(&env), [bearer(BAD), SHARED.to_owned()], "401 on the own key, then the shared key");
    assert_eq!(v["usage"]["is_byok"], false);
    assert!(close(v["usage"]["cost"].as_f64().unwrap(), 0.00002), "list price on shared capacity: {v}");
    let g = env.generation_json(v["id"].as_str().unwrap()).await;
    let attempts = g["provider_responses"].as_array().unwrap();
    assert_eq!(attempts.len(), 2);
    assert_eq!((attempts[0]["is_byok"].as_bool(), attempts[0]["status"].as_u64()), (Some(true), Some(401)));
    assert_eq!(attempts[1]["is_byok"], false);
    assert!(!g.to_string().contains(BAD));

    // Always use: never the shared key; the provider's refusal is the answer.
    let v = call(&env, "PATCH", &admin, &format!("/byok/{id}"), Some(json!({"always_use": true})), 200).await;
    assert_eq!(v["data"]["always_use"], true);
    env.sim.clear();
    let (status, v) = chat_json(&env, "sim/text").await;
    assert_eq!(status, 401, "{v}");
    assert_eq!(auths(&env), [bearer(BAD)]);

    // Disabled: the key is ignored, shared capacity serves again.
    call(&env, "PATCH", &admin, &format!("/byok/{id}"), Some(json!({"disabled": true})), 200).await;
    env.sim.clear();
    let (status, v) = chat_json(&env, "sim/text").await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(auths(&env), [SHARED.to_owned()]);

    // Deleted: gone from the list and from routing.
    call(&env, "PATCH", &admin, &format!("/byok/{id}"), Some(json!({"disabled": false})), 200).await;
    call(&env, "DELETE", &admin, &format!("/byok/{id}"), None, 200).await;
    env.sim.clear();
    let (status, _) = chat_json(&env, "sim/text").await;
    assert_eq!(status, 200);
    assert_eq!(auths(&env), [SHARED.to_owned()]);
    let v = call(&env, "GET", &admin, "/byok", None, 200).await;
    assert_eq!(v["data"], json!([]));
}

#[tokio::test]
async fn always_use_reserves_only_the_fee() {
    let env = Env::start().await;
    let store = env.gw.store();
    let account = store.create_account("prepaid", Billing::Prepaid).await.unwrap();
    store.grant_credits(&account.id, switchyard_api::NanoUsd(10_000), "test").await.unwrap();
    let admin = store.create_key(&account.id, "admin", true, None).await.unwrap().plaintext;
    let key = store.create_key(&account.id, "k", false, None).await.unwrap().plaintext;
    // $0.00001 of credit. The worst case (a 17-token prompt bound at $1/M and
    // 40 output tokens at $2/M) is $0.000097 at list price, too much; its 5%
    // fee, $0.00000485, fits.
    let req = json!({"model": "sim/text", "max_tokens": 40, "messages": [{"role": "user", "content": "Hi"}]});
    let r = env.chat_as(&key, req.clone()).await;
    assert_eq!(r.status(), 402, "the shared worst case does not fit");
    add(&env, &admin, json!({"provider": "sim", "api_key": OWN, "always_use": true})).await;
    let r = env.chat_as(&key, req).await;
    assert_eq!(r.status(), 200, "only the fee is reserved: {}", r.text().await.unwrap());
}

#[tokio::test]
async fn each_protocol_sends_the_own_key_in_its_own_header() {
    let env = Env::start().await;
    let admin = env.admin_key().await;
    for (provider, model, header, value) in [
        ("anth", "anth/text", "x-api-key", format!("{OWN}-anth")),
        ("gem", "gem/text", "x-goog-api-key", format!("{OWN}-gem")),
        ("coh", "coh/text", "authorization", format!("Bearer {OWN}-coh")),
        ("az", "az/text", "api-key", format!("{OWN}-az")),
    ] {
        let key = value.trim_start_matches("Bearer ");
        add(&env, &admin, json!({"provider": provider, "api_key": key})).await;
        env.sim.clear();
        let r = env.chat(body(model)).await;
        assert_eq!(r.status(), 200, "{model}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["usage"]["is_byok"], true, "{model}: {v}");
        let sent = env.sim.requests();
        let got = sent[0].headers.iter().find(|(n, _)| n == header).map(|(_, v)| v.as_str());
        assert_eq!(got, Some(value.as_str()), "{model}");
    }
}

#[tokio::test]
async fn the_api_checks_input_and_keeps_accounts_apart() {
    let env = Env::start().await;
    let admin = env.admin_key().await;
    let id = add(&env, &admin, json!({"provider": "sim", "api_key": OWN, "label": "a"})).await;

    // Inference keys cannot manage BYOK keys.
    let (status, _) = env.send("GET", &env.key, "/byok", None).await;
    assert_eq!(status, 403);
    let (status, _) = env.send("POST", &env.key, "/byok", Some(json!({"provider": "sim", "api_key": OWN}))).await;
    assert_eq!(status, 403);

    // Bad input: 400s that never echo the key.
    let bad = [
        json!({"provider": "nope", "api_key": OWN}),
        json!({"provider": "sim"}),
        json!({"provider": "sim", "api_key": ""}),
        json!({"api_key": OWN}),
        json!({"provider": "sim", "api_key": OWN, "priority": "first"}),
        json!({"provider": "sim", "api_key": OWN, "always_use": "yes"}),
        json!({"provider": "sim", "api_key": OWN, "colour": "blue"}),
        json!({"provider": "sim", "api_key": format!("{OWN}\n0123456789")}),
    ];
    for b in bad {
        call(&env, "POST", &admin, "/byok", Some(b), 400).await;
    }
    let v = call(&env, "POST", &admin, "/byok", Some(json!({"provider": "nope", "api_key": OWN})), 400).await;
    assert!(v["error"]["message"].as_str().unwrap().contains("sim"), "names the enabled providers: {v}");
    // Bedrock signs with AWS credentials: no API key to bring.
    let v = call(&env, "POST", &admin, "/byok", Some(json!({"provider": "bed", "api_key": OWN})), 400).await;
    assert!(v["error"]["message"].as_str().unwrap().contains("API key"), "{v}");
    // Key-based protocols are all accepted.
    for p in ["anth", "gem", "coh", "az"] {
        add(&env, &admin, json!({"provider": p, "api_key": format!("{OWN}-{p}")})).await;
    }
    let v = call(&env, "PATCH", &admin, &format!("/byok/{id}"), Some(json!({"api_key": "sk-new"})), 400).await;
    assert!(v["error"]["message"].as_str().unwrap().contains("cannot be changed"), "{v}");

    // List and get: settings, never the key.
    let v = call(&env, "GET", &admin, "/byok", None, 200).await;
    let list = v["data"].as_array().unwrap();
    assert_eq!(list.len(), 5);
    assert_eq!(list[0]["id"], id.as_str());
    assert!(list.iter().all(|k| k.get("api_key").is_none() && k["last4"].as_str().unwrap().starts_with('…')));
    let v = call(&env, "GET", &admin, &format!("/byok/{id}"), None, 200).await;
    assert_eq!((v["data"]["label"].as_str(), v["data"]["disabled"].as_bool()), (Some("a"), Some(false)));
    let v = call(&env, "PATCH", &admin, &format!("/byok/{id}"), Some(json!({"label": null})), 200).await;
    assert_eq!(v["data"]["label"], Value::Null);

    // Another account sees none of it: 404 for each of this account's ids.
    let store = env.gw.store();
    let other = store.create_account("other", Billing::Postpaid).await.unwrap();
    let other_admin = store.create_key(&other.id, "admin", true, None).await.unwrap().plaintext;
    let v = call(&env, "GET", &other_admin, "/byok", None, 200).await;
    assert_eq!(v["data"], json!([]));
    let path = format!("/byok/{id}");
    call(&env, "GET", &other_admin, &path, None, 404).await;
    call(&env, "PATCH", &other_admin, &path, Some(json!({"disabled": true})), 404).await;
    call(&env, "DELETE", &other_admin, &path, None, 404).await;
    call(&env, "GET", &admin, &path, None, 200).await;

    // Deleted: 404 from then on.
    let v = call(&env, "DELETE", &admin, &path, None, 200).await;
    assert_eq!(v["deleted"], true);
    call(&env, "GET", &admin, &path, None, 404).await;
    call(&env, "DELETE", &admin, &path, None, 404).await;
}

/// Collects everything the gateway logs while the test runs.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

#[tokio::test]
async fn the_key_never_reaches_the_log() {
    // A current-thread runtime: the gateway's tasks run on this thread,
    // under this thread's subscriber, at every level.
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(captured.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    // With a single registered dispatcher, tracing decides whether a call
    // site is enabled by the default subscriber of whichever thread reaches
    // it first: another test's thread (no subscriber) would switch the
    // master-key line off for good. A second one makes it ask all of them.
    let _second = tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default());

    let env = Env::start().await;
    let admin = env.admin_key().await;
    let good = add(&env, &admin, json!({"provider": "sim", "api_key": OWN})).await;
    let (status, _) = chat_json(&env, "sim/text").await;
    assert_eq!(status, 200);
    call(&env, "DELETE", &admin, &format!("/byok/{good}"), None, 200).await;
    add(&env, &admin, json!({"provider": "sim", "api_key": BAD, "always_use": true})).await;
    let (status, _) = chat_json(&env, "sim/text").await;
    assert_eq!(status, 401);
    let r = env.chat(stream_body("sim/text")).await;
    let _ = r.text().await.unwrap();
    call(&env, "GET", &admin, "/byok", None, 200).await;
    assert_eq!(auths(&env)[0], bearer(OWN), "the key did go upstream");

    let log = String::from_utf8_lossy(&captured.0.lock().unwrap()).into_owned();
    // Proof that this thread's lines were captured. (The start-up line about
    // the master key is not used: other tests register its callsite at the
    // same moment, and tracing may then cache it as uninteresting here.)
    assert!(log.contains("attempt failed"), "the log was captured: {}", &log[..log.len().min(2000)]);
    for secret in [OWN, BAD, "0123456789", "9876543210"] {
        assert!(!log.contains(secret), "the log shows `{secret}`");
    }
}

/// `GET /key` of `key`, once the writer has stored enough for its `byok_usage`
/// to be `byok` and its `usage` to be `usage`.
async fn key_once(env: &Env, key: &str, usage: f64, byok: f64) -> Value {
    let mut last = Value::Null;
    for _ in 0..200 {
        last = call(env, "GET", key, "/key", None, 200).await["data"].clone();
        let (u, b) = (last["usage"].as_f64().unwrap_or(-1.0), last["byok_usage"].as_f64().unwrap_or(-1.0));
        if close(u, usage) && close(b, byok) {
            return last;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("/key never showed usage {usage} and byok_usage {byok}: {last}");
}

#[tokio::test]
async fn byok_spend_shows_in_key_and_activity_and_counts_in_a_limit_that_includes_it() {
    let env = Env::start().await;
    let admin = env.admin_key().await;
    add(&env, &admin, json!({"provider": "sim", "api_key": OWN})).await;

    // sim/text: $0.00002 at list price, billed by the provider; the fee is $0.000001.
    let (status, v) = chat_json(&env, "sim/text").await;
    assert_eq!(status, 200, "{v}");
    env.generation_json(v["id"].as_str().unwrap()).await;
    let me = key_once(&env, &env.key, 0.000001, 0.00002).await;
    for period in ["daily", "weekly", "monthly"] {
        assert!(close(me[format!("usage_{period}")].as_f64().unwrap(), 0.000001), "{me}");
        assert!(close(me[format!("byok_usage_{period}")].as_f64().unwrap(), 0.00002), "{me}");
    }
    let activity = call(&env, "GET", &admin, "/activity", None, 200).await;
    let items = activity["data"].as_array().unwrap();
    let sum = |field: &str| items.iter().map(|i| i[field].as_f64().unwrap()).sum::<f64>();
    assert!(close(sum("byok_usage_inference"), 0.00002), "{activity}");
    assert!(close(sum("usage"), 0.000001), "{activity}");

    // Two keys limited to $0.00004 a day. Each BYOK request spends the fee
    // ($0.000001); the one that includes BYOK also spends the list cost
    // ($0.00002), and reserves the list cost too: with max_tokens 5, up to
    // $0.000035 at list price and its fee.
    let create = |name: &str, include: bool| json!({"name": name, "limit": 0.00004, "limit_reset": "daily", "include_byok_in_limit": include});
    let capped = call(&env, "POST", &admin, "/keys", Some(create("with-byok", true)), 201).await;
    let (capped, capped_hash) =
        (capped["key"].as_str().unwrap().to_owned(), capped["data"]["hash"].as_str().unwrap().to_owned());
    let plain = call(&env, "POST", &admin, "/keys", Some(create("without-byok", false)), 201).await;
    let plain = plain["key"].as_str().unwrap().to_owned();
    let small = || {
        let mut b = body("sim/text");
        b["max_tokens"] = json!(5);
        b
    };
    for _ in 0..3 {
        assert_eq!(env.chat_as(&plain, small()).await.status(), 200, "only fees count");
    }
    assert_eq!(env.chat_as(&capped, small()).await.status(), 200);
    let r = env.chat_as(&capped, small()).await;
    assert_eq!(r.status(), 402, "$0.000021 spent: the next worst case does not fit");
    let msg = r.json::<Value>().await.unwrap()["error"]["message"].as_str().unwrap().to_owned();
    assert!(msg.contains("this key's limit"), "{msg}");

    let me = key_once(&env, &capped, 0.000001, 0.00002).await;
    assert!(close(me["byok_usage_daily"].as_f64().unwrap(), 0.00002), "{me}");
    assert!(close(me["limit_remaining"].as_f64().unwrap(), 0.000019), "{me}");
    let me = key_once(&env, &plain, 0.000003, 0.00006).await;
    assert!(close(me["limit_remaining"].as_f64().unwrap(), 0.000037), "{me}");

    // Lowered to what it has spent with its BYOK list cost, the limit is reached.
    let patch = json!({"limit": 0.000021});
    call(&env, "PATCH", &admin, &format!("/keys/{capped_hash}"), Some(patch), 200).await;
    let r = env.chat_as(&capped, body("sim/text")).await;
    assert_eq!(r.status(), 402);
    let msg = r.json::<Value>().await.unwrap()["error"]["message"].as_str().unwrap().to_owned();
    assert!(msg.contains("Key limit reached") && msg.contains("$0.000021"), "{msg}");
}
