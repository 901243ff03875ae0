//! `GET /activity`: a management key's view of its account's daily usage.

use std::collections::BTreeMap;

use serde_json::Value;
use switchyard_store::{Billing, hash_key, now_ms, utc_date, utc_day};

use crate::common::{Env, body};

/// Per model: requests, prompt, completion and reasoning tokens, and cost
/// in nano-dollars, as the client saw them.
type Totals = BTreeMap<String, (i64, i64, i64, i64, i64)>;

fn nano(usd: f64) -> i64 {
    (usd * 1e9).round() as i64
}

/// Makes a chat and adds what its response reported to `totals`; returns its id.
async fn chat(env: &Env, key: &str, model: &str, totals: &mut Totals) -> String {
    let r = env.chat_as(key, body(model)).await;
    assert_eq!(r.status(), 200, "{model}");
    let v: Value = r.json().await.unwrap();
    let u = &v["usage"];
    let t = totals.entry(model.to_owned()).or_default();
    t.0 += 1;
    t.1 += u["prompt_tokens"].as_i64().unwrap();
    t.2 += u["completion_tokens"].as_i64().unwrap();
    t.3 += u["completion_tokens_details"]["reasoning_tokens"].as_i64().unwrap_or(0);
    t.4 += nano(u["cost"].as_f64().unwrap());
    v["id"].as_str().unwrap().to_owned()
}

async fn activity(env: &Env, key: &str, query: &str) -> (u16, Value) {
    let r = env.get_as(key, &format!("/activity{query}")).await;
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test]
async fn activity_sums_the_accounts_generations_per_day_model_and_endpoint() {
    let env = Env::start().await;
    let store = env.gw.store();
    let account = store.default_account().await.unwrap().unwrap();
    let admin = store.create_key(&account.id, "admin", true, None).await.unwrap().plaintext;
    let second = store.create_key(&account.id, "second", false, None).await.unwrap().plaintext;
    let today = utc_date(utc_day(now_ms()));

    // A failed, unbilled request first: written no later than the rest.
    assert_eq!(env.chat(body("sim/e400")).await.status(), 400);
    let mut mine = Totals::new();
    let mut ids = Vec::new();
    for model in ["sim/text", "sim/reasoning", "sim/text", "sim/reasoning", "sim/text"] {
        ids.push(chat(&env, &env.key, model, &mut mine).await);
    }
    let mut all = mine.clone();
    ids.push(chat(&env, &second, "sim/text", &mut all).await);
    for id in &ids {
        env.generation_json(id).await;
    }
    if utc_date(utc_day(now_ms())) != today {
        return; // Midnight UTC passed during the test: the rows span two days.
    }

    let (status, v) = activity(&env, &admin, "").await;
    assert_eq!(status, 200, "{v}");
    let rows = v["data"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "one row per model, the failed request not counted: {v}");
    let usages: Vec<f64> = rows.iter().map(|r| r["usage"].as_f64().unwrap()).collect();
    assert!(usages.windows(2).all(|w| w[0] >= w[1]), "highest usage first: {v}");
    let check = |rows: &[Value], totals: &Totals| {
        for r in rows {
            let model = r["model"].as_str().unwrap();
            let t = totals[model];
            assert_eq!(r["date"], today.as_str());
            assert_eq!(r["model_permaslug"], model);
            assert_eq!(r["provider_name"], "Simulator");
            assert!(r["endpoint_id"].as_str().unwrap().starts_with("sim/"), "{r}");
            assert_eq!(r["byok_usage_inference"], 0.0);
            assert_eq!(r["requests"], t.0, "{model}");
            assert_eq!(r["prompt_tokens"], t.1, "{model}");
            assert_eq!(r["completion_tokens"], t.2, "{model}");
            assert_eq!(r["reasoning_tokens"], t.3, "{model}");
            assert_eq!(nano(r["usage"].as_f64().unwrap()), t.4, "{model}: the sum of the responses' usage.cost");
        }
    };
    check(rows, &all);
    let reasoning = rows.iter().find(|r| r["model"] == "sim/reasoning").unwrap();
    assert!(reasoning["reasoning_tokens"].as_i64().unwrap() > 0);
    assert_eq!(reasoning["endpoint_id"], "sim/reasoning,cached=4,prompt_tokens=10");

    // The total agrees with the ledger's usage.
    let total: i64 = rows.iter().map(|r| nano(r["usage"].as_f64().unwrap())).sum();
    assert_eq!(total, store.credits(&account.id).await.unwrap().total_usage.0);

    // One key only; today only.
    let (status, v) = activity(&env, &admin, &format!("?api_key_hash={}", hash_key(&env.key))).await;
    assert_eq!(status, 200, "{v}");
    check(v["data"].as_array().unwrap(), &mine);
    let (status, v) = activity(&env, &admin, &format!("?date={today}")).await;
    assert_eq!(status, 200, "{v}");
    check(v["data"].as_array().unwrap(), &all);
    let yesterday = utc_date(utc_day(now_ms()) - 1);
    let (status, v) = activity(&env, &admin, &format!("?date={yesterday}")).await;
    assert_eq!((status, v["data"].as_array().unwrap().len()), (200, 0), "{v}");
}

#[tokio::test]
async fn activity_needs_a_management_key_a_date_in_the_window_and_a_key_of_the_account() {
    let env = Env::start().await;
    let store = env.gw.store();
    let account = store.default_account().await.unwrap().unwrap();
    let admin = store.create_key(&account.id, "admin", true, None).await.unwrap().plaintext;

    let (status, v) = activity(&env, &env.key, "").await;
    assert_eq!(status, 403, "an inference key: {v}");
    assert_eq!(v["error"]["code"], 403);
    assert_eq!(env.http.get(env.url("/activity")).send().await.unwrap().status(), 401);

    let old = utc_date(utc_day(now_ms()) - 31);
    let tomorrow = utc_date(utc_day(now_ms()) + 1);
    for bad in ["2025-02-30", "yesterday", "2025-1-01", old.as_str(), tomorrow.as_str()] {
        let (status, v) = activity(&env, &admin, &format!("?date={bad}")).await;
        assert_eq!(status, 400, "date={bad}: {v}");
        assert_eq!(v["error"]["code"], 400);
        assert_eq!(v["error"]["metadata"]["error_type"], "invalid_request");
    }
    let (status, v) = activity(&env, &admin, &format!("?date={}", utc_date(utc_day(now_ms()) - 30))).await;
    assert_eq!(status, 200, "the oldest day of the window: {v}");

    let other = store.create_account("other", Billing::Postpaid).await.unwrap();
    let foreign = store.create_key(&other.id, "o", false, None).await.unwrap();
    for hash in [foreign.record.hash.as_str(), "0000"] {
        let (status, v) = activity(&env, &admin, &format!("?api_key_hash={hash}")).await;
        assert_eq!(status, 404, "{v}");
    }
    let (status, v) = activity(&env, &admin, "").await;
    assert_eq!((status, v["data"].as_array().unwrap().len()), (200, 0), "{v}");
}
