//! The Markdown report: one table comparing direct-to-simulator with
//! via-gateway, plus a line describing the machine and the run.

use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::phase::PhaseStats;

/// Both targets' results for one scenario.
pub struct Pair {
    /// Straight to the simulator.
    pub direct: PhaseStats,
    /// Through the gateway.
    pub gateway: PhaseStats,
}

/// Everything the report shows.
pub struct Results {
    /// Non-stream, 1 connection.
    pub c1: Pair,
    /// Non-stream, 32 connections.
    pub c32: Pair,
    /// Non-stream, 128 connections.
    pub c128: Pair,
    /// Stream, 1 connection.
    pub s1: Pair,
    /// Stream, 32 connections.
    pub s32: Pair,
    /// Simulator `VmHWM` at the end, in bytes.
    pub sim_hwm: u64,
    /// Gateway `VmHWM` at the end, in bytes.
    pub gw_hwm: u64,
    /// Clock ticks per second for the CPU figures.
    pub ticks_per_sec: u64,
    /// Measured seconds per phase.
    pub duration_secs: u64,
    /// Warm-up seconds per phase.
    pub warmup_secs: u64,
    /// Load generator worker threads.
    pub threads: usize,
}

/// Renders the report as Markdown.
pub fn markdown(r: &Results) -> String {
    let mut rows: Vec<[String; 4]> = Vec::new();
    latency(&mut rows, "latency p50 @1 conn", &r.c1, 0.5);
    latency(&mut rows, "latency p99 @1 conn", &r.c1, 0.99);
    throughput(&mut rows, "req/s @32 conn", &r.c32);
    latency(&mut rows, "latency p50 @32 conn", &r.c32, 0.5);
    latency(&mut rows, "latency p99 @32 conn", &r.c32, 0.99);
    throughput(&mut rows, "req/s @128 conn", &r.c128);
    latency(&mut rows, "latency p50 @128 conn", &r.c128, 0.5);
    latency(&mut rows, "latency p99 @128 conn", &r.c128, 0.99);
    latency(&mut rows, "stream p50 @1 conn", &r.s1, 0.5);
    latency(&mut rows, "stream p99 @1 conn", &r.s1, 0.99);
    latency(&mut rows, "stream p50 @32 conn", &r.s32, 0.5);
    latency(&mut rows, "stream p99 @32 conn", &r.s32, 0.99);
    rows.push(["peak RSS (VmHWM, end of run)".into(), mib(r.sim_hwm) + " (sim)", mib(r.gw_hwm), "—".into()]);
    rows.push([
        "max VmRSS during 128-conn run".into(),
        mib(r.c128.direct.max_rss) + " (sim)",
        mib(r.c128.gateway.max_rss),
        "—".into(),
    ]);
    for (name, p) in [
        ("CPU µs/request @1 conn", &r.c1),
        ("CPU µs/request @32 conn", &r.c32),
        ("CPU µs/request @128 conn", &r.c128),
        ("CPU µs/request stream @1 conn", &r.s1),
        ("CPU µs/request stream @32 conn", &r.s32),
    ] {
        let d = p.direct.cpu_us_per_request(r.ticks_per_sec);
        let g = p.gateway.cpu_us_per_request(r.ticks_per_sec);
        rows.push([name.into(), format!("{d:.0} (sim)"), format!("{g:.0}"), "—".into()]);
    }
    let all = [&r.c1, &r.c32, &r.c128, &r.s1, &r.s32];
    let count = |f: fn(&Pair) -> &PhaseStats| -> String {
        let ok: u64 = all.iter().map(|p| f(p).load.ok).sum();
        let err: u64 = all.iter().map(|p| f(p).load.errors).sum();
        format!("{ok} / {err}")
    };
    rows.push(["requests ok / errors (all phases)".into(), count(|p| &p.direct), count(|p| &p.gateway), "—".into()]);

    let mut out = String::new();
    let _ = writeln!(out, "| scenario | direct | via gateway | added |");
    let _ = writeln!(out, "|---|---:|---:|---:|");
    for [a, b, c, d] in &rows {
        let _ = writeln!(out, "| {a} | {b} | {c} | {d} |");
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "Machine: {} CPUs ({}), Linux {}. Each phase: {} s warm-up + {} s measured, closed loop, \
         load generator on {} tokio worker threads sharing the machine. \
         Latencies in µs; streams are timed from sending to `data: [DONE]`; \
         CPU time and RSS of the direct column are the simulator's. Date: {}.",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        cpu_model(),
        kernel(),
        r.warmup_secs,
        r.duration_secs,
        r.threads,
        utc_now(),
    );
    let errors: Vec<String> = all
        .iter()
        .flat_map(|p| [("direct", &p.direct), ("gateway", &p.gateway)])
        .filter_map(|(who, s)| s.load.first_error.as_ref().map(|e| format!("{who}: {e}")))
        .collect();
    if let Some(e) = errors.first() {
        let _ = writeln!(out, "\nFirst error seen: {e}");
    }
    out
}

/// A latency row at quantile `q`.
fn latency(rows: &mut Vec<[String; 4]>, name: &str, p: &Pair, q: f64) {
    let d = p.direct.load.quantile_us(q);
    let g = p.gateway.load.quantile_us(q);
    rows.push([name.into(), us(d), us(g), added_us(d, g)]);
}

/// A requests-per-second row; "added" is the relative change.
fn throughput(rows: &mut Vec<[String; 4]>, name: &str, p: &Pair) {
    let (d, g) = (p.direct.load.rps(), p.gateway.load.rps());
    let change = if d > 0.0 { format!("{:+.1} %", (g / d - 1.0) * 100.0) } else { "n/a".into() };
    rows.push([name.into(), format!("{d:.0}"), format!("{g:.0}"), change]);
}

fn us(v: u64) -> String {
    format!("{v} µs")
}

fn added_us(direct: u64, gateway: u64) -> String {
    let diff = i128::from(gateway) - i128::from(direct);
    format!("{diff:+} µs")
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn kernel() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

/// The current UTC time as `YYYY-MM-DD HH:MM UTC`.
fn utc_now() -> String {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02} UTC", rem / 3600, rem % 3600 / 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn added_is_signed() {
        assert_eq!(added_us(100, 250), "+150 µs");
        assert_eq!(added_us(250, 100), "-150 µs");
    }

    #[test]
    fn mib_formats() {
        assert_eq!(mib(3 * 1024 * 1024 / 2), "1.5 MiB");
    }
}
