//! Canonical request to an OpenAI Chat Completions body.
//!
//! The body is a borrowed view of the canonical request: nothing is cloned
//! unless a provider's quirks need a changed field, and the same canonical
//! request can be encoded again for a fallback.

use std::borrow::Cow;

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use switchyard_api::chat::{Reasoning, Stop, Tool, ToolCall};
use switchyard_api::{ChatRequest, Content, Extra, Message, Role};

use super::Quirks;

#[derive(Serialize)]
struct Body<'a> {
    model: &'a str,
    messages: Vec<OaMessage<'a>>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    stream: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream_options: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_completion_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_p: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_k: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    frequency_penalty: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    presence_penalty: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    repetition_penalty: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    min_p: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_a: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    seed: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    random_seed: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stop: Option<&'a Stop>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tools: Option<&'a [Tool]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_choice: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_format: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reasoning_effort: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<String>,
    #[serde(flatten)]
    extra: Cow<'a, Extra>,
}

/// A message without OpenRouter's reasoning fields, which OpenAI's strict
/// schema refuses.
#[derive(Serialize)]
struct OaMessage<'a> {
    role: Role,
    #[serde(skip_serializing_if = "Option::is_none")]
    content: Option<&'a Content>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_calls: Option<Cow<'a, [ToolCall]>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_call_id: Option<Cow<'a, str>>,
    #[serde(flatten)]
    extra: Cow<'a, Extra>,
}

/// Message fields no provider of the family should see again: DeepSeek
/// refuses its own `reasoning_content` sent back in history.
const ANSWER_ONLY_MESSAGE_FIELDS: &[&str] = &["reasoning_content"];

/// Request fields Groq refuses with a 400.
const LOGPROB_FIELDS: &[&str] = &["logprobs", "top_logprobs", "logit_bias"];

/// `extra` without `fields`, copied only when one of them is present.
fn without<'a>(extra: &'a Extra, fields: &[&str]) -> Cow<'a, Extra> {
    if fields.iter().any(|f| extra.contains_key(*f)) {
        let mut owned = extra.clone();
        for f in fields {
            owned.remove(*f);
        }
        Cow::Owned(owned)
    } else {
        Cow::Borrowed(extra)
    }
}

impl<'a> OaMessage<'a> {
    fn new(m: &'a Message, quirks: &Quirks) -> Self {
        let short = quirks.short_tool_call_ids;
        OaMessage {
            role: m.role,
            content: m.content.as_ref(),
            name: m.name.as_deref().filter(|_| !quirks.refuses_logprobs),
            tool_calls: m.tool_calls.as_deref().map(|calls| {
                if short && calls.iter().any(|c| !is_short_id(&c.id)) {
                    Cow::Owned(
                        calls.iter().map(|c| ToolCall { id: short_id(&c.id).into_owned(), ..c.clone() }).collect(),
                    )
                } else {
                    Cow::Borrowed(calls)
                }
            }),
            tool_call_id: m.tool_call_id.as_deref().map(|id| if short { short_id(id) } else { Cow::Borrowed(id) }),
            extra: without(&m.extra, ANSWER_ONLY_MESSAGE_FIELDS),
        }
    }
}

/// Mistral's tool-call ids: exactly nine ASCII letters or digits.
fn is_short_id(id: &str) -> bool {
    id.len() == 9 && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// A nine-character id derived from `id`, the same for the assistant's call
/// and the tool result that answers it, so history from another provider
/// (`call_...`, `toolu_...`) still pairs up.
fn short_id(id: &str) -> Cow<'_, str> {
    if is_short_id(id) {
        return Cow::Borrowed(id);
    }
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let digest = Sha256::digest(id.as_bytes());
    Cow::Owned(digest.iter().take(9).map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()])).collect())
}

/// The effort to send as OpenAI's `reasoning_effort`: the effort in either
/// spelling; else, for a token budget, the effort whose budget ratio
/// (high 0.8, medium 0.5, low 0.2 of `max_tokens`, reference §3.4) is
/// nearest; else `medium` when reasoning is merely enabled.
fn reasoning_effort(req: &ChatRequest) -> Option<&str> {
    let r = req.reasoning.as_ref();
    if let Some(effort) = r.and_then(|r: &Reasoning| r.effort.as_deref()).or(req.reasoning_effort.as_deref()) {
        return Some(effort);
    }
    if let Some(budget) = r.and_then(|r| r.max_tokens) {
        let ratio = match req.max_output_tokens() {
            Some(cap) if cap > 0 => f64::from(budget) / f64::from(cap),
            // No cap to measure against: judge the budget by its size.
            _ => f64::from(budget) / 20_000.0,
        };
        return Some(if ratio >= 0.65 {
            "high"
        } else if ratio >= 0.35 {
            "medium"
        } else {
            "low"
        });
    }
    r.and_then(|r| r.enabled).filter(|e| *e).map(|_| "medium")
}

