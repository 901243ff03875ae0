//! Workspaces on both backends: an embedded SQLite file and the machine's
//! Postgres (a fresh database per run, dropped afterwards).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use serde_json::json;
use switchyard_api::NanoUsd;
use switchyard_store::{
    Billing, GenerationRecord, KeyPatch, KeySpec, Store, StoreError, WorkspacePatch, now_ms, utc_day,
    valid_workspace_slug,
};

fn generation(id: &str, account: &str, key: &str, cost: i64) -> GenerationRecord {
    GenerationRecord {
        id: id.to_owned(),
        account_id: account.to_owned(),
        key_hash: key.to_owned(),
        model: "m/a".into(),
        provider_name: Some("P".into()),
        provider_slug: Some("p".into()),
        upstream_model: Some("a".into()),
        tokens_prompt: 1,
        tokens_completion: 1,
        cost: NanoUsd(cost),
        latency_ms: 1,
        generation_time_ms: 1,
        finish_reason: Some("stop".into()),
        status: 200,
        attempts: json!([]),
        created_at: now_ms(),
        ..GenerationRecord::default()
    }
}

async fn exercise(store: Store) {
    let a = store.create_account("a", Billing::Postpaid).await.unwrap().id;
    let b = store.create_account("b", Billing::Prepaid).await.unwrap().id;

    let prefs = json!({"order": ["sim-b"]});
    let w1 = store.create_workspace(&a, "One", "one", &prefs).await.unwrap();
    assert!(w1.id.starts_with("ws_"));
    assert_eq!((w1.account_id.as_str(), w1.name.as_str(), w1.slug.as_str()), (a.as_str(), "One", "one"));
    assert_eq!(w1.provider, prefs);
    assert_eq!(w1.created_at, w1.updated_at);
    tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    let w2 = store.create_workspace(&a, "Two", "two", &json!({})).await.unwrap();
    // Slugs are unique per account, not across accounts.
    assert!(matches!(store.create_workspace(&a, "Again", "one", &json!({})).await, Err(StoreError::Conflict(_))));
    assert!(matches!(store.create_workspace(&a, "Bad", "Bad Slug", &json!({})).await, Err(StoreError::Invalid(_))));
    let wb = store.create_workspace(&b, "One", "one", &json!({})).await.unwrap();

    assert_eq!(store.workspace(&a, &w1.id).await.unwrap(), Some(w1.clone()));
    assert_eq!(store.workspace(&b, &w1.id).await.unwrap(), None, "another account's");
    assert_eq!(store.workspaces(&a).await.unwrap(), vec![w1.clone(), w2.clone()]);
    assert_eq!(store.workspaces(&b).await.unwrap(), vec![wb.clone()]);
    assert_eq!(store.workspace_provider(&w1.id).await.unwrap(), Some(prefs.clone()));
    assert_eq!(store.workspace_provider("ws_missing").await.unwrap(), None);

    // Updates: partial, slug uniqueness, account-scoped.
    let patch = WorkspacePatch { name: Some("Uno".into()), provider: Some(json!({"ignore": ["sim"]})), slug: None };
    let w1u = store.update_workspace(&a, &w1.id, &patch).await.unwrap().unwrap();
    assert_eq!((w1u.name.as_str(), w1u.slug.as_str()), ("Uno", "one"));
    assert_eq!(w1u.provider, json!({"ignore": ["sim"]}));
    assert_eq!(store.workspace(&a, &w1.id).await.unwrap(), Some(w1u.clone()));
    let clash = WorkspacePatch { slug: Some("two".into()), ..WorkspacePatch::default() };
    assert!(matches!(store.update_workspace(&a, &w1.id, &clash).await, Err(StoreError::Conflict(_))));
    let same = WorkspacePatch { slug: Some("one".into()), ..WorkspacePatch::default() };
    assert!(store.update_workspace(&a, &w1.id, &same).await.unwrap().is_some(), "its own slug");
    assert_eq!(store.update_workspace(&b, &w1.id, &patch).await.unwrap(), None);

    // Keys in workspaces.
    let spec = |name: &str, ws: Option<&str>| KeySpec {
        name: name.into(),
        workspace_id: ws.map(str::to_owned),
        ..KeySpec::default()
    };
    let k1 = store.create_key_with(&a, &spec("k1", Some(&w1.id))).await.unwrap().record;
    let k2 = store.create_key_with(&a, &spec("k2", None)).await.unwrap().record;
    assert_eq!(k1.workspace_id.as_deref(), Some(w1.id.as_str()));
    assert_eq!(store.key_by_hash(&k1.hash).await.unwrap().unwrap(), k1);
    assert_eq!(store.key_by_hash(&k2.hash).await.unwrap().unwrap().workspace_id, None);
    let names = |keys: Vec<switchyard_store::KeyRecord>| keys.into_iter().map(|k| k.name).collect::<Vec<_>>();
    assert_eq!(names(store.account_keys_in(&a, false, Some(&w1.id), 0, 100).await.unwrap()), ["k1"]);
    assert!(store.account_keys_in(&a, false, Some(&w2.id), 0, 100).await.unwrap().is_empty());
    let mut everyone = names(store.account_keys(&a, false, 0, 100).await.unwrap());
    everyone.sort();
    assert_eq!(everyone, ["k1", "k2"]);

    // Activity per workspace.
    store.insert_generations(&[generation("g1", &a, &k1.hash, 100), generation("g2", &a, &k2.hash, 7)]).await.unwrap();
    let today = utc_day(now_ms());
    let in_w1 = store.activity_in(&a, today - 30..=today, None, Some(&w1.id)).await.unwrap();
    assert_eq!(in_w1.iter().map(|r| (r.requests, r.usage.0)).collect::<Vec<_>>(), vec![(1, 100)]);
    assert!(store.activity_in(&a, today - 30..=today, None, Some(&w2.id)).await.unwrap().is_empty());
    assert!(store.activity_in(&a, today - 30..=today, Some(&k2.hash), Some(&w1.id)).await.unwrap().is_empty());
    let all = store.activity(&a, today - 30..=today, None).await.unwrap();
    assert_eq!(all.iter().map(|r| r.requests).sum::<i64>(), 2);

    // Delete: refused while a key is in it; moving the key out frees it.
    assert!(matches!(store.delete_workspace(&a, &w1.id).await, Err(StoreError::Conflict(_))));
    assert!(store.workspace(&a, &w1.id).await.unwrap().is_some());
    let out = KeyPatch { workspace_id: Some(None), ..KeyPatch::default() };
    assert!(store.update_key(&k1.hash, &out).await.unwrap());
    assert_eq!(store.key_by_hash(&k1.hash).await.unwrap().unwrap().workspace_id, None);
    assert!(!store.delete_workspace(&b, &w1.id).await.unwrap(), "another account's");
    assert!(store.delete_workspace(&a, &w1.id).await.unwrap());
    assert!(!store.delete_workspace(&a, &w1.id).await.unwrap());
    assert_eq!(store.workspaces(&a).await.unwrap(), vec![w2.clone()]);

    // A deleted key does not hold its workspace.
    let into = KeyPatch { workspace_id: Some(Some(w2.id.clone())), ..KeyPatch::default() };
    assert!(store.update_key(&k2.hash, &into).await.unwrap());
    assert!(matches!(store.delete_workspace(&a, &w2.id).await, Err(StoreError::Conflict(_))));
    assert!(store.delete_key(&k2.hash).await.unwrap());
    assert!(store.delete_workspace(&a, &w2.id).await.unwrap());
}

#[test]
fn slugs() {
    for ok in ["a", "team-2", &"x".repeat(64)] {
        assert!(valid_workspace_slug(ok), "{ok}");
    }
    for bad in ["", "A", "a_b", "a/b", "a b", &"x".repeat(65)] {
        assert!(!valid_workspace_slug(bad), "{bad}");
    }
}

#[tokio::test]
async fn sqlite_workspaces() {
    let dir = tempfile::tempdir().unwrap();
    exercise(Store::open_data_dir(dir.path()).await.unwrap()).await;
}

#[tokio::test]
async fn postgres_workspaces() {
    let pg = common::fresh_postgres("workspaces").await;
    let store = Store::connect(&pg.url).await.unwrap();
    exercise(store.clone()).await;
    store.close().await;
    pg.drop_db().await;
}
