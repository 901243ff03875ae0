//! Organization members on both backends (an embedded SQLite file and the
//! machine's Postgres, a fresh database per run): migration 0011, members
//! and their keys, workspace membership, guardrails that apply through a
//! member or a workspace (and whose budgets sum those keys), workspace BYOK
//! keys, presets and PKCE codes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use serde_json::json;
use switchyard_api::NanoUsd;
use switchyard_store::{
    Billing, ByokPriority, CodeRequest, GenerationRecord, GuardrailSpec, KeySpec, MasterKey, MemberPatch, MemberRole,
    NewByok, Secret, Store, StoreError, now_ms,
};

fn generation(id: &str, account: &str, key: &str, cost: i64) -> GenerationRecord {
    GenerationRecord {
        id: id.to_owned(),
        account_id: account.to_owned(),
        key_hash: key.to_owned(),
        model: "m/a".into(),
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

/// The guardrails' names, sorted (ones made in the same millisecond come in id order).
fn names(rails: &[switchyard_store::Guardrail]) -> Vec<&str> {
    let mut out: Vec<&str> = rails.iter().map(|g| g.spec.name.as_str()).collect();
    out.sort_unstable();
    out
}

async fn exercise(store: Store) {
    let a = store.create_account("org", Billing::Postpaid).await.unwrap().id;
    let b = store.create_account("other", Billing::Postpaid).await.unwrap().id;

    // Members: e-mails unique per account; roles and disabling round-trip.
    let ann = store.create_member(&a, "Ann", Some("ann@example.com"), MemberRole::Member).await.unwrap();
    assert!(ann.id.starts_with("mem_") && !ann.disabled);
    let taken = store.create_member(&a, "Ann 2", Some("ann@example.com"), MemberRole::Admin).await;
    assert!(matches!(taken, Err(StoreError::Conflict(_))));
    store.create_member(&b, "Ann", Some("ann@example.com"), MemberRole::Member).await.unwrap();
    let bo = store.create_member(&a, "Bo", None, MemberRole::Admin).await.unwrap();
    assert_eq!(store.members(&a).await.unwrap(), vec![ann.clone(), bo.clone()]);
    assert_eq!(store.member(&b, &ann.id).await.unwrap(), None, "another account's");

    // A member's key carries the member's role; a disabled member's keys read as disabled.
    let spec = KeySpec { name: "ann-1".into(), member_id: Some(ann.id.clone()), ..KeySpec::default() };
    let k1 = store.create_key_with(&a, &spec).await.unwrap().record;
    assert_eq!((k1.member_id.as_deref(), k1.member_role), (Some(ann.id.as_str()), Some(MemberRole::Member)));
    let k2 = store.create_key_with(&a, &KeySpec { name: "ann-2".into(), ..spec.clone() }).await.unwrap().record;
    let own = store.create_key(&a, "account", false, None).await.unwrap().record;
    assert_eq!((own.member_id, own.member_role), (None, None));
    let of_ann = store.account_keys_of(&a, false, None, Some(&ann.id), 0, 100).await.unwrap();
    let mut listed: Vec<&str> = of_ann.iter().map(|k| k.name.as_str()).collect();
    listed.sort_unstable();
    assert_eq!(listed, ["ann-1", "ann-2"], "only the member's keys");
    let patch = MemberPatch { role: Some(MemberRole::Admin), disabled: Some(true), ..MemberPatch::default() };
    store.update_member(&a, &ann.id, &patch).await.unwrap().unwrap();
    let k = store.key_by_hash(&k1.hash).await.unwrap().unwrap();
    assert!(k.disabled && k.member_role == Some(MemberRole::Admin));
    assert!(store.account_keys_of(&a, false, None, Some(&ann.id), 0, 100).await.unwrap().is_empty());
    let patch = MemberPatch { role: Some(MemberRole::Member), disabled: Some(false), ..MemberPatch::default() };
    store.update_member(&a, &ann.id, &patch).await.unwrap().unwrap();
    assert!(!store.key_by_hash(&k1.hash).await.unwrap().unwrap().disabled);

    // Workspace membership.
    let ws = store.create_workspace(&a, "W", "w", &json!({})).await.unwrap();
    assert_eq!(store.add_workspace_members(&ws.id, &[ann.id.clone(), ann.id.clone()]).await.unwrap(), 1);
    assert!(store.in_workspace(&ws.id, &ann.id).await.unwrap());
    assert!(!store.in_workspace(&ws.id, &bo.id).await.unwrap());
    assert_eq!(store.member_workspaces(&ann.id).await.unwrap(), vec![ws.id.clone()]);
    assert_eq!(store.workspace_members(&ws.id).await.unwrap().len(), 1);

    // Guardrails through a member and a workspace join the key's own.
    let team = store.create_guardrail(&a, &GuardrailSpec { name: "team".into(), ..GuardrailSpec::default() }).await;
    let team = team.unwrap();
    let ws_spec = GuardrailSpec { name: "ws".into(), workspace_id: Some(ws.id.clone()), ..GuardrailSpec::default() };
    let ws_rail = store.create_guardrail(&a, &ws_spec).await.unwrap();
    assert_eq!(ws_rail.spec.workspace_id.as_deref(), Some(ws.id.as_str()));
    // A workspace has one guardrail: the database refuses a second.
    assert!(store.create_guardrail(&a, &GuardrailSpec { name: "dup".into(), ..ws_spec.clone() }).await.is_err());
    let direct_spec = GuardrailSpec { name: "direct".into(), ..GuardrailSpec::default() };
    let direct = store.create_guardrail(&a, &direct_spec).await.unwrap();
    assert_eq!(store.assign_guardrail_members(&team.id, std::slice::from_ref(&ann.id)).await.unwrap(), 1);
    store.assign_guardrail_keys(&direct.id, std::slice::from_ref(&k1.hash)).await.unwrap();
    let in_ws = KeySpec { name: "ann-ws".into(), workspace_id: Some(ws.id.clone()), ..spec.clone() };
    let k3 = store.create_key_with(&a, &in_ws).await.unwrap().record;
    assert_eq!(names(&store.key_guardrails(&k1.hash).await.unwrap()), ["direct", "team"]);
    assert_eq!(names(&store.key_guardrails(&k2.hash).await.unwrap()), ["team"]);
    assert_eq!(names(&store.key_guardrails(&k3.hash).await.unwrap()), ["team", "ws"]);
    assert!(store.key_guardrails(&own.hash).await.unwrap().is_empty());
    let assigned = store.guardrail_member_assignments(&a).await.unwrap();
    assert_eq!(assigned.get(&team.id), Some(&vec![ann.id.clone()]));

    // Budgets: a member guardrail counts all the member's keys, a workspace's all keys in it.
    store
        .insert_generations(&[
            generation("g1", &a, &k1.hash, 10),
            generation("g2", &a, &k2.hash, 20),
            generation("g3", &a, &k3.hash, 40),
            generation("g4", &a, &own.hash, 80),
        ])
        .await
        .unwrap();
    assert_eq!(store.guardrail_spend(&team.id, 0).await.unwrap(), NanoUsd(70));
    assert_eq!(store.guardrail_spend(&ws_rail.id, 0).await.unwrap(), NanoUsd(40));
    assert_eq!(store.guardrail_spend(&direct.id, 0).await.unwrap(), NanoUsd(10));
    let mine = store.activity_of(&a, 0..=i64::MAX / 86_400_000 - 1, None, None, Some(&ann.id)).await.unwrap();
    assert_eq!(mine.iter().map(|r| r.requests).sum::<i64>(), 3);
    assert!(store.unassign_guardrail_member(&team.id, &ann.id).await.unwrap());
    assert!(!store.unassign_guardrail_member(&team.id, &ann.id).await.unwrap());
    assert_eq!(store.guardrail_spend(&team.id, 0).await.unwrap(), NanoUsd(0));

    // Workspace BYOK keys and presets.
    let master = MasterKey::generate();
    let new = NewByok {
        provider: "sim".into(),
        api_key: Secret::new("sk-workspace-0123456789"),
        label: None,
        priority: ByokPriority::Prioritized,
        always_use: false,
        workspace_id: Some(ws.id.clone()),
    };
    let byok = store.create_byok(&a, &new, &master).await.unwrap();
    assert_eq!(byok.workspace_id.as_deref(), Some(ws.id.as_str()));
    assert_eq!(byok.decrypt(&master).unwrap().expose(), "sk-workspace-0123456789");
    assert_eq!(store.byok_keys(&a).await.unwrap()[0].workspace_id, Some(ws.id.clone()));
    let (p, created) = store.put_workspace_preset(&a, &ws.id, "p", &json!({"model": "x/y"})).await.unwrap();
    assert!(created && p.workspace_id.as_deref() == Some(ws.id.as_str()));
    let (p, created) = store.put_workspace_preset(&a, &ws.id, "p", &json!({"model": "x/z"})).await.unwrap();
    assert_eq!((created, p.version), (false, 2));
    store.put_preset(&a, "p", &json!({"model": "acct/m"})).await.unwrap();
    assert_eq!(store.workspace_preset(&ws.id, "p").await.unwrap().unwrap().config, json!({"model": "x/z"}));
    assert_eq!(store.preset(&a, "p").await.unwrap().unwrap().workspace_id, None);
    assert_eq!(store.workspace_presets(&ws.id).await.unwrap().len(), 1);

    // PKCE: the exchanged key lands in the code's workspace, as its member's.
    let req = CodeRequest {
        code_challenge: "plain-verifier-of-forty-three-characters-xx".into(),
        workspace_id: Some(ws.id.clone()),
        member_id: Some(ann.id.clone()),
        ..CodeRequest::default()
    };
    let code = store.create_auth_code(&a, &req).await.unwrap().code;
    let (granted, _) = store
        .exchange_auth_code(
            &code,
            "plain-verifier-of-forty-three-characters-xx",
            switchyard_store::ChallengeMethod::Plain,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(granted.record.workspace_id.as_deref(), Some(ws.id.as_str()));
    assert_eq!(granted.record.member_role, Some(MemberRole::Member));

    // A workspace with BYOK keys stays; without, it goes with its memberships and presets.
    for k in [&k3.hash, &granted.record.hash] {
        assert!(store.delete_key(k).await.unwrap());
    }
    assert!(matches!(store.delete_workspace(&a, &ws.id).await, Err(StoreError::Conflict(_))));
    assert!(store.delete_byok(&a, &byok.id).await.unwrap());
    assert!(store.delete_workspace(&a, &ws.id).await.unwrap());
    assert!(!store.in_workspace(&ws.id, &ann.id).await.unwrap());
    assert!(store.workspace_preset(&ws.id, "p").await.unwrap().is_none());
    assert_eq!(store.guardrail(&a, &ws_rail.id).await.unwrap().unwrap().spec.workspace_id, None);

    // Deleting a member deletes their keys.
    assert!(store.delete_member(&a, &ann.id).await.unwrap());
    assert!(!store.delete_member(&a, &ann.id).await.unwrap());
    for k in [&k1.hash, &k2.hash] {
        assert!(store.key_by_hash(k).await.unwrap().is_none());
    }
    assert!(store.key_by_hash(&own.hash).await.unwrap().is_some());
}

#[tokio::test]
async fn sqlite_members() {
    let dir = tempfile::tempdir().unwrap();
    exercise(Store::open_data_dir(dir.path()).await.unwrap()).await;
}

#[tokio::test]
async fn postgres_members() {
    let pg = common::fresh_postgres("members").await;
    let store = Store::connect(&pg.url).await.unwrap();
    exercise(store.clone()).await;
    // The migration is recorded, and running them again changes nothing.
    store.close().await;
    let again = Store::connect(&pg.url).await.unwrap();
    assert!(again.members("nobody").await.unwrap().is_empty());
    again.close().await;
    pg.drop_db().await;
}
