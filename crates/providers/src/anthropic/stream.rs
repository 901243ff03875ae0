//! Anthropic stream events to canonical chunks (OpenAI chunk shape).
//!
//! Unlike OpenAI's, Anthropic's stream needs state: the message id and model
//! arrive once in `message_start`, tool calls are numbered by content-block
//! index rather than by tool, and input usage comes at the start while output
//! usage comes at the end. One event yields zero or more canonical events.

use std::collections::VecDeque;

use serde_json::{Value, json};
use switchyard_api::response::Delta;
use switchyard_api::{ChatChunk, ChunkChoice, Usage};

use super::decode::{finish_reason, unix_now, usage};
use super::errors::from_error_body;
use super::wire::{BlockDelta, ContentBlock, StreamEvent as Wire, WireUsage};
use super::{DecodeOptions, JSON_TOOL, REASONING_FORMAT};
use crate::call::StreamEvent;
use crate::error::ProviderError;
use crate::sse::SseEvent;

/// What an open content block turns into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BlockKind {
    /// Visible text.
    Text,
    /// A client tool call, with its canonical `tool_calls[].index`.
    Tool(u32),
    /// The structured-output tool: its input is streamed as text.
    JsonTool,
    /// Thinking, with its `reasoning_details[].index`.
    Thinking(u32),
    /// Not mapped.
    Other,
}

/// Decoder state for one Anthropic stream.
#[derive(Debug)]
pub struct StreamState {
    opts: DecodeOptions,
    id: String,
    model: String,
    created: u64,
    input: WireUsage,
    /// Content-block index to kind; blocks are few, so a list beats a map.
    blocks: Vec<(u32, BlockKind)>,
    tools: u32,
    reasoning_blocks: u32,
    /// Characters of answer text so far, to place citations.
    text_chars: usize,
    /// Where the open text block began, and its web citations so far.
    cited: (usize, Vec<Value>),
}

impl StreamState {
    /// A decoder for a stream answering a request with these options.
    pub fn new(opts: DecodeOptions) -> StreamState {
        StreamState {
            opts,
            id: String::new(),
            model: String::new(),
            created: 0,
            input: WireUsage::default(),
            blocks: Vec::new(),
            tools: 0,
            reasoning_blocks: 0,
            text_chars: 0,
            cited: (0, Vec::new()),
        }
    }

    /// Decodes one SSE event, appending what it produces to `out`; an `error`
    /// event is a classified [`ProviderError`].
    pub fn decode_event(&mut self, ev: &SseEvent, out: &mut VecDeque<StreamEvent>) -> Result<(), ProviderError> {
        let data = ev.data.trim();
        if data.is_empty() {
            return Ok(());
        }
        let event: Wire = serde_json::from_str(data)
            .map_err(|e| ProviderError::InvalidResponse(format!("undecodable stream event: {e}")))?;
        match event {
            Wire::MessageStart { message } => {
                self.id = message.id;
                self.model = message.model;
                self.input = message.usage;
                self.created = unix_now();
                let delta = Delta { role: Some("assistant".into()), content: Some(String::new()), ..Delta::default() };
                out.push_back(self.chunk(delta, None, None));
            }
            Wire::ContentBlockStart { index, content_block } => self.block_start(index, content_block, out),
            Wire::ContentBlockDelta { index, delta } => self.block_delta(index, delta, out),
            Wire::MessageDelta { delta, usage: u } => {
                let total = usage(self.input.updated_by(u));
                let finish = finish_reason(delta.stop_reason, &self.opts, self.tools > 0);
                out.push_back(self.chunk(Delta::default(), finish, Some(total)));
            }
            Wire::MessageStop => out.push_back(StreamEvent::Done),
            Wire::Error => return Err(from_error_body(200, None, serde_json::from_str(data).ok())),
            Wire::ContentBlockStop { .. } => self.flush_citations(out),
            Wire::Ping | Wire::Unknown => {}
        }
        Ok(())
    }

