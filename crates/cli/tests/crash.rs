//! A gateway killed with SIGKILL in the middle of a load run: after a
//! restart the ledger still reconciles with the generations, and what the
//! crash lost is measured. Generations and their ledger rows are written in
//! one transaction by the batched writer, so a crash can lose only the
//! records still waiting in its queue (at most one batch window, about
//! 20 ms of traffic), both halves together, never one without the other.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::Value;
use switchyard_sim::SimServer;
use switchyard_store::Store;

fn command(data_dir: &Path, config: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_switchyard"));
    c.env_clear()
        .env("SWITCHYARD_DATA_DIR", data_dir)
        .env("SWITCHYARD_CONFIG", config)
        .env("SWITCHYARD_LOG", "off")
        .env("SWITCHYARD_THREADS", "2");
    c
}

/// Starts `switchyard serve` on a free port and returns it with its base URL.
fn serve(data_dir: &Path, config: &Path) -> (Child, String) {
    let mut child = command(data_dir, config)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = loop {
        let line = lines.next().expect("the gateway prints where it listens").unwrap();
        if let Some(rest) = line.strip_prefix("Switchyard listening on ") {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    // Keep draining stdout so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines.by_ref() {});
    (child, url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_mid_run_loses_no_cent_of_what_was_recorded() {
    let sim = SimServer::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("switchyard.toml");
    std::fs::write(
        &config,
        format!(
            "builtin_catalog = false\n[[providers]]\nid = \"sim\"\nname = \"Simulator\"\nbase_url = \"{}\"\n\
             [[models]]\nid = \"sim/text\"\n[[models.endpoints]]\nprovider = \"sim\"\n\
             model = \"tokens=5,prompt_tokens=10\"\nprompt = \"0.000001\"\ncompletion = \"0.000002\"\n",
            sim.base_url()
        ),
    )
    .unwrap();
    let created = command(&data, &config).args(["keys", "create", "--name", "load"]).output().unwrap();
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    // The first command on a fresh data dir also prints the operator's admin key: the new key is last.
    let key = String::from_utf8_lossy(&created.stdout).lines().last().unwrap().trim().to_owned();

    let (mut gateway, url) = serve(&data, &config);
    let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..16)
        .map(|_| {
            let (http, url, key, stop) = (http.clone(), url.clone(), key.clone(), stop.clone());
            tokio::spawn(async move {
                let mut answered = Vec::new();
                let body = serde_json::json!({"model": "sim/text", "messages": [{"role": "user", "content": "hi"}]});
                while !stop.load(Ordering::Relaxed) {
                    let sent = http.post(format!("{url}/chat/completions")).bearer_auth(&key).json(&body).send().await;
                    let Ok(r) = sent else { break };
                    if let Ok(v) = r.json::<Value>().await
                        && let Some(id) = v["id"].as_str()
                    {
                        answered.push((id.to_owned(), v["usage"]["cost"].as_f64().unwrap_or(0.0)));
                    }
                }
                answered
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    gateway.kill().unwrap(); // SIGKILL: no flush, no goodbye.
    gateway.wait().unwrap();
    stop.store(true, Ordering::Relaxed);
    let mut answered = Vec::new();
    for c in clients {
        answered.extend(c.await.unwrap());
    }
    assert!(answered.len() > 50, "the load ran: {} answers", answered.len());

    // Restart on the same data: it opens, serves, and the ledger reconciles.
    let (mut again, url2) = serve(&data, &config);
    let r = http
        .post(format!("{url2}/chat/completions"))
        .bearer_auth(&key)
        .json(&serde_json::json!({"model": "sim/text", "messages": [{"role": "user", "content": "after"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    again.kill().unwrap();
    again.wait().unwrap();
    let verify = command(&data, &config).args(["ledger", "verify"]).output().unwrap();
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stdout));

    // What the crash lost: answers the clients got whose record never reached the disk.
    let store = Store::open_data_dir(&data).await.unwrap();
    let mut lost = 0usize;
    let mut lost_usd = 0.0;
    for (id, cost) in &answered {
        if store.generation(id).await.unwrap().is_none() {
            lost += 1;
            lost_usd += cost;
        }
    }
    eprintln!(
        "crash test: {} answers before SIGKILL, {lost} not recorded ({:.2} %, ${lost_usd:.6})",
        answered.len(),
        100.0 * lost as f64 / answered.len() as f64
    );
    // One batch window of traffic at most: far below a tenth of the run.
    assert!(lost * 10 < answered.len(), "lost {lost} of {}", answered.len());
}
