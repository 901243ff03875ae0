//! Routing through the real gateway: fallbacks by failure kind, provider
//! preferences, data policies, health-aware ordering, routers, and the
//! explanation of every decision.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::{Env, body, chunks, sse_events, stream_body};

/// A model whose free endpoint (on `sim`) behaves as `scenario` and whose
/// paid one (on `sim-b`) answers. Default load balancing always tries a
/// stable free endpoint first, so the order is deterministic.
fn pair(slug: &str, scenario: &str) -> String {
    format!(
        "[[models]]\nid = \"{slug}\"\n[[models.endpoints]]\nprovider = \"sim\"\nmodel = \"{scenario}\"\n\
         [[models.endpoints]]\nprovider = \"sim-b\"\nmodel = \"tokens=2\"\nprompt = \"0.000002\"\n"
    )
}

/// How many requests each simulated provider received for upstream models
/// starting with `prefix`, by API key (sim's carries one, sim-b's none).
fn upstream_calls(env: &Env, since: usize) -> (usize, usize) {
    let reqs = env.sim.requests();
    let mut a = 0;
    let mut b = 0;
    for r in &reqs[since..] {
        let keyed = r.headers.iter().any(|(k, v)| k == "authorization" && v.contains("sk-upstream-secret"));
        if keyed {
            a += 1;
        } else {
            b += 1;
        }
    }
    (a, b)
}

#[tokio::test]
async fn failures_before_the_first_byte_fall_back_to_the_next_endpoint() {
    let cases = [
        ("r/e500", "status=500"),
        ("r/e503", "status=503"),
        ("r/e429", "status=429,retry_after=30"),
        ("r/hang", "hang"),
        ("r/drop", "tokens=5,drop_after=0"),
        ("r/slow", "first_byte_ms=3000"),
    ];
    let extra: String = cases.iter().map(|(s, sc)| pair(s, sc)).collect();
    let env = Env::start_with(&extra).await;
    for (slug, _) in cases {
        for stream in [false, true] {
            let b = if stream { stream_body(slug) } else { body(slug) };
            let before = env.sim.requests().len();
            let r = env.chat(b).await;
            assert_eq!(r.status(), 200, "{slug} stream={stream}");
            let text = r.text().await.unwrap();
            let served_by = if stream {
                let cs = chunks(&sse_events(&text).0);
                cs[0]["provider"].as_str().unwrap().to_owned()
            } else {
                serde_json::from_str::<Value>(&text).unwrap()["provider"].as_str().unwrap().to_owned()
            };
            assert_eq!(served_by, "Simulator B", "{slug} stream={stream}");
            assert_eq!(upstream_calls(&env, before), (1, 1), "{slug} stream={stream}: one try each");
        }
    }
}

#[tokio::test]
async fn a_request_the_upstream_refuses_does_not_move_on() {
    let env = Env::start_with(&pair("r/e400", "status=400")).await;
    let before = env.sim.requests().len();
    let r = env.chat(body("r/e400")).await;
    assert_eq!(r.status(), 400);
    assert_eq!(upstream_calls(&env, before), (1, 0));
}

#[tokio::test]
async fn nothing_moves_on_after_the_first_byte() {
    let env = Env::start_with(&pair("r/drop-late", "tokens=10,drop_after=3")).await;
    let before = env.sim.requests().len();
    let text = env.chat(stream_body("r/drop-late")).await.text().await.unwrap();
    let (events, _) = sse_events(&text);
    let cs = chunks(&events);
    assert!(cs.iter().any(|c| c["choices"][0]["finish_reason"] == "error"), "{text}");
    assert_eq!(events.last().unwrap(), "[DONE]");
    assert_eq!(upstream_calls(&env, before), (1, 0), "no second provider after content reached the client");
}

