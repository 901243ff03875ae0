//! Switchyard's own request caps (reference §8.1): per key when configured,
//! and the free-model caps per account, answered with 429 and retry headers.

use serde_json::Value;
use switchyard_api::NanoUsd;

use crate::common::{Env, body};

const FREE_MODEL: &str =
    "[[models]]\nid = \"acme/gift:free\"\n[[models.endpoints]]\nprovider = \"sim\"\nmodel = \"tokens=1\"\n";

/// Waits out the last seconds of a UTC minute, so a test's requests share one window.
async fn clear_of_a_minute_boundary() {
    let into_minute = switchyard_store::now_ms().rem_euclid(60_000);
    if into_minute > 55_000 {
        tokio::time::sleep(std::time::Duration::from_millis((60_000 - into_minute + 100) as u64)).await;
    }
}

#[tokio::test]
async fn free_models_are_capped_per_minute_with_retry_headers() {
    let env = Env::start_with(&format!("{FREE_MODEL}[limits]\nfree_per_minute = 3\n")).await;
    clear_of_a_minute_boundary().await;
    for _ in 0..3 {
        assert_eq!(env.chat(body("acme/gift:free")).await.status(), 200);
    }
    let before = env.sim.requests().len();
    let r = env.chat(body("acme/gift:free")).await;
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["x-ratelimit-limit"], "3");
    assert_eq!(r.headers()["x-ratelimit-remaining"], "0");
    let retry: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["code"], 429);
    assert_eq!(e["error"]["metadata"]["error_type"], "rate_limit_exceeded");
    assert_eq!(env.sim.requests().len(), before, "nothing was sent upstream");
    // Paid models are not capped.
    assert_eq!(env.chat(body("sim/text")).await.status(), 200);
}

#[tokio::test]
async fn the_daily_free_cap_rises_with_purchased_credits() {
    let limits = "[limits]\nfree_per_minute = 100\nfree_per_day = 2\nfree_per_day_with_credits = 4\n";
    let env = Env::start_with(&format!("{FREE_MODEL}{limits}")).await;
    for _ in 0..2 {
        assert_eq!(env.chat(body("acme/gift:free")).await.status(), 200);
    }
    let r = env.chat(body("acme/gift:free")).await;
    assert_eq!(r.status(), 429);
    let e: Value = r.json().await.unwrap();
    assert!(e["error"]["message"].as_str().unwrap().contains("buy $10"), "{e}");

    let env = Env::start_with(&format!("{FREE_MODEL}{limits}")).await;
    let account = env.gw.store().default_account().await.unwrap().unwrap();
    env.gw.store().grant_credits(&account.id, NanoUsd::parse_usd("10").unwrap(), "purchase").await.unwrap();
    for _ in 0..4 {
        assert_eq!(env.chat(body("openrouter/free")).await.status(), 200);
    }
    assert_eq!(env.chat(body("acme/gift:free")).await.status(), 429);
}

#[tokio::test]
async fn a_key_cap_counts_every_request_of_the_key() {
    let env = Env::start_with("[limits]\nkey_requests = 2\nkey_interval_secs = 60\n").await;
    clear_of_a_minute_boundary().await;
    assert_eq!(env.chat(body("sim/text")).await.status(), 200);
    assert_eq!(env.chat(body("sim/e400")).await.status(), 400);
    let r = env.chat(body("sim/text")).await;
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["x-ratelimit-limit"], "2");
}
