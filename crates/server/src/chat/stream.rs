//! Streaming delivery: the status is committed only once the first upstream
//! event is decoded (or a keep-alive has to be sent); then each upstream
//! chunk is rewritten and forwarded as soon as it is decoded; the stream
//! ends with exactly one usage chunk and `[DONE]`, or with an error chunk.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use bytes::{BufMut, Bytes, BytesMut};
use switchyard_api::response::Delta;
use switchyard_api::{ChatChunk, ChatRequest, ChunkChoice};
use switchyard_providers::{Answer, ChunkStream, ProviderError, StreamEvent, Upstream, call};

use super::draft::{AttemptLog, Draft, Served};
use super::header_value;
use crate::error::GatewayError;
use crate::state::AppState;
use crate::timing::server_timing;

const KEEPALIVE: &[u8] = b": SWITCHYARD PROCESSING\n\n";

type FirstEvent = Pin<Box<dyn Future<Output = Result<(ChunkStream, StreamEvent), ProviderError>> + Send>>;

/// Starts a streaming attempt. `Err` means nothing was sent to the client
/// and the caller may try the next endpoint.
pub(super) async fn start(
    state: &Arc<AppState>,
    req: Arc<ChatRequest>,
    upstream: Arc<Upstream>,
    served: Served,
    draft: &mut Draft,
    t0: Instant,
) -> Result<Response, ProviderError> {
    let model = served.upstream_model.clone();
    let mut first: FirstEvent = Box::pin(async move {
        let Answer::Stream(mut cs) = call(&upstream, &req, &model).await? else {
            return Err(ProviderError::InvalidResponse("whole answer to a stream request".into()));
        };
        match cs.next().await? {
            Some(ev) => Ok((cs, ev)),
            None => Err(ProviderError::Disconnected),
        }
    });
    let phase = match tokio::time::timeout(state.keepalive, &mut first).await {
        Ok(Ok((cs, ev))) => Phase::Streaming { cs, pending: Some(ev) },
        Ok(Err(e)) => return Err(e),
        Err(_) => Phase::Waiting(first),
    };
    let upstream_time = t0.elapsed();
    let waiting = matches!(phase, Phase::Waiting(_));
    draft.served = Some(served.clone());
    if matches!(phase, Phase::Streaming { .. }) {
        draft.attempts.push(AttemptLog::new(&served, &draft.model, "ok".into(), Some(200), upstream_time));
    }
    let total = draft.started.elapsed();
    let pump = Pump {
        phase,
        draft: draft.take(),
        provider_name: served.provider_name,
        keepalive: state.keepalive,
        // A stream committed by waiting sends its first keep-alive at once.
        timer: Box::pin(tokio::time::sleep(if waiting { Duration::ZERO } else { state.keepalive })),
        t0,
        called_tools: false,
    };
    let id = pump.draft.id.clone();
    let body = Body::from_stream(futures_util::stream::unfold(pump, |p| p.step()));
    let mut resp = Response::new(body);
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert("x-generation-id", header_value(&id));
    h.insert("server-timing", server_timing(total, upstream_time));
    Ok(resp)
}

enum Phase {
    /// Status committed by a keep-alive; the first event is still awaited.
    Waiting(FirstEvent),
    /// Forwarding chunks.
    Streaming { cs: ChunkStream, pending: Option<StreamEvent> },
    /// Sending the closing events.
    Closing(VecDeque<Bytes>),
    /// Nothing more.
    Done,
}

/// The body's state. Dropping it (client gone) drops the upstream stream,
/// closing that connection, and the draft, recording a cancellation.
struct Pump {
    phase: Phase,
    draft: Draft,
    provider_name: String,
    keepalive: Duration,
    timer: Pin<Box<tokio::time::Sleep>>,
    t0: Instant,
    /// A tool-call delta was forwarded (decides `tool_calls` over `stop`).
    called_tools: bool,
}

impl Pump {
    async fn step(mut self) -> Option<(Result<Bytes, Infallible>, Pump)> {
        loop {
            let event = match &mut self.phase {
                Phase::Done => return None,
                Phase::Closing(queue) => match queue.pop_front() {
                    Some(b) => return Some((Ok(b), self)),
                    None => {
                        self.phase = Phase::Done;
                        return None;
                    }
                },
                Phase::Waiting(first) => {
                    tokio::select! {
                        r = first => match r {
                            Ok((cs, ev)) => {
                                if let Some(served) = &self.draft.served {
                                    let log = AttemptLog::new(served, &self.draft.model, "ok".into(), Some(200), self.t0.elapsed());
                                    self.draft.attempts.push(log);
                                }
                                self.phase = Phase::Streaming { cs, pending: Some(ev) };
                                continue;
                            }
                            Err(e) => Err(e),
                        },
                        _ = &mut self.timer => {
                            self.rearm();
                            return Some((Ok(Bytes::from_static(KEEPALIVE)), self));
                        }
                    }
                }
                Phase::Streaming { cs, pending } => match pending.take() {
                    Some(ev) => Ok(Some(ev)),
                    None => {
                        tokio::select! {
                            r = cs.next() => r,
                            _ = &mut self.timer => {
                                self.rearm();
                                return Some((Ok(Bytes::from_static(KEEPALIVE)), self));
                            }
                        }
                    }
                },
            };
            match event {
                Ok(Some(StreamEvent::Chunk(chunk))) => {
                    if let Some(bytes) = self.forward(*chunk) {
                        self.rearm();
                        return Some((Ok(bytes), self));
                    }
                }
                Ok(Some(StreamEvent::Done)) | Ok(None) => self.close(None),
                // Some servers close without [DONE] after the finish chunk.
                Err(ProviderError::Disconnected) if self.draft.finish.is_some() => self.close(None),
                Err(e) => self.close(Some(e)),
            }
        }
    }