#[tokio::test]
async fn context_length_failures_move_only_to_a_larger_window() {
    let extra = "[[models]]\nid = \"r/ctx\"\ncontext_length = 8192\n\
        [[models.endpoints]]\nprovider = \"sim\"\nmodel = \"context_exceeded\"\nprompt = \"0.000001\"\ncontext_length = 8192\n\
        [[models.endpoints]]\nprovider = \"sim\"\nmodel = \"context_exceeded,x\"\nprompt = \"0.000002\"\ncontext_length = 8192\n\
        [[models.endpoints]]\nprovider = \"sim-b\"\nmodel = \"tokens=2\"\nprompt = \"0.000003\"\ncontext_length = 32768\n";
    let env = Env::start_with(extra).await;
    let before = env.sim.requests().len();
    let mut b = body("r/ctx");
    b["provider"] = json!({"sort": "price"});
    let v: Value = env.chat(b).await.json().await.unwrap();
    assert_eq!(v["provider"], "Simulator B", "{v}");
    assert_eq!(upstream_calls(&env, before), (1, 1), "the same-size window is skipped");
}

#[tokio::test]
async fn a_short_retry_after_is_waited_out_when_nothing_else_is_left() {
    let extra = "[[models]]\nid = \"r/only429\"\n[[models.endpoints]]\nprovider = \"sim\"\n\
                 model = \"status=429,retry_after=1\"\nprompt = \"0.000001\"\n";
    let env = Env::start_with(extra).await;
    let before = env.sim.requests().len();
    let t0 = Instant::now();
    let r = env.chat(body("r/only429")).await;
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "1");
    assert!(t0.elapsed() >= Duration::from_millis(950), "waited {:?}", t0.elapsed());
    assert_eq!(upstream_calls(&env, before), (2, 0), "retried once after Retry-After");
}

#[tokio::test]
async fn order_only_ignore_and_allow_fallbacks() {
    let env = Env::start_with(&pair("r/pair", "tokens=3")).await;
    let mut b = body("r/pair");
    b["provider"] = json!({"order": ["sim-b"]});
    let v: Value = env.chat(b.clone()).await.json().await.unwrap();
    assert_eq!(v["provider"], "Simulator B");

    b["provider"] = json!({"ignore": ["sim-b"]});
    let v: Value = env.chat(b.clone()).await.json().await.unwrap();
    assert_eq!(v["provider"], "Simulator");

    b["provider"] = json!({"only": ["nobody"]});
    let r = env.chat(b.clone()).await;
    assert_eq!(r.status(), 404);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["availability"]["excluded_by"], json!(["allowed_providers"]));

    let env = Env::start_with(&pair("r/e500", "status=500")).await;
    let mut b = body("r/e500");
    b["provider"] = json!({"allow_fallbacks": false});
    let before = env.sim.requests().len();
    assert_eq!(env.chat(b).await.status(), 502);
    assert_eq!(upstream_calls(&env, before), (1, 0));
}

#[tokio::test]
async fn max_price_and_data_policies_filter_and_say_why() {
    let extra = "[[models]]\nid = \"r/policy\"\n\
        [[models.endpoints]]\nprovider = \"sim\"\nmodel = \"tokens=2\"\nprompt = \"0.000001\"\ntraining = true\n\
        [[models.endpoints]]\nprovider = \"sim-b\"\nmodel = \"tokens=2\"\nprompt = \"0.000004\"\nzdr = true\n";
    let env = Env::start_with(extra).await;
    let mut b = body("r/policy");
    b["provider"] = json!({"data_collection": "deny"});
    let v: Value = env.chat(b.clone()).await.json().await.unwrap();
    assert_eq!(v["provider"], "Simulator B", "the endpoint that trains on prompts is skipped");

    b["provider"] = json!({"max_price": {"prompt": 2}});
    let v: Value = env.chat(b.clone()).await.json().await.unwrap();
    assert_eq!(v["provider"], "Simulator", "$4/M is over the $2/M ceiling");

    b["provider"] = json!({"max_price": {"prompt": 2}, "zdr": true});
    let r = env.chat(b).await;
    assert_eq!(r.status(), 404);
    let e: Value = r.json().await.unwrap();
    let msg = e["error"]["message"].as_str().unwrap();
    assert!(msg.contains("max_price") && msg.contains("data_policy:zdr"), "{msg}");
    assert_eq!(e["error"]["availability"]["code"], "constraint_filtered");
    assert_eq!(e["error"]["availability"]["requested_models"], json!(["r/policy"]));
}

