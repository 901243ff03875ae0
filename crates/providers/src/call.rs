//! The HTTP exchange with an upstream: send, then either read a whole answer
//! or hand back a stream of canonical chunks.

use std::collections::VecDeque;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use switchyard_api::{ChatChunk, ChatRequest, ChatResponse};

use crate::error::{ProviderError, parse_retry_after};
use crate::openai;
use crate::sse::{SseDecoder, SseEvent};
use crate::upstream::{Protocol, Upstream};

/// One decoded stream event.
#[derive(Debug)]
pub enum StreamEvent {
    /// A chunk in canonical form.
    Chunk(Box<ChatChunk>),
    /// The upstream said the stream is complete.
    Done,
}

/// What a successful exchange produced.
pub enum Answer {
    /// A whole, non-streaming answer.
    Complete(ChatResponse),
    /// A stream still arriving.
    Stream(ChunkStream),
}

/// A canonical view of an upstream stream. Dropping it closes the upstream
/// connection, which is how a client's disconnect cancels generation.
pub struct ChunkStream {
    body: BoxStream<'static, Result<Bytes, reqwest::Error>>,
    decoder: SseDecoder,
    events: VecDeque<SseEvent>,
    scratch: Vec<SseEvent>,
    protocol: Protocol,
    idle: Duration,
    finished: bool,
    eof: bool,
    last_activity: tokio::time::Instant,
}

impl ChunkStream {
    /// The next event; `Ok(None)` after `[DONE]`. Cancel-safe: dropping the
    /// future between events loses nothing. A stream that ends
    /// without `[DONE]` yields [`ProviderError::Disconnected`]; the caller
    /// knows whether a finish reason had already arrived.
    pub async fn next(&mut self) -> Result<Option<StreamEvent>, ProviderError> {
        loop {
            while let Some(ev) = self.events.pop_front() {
                let decoded = match self.protocol {
                    Protocol::Openai => openai::stream::decode_event(&ev)?,
                };
                if let Some(d) = decoded {
                    if matches!(d, StreamEvent::Done) {
                        self.finished = true;
                    }
                    return Ok(Some(d));
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
        self.decoder.push(bytes, &mut self.scratch).map_err(invalid)?;
        if eof {
            self.decoder.finish(&mut self.scratch).map_err(invalid)?;
        }
        self.events.extend(self.scratch.drain(..));
        Ok(())
    }
}

/// Sends the canonical request to `upstream` as `upstream_model`.
pub async fn call(upstream: &Upstream, req: &ChatRequest, upstream_model: &str) -> Result<Answer, ProviderError> {
    let body = match upstream.config.protocol {
        Protocol::Openai => openai::encode::encode(req, upstream_model, &upstream.config.quirks),
    }
    .map_err(|e| ProviderError::Unsupported(format!("request cannot be encoded: {e}")))?;

    let t = upstream.timeouts;
    let send = upstream.client.post(upstream.chat_url.clone()).headers(upstream.headers.clone()).body(body).send();
    let resp = match tokio::time::timeout(t.first_byte, send).await {
        Err(_) => return Err(ProviderError::Timeout(t.first_byte)),
        Ok(Err(e)) => return Err(ProviderError::from_transport(&e, t.first_byte)),
        Ok(Ok(r)) => r,
    };
    let status = resp.status();
    if !status.is_success() {
        let retry_after = parse_retry_after(resp.headers());
        let bytes = read_body(resp, t.idle).await.unwrap_or_default();
        return Err(match upstream.config.protocol {
            Protocol::Openai => openai::errors::map_error(status.as_u16(), retry_after, &bytes),
        });
    }
    if req.is_stream() {
        return Ok(Answer::Stream(ChunkStream {
            body: resp.bytes_stream().boxed(),
            decoder: SseDecoder::default(),
            events: VecDeque::new(),
            scratch: Vec::new(),
            protocol: upstream.config.protocol,
            idle: t.idle,
            finished: false,
            eof: false,
            last_activity: tokio::time::Instant::now(),
        }));
    }
    let bytes = read_body(resp, t.idle).await?;
    match upstream.config.protocol {
        Protocol::Openai => openai::decode::decode(&bytes).map(Answer::Complete),
    }
}

/// Reads a whole body within the idle deadline.
async fn read_body(resp: reqwest::Response, idle: Duration) -> Result<Bytes, ProviderError> {
    match tokio::time::timeout(idle, resp.bytes()).await {
        Err(_) => Err(ProviderError::Timeout(idle)),
        Ok(Err(e)) => Err(ProviderError::from_transport(&e, idle)),
        Ok(Ok(b)) => Ok(b),
    }
}