    fn rearm(&mut self) {
        let at = tokio::time::Instant::now() + self.keepalive;
        self.timer.as_mut().reset(at);
    }

    /// Rewrites an upstream chunk into OpenRouter's shape; `None` for chunks
    /// with nothing to forward (the upstream's own usage chunk).
    fn forward(&mut self, mut chunk: ChatChunk) -> Option<Bytes> {
        if let Some(u) = chunk.usage.take() {
            self.draft.usage = Some(u);
        }
        if self.draft.upstream_id.is_none() && !chunk.id.is_empty() {
            self.draft.upstream_id = Some(std::mem::take(&mut chunk.id));
        }
        if chunk.choices.is_empty() || chunk.choices.iter().all(carries_nothing) {
            return None;
        }
        for choice in &mut chunk.choices {
            let d = &choice.delta;
            if d.content.as_deref().is_some_and(|c| !c.is_empty())
                || d.reasoning.as_deref().is_some_and(|c| !c.is_empty())
                || d.refusal.as_deref().is_some_and(|c| !c.is_empty())
                || d.tool_calls.is_some()
            {
                self.called_tools |= d.tool_calls.is_some();
                self.draft.completion_pieces += 1;
                if self.draft.first_content.is_none() {
                    self.draft.first_content = Some(Instant::now());
                }
            }
            if let Some(native) = choice.finish_reason.take() {
                let normalized = super::normalize_finish(&native, self.called_tools);
                choice.finish_reason = Some(normalized.clone());
                choice.native_finish_reason = Some(native.clone());
                self.draft.finish = Some((normalized, native));
            }
        }
        self.stamp(&mut chunk);
        Some(sse(&chunk))
    }

    fn stamp(&self, chunk: &mut ChatChunk) {
        chunk.id.clone_from(&self.draft.id);
        chunk.created = self.draft.created;
        chunk.model.clone_from(&self.draft.model);
        chunk.provider = Some(self.provider_name.clone());
    }

    /// Queues the closing events: on failure an error chunk, then always the
    /// one usage chunk and `[DONE]`.
    fn close(&mut self, error: Option<ProviderError>) {
        let mut out = BytesMut::new();
        let err_text = error.as_ref().map(ToString::to_string);
        if let Some(e) = error {
            let ge =
                GatewayError::Provider { error: Box::new(e), provider_name: self.provider_name.clone(), attempts: 1 };
            let mut chunk = ChatChunk {
                error: Some(ge.detail()),
                choices: vec![ChunkChoice {
                    delta: Delta { content: Some(String::new()), ..Delta::default() },
                    finish_reason: Some("error".into()),
                    ..ChunkChoice::default()
                }],
                ..ChatChunk::default()
            };
            chunk.object = "chat.completion.chunk".into();
            self.stamp(&mut chunk);
            out.put(sse(&chunk));
            self.draft.finish =
                Some(("error".into(), self.draft.finish.take().map(|f| f.1).unwrap_or_else(|| "error".into())));
        }
        let (usage, _) = self.draft.finish(200, err_text, false);
        let mut last = ChatChunk { usage: Some(usage), ..ChatChunk::default() };
        last.object = "chat.completion.chunk".into();
        self.stamp(&mut last);
        out.put(sse(&last));
        out.put_slice(b"data: [DONE]\n\n");
        self.phase = Phase::Closing(VecDeque::from([out.freeze()]));
    }
}

/// A choice with no delta content and no finish reason, such as Azure's
/// content-filter-only chunks: nothing for the client.
fn carries_nothing(c: &ChunkChoice) -> bool {
    let d = &c.delta;
    c.finish_reason.is_none()
        && d.role.is_none()
        && d.content.is_none()
        && d.reasoning.is_none()
        && d.reasoning_details.is_none()
        && d.tool_calls.is_none()
        && d.refusal.is_none()
        && d.extra.is_empty()
        && c.logprobs.as_ref().is_none_or(serde_json::Value::is_null)
}

fn sse(chunk: &ChatChunk) -> Bytes {
    let mut buf = Vec::with_capacity(256);
    buf.extend_from_slice(b"data: ");
    // A chunk made of strings and numbers always serialises.
    if serde_json::to_writer(&mut buf, chunk).is_err() {
        buf.truncate(6);
        buf.extend_from_slice(b"{}");
    }
    buf.extend_from_slice(b"\n\n");
    Bytes::from(buf)
}
