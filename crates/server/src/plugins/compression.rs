//! The `context-compression` plugin (middle-out, reference §7.9; legacy
//! `transforms: ["middle-out"]`): a prompt too long for an endpoint's
//! context window loses messages from the middle of the conversation until
//! it fits, since the start (instructions, the task) and the end (the
//! question at hand) matter most.
//!
//! * On by default for endpoints with a window of at most 8,192 tokens; on
//!   for every endpoint with the plugin listed or `transforms:
//!   ["middle-out"]`; off with `enabled: false` or `transforms: []`.
//! * Decided per attempt ([`fit`], from the attempt chain), because windows
//!   differ per endpoint. The planner admits an endpoint that compresses when
//!   its window holds half of the request (see `Needs::fits`).
//! * Kept: every system/developer message, the first other message and the
//!   last one. The others are removed from the centre outwards. An assistant
//!   turn that calls tools and the `tool` results answering it go together.
//! * Past a protocol's cap on messages (Anthropic: 1,000), the same removal
//!   keeps half from the start and half from the end.
//! * When removing every middle message is not enough, the longest texts
//!   left are cut in their middle (marked [`ELISION`]).
//! * The prompt must fit in the window less the completion reserved
//!   (`max_tokens`, else an eighth of the window, at most the endpoint's
//!   output cap), less 5% for the difference between the estimating
//!   tokenizer and the model's.

use serde::Serialize;
use serde_json::Value;
use switchyard_api::{ChatRequest, Content, ContentPart, Message, Role};
use switchyard_providers::Protocol;
use switchyard_router::tokens;

use super::{Switch, switch};
use crate::error::GatewayError;

/// Windows up to this many tokens compress unless the request says otherwise.
pub const DEFAULT_UP_TO: u64 = 8_192;
/// Marks where a message's text was cut.
pub const ELISION: &str = "\n[... middle-out: text removed ...]\n";
/// Anthropic refuses more messages than this.
const ANTHROPIC_MAX_MESSAGES: usize = 1_000;

/// Endpoints with a context window of at most this many tokens compress
/// this request: 0 (never), [`DEFAULT_UP_TO`] or `u64::MAX` (always).
pub fn compress_up_to(req: &ChatRequest) -> u64 {
    match switch(req, "context-compression") {
        Switch::Off => 0,
        Switch::On(_) => u64::MAX,
        Switch::Unset => match req.transforms.as_ref().and_then(Value::as_array) {
            Some(list) if list.iter().any(|t| t.as_str() == Some("middle-out")) => u64::MAX,
            Some(_) => 0,
            None => DEFAULT_UP_TO,
        },
    }
}

/// Refuses engines other than `middle-out`.
pub fn validate(req: &ChatRequest) -> Result<(), GatewayError> {
    if let Switch::On(o) = switch(req, "context-compression")
        && let Some(engine) = o.get("engine")
        && engine.as_str() != Some("middle-out")
    {
        return Err(GatewayError::BadRequest(format!(
            "context-compression: unknown engine {engine}; the only engine is \"middle-out\""
        )));
    }
    Ok(())
}

/// What middle-out did to one attempt's request (kept in the attempt's
/// record of the generation).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Compressed {
    /// Always `middle-out`.
    pub engine: &'static str,
    /// The endpoint's window.
    pub context_length: u64,
    /// The prompt estimate before.
    pub prompt_tokens_before: u64,
    /// The prompt estimate after.
    pub prompt_tokens_after: u64,
    /// Messages sent before.
    pub messages_before: usize,
    /// Indices (in the request) of the messages left out.
    pub removed: Vec<usize>,
    /// Indices of the messages whose text was cut in the middle.
    pub truncated: Vec<usize>,
}

