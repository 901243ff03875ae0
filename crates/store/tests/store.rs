//! The store on both backends: an embedded SQLite file and the machine's
//! Postgres (a fresh database per run, dropped afterwards).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

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
        tokens_cached: 2,
        cost: NanoUsd(cost),
        latency_ms: 12,
        ttft_ms: Some(3),
        generation_time_ms: 9,
        finish_reason: Some("stop".into()),
        native_finish_reason: Some("end_turn".into()),
        streamed: true,
        status: 200,
        attempts: json!([{"provider": "p", "outcome": "ok"}]),
        routing: Some(json!({"attempts": ["p"]})),
        created_at: now_ms(),
        ..GenerationRecord::default()
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
    let pg = common::fresh_postgres("store").await;
    let store = Store::connect(&pg.url).await.unwrap();
    exercise(store.clone()).await;
    store.close().await;
    pg.drop_db().await;
}

/// Unix ms of a UTC date and time.
fn utc(y: i64, m: u32, d: u32, h: i64, min: i64, s: i64, ms: i64) -> i64 {
    switchyard_store::days_from_civil(y, m, d) * 86_400_000 + ((h * 60 + min) * 60 + s) * 1000 + ms
}

/// Key settings, spend per UTC period (across a Sunday→Monday, a leap day
/// and a new year), listing, changes and deletion.
async fn key_limits(store: Store) {
    use switchyard_store::{KeyPatch, KeySpec, LimitReset, PeriodUsage};
    let acct = store.create_account("limits", Billing::Postpaid).await.unwrap();
    let other = store.create_account("other", Billing::Postpaid).await.unwrap();
    let spec = KeySpec {
        name: "capped".into(),
        limit: Some(NanoUsd(5_000)),
        limit_reset: Some(LimitReset::Weekly),
        include_byok_in_limit: true,
        expires_at: Some(utc(2099, 1, 1, 0, 0, 0, 0)),
        ..KeySpec::default()
    };
    let key = store.create_key_with(&acct.id, &spec).await.unwrap();
    let h = key.record.hash.clone();
    assert_eq!(store.key_by_hash(&h).await.unwrap().unwrap(), key.record);
    let sibling = store.create_key(&acct.id, "sibling", false, None).await.unwrap().record.hash;
    let stranger = store.create_key(&other.id, "stranger", false, None).await.unwrap().record.hash;
    store.create_key(&acct.id, "admin", true, None).await.unwrap();

    // 2024-02-29 is a Thursday, 2024-03-03 a Sunday, 2024-03-04 a Monday,
    // 2024-12-30 a Monday.
    let spent = [
        (utc(2024, 2, 29, 12, 0, 0, 0), 100),
        (utc(2024, 3, 3, 23, 0, 0, 0), 10),
        (utc(2024, 3, 4, 1, 0, 0, 0), 1),
        (utc(2024, 12, 31, 23, 59, 59, 999), 1_000),
        (utc(2025, 1, 1, 0, 0, 0, 0), 10_000),
    ];
    let mut batch: Vec<GenerationRecord> = spent
        .iter()
        .enumerate()
        .map(|(i, &(at, cost))| record(&format!("lim-{i}"), &acct.id, &h, cost).with_created(at))
        .collect();
    batch.push(record("lim-sib", &acct.id, &sibling, 7).with_created(utc(2024, 3, 4, 2, 0, 0, 0)));
    batch.push(record("lim-other", &other.id, &stranger, 9).with_created(utc(2024, 3, 4, 2, 0, 0, 0)));
    store.insert_generations(&batch).await.unwrap();

    let usage = |daily, weekly, monthly| PeriodUsage {
        daily: NanoUsd(daily),
        weekly: NanoUsd(weekly),
        monthly: NanoUsd(monthly),
        ..PeriodUsage::default()
    };
    let cases = [
        // A period is [start, next reset): the leap day's week runs to Sunday 03-03.
        (utc(2024, 2, 29, 13, 0, 0, 0), usage(100, 110, 100)),
        (utc(2024, 3, 1, 0, 0, 0, 0), usage(0, 110, 11)),
        (utc(2024, 3, 3, 23, 30, 0, 0), usage(10, 110, 11)),
        (utc(2024, 3, 4, 12, 0, 0, 0), usage(1, 1, 11)),
        (utc(2024, 12, 31, 23, 59, 59, 999), usage(1_000, 11_000, 1_000)),
        (utc(2025, 1, 1, 0, 0, 0, 0), usage(10_000, 11_000, 10_000)),
    ];
    for (now, want) in cases {
        assert_eq!(store.key_period_usage(&h, now).await.unwrap(), want, "at {now}");
        let all = store.account_period_usage(&acct.id, now).await.unwrap();
        assert_eq!(all.get(&h).copied().unwrap_or_default(), want, "account view at {now}");
        assert!(!all.contains_key(&stranger), "another account's key");
        let weekly = store.key_usage_in(&h, Some(LimitReset::Weekly.window(now)), false).await.unwrap();
        assert_eq!(weekly, want.weekly, "limit window at {now}");
    }
    let monday = store.account_period_usage(&acct.id, utc(2024, 3, 4, 12, 0, 0, 0)).await.unwrap();
    assert_eq!(monday[&sibling], usage(7, 7, 7));
    // Crossing midnight into a new year: the daily window starts over.
    let daily = |now| store.key_usage_in(&h, Some(LimitReset::Daily.window(now)), false);
    assert_eq!(daily(utc(2024, 12, 31, 23, 59, 59, 999)).await.unwrap(), NanoUsd(1_000));
    assert_eq!(daily(utc(2025, 1, 1, 0, 0, 0, 0)).await.unwrap(), NanoUsd(10_000));
    assert_eq!(daily(utc(2025, 1, 2, 0, 0, 0, 0)).await.unwrap(), NanoUsd::ZERO);
    // Without a reset the limit counts the key's whole life.
    assert_eq!(store.key_usage_in(&h, None, false).await.unwrap(), NanoUsd(11_111));
    assert_eq!(store.key_usage_in("no-such-key", None, false).await.unwrap(), NanoUsd::ZERO);

    // Listing: inference keys of the account only, disabled ones on request.
    let names = |keys: Vec<switchyard_store::KeyRecord>| {
        let mut n: Vec<String> = keys.into_iter().map(|k| k.name).collect();
        n.sort();
        n
    };
    assert_eq!(names(store.account_keys(&acct.id, false, 0, 100).await.unwrap()), ["capped", "sibling"]);
    assert_eq!(store.account_keys(&acct.id, false, 1, 100).await.unwrap().len(), 1);
    assert_eq!(store.account_keys(&acct.id, false, 0, 1).await.unwrap().len(), 1);
    let patch = KeyPatch {
        name: Some("renamed".into()),
        disabled: Some(true),
        limit: Some(None),
        limit_reset: Some(Some(LimitReset::Monthly)),
        include_byok_in_limit: Some(false),
        workspace_id: None,
        member_id: None,
        cache_responses: Some(true),
    };
    assert!(store.update_key(&h, &patch).await.unwrap());
    let k = store.key_by_hash(&h).await.unwrap().unwrap();
    assert!(k.cache_responses, "the response-cache setting is stored");
    assert_eq!(
        (k.name.as_str(), k.disabled, k.limit, k.limit_reset),
        ("renamed", true, None, Some(LimitReset::Monthly))
    );
    assert!(!k.include_byok_in_limit && k.updated_at >= k.created_at);
    assert_eq!(k.expires_at, spec.expires_at, "untouched fields stay");
    assert_eq!(names(store.account_keys(&acct.id, false, 0, 100).await.unwrap()), ["sibling"]);
    assert_eq!(names(store.account_keys(&acct.id, true, 0, 100).await.unwrap()), ["renamed", "sibling"]);
    let limit_only = KeyPatch { limit: Some(Some(NanoUsd(42))), ..KeyPatch::default() };
    assert!(store.update_key(&h, &limit_only).await.unwrap());
    let k = store.key_by_hash(&h).await.unwrap().unwrap();
    assert_eq!((k.name.as_str(), k.limit, k.limit_reset), ("renamed", Some(NanoUsd(42)), Some(LimitReset::Monthly)));

    // Deletion: gone from lookups and lists, the spend stays on the account.
    assert!(store.delete_key(&h).await.unwrap());
    assert!(store.key_by_hash(&h).await.unwrap().is_none());
    assert!(!store.delete_key(&h).await.unwrap());
    assert!(!store.update_key(&h, &patch).await.unwrap());
    assert_eq!(store.set_key_disabled("renamed", false).await.unwrap(), 0);
    assert_eq!(names(store.account_keys(&acct.id, true, 0, 100).await.unwrap()), ["sibling"]);
    assert!(store.keys().await.unwrap().iter().all(|k| k.hash != h));
    assert_eq!(store.generations_cost(&acct.id).await.unwrap(), NanoUsd(11_118));
}