#[tokio::test]
async fn a_failing_endpoint_goes_last_until_it_recovers() {
    let env = Env::start_with(&pair("r/flaky", "status=500")).await;
    for _ in 0..2 {
        let v: Value = env.chat(body("r/flaky")).await.json().await.unwrap();
        assert_eq!(v["provider"], "Simulator B");
    }
    // Two failures in 30 seconds and no success: the cheap endpoint is now tried last.
    let before = env.sim.requests().len();
    let v: Value = env.chat(body("r/flaky")).await.json().await.unwrap();
    assert_eq!(v["provider"], "Simulator B");
    assert_eq!(upstream_calls(&env, before), (0, 1), "the failing endpoint was not tried first");
    let g = env.generation_json(v["id"].as_str().unwrap()).await;
    assert_eq!(g["provider_responses"].as_array().unwrap().len(), 1);

    let r: Value = env.http.get(env.url("/models/r/flaky/endpoints")).send().await.unwrap().json().await.unwrap();
    let eps = r["data"]["endpoints"].as_array().unwrap();
    assert_eq!(eps.len(), 2);
    let sim = eps.iter().find(|e| e["tag"] == "sim").unwrap();
    assert_eq!(sim["pricing"]["prompt"], "0");
    let sim_b = eps.iter().find(|e| e["tag"] == "sim-b").unwrap();
    assert_eq!(sim["status"], -1, "{sim}");
    assert_eq!(sim_b["uptime_last_30m"], 100.0, "{sim_b}");
    assert!(sim_b["latency_last_30m"]["p50"].as_f64().is_some(), "{sim_b}");
}

