//! Cohere v2 stream events to canonical chunks (OpenAI chunk shape).
//!
//! Each event's JSON carries its `type` (`message-start`, `content-delta`,
//! `tool-call-start`...); the SSE `event:` name is only a fallback for JSON
//! without one. `data: [DONE]` is accepted, data that is not JSON is
//! skipped as the Cohere SDK does, and one event holding several JSON lines
//! (newline-delimited framing) is read line by line. The id arrives once in
//! `message-start`; tool calls are renumbered in order of appearance, with
//! id, type and name on their first delta only. `tool-plan-delta` and
//! thinking deltas stream as `reasoning`. `message-end` yields a chunk with
//! an empty delta, the raw finish reason and the usage, then
//! [`StreamEvent::Done`]; its `error`, or an error object in the stream, is
//! a classified [`ProviderError`].

use std::collections::VecDeque;

use serde_json::{Map, Value, json};
use switchyard_api::response::Delta;
use switchyard_api::{ChatChunk, ChunkChoice, Usage};

use super::decode::{ItemKind, item_kind, usage};
use super::errors::{from_error_body, from_message};
use super::unix_now;
use super::wire::{MessageEndDelta, StreamEvent as Wire, WireToolCall};
use crate::call::StreamEvent;
use crate::error::ProviderError;
use crate::sse::SseEvent;

/// Decoder state for one Cohere stream.
#[derive(Debug)]
pub struct StreamState {
    id: String,
    created: u64,
    /// Cohere tool-call index to canonical `tool_calls[].index`; calls are
    /// few, so a list beats a map.
    tools: Vec<(u32, u32)>,
    done: bool,
}

impl Default for StreamState {
    fn default() -> Self {
        StreamState::new()
    }
}

impl StreamState {
    /// A decoder for a new stream.
    pub fn new() -> StreamState {
        StreamState { id: String::new(), created: unix_now(), tools: Vec::new(), done: false }
    }

    /// Decodes one SSE event, appending what it produces to `out`; a failure
    /// reported by the stream is a classified [`ProviderError`].
    pub fn decode_event(&mut self, ev: &SseEvent, out: &mut VecDeque<StreamEvent>) -> Result<(), ProviderError> {
        let data = ev.data.trim();
        if data.is_empty() {
            return Ok(());
        }
        if let Ok(v) = serde_json::from_str::<Value>(data) {
            return self.decode_value(v, ev.event.as_deref(), out);
        }
        for line in data.lines().map(str::trim) {
            if line == "[DONE]" {
                self.finish(out);
            } else if let Ok(v) = serde_json::from_str::<Value>(line) {
                self.decode_value(v, None, out)?;
            }
        }
        Ok(())
    }

    fn decode_value(
        &mut self,
        v: Value,
        name: Option<&str>,
        out: &mut VecDeque<StreamEvent>,
    ) -> Result<(), ProviderError> {
        let Value::Object(mut obj) = v else { return Ok(()) };
        let kind = obj.get("type").and_then(Value::as_str).or(name).map(str::to_owned);
        match kind.as_deref() {
            Some("error") => return Err(from_error_body(200, None, Some(Value::Object(obj)))),
            None if is_error(&obj) => return Err(from_error_body(200, None, Some(Value::Object(obj)))),
            None => return Ok(()),
            Some(k) if !obj.contains_key("type") => {
                obj.insert("type".into(), Value::String(k.to_owned()));
            }
            Some(_) => {}
        }
        let event: Wire = serde_json::from_value(Value::Object(obj))
            .map_err(|e| ProviderError::InvalidResponse(format!("undecodable stream event: {e}")))?;
        match event {
            Wire::MessageStart { id } => {
                self.id = id;
                let delta = Delta { role: Some("assistant".into()), content: Some(String::new()), ..Delta::default() };
                out.push_back(self.chunk(delta, None, None));
            }
            Wire::ContentStart { delta } | Wire::ContentDelta { delta } => match item_kind(delta.message.content) {
                ItemKind::Text(t) if !t.is_empty() => {
                    out.push_back(self.chunk(Delta { content: Some(t), ..Delta::default() }, None, None));
                }
                ItemKind::Thinking(t) => self.reasoning(t, out),
                _ => {}
            },
            Wire::ToolPlanDelta { delta } => self.reasoning(delta.message.tool_plan, out),
            Wire::ToolCallStart { index, delta } => self.tool_start(index, delta.message.tool_calls, out),
            Wire::ToolCallDelta { index, delta } => self.tool_delta(index, delta.message.tool_calls, out),
            Wire::MessageEnd { delta } => self.end(delta, out)?,
            Wire::Other => {}
        }
        Ok(())
    }