#[tokio::test]
async fn sqlite_key_limits() {
    let dir = tempfile::tempdir().unwrap();
    key_limits(Store::open_data_dir(dir.path()).await.unwrap()).await;
}

#[tokio::test]
async fn postgres_key_limits() {
    let pg = common::fresh_postgres("limits").await;
    let store = Store::connect(&pg.url).await.unwrap();
    key_limits(store.clone()).await;
    store.close().await;
    pg.drop_db().await;
}

/// BYOK spend: stored with each generation, summed per UTC period and over
/// the key's life, counted in the limit only for a key that includes it, and
/// summed per group of the activity.
async fn byok_sums(store: Store) {
    use switchyard_store::{KeySpec, LimitReset, PeriodUsage};
    let acct = store.create_account("byok", Billing::Postpaid).await.unwrap();
    let spec = |name: &str, include| KeySpec {
        name: name.into(),
        limit: Some(NanoUsd(1_000_000)),
        limit_reset: Some(LimitReset::Daily),
        include_byok_in_limit: include,
        ..KeySpec::default()
    };
    let with = store.create_key_with(&acct.id, &spec("with", true)).await.unwrap().record;
    let without = store.create_key_with(&acct.id, &spec("without", false)).await.unwrap().record;
    let byok = |id: &str, key: &str, list: i64, at: i64| {
        let mut g = record(id, &acct.id, key, list * 5 / 100).with_created(at);
        g.byok_cost = NanoUsd(list);
        g
    };
    // 2024-03-04 is a Monday; 2024-02-28 is in the previous week and month.
    let batch = [
        byok("b-old", &with.hash, 4_000, utc(2024, 2, 28, 12, 0, 0, 0)),
        byok("b-mon", &with.hash, 2_000, utc(2024, 3, 4, 1, 0, 0, 0)),
        byok("b-tue", &with.hash, 1_000, utc(2024, 3, 5, 1, 0, 0, 0)),
        record("shared", &acct.id, &with.hash, 300).with_created(utc(2024, 3, 5, 2, 0, 0, 0)),
        byok("b-other", &without.hash, 20_000, utc(2024, 3, 5, 3, 0, 0, 0)),
    ];
    store.insert_generations(&batch).await.unwrap();
    assert_eq!(store.generation("b-tue").await.unwrap().unwrap().byok_cost, NanoUsd(1_000));
    assert_eq!(store.generation("shared").await.unwrap().unwrap().byok_cost, NanoUsd::ZERO);

    let now = utc(2024, 3, 5, 12, 0, 0, 0);
    let want = PeriodUsage {
        daily: NanoUsd(50 + 300),
        weekly: NanoUsd(100 + 50 + 300),
        monthly: NanoUsd(100 + 50 + 300),
        byok: NanoUsd(7_000),
        byok_daily: NanoUsd(1_000),
        byok_weekly: NanoUsd(3_000),
        byok_monthly: NanoUsd(3_000),
    };
    let u = store.key_period_usage(&with.hash, now).await.unwrap();
    assert_eq!(u, want);
    let all = store.account_period_usage(&acct.id, now).await.unwrap();
    assert_eq!(all[&with.hash], want);
    assert_eq!(all[&without.hash].byok_daily, NanoUsd(20_000));

    // The limit: spend plus BYOK list cost when the key includes it.
    let with = store.key_by_hash(&with.hash).await.unwrap().unwrap();
    assert_eq!(u.for_limit(&with, with.usage), NanoUsd(350 + 1_000));
    let without = store.key_by_hash(&without.hash).await.unwrap().unwrap();
    assert_eq!(all[&without.hash].for_limit(&without, without.usage), NanoUsd(1_000));
    let day = Some(LimitReset::Daily.window(now));
    assert_eq!(store.key_usage_in(&with.hash, day, true).await.unwrap(), NanoUsd(350 + 1_000));
    assert_eq!(store.key_usage_in(&with.hash, day, false).await.unwrap(), NanoUsd(350));
    let life = 200 + 100 + 50 + 300;
    assert_eq!(store.key_usage_in(&with.hash, None, false).await.unwrap(), NanoUsd(life));
    assert_eq!(store.key_usage_in(&with.hash, None, true).await.unwrap(), NanoUsd(life + 7_000));
    assert_eq!(store.key_usage_in("no-such-key", None, true).await.unwrap(), NanoUsd::ZERO);

    // Activity: BYOK list cost per group, beside the fee.
    let today = switchyard_store::utc_day(now);
    let rows = store.activity(&acct.id, today..=today, Some(&with.hash)).await.unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!((rows[0].usage, rows[0].byok_usage), (NanoUsd(350), NanoUsd(1_000)));
    let rows = store.activity(&acct.id, today..=today, None).await.unwrap();
    let byok: i64 = rows.iter().map(|r| r.byok_usage.0).sum();
    assert_eq!(byok, 21_000);
}

#[tokio::test]
async fn sqlite_byok_sums() {
    let dir = tempfile::tempdir().unwrap();
    byok_sums(Store::open_data_dir(dir.path()).await.unwrap()).await;
}

#[tokio::test]
async fn postgres_byok_sums() {
    let pg = common::fresh_postgres("byok_sums").await;
    let store = Store::connect(&pg.url).await.unwrap();
    byok_sums(store.clone()).await;
    store.close().await;
    pg.drop_db().await;
}
