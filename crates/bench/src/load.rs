//! The load generator: a closed loop of concurrent workers on a hyper 1
//! client, each sending requests back to back and recording latencies in an
//! HDR histogram (microseconds).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE};
use hyper::{Request, StatusCode, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::task::JoinSet;

/// The HTTP client the load generator uses.
pub type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// Longest a single request may take before it counts as an error.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Highest latency the histograms track (10 minutes, in µs).
const MAX_LATENCY_US: u64 = 600_000_000;

/// The end of a stream.
const DONE: &[u8] = b"data: [DONE]";

/// A fresh keep-alive HTTP/1 client with `TCP_NODELAY`.
pub fn client() -> HttpClient {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    Client::builder(TokioExecutor::new()).pool_idle_timeout(Duration::from_secs(30)).build(connector)
}

/// What to send: one chat completion request, always the same.
pub struct Target {
    /// Full URL of the chat completions endpoint.
    pub uri: Uri,
    /// `Authorization` header value, if any.
    pub auth: Option<String>,
    /// JSON request body.
    pub body: Bytes,
    /// Whether the request asks for a stream (SSE ending in `data: [DONE]`).
    pub stream: bool,
}

impl Target {
    /// A chat completion target for `model` at `uri`.
    pub fn new(uri: &str, auth: Option<String>, model: &str, stream: bool) -> Result<Target> {
        let mut body = serde_json::json!({
            "model": model,
            "messages": [{"role": "user", "content": "Say something short."}],
        });
        if stream {
            body["stream"] = serde_json::Value::Bool(true);
        }
        Ok(Target {
            uri: uri.parse().with_context(|| format!("bad URL {uri}"))?,
            auth,
            body: Bytes::from(serde_json::to_vec(&body)?),
            stream,
        })
    }
}

/// The measured window of a run: requests starting in `[start, end)` count.
#[derive(Clone, Copy)]
pub struct Window {
    /// End of the warm-up, start of the measurement.
    pub start: Instant,
    /// End of the measurement (no request starts after it).
    pub end: Instant,
}

impl Window {
    /// A window starting after `warmup` from now and lasting `duration`.
    pub fn after(warmup: Duration, duration: Duration) -> Window {
        let start = Instant::now() + warmup;
        Window { start, end: start + duration }
    }

    /// Length of the measurement, in seconds.
    pub fn secs(&self) -> f64 {
        (self.end - self.start).as_secs_f64()
    }
}

/// What one run measured.
pub struct LoadResult {
    /// Latencies of successful measured requests, in µs (for streams: until
    /// `data: [DONE]` arrived).
    pub hist: Histogram<u64>,
    /// Successful measured requests.
    pub ok: u64,
    /// Failed measured requests (non-200, bad or unreadable body, timeout).
    pub errors: u64,
    /// The first error seen, measured or not.
    pub first_error: Option<String>,
    /// Length of the measurement, in seconds.
    pub secs: f64,
}

impl LoadResult {
    /// Successful requests per second.
    pub fn rps(&self) -> f64 {
        if self.secs > 0.0 { self.ok as f64 / self.secs } else { 0.0 }
    }

    /// Latency at `q` (0..=1), in µs.
    pub fn quantile_us(&self, q: f64) -> u64 {
        self.hist.value_at_quantile(q)
    }

    /// Adds another worker's result.
    fn merge(&mut self, other: LoadResult) -> Result<()> {
        self.hist.add(&other.hist)?;
        self.ok += other.ok;
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
        Ok(())
    }

    fn empty(secs: f64) -> Result<LoadResult> {
        Ok(LoadResult {
            hist: Histogram::new_with_bounds(1, MAX_LATENCY_US, 3)?,
            ok: 0,
            errors: 0,
            first_error: None,
            secs,
        })
    }
}

/// Runs `conns` workers against `target` until `window.end`, measuring the
/// requests that start inside `window`.
pub async fn run(client: &HttpClient, target: Arc<Target>, conns: usize, window: Window) -> Result<LoadResult> {
    let mut set = JoinSet::new();
    for _ in 0..conns {
        let client = client.clone();
        let target = Arc::clone(&target);
        set.spawn(async move { worker(client, target, window).await });
    }
    let mut total = LoadResult::empty(window.secs())?;
    while let Some(joined) = set.join_next().await {
        total.merge(joined.context("load worker failed")??)?;
    }
    Ok(total)
}

/// One closed-loop worker: sends requests back to back until `window.end`.
async fn worker(client: HttpClient, target: Arc<Target>, window: Window) -> Result<LoadResult> {
    let mut out = LoadResult::empty(window.secs())?;
    loop {
        let t0 = Instant::now();
        if t0 >= window.end {
            return Ok(out);
        }
        let outcome = match tokio::time::timeout(REQUEST_TIMEOUT, send(&client, &target, t0)).await {
            Ok(r) => r,
            Err(_) => Err(anyhow::anyhow!("request timed out after {REQUEST_TIMEOUT:?}")),
        };
        let measured = t0 >= window.start;
        match outcome {
            Ok(latency) => {
                if measured {
                    let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
                    out.hist.saturating_record(us.max(1));
                    out.ok += 1;
                }
            }
            Err(e) => {
                if measured {
                    out.errors += 1;
                }
                if out.first_error.is_none() {
                    out.first_error = Some(format!("{e:#}"));
                }
                // Do not spin on a target that refuses connections.
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
    }
}

/// Sends one request and reads its body to the end; returns the latency
/// (for streams, until `data: [DONE]` arrived).
async fn send(client: &HttpClient, target: &Target, t0: Instant) -> Result<Duration> {
    let mut req = Request::post(target.uri.clone()).header(CONTENT_TYPE, "application/json");
    if let Some(auth) = &target.auth {
        req = req.header(AUTHORIZATION, auth);
    }
    let req = req.body(Full::new(target.body.clone()))?;
    let resp = client.request(req).await.context("sending")?;
    let status = resp.status();
    let mut body = resp.into_body();
    // Streams: bytes kept from the previous frame, so that a marker split
    // across frames is found. Non-streams: the whole body.
    let mut buf: Vec<u8> = Vec::new();
    let mut done_at = None;
    while let Some(frame) = body.frame().await {
        let frame = frame.context("reading the body")?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        if !target.stream || status != StatusCode::OK {
            buf.extend_from_slice(&data);
        } else if done_at.is_none() {
            buf.extend_from_slice(&data);
            if contains(&buf, DONE) {
                done_at = Some(t0.elapsed());
            } else {
                let keep = buf.len().saturating_sub(DONE.len());
                buf.drain(..keep);
            }
        }
    }
    let end = t0.elapsed();
    let snippet = || String::from_utf8_lossy(&buf[..buf.len().min(300)]).into_owned();
    if status != StatusCode::OK {
        bail!("HTTP {status}: {}", snippet());
    }
    if target.stream {
        done_at.context("stream ended without `data: [DONE]`")
    } else if contains(&buf, b"\"choices\"") {
        Ok(end)
    } else {
        bail!("no \"choices\" in the 200 body: {}", snippet())
    }
}

/// Whether `needle` occurs in `hay`.
fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}
