//! A fleet: two gateway instances sharing one Postgres database (a
//! throwaway one) and one Redis (under a throwaway key prefix). Requests
//! split across both see one key limit, one free-model cap and one
//! response cache.

use std::time::Duration;

use serde_json::{Value, json};
use sqlx::{Connection, Executor, PgConnection};
use switchyard_api::NanoUsd;
use switchyard_server::{Config, RunningGateway};
use switchyard_sim::SimServer;
use switchyard_store::KeySpec;

use crate::common::{Env, body, config_text, test_env};

/// $0.00002 a request (10 prompt + 5 completion tokens), in flight for a
/// while so that requests on both instances overlap.
const SLOW: &str = "[[models]]\nid = \"r/slow\"\n[[models.endpoints]]\nprovider = \"sim\"\n\
    model = \"first_byte_ms=150,tokens=5,prompt_tokens=10\"\nprompt = \"0.000001\"\ncompletion = \"0.000002\"\n";

const FREE: &str =
    "[[models]]\nid = \"acme/gift:free\"\n[[models.endpoints]]\nprovider = \"sim\"\nmodel = \"tokens=1\"\n";

fn pg_admin_url() -> String {
    std::env::var("SWITCHYARD_TEST_POSTGRES").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

fn redis_url() -> String {
    std::env::var("SWITCHYARD_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// Drops the database and the Redis keys, even when the test fails.
struct Cleanup {
    db: Option<String>,
    prefix: String,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let (db, prefix) = (self.db.clone(), self.prefix.clone());
        // Its own thread and runtime: this may run inside the test's runtime.
        let done = std::thread::spawn(move || {
            if let Ok(client) = redis::Client::open(redis_url())
                && let Ok(mut c) = client.get_connection()
            {
                let keys: Vec<String> = redis::cmd("KEYS").arg(format!("{prefix}*")).query(&mut c).unwrap_or_default();
                if !keys.is_empty() {
                    let _: Result<(), _> = redis::cmd("DEL").arg(keys).query(&mut c);
                }
            }
            let Some(db) = db else { return };
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                if let Ok(mut admin) = PgConnection::connect(&pg_admin_url()).await {
                    let _ = admin.execute(format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)").as_str()).await;
                }
            });
        });
        let _ = done.join();
    }
}

/// Two gateways over one simulator, database and Redis prefix.
struct Fleet {
    sim: SimServer,
    gws: Vec<RunningGateway>,
    http: reqwest::Client,
    _dirs: Vec<tempfile::TempDir>,
    _cleanup: Cleanup,
}

impl Fleet {
    async fn start(extra: &str) -> Fleet {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
        let db = format!("switchyard_fleet_{}_{nanos:x}", std::process::id());
        let prefix = format!("syfleet:{db}:");
        let cleanup = Cleanup { db: Some(db.clone()), prefix: prefix.clone() };
        let admin_url = pg_admin_url();
        let mut admin = PgConnection::connect(&admin_url).await.expect("Postgres at SWITCHYARD_TEST_POSTGRES");
        admin.execute(format!("CREATE DATABASE {db}").as_str()).await.unwrap();
        let db_url = format!("{}/{db}", admin_url.rsplit_once('/').unwrap().0);
        let sim = SimServer::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let mut gws = Vec::new();
        let mut dirs = Vec::new();
        // One after the other: the first creates the schema and the default account.
        for _ in 0..2 {
            let dir = tempfile::tempdir().unwrap();
            let shared = format!("[redis]\nurl = \"{}\"\nprefix = \"{prefix}\"\n{extra}", redis_url());
            let data = dir.path().join("data").display().to_string();
            let text = format!("database_url = \"{db_url}\"\n{}", config_text(&sim.base_url(), &data, "", &shared));
            let cfg = Config::from_toml(&text).unwrap();
            gws.push(switchyard_server::start(cfg, &test_env, std::future::pending()).await.unwrap());
            dirs.push(dir);
        }
        let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
        Fleet { sim, gws, http, _dirs: dirs, _cleanup: cleanup }
    }

