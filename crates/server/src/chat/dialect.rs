//! The seam between the chat pipeline and the API a client speaks.
//!
//! Every inference API (Chat Completions, Responses, Anthropic Messages,
//! legacy completions) runs the same pipeline on a canonical
//! [`ChatRequest`](switchyard_api::ChatRequest); a [`Dialect`] only decides
//! how its answer, its stream events and its errors are written. The stream
//! writer gets the pipeline's chunks as values, so no dialect re-parses JSON.

use axum::response::{IntoResponse, Response};
use bytes::{BufMut, Bytes, BytesMut};
use switchyard_api::{ChatChunk, ChatResponse};

use crate::error::GatewayError;

/// How one inbound API writes what the chat pipeline produced.
pub trait Dialect: Send + Sync + 'static {
    /// The body of a whole (non-streamed) answer.
    fn whole(&self, resp: ChatResponse) -> Result<Bytes, GatewayError>;

    /// A writer for one streamed answer.
    fn stream(&self) -> Box<dyn StreamWriter>;

    /// The response for a request that failed before anything was sent.
    fn error(&self, e: GatewayError) -> Response {
        e.into_response()
    }
}

/// Writes one streamed answer's events, in order.
pub trait StreamWriter: Send + 'static {
    /// One chunk of the answer, already in OpenRouter's shape (id, model,
    /// provider stamped; finish reasons normalized). A chunk with `error`
    /// set reports a failure after streaming began; [`StreamWriter::finish`]
    /// still follows it.
    fn chunk(&mut self, chunk: &ChatChunk, out: &mut BytesMut);

    /// The end of the stream: `last` carries no choices, only the final
    /// usage (and the routing metadata when asked for).
    fn finish(&mut self, last: &ChatChunk, out: &mut BytesMut);
}

/// OpenRouter's own Chat Completions shape.
pub struct ChatCompletions;

impl Dialect for ChatCompletions {
    fn whole(&self, resp: ChatResponse) -> Result<Bytes, GatewayError> {
        serde_json::to_vec(&resp).map(Bytes::from).map_err(|e| GatewayError::Internal(e.to_string()))
    }

    fn stream(&self) -> Box<dyn StreamWriter> {
        Box::new(ChunkEvents)
    }
}

/// `data: {chunk}` per chunk, then the usage chunk and `data: [DONE]`.
struct ChunkEvents;

impl StreamWriter for ChunkEvents {
    fn chunk(&mut self, chunk: &ChatChunk, out: &mut BytesMut) {
        sse_data(chunk, out);
    }

    fn finish(&mut self, last: &ChatChunk, out: &mut BytesMut) {
        sse_data(last, out);
        out.put_slice(b"data: [DONE]\n\n");
    }
}

/// Appends `data: <json>\n\n`.
pub fn sse_data<T: serde::Serialize>(value: &T, out: &mut BytesMut) {
    out.put_slice(b"data: ");
    json_into(value, out);
    out.put_slice(b"\n\n");
}

/// Appends `event: <name>\ndata: <json>\n\n`, the named-event form the
/// Responses and Messages APIs use.
pub fn sse_event<T: serde::Serialize>(name: &str, value: &T, out: &mut BytesMut) {
    out.put_slice(b"event: ");
    out.put_slice(name.as_bytes());
    out.put_slice(b"\ndata: ");
    json_into(value, out);
    out.put_slice(b"\n\n");
}

fn json_into<T: serde::Serialize>(value: &T, out: &mut BytesMut) {
    let start = out.len();
    // Values built from strings and numbers always serialise; should one
    // not, the event still parses.
    if serde_json::to_writer((&mut *out).writer(), value).is_err() {
        out.truncate(start);
        out.put_slice(b"{}");
    }
}
