//! Gemini non-streaming answer to the canonical response.
//!
//! `finish_reason` carries Gemini's raw `finishReason` (`STOP`,
//! `MAX_TOKENS`, `SAFETY`...): the server normalises it and keeps the raw
//! value as `native_finish_reason`. A prompt blocked before generation is a
//! content-filter answer (empty content, the block reason as finish reason),
//! not an error. Thought summaries become `reasoning`; thought signatures
//! ride in `reasoning_details` so the client can send them back.

use serde_json::{Value, json};
use switchyard_api::response::ResponseMessage;
use switchyard_api::usage::{CompletionTokensDetails, PromptTokensDetails};
use switchyard_api::{ChatResponse, Choice, Usage};

use super::REASONING_FORMAT;
use super::errors::in_band;
use super::wire::{Candidate, Response, UsageMetadata, WireFunctionCall};
use crate::anthropic::decode::{compact, unix_now};
use crate::error::ProviderError;

/// Decodes a 2xx body.
pub fn decode(body: &[u8]) -> Result<ChatResponse, ProviderError> {
    let resp: Response =
        serde_json::from_slice(body).map_err(|e| ProviderError::InvalidResponse(format!("undecodable JSON: {e}")))?;
    if let Some(err) = resp.error {
        return Err(in_band(err));
    }
    let blocked = resp.prompt_feedback.and_then(|f| f.block_reason);
    if resp.candidates.is_empty() && blocked.is_none() {
        return Err(ProviderError::InvalidResponse("the answer is not a Gemini response (no candidates)".into()));
    }
    let response_id = resp.response_id.unwrap_or_default();
    let mut calls = 0;
    let mut choices = Vec::with_capacity(resp.candidates.len().max(1));
    for (i, cand) in resp.candidates.into_iter().enumerate() {
        let index = cand.index.unwrap_or(u32::try_from(i).unwrap_or(u32::MAX));
        choices.push(choice(cand, index, &response_id, &mut calls));
    }
    if choices.is_empty() {
        let message = ResponseMessage { content: Some(String::new()), ..ResponseMessage::default() };
        choices.push(Choice { message, finish_reason: blocked, ..Choice::default() });
    }
    Ok(ChatResponse {
        id: response_id,
        object: "chat.completion".into(),
        created: unix_now(),
        model: resp.model_version.unwrap_or_default(),
        choices,
        usage: resp.usage_metadata.map(usage),
        ..ChatResponse::default()
    })
}

/// One candidate as a choice; `calls` numbers tool calls across candidates
/// so synthesized ids stay unique within the response.
fn choice(cand: Candidate, index: u32, response_id: &str, calls: &mut u32) -> Choice {
    let mut text = String::new();
    let mut reasoning: Vec<String> = Vec::new();
    let mut details: Vec<Value> = Vec::new();
    let mut tool_calls = Vec::new();
    let mut idx = ReasoningIndex::default();
    for part in cand.content.map(|c| c.parts).unwrap_or_default() {
        if let Some(call) = part.function_call {
            let id = call_id(&call, response_id, *calls);
            *calls += 1;
            if let Some(sig) = part.thought_signature {
                details.push(call_signature(sig, &id, idx.fresh()));
            } else {
                idx.close();
            }
            tool_calls.push(tool_call(call, id));
        } else if part.thought {
            let t = part.text.unwrap_or_default();
            let k = idx.thought();
            match details.last_mut() {
                // Consecutive thought parts are one reasoning block.
                Some(last) if last["index"] == k && last["type"] == "reasoning.text" => {
                    if let (Some(r), Some(prev)) = (reasoning.last_mut(), last["text"].as_str()) {
                        r.push_str(&t);
                        last["text"] = Value::String(format!("{prev}{t}"));
                    }
                }
                _ => {
                    details.push(json!({"type": "reasoning.text", "text": t, "format": REASONING_FORMAT, "index": k}));
                    reasoning.push(t);
                }
            }
            if let (Some(sig), Some(last)) = (part.thought_signature, details.last_mut()) {
                last["signature"] = Value::String(sig);
            }
        } else {
            text.push_str(part.text.as_deref().unwrap_or(""));
            match part.thought_signature {
                // The signature of the thinking this text follows.
                Some(sig) => {
                    let k = idx.text_signature();
                    match details.last_mut() {
                        Some(last) if last["index"] == k && last.get("signature").is_none() => {
                            last["signature"] = Value::String(sig);
                        }
                        _ => details.push(json!({"type": "reasoning.text", "text": "", "signature": sig,
                            "format": REASONING_FORMAT, "index": k})),
                    }
                }
                None => idx.close(),
            }
        }
    }
    let has_calls = !tool_calls.is_empty();
    let annotations = cand.grounding_metadata.as_ref().map(|m| super::grounding::annotations(m, &text));
    let mut message = ResponseMessage {
        // OpenAI's shape: null content on a pure tool-call turn.
        content: (!text.is_empty() || !has_calls).then_some(text),
        reasoning: (!reasoning.is_empty()).then(|| reasoning.join("\n")),
        reasoning_details: (!details.is_empty()).then_some(Value::Array(details)),
        tool_calls: has_calls.then_some(Value::Array(tool_calls)),
        ..ResponseMessage::default()
    };
    if let Some(list) = annotations.filter(|l| !l.is_empty()) {
        message.extra.insert("annotations".into(), Value::Array(list));
    }
    Choice { index, message, finish_reason: cand.finish_reason, ..Choice::default() }
}

