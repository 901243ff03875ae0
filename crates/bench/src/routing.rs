//! What planning a request costs: `route()` over a synthetic catalog of
//! 1,000 models with 10 endpoints each, with live health, in-process.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use anyhow::Result;
use rand::SeedableRng;
use rand::rngs::StdRng;
use switchyard_api::provider::ProviderPreferences;
use switchyard_router::catalog::parse_catalog;
use switchyard_router::{Attempt, Catalog, EndpointSpec, HealthBook, Needs, Outcome, Resolved, RouteInput, route};

const MODELS: usize = 1000;
const ENDPOINTS: usize = 10;
const QUANTS: [&str; 4] = ["fp8", "bf16", "int4", "fp16"];

/// The synthetic catalog, as TOML like a real one.
fn catalog() -> Result<Catalog> {
    let mut t = String::with_capacity(MODELS * ENDPOINTS * 120);
    for m in 0..MODELS {
        let _ = write!(
            t,
            "[[models]]\nid = \"author{a}/model-{m}\"\ncontext_length = 131072\n\
             supported_parameters = [\"max_tokens\", \"temperature\", \"tools\", \"tool_choice\", \"response_format\"]\n",
            a = m % 50
        );
        for e in 0..ENDPOINTS {
            let prompt = 0.0000001 * (1 + (m * 7 + e * 13) % 40) as f64;
            let _ = write!(
                t,
                "[[models.endpoints]]\nprovider = \"p{e}\"\nmodel = \"m{m}\"\nprompt = \"{prompt:.10}\"\ncompletion = \"{:.10}\"\n\
                 quantization = \"{}\"\ntraining = {}\nzdr = {}\n",
                prompt * 4.0,
                QUANTS[e % 4],
                e % 5 == 0,
                e % 3 == 0,
            );
        }
    }
    Ok(Catalog::build(parse_catalog(&t)?, |_| true)?)
}

/// Health as after some traffic: successes everywhere, outages on some.
fn health(catalog: &Catalog, now: Instant) -> HealthBook {
    let book = HealthBook::new(catalog);
    for model in (0..MODELS).step_by(7) {
        for endpoint in 0..ENDPOINTS {
            let at = Attempt { model, endpoint };
            for i in 0..20u64 {
                let ttft = Duration::from_millis(100 + (endpoint as u64) * 30 + i);
                book.record(at, now, Outcome::Success { ttft, tokens_per_sec: Some(40.0 + endpoint as f64 * 10.0) });
            }
            if endpoint == 3 {
                for _ in 0..3 {
                    book.record(at, now, Outcome::Failure { rate_limited: false });
                }
            }
        }
    }
    book
}

/// One measured case: the preferences as JSON, and how many fallback models.
struct Case {
    label: &'static str,
    prefs: &'static str,
    models: usize,
}

const CASES: &[Case] = &[
    Case { label: "default load balancing, 1 model", prefs: "{}", models: 1 },
    Case {
        label: "filters (ignore, quantizations, data_collection, max_price), 1 model",
        prefs: r#"{"ignore": ["p1"], "quantizations": ["fp8", "bf16"], "data_collection": "deny", "max_price": {"prompt": 3}}"#,
        models: 1,
    },
    Case {
        label: "sort throughput + preferred_max_latency, 1 model",
        prefs: r#"{"sort": "throughput", "preferred_max_latency": {"p50": 0.25}}"#,
        models: 1,
    },
    Case { label: "order + 3 fallback models", prefs: r#"{"order": ["p4", "p2"]}"#, models: 4 },
    Case {
        label: "sort price across 4 models (partition none)",
        prefs: r#"{"sort": {"by": "price", "partition": "none"}}"#,
        models: 4,
    },
];

/// Times every case and renders the Markdown rows.
pub fn bench(iterations: u32) -> Result<String> {
    let t0 = Instant::now();
    let catalog = catalog()?;
    let build = t0.elapsed();
    let now = Instant::now();
    let book = health(&catalog, now);
    let can_send = |_: &EndpointSpec, _: &str| true;
    let needs = Needs { prompt_tokens: 500, max_tokens: Some(1000), ..Needs::default() };
    let requested: Vec<&'static str> = vec!["temperature"];
    let mut rng = StdRng::seed_from_u64(7);
    let mut out = format!(
        "\n| planning one request (`route()`), catalog of {MODELS} models x {ENDPOINTS} endpoints, built in {} ms | median | p99 |\n|---|---:|---:|\n",
        build.as_millis()
    );
    for case in CASES {
        let prefs: ProviderPreferences = serde_json::from_str(case.prefs)?;
        let mut samples = Vec::with_capacity(iterations as usize);
        for i in 0..iterations {
            let first = (i as usize * 37) % MODELS;
            let models: Vec<Resolved> = (0..case.models).map(|k| Resolved::model((first + k * 101) % MODELS)).collect();
            let input = RouteInput {
                models: &models,
                prefs: &prefs,
                requested: &requested,
                needs: &needs,
                service_tier: None,
                sticky: None,
            };
            let start = Instant::now();
            let planned = route(&catalog, &input, &book, now, &mut rng, &can_send);
            samples.push(start.elapsed());
            std::hint::black_box(planned.ok());
        }
        samples.sort_unstable();
        let at = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize].as_secs_f64() * 1e6;
        let _ = writeln!(out, "| {} | {:.2} µs | {:.2} µs |", case.label, at(0.5), at(0.99));
    }
    let _ = writeln!(
        out,
        "\nHealth memory: {} endpoints tracked, {} KiB.",
        book.endpoints_seen(),
        book.memory_bytes() / 1024
    );
    Ok(out)
}
