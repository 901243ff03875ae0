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
use bytes::{Bytes, BytesMut};
use switchyard_api::response::Delta;
use switchyard_api::{ChatChunk, ChatRequest, ChunkChoice};
use switchyard_providers::{Answer, ChunkStream, ProviderError, StreamEvent, Upstream, call};

use super::chain::{Chain, Lost, Won};
use super::dialect::StreamWriter;
use super::draft::{Draft, Served};
use super::header_value;
use crate::error::GatewayError;
use crate::state::AppState;
use crate::timing::server_timing;

const KEEPALIVE: &[u8] = b": SWITCHYARD PROCESSING\n\n";

/// The attempt chain running until some endpoint's first stream event
/// arrives (or every endpoint failed); it hands the chain back for its log.
type FirstEvent = Pin<Box<dyn Future<Output = (Chain, Result<Won<Opened>, Lost>)> + Send>>;

/// An upstream stream and its events up to the first that carries content.
type Opened = (ChunkStream, VecDeque<StreamEvent>);

/// Opens the upstream stream and reads it up to its first event that
/// carries content (or a finish): events before that (a role-only chunk)
/// are held back, so an upstream that fails before saying anything can
/// still be replaced by the next endpoint.
async fn first_event(upstream: Arc<Upstream>, req: Arc<ChatRequest>, served: Served) -> Result<Opened, ProviderError> {
    let Answer::Stream(mut cs) = call(&upstream, &req, &served.upstream_model).await? else {
        return Err(ProviderError::InvalidResponse("whole answer to a stream request".into()));
    };
    let mut held = VecDeque::new();
    loop {
        match cs.next().await? {
            Some(ev) => {
                let says_something = match &ev {
                    StreamEvent::Done => true,
                    StreamEvent::Chunk(c) => c.usage.is_some() || c.choices.iter().any(says_something),
                };
                held.push_back(ev);
                if says_something {
                    return Ok((cs, held));
                }
            }
            None if held.is_empty() => return Err(ProviderError::Disconnected),
            None => return Ok((cs, held)),
        }
    }
}

/// True when a choice carries something for the client: text, reasoning,
/// a tool call, a refusal or a finish (a role alone or an empty string is not).
fn says_something(c: &ChunkChoice) -> bool {
    let d = &c.delta;
    let text = |t: &Option<String>| t.as_deref().is_some_and(|t| !t.is_empty());
    c.finish_reason.is_some()
        || text(&d.content)
        || text(&d.reasoning)
        || text(&d.refusal)
        || d.reasoning_details.is_some()
        || d.tool_calls.is_some()
}

