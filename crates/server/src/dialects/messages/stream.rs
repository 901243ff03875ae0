//! Canonical chunks as Anthropic's event sequence: `message_start`, then per
//! content block `content_block_start` / `content_block_delta` /
//! `content_block_stop` (a new block whenever the kind changes, one per tool
//! call), then `message_delta` with the stop reason and usage, and
//! `message_stop`. A failure after the start is an `error` event, which ends
//! the stream, as with Anthropic.

use bytes::BytesMut;
use serde_json::Value;
use switchyard_api::messages::{
    BlockDelta, MessageDeltaBody, MessagesResponse, MessagesUsage, OutputBlock, StreamEvent,
};
use switchyard_api::{ChatChunk, ChunkChoice};

use super::answer::{stop_reason, stop_sequence, usage};
use super::errors::error_object;
use crate::chat::dialect::{StreamWriter, sse_event};

/// The kind of the open content block.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Open {
    Text,
    Thinking,
    /// A tool call, by its canonical `tool_calls[].index`.
    Tool(u64),
}

/// Writer state for one streamed answer.
pub struct MessageEvents {
    stops: Vec<String>,
    started: bool,
    failed: bool,
    /// The open block and its index.
    open: Option<(Open, u32)>,
    next_index: u32,
    stop_reason: Option<String>,
}

impl MessageEvents {
    /// A writer; `stops` are the request's stop sequences.
    pub fn new(stops: Vec<String>) -> MessageEvents {
        MessageEvents { stops, started: false, failed: false, open: None, next_index: 0, stop_reason: None }
    }

    fn emit(&self, event: &StreamEvent, out: &mut BytesMut) {
        sse_event(event.name(), event, out);
    }

    fn start(&mut self, chunk: &ChatChunk, out: &mut BytesMut) {
        if self.started {
            return;
        }
        self.started = true;
        let message = Box::new(MessagesResponse {
            id: chunk.id.clone(),
            kind: "message".into(),
            role: "assistant".into(),
            model: chunk.model.clone(),
            content: Vec::new(),
            stop_reason: None,
            stop_sequence: None,
            // Usage is known only at the end: the counts go in message_delta.
            usage: MessagesUsage { service_tier: Some("standard".into()), ..MessagesUsage::default() },
            provider: chunk.provider.clone(),
        });
        self.emit(&StreamEvent::MessageStart { message }, out);
    }

    fn close(&mut self, out: &mut BytesMut) {
        if let Some((_, index)) = self.open.take() {
            self.emit(&StreamEvent::ContentBlockStop { index }, out);
        }
    }

    /// Opens a block of `kind` unless one is open; its index.
    fn ensure(&mut self, kind: Open, block: impl FnOnce() -> OutputBlock, out: &mut BytesMut) -> u32 {
        if let Some((open, index)) = &self.open
            && *open == kind
        {
            return *index;
        }
        self.close(out);
        let index = self.next_index;
        self.next_index += 1;
        self.emit(&StreamEvent::ContentBlockStart { index, content_block: block() }, out);
        self.open = Some((kind, index));
        index
    }

    fn delta(&self, index: u32, delta: BlockDelta, out: &mut BytesMut) {
        self.emit(&StreamEvent::ContentBlockDelta { index, delta }, out);
    }

    fn thinking(&mut self, text: String, out: &mut BytesMut) {
        let index = self.ensure(Open::Thinking, empty_thinking, out);
        self.delta(index, BlockDelta::ThinkingDelta { thinking: text }, out);
    }

    fn choice(&mut self, c: &ChunkChoice, out: &mut BytesMut) {
        let d = &c.delta;
        let details: &[Value] = d.reasoning_details.as_ref().and_then(Value::as_array).map_or(&[], Vec::as_slice);
        let field = |v: &'_ Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
        // The reasoning text travels twice (as `reasoning` and in the
        // details) from some upstreams: the plain field wins.
        match d.reasoning.as_ref().filter(|r| !r.is_empty()) {
            Some(r) => self.thinking(r.clone(), out),
            None => {
                for item in details {
                    let text = match item.get("type").and_then(Value::as_str) {
                        Some("reasoning.text") => field(item, "text"),
                        Some("reasoning.summary") => field(item, "summary"),
                        _ => None,
                    };
                    if let Some(t) = text.filter(|t| !t.is_empty()) {
                        self.thinking(t, out);
                    }
                }
            }
        }
        for item in details {
            if let Some(sig) = field(item, "signature").filter(|s| !s.is_empty()) {
                let index = self.ensure(Open::Thinking, empty_thinking, out);
                self.delta(index, BlockDelta::SignatureDelta { signature: sig }, out);
            }
            if item.get("type").and_then(Value::as_str) == Some("reasoning.encrypted")
                && let Some(data) = field(item, "data")
            {
                // Redacted thinking is one block with no deltas.
                self.close(out);
                let index = self.next_index;
                self.next_index += 1;
                self.emit(
                    &StreamEvent::ContentBlockStart { index, content_block: OutputBlock::RedactedThinking { data } },
                    out,
                );
                self.emit(&StreamEvent::ContentBlockStop { index }, out);
            }
        }
        for text in [&d.content, &d.refusal].into_iter().flatten().filter(|t| !t.is_empty()) {
            let index = self.ensure(Open::Text, || OutputBlock::Text { text: String::new() }, out);
            self.delta(index, BlockDelta::TextDelta { text: text.clone() }, out);
        }
        for call in d.tool_calls.as_ref().and_then(Value::as_array).into_iter().flatten() {
            self.tool_call(call, out);
        }
        if let Some(finish) = &c.finish_reason {
            self.stop_reason = stop_reason(Some(finish), c.native_finish_reason.as_deref());
        }
    }

