//! Daily activity and ledger reconciliation on both backends: an embedded
//! SQLite file and the machine's Postgres (a fresh database, dropped after).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use sqlx::{AnyConnection, Connection, Executor};
use switchyard_api::NanoUsd;
use switchyard_store::{ActivityRow, Billing, DAY_MS, GenerationRecord, Store, now_ms, utc_day};

struct Gen {
    id: &'static str,
    account: String,
    key: &'static str,
    model: &'static str,
    provider: &'static str,
    at: i64,
    cost: i64,
    status: u16,
    tokens: (i64, i64, i64),
}

impl Gen {
    fn record(&self) -> GenerationRecord {
        let slug = self.provider.to_lowercase();
        GenerationRecord {
            id: self.id.into(),
            account_id: self.account.clone(),
            key_hash: self.key.into(),
            model: self.model.into(),
            provider_name: Some(self.provider.into()),
            provider_slug: Some(slug.clone()),
            upstream_model: Some(format!("{slug}-{}", self.model.rsplit('/').next().unwrap())),
            tokens_prompt: self.tokens.0,
            tokens_completion: self.tokens.1,
            tokens_reasoning: self.tokens.2,
            cost: NanoUsd(self.cost),
            latency_ms: 5,
            generation_time_ms: 4,
            finish_reason: Some("stop".into()),
            cancelled: self.status == 499,
            status: self.status,
            error: (self.status != 200).then(|| "failed".into()),
            attempts: serde_json::json!([]),
            created_at: self.at,
            ..GenerationRecord::default()
        }
    }
}

fn row(day: i64, model: &str, provider: &str, usage: i64, requests: i64, tokens: (i64, i64, i64)) -> ActivityRow {
    let slug = provider.to_lowercase();
    ActivityRow {
        day,
        model: model.into(),
        provider_name: Some(provider.into()),
        provider_slug: Some(slug.clone()),
        upstream_model: Some(format!("{slug}-{}", model.rsplit('/').next().unwrap())),
        usage: NanoUsd(usage),
        byok_usage: NanoUsd::ZERO,
        requests,
        prompt_tokens: tokens.0,
        completion_tokens: tokens.1,
        reasoning_tokens: tokens.2,
    }
}

