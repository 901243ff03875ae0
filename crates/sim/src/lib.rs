//! `switchyard-sim`: a protocol-faithful upstream LLM API simulator.
//!
//! The gateway's integration tests and benchmark point their upstreams at a
//! [`SimServer`] on a loopback ephemeral port. Each request's behaviour is
//! chosen by a [`Scenario`] spec carried in the request's `model` string or
//! the `x-sim-scenario` header (see [`scenario`]). Every request is recorded
//! (bounded ring buffer) together with its final [`Outcome`], so tests can
//! assert on what the gateway sent and whether it hung up early.
//!
//! Routes: `POST /v1/chat/completions` (also `/chat/completions`; OpenAI
//! Chat Completions), `POST /v1/messages` (also `/messages`; Anthropic
//! Messages), `POST /v1beta/models/{model}:generateContent` and
//! `:streamGenerateContent` (also under `/v1/models/`, and the Vertex AI
//! `/v1/projects/.../models/...` paths; Google Gemini), `POST /v2/chat`
//! (Cohere v2 Chat), `POST /model/{modelId}/converse` and
//! `/model/{modelId}/converse-stream` (AWS Bedrock Converse and
//! ConverseStream), embeddings in each protocol's shape (`POST
//! /v1/embeddings`, Gemini `:batchEmbedContents`, Vertex AI `:predict`,
//! `POST /v2/embed` for Cohere, `POST /model/{modelId}/invoke` for Bedrock),
//! `POST /token` and `/oauth2/token` (Google OAuth JWT-bearer grant for
//! Vertex AI service accounts), `GET /v1/models`, `GET /_sim/media/{name}`
//! (a tiny PNG or PDF, see [`media`], for media-URL tests), and for
//! out-of-process use `GET /_sim/requests` and `DELETE /_sim/requests`.

#![warn(missing_docs)]

mod answer;
mod anthropic;
mod bedrock;
mod cohere;
mod embeddings;
mod gemini;
pub mod media;
pub mod openai;
pub mod scenario;
mod vertex_token;

pub use openai::SCENARIO_HEADER;
pub use scenario::Scenario;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, request::Parts};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use serde::Serialize;
use tokio::sync::{Notify, oneshot, watch};

use embeddings::Wire;

/// Maximum number of records kept; older ones are evicted first.
pub const MAX_RECORDS: usize = 10_000;

/// Maximum accepted request body size.
const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// Options for [`SimServer::start_with`] and [`run`].
#[derive(Clone, Debug)]
pub struct SimOptions {
    /// Record requests (default `true`). When `false` nothing is stored and
    /// [`SimServer::requests`] stays empty (benchmark mode).
    pub record: bool,
}

impl SimOptions {
    /// Default options: recording enabled.
    pub fn new() -> Self {
        SimOptions { record: true }
    }

    /// Benchmark options: recording disabled.
    pub fn benchmark() -> Self {
        SimOptions { record: false }
    }
}

impl Default for SimOptions {
    /// Same as [`SimOptions::new`]: recording enabled.
    fn default() -> Self {
        Self::new()
    }
}

/// One request received by the simulator.
#[derive(Clone, Debug, Serialize)]
pub struct RecordedRequest {
    /// Arrival sequence number (0, 1, 2, ...); never reused, not reset by `clear`.
    pub seq: u64,
    /// HTTP method, e.g. `POST`.
    pub method: String,
    /// Request path including the query string.
    pub path: String,
    /// Request headers in arrival order, names lowercase.
    pub headers: Vec<(String, String)>,
    /// Parsed JSON body, or `Value::Null` if the body was not JSON.
    pub body: serde_json::Value,
    /// How the exchange ended (so far).
    pub outcome: Outcome,
}

/// How a recorded exchange ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Outcome {
    /// The response is still being produced.
    InProgress,
    /// The full response was produced (for streams: the body reached its end).
    Completed,
    /// The client went away before the response was finished.
    ClientDisconnected,
}