    /// A tool-call fragment: its first (with `id` and name) opens a
    /// `tool_use` block, argument fragments are `input_json_delta`s.
    fn tool_call(&mut self, call: &Value, out: &mut BytesMut) {
        let k = call.get("index").and_then(Value::as_u64).unwrap_or(0);
        let f = call.get("function");
        let s = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_owned();
        let is_open = matches!(&self.open, Some((Open::Tool(i), _)) if *i == k);
        if !is_open {
            let Some(id) = call.get("id").and_then(Value::as_str) else {
                // Arguments of a call whose block has closed: Anthropic
                // blocks cannot reopen, and upstreams stream calls in turn.
                tracing::debug!(index = k, "tool-call fragment after its block closed");
                return;
            };
            let name = s(f.and_then(|f| f.get("name")));
            let block =
                || OutputBlock::ToolUse { id: id.to_owned(), name, input: Value::Object(serde_json::Map::new()) };
            self.ensure(Open::Tool(k), block, out);
        }
        let args = s(f.and_then(|f| f.get("arguments")));
        if let (false, Some((_, index))) = (args.is_empty(), &self.open) {
            self.delta(*index, BlockDelta::InputJsonDelta { partial_json: args }, out);
        }
    }
}

fn empty_thinking() -> OutputBlock {
    OutputBlock::Thinking { thinking: String::new(), signature: String::new() }
}

impl StreamWriter for MessageEvents {
    fn chunk(&mut self, chunk: &ChatChunk, out: &mut BytesMut) {
        if self.failed {
            return;
        }
        if let Some(e) = &chunk.error {
            self.failed = true;
            self.emit(&StreamEvent::Error { error: error_object(e) }, out);
            return;
        }
        self.start(chunk, out);
        for c in chunk.choices.iter().filter(|c| c.index == 0) {
            self.choice(c, out);
        }
    }

