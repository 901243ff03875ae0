//! `switchyard-bench`: the gateway against going straight to the simulator,
//! same machine, same load, one run. Starts `switchyard sim` and
//! `switchyard serve` on free loopback ports, drives both with a closed-loop
//! load generator, and prints a Markdown table.

mod load;
mod phase;
mod procs;
mod report;
mod routing;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Parser;

use crate::load::Target;
use crate::phase::{PhaseStats, Scenario};
use crate::procs::Stack;
use crate::report::{Pair, Results};

/// Warm-up before each measured phase (not measured).
const WARMUP: Duration = Duration::from_secs(1);

/// Benchmark the Switchyard gateway against the provider simulator it fronts.
#[derive(Parser)]
#[command(name = "switchyard-bench")]
struct Args {
    /// The `switchyard` binary (default: next to this executable).
    #[arg(long)]
    switchyard: Option<PathBuf>,
    /// Measured seconds per phase (each also gets a 1 s warm-up); 1..=600.
    #[arg(long, default_value_t = 5)]
    duration_secs: u64,
    /// Also write the Markdown report to this file.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Tokio worker threads of the load generator (same for both targets).
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Measure only the planning cost (no processes, no network).
    #[arg(long)]
    routing_only: bool,
}

fn main() -> Result<()> {
    let args = Args::parse();
    if !(1..=600).contains(&args.duration_secs) {
        bail!("--duration-secs must be between 1 and 600");
    }
    if args.threads == 0 {
        bail!("--threads must be at least 1");
    }
    if args.routing_only {
        print!("{}", routing::bench(20_000)?);
        return Ok(());
    }
    let bin = match &args.switchyard {
        Some(p) => p.clone(),
        None => std::env::current_exe()?.with_file_name("switchyard"),
    };
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(args.threads).enable_all().build()?;
    let markdown = rt.block_on(async {
        tokio::select! {
            r = bench(&bin, &args) => r,
            _ = tokio::signal::ctrl_c() => bail!("interrupted"),
        }
    })?;
    print!("{markdown}");
    if let Some(out) = &args.out {
        std::fs::write(out, &markdown).with_context(|| format!("writing {}", out.display()))?;
    }
    Ok(())
}

/// Starts the children, runs every phase against both targets, and renders
/// the report. The children are stopped when `stack` drops, on every path.
async fn bench(bin: &std::path::Path, args: &Args) -> Result<String> {
    let mut stack = Stack::start(bin).await?;
    eprintln!("sim on {} (pid {}), gateway on {} (pid {})", stack.sim_addr, stack.sim_pid, stack.gw_addr, stack.gw_pid);
    let duration = Duration::from_secs(args.duration_secs);
    let scenarios = [
        Scenario { label: "1 conn", conns: 1, stream: false },
        Scenario { label: "32 conn", conns: 32, stream: false },
        Scenario { label: "128 conn", conns: 128, stream: false },
        Scenario { label: "stream 1 conn", conns: 1, stream: true },
        Scenario { label: "stream 32 conn", conns: 32, stream: true },
    ];
    let mut pairs = Vec::new();
    for sc in scenarios {
        let direct = phase(&mut stack, sc, false, duration).await?;
        let gateway = phase(&mut stack, sc, true, duration).await?;
        pairs.push(Pair { direct, gateway });
    }
    // Translation cost: the same load through an Anthropic-protocol upstream.
    let mut translated = Vec::new();
    for sc in [scenarios[0], scenarios[3]] {
        translated.push(phase_model(&mut stack, sc, "bench/anthropic-16", duration).await?);
    }
    let sim_hwm = procs::status_kb(stack.sim_pid, "VmHWM")?;
    let gw_hwm = procs::status_kb(stack.gw_pid, "VmHWM")?;
    let mut pairs = pairs.into_iter();
    let mut next = || pairs.next().context("missing phase");
    let results = Results {
        c1: next()?,
        c32: next()?,
        c128: next()?,
        s1: next()?,
        s32: next()?,
        sim_hwm,
        gw_hwm,
        ticks_per_sec: procs::ticks_per_sec(),
        duration_secs: args.duration_secs,
        warmup_secs: WARMUP.as_secs(),
        threads: args.threads,
    };
    drop(stack);
    let mut md = report::markdown(&results);
    md.push_str(&translation_table(&results, &translated));
    md.push_str(&routing::bench(20_000)?);
    Ok(md)
}