/// Shared server state.
pub(crate) struct Inner {
    record: bool,
    next_seq: AtomicU64,
    records: Mutex<VecDeque<RecordedRequest>>,
    changed: Notify,
    /// Flips to `true` when the owning [`SimServer`] is dropped.
    closing: watch::Receiver<bool>,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, VecDeque<RecordedRequest>> {
        self.records.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers an arriving request, returning its seq and outcome guard.
    pub(crate) fn begin(self: &Arc<Self>, parts: &Parts, body: serde_json::Value) -> OutcomeGuard {
        if !self.record {
            let seq = self.next_seq.fetch_add(1, Ordering::Relaxed);
            return OutcomeGuard { inner: None, seq };
        }
        let headers = header_pairs(&parts.headers);
        let path = parts.uri.path_and_query().map_or_else(|| parts.uri.path().to_owned(), |p| p.as_str().to_owned());
        let mut q = self.lock();
        let seq = self.next_seq.fetch_add(1, Ordering::Relaxed);
        if q.len() >= MAX_RECORDS {
            q.pop_front();
        }
        q.push_back(RecordedRequest {
            seq,
            method: parts.method.as_str().to_owned(),
            path,
            headers,
            body,
            outcome: Outcome::InProgress,
        });
        drop(q);
        self.changed.notify_waiters();
        OutcomeGuard { inner: Some(Arc::clone(self)), seq }
    }

    fn set_outcome(&self, seq: u64, outcome: Outcome) {
        let mut q = self.lock();
        if let Some(r) = find_mut(&mut q, seq)
            && r.outcome == Outcome::InProgress
        {
            r.outcome = outcome;
        }
        drop(q);
        self.changed.notify_waiters();
    }

    fn get(&self, seq: u64) -> Option<RecordedRequest> {
        let mut q = self.lock();
        find_mut(&mut q, seq).map(|r| r.clone())
    }

    /// Future that resolves once the server is shutting down.
    pub(crate) async fn closed(&self) {
        let mut rx = self.closing.clone();
        // An error means the sender is gone, which also means shutdown.
        let _ = rx.wait_for(|closing| *closing).await;
    }
}

/// Records are contiguous in seq, so the index is an offset from the front.
fn find_mut(q: &mut VecDeque<RecordedRequest>, seq: u64) -> Option<&mut RecordedRequest> {
    let first = q.front()?.seq;
    let idx = usize::try_from(seq.checked_sub(first)?).ok()?;
    q.get_mut(idx).filter(|r| r.seq == seq)
}

fn header_pairs(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| {
            let value = String::from_utf8_lossy(v.as_bytes()).into_owned();
            (k.as_str().to_owned(), value)
        })
        .collect()
}

/// Marks a request's final outcome: `Completed` via [`OutcomeGuard::complete`],
/// or `ClientDisconnected` when dropped before that.
pub(crate) struct OutcomeGuard {
    inner: Option<Arc<Inner>>,
    seq: u64,
}

impl OutcomeGuard {
    /// The request's sequence number.
    pub(crate) fn seq(&self) -> u64 {
        self.seq
    }

    /// Marks the request `Completed` and disarms the guard.
    pub(crate) fn complete(&mut self) {
        if let Some(inner) = self.inner.take() {
            inner.set_outcome(self.seq, Outcome::Completed);
        }
    }
}

impl Drop for OutcomeGuard {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.take() {
            inner.set_outcome(self.seq, Outcome::ClientDisconnected);
        }
    }
}

/// A running simulator. Dropping it stops accepting connections and shuts
/// the server down gracefully (hanging requests are aborted).
pub struct SimServer {
    addr: SocketAddr,
    inner: Arc<Inner>,
    shutdown: watch::Sender<bool>,
    _stop: oneshot::Sender<()>,
}

impl SimServer {
    /// Binds `addr` (e.g. `127.0.0.1:0`), spawns the server on the current
    /// tokio runtime and returns at once. Recording is enabled.
    pub async fn start(addr: SocketAddr) -> std::io::Result<SimServer> {
        Self::start_with(addr, SimOptions::new()).await
    }