    fn finish(&mut self, last: &ChatChunk, out: &mut BytesMut) {
        if self.failed {
            return;
        }
        self.start(last, out);
        self.close(out);
        let stop_sequence = stop_sequence(self.stop_reason.as_deref(), &self.stops);
        let delta = MessageDeltaBody { stop_reason: self.stop_reason.take(), stop_sequence };
        let usage = usage(&last.usage.clone().unwrap_or_default());
        self.emit(&StreamEvent::MessageDelta { delta, usage }, out);
        self.emit(&StreamEvent::MessageStop, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn chunk(v: Value) -> ChatChunk {
        let mut base = json!({"id": "gen-9", "model": "m/x", "provider": "P"});
        base.as_object_mut().unwrap().extend(v.as_object().unwrap().clone());
        serde_json::from_value(base).unwrap()
    }

    fn delta(d: Value) -> ChatChunk {
        chunk(json!({"choices": [{"index": 0, "delta": d}]}))
    }

    /// The events written, as (name, data) pairs; each `data.type` must equal its name.
    fn events(bytes: &[u8]) -> Vec<Value> {
        let text = std::str::from_utf8(bytes).unwrap();
        text.split("\n\n")
            .filter(|b| !b.is_empty())
            .map(|b| {
                let mut lines = b.lines();
                let name = lines.next().unwrap().strip_prefix("event: ").unwrap();
                let data: Value = serde_json::from_str(lines.next().unwrap().strip_prefix("data: ").unwrap()).unwrap();
                assert_eq!(data["type"], name);
                data
            })
            .collect()
    }

    fn kinds(evs: &[Value]) -> Vec<String> {
        evs.iter()
            .map(|e| match (e["type"].as_str().unwrap(), e.get("index")) {
                (t, Some(i)) => format!("{t}:{i}"),
                (t, None) => t.to_owned(),
            })
            .collect()
    }

    #[test]
    fn thinking_text_and_two_tool_calls_make_four_blocks() {
        let mut w = MessageEvents::new(vec![]);
        let mut out = BytesMut::new();
        w.chunk(&delta(json!({"role": "assistant", "content": ""})), &mut out);
        w.chunk(&delta(json!({"reasoning": "Think", "reasoning_details": [{"type": "reasoning.text", "text": "Think", "index": 0}]})), &mut out);
        w.chunk(
            &delta(json!({"reasoning_details": [{"type": "reasoning.text", "signature": "SIG", "index": 0}]})),
            &mut out,
        );
        w.chunk(&delta(json!({"content": "Hi"})), &mut out);
        w.chunk(&delta(json!({"tool_calls": [{"index": 0, "id": "c1", "type": "function", "function": {"name": "f", "arguments": ""}}]})), &mut out);
        w.chunk(&delta(json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"a\":"}}]})), &mut out);
        w.chunk(&delta(json!({"tool_calls": [{"index": 0, "function": {"arguments": "1}"}}]})), &mut out);
        w.chunk(
            &delta(json!({"tool_calls": [{"index": 1, "id": "c2", "function": {"name": "g", "arguments": "{}"}}]})),
            &mut out,
        );
        w.chunk(&chunk(json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls", "native_finish_reason": "tool_calls"}]})), &mut out);
        w.finish(&chunk(json!({"choices": [], "usage": {"prompt_tokens": 12, "completion_tokens": 9, "total_tokens": 21, "cost": 0.1}})), &mut out);
        let evs = events(&out);
        assert_eq!(
            kinds(&evs),
            [
                "message_start",
                "content_block_start:0",
                "content_block_delta:0",
                "content_block_delta:0",
                "content_block_stop:0",
                "content_block_start:1",
                "content_block_delta:1",
                "content_block_stop:1",
                "content_block_start:2",
                "content_block_delta:2",
                "content_block_delta:2",
                "content_block_stop:2",
                "content_block_start:3",
                "content_block_delta:3",
                "content_block_stop:3",
                "message_delta",
                "message_stop"
            ]
        );
        assert_eq!(evs[0]["message"]["id"], "gen-9");
        assert_eq!(evs[0]["message"]["usage"]["input_tokens"], 0);
        assert_eq!(evs[1]["content_block"], json!({"type": "thinking", "thinking": "", "signature": ""}));
        assert_eq!(evs[2]["delta"], json!({"type": "thinking_delta", "thinking": "Think"}));
        assert_eq!(evs[3]["delta"], json!({"type": "signature_delta", "signature": "SIG"}));
        assert_eq!(evs[6]["delta"], json!({"type": "text_delta", "text": "Hi"}));
        assert_eq!(evs[8]["content_block"], json!({"type": "tool_use", "id": "c1", "name": "f", "input": {}}));
        assert_eq!(evs[10]["delta"], json!({"type": "input_json_delta", "partial_json": "1}"}));
        assert_eq!(evs[15]["delta"], json!({"stop_reason": "tool_use", "stop_sequence": null}));
        assert_eq!(evs[15]["usage"]["input_tokens"], 12);
        assert_eq!(evs[15]["usage"]["output_tokens"], 9);
        assert_eq!(evs[15]["usage"]["cost"], 0.1);
    }

    #[test]
    fn a_failure_is_one_error_event_and_ends_the_stream() {
        let mut w = MessageEvents::new(vec![]);
        let mut out = BytesMut::new();
        w.chunk(&delta(json!({"content": "par"})), &mut out);
        let err = json!({"error": {"code": 503, "message": "P: overloaded", "metadata": {"error_type": "provider_overloaded"}},
            "choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": "error"}]});
        w.chunk(&chunk(err), &mut out);
        w.finish(&chunk(json!({"usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}})), &mut out);
        let evs = events(&out);
        assert_eq!(kinds(&evs), ["message_start", "content_block_start:0", "content_block_delta:0", "error"]);
        assert_eq!(
            evs[3]["error"],
            json!({"type": "overloaded_error", "message": "P: overloaded", "error_type": "provider_overloaded"})
        );
    }

    #[test]
    fn an_empty_answer_still_has_the_frame() {
        let mut w = MessageEvents::new(vec!["END".into()]);
        let mut out = BytesMut::new();
        w.chunk(&chunk(json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop", "native_finish_reason": "stop_sequence"}]})), &mut out);
        w.finish(&chunk(json!({"usage": {"prompt_tokens": 1, "completion_tokens": 0, "total_tokens": 1}})), &mut out);
        let evs = events(&out);
        assert_eq!(kinds(&evs), ["message_start", "message_delta", "message_stop"]);
        assert_eq!(evs[1]["delta"], json!({"stop_reason": "stop_sequence", "stop_sequence": "END"}));
    }
}
