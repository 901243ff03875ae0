//! `switchyard ledger verify` and `ledger show` against a data directory
//! whose generations were written through the store, before and after the
//! ledger is tampered with.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Command, Output};

use sqlx::{Connection, Executor};
use switchyard_api::NanoUsd;
use switchyard_store::{GenerationRecord, Store, now_ms};

fn switchyard(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(args)
        .env_clear()
        .env("SWITCHYARD_DATA_DIR", data_dir)
        .env("SWITCHYARD_LOG", "off")
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn generation(id: &str, account: &str, key: &str, cost: i64) -> GenerationRecord {
    GenerationRecord {
        id: id.into(),
        account_id: account.into(),
        key_hash: key.into(),
        model: "sim/text".into(),
        provider_name: Some("Simulator".into()),
        provider_slug: Some("sim".into()),
        upstream_model: Some("text".into()),
        tokens_prompt: 10,
        tokens_completion: 5,
        cost: NanoUsd(cost),
        latency_ms: 3,
        generation_time_ms: 2,
        finish_reason: Some("stop".into()),
        status: 200,
        attempts: Default::default(),
        created_at: now_ms(),
        ..GenerationRecord::default()
    }
}

#[tokio::test]
async fn ledger_verify_passes_on_a_clean_ledger_and_fails_once_tampered() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let store = Store::open_data_dir(&data).await.unwrap();
    let (account, key) = store.bootstrap().await.unwrap().unwrap();
    store.grant_credits(&account.id, NanoUsd(1_000_000), "seed").await.unwrap();
    let gens: Vec<GenerationRecord> = (0..12)
        .map(|i| generation(&format!("gen-{i:02}"), &account.id, &key.record.hash, if i == 0 { 0 } else { 20_000 }))
        .collect();
    store.insert_generations(&gens).await.unwrap();
    store.close().await;

    let ok = switchyard(&data, &["ledger", "verify"]);
    let out = text(&ok.stdout);
    assert!(ok.status.success(), "stdout: {out}\nstderr: {}", text(&ok.stderr));
    let line = out.lines().find(|l| l.contains(&account.id)).unwrap();
    assert!(line.starts_with("OK ") && line.contains("11 costed generations") && line.contains("$0.00022"), "{line}");

    let show = switchyard(&data, &["ledger", "show", "--limit", "2"]);
    assert!(show.status.success(), "{}", text(&show.stderr));
    let out = text(&show.stdout);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(lines[0].contains("balance_usd") && lines[0].contains("generation"), "{out}");
    // Newest first: the last debit, the balance after every row.
    assert!(lines[1].contains("usage") && lines[1].contains("-0.00002") && lines[1].contains("0.00078"), "{out}");
    assert!(lines[1].contains("gen-11"), "{out}");

    // Tamper: one debit changed, one removed, one that names no generation.
    let db = data.join("switchyard.db");
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display())).await.unwrap();
    conn.execute("UPDATE credit_ledger SET amount_nano = -10000 WHERE generation_id = 'gen-03'").await.unwrap();
    conn.execute("DELETE FROM credit_ledger WHERE generation_id = 'gen-07'").await.unwrap();
    let orphan = format!(
        "INSERT INTO credit_ledger (account_id, kind, amount_nano, generation_id, created_at) \
         VALUES ('{}', 'usage', -5, 'gen-gone', 0)",
        account.id
    );
    conn.execute(orphan.as_str()).await.unwrap();
    conn.close().await.unwrap();

    let bad = switchyard(&data, &["ledger", "verify"]);
    let out = text(&bad.stdout);
    assert_eq!(bad.status.code(), Some(1), "stdout: {out}\nstderr: {}", text(&bad.stderr));
    let line = out.lines().find(|l| l.contains(&account.id)).unwrap();
    assert!(line.starts_with("MISMATCH "), "{line}");
    // 0.00022 - 0.00001 - 0.00002 + 0.000000005 = 0.000190005
    assert!(line.contains("ledger usage $0.000190005") && line.contains("difference -$0.000029995"), "{line}");
    assert!(line.contains("2 (gen-03, gen-07)"), "{line}");
    assert!(line.contains("usage rows without their generation: 1 (ledger#") && line.contains("-> gen-gone"), "{line}");
    assert!(text(&bad.stderr).contains("does not match"), "{}", text(&bad.stderr));
}