    async fn chat(&self, instance: usize, key: &str, body: &Value, headers: &[(&str, &str)]) -> reqwest::Response {
        let url = format!("{}/chat/completions", self.gws[instance].base_url());
        let mut req = self.http.post(url).bearer_auth(key).json(body);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        req.send().await.unwrap()
    }

    async fn stop(self) {
        for gw in self.gws {
            gw.shutdown().await;
        }
    }
}

#[tokio::test]
async fn two_instances_share_one_key_limit() {
    let fleet = Fleet::start(SLOW).await;
    let store = fleet.gws[0].store().clone();
    let account = store.default_account().await.unwrap().unwrap();
    let limit = NanoUsd::parse_usd("0.0005").unwrap();
    let spec = KeySpec { name: "racer".into(), limit: Some(limit), ..KeySpec::default() };
    let key = store.create_key_with(&account.id, &spec).await.unwrap().plaintext;

    let req =
        json!({"model": "r/slow", "max_tokens": 5, "messages": [{"role": "user", "content": "Hello, simulator."}]});
    let calls = (0..200).map(|i| {
        let (fleet, key, req) = (&fleet, &key, &req);
        async move {
            let r = fleet.chat(i % 2, key, req, &[]).await;
            let status = r.status().as_u16();
            (i % 2, status, r.json::<Value>().await.unwrap())
        }
    });
    let results = futures_util::future::join_all(calls).await;
    let ok: Vec<&(usize, u16, Value)> = results.iter().filter(|(_, s, _)| *s == 200).collect();
    let refused = results.iter().filter(|(_, s, _)| *s == 402).count();
    assert_eq!(ok.len() + refused, 200, "every request is answered 200 or 402");
    let spent: f64 = ok.iter().map(|(_, _, v)| v["usage"]["cost"].as_f64().unwrap()).sum();
    let per_instance = [0, 1].map(|i| ok.iter().filter(|(n, _, _)| *n == i).count());
    eprintln!(
        "fleet key limit: {} served ({per_instance:?} per instance), {refused} refused, ${spent:.6} spent",
        ok.len()
    );
    assert!(spent <= 0.0005 + 1e-12, "spent ${spent} of a $0.0005 limit across two instances");
    assert!(ok.len() >= 14, "the limit is used, not left idle: {} served", ok.len());
    // Which instance gets the room depends on arrival order; alone, either
    // would have served at least 14 (the single-instance test), so the room
    // was shared whichever way it went.

    // Every cent is in the shared database.
    let expected = NanoUsd((spent * 1e9).round() as i64);
    for _ in 0..200 {
        if store.generations_cost(&account.id).await.unwrap() == expected {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(store.generations_cost(&account.id).await.unwrap(), expected);
    fleet.stop().await;
}

#[tokio::test]
async fn two_instances_share_the_free_cap_and_the_response_cache() {
    let fleet = Fleet::start(&format!("{FREE}[limits]\nfree_per_minute = 5\n")).await;
    let store = fleet.gws[0].store().clone();
    let account = store.default_account().await.unwrap().unwrap();
    let key = store.create_key(&account.id, "k", false, None).await.unwrap().plaintext;

    // Not across a minute boundary: the cap is per calendar minute.
    let into_minute = switchyard_store::now_ms() % 60_000;
    if into_minute > 55_000 {
        tokio::time::sleep(Duration::from_millis((60_000 - into_minute + 100) as u64)).await;
    }
    // 40 at once, split across the instances: exactly the cap is served.
    let free = body("acme/gift:free");
    let calls = (0..40).map(|i| {
        let (fleet, key, free) = (&fleet, &key, &free);
        async move { fleet.chat(i % 2, key, free, &[]).await.status().as_u16() }
    });
    let statuses = futures_util::future::join_all(calls).await;
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 5, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 35, "{statuses:?}");

    // A whole answer stored by one instance is a hit on the other.
    let opt_in = [("X-OpenRouter-Cache", "true")];
    let first = fleet.chat(0, &key, &body("sim/text"), &opt_in).await;
    assert_eq!(first.headers()["x-openrouter-cache-status"], "MISS");
    let first: Value = first.json().await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let hit = fleet.chat(1, &key, &body("sim/text"), &opt_in).await;
    assert_eq!(hit.headers()["x-openrouter-cache-status"], "HIT");
    assert_eq!(hit.headers()["x-openrouter-cache-source-id"], first["id"].as_str().unwrap());
    let hit: Value = hit.json().await.unwrap();
    assert_eq!(hit["usage"]["cost"].as_f64(), Some(0.0));
    assert_eq!(hit["choices"][0]["message"]["content"], first["choices"][0]["message"]["content"]);
    let upstream =
        fleet.sim.requests_where(|r| r.path.contains("/chat/completions") && r.body.to_string().contains("Hello"));
    assert_eq!(upstream.len(), 5 + 1, "five free requests and one cached answer went upstream");

    let id = hit["id"].as_str().unwrap();
    let mut stored = None;
    for _ in 0..100 {
        stored = store.generation(id).await.unwrap();
        if stored.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let stored = stored.expect("the hit's generation is recorded");
    assert_eq!(stored.response_cache_source_id.as_deref(), first["id"].as_str());
    assert_eq!(stored.cost, NanoUsd::ZERO);
    fleet.stop().await;
}

/// A TCP relay to Redis that can be cut: Redis going down under a running
/// gateway.
struct Relay {
    addr: std::net::SocketAddr,
    tasks: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl Relay {
    async fn start() -> Relay {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let target = redis_url().trim_start_matches("redis://").trim_end_matches('/').to_owned();
        let tasks = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let conns = tasks.clone();
        let accept = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let target = target.clone();
                let conn = tokio::spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                conns.lock().unwrap().push(conn);
            }
        });
        tasks.lock().unwrap().push(accept);
        Relay { addr, tasks }
    }

    /// Stops accepting and drops every relayed connection.
    fn cut(&self) {
        for t in self.tasks.lock().unwrap().drain(..) {
            t.abort();
        }
    }
}

