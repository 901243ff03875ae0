//! The `response` object: output items, status and usage, built from a
//! whole chat answer, and the pieces the stream writer shares with it.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};
use switchyard_api::responses::{
    IncompleteDetails, OutputContent, OutputItem, RequestEcho, ResponseError, ResponseObject, ResponseUsage,
    SummaryPart,
};
use switchyard_api::{ChatResponse, ErrorDetail, Extra, Usage};

/// Who answered: the fields every snapshot of the response repeats.
#[derive(Clone, Debug, Default)]
pub struct Head {
    /// The generation id.
    pub id: String,
    /// Unix seconds.
    pub created: u64,
    /// The serving catalog slug.
    pub model: String,
    /// The serving provider's display name.
    pub provider: Option<String>,
}

impl Head {
    /// Item ids derived from the generation id, so they are stable and
    /// unique: `msg_<gen>_<output index>`.
    pub fn item_id(&self, prefix: &str, index: usize) -> String {
        let base = self.id.strip_prefix("gen-").unwrap_or(&self.id);
        format!("{prefix}_{base}_{index}")
    }
}

/// How a finished response ended.
pub enum Outcome {
    /// Natural end or tool calls.
    Completed,
    /// Cut short: `max_output_tokens` or `content_filter`.
    Incomplete(&'static str),
    /// A failure after generation began.
    Failed(ErrorDetail),
}

impl Outcome {
    /// The outcome of a normalized finish reason.
    pub fn of(finish: Option<&str>) -> Outcome {
        match finish {
            Some("length") => Outcome::Incomplete("max_output_tokens"),
            Some("content_filter") => Outcome::Incomplete("content_filter"),
            _ => Outcome::Completed,
        }
    }

    /// The status finished items carry.
    pub fn item_status(&self) -> &'static str {
        match self {
            Outcome::Completed => "completed",
            Outcome::Incomplete(_) | Outcome::Failed(_) => "incomplete",
        }
    }
}

/// A response snapshot. `outcome: None` is a response still in progress.
pub fn response(
    head: &Head,
    echo: &RequestEcho,
    outcome: Option<Outcome>,
    output: Vec<OutputItem>,
    usage: Option<&Usage>,
    extra: Extra,
) -> ResponseObject {
    let (status, error, incomplete_details) = match outcome {
        None => ("in_progress", None, None),
        Some(Outcome::Completed) => ("completed", None, None),
        Some(Outcome::Incomplete(reason)) => ("incomplete", None, Some(IncompleteDetails { reason })),
        Some(Outcome::Failed(e)) => ("failed", Some(response_error(e)), None),
    };
    let output_text = output
        .iter()
        .filter_map(|item| match item {
            OutputItem::Message { content, .. } => Some(content),
            _ => None,
        })
        .flatten()
        .filter_map(|part| match part {
            OutputContent::OutputText { text, .. } => Some(text.as_str()),
            OutputContent::Refusal { .. } => None,
        })
        .collect();
    ResponseObject {
        id: head.id.clone(),
        object: "response",
        created_at: head.created,
        completed_at: (status != "in_progress").then(now_secs),
        status,
        error,
        incomplete_details,
        model: head.model.clone(),
        provider: head.provider.clone(),
        output,
        output_text,
        usage: usage.map(ResponseUsage::from),
        echo: echo.clone(),
        extra,
    }
}