    /// Like [`SimServer::start`], with options.
    pub async fn start_with(addr: SocketAddr, opts: SimOptions) -> std::io::Result<SimServer> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let (shutdown, closing) = watch::channel(false);
        let inner = Arc::new(Inner {
            record: opts.record,
            next_seq: AtomicU64::new(0),
            records: Mutex::new(VecDeque::new()),
            changed: Notify::new(),
            closing,
        });
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let app = router(Arc::clone(&inner));
        tokio::spawn(async move {
            let listener = listener.tap_io(|tcp| {
                let _ = tcp.set_nodelay(true);
            });
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stop_rx.await;
                })
                .await;
        });
        Ok(SimServer { addr, inner, shutdown, _stop: stop_tx })
    }

    /// The bound socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The OpenAI-style base URL, e.g. `http://127.0.0.1:PORT/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Every request received so far (oldest first, at most [`MAX_RECORDS`]).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.inner.lock().iter().cloned().collect()
    }

    /// The recorded requests for which `keep` is true (oldest first); only
    /// those are cloned.
    pub fn requests_where(&self, keep: impl Fn(&RecordedRequest) -> bool) -> Vec<RecordedRequest> {
        self.inner.lock().iter().filter(|r| keep(r)).cloned().collect()
    }

    /// Waits until request `seq` reaches a final outcome (`Completed` or
    /// `ClientDisconnected`) or `timeout` passes. Returns the record as it is
    /// then (possibly still `InProgress` on timeout), or `None` if no such
    /// record exists (never arrived in time, evicted, cleared, or recording
    /// is off).
    pub async fn wait_outcome(&self, seq: u64, timeout: Duration) -> Option<RecordedRequest> {
        if !self.inner.record {
            return None;
        }
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.inner.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            match self.inner.get(seq) {
                Some(r) if r.outcome != Outcome::InProgress => return Some(r),
                Some(_) => {}
                None if seq < self.inner.next_seq.load(Ordering::Relaxed) => return None,
                None => {}
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.inner.get(seq);
            }
        }
    }

    /// Forgets all recorded requests (sequence numbers keep increasing).
    pub fn clear(&self) {
        self.inner.lock().clear();
    }
}

impl Drop for SimServer {
    fn drop(&mut self) {
        // Wakes hanging handlers; dropping `_stop` starts graceful shutdown.
        let _ = self.shutdown.send(true);
    }
}

/// Runs a sim server on `addr` until ctrl-c (used by `switchyard sim --listen ADDR`).
pub async fn run(addr: SocketAddr, opts: SimOptions) -> std::io::Result<()> {
    let server = SimServer::start_with(addr, opts).await?;
    eprintln!("switchyard-sim listening on {}", server.base_url());
    tokio::signal::ctrl_c().await?;
    drop(server);
    Ok(())
}

fn router(inner: Arc<Inner>) -> Router {
    Router::new()
        .route("/v1/chat/completions", post(chat_completions))
        .route("/chat/completions", post(chat_completions))
        .route("/v1/messages", post(messages))
        .route("/messages", post(messages))
        .route("/v1beta/models/{*model_and_method}", post(gemini))
        .route("/v1/models/{*model_and_method}", post(gemini))
        .route("/v1/projects/{*vertex_path}", post(gemini))
        .route("/v1beta1/projects/{*vertex_path}", post(gemini))
        .route("/v1/publishers/{*vertex_path}", post(gemini))
        .route("/v2/chat", post(cohere_chat))
        .route("/v2/embed", post(cohere_embed))
        .route("/model/{*model_and_operation}", post(bedrock))
        .route("/v1/embeddings", post(embeddings_handler))
        .route("/token", post(vertex_token::token_handler))
        .route("/oauth2/token", post(vertex_token::token_handler))
        .route("/v1/models", get(models))
        .route("/models", get(models))
        .route("/_sim/media/{name}", get(media::media))
        .route("/_sim/requests", get(list_requests).delete(clear_requests))
        .fallback(not_found)
        .with_state(inner)
}

/// Splits the request and reads the whole body, parsing it as JSON if possible.
async fn read_request(req: Request) -> (Parts, serde_json::Value) {
    let (parts, body) = req.into_parts();
    let value = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
        Err(_) => serde_json::Value::Null,
    };
    (parts, value)
}

