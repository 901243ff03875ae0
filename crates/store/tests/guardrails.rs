//! Guardrails on both backends: an embedded SQLite file and the machine's
//! Postgres (a fresh database per run, dropped afterwards).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use serde_json::json;
use switchyard_api::NanoUsd;
use switchyard_store::{
    Billing, FilterAction, GenerationRecord, GuardrailSpec, LimitReset, PiiKind, PiiRule, RegexFilter, Store, now_ms,
};

fn spent(id: &str, account: &str, key: &str, cost: i64, at: i64) -> GenerationRecord {
    GenerationRecord {
        id: id.to_owned(),
        account_id: account.to_owned(),
        key_hash: key.to_owned(),
        model: "a/b".into(),
        tokens_prompt: 1,
        tokens_completion: 1,
        cost: NanoUsd(cost),
        latency_ms: 1,
        generation_time_ms: 1,
        finish_reason: Some("stop".into()),
        status: 200,
        attempts: json!([]),
        created_at: at,
        ..GenerationRecord::default()
    }
}

fn full_spec() -> GuardrailSpec {
    GuardrailSpec {
        name: "prod".into(),
        description: Some("production keys".into()),
        limit: Some(NanoUsd(5_000)),
        reset: Some(LimitReset::Daily),
        allowed_models: Some(vec!["openai/*".into(), "sim/text".into()]),
        allowed_providers: Some(vec!["sim".into()]),
        enforce_zdr: true,
        block_prompt_injection: true,
        regex_filters: vec![
            RegexFilter { pattern: r"sk-[a-z0-9]{8}".into(), action: FilterAction::Redact, label: Some("key".into()) },
            RegexFilter { pattern: "forbidden".into(), action: FilterAction::Block, label: None },
        ],
        pii: Some(PiiRule { action: FilterAction::Block, types: vec![PiiKind::Email, PiiKind::Ssn] }),
        workspace_id: None,
    }
}

