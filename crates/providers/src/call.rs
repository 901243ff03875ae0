//! The HTTP exchange with an upstream: send, then either read a whole answer
//! or hand back a stream of canonical chunks.

use std::collections::VecDeque;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use switchyard_api::{ChatChunk, ChatRequest, ChatResponse};

use crate::anthropic::{self, DecodeOptions};
use crate::error::ProviderError;
use crate::sse::{SseDecoder, SseEvent};
use crate::upstream::{Protocol, Upstream};
use crate::{bedrock, cohere, fetch, gemini, openai, send};

/// One decoded stream event.
#[derive(Debug)]
pub enum StreamEvent {
    /// A chunk in canonical form.
    Chunk(Box<ChatChunk>),
    /// The upstream said the stream is complete.
    Done,
}

/// What a successful exchange produced.
// Returned once and unpacked at once: boxing the response would cost an
// allocation per request to save a few hundred bytes of stack.
#[allow(clippy::large_enum_variant)]
pub enum Answer {
    /// A whole, non-streaming answer.
    Complete(ChatResponse),
    /// A stream still arriving.
    Stream(ChunkStream),
}

/// Native stream events to canonical ones, per protocol. OpenAI's chunks
/// stand alone; Anthropic's need what earlier events said.
enum EventDecoder {
    Openai,
    Anthropic(anthropic::stream::StreamState),
    Gemini(gemini::stream::StreamState),
    Cohere(cohere::stream::StreamState),
    Bedrock(bedrock::stream::StreamState),
}

impl EventDecoder {
    fn new(protocol: Protocol, req: &ChatRequest) -> EventDecoder {
        match protocol {
            Protocol::Openai | Protocol::Azure => EventDecoder::Openai,
            Protocol::Anthropic => {
                EventDecoder::Anthropic(anthropic::stream::StreamState::new(DecodeOptions::for_request(req)))
            }
            Protocol::Gemini | Protocol::Vertex => EventDecoder::Gemini(gemini::stream::StreamState::new()),
            Protocol::Cohere => EventDecoder::Cohere(cohere::stream::StreamState::new()),
            Protocol::Bedrock => EventDecoder::Bedrock(bedrock::stream::StreamState::new()),
        }
    }

    /// Decodes one native event into zero or more canonical ones.
    fn decode(&mut self, ev: &SseEvent, out: &mut VecDeque<StreamEvent>) -> Result<(), ProviderError> {
        match self {
            EventDecoder::Openai => out.extend(openai::stream::decode_event(ev)?),
            EventDecoder::Anthropic(state) => state.decode_event(ev, out)?,
            EventDecoder::Gemini(state) => state.decode_event(ev, out)?,
            EventDecoder::Cohere(state) => state.decode_event(ev, out)?,
            // Bedrock frames are binary, decoded in `ChunkStream::feed`.
            EventDecoder::Bedrock(_) => {}
        }
        Ok(())
    }
}

/// Everything between the body bytes and the canonical events. Boxed in
/// [`ChunkStream`] so the stream handle stays small for its holders.
struct Decoding {
    sse: SseDecoder,
    events: VecDeque<SseEvent>,
    scratch: Vec<SseEvent>,
    /// Canonical events decoded but not yet handed out: one native event
    /// may produce several.
    ready: VecDeque<StreamEvent>,
    native: EventDecoder,
    /// Bedrock's binary event-stream framing (instead of SSE).
    binary: Option<bedrock::eventstream::EventStreamDecoder>,
    frames: Vec<bedrock::eventstream::Message>,
    /// The client asked for reasoning not to be returned.
    exclude_reasoning: bool,
}

/// A canonical view of an upstream stream. Dropping it closes the upstream
/// connection, which is how a client's disconnect cancels generation.
pub struct ChunkStream {
    body: BoxStream<'static, Result<Bytes, reqwest::Error>>,
    dec: Box<Decoding>,
    idle: Duration,
    finished: bool,
    eof: bool,
    last_activity: tokio::time::Instant,
}

