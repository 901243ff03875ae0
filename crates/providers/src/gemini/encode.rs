//! Canonical request to a Gemini `generateContent` body.
//!
//! The body borrows from the canonical request, so the same request can be
//! encoded again for a fallback and base64 payloads are never copied.
//! Canonical fields Gemini lacks (`logit_bias`, `min_p`, `top_a`,
//! `repetition_penalty`, `user`, `parallel_tool_calls`...) and every unknown
//! `extra` field are dropped: Gemini refuses unknown fields. Streaming is
//! chosen by the path ([`super::request_path`]), not the body.

use std::borrow::Cow;

use serde_json::{Value, json};
use switchyard_api::chat::{Stop, ToolCall};
use switchyard_api::{ChatRequest, Content as CanonContent, ContentPart, Message as CanonMessage, Role as CanonRole};

use super::wire::{
    Blob, Content, FileData, FunctionCall, FunctionCallingConfig, FunctionDeclaration, FunctionResponse,
    GenerationConfig, Part, PartData, Request, Role, SystemInstruction, Tool, ToolConfig,
};
use super::{ModelTraits, REASONING_FORMAT, SKIP_SIGNATURE, schema, thinking_config};
use crate::error::ProviderError;
use crate::translate::parse_data_uri;

pub(super) fn unsupported(msg: impl Into<String>) -> ProviderError {
    ProviderError::Unsupported(msg.into())
}

/// Encodes the body for `POST {base}/models/{model}:generateContent`.
pub fn encode(req: &ChatRequest, upstream_model: &str) -> Result<Vec<u8>, ProviderError> {
    let body = build(req, upstream_model)?;
    let fail = |e: serde_json::Error| unsupported(format!("request cannot be encoded: {e}"));
    // Native web search (the gateway's web plugin) adds the Google Search tool.
    if !super::grounding::wanted(req) {
        return serde_json::to_vec(&body).map_err(fail);
    }
    let mut body = serde_json::to_value(&body).map_err(fail)?;
    super::grounding::add_tool(&mut body);
    serde_json::to_vec(&body).map_err(fail)
}

/// Builds the body as a typed value (what [`encode`] serialises).
pub fn build<'a>(req: &'a ChatRequest, upstream_model: &str) -> Result<Request<'a>, ProviderError> {
    let traits = ModelTraits::of(upstream_model);
    let declarations = function_declarations(req, traits)?;
    let tool_config = tool_config(req, !declarations.is_empty())?;
    let mut config = generation_config(req, traits)?;
    let calls_possible =
        !declarations.is_empty() && tool_config.as_ref().is_none_or(|c| c.function_calling_config.mode != "NONE");
    if config.response_mime_type.is_some() && calls_possible && !traits.json_with_tools {
        return Err(unsupported(format!(
            "`{upstream_model}` cannot combine function calling with JSON output (`response_format`); \
             use tool_choice `none` or drop one of them"
        )));
    }
    config.thinking_config = thinking_config(req, traits, upstream_model)?;
    let contents = contents(&req.messages, traits)?;
    if contents.is_empty() {
        return Err(unsupported("Gemini needs at least one user or assistant message besides system instructions"));
    }
    Ok(Request {
        contents,
        system_instruction: system_instruction(&req.messages)?,
        tools: (!declarations.is_empty()).then(|| vec![Tool { function_declarations: declarations }]),
        tool_config,
        generation_config: (config != GenerationConfig::default()).then_some(config),
        safety_settings: req.extra.get("safety_settings").filter(|v| v.is_array()),
    })
}

/// Sampling, output cap, stop strings, candidates and output format;
/// thinking is added by [`build`].
fn generation_config<'a>(req: &'a ChatRequest, traits: ModelTraits) -> Result<GenerationConfig<'a>, ProviderError> {
    let n = match req.extra.get("n") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| unsupported("`n` must be a positive integer"))?,
        ),
    };
    if n.is_some_and(|n| n > 1) && req.is_stream() {
        return Err(unsupported("Gemini streams a single candidate; `n` above 1 needs a non-streaming request"));
    }
    let seed = req
        .seed
        .map(|s| i32::try_from(s).map_err(|_| unsupported(format!("seed {s} does not fit Gemini's 32-bit seed"))))
        .transpose()?;
    let mut config = GenerationConfig {
        temperature: req.temperature,
        top_p: req.top_p,
        top_k: req.top_k,
        max_output_tokens: req.max_output_tokens(),
        stop_sequences: stop_sequences(req.stop.as_ref()),
        candidate_count: n,
        seed,
        presence_penalty: req.presence_penalty,
        frequency_penalty: req.frequency_penalty,
        ..GenerationConfig::default()
    };
    let Some(rf) = &req.response_format else { return Ok(config) };
    match rf.get("type").and_then(Value::as_str) {
        Some("text") | None => {}
        Some("json_object") => config.response_mime_type = Some("application/json"),
        Some("json_schema") => {
            config.response_mime_type = Some("application/json");
            match rf.get("json_schema").and_then(|j| j.get("schema")) {
                Some(s) if traits.json_schema => config.response_json_schema = Some(s),
                Some(s) => config.response_schema = Some(schema::to_openapi(s)),
                None => {}
            }
        }
        Some(other) => return Err(unsupported(format!("response_format `{other}` is not supported by Gemini"))),
    }
    Ok(config)
}

