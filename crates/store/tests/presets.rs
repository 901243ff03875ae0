//! Presets on both backends: an embedded SQLite file and the machine's
//! Postgres (a fresh database per run, dropped afterwards).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use serde_json::json;
use switchyard_store::{Billing, Store, valid_preset_slug};

async fn exercise(store: Store) {
    let a = store.create_account("a", Billing::Postpaid).await.unwrap().id;
    let b = store.create_account("b", Billing::Prepaid).await.unwrap().id;

    let v1 = json!({"model": "sim/text", "temperature": 0.2, "system_prompt": "You are terse."});
    let (p, created) = store.put_preset(&a, "terse", &v1).await.unwrap();
    assert!(created);
    assert_eq!((p.account_id.as_str(), p.slug.as_str(), p.version), (a.as_str(), "terse", 1));
    assert_eq!(p.config, v1);
    assert_eq!(p.created_at, p.updated_at);
    assert_eq!(store.preset(&a, "terse").await.unwrap(), Some(p.clone()));

    // Replacing bumps the version and keeps the creation time.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let v2 = json!({"model": "sim/json", "tools": [{"type": "function", "function": {"name": "f"}}]});
    let (p2, created) = store.put_preset(&a, "terse", &v2).await.unwrap();
    assert!(!created);
    assert_eq!(p2.version, 2);
    assert_eq!(p2.config, v2);
    assert_eq!(p2.created_at, p.created_at);
    assert!(p2.updated_at > p.updated_at);
    assert_eq!(store.put_preset(&a, "terse", &v2).await.unwrap().0.version, 3);

    // Account isolation: the same slug in another account is another preset.
    assert_eq!(store.preset(&b, "terse").await.unwrap(), None);
    assert!(store.presets(&b).await.unwrap().is_empty());
    let (pb, created) = store.put_preset(&b, "terse", &json!({"temperature": 1.0})).await.unwrap();
    assert!(created);
    assert_eq!(pb.version, 1);
    assert!(!store.delete_preset(&b, "missing").await.unwrap());

    store.put_preset(&a, "alpha-2", &json!({})).await.unwrap();
    let list = store.presets(&a).await.unwrap();
    let slugs: Vec<&str> = list.iter().map(|p| p.slug.as_str()).collect();
    assert_eq!(slugs, ["alpha-2", "terse"]);

    assert!(store.delete_preset(&a, "terse").await.unwrap());
    assert!(!store.delete_preset(&a, "terse").await.unwrap());
    assert_eq!(store.preset(&a, "terse").await.unwrap(), None);
    assert_eq!(store.preset(&b, "terse").await.unwrap().unwrap().config, json!({"temperature": 1.0}));
    // Created again after deletion: a new preset, version 1.
    let (p3, created) = store.put_preset(&a, "terse", &v1).await.unwrap();
    assert!(created);
    assert_eq!(p3.version, 1);

    assert!(store.put_preset(&a, "Bad Slug", &v1).await.is_err());
}

#[test]
fn slugs() {
    for ok in ["a", "my-preset-2", &"x".repeat(64)] {
        assert!(valid_preset_slug(ok), "{ok}");
    }
    for bad in ["", "A", "a_b", "a/b", "a b", "é", &"x".repeat(65)] {
        assert!(!valid_preset_slug(bad), "{bad}");
    }
}

#[tokio::test]
async fn sqlite_presets() {
    let dir = tempfile::tempdir().unwrap();
    exercise(Store::open_data_dir(dir.path()).await.unwrap()).await;
}

#[tokio::test]
async fn postgres_presets() {
    let pg = common::fresh_postgres("presets").await;
    let store = Store::connect(&pg.url).await.unwrap();
    exercise(store.clone()).await;
    store.close().await;
    pg.drop_db().await;
}
