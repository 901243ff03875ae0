//! Workspaces: `/api/v1/workspaces` CRUD with its permissions, keys in a
//! workspace (created, moved, listed), the workspace's routing defaults as
//! the router applies them, and activity per workspace.

use serde_json::{Value, json};
use switchyard_store::Billing;

use crate::common::{Env, body};

/// A model served by `sim` (free, tried first by default) and `sim-b`.
fn pair(slug: &str) -> String {
    format!(
        "[[models]]\nid = \"{slug}\"\n[[models.endpoints]]\nprovider = \"sim\"\nmodel = \"tokens=3\"\n\
         [[models.endpoints]]\nprovider = \"sim-b\"\nmodel = \"tokens=2\"\nprompt = \"0.000002\"\n"
    )
}

/// Creates a workspace; its id.
async fn workspace(env: &Env, admin: &str, name: &str, provider: Value) -> String {
    let (status, v) = env.send("POST", admin, "/workspaces", Some(json!({"name": name, "provider": provider}))).await;
    assert_eq!(status, 201, "{v}");
    v["data"]["id"].as_str().unwrap().to_owned()
}

/// Creates an inference key, in a workspace when given; its plaintext and hash.
async fn key(env: &Env, admin: &str, name: &str, workspace: Option<&str>) -> (String, String) {
    let (status, v) = env.send("POST", admin, "/keys", Some(json!({"name": name, "workspace_id": workspace}))).await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["data"]["workspace_id"], json!(workspace));
    (v["key"].as_str().unwrap().to_owned(), v["data"]["hash"].as_str().unwrap().to_owned())
}

