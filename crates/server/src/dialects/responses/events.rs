//! The streamed answer as Responses events: `response.created`, then each
//! output item opened, filled by deltas and closed in turn, and at the end
//! `response.completed` (or `.incomplete` / `.failed`). Every event carries
//! the next `sequence_number`; there is no `[DONE]` line.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::BytesMut;
use serde_json::Value;
use switchyard_api::responses::{
    EventBody, OutputContent, OutputItem, RequestEcho, ResponseObject, StreamEvent, SummaryPart,
};
use switchyard_api::{ChatChunk, ErrorDetail, Extra};

use super::output::{Head, Outcome, annotation, encrypted_from_details, response};
use crate::chat::dialect::{StreamWriter, sse_event};

/// One output item as it is being streamed.
enum Item {
    Reasoning { id: String, text: String, status: &'static str },
    Message { id: String, parts: Vec<Part>, status: &'static str },
    Call { id: String, call_id: String, name: String, args: String, status: &'static str },
}

/// A content part of a streamed message.
struct Part {
    refusal: bool,
    text: String,
    annotations: Vec<Value>,
}

impl Part {
    fn output(&self) -> OutputContent {
        if self.refusal {
            OutputContent::Refusal { refusal: self.text.clone() }
        } else {
            OutputContent::OutputText {
                text: self.text.clone(),
                annotations: self.annotations.clone(),
                logprobs: vec![],
            }
        }
    }
}

/// The Responses stream writer of one answer.
pub struct Events {
    echo: Arc<RequestEcho>,
    seq: u64,
    /// Set from the first chunk; `started` says it has been.
    head: Head,
    started: bool,
    items: Vec<Item>,
    /// The item deltas currently go to; it is closed when another opens.
    open: Option<usize>,
    /// Chat tool-call index → its item.
    calls: HashMap<u64, usize>,
    /// `reasoning_details` fragments, merged (signatures, encrypted thoughts).
    details: Vec<Value>,
    finish: Option<String>,
    error: Option<ErrorDetail>,
    /// Events of the chunk being written.
    pending: Vec<EventBody>,
}

impl Events {
    /// A writer echoing `echo` in its response snapshots.
    pub fn new(echo: Arc<RequestEcho>) -> Events {
        Events {
            echo,
            seq: 0,
            head: Head::default(),
            started: false,
            items: Vec::new(),
            open: None,
            calls: HashMap::new(),
            details: Vec::new(),
            finish: None,
            error: None,
            pending: Vec::new(),
        }
    }

    fn flush(&mut self, out: &mut BytesMut) {
        for body in self.pending.drain(..) {
            let name = body.name();
            sse_event(name, &StreamEvent { sequence_number: self.seq, body }, out);
            self.seq += 1;
        }
    }

    /// `response.created` and `response.in_progress`, once, from the first
    /// chunk (which is stamped with the generation id and the model).
    fn start(&mut self, c: &ChatChunk) {
        if self.started {
            return;
        }
        self.started = true;
        self.head = Head { id: c.id.clone(), created: c.created, model: c.model.clone(), provider: c.provider.clone() };
        let snapshot = Box::new(response(&self.head, &self.echo, None, Vec::new(), None, Extra::new()));
        self.pending.push(EventBody::Created { response: snapshot.clone() });
        self.pending.push(EventBody::InProgress { response: snapshot });
    }

    fn snapshot(&self, i: usize) -> Option<OutputItem> {
        Some(match self.items.get(i)? {
            Item::Reasoning { id, text, status } => {
                let first = self.items.iter().position(|it| matches!(it, Item::Reasoning { .. })) == Some(i);
                OutputItem::Reasoning {
                    id: id.clone(),
                    summary: if text.is_empty() {
                        vec![]
                    } else {
                        vec![SummaryPart::SummaryText { text: text.clone() }]
                    },
                    encrypted_content: first
                        .then(|| encrypted_from_details(&Value::Array(self.details.clone())))
                        .flatten(),
                    status,
                }
            }
            Item::Message { id, parts, status } => OutputItem::Message {
                id: id.clone(),
                status,
                role: "assistant",
                content: parts.iter().map(Part::output).collect(),
            },
            Item::Call { id, call_id, name, args, status } => OutputItem::FunctionCall {
                id: id.clone(),
                call_id: call_id.clone(),
                name: name.clone(),
                arguments: args.clone(),
                status,
            },
        })
    }

    /// Adds an item, announcing it, and makes it the open one.
    fn add(&mut self, item: Item) -> usize {
        self.close_open("completed");
        let i = self.items.len();
        self.items.push(item);
        self.open = Some(i);
        if let Some(item) = self.snapshot(i) {
            self.pending.push(EventBody::OutputItemAdded { output_index: i, item });
        }
        i
    }

    fn close_open(&mut self, status: &'static str) {
        let Some(i) = self.open.take() else { return };
        let item_id = match &mut self.items[i] {
            Item::Reasoning { id, status: s, .. }
            | Item::Message { id, status: s, .. }
            | Item::Call { id, status: s, .. } => {
                *s = status;
                id.clone()
            }
        };
        match &self.items[i] {
            Item::Reasoning { text, .. } => {
                let part = SummaryPart::SummaryText { text: text.clone() };
                self.pending.push(EventBody::ReasoningSummaryTextDone {
                    item_id: item_id.clone(),
                    output_index: i,
                    summary_index: 0,
                    text: text.clone(),
                });
                self.pending.push(EventBody::ReasoningSummaryPartDone {
                    item_id,
                    output_index: i,
                    summary_index: 0,
                    part,
                });
            }
            Item::Message { parts, .. } => {
                if let Some(last) = parts.len().checked_sub(1) {
                    self.close_part(i, &item_id, last);
                }
            }
            Item::Call { name, args, .. } => self.pending.push(EventBody::FunctionCallArgumentsDone {
                item_id,
                output_index: i,
                name: name.clone(),
                arguments: args.clone(),
            }),
        }
        if let Some(item) = self.snapshot(i) {
            self.pending.push(EventBody::OutputItemDone { output_index: i, item });
        }
    }

    fn close_part(&mut self, i: usize, item_id: &str, k: usize) {
        let Some(Item::Message { parts, .. }) = self.items.get(i) else { return };
        let Some(p) = parts.get(k) else { return };
        let (item_id, output_index, content_index) = (item_id.to_owned(), i, k);
        self.pending.push(if p.refusal {
            EventBody::RefusalDone { item_id: item_id.clone(), output_index, content_index, refusal: p.text.clone() }
        } else {
            EventBody::OutputTextDone {
                item_id: item_id.clone(),
                output_index,
                content_index,
                text: p.text.clone(),
                logprobs: vec![],
            }
        });
        self.pending.push(EventBody::ContentPartDone { item_id, output_index, content_index, part: p.output() });
    }

    fn reasoning(&mut self, delta: &str) {
        let i = match self.open {
            Some(i) if matches!(self.items[i], Item::Reasoning { .. }) => i,
            _ => {
                let id = self.head.item_id("rs", self.items.len());
                let i = self.add(Item::Reasoning { id: id.clone(), text: String::new(), status: "in_progress" });
                let part = SummaryPart::SummaryText { text: String::new() };
                self.pending.push(EventBody::ReasoningSummaryPartAdded {
                    item_id: id,
                    output_index: i,
                    summary_index: 0,
                    part,
                });
                i
            }
        };
        if let Item::Reasoning { id, text, .. } = &mut self.items[i] {
            text.push_str(delta);
            let item_id = id.clone();
            self.pending.push(EventBody::ReasoningSummaryTextDelta {
                item_id,
                output_index: i,
                summary_index: 0,
                delta: delta.to_owned(),
            });
        }
    }

    /// The open message (opening one if needed) and the index of its
    /// current part, of the given kind (closing the other kind's part).
    fn part(&mut self, refusal: bool) -> (usize, usize, String) {
        let i = match self.open {
            Some(i) if matches!(self.items[i], Item::Message { .. }) => i,
            _ => {
                let id = self.head.item_id("msg", self.items.len());
                self.add(Item::Message { id, parts: Vec::new(), status: "in_progress" })
            }
        };
        let Item::Message { id, parts, .. } = &self.items[i] else { return (i, 0, String::new()) };
        let id = id.clone();
        match parts.last() {
            Some(p) if p.refusal == refusal => (i, parts.len() - 1, id),
            last => {
                let closing = last.map(|_| parts.len() - 1);
                if let Some(k) = closing {
                    self.close_part(i, &id, k);
                }
                let Item::Message { parts, .. } = &mut self.items[i] else { return (i, 0, id) };
                parts.push(Part { refusal, text: String::new(), annotations: vec![] });
                let k = parts.len() - 1;
                let part = parts[k].output();
                self.pending.push(EventBody::ContentPartAdded {
                    item_id: id.clone(),
                    output_index: i,
                    content_index: k,
                    part,
                });
                (i, k, id)
            }
        }
    }

    fn text(&mut self, refusal: bool, delta: &str) {
        let (i, k, item_id) = self.part(refusal);
        if let Item::Message { parts, .. } = &mut self.items[i] {
            parts[k].text.push_str(delta);
        }
        let (output_index, content_index, delta) = (i, k, delta.to_owned());
        self.pending.push(if refusal {
            EventBody::RefusalDelta { item_id, output_index, content_index, delta }
        } else {
            EventBody::OutputTextDelta { item_id, output_index, content_index, delta, logprobs: vec![] }
        });
    }

    fn annotations(&mut self, list: &Value) {
        let Some(list) = list.as_array().filter(|l| !l.is_empty()) else { return };
        let (i, k, item_id) = self.part(false);
        for a in list {
            let annotation = annotation(a);
            let Item::Message { parts, .. } = &mut self.items[i] else { return };
            parts[k].annotations.push(annotation.clone());
            let annotation_index = parts[k].annotations.len() - 1;
            self.pending.push(EventBody::AnnotationAdded {
                item_id: item_id.clone(),
                output_index: i,
                content_index: k,
                annotation_index,
                annotation,
            });
        }
    }

    /// One tool-call fragment `{index, id?, function: {name?, arguments?}}`.
    fn call(&mut self, frag: &Value) {
        let k = frag["index"].as_u64().unwrap_or(0);
        let name = frag["function"]["name"].as_str().unwrap_or_default();
        let i = match self.calls.get(&k) {
            Some(&i) => i,
            None => {
                let head = &self.head;
                let id = head.item_id("fc", self.items.len());
                let call_id = frag["id"].as_str().map_or_else(|| head.item_id("call", k as usize), str::to_owned);
                let item =
                    Item::Call { id, call_id, name: name.to_owned(), args: String::new(), status: "in_progress" };
                let i = self.add(item);
                self.calls.insert(k, i);
                i
            }
        };
        let Item::Call { id, name: have, args, .. } = &mut self.items[i] else { return };
        if have.is_empty() {
            name.clone_into(have);
        }
        if let Some(delta) = frag["function"]["arguments"].as_str().filter(|a| !a.is_empty()) {
            args.push_str(delta);
            let item_id = id.clone();
            self.pending.push(EventBody::FunctionCallArgumentsDelta {
                item_id,
                output_index: i,
                delta: delta.to_owned(),
            });
        }
    }

    /// Merges streamed `reasoning_details` fragments: one with the same
    /// `type` and `index` as the last continues it.
    fn detail(&mut self, frag: &Value) {
        let same = |last: &Value| {
            last["type"] == frag["type"] && frag.get("index").is_some() && last.get("index") == frag.get("index")
        };
        match self.details.last_mut() {
            Some(last) if same(last) => {
                let (Some(last), Some(frag)) = (last.as_object_mut(), frag.as_object()) else { return };
                for (k, v) in frag {
                    match (k.as_str(), last.get_mut(k), v.as_str()) {
                        ("text" | "summary", Some(Value::String(have)), Some(more)) => have.push_str(more),
                        (_, _, _) if !v.is_null() => {
                            last.insert(k.clone(), v.clone());
                        }
                        _ => {}
                    }
                }
            }
            _ => self.details.push(frag.clone()),
        }
    }
}

impl StreamWriter for Events {
    fn chunk(&mut self, c: &ChatChunk, out: &mut BytesMut) {
        self.start(c);
        if let Some(e) = &c.error {
            // `finish` follows and ends the stream with `response.failed`.
            self.error = Some(e.clone());
        } else {
            for choice in c.choices.iter().filter(|ch| ch.index == 0) {
                let d = &choice.delta;
                if let Some(r) = d.reasoning.as_deref().filter(|r| !r.is_empty()) {
                    self.reasoning(r);
                }
                for frag in d.reasoning_details.as_ref().and_then(Value::as_array).into_iter().flatten() {
                    self.detail(frag);
                }
                if let Some(t) = d.content.as_deref().filter(|t| !t.is_empty()) {
                    self.text(false, t);
                }
                if let Some(a) = d.extra.get("annotations") {
                    self.annotations(a);
                }
                if let Some(t) = d.refusal.as_deref().filter(|t| !t.is_empty()) {
                    self.text(true, t);
                }
                for frag in d.tool_calls.as_ref().and_then(Value::as_array).into_iter().flatten() {
                    self.call(frag);
                }
                if let Some(f) = &choice.finish_reason {
                    self.finish = Some(f.clone());
                }
            }
        }
        self.flush(out);
    }

    fn finish(&mut self, last: &ChatChunk, out: &mut BytesMut) {
        self.start(last);
        let outcome = match self.error.take() {
            Some(e) => Outcome::Failed(e),
            None => Outcome::of(self.finish.as_deref()),
        };
        if !matches!(outcome, Outcome::Failed(_)) {
            self.close_open(outcome.item_status());
            let opaque = encrypted_from_details(&Value::Array(self.details.clone())).is_some();
            if opaque && !self.items.iter().any(|it| matches!(it, Item::Reasoning { .. })) {
                // Signatures came without reasoning text: they still need
                // an item to travel back in.
                let id = self.head.item_id("rs", self.items.len());
                self.add(Item::Reasoning { id, text: String::new(), status: "in_progress" });
                self.open = None;
                if let Some(Item::Reasoning { status, .. }) = self.items.last_mut() {
                    *status = "completed";
                }
                let i = self.items.len() - 1;
                if let Some(item) = self.snapshot(i) {
                    self.pending.push(EventBody::OutputItemDone { output_index: i, item });
                }
            }
        } else if let Some(i) = self.open.take()
            && let Some(Item::Reasoning { status, .. } | Item::Message { status, .. } | Item::Call { status, .. }) =
                self.items.get_mut(i)
        {
            *status = "incomplete";
        }
        let output = (0..self.items.len()).filter_map(|i| self.snapshot(i)).collect();
        let mut extra = Extra::new();
        if let Some(meta) = last.extra.get("openrouter_metadata") {
            extra.insert("openrouter_metadata".into(), meta.clone());
        }
        let end: fn(Box<ResponseObject>) -> EventBody = match outcome {
            Outcome::Completed => |response| EventBody::Completed { response },
            Outcome::Incomplete(_) => |response| EventBody::Incomplete { response },
            Outcome::Failed(_) => |response| EventBody::Failed { response },
        };
        let resp = response(&self.head, &self.echo, Some(outcome), output, last.usage.as_ref(), extra);
        self.pending.push(end(Box::new(resp)));
        self.flush(out);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use switchyard_api::responses::ResponsesRequest;

    use super::*;

    fn writer() -> Events {
        let req: ResponsesRequest = serde_json::from_value(json!({"input": "x", "instructions": "Be terse."})).unwrap();
        Events::new(Arc::new(RequestEcho::of(&req)))
    }

    fn chunk(choice: Value) -> ChatChunk {
        serde_json::from_value(json!({"id": "gen-9-z", "created": 7, "model": "a/b", "provider": "P",
            "choices": [choice]}))
        .unwrap()
    }

    fn delta(d: Value) -> ChatChunk {
        chunk(json!({"index": 0, "delta": d}))
    }

    fn last(usage: Value) -> ChatChunk {
        serde_json::from_value(json!({"id": "gen-9-z", "created": 7, "model": "a/b", "usage": usage})).unwrap()
    }

    /// `(event name, data)` of each event written.
    fn events(out: &BytesMut) -> Vec<(String, Value)> {
        let text = std::str::from_utf8(out).unwrap();
        text.split("\n\n")
            .filter(|b| !b.is_empty())
            .map(|b| {
                let (ev, data) = b.split_once('\n').unwrap();
                let data: Value = serde_json::from_str(data.strip_prefix("data: ").unwrap()).unwrap();
                (ev.strip_prefix("event: ").unwrap().to_owned(), data)
            })
            .collect()
    }

    #[test]
    fn reasoning_then_text_streams_the_full_sequence() {
        let mut w = writer();
        let mut out = BytesMut::new();
        w.chunk(&delta(json!({"role": "assistant", "reasoning": "Think"})), &mut out);
        w.chunk(&delta(json!({"reasoning": "ing."})), &mut out);
        w.chunk(&delta(json!({"content": "Hi"})), &mut out);
        w.chunk(&delta(json!({"content": " there"})), &mut out);
        w.chunk(&chunk(json!({"index": 0, "delta": {}, "finish_reason": "stop"})), &mut out);
        w.finish(&last(json!({"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7, "cost": 0.1})), &mut out);
        let evs = events(&out);
        let names: Vec<&str> = evs.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "response.created",
                "response.in_progress",
                "response.output_item.added",
                "response.reasoning_summary_part.added",
                "response.reasoning_summary_text.delta",
                "response.reasoning_summary_text.delta",
                "response.reasoning_summary_text.done",
                "response.reasoning_summary_part.done",
                "response.output_item.done",
                "response.output_item.added",
                "response.content_part.added",
                "response.output_text.delta",
                "response.output_text.delta",
                "response.output_text.done",
                "response.content_part.done",
                "response.output_item.done",
                "response.completed",
            ]
        );
        for (i, (name, data)) in evs.iter().enumerate() {
            assert_eq!(data["sequence_number"], i as u64);
            assert_eq!(data["type"], name.as_str());
        }
        assert_eq!(evs[0].1["response"]["status"], "in_progress");
        assert_eq!(evs[0].1["response"]["id"], "gen-9-z");
        assert_eq!(evs[6].1["text"], "Thinking.");
        assert_eq!(evs[9].1["item"]["id"], "msg_9-z_1");
        assert_eq!(evs[12].1["output_index"], 1);
        assert_eq!(evs[13].1["text"], "Hi there");
        let done = &evs[16].1["response"];
        assert_eq!(done["status"], "completed");
        assert_eq!(done["output_text"], "Hi there");
        assert_eq!(done["output"][0]["summary"][0]["text"], "Thinking.");
        assert_eq!(done["output"][1]["status"], "completed");
        assert_eq!(done["usage"]["output_tokens"], 4);
        assert_eq!(done["usage"]["cost"], 0.1);
        assert_eq!(done["instructions"], "Be terse.");
        assert!(!String::from_utf8_lossy(&out).contains("[DONE]"));
    }

    #[test]
    fn tool_calls_stream_as_function_call_items() {
        let mut w = writer();
        let mut out = BytesMut::new();
        let call = |index: u64, id: Option<&str>, name: Option<&str>, args: &str| {
            delta(json!({"tool_calls": [{"index": index, "id": id, "type": "function",
                "function": {"name": name, "arguments": args}}]}))
        };
        w.chunk(&call(0, Some("call_a"), Some("f"), ""), &mut out);
        w.chunk(&call(0, None, None, "{\"a\""), &mut out);
        w.chunk(&call(0, None, None, ":1}"), &mut out);
        w.chunk(&call(1, Some("call_b"), Some("g"), "{}"), &mut out);
        w.chunk(&chunk(json!({"index": 0, "delta": {}, "finish_reason": "tool_calls"})), &mut out);
        w.finish(&last(json!({"prompt_tokens": 1, "completion_tokens": 1})), &mut out);
        let evs = events(&out);
        let names: Vec<&str> = evs.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            &names[2..],
            [
                "response.output_item.added",
                "response.function_call_arguments.delta",
                "response.function_call_arguments.delta",
                "response.function_call_arguments.done",
                "response.output_item.done",
                "response.output_item.added",
                "response.function_call_arguments.delta",
                "response.function_call_arguments.done",
                "response.output_item.done",
                "response.completed",
            ]
        );
        assert_eq!(
            evs[2].1["item"],
            json!({"type": "function_call", "id": "fc_9-z_0", "call_id": "call_a",
            "name": "f", "arguments": "", "status": "in_progress"})
        );
        assert_eq!(
            evs[5].1,
            json!({"type": "response.function_call_arguments.done", "sequence_number": 5,
            "item_id": "fc_9-z_0", "output_index": 0, "name": "f", "arguments": "{\"a\":1}"})
        );
        let out = &evs[11].1["response"]["output"];
        assert_eq!((out[1]["call_id"].as_str(), out[1]["arguments"].as_str()), (Some("call_b"), Some("{}")));
    }

    #[test]
    fn length_ends_incomplete_and_errors_fail() {
        let mut w = writer();
        let mut out = BytesMut::new();
        w.chunk(&delta(json!({"content": "tok"})), &mut out);
        w.chunk(&chunk(json!({"index": 0, "delta": {}, "finish_reason": "length"})), &mut out);
        w.finish(&last(json!({})), &mut out);
        let evs = events(&out);
        let (name, data) = evs.last().unwrap();
        assert_eq!(name, "response.incomplete");
        assert_eq!(data["response"]["incomplete_details"]["reason"], "max_output_tokens");
        assert_eq!(data["response"]["output"][0]["status"], "incomplete");

        let mut w = writer();
        let mut out = BytesMut::new();
        w.chunk(&delta(json!({"content": "tok"})), &mut out);
        let mut failed = chunk(json!({"index": 0, "delta": {"content": ""}, "finish_reason": "error"}));
        failed.error = Some(ErrorDetail { code: 502, message: "P: cut".into(), metadata: None, availability: None });
        w.chunk(&failed, &mut out);
        w.finish(&last(json!({"prompt_tokens": 1, "completion_tokens": 1})), &mut out);
        let evs = events(&out);
        let names: Vec<&str> = evs.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names.last(), Some(&"response.failed"));
        assert!(!names.contains(&"response.output_item.done"));
        let resp = &evs.last().unwrap().1["response"];
        assert_eq!(resp["status"], "failed");
        assert_eq!(resp["error"], json!({"code": "server_error", "message": "P: cut"}));
        assert_eq!(resp["output"][0]["status"], "incomplete");
        assert_eq!(resp["usage"]["input_tokens"], 1);
    }

    #[test]
    fn signatures_without_reasoning_text_still_get_a_reasoning_item() {
        let mut w = writer();
        let mut out = BytesMut::new();
        w.chunk(
            &delta(json!({"content": "a", "reasoning_details": [
            {"type": "reasoning.text", "text": "", "signature": "S1", "index": 0}]})),
            &mut out,
        );
        w.finish(&last(json!({})), &mut out);
        let evs = events(&out);
        let resp = &evs.last().unwrap().1["response"];
        assert_eq!(resp["output"][1]["type"], "reasoning");
        let enc: Value = serde_json::from_str(resp["output"][1]["encrypted_content"].as_str().unwrap()).unwrap();
        assert_eq!(enc[0]["signature"], "S1");
    }
}
