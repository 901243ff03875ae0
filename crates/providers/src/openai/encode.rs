//! Canonical request to an OpenAI Chat Completions body.
//!
//! The body is a borrowed view of the canonical request: nothing is cloned,
//! and the same canonical request can be encoded again for a fallback.

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
    extra: &'a Extra,
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
    tool_calls: Option<&'a [ToolCall]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_call_id: Option<&'a str>,
    #[serde(flatten)]
    extra: &'a Extra,
}

impl<'a> From<&'a Message> for OaMessage<'a> {
    fn from(m: &'a Message) -> Self {
        OaMessage {
            role: m.role,
            content: m.content.as_ref(),
            name: m.name.as_deref(),
            tool_calls: m.tool_calls.as_deref(),
            tool_call_id: m.tool_call_id.as_deref(),
            extra: &m.extra,
        }
    }
}

/// The effort to send as OpenAI's `reasoning_effort`, from either spelling.
fn reasoning_effort(req: &ChatRequest) -> Option<&str> {
    let from_obj = req.reasoning.as_ref().and_then(|r: &Reasoning| r.effort.as_deref());
    from_obj.or(req.reasoning_effort.as_deref())
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
    let body = Body {
        model: upstream_model,
        messages: req.messages.iter().map(OaMessage::from).collect(),
        stream,
        stream_options: (stream && !quirks.no_stream_options).then(|| serde_json::json!({"include_usage": true})),
        max_tokens: req.max_tokens,
        max_completion_tokens: req.max_completion_tokens,
        temperature: req.temperature,
        top_p: req.top_p,
        top_k: req.top_k.filter(|_| keep_extended),
        frequency_penalty: req.frequency_penalty,
        presence_penalty: req.presence_penalty,
        repetition_penalty: req.repetition_penalty.filter(|_| keep_extended),
        min_p: req.min_p.filter(|_| keep_extended),
        top_a: req.top_a.filter(|_| keep_extended),
        seed: req.seed,
        stop: req.stop.as_ref(),
        tools: req.tools.as_deref(),
        tool_choice: req.tool_choice.as_ref(),
        response_format: req.response_format.as_ref(),
        reasoning_effort: reasoning_effort(req),
        user: req.user.as_deref().map(hash_user),
        extra: &req.extra,
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
}
