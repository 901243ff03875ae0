//! Prompt token counts with a real BPE tokenizer (OpenAI's `o200k_base`,
//! whose vocabulary is compiled into the binary: nothing is downloaded).
//!
//! Two numbers come out of it:
//!
//! * [`estimate`]: the expected prompt tokens, used for routing (context
//!   windows) and for middle-out compression. Exact for `o200k_base` models;
//!   other tokenizers (Llama, Claude, Gemini...) usually land within ±30%.
//! * [`upper_bound`]: what spend reservation may hold against, which must
//!   not be exceeded by any model's tokenizer. It is the smaller of the text's
//!   byte count (byte-level BPE and byte-fallback SentencePiece never make a
//!   token of less than one byte) and [`MARGIN_NUM`]/[`MARGIN_DEN`] (1.5x)
//!   of the `o200k_base` count, the safety margin for tokenizers with smaller
//!   vocabularies, plus framing per message.
//!
//! The tokenizer is built once, on first use (about 100 ms; [`warm`] does
//! it ahead of the first request). Counting costs a few microseconds for a
//! short message: see the `prints_the_cost_per_request` test.

use std::sync::LazyLock;

use switchyard_api::{ChatRequest, Content, ContentPart, Message};
use tiktoken_rs::CoreBPE;

/// Tokens of chat framing per message (role, separators), as OpenAI counts.
pub const PER_MESSAGE: u64 = 4;
/// Tokens that prime the reply.
pub const PER_REQUEST: u64 = 3;
/// Numerator of the safety margin over the `o200k_base` count in [`upper_bound`].
pub const MARGIN_NUM: u64 = 3;
/// Denominator of the safety margin.
pub const MARGIN_DEN: u64 = 2;
/// Framing allowed per message in [`upper_bound`] (generous: some chat
/// templates spend a dozen tokens on a turn).
const BOUND_PER_MESSAGE: u64 = 8;
/// An image, audio clip or document page is billed at up to ~1,600 tokens.
const MEDIA_TOKENS: u64 = 1_600;

static BPE: LazyLock<Option<CoreBPE>> = LazyLock::new(|| tiktoken_rs::o200k_base().ok());

/// Builds the tokenizer now rather than on the first request.
pub fn warm() {
    LazyLock::force(&BPE);
}

/// `o200k_base` tokens of `text`. Texts of at most one character skip the
/// tokenizer (they are one token). Should the vocabulary fail to load
/// (it is compiled in, so it does not), falls back to bytes / 4.
pub fn count(text: &str) -> u64 {
    let mut chars = text.chars();
    match (chars.next(), chars.next()) {
        (None, _) => return 0,
        (Some(_), None) => return 1,
        _ => {}
    }
    match BPE.as_ref() {
        Some(bpe) => bpe.encode_ordinary(text).len() as u64,
        None => (text.len() as u64).div_ceil(4),
    }
}

/// A sound upper bound on the tokens of `text` for any model's tokenizer:
/// min(bytes, 1.5 x the `o200k_base` count).
pub fn text_upper_bound(text: &str) -> u64 {
    (text.len() as u64).min(count(text).saturating_mul(MARGIN_NUM).div_ceil(MARGIN_DEN))
}

/// Expected tokens of one message: its text (text parts only) and framing.
pub fn message_tokens(m: &Message) -> u64 {
    let text = match &m.content {
        Some(Content::Text(t)) => count(t),
        Some(Content::Parts(parts)) => parts
            .iter()
            .map(|p| match p {
                ContentPart::Text { text, .. } => count(text),
                _ => 0,
            })
            .sum(),
        None => 0,
    };
    let calls = m.tool_calls.as_ref().map_or(0, |c| serde_json::to_string(c).map_or(0, |s| count(&s)));
    text + calls + PER_MESSAGE
}

/// Expected prompt tokens of a chat request: every message, the tool
/// definitions and the response format, with framing.
pub fn estimate(req: &ChatRequest) -> u64 {
    let messages: u64 = req.messages.iter().map(message_tokens).sum();
    messages + definitions(req, count) + PER_REQUEST
}

