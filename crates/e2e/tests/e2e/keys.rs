//! `/api/v1/keys` with a management key, key limits that reset, and what
//! `/api/v1/key` reports.

use std::time::Duration;

use serde_json::{Value, json};
use switchyard_api::NanoUsd;
use switchyard_store::{Billing, KeySpec, now_ms};

use crate::common::{Env, body};

/// Creates a key through the API: (plaintext, hash).
async fn create(env: &Env, admin: &str, body: Value) -> (String, String) {
    let (status, v) = env.send("POST", admin, "/keys", Some(body)).await;
    assert_eq!(status, 201, "{v}");
    (v["key"].as_str().unwrap().to_owned(), v["data"]["hash"].as_str().unwrap().to_owned())
}

/// Chats once and waits until the generation is stored.
async fn spend(env: &Env, key: &str) {
    let r = env.chat_as(key, body("sim/text")).await;
    assert_eq!(r.status(), 200);
    let id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    assert_eq!(env.generation(key, &id).await.status(), 200);
}

#[tokio::test]
async fn management_key_creates_lists_updates_and_deletes_keys() {
    let env = Env::start().await;
    let admin = env.admin_key().await;
    let (status, v) = env
        .send(
            "POST",
            &admin,
            "/keys",
            Some(json!({"name": "ci", "limit": 1.5, "limit_reset": "monthly", "include_byok_in_limit": true,
                    "expires_at": "2099-12-31T23:59:59Z", "workspace_id": null})),
        )
        .await;
    assert_eq!(status, 201, "{v}");
    let plaintext = v["key"].as_str().unwrap();
    assert!(plaintext.starts_with("sk-sy-v1-"));
    let d = &v["data"];
    let hash = d["hash"].as_str().unwrap().to_owned();
    assert_eq!(hash, switchyard_store::hash_key(plaintext));
    assert_eq!(d["name"], "ci");
    assert_eq!(d["limit"], 1.5);
    assert_eq!(d["limit_remaining"], 1.5);
    assert_eq!(d["limit_reset"], "monthly");
    assert_eq!(d["include_byok_in_limit"], true);
    assert_eq!(d["disabled"], false);
    assert_eq!(d["expires_at"], "2099-12-31T23:59:59.000Z");
    for field in ["usage", "usage_daily", "usage_weekly", "usage_monthly", "byok_usage", "byok_usage_monthly"] {
        assert_eq!(d[field], 0.0, "{field}");
    }
    assert!(d["created_at"].as_str().unwrap().ends_with('Z'));
    assert!(d["updated_at"].as_str().unwrap().ends_with('Z'));
    assert!(d["label"].as_str().unwrap().contains("..."));
    assert!(d.get("key").is_none(), "the plaintext is not part of the object");

    // Listed (the harness's inference key too; management keys are not).
    let (status, list) = env.send("GET", &admin, "/keys", None).await;
    assert_eq!(status, 200);
    let names: Vec<&str> = list["data"].as_array().unwrap().iter().map(|k| k["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["test", "ci"]);
    assert!(list["data"].as_array().unwrap().iter().all(|k| k.get("key").is_none()));
    let (status, one) = env.send("GET", &admin, &format!("/keys/{hash}"), None).await;
    assert_eq!(status, 200);
    assert_eq!(one["data"]["limit_reset"], "monthly");
    let (_, page2) = env.send("GET", &admin, "/keys?offset=1", None).await;
    assert_eq!(page2["data"].as_array().unwrap().len(), 1);

    // PATCH: only what is sent changes; null clears limit and reset.
    let (status, p) = env
        .send(
            "PATCH",
            &admin,
            &format!("/keys/{hash}"),
            Some(json!({"name": "ci-renamed", "limit": null, "limit_reset": null})),
        )
        .await;
    assert_eq!(status, 200, "{p}");
    assert_eq!(p["data"]["name"], "ci-renamed");
    assert!(
        p["data"]["limit"].is_null() && p["data"]["limit_remaining"].is_null() && p["data"]["limit_reset"].is_null()
    );
    assert_eq!(p["data"]["include_byok_in_limit"], true);
    let (_, p) =
        env.send("PATCH", &admin, &format!("/keys/{hash}"), Some(json!({"limit": 2, "limit_reset": "weekly"}))).await;
    assert_eq!((p["data"]["limit"].as_f64(), p["data"]["limit_reset"].as_str()), (Some(2.0), Some("weekly")));
    assert_eq!(p["data"]["name"], "ci-renamed");
    assert_eq!(env.chat_as(plaintext, body("sim/text")).await.status(), 200);

    // Disabled: refused at once, hidden from lists unless asked for.
    let (status, p) = env.send("PATCH", &admin, &format!("/keys/{hash}"), Some(json!({"disabled": true}))).await;
    assert_eq!((status, &p["data"]["disabled"]), (200, &json!(true)));
    assert_eq!(env.chat_as(plaintext, body("sim/text")).await.status(), 401);
    let (_, list) = env.send("GET", &admin, "/keys", None).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    let (_, list) = env.send("GET", &admin, "/keys?include_disabled=true", None).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 2);
    let (_, p) = env.send("PATCH", &admin, &format!("/keys/{hash}"), Some(json!({"disabled": false}))).await;
    assert_eq!(p["data"]["disabled"], false);
    assert_eq!(env.chat_as(plaintext, body("sim/text")).await.status(), 200);

    // Deleted: gone everywhere and no longer accepted.
    let (status, del) = env.send("DELETE", &admin, &format!("/keys/{hash}"), None).await;
    assert_eq!((status, del), (200, json!({"deleted": true})));
    assert_eq!(env.send("GET", &admin, &format!("/keys/{hash}"), None).await.0, 404);
    assert_eq!(env.send("DELETE", &admin, &format!("/keys/{hash}"), None).await.0, 404);
    assert_eq!(env.send("PATCH", &admin, &format!("/keys/{hash}"), Some(json!({"name": "x"}))).await.0, 404);
    let (_, list) = env.send("GET", &admin, "/keys?include_disabled=true", None).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    let r = env.chat_as(plaintext, body("sim/text")).await;
    assert_eq!(r.status(), 401);
    assert_eq!(env.get_as(plaintext, "/key").await.status(), 401);
}

#[tokio::test]
async fn inference_keys_cannot_manage_keys() {
    let env = Env::start().await;
    let hash = switchyard_store::hash_key(&env.key);
    for (method, path, body) in [
        ("GET", "/keys".to_owned(), None),
        ("POST", "/keys".to_owned(), Some(json!({"name": "x"}))),
        ("GET", format!("/keys/{hash}"), None),
        ("PATCH", format!("/keys/{hash}"), Some(json!({"disabled": true}))),
        ("DELETE", format!("/keys/{hash}"), None),
    ] {
        let (status, v) = env.send(method, &env.key, &path, body).await;
        assert_eq!(status, 403, "{method} {path}: {v}");
        assert_eq!(v["error"]["metadata"]["error_type"], "permission_denied");
    }
    assert_eq!(env.send("GET", "sk-sy-v1-nope", "/keys", None).await.0, 401);
    assert_eq!(env.chat(body("sim/text")).await.status(), 200, "the key still works");
}

#[tokio::test]
async fn a_created_key_runs_chat_and_shows_its_usage() {
    let env = Env::start().await;
    let admin = env.admin_key().await;
    let (key, hash) = create(&env, &admin, json!({"name": "app", "limit": 1, "limit_reset": "daily"})).await;
    spend(&env, &key).await;
    spend(&env, &key).await;
    let (_, v) = env.send("GET", &admin, &format!("/keys/{hash}"), None).await;
    let d = &v["data"];
    for field in ["usage", "usage_daily", "usage_weekly", "usage_monthly"] {
        assert_eq!(d[field].as_f64().unwrap(), 0.00004, "{field}");
    }
    assert_eq!(d["limit_remaining"].as_f64().unwrap(), 0.99996);
    let (_, list) = env.send("GET", &admin, "/keys", None).await;
    let listed = list["data"].as_array().unwrap().iter().find(|k| k["hash"] == hash.as_str()).unwrap().clone();
    assert_eq!(listed["usage_daily"].as_f64().unwrap(), 0.00004);

    let (status, me) = env.send("GET", &key, "/key", None).await;
    assert_eq!(status, 200);
    let m = &me["data"];
    assert_eq!(m["usage_daily"].as_f64().unwrap(), 0.00004);
    assert_eq!(m["usage_monthly"].as_f64().unwrap(), 0.00004);
    assert_eq!(m["limit"], 1.0);
    assert_eq!(m["limit_reset"], "daily");
    assert_eq!(m["limit_remaining"].as_f64().unwrap(), 0.99996);
    assert_eq!(m["include_byok_in_limit"], false);
    assert_eq!((&m["is_management_key"], &m["is_provisioning_key"]), (&json!(false), &json!(false)));
    assert!(m["expires_at"].is_null());
    // The management key's own view.
    let (_, me) = env.send("GET", &admin, "/key", None).await;
    assert_eq!((&me["data"]["is_management_key"], &me["data"]["is_provisioning_key"]), (&json!(true), &json!(true)));
}

#[tokio::test]
async fn a_spent_limit_gets_402_until_raised() {
    let env = Env::start().await;
    let admin = env.admin_key().await;
    // sim/text with max_tokens 5 reserves $0.000035 and costs $0.00002: two
    // fit under $0.00006, a third does not.
    let (key, hash) = create(&env, &admin, json!({"name": "tiny", "limit": 0.00006, "limit_reset": "daily"})).await;
    let small = || {
        let mut b = body("sim/text");
        b["max_tokens"] = json!(5);
        b
    };
    assert_eq!(env.chat_as(&key, small()).await.status(), 200);
    assert_eq!(env.chat_as(&key, small()).await.status(), 200);
    let r = env.chat_as(&key, small()).await;
    assert_eq!(r.status(), 402);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], 402);
    assert_eq!(v["error"]["metadata"]["error_type"], "payment_required");
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(msg.contains("limit") && msg.contains("resets at") && msg.contains("T00:00:00.000Z"), "{msg}");
    assert_eq!(env.chat_as(&key, body("sim/free")).await.status(), 200, "free models cost nothing");
    let s = env.http.post(env.url("/chat/completions")).bearer_auth(&key).json(&crate::common::stream_body("sim/text"));
    assert_eq!(s.send().await.unwrap().status(), 402, "streams are refused before they start");

    // /key, once the writer has stored both requests.
    let mut remaining = Value::Null;
    for _ in 0..100 {
        let (_, me) = env.send("GET", &key, "/key", None).await;
        if me["data"]["usage_daily"].as_f64() == Some(0.00004) {
            remaining = me["data"]["limit_remaining"].clone();
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(remaining, 0.00002);

    // Raising the limit lets the key spend again at once.
    let (status, _) = env.send("PATCH", &admin, &format!("/keys/{hash}"), Some(json!({"limit": 0.001}))).await;
    assert_eq!(status, 200);
    assert_eq!(env.chat_as(&key, small()).await.status(), 200);
}

#[tokio::test]
async fn a_key_disabled_elsewhere_stops_within_a_second_and_expired_keys_get_401() {
    let env = Env::start().await;
    let admin = env.admin_key().await;
    let (key, hash) = create(&env, &admin, json!({"name": "cli-disabled"})).await;
    assert_eq!(env.chat_as(&key, body("sim/text")).await.status(), 200);
    // Another process (the CLI) disables it: the auth cache notices within its TTL.
    assert_eq!(env.gw.store().set_key_disabled(&hash, true).await.unwrap(), 1);
    let mut status = 200;
    for _ in 0..30 {
        status = env.chat_as(&key, body("sim/text")).await.status().as_u16();
        if status == 401 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status, 401);

    let store = env.gw.store();
    let account = store.default_account().await.unwrap().unwrap();
    let spec = KeySpec { name: "old".into(), expires_at: Some(now_ms() - 1_000), ..KeySpec::default() };
    let expired = store.create_key_with(&account.id, &spec).await.unwrap().plaintext;
    let r = env.chat_as(&expired, body("sim/text")).await;
    assert_eq!(r.status(), 401);
    assert!(r.text().await.unwrap().contains("expired"));
}

#[tokio::test]
async fn another_accounts_keys_are_not_found() {
    let env = Env::start().await;
    let admin = env.admin_key().await;
    let store = env.gw.store();
    let other = store.create_account("other", Billing::Prepaid).await.unwrap();
    let theirs = store.create_key(&other.id, "theirs", false, Some(NanoUsd(5))).await.unwrap();
    let their_admin = store.create_key(&other.id, "their-admin", true, None).await.unwrap();
    let mine_admin_hash = switchyard_store::hash_key(&admin);
    for hash in [theirs.record.hash.as_str(), their_admin.record.hash.as_str(), &mine_admin_hash, "0000"] {
        for (method, body) in [("GET", None), ("PATCH", Some(json!({"disabled": true}))), ("DELETE", None)] {
            let (status, v) = env.send(method, &admin, &format!("/keys/{hash}"), body).await;
            assert_eq!(status, 404, "{method} {hash}: {v}");
            assert_eq!(v["error"]["code"], 404);
        }
    }
    assert!(!store.key_by_hash(&theirs.record.hash).await.unwrap().unwrap().disabled);
    // Their management key sees only their key.
    let (_, list) = env.send("GET", &their_admin.plaintext, "/keys", None).await;
    let hashes: Vec<&str> = list["data"].as_array().unwrap().iter().map(|k| k["hash"].as_str().unwrap()).collect();
    assert_eq!(hashes, [theirs.record.hash.as_str()]);
}

#[tokio::test]
async fn bad_bodies_get_400_naming_the_field() {
    let env = Env::start().await;
    let admin = env.admin_key().await;
    let cases = [
        (json!({"name": "x", "expires_at": "2099-01-01T00:00:00+02:00"}), "expires_at"),
        (json!({"name": "x", "expires_at": "2099-01-01T00:00:00"}), "expires_at"),
        (json!({"name": "x", "expires_at": "2099-01-01"}), "expires_at"),
        (json!({"name": "x", "expires_at": "2001-01-01T00:00:00Z"}), "expires_at"),
        (json!({"name": "x", "expires_at": 5}), "expires_at"),
        (json!({"limit": 1}), "name"),
        (json!({"name": "  "}), "name"),
        (json!({"name": "x", "limit": "lots"}), "limit"),
        (json!({"name": "x", "limit": -1}), "limit"),
        (json!({"name": "x", "limit_reset": "yearly"}), "limit_reset"),
        (json!({"name": "x", "include_byok_in_limit": "yes"}), "include_byok_in_limit"),
    ];
    for (body, field) in cases {
        let (status, v) = env.send("POST", &admin, "/keys", Some(body.clone())).await;
        assert_eq!(status, 400, "{body}: {v}");
        let msg = v["error"]["message"].as_str().unwrap();
        assert!(msg.contains(&format!("`{field}`")), "{body}: {msg}");
    }
    let (status, v) = env.send("POST", &admin, "/keys", None).await;
    assert_eq!(status, 400, "{v}");
    // UTC spelled +00:00 is fine.
    let (status, v) =
        env.send("POST", &admin, "/keys", Some(json!({"name": "x", "expires_at": "2099-01-01T00:00:00+00:00"}))).await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["data"]["expires_at"], "2099-01-01T00:00:00.000Z");
    let hash = v["data"]["hash"].as_str().unwrap();
    for (body, field) in [
        (json!({"disabled": "yes"}), "disabled"),
        (json!({"limit": "1"}), "limit"),
        (json!({"limit_reset": "hourly"}), "limit_reset"),
        (json!({"name": ""}), "name"),
    ] {
        let (status, v) = env.send("PATCH", &admin, &format!("/keys/{hash}"), Some(body.clone())).await;
        assert_eq!(status, 400, "{body}: {v}");
        assert!(v["error"]["message"].as_str().unwrap().contains(&format!("`{field}`")), "{body}: {v}");
    }
    for query in ["include_disabled=maybe", "offset=-1"] {
        let (status, v) = env.send("GET", &admin, &format!("/keys?{query}"), None).await;
        assert_eq!(status, 400, "{query}: {v}");
    }
}
