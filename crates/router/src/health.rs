//! Live per-endpoint statistics: success rates, time to first token and
//! throughput, as published by `GET /models/{id}/endpoints` (§4.2) and used
//! by routing (§7.1 soft preferences, §7.2 stable vs recently failing).
//!
//! Keyed by [`Attempt`] (model and endpoint index into the [`Catalog`], which
//! is immutable for a process). Each endpoint has its own lazily created
//! slot behind its own mutex, so there is no global lock and an endpoint that
//! never saw traffic costs one empty 16-byte cell. A slot is a fixed block
//! of [`SLOT_BYTES`] (about 2.5 KB): per-second counters (32 s), per-
//! minute counters (30 min), per-hour counters (24 h) and a ring of the last
//! [`SAMPLES`] successes with their time to first token and throughput.
//!
//! Time is passed in as [`Instant`]; a slot measures from the first instant
//! it was recorded at, so tests are deterministic.

use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::attempt::Attempt;
use crate::catalog::Catalog;

/// How many recent successes are kept for percentiles.
pub const SAMPLES: usize = 128;
/// The window of [`HealthBook::is_recently_failing`] (§7.2).
pub const OUTAGE_WINDOW: Duration = Duration::from_secs(30);
/// Failures (rate limits included) needed within [`OUTAGE_WINDOW`] for an outage.
pub const OUTAGE_MIN_FAILURES: u32 = 2;
/// Fewer outcomes than this in a window: the uptime is unknown (`null`).
pub const MIN_UPTIME_SAMPLES: u64 = 3;
/// Bytes of one endpoint's slot, for memory estimates.
pub const SLOT_BYTES: usize = std::mem::size_of::<Slot>();

const SECOND_BUCKETS: usize = 32;
const MINUTE_BUCKETS: usize = 30;
const HOUR_BUCKETS: usize = 24;

/// What happened on one attempt.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Outcome {
    /// The endpoint answered.
    Success {
        /// Time to the first token (or to the whole answer when not streamed).
        ttft: Duration,
        /// Completion tokens per second after the first, when measurable.
        tokens_per_sec: Option<f64>,
    },
    /// The endpoint failed before answering.
    Failure {
        /// A 429: counts towards outages, not towards uptime.
        rate_limited: bool,
    },
}

/// Percentiles of a distribution.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 75th percentile.
    pub p75: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
}

impl Percentiles {
    /// The value of percentile `p` (50, 75, 90 or 99; anything else is p99).
    pub fn get(&self, p: u8) -> f64 {
        match p {
            50 => self.p50,
            75 => self.p75,
            90 => self.p90,
            _ => self.p99,
        }
    }
}

/// The statistics `GET /models/{id}/endpoints` shows for an endpoint (§4.2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct EndpointStats {
    /// Percent of successes over the last 5 minutes, rate limits left out;
    /// `None` with fewer than [`MIN_UPTIME_SAMPLES`] outcomes.
    pub uptime_last_5m: Option<f64>,
    /// The same over 30 minutes.
    pub uptime_last_30m: Option<f64>,
    /// The same over a day.
    pub uptime_last_1d: Option<f64>,
    /// Time to first token in milliseconds, over the last 30 minutes (at
    /// most the last [`SAMPLES`] successes).
    pub latency_last_30m: Option<Percentiles>,
    /// Tokens per second over the last 30 minutes (same samples).
    pub throughput_last_30m: Option<Percentiles>,
}

#[derive(Clone, Copy, Default)]
struct SecondBucket {
    second: u32,
    ok: u16,
    failed: u16,
}

#[derive(Clone, Copy, Default)]
struct Bucket {
    index: u32,
    ok: u32,
    failed: u32,
}

#[derive(Clone, Copy, Default)]
struct Sample {
    second: u32,
    ttft_ms: f32,
    /// NaN when unknown.
    tokens_per_sec: f32,
}

/// One endpoint's statistics. Times are whole seconds since `base`.
struct Slot {
    base: Instant,
    seconds: [SecondBucket; SECOND_BUCKETS],
    minutes: [Bucket; MINUTE_BUCKETS],
    hours: [Bucket; HOUR_BUCKETS],
    samples: [Sample; SAMPLES],
    next_sample: u16,
    samples_len: u16,
    /// When the latest outcome was recorded.
    last: Instant,
}