/// OpenRouter's error as `response.error`: a Responses error code, the
/// message, and the metadata (`error_type`, `provider_name`...).
fn response_error(e: ErrorDetail) -> ResponseError {
    let code = match e.code {
        429 => "rate_limit_exceeded",
        400 | 413 => "invalid_prompt",
        _ => "server_error",
    };
    ResponseError { code: code.into(), message: e.message, metadata: e.metadata }
}

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// The whole answer as a `response` object.
pub fn whole(mut resp: ChatResponse, echo: &RequestEcho) -> ResponseObject {
    let head = Head { id: resp.id, created: resp.created, model: resp.model, provider: resp.provider };
    let mut output = Vec::new();
    let mut outcome = Outcome::Completed;
    if let Some(choice) = resp.choices.drain(..).next() {
        outcome = match choice.error {
            Some(e) => Outcome::Failed(e),
            None => Outcome::of(choice.finish_reason.as_deref()),
        };
        let status = outcome.item_status();
        let m = choice.message;
        let reasoning = m.reasoning.filter(|r| !r.is_empty());
        let encrypted = m.reasoning_details.as_ref().and_then(encrypted_from_details);
        if reasoning.is_some() || encrypted.is_some() {
            output.push(OutputItem::Reasoning {
                id: head.item_id("rs", output.len()),
                summary: reasoning.map(|text| vec![SummaryPart::SummaryText { text }]).unwrap_or_default(),
                encrypted_content: encrypted,
                status,
            });
        }
        let mut content = Vec::new();
        if let Some(text) = m.content.filter(|t| !t.is_empty()) {
            let annotations = m.extra.get("annotations").map(annotations).unwrap_or_default();
            content.push(OutputContent::OutputText { text, annotations, logprobs: Vec::new() });
        }
        if let Some(refusal) = m.refusal.filter(|t| !t.is_empty()) {
            content.push(OutputContent::Refusal { refusal });
        }
        if !content.is_empty() {
            output.push(OutputItem::Message {
                id: head.item_id("msg", output.len()),
                status,
                role: "assistant",
                content,
            });
        }
        for (k, call) in m.tool_calls.as_ref().and_then(Value::as_array).into_iter().flatten().enumerate() {
            let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
            let call_id = call["id"].as_str().map_or_else(|| head.item_id("call", k), str::to_owned);
            output.push(OutputItem::FunctionCall {
                id: head.item_id("fc", output.len()),
                call_id,
                name: text(&call["function"]["name"]),
                arguments: text(&call["function"]["arguments"]),
                status,
            });
        }
    }
    let mut extra = Extra::new();
    if let Some(meta) = resp.extra.remove("openrouter_metadata") {
        extra.insert("openrouter_metadata".into(), meta);
    }
    response(&head, echo, Some(outcome), output, resp.usage.as_ref(), extra)
}

/// Chat annotations (`{type: "url_citation", url_citation: {url, ...}}`)
/// in the Responses shape, where the fields sit flat.
pub fn annotations(v: &Value) -> Vec<Value> {
    v.as_array().map(|a| a.iter().map(annotation).collect()).unwrap_or_default()
}

/// One annotation, flattened.
pub fn annotation(a: &Value) -> Value {
    let Some(kind) = a.get("type").and_then(Value::as_str) else { return a.clone() };
    match a.get(kind).and_then(Value::as_object) {
        Some(inner) => {
            let mut flat = Map::new();
            flat.insert("type".into(), Value::from(kind));
            flat.extend(inner.iter().map(|(k, v)| (k.clone(), v.clone())));
            Value::Object(flat)
        }
        None => a.clone(),
    }
}

/// The provider's opaque reasoning state (signatures, encrypted thoughts)
/// carried as the reasoning item's `encrypted_content`: the whole
/// `reasoning_details` list, so sending the item back restores it as it was.
pub fn encrypted_from_details(details: &Value) -> Option<String> {
    let list = details.as_array().filter(|a| !a.is_empty())?;
    let opaque = list
        .iter()
        .any(|d| d["type"] == "reasoning.encrypted" || d.get("signature").is_some_and(|s| !s.is_null() && s != ""));
    opaque.then(|| Value::Array(list.clone()).to_string())
}