async fn exercise(store: Store, url: &str) {
    let a = store.create_account("a", Billing::Postpaid).await.unwrap().id;
    // Checks come oldest account first: make the order certain.
    tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    let b = store.create_account("b", Billing::Prepaid).await.unwrap().id;
    let today = utc_day(now_ms());
    let start = today * DAY_MS;
    let g = |id, account: &String, key, model, provider, at, cost, status, tokens| Gen {
        id,
        account: account.clone(),
        key,
        model,
        provider,
        at,
        cost,
        status,
        tokens,
    };
    let gens = [
        g("g1", &a, "k1", "m/a", "P", start, 100, 200, (10, 5, 1)),
        g("g2", &a, "k1", "m/a", "P", start + 1, 200, 200, (20, 10, 2)),
        g("g3", &a, "k1", "m/b", "Q", start + 2, 1000, 200, (1, 1, 0)),
        // Failed and unbilled: not activity.
        g("g4", &a, "k1", "m/a", "P", start + 3, 0, 502, (7, 0, 0)),
        // Abandoned stream, billed: activity.
        g("g5", &a, "k1", "m/a", "P", start + 4, 50, 499, (3, 2, 0)),
        // Yesterday's last millisecond.
        g("g6", &a, "k2", "m/a", "P", start - 1, 300, 200, (4, 4, 0)),
        // Free but successful: a request with no usage.
        g("g7", &a, "k1", "m/b", "Q", start - DAY_MS, 0, 200, (2, 2, 0)),
        // The first day of the window, and the day before it.
        g("g8", &a, "k1", "m/a", "P", start - 30 * DAY_MS, 5, 200, (1, 1, 0)),
        g("g9", &a, "k1", "m/a", "P", start - 30 * DAY_MS - 1, 6, 200, (1, 1, 0)),
        // Another account.
        g("g10", &b, "kb", "m/a", "P", start + 5, 999, 200, (9, 9, 9)),
    ];
    let records: Vec<GenerationRecord> = gens.iter().map(Gen::record).collect();
    store.insert_generations(&records).await.unwrap();

    let window = store.activity(&a, today - 30..=today, None).await.unwrap();
    assert_eq!(
        window,
        vec![
            row(today, "m/b", "Q", 1000, 1, (1, 1, 0)),
            row(today, "m/a", "P", 350, 3, (33, 17, 3)),
            row(today - 1, "m/a", "P", 300, 1, (4, 4, 0)),
            row(today - 1, "m/b", "Q", 0, 1, (2, 2, 0)),
            row(today - 30, "m/a", "P", 5, 1, (1, 1, 0)),
        ]
    );
    let yesterday = store.activity(&a, today - 1..=today - 1, None).await.unwrap();
    assert_eq!(yesterday, window[2..4].to_vec());
    assert_eq!(store.activity(&a, today - 30..=today, Some("k2")).await.unwrap(), window[2..3].to_vec());
    assert!(store.activity(&a, today - 30..=today, Some("kb")).await.unwrap().is_empty());
    assert_eq!(store.activity(&b, today..=today, None).await.unwrap(), vec![row(today, "m/a", "P", 999, 1, (9, 9, 9))]);
    assert!(store.activity(&a, today + 1..=today + 2, None).await.unwrap().is_empty());

    // The ledger: a grant, then the debits written with the generations.
    store.grant_credits(&b, NanoUsd(10_000), "test").await.unwrap();
    let entries = store.ledger_entries(None, 100).await.unwrap();
    assert_eq!(entries.len(), 9, "8 costed generations and a grant");
    assert!(entries.windows(2).all(|w| w[0].id > w[1].id), "newest first");
    let grant = &entries[0];
    assert_eq!((grant.kind.as_str(), grant.amount, grant.balance), ("grant", NanoUsd(10_000), NanoUsd(9_001)));
    assert_eq!(grant.note.as_deref(), Some("test"));
    let a_rows = store.ledger_entries(Some(&a), 2).await.unwrap();
    assert_eq!(a_rows.len(), 2);
    assert!(a_rows.iter().all(|e| e.account_id == a && e.kind == "usage"));
    assert_eq!(a_rows[0].balance, store.credits(&a).await.unwrap().balance());
    assert_eq!(a_rows[0].balance, NanoUsd(-(100 + 200 + 1000 + 50 + 300 + 5 + 6)));
    assert_eq!(a_rows[1].balance.0, a_rows[0].balance.0 - a_rows[0].amount.0);
    let g1 = entries.iter().find(|e| e.generation_id.as_deref() == Some("g1")).unwrap();
    assert_eq!((g1.amount, g1.created_at), (NanoUsd(-100), start));

    let clean = store.verify_ledger().await.unwrap();
    assert_eq!(clean.iter().map(|c| c.account_id.as_str()).collect::<Vec<_>>(), [a.as_str(), b.as_str()]);
    assert!(clean.iter().all(|c| c.is_ok()), "{clean:?}");
    assert_eq!((clean[0].costed_generations, clean[0].generations_cost), (7, NanoUsd(1661)));
    assert_eq!(clean[0].ledger_usage, NanoUsd(1661));

    // Tampering, step by step.
    let mut db = AnyConnection::connect(url).await.unwrap();
    db.execute("UPDATE credit_ledger SET amount_nano = -150 WHERE generation_id = 'g2'").await.unwrap();
    let checks = store.verify_ledger().await.unwrap();
    assert!(!checks[0].is_ok() && checks[1].is_ok());
    assert_eq!(checks[0].difference(), NanoUsd(-50));
    assert_eq!(checks[0].bad_generations.ids, ["g2"]);

    db.execute("DELETE FROM credit_ledger WHERE generation_id = 'g3'").await.unwrap();
    let sql = format!(
        "INSERT INTO credit_ledger (account_id, kind, amount_nano, generation_id, created_at) VALUES \
         ('{a}', 'usage', -100, 'g1', 0), ('{a}', 'usage', -7, 'gen-missing', 0), ('{a}', 'usage', -1, 'g10', 0), \
         ('{a}', 'usage', -2, 'g7', 0)"
    );
    db.execute(sql.as_str()).await.unwrap();
    let checks = store.verify_ledger().await.unwrap();
    let c = &checks[0];
    assert_eq!(c.difference(), NanoUsd(-50 - 1000 + 100 + 7 + 1 + 2));
    // Duplicated, wrong amount, missing, and a usage row for a free generation.
    assert_eq!(c.bad_generations.ids, ["g7", "g1", "g2", "g3"]);
    assert_eq!(c.orphan_rows.count, 2);
    assert!(c.orphan_rows.ids[0].ends_with("-> gen-missing"), "{:?}", c.orphan_rows);
    assert!(c.orphan_rows.ids[1].ends_with("-> g10"), "another account's generation: {:?}", c.orphan_rows);
    assert!(checks[1].is_ok(), "{:?}", checks[1]);
    db.close().await.unwrap();
}

#[tokio::test]
async fn sqlite_activity_and_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("switchyard.db").display());
    let store = Store::connect(&url).await.unwrap();
    exercise(store.clone(), &url).await;
    store.close().await;
}

#[tokio::test]
async fn postgres_activity_and_ledger() {
    let pg = common::fresh_postgres("activity").await;
    let store = Store::connect(&pg.url).await.unwrap();
    exercise(store.clone(), &pg.url).await;
    store.close().await;
    pg.drop_db().await;
}