impl Slot {
    fn new(base: Instant) -> Slot {
        Slot {
            base,
            seconds: [SecondBucket::default(); SECOND_BUCKETS],
            minutes: [Bucket::default(); MINUTE_BUCKETS],
            hours: [Bucket::default(); HOUR_BUCKETS],
            samples: [Sample::default(); SAMPLES],
            next_sample: 0,
            samples_len: 0,
            last: base,
        }
    }

    fn second_of(&self, now: Instant) -> u32 {
        u32::try_from(now.saturating_duration_since(self.base).as_secs()).unwrap_or(u32::MAX)
    }

    fn record(&mut self, now: Instant, outcome: Outcome) {
        self.last = self.last.max(now);
        let s = self.second_of(now);
        let ok = matches!(outcome, Outcome::Success { .. });
        let sb = &mut self.seconds[s as usize % SECOND_BUCKETS];
        if sb.second != s {
            if sb.second > s {
                // Older than what the bucket holds now: too late to count.
                return self.record_buckets(s, outcome);
            }
            *sb = SecondBucket { second: s, ok: 0, failed: 0 };
        }
        if ok {
            sb.ok = sb.ok.saturating_add(1);
        } else {
            sb.failed = sb.failed.saturating_add(1);
        }
        self.record_buckets(s, outcome);
    }

    fn record_buckets(&mut self, s: u32, outcome: Outcome) {
        let ok = match outcome {
            Outcome::Success { ttft, tokens_per_sec } => {
                let i = usize::from(self.next_sample);
                self.samples[i] = Sample {
                    second: s,
                    ttft_ms: ttft.as_secs_f32() * 1000.0,
                    tokens_per_sec: tokens_per_sec.filter(|t| t.is_finite()).map_or(f32::NAN, |t| t as f32),
                };
                self.next_sample = ((i + 1) % SAMPLES) as u16;
                self.samples_len = (usize::from(self.samples_len) + 1).min(SAMPLES) as u16;
                true
            }
            // Rate limits are left out of uptime (§4.2).
            Outcome::Failure { rate_limited: true } => return,
            Outcome::Failure { rate_limited: false } => false,
        };
        bump(&mut self.minutes, s / 60, ok);
        bump(&mut self.hours, s / 3600, ok);
    }

    /// (successes, failures) in the seconds `(now - window, now]`.
    fn recent(&self, now: Instant, window: u32) -> (u32, u32) {
        let s = self.second_of(now);
        let from = s.saturating_sub(window.saturating_sub(1));
        self.seconds
            .iter()
            .filter(|b| b.second >= from && b.second <= s)
            .fold((0, 0), |(ok, f), b| (ok + u32::from(b.ok), f + u32::from(b.failed)))
    }

    fn uptime(buckets: &[Bucket], current: u32, count: u32) -> Option<f64> {
        let from = current.saturating_sub(count.saturating_sub(1));
        let (ok, failed) = buckets
            .iter()
            .filter(|b| b.index >= from && b.index <= current)
            .fold((0u64, 0u64), |(ok, f), b| (ok + u64::from(b.ok), f + u64::from(b.failed)));
        let total = ok + failed;
        (total >= MIN_UPTIME_SAMPLES.max(1)).then(|| 100.0 * ok as f64 / total as f64)
    }

    fn percentiles(&self, now: Instant, window: Duration, pick: impl Fn(&Sample) -> f32) -> Option<Percentiles> {
        let s = self.second_of(now);
        let from = s.saturating_sub(u32::try_from(window.as_secs()).unwrap_or(u32::MAX));
        let mut values = [0f32; SAMPLES];
        let mut n = 0;
        for sample in &self.samples[..usize::from(self.samples_len)] {
            let v = pick(sample);
            if sample.second >= from && sample.second <= s && v.is_finite() {
                values[n] = v;
                n += 1;
            }
        }
        let values = &mut values[..n];
        if values.is_empty() {
            return None;
        }
        values.sort_unstable_by(f32::total_cmp);
        // Nearest rank.
        let at = |p: usize| f64::from(values[(p * values.len()).div_ceil(100).max(1) - 1]);
        Some(Percentiles { p50: at(50), p75: at(75), p90: at(90), p99: at(99) })
    }
}