/// Chats as `key`; the serving provider's name and the generation id.
async fn served_by(env: &Env, key: &str, provider: Option<Value>) -> (String, String) {
    let mut b = body("w/pair");
    if let Some(p) = provider {
        b["provider"] = p;
    }
    let r = env.chat_as(key, b).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    (v["provider"].as_str().unwrap().to_owned(), v["id"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn workspaces_crud_and_permissions() {
    let env = Env::start().await;
    let admin = env.admin_key().await;

    let (status, v) = env.send("GET", &admin, "/workspaces", None).await;
    assert_eq!((status, v["data"].as_array().unwrap().len()), (200, 0), "{v}");

    let (status, v) = env
        .send("POST", &admin, "/workspaces", Some(json!({"name": "Team A", "provider": {"order": ["sim-b"]}})))
        .await;
    assert_eq!(status, 201, "{v}");
    let ws = v["data"].clone();
    let id = ws["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("ws_"), "{ws}");
    assert_eq!(ws["name"], "Team A");
    assert_eq!(ws["slug"], "team-a");
    assert_eq!(ws["provider"], json!({"order": ["sim-b"]}));
    assert!(ws["created_at"].is_string() && ws["updated_at"].is_string(), "{ws}");

    let (status, v) = env.send("GET", &admin, &format!("/workspaces/{id}"), None).await;
    assert_eq!((status, &v["data"]), (200, &ws));
    let (status, v) = env.send("GET", &admin, "/workspaces", None).await;
    assert_eq!((status, v["data"].clone()), (200, json!([ws])));

    // A taken slug, a bad slug, a bad provider object: 400s naming what is wrong.
    let (status, v) = env.send("POST", &admin, "/workspaces", Some(json!({"name": "x", "slug": "team-a"}))).await;
    assert_eq!(status, 400, "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("team-a"), "{v}");
    let (status, v) = env.send("POST", &admin, "/workspaces", Some(json!({"name": "x", "slug": "Bad Slug"}))).await;
    assert_eq!(status, 400, "{v}");
    let (status, v) =
        env.send("POST", &admin, "/workspaces", Some(json!({"name": "x", "provider": {"order": "sim-b"}}))).await;
    assert_eq!(status, 400, "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("provider.order"), "{v}");
    let (status, v) =
        env.send("PATCH", &admin, &format!("/workspaces/{id}"), Some(json!({"provider": {"sort": 3}}))).await;
    assert_eq!(status, 400, "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("provider.sort"), "{v}");

    let (status, v) = env
        .send(
            "PATCH",
            &admin,
            &format!("/workspaces/{id}"),
            Some(json!({"name": "Team B", "slug": "team-b", "provider": {"ignore": ["sim"]}})),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!((&v["data"]["name"], &v["data"]["slug"]), (&json!("Team B"), &json!("team-b")));
    assert_eq!(v["data"]["provider"], json!({"ignore": ["sim"]}));
    let (status, v) = env.send("PATCH", &admin, &format!("/workspaces/{id}"), Some(json!({"provider": null}))).await;
    assert_eq!((status, &v["data"]["provider"]), (200, &json!({})), "{v}");

    // An inference key may not manage workspaces.
    for (method, path) in [("GET", "/workspaces".to_owned()), ("GET", format!("/workspaces/{id}"))] {
        let (status, v) = env.send(method, &env.key, &path, None).await;
        assert_eq!(status, 403, "{v}");
    }
    let (status, _) = env.send("POST", &env.key, "/workspaces", Some(json!({"name": "nope"}))).await;
    assert_eq!(status, 403);
    let (status, _) = env.send("DELETE", &env.key, &format!("/workspaces/{id}"), None).await;
    assert_eq!(status, 403);

    // Another account's management key sees none of it.
    let store = env.gw.store();
    let other = store.create_account("other", Billing::Postpaid).await.unwrap();
    let foreign = store.create_key(&other.id, "admin", true, None).await.unwrap().plaintext;
    for method in ["GET", "PATCH", "DELETE"] {
        let b = (method == "PATCH").then(|| json!({"name": "mine"}));
        let (status, v) = env.send(method, &foreign, &format!("/workspaces/{id}"), b).await;
        assert_eq!(status, 404, "{method}: {v}");
    }
    let (status, v) = env.send("GET", &foreign, "/workspaces", None).await;
    assert_eq!((status, v["data"].as_array().unwrap().len()), (200, 0));
    // Nor can it put a key in it.
    let (status, v) = env.send("POST", &foreign, "/keys", Some(json!({"name": "k", "workspace_id": id}))).await;
    assert_eq!(status, 404, "{v}");

    // Delete is refused while keys are in it, and works once they are gone.
    let (_, hash) = key(&env, &admin, "in-ws", Some(&id)).await;
    let (status, v) = env.send("DELETE", &admin, &format!("/workspaces/{id}"), None).await;
    assert_eq!(status, 400, "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("key"), "{v}");
    let (status, _) = env.send("DELETE", &admin, &format!("/keys/{hash}"), None).await;
    assert_eq!(status, 200);
    let (status, v) = env.send("DELETE", &admin, &format!("/workspaces/{id}"), None).await;
    assert_eq!((status, &v["deleted"]), (200, &json!(true)), "{v}");
    let (status, _) = env.send("GET", &admin, &format!("/workspaces/{id}"), None).await;
    assert_eq!(status, 404);
    let (status, _) = env.send("DELETE", &admin, &format!("/workspaces/{id}"), None).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn keys_belong_to_workspaces() {
    let env = Env::start().await;
    let admin = env.admin_key().await;
    let a = workspace(&env, &admin, "a", json!({})).await;
    let b = workspace(&env, &admin, "b", json!({})).await;
    let (plain, in_a) = key(&env, &admin, "in-a", Some(&a)).await;
    let (_, outside) = key(&env, &admin, "outside", None).await;

    let hashes = |v: &Value| -> Vec<String> {
        v["data"].as_array().unwrap().iter().map(|k| k["hash"].as_str().unwrap().to_owned()).collect()
    };
    let (status, v) = env.send("GET", &admin, &format!("/keys?workspace_id={a}"), None).await;
    assert_eq!((status, hashes(&v)), (200, vec![in_a.clone()]), "{v}");
    assert_eq!(v["data"][0]["workspace_id"], a);
    let (status, v) = env.send("GET", &admin, &format!("/keys?workspace_id={b}"), None).await;
    assert_eq!((status, hashes(&v)), (200, Vec::<String>::new()));
    let (status, v) = env.send("GET", &admin, "/keys", None).await;
    assert_eq!(status, 200);
    assert!(hashes(&v).contains(&in_a) && hashes(&v).contains(&outside), "{v}");
    let (status, _) = env.send("GET", &admin, "/keys?workspace_id=ws_0000", None).await;
    assert_eq!(status, 404);

    // GET /key shows the caller's workspace.
    let (status, v) = env.send("GET", &plain, "/key", None).await;
    assert_eq!((status, &v["data"]["workspace_id"]), (200, &json!(a)), "{v}");

    // Moving a key: to b, then back to the default workspace.
    let (status, v) = env.send("PATCH", &admin, &format!("/keys/{in_a}"), Some(json!({"workspace_id": b}))).await;
    assert_eq!((status, &v["data"]["workspace_id"]), (200, &json!(b)), "{v}");
    let (status, v) = env.send("GET", &admin, &format!("/keys?workspace_id={b}"), None).await;
    assert_eq!((status, hashes(&v)), (200, vec![in_a.clone()]));
    let (status, v) =
        env.send("PATCH", &admin, &format!("/keys/{in_a}"), Some(json!({"workspace_id": "ws_nope"}))).await;
    assert_eq!(status, 404, "{v}");
    let (status, v) = env.send("PATCH", &admin, &format!("/keys/{in_a}"), Some(json!({"workspace_id": null}))).await;
    assert_eq!((status, &v["data"]["workspace_id"]), (200, &Value::Null), "{v}");
    let (status, v) = env.send("GET", &plain, "/key", None).await;
    assert_eq!((status, &v["data"]["workspace_id"]), (200, &Value::Null), "{v}");
    let (status, v) = env.send("POST", &admin, "/keys", Some(json!({"name": "x", "workspace_id": "ws_nope"}))).await;
    assert_eq!(status, 404, "{v}");
}

#[tokio::test]
async fn a_workspace_routes_its_keys_and_the_request_still_wins() {
    let env = Env::start_with(&pair("w/pair")).await;
    let admin = env.admin_key().await;
    let ws = workspace(&env, &admin, "prefers-b", json!({"order": ["sim-b"]})).await;
    let (inside, _) = key(&env, &admin, "inside", Some(&ws)).await;
    let (outside, _) = key(&env, &admin, "outside", None).await;

    assert_eq!(served_by(&env, &inside, None).await.0, "Simulator B");
    assert_eq!(served_by(&env, &outside, None).await.0, "Simulator");
    assert_eq!(served_by(&env, &env.key, None).await.0, "Simulator");
    // The request's own `provider` overrides the workspace's.
    assert_eq!(served_by(&env, &inside, Some(json!({"order": ["sim"]}))).await.0, "Simulator");

    // A change applies at once in this process.
    let (status, _) =
        env.send("PATCH", &admin, &format!("/workspaces/{ws}"), Some(json!({"provider": {"ignore": ["sim-b"]}}))).await;
    assert_eq!(status, 200);
    assert_eq!(served_by(&env, &inside, None).await.0, "Simulator");
}

#[tokio::test]
async fn activity_per_workspace() {
    let env = Env::start_with(&pair("w/pair")).await;
    let admin = env.admin_key().await;
    let ws = workspace(&env, &admin, "w", json!({"order": ["sim-b"]})).await;
    let empty = workspace(&env, &admin, "empty", json!({})).await;
    let (inside, _) = key(&env, &admin, "inside", Some(&ws)).await;
    let (outside, _) = key(&env, &admin, "outside", None).await;
    for k in [&inside, &inside, &outside] {
        let (_, id) = served_by(&env, k, None).await;
        assert_eq!(env.generation(k, &id).await.status(), 200);
    }

    let requests = |v: &Value| -> Vec<(String, i64)> {
        v["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["provider_name"].as_str().unwrap().to_owned(), r["requests"].as_i64().unwrap()))
            .collect()
    };
    let (status, v) = env.send("GET", &admin, &format!("/activity?workspace_id={ws}"), None).await;
    assert_eq!((status, requests(&v)), (200, vec![("Simulator B".to_owned(), 2)]), "{v}");
    let (status, v) = env.send("GET", &admin, &format!("/activity?workspace_id={empty}"), None).await;
    assert_eq!((status, requests(&v)), (200, vec![]), "{v}");
    let (status, v) = env.send("GET", &admin, "/activity", None).await;
    assert_eq!(status, 200);
    assert_eq!(requests(&v).iter().map(|(_, n)| n).sum::<i64>(), 3, "{v}");

    let store = env.gw.store();
    let other = store.create_account("other", Billing::Postpaid).await.unwrap();
    let foreign_admin = store.create_key(&other.id, "admin", true, None).await.unwrap().plaintext;
    let (status, v) = env.send("GET", &foreign_admin, &format!("/activity?workspace_id={ws}"), None).await;
    assert_eq!(status, 404, "{v}");
    let (status, _) = env.send("GET", &admin, "/activity?workspace_id=ws_missing", None).await;
    assert_eq!(status, 404);
}
