//! PKCE codes on both databases: exchanged once, only with the right verifier.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use switchyard_api::NanoUsd;
use switchyard_store::{Billing, ChallengeMethod, CodeRequest, ExchangeRefusal, LimitReset, Store};

async fn exercise(store: Store) {
    let account = store.create_account("app-user", Billing::Postpaid).await.unwrap();
    let req = CodeRequest {
        code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into(),
        method: Some(ChallengeMethod::S256),
        key_label: Some("app".into()),
        limit: Some(NanoUsd(2_000_000_000)),
        limit_reset: Some(LimitReset::Weekly),
        ..CodeRequest::default()
    };
    let code = store.create_auth_code(&account.id, &req).await.unwrap().code;
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let wrong = store.exchange_auth_code(&code, "wrong", ChallengeMethod::S256).await.unwrap();
    assert_eq!(wrong.unwrap_err(), ExchangeRefusal::InvalidVerifier);
    let (key, owner) = store.exchange_auth_code(&code, verifier, ChallengeMethod::S256).await.unwrap().unwrap();
    assert_eq!(owner, account.id);
    assert_eq!(key.record.name, "app");
    assert_eq!(key.record.limit, Some(NanoUsd(2_000_000_000)));
    assert_eq!(key.record.limit_reset, Some(LimitReset::Weekly));
    let again = store.exchange_auth_code(&code, verifier, ChallengeMethod::S256).await.unwrap();
    assert_eq!(again.unwrap_err(), ExchangeRefusal::InvalidCode);
    let unknown = store.exchange_auth_code("nope", verifier, ChallengeMethod::S256).await.unwrap();
    assert_eq!(unknown.unwrap_err(), ExchangeRefusal::InvalidCode);
}

#[tokio::test]
async fn sqlite_auth_codes() {
    let dir = tempfile::tempdir().unwrap();
    exercise(Store::open_data_dir(dir.path()).await.unwrap()).await;
}

#[tokio::test]
async fn postgres_auth_codes() {
    let pg = common::fresh_postgres("auth_codes").await;
    let store = Store::connect(&pg.url).await.unwrap();
    exercise(store.clone()).await;
    store.close().await;
    pg.drop_db().await;
}