/// System and developer messages, wherever they appear, as the text parts
/// of `systemInstruction`.
fn system_instruction(msgs: &[CanonMessage]) -> Result<Option<SystemInstruction<'_>>, ProviderError> {
    let mut parts = Vec::new();
    for m in msgs.iter().filter(|m| matches!(m.role, CanonRole::System | CanonRole::Developer)) {
        for p in content_parts(m.content.as_ref())? {
            match p.data {
                PartData::Text(_) => parts.push(p),
                _ => return Err(unsupported("Gemini accepts only text in system messages")),
            }
        }
    }
    Ok((!parts.is_empty()).then_some(SystemInstruction { parts }))
}

/// The conversation as user/model turns. Function responses ride in user
/// turns; consecutive turns of one role are merged.
fn contents(msgs: &[CanonMessage], traits: ModelTraits) -> Result<Vec<Content<'_>>, ProviderError> {
    let mut out: Vec<Content<'_>> = Vec::with_capacity(msgs.len());
    for (i, m) in msgs.iter().enumerate() {
        let (role, parts) = match m.role {
            CanonRole::System | CanonRole::Developer => continue,
            CanonRole::User => (Role::User, content_parts(m.content.as_ref())?),
            CanonRole::Assistant => (Role::Model, model_parts(m, traits)?),
            CanonRole::Tool => (Role::User, vec![function_response(m, &msgs[..i])?]),
            CanonRole::Function => {
                return Err(unsupported("`function` messages are not supported by Gemini; use `tool` messages"));
            }
        };
        if parts.is_empty() {
            continue; // Gemini refuses turns without parts
        }
        match out.last_mut() {
            Some(last) if last.role == role => last.parts.extend(parts),
            _ => out.push(Content { role, parts }),
        }
    }
    Ok(out)
}

/// Text or content parts; empty text is skipped.
fn content_parts(content: Option<&CanonContent>) -> Result<Vec<Part<'_>>, ProviderError> {
    match content {
        None => Ok(Vec::new()),
        Some(CanonContent::Text(t)) if t.is_empty() => Ok(Vec::new()),
        Some(CanonContent::Text(t)) => Ok(vec![Part::new(PartData::Text(Cow::Borrowed(t)))]),
        Some(CanonContent::Parts(parts)) => {
            parts.iter().filter_map(|p| part_data(p).transpose()).map(|d| d.map(Part::new)).collect()
        }
    }
}

fn part_data(part: &ContentPart) -> Result<Option<PartData<'_>>, ProviderError> {
    Ok(Some(match part {
        ContentPart::Text { text, .. } if text.is_empty() => return Ok(None),
        ContentPart::Text { text, .. } => PartData::Text(Cow::Borrowed(text)),
        ContentPart::ImageUrl { image_url, .. } => media(&image_url.url, "image")?,
        ContentPart::InputAudio { input_audio, .. } => audio(input_audio)?,
        ContentPart::File { file, .. } => match file.get("file_data").and_then(Value::as_str) {
            Some(data) => media(data, "file")?,
            None => return Err(unsupported("file parts need `file_data`; file ids are not supported by Gemini")),
        },
        ContentPart::VideoUrl { video_url, .. } => match video_url.get("url").and_then(Value::as_str) {
            Some(url) if is_youtube(url) => PartData::FileData(FileData { mime_type: None, file_uri: url }),
            Some(url) => media(url, "video")?,
            None => return Err(unsupported("video_url parts need `url`")),
        },
    }))
}