    fn block_start(&mut self, index: u32, block: ContentBlock, out: &mut VecDeque<StreamEvent>) {
        let kind = match block {
            ContentBlock::Text { text, citations } => {
                self.cited = (self.text_chars, citations.unwrap_or_default());
                if !text.is_empty() {
                    self.text_chars += text.chars().count();
                    out.push_back(self.text(text));
                }
                BlockKind::Text
            }
            ContentBlock::ToolUse { name, .. } if self.opts.json_tool && name == JSON_TOOL => BlockKind::JsonTool,
            ContentBlock::ToolUse { id, name, .. } => {
                let i = self.tools;
                self.tools += 1;
                // id, type and name travel on the first delta of a call only.
                let calls = json!([{"index": i, "id": id, "type": "function",
                    "function": {"name": name, "arguments": ""}}]);
                out.push_back(self.chunk(Delta { tool_calls: Some(calls), ..Delta::default() }, None, None));
                BlockKind::Tool(i)
            }
            ContentBlock::Thinking { thinking, signature } => {
                let k = self.next_reasoning();
                if !thinking.is_empty() {
                    self.thinking(k, thinking, out);
                }
                if !signature.is_empty() {
                    self.signature(k, signature, out);
                }
                BlockKind::Thinking(k)
            }
            ContentBlock::RedactedThinking { data } => {
                let k = self.next_reasoning();
                if !self.opts.exclude_reasoning {
                    let d =
                        json!([{"type": "reasoning.encrypted", "data": data, "format": REASONING_FORMAT, "index": k}]);
                    out.push_back(self.chunk(Delta { reasoning_details: Some(d), ..Delta::default() }, None, None));
                }
                BlockKind::Other
            }
            ContentBlock::Other => BlockKind::Other,
        };
        self.blocks.push((index, kind));
    }

    fn block_delta(&mut self, index: u32, delta: BlockDelta, out: &mut VecDeque<StreamEvent>) {
        let kind = self.blocks.iter().rev().find(|(i, _)| *i == index).map(|(_, k)| *k);
        match (delta, kind) {
            (BlockDelta::TextDelta { text }, _) if !text.is_empty() => {
                self.text_chars += text.chars().count();
                out.push_back(self.text(text));
            }
            (BlockDelta::CitationsDelta { citation }, Some(BlockKind::Text)) => self.cited.1.push(citation),
            // The first fragment is often empty; it carries nothing.
            (BlockDelta::InputJsonDelta { partial_json }, Some(BlockKind::Tool(i))) if !partial_json.is_empty() => {
                let calls = json!([{"index": i, "function": {"arguments": partial_json}}]);
                out.push_back(self.chunk(Delta { tool_calls: Some(calls), ..Delta::default() }, None, None));
            }
            (BlockDelta::InputJsonDelta { partial_json }, Some(BlockKind::JsonTool)) if !partial_json.is_empty() => {
                out.push_back(self.text(partial_json));
            }
            (BlockDelta::ThinkingDelta { thinking }, Some(BlockKind::Thinking(k))) => self.thinking(k, thinking, out),
            (BlockDelta::SignatureDelta { signature }, Some(BlockKind::Thinking(k))) => {
                self.signature(k, signature, out)
            }
            _ => {}
        }
    }

    /// A closed text block's web citations as an `annotations` delta
    /// spanning the block's text.
    fn flush_citations(&mut self, out: &mut VecDeque<StreamEvent>) {
        let (start, citations) = std::mem::take(&mut self.cited);
        let end = self.text_chars;
        let list: Vec<Value> = citations.iter().filter_map(|c| super::web_search::annotation(c, start, end)).collect();
        if !list.is_empty() {
            let mut delta = Delta::default();
            delta.extra.insert("annotations".into(), Value::Array(list));
            out.push_back(self.chunk(delta, None, None));
        }
    }

    fn next_reasoning(&mut self) -> u32 {
        self.reasoning_blocks += 1;
        self.reasoning_blocks - 1
    }

    fn text(&self, text: String) -> StreamEvent {
        self.chunk(Delta { content: Some(text), ..Delta::default() }, None, None)
    }

    /// A thinking fragment as `reasoning` plus its `reasoning_details` piece.
    fn thinking(&self, k: u32, text: String, out: &mut VecDeque<StreamEvent>) {
        if self.opts.exclude_reasoning || text.is_empty() {
            return;
        }
        let d = json!([{"type": "reasoning.text", "text": text, "format": REASONING_FORMAT, "index": k}]);
        let delta = Delta { reasoning: Some(text), reasoning_details: Some(d), ..Delta::default() };
        out.push_back(self.chunk(delta, None, None));
    }

    /// The signature the client must send back with the thinking text.
    fn signature(&self, k: u32, signature: String, out: &mut VecDeque<StreamEvent>) {
        if self.opts.exclude_reasoning {
            return;
        }
        let d: Value =
            json!([{"type": "reasoning.text", "signature": signature, "format": REASONING_FORMAT, "index": k}]);
        out.push_back(self.chunk(Delta { reasoning_details: Some(d), ..Delta::default() }, None, None));
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
