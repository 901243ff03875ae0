//! Anthropic Messages (`POST /v1/messages`), spoken natively.
//!
//! The canonical request (OpenAI Chat Completions plus OpenRouter fields) is
//! translated into a Messages body; answers, stream events and errors come
//! back in canonical form. Concept mapping: the provider reference's
//! `anthropic-messages.md`.
//!
//! Structured output (`response_format` `json_schema` / `json_object`) is done
//! with a forced tool named [`JSON_TOOL`]: it works on every Claude model
//! without a beta flag (the newer `output_config.format` is refused by older
//! models), and the decoders turn that tool's input back into message text so
//! the client sees an ordinary JSON answer.

pub mod decode;
pub mod encode;
pub mod errors;
pub mod stream;
pub mod web_search;
pub mod wire;

use std::borrow::Cow;

use serde_json::{Value, json};
use switchyard_api::ChatRequest;

use crate::error::ProviderError;
use encode::unsupported;
use wire::ToolDef;

/// The `anthropic-version` header value every request carries.
pub const API_VERSION: &str = "2023-06-01";

/// The `format` of `reasoning_details` produced from (and accepted back as)
/// Claude thinking blocks; OpenRouter's spelling.
pub const REASONING_FORMAT: &str = "anthropic-claude-v1";

/// Name of the synthetic tool that carries structured output. Reserved: a
/// client tool with this name next to a `response_format` is refused, so the
/// decoders never mistake a real tool call for the answer.
pub const JSON_TOOL: &str = "json_response";

/// What the decoders must know about the request they are answering. Both
/// are derived from the request alone, so encode and decode always agree.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DecodeOptions {
    /// The client asked for reasoning to be used but not returned
    /// (`reasoning.exclude` or `include_reasoning: false`).
    pub exclude_reasoning: bool,
    /// Structured output travels as the [`JSON_TOOL`] call; its input is the
    /// answer text.
    pub json_tool: bool,
}

impl DecodeOptions {
    /// The options matching how [`encode::encode`] encodes `req`.
    pub fn for_request(req: &ChatRequest) -> DecodeOptions {
        DecodeOptions { exclude_reasoning: req.reasoning_excluded(), json_tool: wants_json(req) }
    }
}

/// Told to the model when structured output cannot force the tool (thinking
/// on, or the client's own tools in play).
pub(crate) const JSON_NOTE: &str = "Give your final answer by calling the `json_response` tool with it as the input.";

/// True when `response_format` asks for JSON, i.e. the [`JSON_TOOL`] is used.
pub fn wants_json(req: &ChatRequest) -> bool {
    let kind = req.response_format.as_ref().and_then(|f| f.get("type")).and_then(Value::as_str);
    matches!(kind, Some("json_schema" | "json_object"))
}

/// The synthetic tool carrying structured output, if JSON was asked for.
pub(crate) fn response_tool(req: &ChatRequest) -> Result<Option<ToolDef<'_>>, ProviderError> {
    let Some(rf) = &req.response_format else { return Ok(None) };
    let (schema, description) = match rf.get("type").and_then(Value::as_str) {
        Some("json_schema") => {
            let js = rf.get("json_schema");
            let schema = js.and_then(|j| j.get("schema"));
            if schema.and_then(|s| s.get("type")).is_some_and(|t| t != "object") {
                return Err(unsupported("structured output on Anthropic needs a schema whose root is an object"));
            }
            let description = js.and_then(|j| j.get("description")).and_then(Value::as_str);
            (schema.map_or_else(|| Cow::Owned(json!({"type": "object"})), Cow::Borrowed), description)
        }
        Some("json_object") => (Cow::Owned(json!({"type": "object"})), None),
        Some("text") | None => return Ok(None),
        Some(other) => return Err(unsupported(format!("response_format `{other}` is not supported by Anthropic"))),
    };
    let description = description.or(Some("Respond with your final answer as this tool's input."));
    Ok(Some(ToolDef { name: JSON_TOOL, description, input_schema: schema, cache_control: None }))
}