/// The request as an endpoint with a `context`-token window and output cap
/// `max_completion` gets it, when middle-out applies and the request is too
/// long (or has more messages than `protocol` takes); `None` to send it as is.
pub fn fit(
    req: &ChatRequest,
    context: u64,
    max_completion: Option<u64>,
    protocol: Protocol,
) -> Option<(ChatRequest, Compressed)> {
    if context > compress_up_to(req) {
        return None;
    }
    let max_messages = match protocol {
        Protocol::Anthropic => ANTHROPIC_MAX_MESSAGES,
        _ => usize::MAX,
    };
    let asked = req.max_output_tokens().map(u64::from);
    // Fast path: the byte count bounds the tokens, so most requests are
    // seen to fit without tokenizing.
    let short = tokens::upper_bound(req, u64::MAX).saturating_add(asked.unwrap_or(0)) <= context;
    if short && req.messages.len() <= max_messages {
        return None;
    }
    let counts: Vec<u64> = req.messages.iter().map(tokens::message_tokens).collect();
    let total = tokens::estimate(req);
    let fixed = total.saturating_sub(counts.iter().sum());
    if total + asked.unwrap_or(0) <= context && req.messages.len() <= max_messages {
        return None;
    }
    let reserved = asked.unwrap_or_else(|| (context / 8).min(max_completion.unwrap_or(u64::MAX)));
    let room = context.saturating_sub(reserved);
    let budget = (room - room / 20).saturating_sub(fixed);
    let plan = middle_out(&req.messages, &counts, budget, max_messages);
    let mut out = req.clone();
    out.messages = plan.kept.iter().map(|&i| req.messages[i].clone()).collect();
    let mut truncated = Vec::new();
    let mut used: u64 = plan.kept.iter().map(|&i| counts[i]).sum();
    // Cut the longest texts left, each at most once, until the budget holds.
    let mut by_size: Vec<usize> = (0..out.messages.len()).collect();
    by_size.sort_by_key(|&k| std::cmp::Reverse(counts[plan.kept[k]]));
    for k in by_size {
        if used <= budget {
            break;
        }
        let before = tokens::message_tokens(&out.messages[k]);
        let excess = used - budget;
        if shorten(&mut out.messages[k], excess) {
            let after = tokens::message_tokens(&out.messages[k]);
            used = used - before + after;
            truncated.push(plan.kept[k]);
        }
    }
    let note = Compressed {
        engine: "middle-out",
        context_length: context,
        prompt_tokens_before: total,
        prompt_tokens_after: used + fixed,
        messages_before: req.messages.len(),
        removed: plan.removed,
        truncated,
    };
    Some((out, note))
}

/// Which messages stay.
struct Plan {
    kept: Vec<usize>,
    removed: Vec<usize>,
}

/// Removes middle units (a message, or a tool-calling assistant turn with
/// its tool results) from the centre outwards while the kept messages
/// exceed `budget` tokens or `max_messages`.
fn middle_out(messages: &[Message], counts: &[u64], budget: u64, max_messages: usize) -> Plan {
    let units = units(messages);
    let first_other = units.iter().position(|u| !is_instruction(&messages[u.start]));
    let last = units.len().saturating_sub(1);
    let removable: Vec<usize> = (0..units.len())
        .filter(|&u| Some(u) != first_other && u != last && !is_instruction(&messages[units[u].start]))
        .collect();
    let mut tokens: u64 = counts.iter().sum();
    let mut count = messages.len();
    let mut gone = vec![false; units.len()];
    for u in centre_out(&removable) {
        if tokens <= budget && count <= max_messages {
            break;
        }
        let r = units[u].clone();
        tokens -= counts[r.clone()].iter().sum::<u64>();
        count -= r.len();
        gone[u] = true;
    }
    let mut plan = Plan { kept: Vec::new(), removed: Vec::new() };
    for (u, r) in units.into_iter().enumerate() {
        if gone[u] { plan.removed.extend(r) } else { plan.kept.extend(r) }
    }
    plan
}

/// The removal order: the middle element first, then alternately its
/// neighbours after and before, moving out.
fn centre_out(items: &[usize]) -> Vec<usize> {
    let n = items.len();
    let mid = n / 2;
    let mut order = Vec::with_capacity(n);
    for step in 0..n {
        let offset = step.div_ceil(2);
        let i = if step % 2 == 1 { mid + offset } else { mid.wrapping_sub(offset) };
        if let Some(&x) = items.get(i) {
            order.push(x);
        }
    }
    // Odd/even sides may run out at different times: add what was skipped.
    for &x in items {
        if !order.contains(&x) {
            order.push(x);
        }
    }
    order
}

/// Messages grouped into units that must stay or go together: an assistant
/// message with tool calls and the `tool` messages that follow it.
fn units(messages: &[Message]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < messages.len() {
        let start = i;
        i += 1;
        let calls = messages[start].role == Role::Assistant
            && messages[start].tool_calls.as_ref().is_some_and(|c| !c.is_empty());
        if calls {
            while i < messages.len() && matches!(messages[i].role, Role::Tool | Role::Function) {
                i += 1;
            }
        }
        out.push(start..i);
    }
    out
}

