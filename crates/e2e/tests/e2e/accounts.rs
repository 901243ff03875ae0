//! Keys, credits, generations and their account boundaries.

use serde_json::Value;
use switchyard_api::NanoUsd;
use switchyard_store::Billing;

use crate::common::{Env, body};

#[tokio::test]
async fn prepaid_account_without_credits_gets_402_except_for_free_models() {
    let env = Env::start().await;
    let store = env.gw.store();
    let acct = store.create_account("customer", Billing::Prepaid).await.unwrap();
    let key = store.create_key(&acct.id, "c", false, None).await.unwrap().plaintext;
    // Each request reserves its worst case: a prompt bound of 25 tokens and 5
    // output tokens, $0.000035; it then costs $0.00002 (10 + 5 tokens).
    let small = || {
        let mut b = body("sim/text");
        b["max_tokens"] = serde_json::json!(5);
        b
    };
    let r = env.chat_as(&key, small()).await;
    assert_eq!(r.status(), 402);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], 402);
    assert_eq!(v["error"]["metadata"]["error_type"], "payment_required");
    assert_eq!(env.chat_as(&key, body("sim/free")).await.status(), 200);

    store.grant_credits(&acct.id, NanoUsd::parse_usd("0.00006").unwrap(), "test").await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await; // balance cache TTL
    // Without max_tokens the whole context window could be generated: more than the balance.
    let r = env.chat_as(&key, body("sim/text")).await;
    assert_eq!(r.status(), 402);
    let msg = r.json::<Value>().await.unwrap()["error"]["message"].as_str().unwrap().to_owned();
    assert!(msg.contains("max_tokens"), "{msg}");
    let r = env.chat_as(&key, small()).await;
    assert_eq!(r.status(), 200);
    let id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    // The charge is immediate in memory: $0.00004 left covers one more worst case.
    assert_eq!(env.chat_as(&key, small()).await.status(), 200);
    assert_eq!(env.chat_as(&key, small()).await.status(), 402, "$0.00002 left cannot cover $0.000035");

    let g = env.generation(&key, &id).await;
    assert_eq!(g.status(), 200);
    let credits: Value = env.get_as(&key, "/credits").await.json().await.unwrap();
    assert_eq!(credits["data"]["total_credits"].as_f64().unwrap(), 0.00006);
    assert_eq!(credits["data"]["total_usage"].as_f64().unwrap(), 0.00004);
}

#[tokio::test]
async fn the_operator_account_is_postpaid_and_never_blocked() {
    let env = Env::start().await;
    for _ in 0..3 {
        assert_eq!(env.chat(body("sim/text")).await.status(), 200);
    }
    let acct = env.gw.store().default_account().await.unwrap().unwrap();
    assert_eq!(acct.billing, Billing::Postpaid);
}

#[tokio::test]
async fn generations_are_visible_only_to_their_account() {
    let env = Env::start().await;
    let id = env.chat(body("sim/text")).await.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    assert_eq!(env.generation(&env.key, &id).await.status(), 200);
    let store = env.gw.store();
    let other = store.create_account("other", Billing::Postpaid).await.unwrap();
    let other_key = store.create_key(&other.id, "o", false, None).await.unwrap().plaintext;
    let r = env.get_as(&other_key, &format!("/generation?id={id}")).await;
    assert_eq!(r.status(), 404);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], 404);
    assert_eq!(env.get_as(&env.key, "/generation?id=gen-missing").await.status(), 404);
    assert_eq!(env.get_as(&env.key, "/generation").await.status(), 400);
}

#[tokio::test]
async fn key_endpoint_reports_the_key_and_its_usage() {
    let env = Env::start().await;
    let id = env.chat(body("sim/text")).await.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    env.generation_json(&id).await; // wait for the writer
    let v: Value = env.get_as(&env.key, "/key").await.json().await.unwrap();
    let d = &v["data"];
    assert!(d["label"].as_str().unwrap().starts_with("sk-sy-v1-"));
    assert_eq!(d["usage"].as_f64().unwrap(), 0.00002);
    assert_eq!(d["is_management_key"], false);
    assert!(d["limit"].is_null());
}

#[tokio::test]
async fn management_keys_cannot_run_inference() {
    let env = Env::start().await;
    let store = env.gw.store();
    let acct = store.default_account().await.unwrap().unwrap();
    let admin = store.create_key(&acct.id, "admin2", true, None).await.unwrap().plaintext;
    let r = env.chat_as(&admin, body("sim/text")).await;
    assert_eq!(r.status(), 403);
}

#[tokio::test]
async fn shutdown_flushes_every_generation() {
    let env = Env::start().await;
    let mut ids = Vec::new();
    for _ in 0..20 {
        ids.push(env.chat(body("sim/text")).await.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned());
    }
    let store = env.gw.store().clone();
    let acct = store.default_account().await.unwrap().unwrap();
    env.gw.shutdown().await;
    for id in &ids {
        assert!(store.generation(id).await.unwrap().is_some(), "{id} flushed");
    }
    // Ledger and generations reconcile: 20 x $0.00002.
    assert_eq!(store.generations_cost(&acct.id).await.unwrap(), NanoUsd(400_000));
    assert_eq!(store.credits(&acct.id).await.unwrap().total_usage, NanoUsd(400_000));
}