/// An upper bound on a chat request's prompt tokens for any tokenizer (see
/// the module doc), given its [`estimate`] (so the text is not tokenized
/// twice): min(bytes, 1.5 x estimate) over all its text, media counted at
/// the most providers bill for one, generous framing per message.
pub fn upper_bound(req: &ChatRequest, estimate: u64) -> u64 {
    let mut bytes = 0u64;
    let mut media = 0u64;
    for m in &req.messages {
        match &m.content {
            Some(Content::Text(t)) => bytes += t.len() as u64,
            Some(Content::Parts(parts)) => {
                for p in parts {
                    match p {
                        ContentPart::Text { text, .. } => bytes += text.len() as u64,
                        _ => media += MEDIA_TOKENS,
                    }
                }
            }
            None => {}
        }
        bytes += m.tool_calls.as_ref().map_or(0, |c| serde_json::to_string(c).map_or(0, |s| s.len() as u64));
    }
    bytes += definitions(req, |s| s.len() as u64);
    let framing = PER_MESSAGE * req.messages.len() as u64 + PER_REQUEST;
    let counted = estimate.saturating_sub(framing);
    let text = bytes.min(counted.saturating_mul(MARGIN_NUM).div_ceil(MARGIN_DEN));
    text + media + BOUND_PER_MESSAGE * (req.messages.len() as u64 + 1)
}

/// Tokens of the tool definitions and response format, by `measure`.
fn definitions(req: &ChatRequest, measure: fn(&str) -> u64) -> u64 {
    let tools = req.tools.as_ref().map_or(0, |t| serde_json::to_string(t).map_or(0, |s| measure(&s)));
    let format = req.response_format.as_ref().map_or(0, |f| measure(&f.to_string()));
    tools + format
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use serde_json::json;

    use super::*;

    fn req(v: serde_json::Value) -> ChatRequest {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn counts_like_o200k_base() {
        assert_eq!(count(""), 0);
        assert_eq!(count("a"), 1);
        assert_eq!(count("hello world"), 2);
        // Known o200k_base counts.
        assert_eq!(count("The quick brown fox jumps over the lazy dog."), 10);
        assert_eq!(count("tiktoken is great!"), 6);
        // Non-Latin scripts take more tokens per character than bytes/4 says.
        assert!(count("日本語のテキストです") > 3);
    }

    #[test]
    fn upper_bound_is_above_the_estimate_and_below_the_bytes() {
        let texts = ["hello world", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "日本語のテキストです", "{\"a\": [1, 2, 3]}"];
        for t in texts {
            let b = text_upper_bound(t);
            assert!(b >= count(t), "{t}");
            assert!(b <= t.len() as u64, "{t}");
        }
        let r = req(json!({"model": "m", "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": [{"type": "text", "text": "Describe"}, {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA"}}]}
        ]}));
        let e = estimate(&r);
        assert!(upper_bound(&r, e) >= e + MEDIA_TOKENS);
        // Never more than the bytes (plus framing and media).
        let long = req(json!({"model": "m", "messages": [{"role": "user", "content": "x".repeat(10_000)}]}));
        let e = estimate(&long);
        assert!(upper_bound(&long, e) <= 10_000 + 2 * BOUND_PER_MESSAGE && upper_bound(&long, e) >= e);
    }

    #[test]
    fn estimate_counts_messages_tools_and_framing() {
        let plain = req(json!({"model": "m", "messages": [{"role": "user", "content": "hello world"}]}));
        assert_eq!(estimate(&plain), 2 + PER_MESSAGE + PER_REQUEST);
        let with_tools = req(json!({"model": "m", "messages": [{"role": "user", "content": "hello world"}],
            "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]}));
        assert!(estimate(&with_tools) > estimate(&plain) + 5);
        let call = req(json!({"model": "m", "messages": [{"role": "assistant", "content": null,
            "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{\"city\":\"Paris\"}"}}]}]}));
        assert!(message_tokens(&call.messages[0]) > PER_MESSAGE + 5);
    }

    /// Timing only (no timed asserts): run with `--nocapture` to see it.
    #[test]
    fn prints_the_cost_per_request() {
        warm();
        let short = req(json!({"model": "m", "messages": [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "What is the capital of France? Answer in one word."}
        ]}));
        let para = "Switchyard routes each request to the cheapest healthy endpoint that can serve it. ".repeat(50);
        let long = req(json!({"model": "m", "messages": [{"role": "user", "content": para}]}));
        for (name, r, n) in [("short (2 messages, 80 B)", &short, 2000u32), ("long (4 KB)", &long, 200)] {
            let t = Instant::now();
            let mut total = 0;
            for _ in 0..n {
                let e = estimate(r);
                total += e + upper_bound(r, e);
            }
            let per = t.elapsed() / n;
            println!("tokens: {name}: estimate + upper_bound = {per:?} per request ({total} tokens counted)");
        }
    }
}