/// Starts a streamed request. An `Err` means every endpoint failed before
/// anything was sent to the client. Once a keep-alive has gone out the
/// status is committed, and the chain goes on inside the body: a later
/// endpoint may still answer, since no content has reached the client.
pub(super) async fn start(
    state: &Arc<AppState>,
    chain: Chain,
    draft: &mut Draft,
    writer: Box<dyn StreamWriter>,
) -> Result<Response, GatewayError> {
    let mut first: FirstEvent = Box::pin(async move {
        let mut chain = chain;
        let result = chain.run(first_event).await;
        (chain, result)
    });
    let phase = match tokio::time::timeout(state.keepalive, &mut first).await {
        Ok((mut chain, Ok(won))) => {
            draft.attempts.append(&mut chain.logs);
            let (cs, pending) = absorb(draft, won);
            Phase::Streaming { cs, pending }
        }
        Ok((mut chain, Err(lost))) => {
            draft.attempts.append(&mut chain.logs);
            return Err(lost.into_gateway_error(draft.attempts.len()));
        }
        Err(_) => Phase::Waiting(first),
    };
    let waiting = matches!(phase, Phase::Waiting(_));
    let upstream_time = draft.serving.map_or_else(|| draft.started.elapsed(), |(_, t0)| t0.elapsed());
    let total = draft.started.elapsed();
    let provider_name = draft.served.as_ref().map(|s| s.provider_name.clone()).unwrap_or_default();
    // Before the draft moves into the pump, taking its cache ticket along.
    let assembly = draft.cache.is_some().then(|| (state.cache.clone(), crate::cache::Assembly::default()));
    let pump = Pump {
        phase,
        draft: draft.take(),
        provider_name,
        keepalive: state.keepalive,
        // A stream committed by waiting sends its first keep-alive at once.
        timer: Box::pin(tokio::time::sleep(if waiting { Duration::ZERO } else { state.keepalive })),
        called_tools: false,
        writer,
        assembly,
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

/// Makes the winning attempt the draft's: who serves, since when.
fn absorb(draft: &mut Draft, won: Won<Opened>) -> Opened {
    draft.model = won.slug;
    draft.serving = Some((won.attempt, won.started));
    draft.served = Some(won.served);
    won.value
}

enum Phase {
    /// Status committed by a keep-alive; the first event is still awaited.
    Waiting(FirstEvent),
    /// Forwarding chunks.
    Streaming { cs: ChunkStream, pending: VecDeque<StreamEvent> },
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
    /// A tool-call delta was forwarded (decides `tool_calls` over `stop`).
    called_tools: bool,
    /// Writes the events in the client's API.
    writer: Box<dyn StreamWriter>,
    /// The answer put back together, for the response cache (when the
    /// request takes part in it).
    assembly: Option<(crate::cache::Cache, crate::cache::Assembly)>,
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
                        (mut chain, r) = first => {
                            self.draft.attempts.append(&mut chain.logs);
                            match r {
                                Ok(won) => {
                                    let (cs, pending) = absorb(&mut self.draft, won);
                                    if let Some(served) = &self.draft.served {
                                        self.provider_name.clone_from(&served.provider_name);
                                    }
                                    self.phase = Phase::Streaming { cs, pending };
                                    continue;
                                }
                                Err(lost) => {
                                    self.provider_name = lost.provider_name;
                                    Err(*lost.error)
                                }
                            }
                        }
                        _ = &mut self.timer => {
                            self.rearm();
                            return Some((Ok(Bytes::from_static(KEEPALIVE)), self));
                        }
                    }
                }
                Phase::Streaming { cs, pending } => match pending.pop_front() {
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
            if let (Some(web), Some(text)) = (self.draft.web.as_mut(), d.content.as_deref()) {
                web.observe(text);
            }
            if let Some(native) = choice.finish_reason.take() {
                let normalized = super::normalize_finish(&native, self.called_tools);
                choice.finish_reason = Some(normalized.clone());
                choice.native_finish_reason = Some(native.clone());
                self.draft.finish = Some((normalized, native));
            }
        }
        self.stamp(&mut chunk);
        if let Some((_, a)) = &mut self.assembly {
            a.add(&chunk);
        }
        let mut out = BytesMut::with_capacity(256);
        // The web plugin's citations go in a delta just before the finish.
        let finishing = chunk.choices.iter().any(|c| c.finish_reason.is_some());
        if let Some(annotations) = self.draft.web.as_mut().filter(|_| finishing).and_then(|w| w.stream_annotations()) {
            let mut cited = crate::plugins::web::annotation_chunk(annotations);
            self.stamp(&mut cited);
            self.writer.chunk(&cited, &mut out);
        }
        self.writer.chunk(&chunk, &mut out);
        (!out.is_empty()).then(|| out.freeze())
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
        if error.is_none()
            && let (Some((cache, assembly)), Some(ticket)) = (self.assembly.take(), self.draft.cache.take())
            && let Some(whole) = assembly.finish()
        {
            cache.store(ticket, &whole);
        }
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
            self.writer.chunk(&chunk, &mut out);
            self.draft.finish =
                Some(("error".into(), self.draft.finish.take().map(|f| f.1).unwrap_or_else(|| "error".into())));
        }
        let metadata = self.draft.routing_metadata();
        let (usage, _) = self.draft.finish(200, err_text, false);
        let mut last = ChatChunk { usage: Some(usage), ..ChatChunk::default() };
        if let Some(meta) = metadata {
            last.extra.insert("openrouter_metadata".into(), meta);
        }
        last.object = "chat.completion.chunk".into();
        self.stamp(&mut last);
        self.writer.finish(&last, &mut out);
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