#[tokio::test]
async fn routing_is_explained_in_the_response_and_the_generation() {
    let env = Env::start_with(&pair("r/explain", "status=500")).await;
    let mut b = body("r/explain");
    b["provider"] = json!({"ignore": ["nobody"], "max_price": {"prompt": 100}});
    let r = env
        .http
        .post(env.url("/chat/completions"))
        .bearer_auth(&env.key)
        .header("x-openrouter-metadata", "enabled")
        .json(&b)
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    let meta = &v["openrouter_metadata"];
    assert_eq!(meta["requested"], "r/explain");
    assert_eq!(meta["strategy"], "direct");
    let planned: Vec<&str> =
        meta["planned"].as_array().unwrap().iter().map(|p| p["provider"].as_str().unwrap()).collect();
    assert_eq!(planned, ["sim", "sim-b"]);
    let attempts = meta["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2);
    assert!(attempts[0]["outcome"].as_str().unwrap().contains("500"), "{meta}");

    let g = env.generation_json(v["id"].as_str().unwrap()).await;
    assert_eq!(g["routing"]["planned"], meta["planned"]);
    assert_eq!(g["routing"]["preferences"]["max_price"]["prompt"], 100.0);

    // Without asking, the response carries no metadata.
    let v: Value = env.chat(body("r/explain")).await.json().await.unwrap();
    assert!(v.get("openrouter_metadata").is_none());
}

#[tokio::test]
async fn bad_preferences_are_a_400_naming_the_field() {
    let env = Env::start().await;
    let mut b = body("sim/text");
    b["provider"] = json!({"sort": 5});
    let r = env.chat(b).await;
    assert_eq!(r.status(), 400);
    let e: Value = r.json().await.unwrap();
    assert!(e["error"]["message"].as_str().unwrap().contains("provider.sort"), "{e}");
}

#[tokio::test]
async fn variants_aliases_and_routers() {
    let extra = "[[models]]\nid = \"acme/rocket-1\"\nfamily = \"rocket\"\ncreated = 100\nsupported_parameters = [\"temperature\"]\n\
        [[models.endpoints]]\nprovider = \"sim\"\nmodel = \"tokens=2\"\nprompt = \"0.000001\"\n\
        [[models]]\nid = \"acme/rocket-2\"\nfamily = \"rocket\"\ncreated = 200\nsupported_parameters = [\"tools\", \"tool_choice\"]\n\
        [[models.endpoints]]\nprovider = \"sim\"\nmodel = \"tool\"\nprompt = \"0.000003\"\n\
        [[models.endpoints]]\nprovider = \"sim-b\"\nmodel = \"tool\"\nprompt = \"0.000001\"\n\
        [[models]]\nid = \"acme/rocket-2:free\"\n\
        [[models.endpoints]]\nprovider = \"sim-b\"\nmodel = \"tokens=1\"\n\
        [routing]\nauto_models = [\"acme/rocket-1\", \"acme/rocket-2\"]\n";
    let env = Env::start_with(extra).await;
    let v: Value = env.chat(body("~acme/rocket-latest")).await.json().await.unwrap();
    assert_eq!(v["model"], "acme/rocket-2", "the alias names the newest of the family");

    let v: Value = env.chat(body("acme/rocket-2:floor")).await.json().await.unwrap();
    assert_eq!(v["provider"], "Simulator B", ":floor sorts by price");

    let mut b = body("switchyard/auto");
    b["tools"] = json!([{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]);
    let v: Value = env.chat(b).await.json().await.unwrap();
    assert_eq!(v["model"], "acme/rocket-2", "only rocket-2 takes tools: {v}");

    let v: Value = env.chat(body("openrouter/free")).await.json().await.unwrap();
    let model = v["model"].as_str().unwrap();
    assert!(["acme/rocket-2:free", "sim/free"].contains(&model), "a free model: {v}");
    assert_eq!(v["usage"]["cost"], 0.0);

    let r = env.chat(body("acme/rocket-2:online")).await;
    assert_eq!(r.status(), 400);
    let r = env.chat(body("acme/nonexistent")).await;
    assert_eq!(r.status(), 400);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["availability"]["code"], "model_not_found");
}

#[tokio::test]
async fn sessions_stick_to_the_provider_that_served_them() {
    let extra = "[[models]]\nid = \"r/even\"\n\
        [[models.endpoints]]\nprovider = \"sim\"\nmodel = \"tokens=2\"\nprompt = \"0.000001\"\n\
        [[models.endpoints]]\nprovider = \"sim-b\"\nmodel = \"tokens=2\"\nprompt = \"0.000001\"\n";
    let env = Env::start_with(extra).await;
    let mut b = body("r/even");
    b["session_id"] = json!("conversation-1");
    let first: Value = env.chat(b.clone()).await.json().await.unwrap();
    let pinned = first["provider"].as_str().unwrap().to_owned();
    for _ in 0..12 {
        let v: Value = env.chat(b.clone()).await.json().await.unwrap();
        assert_eq!(v["provider"], pinned.as_str(), "a session stays with its provider");
    }
}

#[tokio::test]
async fn providers_are_listed() {
    let env = Env::start().await;
    let v: Value = env.http.get(env.url("/providers")).send().await.unwrap().json().await.unwrap();
    let slugs: Vec<&str> = v["data"].as_array().unwrap().iter().map(|p| p["slug"].as_str().unwrap()).collect();
    for s in ["sim", "sim-b", "anth", "gem", "coh", "bed", "az"] {
        assert!(slugs.contains(&s), "{s} in {slugs:?}");
    }
    let r = env.http.get(env.url("/models/nobody/nothing/endpoints")).send().await.unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn service_tier_endpoints_are_used_only_when_asked_and_told_their_tier() {
    let extra = "[[models]]\nid = \"r/tiered\"\n\
        [[models.endpoints]]\nprovider = \"sim\"\nmodel = \"tokens=2,prompt_tokens=10\"\nprompt = \"0.000002\"\n\
        [[models.endpoints]]\nprovider = \"sim\"\nmodel = \"tokens=2,prompt_tokens=10\"\nprompt = \"0.000001\"\n\
        tag = \"sim/flex\"\nservice_tier = \"flex\"\n";
    let env = Env::start_with(extra).await;
    let sent = |env: &Env| env.sim.requests().last().unwrap().body.clone();

    let v: Value = env.chat(body("r/tiered")).await.json().await.unwrap();
    assert_eq!(v["usage"]["cost"], 0.00002, "standard price: {v}");
    assert!(sent(&env).get("service_tier").is_none());
    let models: Value = env.http.get(env.url("/models")).send().await.unwrap().json().await.unwrap();
    let listed = models["data"].as_array().unwrap().iter().find(|m| m["id"] == "r/tiered").unwrap().clone();
    assert_eq!(listed["pricing"]["prompt"], "0.000002", "the advertised price is the standard one");

    for b in [
        body("r/tiered:floor"),
        json!({"model": "r/tiered", "service_tier": "flex", "messages": [{"role": "user", "content": "hi"}]}),
    ] {
        let v: Value = env.chat(b).await.json().await.unwrap();
        assert_eq!(v["usage"]["cost"], 0.00001, "flex price: {v}");
        assert_eq!(sent(&env)["service_tier"], "flex", "the upstream is asked for the tier it is billed at");
    }
}

#[tokio::test]
async fn idle_endpoints_of_models_in_use_are_probed_when_asked() {
    let extra = format!("{}[routing]\nprobe_interval_ms = 50\nprobe_idle_ms = 20\n", pair("r/probed", "tokens=1"))
        .replace("model = \"tokens=2\"", "model = \"status=503\"");
    let env = Env::start_with(&extra).await;
    // Nothing is probed before the model is used.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(env.sim.requests().len(), 0);
    let v: Value = env.chat(body("r/probed")).await.json().await.unwrap();
    assert_eq!(v["provider"], "Simulator");
    let before = env.sim.requests().len();
    // The unused endpoint (which fails) is probed until it shows as failing.
    let mut failing = false;
    for _ in 0..60 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let r: Value = env.http.get(env.url("/models/r/probed/endpoints")).send().await.unwrap().json().await.unwrap();
        let eps = r["data"]["endpoints"].as_array().unwrap().clone();
        if eps.iter().any(|e| e["tag"] == "sim-b" && e["status"] == -1) {
            failing = true;
            break;
        }
    }
    assert!(failing, "the probed endpoint's outage shows");
    let probes: Vec<_> = env.sim.requests()[before..].iter().map(|r| r.body.clone()).collect();
    assert!(!probes.is_empty() && probes.iter().all(|b| b["max_tokens"] == 1), "one-token probes: {probes:?}");
}

#[tokio::test]
async fn embeddings_are_routed_with_the_same_preferences() {
    let env = Env::start().await;
    let post = |b: Value| env.http.post(env.url("/embeddings")).bearer_auth(&env.key).json(&b).send();
    let r = post(json!({"model": "sim/embed", "input": "hi", "provider": {"only": ["nobody"]}})).await.unwrap();
    assert_eq!(r.status(), 404);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["availability"]["excluded_by"], json!(["allowed_providers"]));
    let r = post(json!({"model": "sim/embed", "input": "hi", "provider": {"sort": 3}})).await.unwrap();
    assert_eq!(r.status(), 400);
    let r = post(json!({"model": "sim/embed", "input": "hi", "provider": {"only": ["sim"]}})).await.unwrap();
    assert_eq!(r.status(), 200);
}
