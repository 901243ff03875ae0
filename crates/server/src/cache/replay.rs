//! A cache hit delivered: the stored answer under a new generation id, with
//! zero usage and cost, whole or as a stream in the client's dialect.

use std::time::Instant;

use axum::body::Body;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use bytes::BytesMut;
use serde_json::Value;
use switchyard_api::response::Delta;
use switchyard_api::{ChatChunk, ChatResponse, ChunkChoice, Usage};

use super::Entry;
use crate::chat::Draft;
use crate::chat::dialect::Dialect;
use crate::error::GatewayError;

/// Answers from `entry`: records a generation that names its source and
/// charges nothing.
pub fn replay(entry: Entry, draft: &mut Draft, dialect: &dyn Dialect) -> Result<Response, GatewayError> {
    let source = entry.source_id().to_owned();
    let age_secs = (switchyard_store::now_ms() - entry.stored_at_ms).max(0) / 1000;
    let ttl_secs = entry.ttl_secs;
    let mut resp = entry.response;
    draft.model = resp.model.clone();
    draft.cache_source = Some(source.clone());
    draft.first_content = Some(Instant::now());
    // No upstream ran: nothing was used, nothing is charged.
    draft.usage = Some(Usage::default());
    draft.finish = resp.choices.first().and_then(|c| {
        let normalized = c.finish_reason.clone()?;
        Some((normalized.clone(), c.native_finish_reason.clone().unwrap_or(normalized)))
    });
    let (usage, _) = draft.finish(200, None, false);
    resp.id = draft.id.clone();
    resp.created = draft.created;
    resp.usage = Some(usage);
    // The routing explanation was the source request's.
    resp.extra.remove("openrouter_metadata");
    let mut r = if draft.streamed {
        let mut out = BytesMut::new();
        let (content, last) = as_chunks(resp);
        let mut writer = dialect.stream();
        writer.chunk(&content, &mut out);
        writer.finish(&last, &mut out);
        let mut r = Response::new(Body::from(out.freeze()));
        r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
        r
    } else {
        let mut r = Response::new(Body::from(dialect.whole(resp)?));
        r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        r
    };
    let h = r.headers_mut();
    h.insert("x-openrouter-cache-status", HeaderValue::from_static("HIT"));
    h.insert("x-openrouter-cache-ttl", HeaderValue::from(ttl_secs));
    h.insert("x-openrouter-cache-age", HeaderValue::from(age_secs));
    let value = |s: &str| HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static("invalid"));
    h.insert("x-openrouter-cache-source-id", value(&source));
    h.insert("x-generation-id", value(&draft.id));
    Ok(r)
}

/// A whole answer as one content chunk per choice and the usage chunk.
fn as_chunks(resp: ChatResponse) -> (ChatChunk, ChatChunk) {
    let frame = |choices: Vec<ChunkChoice>, usage: Option<Usage>| ChatChunk {
        id: resp.id.clone(),
        object: "chat.completion.chunk".into(),
        created: resp.created,
        model: resp.model.clone(),
        provider: resp.provider.clone(),
        system_fingerprint: resp.system_fingerprint.clone(),
        choices,
        usage,
        ..ChatChunk::default()
    };
    let choices = resp
        .choices
        .iter()
        .map(|c| {
            let m = &c.message;
            ChunkChoice {
                index: c.index,
                delta: Delta {
                    role: Some(m.role.clone()),
                    content: m.content.clone(),
                    reasoning: m.reasoning.clone(),
                    reasoning_details: m.reasoning_details.clone(),
                    tool_calls: m.tool_calls.clone().map(indexed),
                    refusal: m.refusal.clone(),
                    extra: m.extra.clone(),
                },
                finish_reason: c.finish_reason.clone(),
                native_finish_reason: c.native_finish_reason.clone(),
                logprobs: c.logprobs.clone(),
                ..ChunkChoice::default()
            }
        })
        .collect();
    (frame(choices, None), frame(Vec::new(), resp.usage.clone()))
}

/// Stream tool-call deltas carry their position as `index`.
fn indexed(calls: Value) -> Value {
    match calls {
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .enumerate()
                .map(|(i, mut call)| {
                    if let Some(obj) = call.as_object_mut() {
                        obj.entry("index").or_insert(Value::from(i));
                    }
                    call
                })
                .collect(),
        ),
        other => other,
    }
}