fn bump(buckets: &mut [Bucket], index: u32, ok: bool) {
    let len = buckets.len();
    let b = &mut buckets[index as usize % len];
    if b.index != index {
        if b.index > index {
            return;
        }
        *b = Bucket { index, ok: 0, failed: 0 };
    }
    if ok {
        b.ok = b.ok.saturating_add(1);
    } else {
        b.failed = b.failed.saturating_add(1);
    }
}

type Cell = OnceLock<Box<Mutex<Slot>>>;

/// Live statistics of every endpoint of a [`Catalog`].
pub struct HealthBook {
    /// Where each model's endpoints start in `slots`.
    offsets: Vec<usize>,
    slots: Vec<Cell>,
}

impl std::fmt::Debug for HealthBook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HealthBook")
            .field("endpoints", &self.slots.len())
            .field("seen", &self.endpoints_seen())
            .finish()
    }
}

impl HealthBook {
    /// An empty book for every endpoint of `catalog`.
    pub fn new(catalog: &Catalog) -> HealthBook {
        let mut offsets = Vec::with_capacity(catalog.models().len() + 1);
        let mut total = 0;
        for m in catalog.models() {
            offsets.push(total);
            total += m.endpoints.len();
        }
        offsets.push(total);
        HealthBook { offsets, slots: (0..total).map(|_| OnceLock::new()).collect() }
    }

    fn cell(&self, at: Attempt) -> Option<&Cell> {
        let start = *self.offsets.get(at.model)?;
        let end = *self.offsets.get(at.model + 1)?;
        if at.endpoint >= end - start {
            return None;
        }
        self.slots.get(start + at.endpoint)
    }

    fn with<T>(&self, at: Attempt, f: impl FnOnce(&Slot) -> T) -> Option<T> {
        let slot = self.cell(at)?.get()?;
        let guard = slot.lock().unwrap_or_else(PoisonError::into_inner);
        Some(f(&guard))
    }

    /// Records the outcome of an attempt. Attempts outside the catalog are ignored.
    pub fn record(&self, at: Attempt, now: Instant, outcome: Outcome) {
        let Some(cell) = self.cell(at) else { return };
        let slot = cell.get_or_init(|| Box::new(Mutex::new(Slot::new(now))));
        slot.lock().unwrap_or_else(PoisonError::into_inner).record(now, outcome);
    }

    /// A significant outage in the last 30 seconds (§7.2): within the whole
    /// seconds `(now - 30 s, now]`, at least [`OUTAGE_MIN_FAILURES`] failures
    /// (rate limits included) **and** more failures than successes.
    pub fn is_recently_failing(&self, at: Attempt, now: Instant) -> bool {
        let window = OUTAGE_WINDOW.as_secs() as u32;
        self.with(at, |s| {
            let (ok, failed) = s.recent(now, window);
            failed >= OUTAGE_MIN_FAILURES && failed > ok
        })
        .unwrap_or(false)
    }

    /// The published statistics of an endpoint.
    pub fn stats(&self, at: Attempt, now: Instant) -> EndpointStats {
        self.with(at, |s| {
            let sec = s.second_of(now);
            let thirty = Duration::from_secs(30 * 60);
            EndpointStats {
                uptime_last_5m: Slot::uptime(&s.minutes, sec / 60, 5),
                uptime_last_30m: Slot::uptime(&s.minutes, sec / 60, MINUTE_BUCKETS as u32),
                uptime_last_1d: Slot::uptime(&s.hours, sec / 3600, HOUR_BUCKETS as u32),
                latency_last_30m: s.percentiles(now, thirty, |x| x.ttft_ms),
                throughput_last_30m: s.percentiles(now, thirty, |x| x.tokens_per_sec),
            }
        })
        .unwrap_or_default()
    }

    /// Percentiles of time to first token (milliseconds) over the successes
    /// of the last `window` (at most the last [`SAMPLES`]).
    pub fn latency_percentiles(&self, at: Attempt, now: Instant, window: Duration) -> Option<Percentiles> {
        self.with(at, |s| s.percentiles(now, window, |x| x.ttft_ms)).flatten()
    }