fn is_instruction(m: &Message) -> bool {
    matches!(m.role, Role::System | Role::Developer)
}

/// Cuts about `excess` tokens out of the middle of the message's longest
/// text. False when it has no text worth cutting.
fn shorten(m: &mut Message, excess: u64) -> bool {
    let text: &mut String = match &mut m.content {
        Some(Content::Text(t)) => t,
        Some(Content::Parts(parts)) => {
            let longest = parts
                .iter_mut()
                .filter_map(|p| match p {
                    ContentPart::Text { text, .. } => Some(text),
                    _ => None,
                })
                .max_by_key(|t| t.len());
            match longest {
                Some(t) => t,
                None => return false,
            }
        }
        None => return false,
    };
    let have = tokens::count(text);
    if have < 16 {
        return false;
    }
    let marker = tokens::count(ELISION);
    let keep_tokens = have.saturating_sub(excess + marker);
    let chars: Vec<char> = text.chars().collect();
    let keep = (chars.len() as u64 * keep_tokens / have) as usize;
    let head: String = chars[..keep / 2].iter().collect();
    let tail: String = chars[chars.len() - keep / 2..].iter().collect();
    *text = format!("{head}{ELISION}{tail}");
    true
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn req(v: Value) -> ChatRequest {
        serde_json::from_value(v).unwrap()
    }

    fn texts(r: &ChatRequest) -> Vec<String> {
        r.messages.iter().map(|m| m.content.as_ref().map(Content::text).unwrap_or_default()).collect()
    }

    /// A system prompt and `n` alternating turns of ~`words` words each.
    fn conversation(n: usize, words: usize, extra: Value) -> ChatRequest {
        let mut messages = vec![json!({"role": "system", "content": "You are terse."})];
        for i in 0..n {
            let role = if i % 2 == 0 { "user" } else { "assistant" };
            messages.push(json!({"role": role, "content": format!("turn{i} {}", "lorem ipsum ".repeat(words / 2))}));
        }
        let mut v = json!({"model": "m", "messages": messages});
        if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
            o.extend(e.clone());
        }
        req(v)
    }

    #[test]
    fn switches() {
        assert_eq!(compress_up_to(&conversation(1, 2, json!({}))), DEFAULT_UP_TO);
        assert_eq!(compress_up_to(&conversation(1, 2, json!({"transforms": ["middle-out"]}))), u64::MAX);
        assert_eq!(compress_up_to(&conversation(1, 2, json!({"transforms": []}))), 0);
        let on = json!({"plugins": [{"id": "context-compression"}]});
        assert_eq!(compress_up_to(&conversation(1, 2, on)), u64::MAX);
        let off = json!({"plugins": [{"id": "context-compression", "enabled": false}], "transforms": ["middle-out"]});
        assert_eq!(compress_up_to(&conversation(1, 2, off)), 0);
        let bad = json!({"plugins": [{"id": "context-compression", "engine": "summarize"}]});
        assert!(validate(&conversation(1, 2, bad)).is_err());
        assert!(validate(&conversation(1, 2, json!({"plugins": [{"id": "context-compression"}]}))).is_ok());
    }

    #[test]
    fn short_prompts_and_large_windows_are_left_alone() {
        let r = conversation(4, 20, json!({}));
        assert!(fit(&r, 2048, None, Protocol::Openai).is_none());
        let long = conversation(40, 200, json!({}));
        assert!(fit(&long, 100_000, None, Protocol::Openai).is_none(), "fits");
        assert!(fit(&long, 2048, None, Protocol::Openai).is_some());
        let off = conversation(40, 200, json!({"transforms": []}));
        assert!(fit(&off, 2048, None, Protocol::Openai).is_none());
        // A large window compresses only when asked.
        let big = conversation(400, 200, json!({}));
        assert!(fit(&big, 20_000, None, Protocol::Openai).is_none());
        let asked = conversation(400, 200, json!({"plugins": [{"id": "context-compression"}]}));
        assert!(fit(&asked, 20_000, None, Protocol::Openai).is_some());
    }

    #[test]
    fn keeps_system_first_and_last_and_removes_the_middle() {
        let r = conversation(40, 200, json!({"max_tokens": 200}));
        let (out, note) = fit(&r, 2048, None, Protocol::Openai).unwrap();
        let t = texts(&out);
        assert_eq!(t[0], "You are terse.");
        assert!(t[1].starts_with("turn0 "));
        assert!(t.last().unwrap().starts_with("turn39 "));
        assert!(out.messages.len() < r.messages.len());
        assert!(tokens::estimate(&out) + 200 <= 2048, "{}", tokens::estimate(&out));
        assert_eq!(note.prompt_tokens_after, tokens::estimate(&out));
        assert_eq!(note.removed.len(), r.messages.len() - out.messages.len());
        // From the middle: the turns removed are contiguous around the centre.
        let (lo, hi) = (*note.removed.iter().min().unwrap(), *note.removed.iter().max().unwrap());
        assert_eq!(hi - lo + 1, note.removed.len());
        let centre = r.messages.len() / 2;
        assert!(lo <= centre && centre <= hi, "{lo}..{hi}");
        assert!(note.truncated.is_empty());
    }

    #[test]
    fn never_splits_a_tool_call_from_its_results() {
        let filler = "lorem ipsum ".repeat(150);
        let mut messages = vec![json!({"role": "user", "content": "start"})];
        for i in 0..12 {
            messages.push(json!({"role": "assistant", "content": null, "tool_calls": [
                {"id": format!("c{i}"), "type": "function", "function": {"name": "f", "arguments": "{}"}}]}));
            messages.push(json!({"role": "tool", "tool_call_id": format!("c{i}"), "content": filler}));
        }
        messages.push(json!({"role": "user", "content": "end"}));
        let r = req(json!({"model": "m", "messages": messages, "transforms": ["middle-out"]}));
        let (out, note) = fit(&r, 2048, None, Protocol::Openai).unwrap();
        assert!(!note.removed.is_empty());
        for (i, m) in out.messages.iter().enumerate() {
            if m.role == Role::Tool {
                let prev = &out.messages[i - 1];
                let id = m.tool_call_id.as_deref().unwrap();
                assert!(prev.tool_calls.as_ref().is_some_and(|c| c.iter().any(|c| c.id == id)), "orphan {id}");
            }
            if let Some(calls) = &m.tool_calls {
                assert_eq!(out.messages[i + 1].tool_call_id.as_deref(), Some(calls[0].id.as_str()));
            }
        }
        assert_eq!(texts(&out).last().unwrap(), "end");
    }

    #[test]
    fn too_many_messages_keep_half_from_each_end() {
        let r = conversation(1_200, 2, json!({"plugins": [{"id": "context-compression"}]}));
        let (out, note) = fit(&r, 100_000, None, Protocol::Anthropic).unwrap();
        assert!(out.messages.len() <= 1_000 && out.messages.len() >= 998, "{}", out.messages.len());
        assert!(fit(&r, 100_000, None, Protocol::Openai).is_none(), "no cap on OpenAI, and it fits");
        // One contiguous block removed, leaving as many messages before it as after.
        let (lo, hi) = (*note.removed.iter().min().unwrap(), *note.removed.iter().max().unwrap());
        assert_eq!(hi - lo + 1, note.removed.len());
        let (head, tail) = (lo, r.messages.len() - hi - 1);
        assert!(head.abs_diff(tail) <= 2, "{head} before, {tail} after");
    }

    #[test]
    fn cuts_the_middle_of_a_huge_last_message() {
        let huge = format!("HEAD {} TAIL", "word ".repeat(5_000));
        let r = req(json!({"model": "m", "messages": [
            {"role": "system", "content": "sys"}, {"role": "user", "content": huge}]}));
        let (out, note) = fit(&r, 2048, None, Protocol::Openai).unwrap();
        let t = texts(&out);
        assert!(t[1].starts_with("HEAD ") && t[1].ends_with(" TAIL") && t[1].contains(ELISION.trim()));
        assert_eq!(note.truncated, vec![1]);
        assert!(tokens::estimate(&out) <= 2048);
    }

    #[test]
    fn centre_out_order() {
        assert_eq!(centre_out(&[1, 2, 3, 4, 5]), vec![3, 4, 2, 5, 1]);
        assert_eq!(centre_out(&[1, 2, 3, 4]), vec![3, 4, 2, 1]);
        assert_eq!(centre_out(&[]), Vec::<usize>::new());
    }
}