async fn exercise(store: Store) {
    let a = store.create_account("a", Billing::Postpaid).await.unwrap().id;
    let b = store.create_account("b", Billing::Postpaid).await.unwrap().id;
    let k1 = store.create_key(&a, "k1", false, None).await.unwrap().record.hash;
    let k2 = store.create_key(&a, "k2", false, None).await.unwrap().record.hash;
    let kb = store.create_key(&b, "kb", false, None).await.unwrap().record.hash;

    // Every setting round-trips; a minimal one keeps its NULLs.
    let g = store.create_guardrail(&a, &full_spec()).await.unwrap();
    assert_eq!(g.account_id, a);
    assert_eq!(g.id.len(), 36);
    assert_eq!(store.guardrail(&a, &g.id).await.unwrap(), Some(g.clone()));
    let bare = GuardrailSpec { name: "bare".into(), ..GuardrailSpec::default() };
    let g2 = store.create_guardrail(&a, &bare).await.unwrap();
    let stored = store.guardrail(&a, &g2.id).await.unwrap().unwrap();
    assert_eq!(stored.spec, bare);
    assert!(stored.spec.allowed_models.is_none() && stored.spec.pii.is_none() && stored.spec.limit.is_none());

    // Another account sees none of them.
    assert_eq!(store.guardrail(&b, &g.id).await.unwrap(), None);
    assert!(store.guardrails(&b).await.unwrap().is_empty());
    assert_eq!(store.update_guardrail(&b, &g.id, &bare).await.unwrap(), None);
    assert!(!store.delete_guardrail(&b, &g.id).await.unwrap());
    // Listed by creation time; two made in the same millisecond may come in either order.
    let mut ids: Vec<String> = store.guardrails(&a).await.unwrap().into_iter().map(|g| g.id).collect();
    ids.sort();
    let mut expected = [g.id.clone(), g2.id.clone()];
    expected.sort();
    assert_eq!(ids, expected);

    // Update replaces the settings, keeps the creation time.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let mut changed = full_spec();
    changed.name = "prod-2".into();
    changed.allowed_models = None;
    changed.reset = None;
    let u = store.update_guardrail(&a, &g.id, &changed).await.unwrap().unwrap();
    assert_eq!(u.spec, changed);
    assert_eq!(u.created_at, g.created_at);
    assert!(u.updated_at > g.updated_at);
    assert_eq!(store.guardrail(&a, &g.id).await.unwrap().unwrap().spec, changed);

    // Assignments: idempotent, several guardrails per key.
    assert_eq!(store.assign_guardrail_keys(&g.id, &[k1.clone(), k2.clone()]).await.unwrap(), 2);
    assert_eq!(store.assign_guardrail_keys(&g.id, std::slice::from_ref(&k1)).await.unwrap(), 0);
    assert_eq!(store.assign_guardrail_keys(&g2.id, std::slice::from_ref(&k1)).await.unwrap(), 1);
    let mut on_k1: Vec<String> = store.key_guardrails(&k1).await.unwrap().into_iter().map(|g| g.id).collect();
    on_k1.sort();
    assert_eq!(on_k1, expected);
    assert_eq!(store.key_guardrails(&k2).await.unwrap().len(), 1);
    assert!(store.key_guardrails(&kb).await.unwrap().is_empty());
    let map = store.guardrail_assignments(&a).await.unwrap();
    let mut both = [k1.clone(), k2.clone()];
    both.sort();
    assert_eq!(map[&g.id], both, "assigned in one call: same time, by hash");
    assert_eq!(map[&g2.id], vec![k1.clone()]);
    assert!(store.guardrail_assignments(&b).await.unwrap().is_empty());

    // Spend: every assigned key's generations since the given instant.
    let now = now_ms();
    let recs = [
        spent("g1", &a, &k1, 100, now - 10_000),
        spent("g2", &a, &k2, 20, now - 10),
        spent("g3", &a, &k1, 3, now - 5),
        spent("g4", &b, &kb, 1_000, now - 5),
    ];
    store.insert_generations(&recs).await.unwrap();
    assert_eq!(store.guardrail_spend(&g.id, 0).await.unwrap(), NanoUsd(123));
    assert_eq!(store.guardrail_spend(&g.id, now - 1_000).await.unwrap(), NanoUsd(23));
    assert_eq!(store.guardrail_spend(&g2.id, 0).await.unwrap(), NanoUsd(103));
    assert_eq!(store.guardrail_spend("missing", 0).await.unwrap(), NanoUsd(0));

    // Unassigning and deleting.
    assert!(store.unassign_guardrail_key(&g.id, &k2).await.unwrap());
    assert!(!store.unassign_guardrail_key(&g.id, &k2).await.unwrap());
    assert_eq!(store.guardrail_spend(&g.id, 0).await.unwrap(), NanoUsd(103));
    assert!(store.delete_guardrail(&a, &g.id).await.unwrap());
    assert!(!store.delete_guardrail(&a, &g.id).await.unwrap());
    assert_eq!(store.guardrail(&a, &g.id).await.unwrap(), None);
    let left: Vec<String> = store.key_guardrails(&k1).await.unwrap().into_iter().map(|g| g.id).collect();
    assert_eq!(left, vec![g2.id.clone()]);
    assert_eq!(store.guardrail_spend(&g.id, 0).await.unwrap(), NanoUsd(0));

    // A deleted key leaves the assignment lists.
    store.delete_key(&k1).await.unwrap();
    assert!(!store.guardrail_assignments(&a).await.unwrap().contains_key(&g2.id));
}

#[tokio::test]
async fn sqlite_guardrails() {
    let dir = tempfile::tempdir().unwrap();
    exercise(Store::open_data_dir(dir.path()).await.unwrap()).await;
}

#[tokio::test]
async fn postgres_guardrails() {
    let pg = common::fresh_postgres("guardrails").await;
    let store = Store::connect(&pg.url).await.unwrap();
    exercise(store.clone()).await;
    store.close().await;
    pg.drop_db().await;
}