    /// Percentiles of throughput (tokens per second) over the last `window`.
    pub fn throughput_percentiles(&self, at: Attempt, now: Instant, window: Duration) -> Option<Percentiles> {
        self.with(at, |s| s.percentiles(now, window, |x| x.tokens_per_sec)).flatten()
    }

    /// Percent successes over the last 30 minutes (`uptime_last_30m`).
    pub fn uptime_last_30m(&self, at: Attempt, now: Instant) -> Option<f64> {
        self.with(at, |s| Slot::uptime(&s.minutes, s.second_of(now) / 60, MINUTE_BUCKETS as u32)).flatten()
    }

    /// When the endpoint's latest outcome was recorded; `None` if never.
    pub fn last_outcome(&self, at: Attempt) -> Option<Instant> {
        self.with(at, |s| s.last)
    }

    /// How many endpoints have a slot (saw at least one outcome).
    pub fn endpoints_seen(&self) -> usize {
        self.slots.iter().filter(|c| c.get().is_some()).count()
    }

    /// Approximate heap bytes held: the cells plus one slot per endpoint seen.
    pub fn memory_bytes(&self) -> usize {
        self.slots.len() * std::mem::size_of::<Cell>()
            + self.offsets.len() * std::mem::size_of::<usize>()
            + self.endpoints_seen() * std::mem::size_of::<Mutex<Slot>>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::parse_catalog;

    const CAT: &str = r#"
[[models]]
id = "a/one"
[[models.endpoints]]
provider = "p"
model = "m"
[[models.endpoints]]
provider = "q"
model = "m"
"#;

    fn book() -> (Catalog, HealthBook) {
        let c = Catalog::build(parse_catalog(CAT).unwrap(), |_| true).unwrap();
        let h = HealthBook::new(&c);
        (c, h)
    }

    const P: Attempt = Attempt { model: 0, endpoint: 0 };
    const Q: Attempt = Attempt { model: 0, endpoint: 1 };
    const FAIL: Outcome = Outcome::Failure { rate_limited: false };
    const LIMITED: Outcome = Outcome::Failure { rate_limited: true };

    fn ok(ms: u64, tps: f64) -> Outcome {
        Outcome::Success { ttft: Duration::from_millis(ms), tokens_per_sec: Some(tps) }
    }

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn outage_needs_two_failures_outnumbering_successes_within_thirty_seconds() {
        let (_, h) = book();
        let t0 = Instant::now();
        assert!(!h.is_recently_failing(P, t0));
        h.record(P, t0, FAIL);
        assert!(!h.is_recently_failing(P, t0), "one failure is not an outage");
        h.record(P, t0 + secs(5), LIMITED);
        assert!(h.is_recently_failing(P, t0 + secs(5)), "rate limits count");
        assert!(h.is_recently_failing(P, t0 + secs(29)));
        assert!(!h.is_recently_failing(P, t0 + secs(30)), "the first failure left the window");
        h.record(P, t0 + secs(6), ok(100, 10.0));
        h.record(P, t0 + secs(7), ok(100, 10.0));
        assert!(!h.is_recently_failing(P, t0 + secs(8)), "successes outnumber");
        assert!(!h.is_recently_failing(Q, t0 + secs(8)), "other endpoint untouched");
        // Long after, the buckets are reused.
        for i in 0..3 {
            h.record(P, t0 + secs(1000 + i), FAIL);
        }
        assert!(h.is_recently_failing(P, t0 + secs(1002)));
        assert!(!h.is_recently_failing(P, t0 + secs(1040)));
    }

    #[test]
    fn uptime_leaves_out_rate_limits_and_needs_enough_samples() {
        let (_, h) = book();
        let t0 = Instant::now();
        h.record(P, t0, ok(100, 10.0));
        h.record(P, t0, FAIL);
        assert_eq!(h.stats(P, t0).uptime_last_5m, None, "two outcomes are too few");
        h.record(P, t0 + secs(1), ok(100, 10.0));
        h.record(P, t0 + secs(2), ok(100, 10.0));
        for _ in 0..10 {
            h.record(P, t0 + secs(3), LIMITED);
        }
        let s = h.stats(P, t0 + secs(4));
        assert_eq!(s.uptime_last_5m, Some(75.0));
        assert_eq!(s.uptime_last_30m, Some(75.0));
        assert_eq!(s.uptime_last_1d, Some(75.0));
        // Ten minutes on: out of the 5-minute window, still in the others.
        let later = t0 + secs(600);
        let s = h.stats(P, later);
        assert_eq!(s.uptime_last_5m, None);
        assert_eq!(s.uptime_last_30m, Some(75.0));
        assert_eq!(h.uptime_last_30m(P, later), Some(75.0));
        // Two hours on: only the day.
        let s = h.stats(P, t0 + secs(7200));
        assert_eq!((s.uptime_last_30m, s.uptime_last_1d), (None, Some(75.0)));
        assert_eq!(h.stats(P, t0 + secs(2 * 86_400)).uptime_last_1d, None);
        assert_eq!(h.stats(Q, t0), EndpointStats::default());
    }

    #[test]
    fn percentiles_by_nearest_rank_within_the_window() {
        let (_, h) = book();
        let t0 = Instant::now();
        for i in 1..=100u64 {
            h.record(P, t0 + secs(i), ok(i * 10, i as f64));
        }
        let now = t0 + secs(100);
        let lat = h.latency_percentiles(P, now, secs(1000)).unwrap();
        assert_eq!((lat.p50, lat.p75, lat.p90, lat.p99), (500.0, 750.0, 900.0, 990.0));
        let tp = h.throughput_percentiles(P, now, secs(1000)).unwrap();
        assert_eq!((tp.p50, tp.p99), (50.0, 99.0));
        // Only the last 10 seconds: samples 90..=100.
        let recent = h.latency_percentiles(P, now, secs(10)).unwrap();
        assert_eq!(recent.p50, 950.0);
        assert_eq!(h.latency_percentiles(P, t0 + secs(5000), secs(300)), None);
        let stats = h.stats(P, now);
        assert_eq!(stats.latency_last_30m.unwrap().p50, 500.0);
        assert_eq!(stats.throughput_last_30m.unwrap().get(90), 90.0);
        // Unknown throughput is left out of throughput, not latency.
        h.record(Q, t0, Outcome::Success { ttft: Duration::from_millis(40), tokens_per_sec: None });
        assert_eq!(h.throughput_percentiles(Q, t0, secs(300)), None);
        assert_eq!(h.latency_percentiles(Q, t0, secs(300)).unwrap().p99, 40.0);
    }

    #[test]
    fn memory_is_bounded_and_only_for_endpoints_that_saw_traffic() {
        let (_, h) = book();
        let idle = h.memory_bytes();
        assert_eq!(h.endpoints_seen(), 0);
        assert!(idle < 200, "{idle}");
        let t0 = Instant::now();
        for i in 0..100_000u64 {
            h.record(P, t0 + Duration::from_millis(i * 37), if i % 7 == 0 { FAIL } else { ok(i % 500, 30.0) });
        }
        assert_eq!(h.endpoints_seen(), 1);
        const { assert!(SLOT_BYTES <= 2600) };
        assert_eq!(h.memory_bytes(), idle + std::mem::size_of::<Mutex<Slot>>());
        // Ring keeps the newest samples only.
        let lat = h.latency_percentiles(P, t0 + Duration::from_millis(99_999 * 37), secs(3600)).unwrap();
        assert!(lat.p99 < 500.0);
    }

    #[test]
    fn out_of_catalog_attempts_are_ignored() {
        let (_, h) = book();
        let t0 = Instant::now();
        let bad = Attempt { model: 0, endpoint: 2 };
        h.record(bad, t0, FAIL);
        h.record(Attempt { model: 9, endpoint: 0 }, t0, FAIL);
        assert_eq!(h.endpoints_seen(), 0);
        assert!(!h.is_recently_failing(bad, t0));
        assert_eq!(h.stats(bad, t0), EndpointStats::default());
    }

    #[test]
    fn book_is_shared_across_threads() {
        let (_, h) = book();
        let t0 = Instant::now();
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..1000 {
                        h.record(P, t0, ok(10, 1.0));
                    }
                });
            }
        });
        assert_eq!(h.stats(P, t0).uptime_last_5m, Some(100.0));
        assert_eq!(h.with(P, |s| s.recent(t0, 30)), Some((4000, 0)));
    }
}
