//! One phase: a load run against one target while watching the process that
//! serves it (CPU time over the measured window, highest `VmRSS` seen).

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::load::{self, LoadResult, Target, Window};
use crate::procs;

/// How often `VmRSS` is sampled during a phase.
const RSS_EVERY: Duration = Duration::from_millis(50);

/// A scenario: how many connections, streaming or not.
#[derive(Clone, Copy)]
pub struct Scenario {
    /// Short label for progress output.
    pub label: &'static str,
    /// Concurrent connections (closed-loop workers).
    pub conns: usize,
    /// Whether the requests stream.
    pub stream: bool,
}

/// What a phase measured.
pub struct PhaseStats {
    /// Load generator results.
    pub load: LoadResult,
    /// CPU time (user + system, clock ticks) the watched process used in the
    /// measured window.
    pub cpu_ticks: u64,
    /// Highest `VmRSS` of the watched process during the phase, in bytes.
    pub max_rss: u64,
}

impl PhaseStats {
    /// CPU time per successful request, in µs.
    pub fn cpu_us_per_request(&self, ticks_per_sec: u64) -> f64 {
        if self.load.ok == 0 || ticks_per_sec == 0 {
            return 0.0;
        }
        self.cpu_ticks as f64 * 1e6 / ticks_per_sec as f64 / self.load.ok as f64
    }
}

/// Runs `target` with `scenario.conns` workers for `warmup` then `duration`,
/// watching process `pid`.
pub async fn run(
    target: Target,
    scenario: Scenario,
    pid: u32,
    warmup: Duration,
    duration: Duration,
) -> Result<PhaseStats> {
    let client = load::client();
    let window = Window::after(warmup, duration);
    let watcher = tokio::spawn(watch(pid, window));
    let load = load::run(&client, Arc::new(target), scenario.conns, window).await;
    let watched = watcher.await.context("process watcher failed");
    let load = load?;
    let (cpu_ticks, max_rss) = watched??;
    Ok(PhaseStats { load, cpu_ticks, max_rss })
}

/// Samples `pid`'s CPU time at the window's edges and its `VmRSS` throughout.
async fn watch(pid: u32, window: Window) -> Result<(u64, u64)> {
    let mut max_rss = procs::status_kb(pid, "VmRSS")?;
    loop {
        let now = tokio::time::Instant::now().into_std();
        if now >= window.start {
            break;
        }
        tokio::time::sleep((window.start - now).min(RSS_EVERY)).await;
        max_rss = max_rss.max(procs::status_kb(pid, "VmRSS")?);
    }
    let before = procs::cpu_ticks(pid)?;
    loop {
        let now = tokio::time::Instant::now().into_std();
        if now >= window.end {
            break;
        }
        tokio::time::sleep((window.end - now).min(RSS_EVERY)).await;
        max_rss = max_rss.max(procs::status_kb(pid, "VmRSS")?);
    }
    let after = procs::cpu_ticks(pid)?;
    Ok((after.saturating_sub(before), max_rss))
}
