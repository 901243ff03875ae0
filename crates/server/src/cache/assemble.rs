//! A streamed answer put back together as a whole one, so it can be stored
//! in the response cache: text, reasoning and refusal fragments appended,
//! tool-call fragments merged by their `index`. Anything it cannot merge
//! faithfully (structured reasoning blocks, log probabilities, unknown
//! delta fields) makes the answer uncacheable instead.

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use switchyard_api::{ChatChunk, ChatResponse, Choice};

/// The answer so far.
#[derive(Default)]
pub struct Assembly {
    head: Option<ChatChunk>,
    choices: BTreeMap<u32, Choice>,
    /// Tool calls of each choice, by their index.
    calls: BTreeMap<u32, BTreeMap<u64, Map<String, Value>>>,
    unmergeable: bool,
}

impl Assembly {
    /// Adds one forwarded chunk (already in OpenRouter's shape).
    pub fn add(&mut self, chunk: &ChatChunk) {
        if self.unmergeable {
            return;
        }
        if self.head.is_none() {
            self.head = Some(ChatChunk { choices: Vec::new(), ..chunk.clone() });
        }
        for c in &chunk.choices {
            let d = &c.delta;
            if d.reasoning_details.is_some() || !d.extra.is_empty() || !c.logprobs.as_ref().is_none_or(Value::is_null) {
                self.unmergeable = true;
                return;
            }
            let choice = self.choices.entry(c.index).or_insert_with(|| Choice { index: c.index, ..Choice::default() });
            let m = &mut choice.message;
            append(&mut m.content, &d.content);
            append(&mut m.reasoning, &d.reasoning);
            append(&mut m.refusal, &d.refusal);
            if let Some(calls) = &d.tool_calls
                && !merge_calls(self.calls.entry(c.index).or_default(), calls)
            {
                self.unmergeable = true;
                return;
            }
            if c.finish_reason.is_some() {
                choice.finish_reason.clone_from(&c.finish_reason);
                choice.native_finish_reason.clone_from(&c.native_finish_reason);
            }
        }
    }
}

/// Merges tool-call fragments into `merged`: the first fragment of an index
/// brings its id, type and function name; later ones extend the arguments.
fn merge_calls(merged: &mut BTreeMap<u64, Map<String, Value>>, calls: &Value) -> bool {
    let Some(items) = calls.as_array() else { return false };
    for (pos, item) in items.iter().enumerate() {
        let Some(obj) = item.as_object() else { return false };
        let index = obj.get("index").and_then(Value::as_u64).unwrap_or(pos as u64);
        let call = merged.entry(index).or_default();
        for (k, v) in obj {
            match (k.as_str(), v) {
                ("index", _) => {}
                ("function", Value::Object(f)) => {
                    let Value::Object(target) = call.entry("function").or_insert_with(|| Value::Object(Map::new()))
                    else {
                        return false;
                    };
                    for (fk, fv) in f {
                        match (fk.as_str(), fv, target.get_mut(fk)) {
                            ("arguments", Value::String(more), Some(Value::String(args))) => args.push_str(more),
                            _ => {
                                target.insert(fk.clone(), fv.clone());
                            }
                        }
                    }
                }
                _ => {
                    call.insert(k.clone(), v.clone());
                }
            }
        }
    }
    true
}

impl Assembly {
    /// The whole answer, when every fragment could be merged and every
    /// choice finished.
    pub fn finish(self) -> Option<ChatResponse> {
        let head = self.head?;
        if self.unmergeable || self.choices.is_empty() || self.choices.values().any(|c| c.finish_reason.is_none()) {
            return None;
        }
        let mut calls = self.calls;
        let choices = self
            .choices
            .into_values()
            .map(|mut c| {
                if let Some(merged) = calls.remove(&c.index) {
                    c.message.tool_calls = Some(Value::Array(merged.into_values().map(Value::Object).collect()));
                }
                c
            })
            .collect();
        Some(ChatResponse {
            id: head.id,
            object: "chat.completion".into(),
            created: head.created,
            model: head.model,
            provider: head.provider,
            system_fingerprint: head.system_fingerprint,
            choices,
            usage: None,
            extra: Map::new(),
        })
    }
}

fn append(to: &mut Option<String>, more: &Option<String>) {
    if let Some(more) = more {
        to.get_or_insert_with(String::new).push_str(more);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(v: Value) -> ChatChunk {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn fragments_become_one_answer() {
        let mut a = Assembly::default();
        let base = serde_json::json!({"id":"gen-1","model":"m","provider":"P","created":7});
        let with = |choices: Value| {
            let mut v = base.clone();
            v["choices"] = choices;
            chunk(v)
        };
        a.add(&with(serde_json::json!([{"index":0,"delta":{"role":"assistant","content":"Hel"}}])));
        a.add(&with(serde_json::json!([{"index":0,"delta":{"content":"lo"}}])));
        a.add(&with(serde_json::json!([{"index":0,"delta":{"tool_calls":[
            {"index":0,"id":"call_1","type":"function","function":{"name":"f","arguments":"{\"a\":"}}]}}])));
        a.add(&with(serde_json::json!([{"index":0,"delta":{"tool_calls":[
            {"index":0,"function":{"arguments":"1}"}}]}}])));
        a.add(&with(serde_json::json!([{"index":0,"delta":{},"finish_reason":"tool_calls",
            "native_finish_reason":"tool_use"}])));
        let r = a.finish().unwrap();
        assert_eq!((r.id.as_str(), r.model.as_str(), r.provider.as_deref()), ("gen-1", "m", Some("P")));
        let c = &r.choices[0];
        assert_eq!(c.message.content.as_deref(), Some("Hello"));
        assert_eq!(c.finish_reason.as_deref(), Some("tool_calls"));
        assert_eq!(c.native_finish_reason.as_deref(), Some("tool_use"));
        assert_eq!(
            c.message.tool_calls,
            Some(
                serde_json::json!([{"id":"call_1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}])
            )
        );
    }

    #[test]
    fn unfinished_or_unmergeable_answers_are_not_stored() {
        let mut a = Assembly::default();
        a.add(&chunk(serde_json::json!({"id":"g","choices":[{"index":0,"delta":{"content":"cut"}}]})));
        assert!(a.finish().is_none(), "no finish reason");
        let mut b = Assembly::default();
        b.add(&chunk(serde_json::json!({"id":"g","choices":[{"index":0,"delta":{"content":"x"},
            "logprobs":{"content":[]},"finish_reason":"stop"}]})));
        assert!(b.finish().is_none(), "log probabilities are not merged");
    }
}
