//! Spend control under concurrency: many requests racing against a small
//! limit or balance cannot together spend past it, and every cent spent is
//! in the ledger.

use std::time::Duration;

use serde_json::{Value, json};
use switchyard_api::NanoUsd;
use switchyard_store::Billing;

use crate::common::Env;

/// $0.00002 a request (10 prompt + 5 completion tokens), each in flight for
/// a while so that the requests really overlap.
const SLOW: &str = "[[models]]\nid = \"r/slow\"\n[[models.endpoints]]\nprovider = \"sim\"\n\
    model = \"first_byte_ms=150,tokens=5,prompt_tokens=10\"\nprompt = \"0.000001\"\ncompletion = \"0.000002\"\n";

/// Fires `n` concurrent requests with `key` and returns (successes, 402s, sum of `usage.cost`).
async fn race(env: &Env, key: &str, n: usize) -> (usize, usize, f64) {
    let body =
        json!({"model": "r/slow", "max_tokens": 5, "messages": [{"role": "user", "content": "Hello, simulator."}]});
    let calls = (0..n).map(|_| {
        let req = env.http.post(env.url("/chat/completions")).bearer_auth(key).json(&body);
        async move {
            let r = req.send().await.unwrap();
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap())
        }
    });
    let results = futures_util::future::join_all(calls).await;
    let ok: Vec<&Value> = results.iter().filter(|(s, _)| *s == 200).map(|(_, v)| v).collect();
    let refused = results.iter().filter(|(s, _)| *s == 402).count();
    assert_eq!(ok.len() + refused, n, "every request is answered 200 or 402");
    (ok.len(), refused, ok.iter().map(|v| v["usage"]["cost"].as_f64().unwrap()).sum())
}

/// Waits for the background writer, then checks the ledger against the generations.
async fn ledger_reconciles(env: &Env, account: &str, expected: NanoUsd) {
    let store = env.gw.store();
    for _ in 0..100 {
        if store.generations_cost(account).await.unwrap() == expected {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(store.generations_cost(account).await.unwrap(), expected);
    for check in store.verify_ledger().await.unwrap() {
        assert!(check.is_ok(), "{check:?}");
    }
}

#[tokio::test]
async fn two_hundred_racing_requests_never_spend_past_a_key_limit() {
    let env = Env::start_with(SLOW).await;
    let store = env.gw.store();
    let account = store.default_account().await.unwrap().unwrap();
    let admin = store.create_key(&account.id, "admin", true, None).await.unwrap().plaintext;
    let created: Value = env
        .http
        .post(env.url("/keys"))
        .bearer_auth(&admin)
        .json(&json!({"name": "racer", "limit": 0.0005}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = created["key"].as_str().unwrap().to_owned();

    let (ok, refused, spent) = race(&env, &key, 200).await;
    assert!(spent <= 0.0005 + 1e-12, "spent ${spent} of a $0.0005 limit");
    assert!(ok >= 14, "the limit is used, not left idle: {ok} served");
    assert!(refused > 0);
    let expected = NanoUsd((spent * 1e9).round() as i64);
    ledger_reconciles(&env, &account.id, expected).await;
}

#[tokio::test]
async fn two_hundred_racing_requests_never_overdraw_a_prepaid_balance() {
    let env = Env::start_with(SLOW).await;
    let store = env.gw.store();
    let account = store.create_account("customer", Billing::Prepaid).await.unwrap();
    store.grant_credits(&account.id, NanoUsd::parse_usd("0.0003").unwrap(), "purchase").await.unwrap();
    let key = store.create_key(&account.id, "c", false, None).await.unwrap().plaintext;

    let (ok, _, spent) = race(&env, &key, 200).await;
    assert!(spent <= 0.0003 + 1e-12, "spent ${spent} of a $0.0003 balance");
    assert!(ok >= 8, "{ok} served");
    let expected = NanoUsd((spent * 1e9).round() as i64);
    ledger_reconciles(&env, &account.id, expected).await;
    let credits = store.credits(&account.id).await.unwrap();
    assert!(credits.balance().0 >= 0, "never overdrawn: {:?}", credits.balance());
}