async fn chat_completions(State(inner): State<Arc<Inner>>, req: Request) -> Response {
    let (parts, body) = read_request(req).await;
    let chat = openai::ChatRequest::new(&parts.headers, &body);
    let guard = inner.begin(&parts, body);
    openai::chat_completions(&inner, chat, guard).await
}

async fn messages(State(inner): State<Arc<Inner>>, req: Request) -> Response {
    let (parts, body) = read_request(req).await;
    let msg = anthropic::MessagesRequest::new(&parts.headers, &body);
    let guard = inner.begin(&parts, body);
    anthropic::messages(&inner, msg, guard).await
}

async fn gemini(State(inner): State<Arc<Inner>>, req: Request) -> Response {
    let (parts, body) = read_request(req).await;
    let (model, method) = gemini::model_and_method(parts.uri.path());
    let wire = match method.as_str() {
        "batchEmbedContents" => Some(Wire::Gemini),
        "predict" => Some(Wire::Vertex),
        _ => None,
    };
    if let Some(wire) = wire {
        return embed(&inner, wire, &parts, &model, body);
    }
    let call = gemini::GenerateRequest::new(&parts, &body);
    let guard = inner.begin(&parts, body);
    gemini::generate(&inner, call, guard).await
}

async fn cohere_chat(State(inner): State<Arc<Inner>>, req: Request) -> Response {
    let (parts, body) = read_request(req).await;
    let chat = cohere::ChatRequest::new(&parts.headers, &body);
    let guard = inner.begin(&parts, body);
    cohere::chat(&inner, chat, guard).await
}

async fn bedrock(State(inner): State<Arc<Inner>>, req: Request) -> Response {
    let (parts, body) = read_request(req).await;
    if let Some(model) = bedrock::invoke_model(parts.uri.path()) {
        return embed(&inner, Wire::Bedrock, &parts, &model, body);
    }
    let call = bedrock::ConverseRequest::new(&parts, &body);
    let guard = inner.begin(&parts, body);
    bedrock::converse(&inner, call, guard).await
}

async fn embeddings_handler(State(inner): State<Arc<Inner>>, req: Request) -> Response {
    let (parts, body) = read_request(req).await;
    let model = body["model"].as_str().unwrap_or_default().to_owned();
    embed(&inner, Wire::Openai, &parts, &model, body)
}

async fn cohere_embed(State(inner): State<Arc<Inner>>, req: Request) -> Response {
    let (parts, body) = read_request(req).await;
    let model = body["model"].as_str().unwrap_or_default().to_owned();
    embed(&inner, Wire::Cohere, &parts, &model, body)
}

/// Records an embeddings request and answers it in `wire`'s shape; `model`
/// selects the scenario.
fn embed(inner: &Arc<Inner>, wire: Wire, parts: &Parts, model: &str, body: serde_json::Value) -> Response {
    let guard = inner.begin(parts, body.clone());
    embeddings::embed(wire, &parts.headers, model, &body, guard)
}

async fn models(State(inner): State<Arc<Inner>>, req: Request) -> Response {
    let (parts, body) = read_request(req).await;
    let mut guard = inner.begin(&parts, body);
    guard.complete();
    axum::Json(serde_json::json!({
        "object": "list",
        "data": [{"id": "sim", "object": "model", "created": 0, "owned_by": "sim"}],
    }))
    .into_response()
}

async fn not_found(State(inner): State<Arc<Inner>>, req: Request) -> Response {
    let (parts, body) = read_request(req).await;
    let mut guard = inner.begin(&parts, body);
    guard.complete();
    let message = format!("Unknown request URL: {} {}", parts.method, parts.uri.path());
    openai::error_response(StatusCode::NOT_FOUND, &message, "invalid_request_error", "unknown_url", None)
}

async fn list_requests(State(inner): State<Arc<Inner>>) -> Response {
    let records: Vec<RecordedRequest> = inner.lock().iter().cloned().collect();
    axum::Json(records).into_response()
}

async fn clear_requests(State(inner): State<Arc<Inner>>) -> StatusCode {
    inner.lock().clear();
    StatusCode::NO_CONTENT
}
