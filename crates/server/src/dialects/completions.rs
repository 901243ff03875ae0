//! `POST /api/v1/completions`: legacy prompt completions. The prompt
//! becomes one user message of a chat request; the answer comes back as
//! `text_completion` choices (streamed as `text_completion` chunks, then
//! the usage chunk and `[DONE]`, like Chat).

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use bytes::{BufMut, Bytes, BytesMut};
use serde::Serialize;
use serde_json::{Map, Value, json};
use switchyard_api::{ChatChunk, ChatRequest, ChatResponse, ErrorDetail, Extra, Usage};

use crate::chat::dialect::{Dialect, StreamWriter, sse_data};
use crate::error::GatewayError;
use crate::state::AppState;

/// The handler.
pub async fn completions(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Body) -> Response {
    let started = Instant::now();
    let accepted = async {
        let (caller, bytes) = crate::accept::accept_inference(&state, &headers, body).await?;
        Ok::<_, GatewayError>((caller, to_chat(&bytes)?))
    };
    match accepted.await {
        Ok((caller, req)) => crate::chat::serve(state, &headers, caller, req, started, Arc::new(Completions)).await,
        Err(e) => e.into_response(),
    }
}

/// The chat request a legacy completion body asks for: the body as is,
/// with `prompt` as the one user message.
pub fn to_chat(bytes: &[u8]) -> Result<ChatRequest, GatewayError> {
    let bad = |m: &str| Err(GatewayError::BadRequest(m.into()));
    let mut body: Map<String, Value> = crate::body::parse_json(bytes)?;
    if body.contains_key("messages") {
        return bad("`messages` is not accepted by /completions: send `prompt`, or use /chat/completions");
    }
    let prompt = match body.remove("prompt") {
        None | Some(Value::Null) => return bad("`prompt` is required"),
        Some(Value::String(s)) => s,
        Some(Value::Array(mut a)) if a.len() == 1 && a[0].is_string() => match a.pop() {
            Some(Value::String(s)) => s,
            _ => return bad("`prompt` must be a string"),
        },
        Some(Value::Array(_)) => {
            return bad(
                "`prompt` must be one string (or an array of exactly one string): one request completes one prompt",
            );
        }
        Some(_) => return bad("`prompt` must be a string"),
    };
    if body.remove("echo").is_some_and(|e| e == true) {
        return bad("`echo` is not supported: the answer never repeats the prompt");
    }
    if body.remove("suffix").is_some_and(|s| s.as_str().is_some_and(|s| !s.is_empty())) {
        return bad("`suffix` (fill-in-the-middle) is not supported");
    }
    body.remove("best_of");
    // Legacy `logprobs: N` asks for the N most likely tokens; Chat splits that in two.
    if let Some(n) = body.get("logprobs").and_then(Value::as_u64) {
        body.insert("logprobs".into(), Value::from(n > 0));
        if n > 0 {
            body.insert("top_logprobs".into(), Value::from(n));
        }
    }
    body.insert("messages".into(), json!([{"role": "user", "content": prompt}]));
    serde_path_to_error::deserialize(Value::Object(body)).map_err(|e| {
        let path = e.path().to_string();
        GatewayError::BadRequest(format!("Invalid value for `{path}`: {}", e.into_inner()))
    })
}

/// A `text_completion` body or chunk.
#[derive(Serialize)]
struct TextCompletion<'a> {
    id: &'a str,
    object: &'static str,
    created: u64,
    model: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    provider: Option<&'a str>,
    choices: Vec<TextChoice>,
    #[serde(skip_serializing_if = "Option::is_none")]
    usage: Option<&'a Usage>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a ErrorDetail>,
    #[serde(flatten)]
    extra: Extra,
}

/// One completion choice.
#[derive(Serialize)]
struct TextChoice {
    index: u32,
    text: String,
    finish_reason: Option<String>,
    native_finish_reason: Option<String>,
    logprobs: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<ErrorDetail>,
}

impl<'a> TextCompletion<'a> {
    fn of_chunk(c: &'a ChatChunk, choices: Vec<TextChoice>) -> Self {
        let mut extra = Extra::new();
        if let Some(meta) = c.extra.get("openrouter_metadata") {
            extra.insert("openrouter_metadata".into(), meta.clone());
        }
        TextCompletion {
            id: &c.id,
            object: "text_completion",
            created: c.created,
            model: &c.model,
            provider: c.provider.as_deref(),
            choices,
            usage: c.usage.as_ref(),
            error: c.error.as_ref(),
            extra,
        }
    }
}

/// The legacy completions dialect.
struct Completions;

impl Dialect for Completions {
    fn whole(&self, resp: ChatResponse) -> Result<Bytes, GatewayError> {
        let choices = resp
            .choices
            .into_iter()
            .map(|c| TextChoice {
                index: c.index,
                text: c.message.content.unwrap_or_default(),
                finish_reason: c.finish_reason,
                native_finish_reason: c.native_finish_reason,
                logprobs: c.logprobs.filter(|l| !l.is_null()),
                error: c.error,
            })
            .collect();
        let mut extra = Extra::new();
        if let Some(meta) = resp.extra.get("openrouter_metadata") {
            extra.insert("openrouter_metadata".into(), meta.clone());
        }
        let body = TextCompletion {
            id: &resp.id,
            object: "text_completion",
            created: resp.created,
            model: &resp.model,
            provider: resp.provider.as_deref(),
            choices,
            usage: resp.usage.as_ref(),
            error: None,
            extra,
        };
        serde_json::to_vec(&body).map(Bytes::from).map_err(|e| GatewayError::Internal(e.to_string()))
    }