    /// A call opens: id, type and name travel on its first delta only.
    fn tool_start(&mut self, index: u32, call: WireToolCall, out: &mut VecDeque<StreamEvent>) {
        let i = self.tools.len() as u32;
        self.tools.push((index, i));
        let f = call.function.unwrap_or_default();
        let calls = json!([{"index": i, "id": call.id.unwrap_or_default(), "type": "function",
            "function": {"name": f.name.unwrap_or_default(), "arguments": f.arguments.unwrap_or_default()}}]);
        out.push_back(self.chunk(Delta { tool_calls: Some(calls), ..Delta::default() }, None, None));
    }

    /// An arguments fragment of an open call (a call never opened gets the
    /// next index, so its fragments are at least kept together).
    fn tool_delta(&mut self, index: u32, call: WireToolCall, out: &mut VecDeque<StreamEvent>) {
        let Some(args) = call.function.and_then(|f| f.arguments).filter(|a| !a.is_empty()) else { return };
        let i = match self.tools.iter().rev().find(|(c, _)| *c == index) {
            Some((_, i)) => *i,
            None => {
                let i = self.tools.len() as u32;
                self.tools.push((index, i));
                i
            }
        };
        let calls = json!([{"index": i, "function": {"arguments": args}}]);
        out.push_back(self.chunk(Delta { tool_calls: Some(calls), ..Delta::default() }, None, None));
    }

    /// The finish chunk (empty delta, raw reason, usage) and the end, or the
    /// failure that cut generation short.
    fn end(&mut self, delta: MessageEndDelta, out: &mut VecDeque<StreamEvent>) -> Result<(), ProviderError> {
        if let Some(err) = delta.error.filter(|e| !e.is_empty()) {
            let raw = json!({"type": "message-end", "delta": {"finish_reason": delta.finish_reason, "error": err}});
            return Err(from_message(200, err, Some(raw)));
        }
        out.push_back(self.chunk(Delta::default(), delta.finish_reason, delta.usage.map(usage)));
        self.finish(out);
        Ok(())
    }

    fn finish(&mut self, out: &mut VecDeque<StreamEvent>) {
        if !self.done {
            self.done = true;
            out.push_back(StreamEvent::Done);
        }
    }

    fn reasoning(&self, text: String, out: &mut VecDeque<StreamEvent>) {
        if !text.is_empty() {
            out.push_back(self.chunk(Delta { reasoning: Some(text), ..Delta::default() }, None, None));
        }
    }

    fn chunk(&self, delta: Delta, finish_reason: Option<String>, usage: Option<Usage>) -> StreamEvent {
        StreamEvent::Chunk(Box::new(ChatChunk {
            id: self.id.clone(),
            object: "chat.completion.chunk".into(),
            created: self.created,
            choices: vec![ChunkChoice { delta, finish_reason, ..ChunkChoice::default() }],
            usage,
            ..ChatChunk::default()
        }))
    }
}

/// An error object rather than an event: a `message` (or `error`) string
/// and no delta.
fn is_error(obj: &Map<String, Value>) -> bool {
    !obj.contains_key("delta") && ["message", "error"].iter().any(|k| obj.get(*k).is_some_and(Value::is_string))
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