impl ChunkStream {
    /// The next event; `Ok(None)` after the end (`[DONE]`, `message_stop`).
    /// Cancel-safe: only the body read awaits, and decoding between reads is
    /// synchronous, so dropping the future between events loses nothing. A
    /// stream that ends without its end marker yields
    /// [`ProviderError::Disconnected`]; the caller knows whether a finish
    /// reason had already arrived.
    pub async fn next(&mut self) -> Result<Option<StreamEvent>, ProviderError> {
        loop {
            if !self.finished {
                let dec = &mut *self.dec;
                if let Some(mut d) = dec.ready.pop_front() {
                    match &mut d {
                        StreamEvent::Done => self.finished = true,
                        StreamEvent::Chunk(c) if dec.exclude_reasoning => {
                            for choice in &mut c.choices {
                                choice.delta.reasoning = None;
                                choice.delta.reasoning_details = None;
                            }
                        }
                        StreamEvent::Chunk(_) => {}
                    }
                    return Ok(Some(d));
                }
                if let Some(ev) = dec.events.pop_front() {
                    dec.native.decode(&ev, &mut dec.ready)?;
                    continue;
                }
            }
            if self.finished {
                return Ok(None);
            }
            if self.eof {
                return Err(ProviderError::Disconnected);
            }
            // An absolute deadline, so a caller that interrupts `next` (to send
            // keep-alives) does not restart the idle clock.
            let deadline = self.last_activity + self.idle;
            match tokio::time::timeout_at(deadline, self.body.next()).await {
                Err(_) => return Err(ProviderError::Timeout(self.idle)),
                Ok(Some(Ok(bytes))) => {
                    self.last_activity = tokio::time::Instant::now();
                    self.feed(&bytes, false)?
                }
                Ok(Some(Err(e))) => return Err(ProviderError::from_transport(&e, self.idle)),
                Ok(None) => {
                    self.eof = true;
                    self.feed(&[], true)?;
                }
            }
        }
    }

    fn feed(&mut self, bytes: &[u8], eof: bool) -> Result<(), ProviderError> {
        let invalid = |e: crate::sse::SseError| ProviderError::InvalidResponse(e.to_string());
        let dec = &mut *self.dec;
        if let Some(binary) = &mut dec.binary {
            binary.push(bytes, &mut dec.frames)?;
            if eof && binary.has_partial() {
                return Err(ProviderError::Disconnected);
            }
            if let EventDecoder::Bedrock(state) = &mut dec.native {
                for msg in dec.frames.drain(..) {
                    state.decode_message(&msg, &mut dec.ready)?;
                }
            }
            return Ok(());
        }
        dec.sse.push(bytes, &mut dec.scratch).map_err(invalid)?;
        if eof {
            dec.sse.finish(&mut dec.scratch).map_err(invalid)?;
        }
        dec.events.extend(dec.scratch.drain(..));
        Ok(())
    }
}

/// Sends the canonical request to `upstream` as `upstream_model`.
pub async fn call(upstream: &Upstream, req: &ChatRequest, upstream_model: &str) -> Result<Answer, ProviderError> {
    let protocol = upstream.config.protocol;
    // Gemini and Bedrock cannot fetch media URLs themselves: fetch and
    // inline them (behind the private-address guard) into a copy.
    let inlined;
    let req =
        if matches!(protocol, Protocol::Gemini | Protocol::Vertex | Protocol::Bedrock) && fetch::needs_inlining(req) {
            let mut copy = req.clone();
            fetch::inline_remote_media(&mut copy, &upstream.client, &upstream.media).await?;
            inlined = copy;
            &inlined
        } else {
            req
        };
    let body = match protocol {
        Protocol::Openai | Protocol::Azure => openai::encode::encode(req, upstream_model, &upstream.config.quirks)
            .map_err(|e| ProviderError::Unsupported(format!("request cannot be encoded: {e}")))?,
        Protocol::Anthropic => anthropic::encode::encode(req, upstream_model)?,
        Protocol::Gemini | Protocol::Vertex => gemini::encode::encode(req, upstream_model)?,
        Protocol::Cohere => cohere::encode::encode(req, upstream_model)?,
        Protocol::Bedrock => bedrock::encode::encode(req, upstream_model)?,
    };

    let t = upstream.timeouts;
    let url = upstream.request_url(upstream_model, req.is_stream())?;
    let resp = send::post(upstream, url, body).await?;
    if req.is_stream() {
        return Ok(Answer::Stream(ChunkStream {
            body: resp.bytes_stream().boxed(),
            dec: Box::new(Decoding {
                sse: SseDecoder::default(),
                events: VecDeque::new(),
                scratch: Vec::new(),
                ready: VecDeque::new(),
                native: EventDecoder::new(protocol, req),
                binary: (protocol == Protocol::Bedrock).then(bedrock::eventstream::EventStreamDecoder::new),
                frames: Vec::new(),
                exclude_reasoning: req.reasoning_excluded(),
            }),
            idle: t.idle,
            finished: false,
            eof: false,
            last_activity: tokio::time::Instant::now(),
        }));
    }
    let bytes = send::read_body(resp, t.idle).await?;
    let mut answer = match protocol {
        Protocol::Openai | Protocol::Azure => openai::decode::decode(&bytes),
        Protocol::Anthropic => anthropic::decode::decode(&bytes, &DecodeOptions::for_request(req)),
        Protocol::Gemini | Protocol::Vertex => gemini::decode::decode(&bytes),
        Protocol::Cohere => cohere::decode::decode(&bytes),
        Protocol::Bedrock => bedrock::decode::decode(&bytes),
    }?;
    // Every protocol's reasoning is dropped here, once, rather than in each decoder.
    if req.reasoning_excluded() {
        for choice in &mut answer.choices {
            choice.message.reasoning = None;
            choice.message.reasoning_details = None;
        }
    }
    Ok(Answer::Complete(answer))
}