#[tokio::test]
async fn with_redis_down_paid_requests_fail_closed_free_ones_pass_and_the_cache_misses() {
    let relay = Relay::start().await;
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    let prefix = format!("sydown:{}_{nanos:x}:", std::process::id());
    let _cleanup = Cleanup { db: None, prefix: prefix.clone() };
    let env = Env::start_with(&format!(
        "[redis]\nurl = \"redis://{}\"\nprefix = \"{prefix}\"\ntimeout_ms = 300\n{FREE}[limits]\nfree_per_minute = 100\n",
        relay.addr
    ))
    .await;
    // A key with a spend limit: its requests reserve spend in Redis.
    let account = env.gw.store().default_account().await.unwrap().unwrap();
    let spec = KeySpec { name: "capped".into(), limit: Some(NanoUsd::parse_usd("1").unwrap()), ..KeySpec::default() };
    let capped = env.gw.store().create_key_with(&account.id, &spec).await.unwrap().plaintext;
    assert_eq!(env.chat_as(&capped, body("sim/text")).await.status(), 200, "Redis up: served");

    relay.cut();
    let upstream_before = env.sim.requests().len();
    let started = std::time::Instant::now();
    let r = env.chat_as(&capped, body("sim/text")).await;
    assert_eq!(r.status(), 503, "spend cannot be reserved: refused, not served unchecked");
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["code"], 503);
    assert!(e["error"]["message"].as_str().unwrap().contains("reservations"), "{e}");
    assert_eq!(env.sim.requests().len(), upstream_before, "no upstream was called");

    // A free request reserves nothing; its rate-limit counters fail open,
    // and the cache just misses.
    let cached = [("X-OpenRouter-Cache", "true")];
    for _ in 0..2 {
        let mut req = env.http.post(env.url("/chat/completions")).bearer_auth(&env.key).json(&body("acme/gift:free"));
        for (k, v) in cached {
            req = req.header(k, v);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["x-openrouter-cache-status"], "MISS");
    }
    assert_eq!(env.sim.requests().len(), upstream_before + 2);
    assert!(started.elapsed() < Duration::from_secs(10), "nothing hangs: {:?}", started.elapsed());
}