    fn stream(&self) -> Box<dyn StreamWriter> {
        Box::new(TextChunks)
    }
}

/// `data: {text_completion chunk}` per chunk with text or a finish, then
/// the usage chunk and `data: [DONE]`.
struct TextChunks;

impl StreamWriter for TextChunks {
    fn chunk(&mut self, c: &ChatChunk, out: &mut BytesMut) {
        let choices: Vec<TextChoice> = c
            .choices
            .iter()
            .filter(|ch| ch.finish_reason.is_some() || ch.delta.content.as_deref().is_some_and(|t| !t.is_empty()))
            .map(|ch| TextChoice {
                index: ch.index,
                text: ch.delta.content.clone().unwrap_or_default(),
                finish_reason: ch.finish_reason.clone(),
                native_finish_reason: ch.native_finish_reason.clone(),
                logprobs: ch.logprobs.clone().filter(|l| !l.is_null()),
                error: None,
            })
            .collect();
        // Reasoning-only or role-only chunks have nothing to say here.
        if choices.is_empty() && c.error.is_none() {
            return;
        }
        sse_data(&TextCompletion::of_chunk(c, choices), out);
    }

    fn finish(&mut self, last: &ChatChunk, out: &mut BytesMut) {
        sse_data(&TextCompletion::of_chunk(last, Vec::new()), out);
        out.put_slice(b"data: [DONE]\n\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chat(body: Value) -> Result<ChatRequest, GatewayError> {
        to_chat(body.to_string().as_bytes())
    }

    #[test]
    fn prompt_becomes_one_user_message_and_the_rest_passes() {
        let c = chat(json!({"model": "a/b", "prompt": "Once upon", "max_tokens": 9, "stop": ["\n"], "logprobs": 2,
            "suffix": null, "best_of": 1, "custom": 1}))
        .unwrap();
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["messages"], json!([{"role": "user", "content": "Once upon"}]));
        assert_eq!((v["max_tokens"].as_u64(), v["stop"].clone()), (Some(9), json!(["\n"])));
        assert_eq!((v["logprobs"].as_bool(), v["top_logprobs"].as_u64()), (Some(true), Some(2)));
        assert_eq!(v["custom"], 1);
        assert!(v.get("best_of").is_none() && v.get("suffix").is_none());
        assert_eq!(chat(json!({"prompt": ["only"]})).unwrap().messages[0].content.as_ref().unwrap().text(), "only");
    }

    #[test]
    fn bad_prompts_are_refused() {
        let err = |b: Value| chat(b).unwrap_err().to_string();
        assert!(err(json!({"model": "a/b"})).contains("`prompt` is required"));
        assert!(err(json!({"prompt": ["a", "b"]})).contains("exactly one"));
        assert!(err(json!({"prompt": 5})).contains("must be a string"));
        assert!(err(json!({"prompt": "x", "messages": []})).contains("`messages`"));
        assert!(err(json!({"prompt": "x", "echo": true})).contains("`echo`"));
        assert!(err(json!({"prompt": "x", "temperature": "hot"})).contains("`temperature`"));
    }

    #[test]
    fn answers_and_chunks_are_text_completions() {
        let resp: ChatResponse = serde_json::from_value(json!({"id": "gen-1", "created": 3, "model": "a/b",
            "provider": "P", "choices": [{"index": 0, "message": {"content": "Hi", "reasoning": "r"},
            "finish_reason": "stop", "native_finish_reason": "end_turn"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}}))
        .unwrap();
        let v: Value = serde_json::from_slice(&Completions.whole(resp).unwrap()).unwrap();
        assert_eq!(v["object"], "text_completion");
        assert_eq!(
            v["choices"],
            json!([{"index": 0, "text": "Hi", "finish_reason": "stop",
            "native_finish_reason": "end_turn", "logprobs": null}])
        );
        assert_eq!(v["usage"]["total_tokens"], 3);

        let mut w = TextChunks;
        let mut out = BytesMut::new();
        let chunk = |delta: Value| -> ChatChunk {
            serde_json::from_value(json!({"id": "gen-1", "model": "a/b", "choices": [{"index": 0, "delta": delta}]}))
                .unwrap()
        };
        w.chunk(&chunk(json!({"role": "assistant", "reasoning": "hm"})), &mut out);
        assert!(out.is_empty());
        w.chunk(&chunk(json!({"content": "Hi"})), &mut out);
        let last: ChatChunk =
            serde_json::from_value(json!({"id": "gen-1", "usage": {"prompt_tokens": 1, "completion_tokens": 1}}))
                .unwrap();
        w.finish(&last, &mut out);
        let text = String::from_utf8(out.to_vec()).unwrap();
        let events: Vec<&str> = text.split("\n\n").filter(|e| !e.is_empty()).collect();
        assert_eq!(events.len(), 3);
        let first: Value = serde_json::from_str(events[0].strip_prefix("data: ").unwrap()).unwrap();
        assert_eq!(
            (first["object"].as_str(), first["choices"][0]["text"].as_str()),
            (Some("text_completion"), Some("Hi"))
        );
        assert!(events[1].contains("\"usage\"") && events[1].contains("\"choices\":[]"));
        assert_eq!(events[2], "data: [DONE]");
    }
}