/// The Anthropic-upstream rows: added latency against the OpenAI-upstream
/// gateway measured in the same run, per request and per streamed chunk.
fn translation_table(r: &Results, t: &[PhaseStats]) -> String {
    let (Some(plain), Some(stream)) = (t.first(), t.get(1)) else { return String::new() };
    let q = |s: &PhaseStats, p: f64| s.load.quantile_us(p) as i64;
    let mut out = String::from(
        "\n| through an Anthropic-protocol upstream (translation both ways) | OpenAI upstream | Anthropic upstream | translation cost |\n|---|---:|---:|---:|\n",
    );
    for (label, base, tr) in [("p50 @1 conn", &r.c1.gateway, plain), ("p99 @1 conn", &r.c1.gateway, plain)] {
        let p = if label.starts_with("p50") { 0.5 } else { 0.99 };
        out.push_str(&format!("| {label} | {} µs | {} µs | {:+} µs |\n", q(base, p), q(tr, p), q(tr, p) - q(base, p)));
    }
    let (b, s) = (q(&r.s1.gateway, 0.5), q(stream, 0.5));
    out.push_str(&format!(
        "| stream p50 @1 conn (16 chunks) | {b} µs | {s} µs | {:+} µs ({:+.1} µs per chunk) |\n",
        s - b,
        (s - b) as f64 / 16.0
    ));
    out
}

/// Runs one scenario through the gateway with another catalog model.
async fn phase_model(stack: &mut Stack, sc: Scenario, model: &str, duration: Duration) -> Result<PhaseStats> {
    let url = format!("http://{}/api/v1/chat/completions", stack.gw_addr);
    let target = Target::new(&url, Some(format!("Bearer {}", stack.key)), model, sc.stream)?;
    let stats = phase::run(target, sc, stack.gw_pid, WARMUP, duration).await?;
    stack.check_alive()?;
    eprintln!(
        "gateway {:<15} {:>8.0} req/s  p50 {:>7} µs  ({model})",
        sc.label,
        stats.load.rps(),
        stats.load.quantile_us(0.5)
    );
    Ok(stats)
}

/// Runs one scenario against one target, printing a progress line.
async fn phase(stack: &mut Stack, sc: Scenario, via_gateway: bool, duration: Duration) -> Result<PhaseStats> {
    let (target, pid, who) = if via_gateway {
        let url = format!("http://{}/api/v1/chat/completions", stack.gw_addr);
        let auth = Some(format!("Bearer {}", stack.key));
        let target = Target::new(&url, auth, "bench/tokens-16", sc.stream)?;
        (target, stack.gw_pid, "gateway")
    } else {
        let url = format!("http://{}/v1/chat/completions", stack.sim_addr);
        let target = Target::new(&url, None, "tokens=16", sc.stream)?;
        (target, stack.sim_pid, "direct")
    };
    let stats = phase::run(target, sc, pid, WARMUP, duration).await?;
    stack.check_alive()?;
    let l = &stats.load;
    eprintln!(
        "{who:>7} {:<15} {:>8.0} req/s  p50 {:>7} µs  p99 {:>7} µs  ok {} err {}",
        sc.label,
        l.rps(),
        l.quantile_us(0.5),
        l.quantile_us(0.99),
        l.ok,
        l.errors
    );
    if let Some(e) = &l.first_error {
        eprintln!("        first error: {e}");
    }
    Ok(stats)
}