/// A tool call in OpenAI's shape, arguments as compact JSON text.
pub(super) fn tool_call(call: WireFunctionCall, id: String) -> Value {
    let args = call.args.unwrap_or_else(|| json!({}));
    json!({"id": id, "type": "function", "function": {"name": call.name, "arguments": compact(&args)}})
}

/// The call's own id, else a stable one from the response id and the call's
/// position (`call_<responseId>_<n>`, or `call_<n>` without a response id).
pub(super) fn call_id(call: &WireFunctionCall, response_id: &str, n: u32) -> String {
    match &call.id {
        Some(id) if !id.is_empty() => id.clone(),
        _ if response_id.is_empty() => format!("call_{n}"),
        _ => format!("call_{response_id}_{n}"),
    }
}

/// The signature on a function-call part, tied to the call by id so the
/// encoder can put it back on the same call (OpenRouter's shape).
pub(super) fn call_signature(sig: String, call_id: &str, index: u32) -> Value {
    json!({"type": "reasoning.encrypted", "data": sig, "id": call_id, "format": REASONING_FORMAT, "index": index})
}

/// Numbers `reasoning_details` the same way in both decoders: a run of
/// thought parts is one block, and the signature on the visible text that
/// follows belongs to that block; call signatures get blocks of their own.
#[derive(Debug, Default)]
pub(super) struct ReasoningIndex {
    next: u32,
    open: Option<u32>,
}

impl ReasoningIndex {
    /// The block of a thought part: the open one, or a new one.
    pub(super) fn thought(&mut self) -> u32 {
        match self.open {
            Some(k) => k,
            None => {
                let k = self.fresh();
                self.open = Some(k);
                k
            }
        }
    }

    /// The block of a signature on visible text; ends the run.
    pub(super) fn text_signature(&mut self) -> u32 {
        let k = self.open.take();
        k.unwrap_or_else(|| self.fresh())
    }

    /// A new block that is not open to thoughts; ends the run.
    pub(super) fn fresh(&mut self) -> u32 {
        self.open = None;
        self.next += 1;
        self.next - 1
    }

    /// Ends the run without a block.
    pub(super) fn close(&mut self) {
        self.open = None;
    }
}

/// Gemini's usage in OpenAI's terms: thoughts are completion (and reasoning)
/// tokens; server-tool prompt tokens are prompt tokens.
pub fn usage(u: UsageMetadata) -> Usage {
    let prompt = u.prompt_token_count + u.tool_use_prompt_token_count;
    let completion = u.candidates_token_count + u.thoughts_token_count;
    Usage {
        prompt_tokens: prompt,
        completion_tokens: completion,
        total_tokens: prompt + completion,
        prompt_tokens_details: Some(PromptTokensDetails {
            cached_tokens: Some(u.cached_content_token_count),
            ..PromptTokensDetails::default()
        }),
        completion_tokens_details: Some(CompletionTokensDetails {
            reasoning_tokens: Some(u.thoughts_token_count),
            ..CompletionTokensDetails::default()
        }),
        ..Usage::default()
    }
}

#[cfg(test)]
#[path = "decode_tests.rs"]
mod tests;