/// End-user ids are hashed so the raw id never leaves the gateway.
pub fn hash_user(user: &str) -> String {
    let digest = Sha256::digest(user.as_bytes());
    hex::encode(&digest[..16])
}

/// Encodes the request body for `POST {base}/chat/completions`.
pub fn encode(req: &ChatRequest, upstream_model: &str, quirks: &Quirks) -> Result<Vec<u8>, serde_json::Error> {
    let stream = req.is_stream();
    let keep_extended = !quirks.openai_sampling_only;
    // OpenAI's newer models refuse `max_tokens`; the same cap goes as `max_completion_tokens`.
    let (max_tokens, max_completion_tokens) = if quirks.max_completion_tokens {
        (None, req.max_output_tokens())
    } else {
        (req.max_tokens, req.max_completion_tokens)
    };
    let extra = if quirks.refuses_logprobs { without(&req.extra, LOGPROB_FIELDS) } else { Cow::Borrowed(&req.extra) };
    let body = Body {
        model: upstream_model,
        messages: req.messages.iter().map(|m| OaMessage::new(m, quirks)).collect(),
        stream,
        stream_options: (stream && !quirks.no_stream_options).then(|| serde_json::json!({"include_usage": true})),
        max_tokens,
        max_completion_tokens,
        temperature: req.temperature,
        top_p: req.top_p,
        top_k: req.top_k.filter(|_| keep_extended),
        frequency_penalty: req.frequency_penalty,
        presence_penalty: req.presence_penalty,
        repetition_penalty: req.repetition_penalty.filter(|_| keep_extended),
        min_p: req.min_p.filter(|_| keep_extended),
        top_a: req.top_a.filter(|_| keep_extended),
        seed: req.seed.filter(|_| !quirks.random_seed),
        random_seed: req.seed.filter(|_| quirks.random_seed),
        stop: req.stop.as_ref(),
        tools: req.tools.as_deref(),
        tool_choice: req.tool_choice.as_ref(),
        response_format: req.response_format.as_ref(),
        reasoning_effort: reasoning_effort(req),
        user: req.user.as_deref().map(hash_user),
        extra,
    };
    serde_json::to_vec(&body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(body: &str) -> ChatRequest {
        serde_json::from_str(body).unwrap()
    }

    #[test]
    fn strips_openrouter_fields_and_keeps_unknown_ones() {
        let r = req(r#"{"model":"openai/gpt-4o","messages":[{"role":"user","content":"hi"}],
            "provider":{"order":["openai"]},"models":["a/b"],"transforms":[],"usage":{"include":true},
            "session_id":"s","logit_bias":{"1":2},"my_param":7,"user":"alice","stream":true,
            "reasoning":{"effort":"low"},"top_k":5}"#);
        let v: Value = serde_json::from_slice(&encode(&r, "gpt-4o-2024-08-06", &Quirks::default()).unwrap()).unwrap();
        assert_eq!(v["model"], "gpt-4o-2024-08-06");
        for gone in ["provider", "models", "transforms", "usage", "session_id", "reasoning"] {
            assert!(v.get(gone).is_none(), "{gone} leaked upstream");
        }
        assert_eq!(v["logit_bias"]["1"], 2);
        assert_eq!(v["my_param"], 7);
        assert_eq!(v["reasoning_effort"], "low");
        assert_eq!(v["stream_options"]["include_usage"], true);
        assert_eq!(v["top_k"], 5);
        assert_ne!(v["user"], "alice");
        assert_eq!(v["user"].as_str().unwrap().len(), 32);
    }

    #[test]
    fn openai_proper_drops_sampling_it_lacks() {
        let r = req(r#"{"messages":[{"role":"user","content":"hi"}],"top_k":5,"min_p":0.1,"temperature":0.3}"#);
        let q = Quirks { openai_sampling_only: true, ..Quirks::default() };
        let v: Value = serde_json::from_slice(&encode(&r, "m", &q).unwrap()).unwrap();
        assert!(v.get("top_k").is_none() && v.get("min_p").is_none());
        assert_eq!(v["temperature"], 0.3);
        assert!(v.get("stream").is_none() && v.get("stream_options").is_none());
    }

    #[test]
    fn messages_keep_tool_calls_and_drop_reasoning() {
        let r = req(r#"{"messages":[{"role":"assistant","content":null,"reasoning":"hmm",
            "tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{}"}}]},
            {"role":"tool","tool_call_id":"call_1","content":"42"}]}"#);
        let v: Value = serde_json::from_slice(&encode(&r, "m", &Quirks::default()).unwrap()).unwrap();
        assert_eq!(v["messages"][0]["tool_calls"][0]["id"], "call_1");
        assert!(v["messages"][0].get("reasoning").is_none());
        assert_eq!(v["messages"][1]["tool_call_id"], "call_1");
    }

    const HISTORY: &str = r#"{"max_tokens":50,"seed":3,"logprobs":true,"top_logprobs":2,"messages":[
        {"role":"user","name":"ann","content":"hi"},
        {"role":"assistant","content":"x","reasoning_content":"thought"},
        {"role":"assistant","content":null,"tool_calls":[{"id":"toolu_01A","type":"function","function":{"name":"f","arguments":"{}"}},
            {"id":"abcDEF123","type":"function","function":{"name":"g","arguments":"{}"}}]},
        {"role":"tool","tool_call_id":"toolu_01A","content":"42"},
        {"role":"tool","tool_call_id":"abcDEF123","content":"43"}]}"#;

    fn encoded(q: &Quirks) -> Value {
        serde_json::from_slice(&encode(&req(HISTORY), "m", q).unwrap()).unwrap()
    }

    #[test]
    fn a_reasoning_budget_becomes_the_nearest_effort() {
        let effort = |body: &str| {
            let v: Value = serde_json::from_slice(&encode(&req(body), "m", &Quirks::default()).unwrap()).unwrap();
            v["reasoning_effort"].as_str().map(str::to_owned)
        };
        let m = r#""messages":[{"role":"user","content":"hi"}]"#;
        assert_eq!(
            effort(&format!(r#"{{{m},"max_tokens":10000,"reasoning":{{"max_tokens":8000}}}}"#)).as_deref(),
            Some("high")
        );
        assert_eq!(
            effort(&format!(r#"{{{m},"max_tokens":10000,"reasoning":{{"max_tokens":5000}}}}"#)).as_deref(),
            Some("medium")
        );
        assert_eq!(
            effort(&format!(r#"{{{m},"max_tokens":10000,"reasoning":{{"max_tokens":1000}}}}"#)).as_deref(),
            Some("low")
        );
        assert_eq!(effort(&format!(r#"{{{m},"reasoning":{{"max_tokens":2000}}}}"#)).as_deref(), Some("low"));
        assert_eq!(effort(&format!(r#"{{{m},"reasoning":{{"enabled":true}}}}"#)).as_deref(), Some("medium"));
        assert_eq!(
            effort(&format!(r#"{{{m},"reasoning":{{"effort":"minimal","max_tokens":9000}}}}"#)).as_deref(),
            Some("minimal")
        );
        assert_eq!(effort(&format!(r#"{{{m}}}"#)), None);
    }

    #[test]
    fn reasoning_content_never_goes_back_upstream() {
        let v = encoded(&Quirks::default());
        assert!(v["messages"][1].get("reasoning_content").is_none());
        assert_eq!(v["messages"][1]["content"], "x");
        assert_eq!(v["max_tokens"], 50);
        assert_eq!(v["logprobs"], true);
        assert_eq!(v["messages"][0]["name"], "ann");
    }

    #[test]
    fn openai_takes_the_cap_as_max_completion_tokens() {
        let v = encoded(&Quirks { max_completion_tokens: true, ..Quirks::default() });
        assert!(v.get("max_tokens").is_none());
        assert_eq!(v["max_completion_tokens"], 50);
    }

    #[test]
    fn groq_gets_no_logprobs_or_names() {
        let v = encoded(&Quirks { refuses_logprobs: true, ..Quirks::default() });
        assert!(v.get("logprobs").is_none() && v.get("top_logprobs").is_none());
        assert!(v["messages"][0].get("name").is_none());
    }

    #[test]
    fn mistral_gets_random_seed_and_nine_character_tool_ids_that_still_pair() {
        let v = encoded(&Quirks { random_seed: true, short_tool_call_ids: true, ..Quirks::default() });
        assert!(v.get("seed").is_none());
        assert_eq!(v["random_seed"], 3);
        let call = v["messages"][2]["tool_calls"][0]["id"].as_str().unwrap();
        assert!(is_short_id(call), "{call}");
        assert_eq!(v["messages"][3]["tool_call_id"], call);
        assert_eq!(v["messages"][2]["tool_calls"][1]["id"], "abcDEF123", "valid ids are kept");
        assert_eq!(v["messages"][4]["tool_call_id"], "abcDEF123");
    }
}