/// `encrypted_content` sent back, as `reasoning_details`: the list this
/// gateway produced, or another server's opaque string as one encrypted entry.
pub fn details_from_encrypted(data: String, id: Option<String>) -> Value {
    if let Ok(list @ Value::Array(_)) = serde_json::from_str::<Value>(&data) {
        return list;
    }
    let mut detail = json!({"type": "reasoning.encrypted", "data": data});
    if let Some(id) = id {
        detail["id"] = Value::from(id);
    }
    Value::Array(vec![detail])
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_api::responses::ResponsesRequest;

    fn echo() -> RequestEcho {
        let req: ResponsesRequest =
            serde_json::from_value(json!({"input": "x", "instructions": "Be terse.", "temperature": 0.2})).unwrap();
        RequestEcho::of(&req)
    }

    fn chat(v: Value) -> ChatResponse {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn text_reasoning_and_calls_become_items() {
        let r = chat(json!({"id": "gen-1-ab", "created": 5, "model": "a/b", "provider": "P",
            "choices": [{"message": {"role": "assistant", "content": "Hi", "reasoning": "Think.",
                "reasoning_details": [{"type": "reasoning.text", "text": "Think.", "signature": "SIG"}],
                "annotations": [{"type": "url_citation", "url_citation": {"url": "https://x", "title": "X"}}],
                "tool_calls": [{"id": "call_1", "type": "function",
                                "function": {"name": "f", "arguments": "{\"a\":1}"}}]},
                "finish_reason": "tool_calls"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 7, "total_tokens": 17, "cost": 0.5,
                "prompt_tokens_details": {"cached_tokens": 4}, "completion_tokens_details": {"reasoning_tokens": 2}}}));
        let v = serde_json::to_value(whole(r, &echo())).unwrap();
        assert_eq!(
            (v["id"].as_str(), v["object"].as_str(), v["status"].as_str()),
            (Some("gen-1-ab"), Some("response"), Some("completed"))
        );
        assert_eq!(v["output"][0]["type"], "reasoning");
        assert_eq!(v["output"][0]["id"], "rs_1-ab_0");
        assert_eq!(v["output"][0]["summary"], json!([{"type": "summary_text", "text": "Think."}]));
        let enc: Value = serde_json::from_str(v["output"][0]["encrypted_content"].as_str().unwrap()).unwrap();
        assert_eq!(enc[0]["signature"], "SIG");
        assert_eq!(
            v["output"][1]["content"][0],
            json!({"type": "output_text", "text": "Hi",
            "annotations": [{"type": "url_citation", "url": "https://x", "title": "X"}], "logprobs": []})
        );
        assert_eq!(
            v["output"][2],
            json!({"type": "function_call", "id": "fc_1-ab_2", "call_id": "call_1",
            "name": "f", "arguments": "{\"a\":1}", "status": "completed"})
        );
        assert_eq!(v["output_text"], "Hi");
        assert_eq!(
            v["usage"],
            json!({"input_tokens": 10, "input_tokens_details": {"cached_tokens": 4},
            "output_tokens": 7, "output_tokens_details": {"reasoning_tokens": 2}, "total_tokens": 17, "cost": 0.5})
        );
        assert_eq!((v["instructions"].as_str(), v["temperature"].as_f64()), (Some("Be terse."), Some(0.2)));
        assert_eq!((v["store"].as_bool(), v["tool_choice"].as_str()), (Some(false), Some("auto")));
        assert_eq!(v["text"], json!({"format": {"type": "text"}}));
    }

    #[test]
    fn length_is_incomplete_and_errors_fail() {
        let r = chat(json!({"id": "gen-2", "choices": [{"message": {"content": "tok"}, "finish_reason": "length"}]}));
        let v = serde_json::to_value(whole(r, &echo())).unwrap();
        assert_eq!(v["status"], "incomplete");
        assert_eq!(v["incomplete_details"], json!({"reason": "max_output_tokens"}));
        assert_eq!(v["output"][0]["status"], "incomplete");
        let r = chat(json!({"id": "gen-3", "choices": [{"message": {"content": null}, "finish_reason": "error",
            "error": {"code": 502, "message": "P: boom"}}]}));
        let v = serde_json::to_value(whole(r, &echo())).unwrap();
        assert_eq!(v["status"], "failed");
        assert_eq!(v["error"], json!({"code": "server_error", "message": "P: boom"}));
    }

    #[test]
    fn encrypted_content_round_trips_to_reasoning_details() {
        let details = json!([{"type": "reasoning.encrypted", "data": "D", "id": "call_1"}]);
        let enc = encrypted_from_details(&details).unwrap();
        assert_eq!(details_from_encrypted(enc, None), details);
        assert_eq!(
            details_from_encrypted("gAAAA".into(), Some("rs_1".into())),
            json!([{"type": "reasoning.encrypted", "data": "gAAAA", "id": "rs_1"}])
        );
        assert_eq!(encrypted_from_details(&json!([{"type": "reasoning.text", "text": "t"}])), None);
    }
}