/// A data URI as `inlineData`; a Files API URI as `fileData`. AI Studio
/// does not fetch other URLs.
fn media<'a>(url: &'a str, what: &str) -> Result<PartData<'a>, ProviderError> {
    if let Some((mime_type, data)) = parse_data_uri(url) {
        Ok(PartData::InlineData(Blob { mime_type: Cow::Borrowed(mime_type), data }))
    } else if url.starts_with("https://generativelanguage.googleapis.com/") {
        Ok(PartData::FileData(FileData { mime_type: None, file_uri: url }))
    } else if url.starts_with("https://") || url.starts_with("http://") {
        Err(unsupported(format!(
            "Gemini (AI Studio) does not fetch {what} URLs; send the {what} as a base64 data URI \
             (data:<mime>;base64,...) or a Files API URI"
        )))
    } else {
        Err(unsupported(format!("{what} parts must be base64 data URIs or Files API URIs")))
    }
}

/// `data:<media>;base64,<data>` as its media type and data.
fn is_youtube(url: &str) -> bool {
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://")).unwrap_or("");
    ["www.youtube.com/", "youtube.com/", "m.youtube.com/", "youtu.be/"].iter().any(|h| rest.starts_with(h))
}

/// OpenAI `input_audio` (`{data, format}`, raw base64) as `inlineData`.
fn audio(input: &Value) -> Result<PartData<'_>, ProviderError> {
    let data = input.get("data").and_then(Value::as_str).ok_or_else(|| unsupported("input_audio needs `data`"))?;
    if let Some((mime_type, data)) = parse_data_uri(data) {
        return Ok(PartData::InlineData(Blob { mime_type: Cow::Borrowed(mime_type), data }));
    }
    let format =
        input.get("format").and_then(Value::as_str).ok_or_else(|| unsupported("input_audio needs `format`"))?;
    let mime_type = if format.contains('/') { Cow::Borrowed(format) } else { Cow::Owned(format!("audio/{format}")) };
    Ok(PartData::InlineData(Blob { mime_type, data }))
}

/// Text, then the function calls, with the thought signatures of the
/// client's `reasoning_details` back on the parts they came with.
fn model_parts(m: &CanonMessage, traits: ModelTraits) -> Result<Vec<Part<'_>>, ProviderError> {
    let sigs = Signatures::of(m.reasoning_details.as_ref());
    let mut parts = content_parts(m.content.as_ref())?;
    for call in m.tool_calls.iter().flatten() {
        let mut part = function_call(call)?;
        part.thought_signature = sigs.for_call(&call.id);
        parts.push(part);
    }
    if let Some(sig) = sigs.loose {
        let text = parts.iter().position(|p| matches!(p.data, PartData::Text(_)));
        let call =
            || parts.iter().position(|p| matches!(p.data, PartData::FunctionCall(_)) && p.thought_signature.is_none());
        if let Some(i) = text.or_else(call) {
            parts[i].thought_signature = Some(sig);
        }
    }
    if traits.signed_calls
        && let Some(first) = parts.iter_mut().find(|p| matches!(p.data, PartData::FunctionCall(_)))
        && first.thought_signature.is_none()
    {
        first.thought_signature = Some(SKIP_SIGNATURE);
    }
    Ok(parts)
}

/// Thought signatures found in an assistant message's `reasoning_details`.
#[derive(Debug, Default)]
struct Signatures<'a> {
    /// `(tool call id, signature)` from `reasoning.encrypted` items with an id.
    by_call: Vec<(&'a str, &'a str)>,
    /// The first signature tied to no call: it goes on the first part.
    loose: Option<&'a str>,
}

impl<'a> Signatures<'a> {
    /// Only Gemini's own details carry signatures Gemini accepts.
    fn of(details: Option<&'a Value>) -> Signatures<'a> {
        let mut out = Signatures::default();
        for item in details.and_then(Value::as_array).into_iter().flatten() {
            let field = |k: &str| item.get(k).and_then(Value::as_str).filter(|s| !s.is_empty());
            if field("format") != Some(REASONING_FORMAT) {
                continue;
            }
            let sig = match field("type") {
                Some("reasoning.encrypted") => field("data"),
                Some("reasoning.text") => field("signature"),
                _ => None,
            };
            match (sig, field("id")) {
                (Some(s), Some(id)) => out.by_call.push((id, s)),
                (Some(s), None) => out.loose = out.loose.or(Some(s)),
                (None, _) => {}
            }
        }
        out
    }

    fn for_call(&self, id: &str) -> Option<&'a str> {
        self.by_call.iter().find(|(i, _)| *i == id).map(|(_, s)| *s)
    }
}

