//! Normalises the OpenAI-compatible family's spellings into OpenRouter's:
//! DeepSeek, xAI, Fireworks, vLLM and llama.cpp put reasoning in
//! `reasoning_content`; DeepSeek reports cache hits as
//! `prompt_cache_hit_tokens`; Perplexity and xAI list sources as top-level
//! `citations`, which OpenRouter returns as `url_citation` annotations.

use serde_json::{Value, json};
use switchyard_api::usage::PromptTokensDetails;
use switchyard_api::{ChatChunk, ChatResponse, Extra, Usage};

/// Moves `reasoning_content` into `reasoning` when the latter is absent.
fn reasoning_from(extra: &mut Extra, reasoning: &mut Option<String>) {
    match extra.remove("reasoning_content") {
        Some(Value::String(r)) if reasoning.is_none() && !r.is_empty() => *reasoning = Some(r),
        _ => {}
    }
}

/// Cached tokens from DeepSeek's `prompt_cache_hit_tokens`.
fn usage(u: &mut Usage) {
    if u.cached_tokens() == 0
        && let Some(hit) = u.extra.get("prompt_cache_hit_tokens").and_then(Value::as_u64)
        && hit > 0
    {
        let details = u.prompt_tokens_details.get_or_insert_with(PromptTokensDetails::default);
        details.cached_tokens = Some(hit);
    }
}

/// `citations: [url, ...]` as OpenRouter's `url_citation` annotations.
fn annotations(citations: &Value) -> Option<Value> {
    let urls = citations.as_array()?;
    let list: Vec<Value> = urls
        .iter()
        .filter_map(Value::as_str)
        .map(|url| json!({"type": "url_citation", "url_citation": {"url": url, "title": url}}))
        .collect();
    (!list.is_empty()).then_some(Value::Array(list))
}

/// Normalises a whole answer.
pub fn response(resp: &mut ChatResponse) {
    let cites = resp.extra.get("citations").and_then(annotations);
    for choice in &mut resp.choices {
        let m = &mut choice.message;
        reasoning_from(&mut m.extra, &mut m.reasoning);
        if let Some(a) = &cites
            && !m.extra.contains_key("annotations")
        {
            m.extra.insert("annotations".into(), a.clone());
        }
    }
    if let Some(u) = &mut resp.usage {
        usage(u);
    }
}

/// Normalises one stream chunk.
pub fn chunk(c: &mut ChatChunk) {
    let cites = c.extra.remove("citations").and_then(|v| annotations(&v));
    for choice in &mut c.choices {
        let d = &mut choice.delta;
        reasoning_from(&mut d.extra, &mut d.reasoning);
        if let Some(a) = &cites
            && !d.extra.contains_key("annotations")
        {
            d.extra.insert("annotations".into(), a.clone());
        }
    }
    if let Some(u) = &mut c.usage {
        usage(u);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deepseek_reasoning_and_cache_hits() {
        let mut r: ChatResponse = serde_json::from_str(
            r#"{"id":"x","choices":[{"index":0,"message":{"role":"assistant","content":"Hi","reasoning_content":"Let me think"},"finish_reason":"stop"}],
               "usage":{"prompt_tokens":13,"completion_tokens":5,"total_tokens":18,"prompt_cache_hit_tokens":8,"prompt_cache_miss_tokens":5}}"#,
        )
        .unwrap();
        response(&mut r);
        assert_eq!(r.choices[0].message.reasoning.as_deref(), Some("Let me think"));
        assert!(!r.choices[0].message.extra.contains_key("reasoning_content"));
        assert_eq!(r.usage.unwrap().cached_tokens(), 8);
    }

    #[test]
    fn stream_reasoning_content_and_citations() {
        let mut c: ChatChunk = serde_json::from_str(
            r#"{"id":"b","object":"chat.completion.chunk","created":1,"model":"deepseek-reasoner","citations":["https://a.example/1"],
               "choices":[{"index":0,"delta":{"content":null,"reasoning_content":"Okay, the user"},"finish_reason":null}]}"#,
        )
        .unwrap();
        chunk(&mut c);
        assert_eq!(c.choices[0].delta.reasoning.as_deref(), Some("Okay, the user"));
        assert_eq!(c.choices[0].delta.extra["annotations"][0]["url_citation"]["url"], "https://a.example/1");
        assert!(!c.extra.contains_key("citations"));
    }

    #[test]
    fn perplexity_citations_become_annotations() {
        let mut r: ChatResponse = serde_json::from_str(
            r#"{"id":"p","citations":["https://x.example","https://y.example"],
               "choices":[{"index":0,"message":{"role":"assistant","content":"See [1]."},"finish_reason":"stop"}]}"#,
        )
        .unwrap();
        response(&mut r);
        let a = &r.choices[0].message.extra["annotations"];
        assert_eq!(a.as_array().unwrap().len(), 2);
        assert_eq!(a[1]["type"], "url_citation");
    }
}
