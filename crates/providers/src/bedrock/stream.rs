//! ConverseStream events (already unframed by [`super::eventstream`]) to
//! canonical chunks (OpenAI chunk shape).
//!
//! Dispatch is on `:message-type`, then `:event-type`. Tool calls are
//! numbered in order of their `contentBlockStart`; the stop reason arrives in
//! `messageStop` but usage only in the `metadata` event after it, so the
//! final chunk (raw `finish_reason` plus usage) and [`StreamEvent::Done`] are
//! emitted on `metadata`.

use std::collections::VecDeque;

use serde_json::json;
use switchyard_api::response::Delta;
use switchyard_api::{ChatChunk, ChunkChoice, Usage};

use super::REASONING_FORMAT;
use super::decode::{unix_now, usage};
use super::errors::from_stream_message;
use super::eventstream::Message;
use super::wire::{ContentBlock, StreamPayload};
use crate::call::StreamEvent;
use crate::error::ProviderError;

/// Decoder state for one ConverseStream.
#[derive(Debug)]
pub struct StreamState {
    created: u64,
    /// Content-block index to canonical `tool_calls[].index`.
    tools: Vec<(u32, u32)>,
    /// Content-block index to `reasoning_details[].index`.
    reasoning: Vec<(u32, u32)>,
    stop_reason: Option<String>,
    done: bool,
}

impl Default for StreamState {
    fn default() -> Self {
        StreamState::new()
    }
}

impl StreamState {
    /// A decoder for a new stream.
    pub fn new() -> Self {
        StreamState { created: unix_now(), tools: Vec::new(), reasoning: Vec::new(), stop_reason: None, done: false }
    }

    /// True once `metadata` (the last event) has been seen.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Decodes one message, appending what it produces to `out`; exception
    /// and error messages are classified [`ProviderError`]s.
    pub fn decode_message(&mut self, msg: &Message, out: &mut VecDeque<StreamEvent>) -> Result<(), ProviderError> {
        match msg.header_str(":message-type") {
            Some("event") | None => {}
            Some("exception" | "error") => return Err(from_stream_message(msg)),
            Some(_) => return Ok(()),
        }
        let Some(event) = msg.header_str(":event-type") else { return Ok(()) };
        let known =
            matches!(event, "messageStart" | "contentBlockStart" | "contentBlockDelta" | "messageStop" | "metadata");
        if !known {
            return Ok(()); // contentBlockStop and future events carry nothing we map
        }
        let p: StreamPayload = serde_json::from_slice(&msg.payload)
            .map_err(|e| ProviderError::InvalidResponse(format!("undecodable `{event}` event: {e}")))?;
        match event {
            "messageStart" => {
                let delta = Delta { role: Some("assistant".into()), content: Some(String::new()), ..Delta::default() };
                out.push_back(self.chunk(delta, None, None));
            }
            "contentBlockStart" => {
                if let Some(tu) = p.start.and_then(|s| s.tool_use) {
                    let i = self.tool_index(p.content_block_index);
                    // id, type and name travel on the first delta of a call only.
                    let calls = json!([{"index": i, "id": tu.tool_use_id, "type": "function",
                        "function": {"name": tu.name, "arguments": ""}}]);
                    out.push_back(self.chunk(Delta { tool_calls: Some(calls), ..Delta::default() }, None, None));
                }
            }
            "contentBlockDelta" => {
                if let Some(d) = p.delta {
                    self.block_delta(p.content_block_index, d, out);
                }
            }
            "messageStop" => self.stop_reason = p.stop_reason,
            _ => {
                let total = usage(p.usage.unwrap_or_default());
                let finish = self.stop_reason.take();
                out.push_back(self.chunk(Delta::default(), finish, Some(total)));
                out.push_back(StreamEvent::Done);
                self.done = true;
            }
        }
        Ok(())
    }

    fn block_delta(&mut self, block: u32, d: ContentBlock, out: &mut VecDeque<StreamEvent>) {
        if let Some(text) = d.text.filter(|t| !t.is_empty()) {
            out.push_back(self.chunk(Delta { content: Some(text), ..Delta::default() }, None, None));
        }
        if let Some(tu) = d.tool_use {
            // The input arrives as fragments of a JSON text.
            let fragment = match tu.input {
                serde_json::Value::String(s) => s,
                serde_json::Value::Null => String::new(),
                other => super::decode::compact(&other),
            };
            if !fragment.is_empty() {
                let i = self.tool_index(block);
                let calls = json!([{"index": i, "function": {"arguments": fragment}}]);
                out.push_back(self.chunk(Delta { tool_calls: Some(calls), ..Delta::default() }, None, None));
            }
        }
        if let Some(rc) = d.reasoning_content {
            let k = self.reasoning_index(block);
            if let Some(text) = rc.text.filter(|t| !t.is_empty()) {
                let det = json!([{"type": "reasoning.text", "text": text, "format": REASONING_FORMAT, "index": k}]);
                let delta = Delta { reasoning: Some(text), reasoning_details: Some(det), ..Delta::default() };
                out.push_back(self.chunk(delta, None, None));
            }
            if let Some(sig) = rc.signature {
                let det = json!([{"type": "reasoning.text", "signature": sig, "format": REASONING_FORMAT, "index": k}]);
                out.push_back(self.chunk(Delta { reasoning_details: Some(det), ..Delta::default() }, None, None));
            }
            if let Some(data) = rc.redacted_content {
                let det =
                    json!([{"type": "reasoning.encrypted", "data": data, "format": REASONING_FORMAT, "index": k}]);
                out.push_back(self.chunk(Delta { reasoning_details: Some(det), ..Delta::default() }, None, None));
            }
        }
    }

    /// The canonical index of the tool call in a content block, assigning
    /// the next one on first sight.
    fn tool_index(&mut self, block: u32) -> u32 {
        next_index(&mut self.tools, block)
    }

    fn reasoning_index(&mut self, block: u32) -> u32 {
        next_index(&mut self.reasoning, block)
    }

    fn chunk(&self, delta: Delta, finish_reason: Option<String>, usage: Option<Usage>) -> StreamEvent {
        StreamEvent::Chunk(Box::new(ChatChunk {
            object: "chat.completion.chunk".into(),
            created: self.created,
            choices: vec![ChunkChoice { delta, finish_reason, ..ChunkChoice::default() }],
            usage,
            ..ChatChunk::default()
        }))
    }
}

fn next_index(map: &mut Vec<(u32, u32)>, block: u32) -> u32 {
    if let Some((_, i)) = map.iter().find(|(b, _)| *b == block) {
        return *i;
    }
    let i = map.len() as u32;
    map.push((block, i));
    i
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