fn function_call(call: &ToolCall) -> Result<Part<'_>, ProviderError> {
    let args = crate::translate::tool_arguments(call, "Gemini")?;
    Ok(Part::new(PartData::FunctionCall(FunctionCall { name: &call.function.name, args })))
}

/// A `tool` message as a `functionResponse`. Gemini matches responses to
/// calls by name and order, so the name comes from the most recent earlier
/// call with this id (or the message's `name`). The result must be an
/// object: JSON objects go as they are, anything else as `{"result": ...}`.
fn function_response<'a>(m: &'a CanonMessage, earlier: &'a [CanonMessage]) -> Result<Part<'a>, ProviderError> {
    let id = m.tool_call_id.as_deref().ok_or_else(|| unsupported("a `tool` message needs `tool_call_id`"))?;
    let called = earlier.iter().rev().flat_map(|e| e.tool_calls.iter().flatten()).find(|c| c.id == id);
    let name = called.map(|c| c.function.name.as_str()).or(m.name.as_deref()).ok_or_else(|| {
        unsupported(format!("tool message `{id}` answers no earlier tool call; Gemini needs the function name"))
    })?;
    let text = match &m.content {
        None => String::new(),
        Some(CanonContent::Parts(parts)) if parts.iter().any(|p| !matches!(p, ContentPart::Text { .. })) => {
            return Err(unsupported("Gemini accepts only text in tool results"));
        }
        Some(c) => c.text(),
    };
    let response = match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(o)) => Value::Object(o),
        Ok(other) => json!({"result": other}),
        Err(_) => json!({"result": text}),
    };
    Ok(Part::new(PartData::FunctionResponse(FunctionResponse { name, response })))
}

/// Function tools as declarations: plain JSON Schema where the model takes
/// it, else the OpenAPI subset. A function without parameters gets none
/// (Gemini refuses an object schema with no properties).
fn function_declarations(
    req: &ChatRequest,
    traits: ModelTraits,
) -> Result<Vec<FunctionDeclaration<'_>>, ProviderError> {
    let mut out = Vec::new();
    for t in req.tools.iter().flatten() {
        let f = match (t.kind.as_str(), &t.function) {
            ("function", Some(f)) => f,
            ("function", None) => return Err(unsupported("a function tool needs `function`")),
            (other, _) => return Err(unsupported(format!("tool type `{other}` is not supported by Gemini"))),
        };
        let params = f.parameters.as_ref().filter(|p| {
            p.get("properties").and_then(Value::as_object).is_some_and(|o| !o.is_empty())
                || p.get("$ref").is_some()
                || p.get("anyOf").is_some()
        });
        let (parameters, parameters_json_schema) = match params {
            Some(p) if traits.json_schema => (None, Some(p)),
            Some(p) => (Some(schema::to_openapi(p)), None),
            None => (None, None),
        };
        out.push(FunctionDeclaration {
            name: &f.name,
            description: f.description.as_deref(),
            parameters,
            parameters_json_schema,
        });
    }
    Ok(out)
}

/// `toolConfig.functionCallingConfig`; omitted without tools or choice.
fn tool_config<'a>(req: &'a ChatRequest, has_tools: bool) -> Result<Option<ToolConfig<'a>>, ProviderError> {
    if !has_tools {
        return Ok(None);
    }
    let config = |mode: &'static str, names: Option<Vec<&'a str>>| {
        Some(ToolConfig { function_calling_config: FunctionCallingConfig { mode, allowed_function_names: names } })
    };
    Ok(match &req.tool_choice {
        None => None,
        Some(Value::String(s)) => match s.as_str() {
            "auto" => config("AUTO", None),
            "none" => config("NONE", None),
            "required" | "any" => config("ANY", None),
            other => return Err(unsupported(format!("unknown tool_choice `{other}`"))),
        },
        Some(v) => match v.get("function").and_then(|f| f.get("name")).and_then(Value::as_str) {
            Some(name) => config("ANY", Some(vec![name])),
            None => return Err(unsupported("tool_choice must be none, auto, required or a named function")),
        },
    })
}

fn stop_sequences(stop: Option<&Stop>) -> Option<Vec<&str>> {
    match stop? {
        Stop::One(s) => Some(vec![s.as_str()]),
        Stop::Many(v) if v.is_empty() => None,
        Stop::Many(v) => Some(v.iter().map(String::as_str).collect()),
    }
}

#[cfg(test)]
#[path = "encode_tests.rs"]
mod tests;
