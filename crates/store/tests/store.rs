//! The store on both backends: an embedded SQLite file and the machine's
//! Postgres (a fresh database per run, dropped afterwards).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::json;
use switchyard_api::NanoUsd;
use switchyard_store::{Billing, GenerationRecord, GenerationWriter, Store, hash_key, now_ms};

fn record(id: &str, account: &str, key: &str, cost: i64) -> GenerationRecord {
    GenerationRecord {
        id: id.to_owned(),
        account_id: account.to_owned(),
        key_hash: key.to_owned(),
        model: "a/b".into(),
        provider_name: Some("P".into()),
        provider_slug: Some("p".into()),
        upstream_model: Some("b".into()),
        upstream_id: Some("up-1".into()),
        tokens_prompt: 10,
        tokens_completion: 5,
        tokens_reasoning: 0,
        tokens_cached: 2,
        tokens_cache_write: 0,
        usage_estimated: false,
        cost: NanoUsd(cost),
        latency_ms: 12,
        ttft_ms: Some(3),
        generation_time_ms: 9,
        finish_reason: Some("stop".into()),
        native_finish_reason: Some("end_turn".into()),
        streamed: true,
        cancelled: false,
        status: 200,
        error: None,
        attempts: json!([{"provider": "p", "outcome": "ok"}]),
        routing: Some(json!({"attempts": ["p"]})),
        created_at: now_ms(),
    }
}

/// Keys, credits, batched generations and the ledger reconcile.
async fn exercise(store: Store) {
    assert!(store.bootstrap().await.unwrap().is_some());
    assert!(store.bootstrap().await.unwrap().is_none(), "bootstrap happens once");
    let acct = store.default_account().await.unwrap().unwrap();
    assert_eq!(acct.billing, Billing::Postpaid);
    let key = store.create_key(&acct.id, "app", false, Some(NanoUsd(1_000))).await.unwrap();
    let found = store.key_by_hash(&hash_key(&key.plaintext)).await.unwrap().unwrap();
    assert_eq!(found.limit, Some(NanoUsd(1_000)));
    assert!(!found.is_management);
    assert_eq!(store.set_key_disabled("app", true).await.unwrap(), 1);
    assert!(store.key_by_hash(&found.hash).await.unwrap().unwrap().disabled);

    store.grant_credits(&acct.id, NanoUsd(5_000_000), "test").await.unwrap();
    let (sink, writer) = GenerationWriter::spawn(store.clone());
    for i in 0..450 {
        sink.record(record(&format!("gen-{i}"), &acct.id, &found.hash, if i % 3 == 0 { 0 } else { 7 }));
    }
    drop(sink);
    writer.finish().await;
    let g = store.generation("gen-1").await.unwrap().unwrap();
    assert_eq!(g, record("gen-1", &acct.id, &found.hash, 7).with_created(g.created_at));
    let spent = 300 * 7;
    assert_eq!(store.generations_cost(&acct.id).await.unwrap(), NanoUsd(spent));
    let credits = store.credits(&acct.id).await.unwrap();
    assert_eq!(credits.total_usage, NanoUsd(spent));
    assert_eq!(credits.balance(), NanoUsd(5_000_000 - spent));
    assert_eq!(store.key_by_hash(&found.hash).await.unwrap().unwrap().usage, NanoUsd(spent));
    store.set_billing(&acct.id, Billing::Prepaid).await.unwrap();
    assert_eq!(store.account(&acct.id).await.unwrap().billing, Billing::Prepaid);
}

trait WithCreated {
    fn with_created(self, at: i64) -> Self;
}

impl WithCreated for GenerationRecord {
    fn with_created(mut self, at: i64) -> Self {
        self.created_at = at;
        self
    }
}

#[tokio::test]
async fn sqlite_file_store() {
    let dir = tempfile::tempdir().unwrap();
    exercise(Store::open_data_dir(dir.path()).await.unwrap()).await;
    // Reopening applies no migration twice and keeps the data.
    let again = Store::open_data_dir(dir.path()).await.unwrap();
    assert!(again.generation("gen-2").await.unwrap().is_some());
}

#[tokio::test]
async fn postgres_store() {
    use sqlx::{Connection, Executor};
    let admin_url =
        std::env::var("SWITCHYARD_TEST_POSTGRES").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let name = format!("switchyard_test_{}", std::process::id());
    let mut admin = sqlx::PgConnection::connect(&admin_url).await.expect("Postgres at SWITCHYARD_TEST_POSTGRES");
    // WITH (FORCE): a connection the pool is still closing must not fail the drop.
    admin.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str()).await.unwrap();
    admin.execute(format!("CREATE DATABASE {name}").as_str()).await.unwrap();
    let url = format!("{}/{name}", admin_url.rsplit_once('/').unwrap().0);
    let store = Store::connect(&url).await.unwrap();
    exercise(store.clone()).await;
    store.close().await;
    admin.execute(format!("DROP DATABASE {name} WITH (FORCE)").as_str()).await.unwrap();
}
