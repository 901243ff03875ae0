//! Gemini `streamGenerateContent?alt=sse` chunks to canonical chunks (OpenAI
//! chunk shape).
//!
//! Every SSE `data:` is a whole `GenerateContentResponse` holding only the
//! new parts. Function calls arrive whole, so each becomes one `tool_calls`
//! delta with its full arguments. There is no `[DONE]`: the chunk carrying
//! `finishReason` (or a prompt block) ends the stream, so it yields the
//! finish chunk with usage and then [`StreamEvent::Done`].

use std::collections::VecDeque;

use serde_json::{Value, json};
use switchyard_api::response::Delta;
use switchyard_api::{ChatChunk, ChunkChoice, Usage};

use super::REASONING_FORMAT;
use super::decode::{ReasoningIndex, call_id, call_signature, tool_call, usage};
use super::errors::in_band;
use super::wire::{Response, ResponsePart, UsageMetadata};
use crate::anthropic::decode::unix_now;
use crate::call::StreamEvent;
use crate::error::ProviderError;
use crate::sse::SseEvent;

/// Decoder state for one Gemini stream.
#[derive(Debug, Default)]
pub struct StreamState {
    id: String,
    model: String,
    created: u64,
    started: bool,
    finished: bool,
    /// Tool calls so far: the canonical `tool_calls[].index` of the next one.
    tools: u32,
    reasoning: ReasoningIndex,
    /// The latest running usage.
    usage: Option<UsageMetadata>,
    /// Answer text so far, to place grounding citations in it.
    text: String,
}

impl StreamState {
    /// A decoder for a new stream.
    pub fn new() -> StreamState {
        StreamState::default()
    }

    /// Decodes one SSE event, appending what it produces to `out`; an
    /// `{"error": ...}` event is a classified [`ProviderError`]. Events after
    /// the finishing chunk are ignored.
    pub fn decode_event(&mut self, ev: &SseEvent, out: &mut VecDeque<StreamEvent>) -> Result<(), ProviderError> {
        let data = ev.data.trim();
        if data.is_empty() || self.finished {
            return Ok(());
        }
        if data == "[DONE]" {
            self.finished = true;
            out.push_back(StreamEvent::Done);
            return Ok(());
        }
        let chunk: Response = serde_json::from_str(data)
            .map_err(|e| ProviderError::InvalidResponse(format!("undecodable stream chunk: {e}")))?;
        if let Some(err) = chunk.error {
            return Err(in_band(err));
        }
        if self.id.is_empty()
            && let Some(id) = chunk.response_id
        {
            self.id = id;
        }
        if self.model.is_empty()
            && let Some(model) = chunk.model_version
        {
            self.model = model;
        }
        if !self.started {
            self.started = true;
            self.created = unix_now();
            let delta = Delta { role: Some("assistant".into()), content: Some(String::new()), ..Delta::default() };
            out.push_back(self.chunk(delta, None, None));
        }
        if chunk.usage_metadata.is_some() {
            self.usage = chunk.usage_metadata;
        }
        let finish = match chunk.candidates.into_iter().next() {
            Some(cand) => {
                for part in cand.content.map(|c| c.parts).unwrap_or_default() {
                    self.part(part, out);
                }
                if let Some(meta) = &cand.grounding_metadata {
                    let list = super::grounding::annotations(meta, &self.text);
                    if !list.is_empty() {
                        let mut delta = Delta::default();
                        delta.extra.insert("annotations".into(), Value::Array(list));
                        out.push_back(self.chunk(delta, None, None));
                    }
                }
                cand.finish_reason
            }
            None => chunk.prompt_feedback.and_then(|f| f.block_reason),
        };
        if let Some(reason) = finish {
            out.push_back(self.chunk(Delta::default(), Some(reason), self.usage.map(usage)));
            out.push_back(StreamEvent::Done);
            self.finished = true;
        }
        Ok(())
    }

    fn part(&mut self, part: ResponsePart, out: &mut VecDeque<StreamEvent>) {
        let sig = part.thought_signature;
        if let Some(call) = part.function_call {
            let i = self.tools;
            self.tools += 1;
            let id = call_id(&call, &self.id, i);
            match sig {
                Some(sig) => {
                    let d = call_signature(sig, &id, self.reasoning.fresh());
                    out.push_back(self.details(json!([d]), None));
                }
                None => self.reasoning.close(),
            }
            let mut call = tool_call(call, id);
            call["index"] = json!(i);
            out.push_back(self.chunk(Delta { tool_calls: Some(json!([call])), ..Delta::default() }, None, None));
            return;
        }
        let text = part.text.unwrap_or_default();
        if part.thought {
            let k = self.reasoning.thought();
            let mut d = json!({"type": "reasoning.text", "format": REASONING_FORMAT, "index": k});
            if !text.is_empty() {
                d["text"] = Value::String(text.clone());
            }
            if let Some(sig) = sig {
                d["signature"] = Value::String(sig);
            } else if text.is_empty() {
                return;
            }
            let reasoning = (!text.is_empty()).then_some(text);
            out.push_back(self.details(json!([d]), reasoning));
            return;
        }
        if !text.is_empty() {
            self.text.push_str(&text);
            out.push_back(self.chunk(Delta { content: Some(text), ..Delta::default() }, None, None));
        }
        match sig {
            // The signature of the thinking this text follows.
            Some(sig) => {
                let k = self.reasoning.text_signature();
                let d = json!([{"type": "reasoning.text", "signature": sig, "format": REASONING_FORMAT, "index": k}]);
                out.push_back(self.details(d, None));
            }
            None => self.reasoning.close(),
        }
    }

    /// A `reasoning_details` chunk, with the matching `reasoning` text.
    fn details(&self, details: Value, reasoning: Option<String>) -> StreamEvent {
        self.chunk(Delta { reasoning, reasoning_details: Some(details), ..Delta::default() }, None, None)
    }

    fn chunk(&self, delta: Delta, finish_reason: Option<String>, usage: Option<Usage>) -> StreamEvent {
        StreamEvent::Chunk(Box::new(ChatChunk {
            id: self.id.clone(),
            object: "chat.completion.chunk".into(),
            created: self.created,
            model: self.model.clone(),
            choices: vec![ChunkChoice { delta, finish_reason, ..ChunkChoice::default() }],
            usage,
            ..ChatChunk::default()
        }))
    }
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
