//! BYOK keys on both backends: only ciphertext is stored, each key opens
//! under the master key that sealed it and only in its own row, and every
//! lookup is scoped to its account.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use sqlx::{AnyPool, Row};
use switchyard_store::{Billing, ByokPatch, ByokPriority, CryptoError, MasterKey, NewByok, Secret, Store};

const PLAINTEXT: &str = "sk-proj-PLAINTEXTbyokSECRET0123456789wxyz";

fn new_key(provider: &str, key: &str, priority: ByokPriority) -> NewByok {
    NewByok {
        provider: provider.into(),
        api_key: Secret::new(key),
        label: Some("prod".into()),
        priority,
        always_use: false,
        workspace_id: None,
    }
}

/// Every text column of every stored BYOK row, read behind the store's back.
async fn raw_rows(url: &str) -> Vec<String> {
    sqlx::any::install_default_drivers();
    let pool = AnyPool::connect(url).await.unwrap();
    let rows = sqlx::query(
        "SELECT id, account_id, provider, COALESCE(label, '') AS label, last4, priority, master_key_id, nonce, \
         ciphertext FROM byok_keys",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let out =
        rows.iter().map(|r| (0..9).map(|i| r.try_get::<String, _>(i).unwrap()).collect::<Vec<_>>().join("|")).collect();
    pool.close().await;
    out
}

async fn exercise(store: Store, url: &str) {
    let master = MasterKey::generate();
    let a = store.create_account("a", Billing::Postpaid).await.unwrap().id;
    let b = store.create_account("b", Billing::Prepaid).await.unwrap().id;

    let k1 = store.create_byok(&a, &new_key("openai", PLAINTEXT, ByokPriority::Prioritized), &master).await.unwrap();
    assert_eq!((k1.account_id.as_str(), k1.provider.as_str()), (a.as_str(), "openai"));
    assert_eq!(k1.last4, "…wxyz");
    assert_eq!(k1.label.as_deref(), Some("prod"));
    assert_eq!(k1.sealed.master_key_id, master.id());
    assert!(!k1.always_use && !k1.disabled);
    assert_eq!(k1.decrypt(&master).unwrap().expose(), PLAINTEXT);
    assert!(!format!("{k1:?}").contains("PLAINTEXTbyokSECRET"));

    // Only ciphertext reaches the database.
    let rows = raw_rows(url).await;
    assert_eq!(rows.len(), 1);
    assert!(!rows[0].contains("PLAINTEXTbyokSECRET"), "{}", rows[0]);
    assert!(!rows[0].contains(PLAINTEXT));

    // Another master key cannot open it.
    let other = MasterKey::generate();
    assert!(matches!(k1.decrypt(&other), Err(CryptoError::WrongMasterKey { .. })));
    // Moved to another account (or provider), it does not authenticate.
    let mut moved = k1.clone();
    moved.account_id = b.clone();
    assert_eq!(moved.decrypt(&master), Err(CryptoError::Decrypt));

    // Order of creation is the order of use.
    let second = new_key("anthropic", "sk-ant-second-key-0000", ByokPriority::Fallback);
    let k2 = store.create_byok(&a, &second, &master).await.unwrap();
    let of_b = new_key("openai", "sk-b-account-key-1111", ByokPriority::Prioritized);
    let kb = store.create_byok(&b, &of_b, &master).await.unwrap();
    let list = store.byok_keys(&a).await.unwrap();
    let ids: Vec<&str> = list.iter().map(|k| k.id.as_str()).collect();
    assert_eq!(ids, [k1.id.as_str(), k2.id.as_str()]);
    assert!(list[0].seq < list[1].seq);
    assert_eq!(list[1].priority, ByokPriority::Fallback);

    // Account scoping: b's key is invisible to a, and the reverse.
    assert_eq!(store.byok_key(&a, &kb.id).await.unwrap(), None);
    assert_eq!(store.byok_key(&b, &k1.id).await.unwrap(), None);
    assert_eq!(store.update_byok(&a, &kb.id, &ByokPatch::default()).await.unwrap(), None);
    assert!(!store.delete_byok(&a, &kb.id).await.unwrap());
    assert_eq!(store.byok_keys(&b).await.unwrap().len(), 1);

    // Patching changes settings, never the sealed key.
    let patch = ByokPatch {
        label: Some(None),
        priority: Some(ByokPriority::Fallback),
        always_use: Some(true),
        disabled: Some(true),
    };
    let p = store.update_byok(&a, &k1.id, &patch).await.unwrap().unwrap();
    assert_eq!((p.label.clone(), p.priority, p.always_use, p.disabled), (None, ByokPriority::Fallback, true, true));
    assert_eq!(p.sealed, k1.sealed);
    assert_eq!(store.byok_key(&a, &k1.id).await.unwrap(), Some(p.clone()));
    assert_eq!(p.decrypt(&master).unwrap().expose(), PLAINTEXT);
    let relabel = ByokPatch { label: Some(Some("renamed".into())), ..ByokPatch::default() };
    let p = store.update_byok(&a, &k1.id, &relabel).await.unwrap().unwrap();
    assert_eq!((p.label.as_deref(), p.always_use), (Some("renamed"), true));

    // Deleting removes the row and its ciphertext.
    assert!(store.delete_byok(&a, &k1.id).await.unwrap());
    assert!(!store.delete_byok(&a, &k1.id).await.unwrap());
    assert_eq!(store.byok_key(&a, &k1.id).await.unwrap(), None);
    let rows = raw_rows(url).await;
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| !r.contains(&k1.id)));
}

#[tokio::test]
async fn sqlite_byok() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_data_dir(dir.path()).await.unwrap();
    let url = format!("sqlite://{}", dir.path().join("switchyard.db").display());
    exercise(store, &url).await;
}

#[tokio::test]
async fn postgres_byok() {
    let pg = common::fresh_postgres("byok").await;
    let store = Store::connect(&pg.url).await.unwrap();
    exercise(store.clone(), &pg.url).await;
    store.close().await;
    pg.drop_db().await;
}
