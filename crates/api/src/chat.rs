//! The canonical chat request: OpenAI Chat Completions plus OpenRouter's fields.
//!
//! Fields the gateway interprets are typed; every other field lands in
//! `extra` and is passed on to the upstream untouched.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Extra;

/// `POST /api/v1/chat/completions` request body.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct ChatRequest {
    /// Catalog slug, optionally with a `:variant` suffix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Fallback models, tried after `model` in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub models: Option<Vec<String>>,
    /// The conversation.
    pub messages: Vec<Message>,
    /// Server-sent events instead of one JSON body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
    /// Accepted for compatibility; usage is always reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_options: Option<Value>,
    /// Legacy completion-token cap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// Completion-token cap (visible plus reasoning tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_completion_tokens: Option<u32>,
    /// Sampling temperature, 0..2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Nucleus sampling, (0, 1].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// Top-k sampling (not offered by OpenAI models).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_k: Option<u32>,
    /// -2..2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frequency_penalty: Option<f64>,
    /// -2..2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presence_penalty: Option<f64>,
    /// (0, 2].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repetition_penalty: Option<f64>,
    /// 0..1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_p: Option<f64>,
    /// 0..1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_a: Option<f64>,
    /// Best-effort determinism.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    /// A stop string or up to four of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<Stop>,
    /// Tool definitions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<Tool>>,
    /// `none` / `auto` / `required` / a named function.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<Value>,
    /// Structured output format.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_format: Option<Value>,
    /// OpenRouter's unified reasoning settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<Reasoning>,
    /// Shorthand for `reasoning.effort`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_effort: Option<String>,
    /// Legacy: `true` = `reasoning: {}`, `false` = `reasoning: {exclude: true}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_reasoning: Option<bool>,
    /// Provider routing preferences (OpenRouter `provider` object).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<crate::provider::ProviderPreferences>,
    /// Plugins such as `web` or `file-parser`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugins: Option<Value>,
    /// Legacy transforms such as `middle-out`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transforms: Option<Value>,
    /// Deprecated `{include: bool}`; accepted and ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Value>,
    /// Deprecated alias of `provider.sort.partition`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<Value>,
    /// Stable end-user id; hashed before any upstream use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Sticky-routing and grouping key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// Preset slug.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<String>,
    /// Debug options (`echo_upstream_body`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debug: Option<Value>,
    /// Observability trace fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<Value>,
    /// Everything else, passed on to the upstream as sent.
    #[serde(flatten)]
    pub extra: Extra,
}

impl ChatRequest {
    /// True when the client asked for server-sent events.
    pub fn is_stream(&self) -> bool {
        self.stream.unwrap_or(false)
    }

    /// True when the client wants reasoning done but not returned
    /// (`reasoning.exclude` or `include_reasoning: false`).
    pub fn reasoning_excluded(&self) -> bool {
        self.reasoning.as_ref().and_then(|r| r.exclude).unwrap_or(false) || self.include_reasoning == Some(false)
    }

    /// The completion-token cap, whichever field carried it.
    pub fn max_output_tokens(&self) -> Option<u32> {
        self.max_completion_tokens.or(self.max_tokens)
    }
}

/// `stop`: one string or a list.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(untagged)]
pub enum Stop {
    /// A single stop sequence.
    One(String),
    /// Several stop sequences.
    Many(Vec<String>),
}

/// OpenRouter's `reasoning` object.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct Reasoning {
    /// `max|xhigh|high|medium|low|minimal|none`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effort: Option<String>,
    /// Token budget for reasoning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// Reason but do not return the reasoning text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude: Option<bool>,
    /// Turn reasoning on or off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Other reasoning options (`summary`, `context`, `mode`).
    #[serde(flatten)]
    pub extra: Extra,
}

/// Message author.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// System instructions.
    System,
    /// Developer instructions (OpenAI o-series naming of `system`).
    Developer,
    /// The end user.
    User,
    /// The model.
    Assistant,
    /// A tool result.
    Tool,
    /// Deprecated function result.
    Function,
}

/// One conversation message.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Message {
    /// Who wrote it.
    pub role: Role,
    /// Text or content parts; `null` on assistant tool-call turns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Content>,
    /// Optional author name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Tool calls made by the assistant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ToolCall>>,
    /// The call a `tool` message answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    /// Assistant reasoning text sent back on later turns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<String>,
    /// Structured reasoning blocks, passed back unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_details: Option<Value>,
    /// Everything else on the message.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Message content: plain text or a list of parts.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(untagged)]
pub enum Content {
    /// Plain text.
    Text(String),
    /// Typed parts (text, images, audio, files).
    Parts(Vec<ContentPart>),
}

impl Content {
    /// The concatenated text of all text parts.
    pub fn text(&self) -> String {
        match self {
            Content::Text(t) => t.clone(),
            Content::Parts(parts) => parts
                .iter()
                .filter_map(|p| match p {
                    ContentPart::Text { text, .. } => Some(text.as_str()),
                    _ => None,
                })
                .collect::<Vec<_>>()
                .join(""),
        }
    }
}

/// One content part. Unknown part types are kept verbatim.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ContentPart {
    /// Text, optionally a prompt-cache breakpoint.
    Text {
        /// The text.
        text: String,
        /// Other fields (`cache_control`, ...).
        #[serde(flatten)]
        extra: Extra,
    },
    /// An image by URL or data URI.
    ImageUrl {
        /// `{url, detail?}`.
        image_url: ImageUrl,
        /// Other fields.
        #[serde(flatten)]
        extra: Extra,
    },
    /// Base64 audio input.
    InputAudio {
        /// `{data, format}`.
        input_audio: Value,
        /// Other fields.
        #[serde(flatten)]
        extra: Extra,
    },
    /// A file such as a PDF.
    File {
        /// `{filename?, file_data?, file_id?}`.
        file: Value,
        /// Other fields.
        #[serde(flatten)]
        extra: Extra,
    },
    /// A video by URL.
    VideoUrl {
        /// `{url}`.
        video_url: Value,
        /// Other fields.
        #[serde(flatten)]
        extra: Extra,
    },
}

/// An image reference.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct ImageUrl {
    /// `https://...` or `data:image/...;base64,...`.
    pub url: String,
    /// `auto|low|high|original`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// A tool definition.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Tool {
    /// `function` (other types are passed through).
    #[serde(rename = "type")]
    pub kind: String,
    /// The function's schema, for `function` tools.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<FunctionDef>,
    /// Other fields (`cache_control`, server-tool parameters...).
    #[serde(flatten)]
    pub extra: Extra,
}

/// A function tool's schema.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct FunctionDef {
    /// `[a-zA-Z0-9_-]{1,64}`.
    pub name: String,
    /// What the function does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// JSON Schema of the arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Value>,
    /// Strict schema adherence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
}

/// A tool call in an assistant message.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct ToolCall {
    /// Call id, echoed by the matching `tool` message.
    pub id: String,
    /// Always `function`.
    #[serde(rename = "type", default = "function_kind")]
    pub kind: String,
    /// Name and JSON-string arguments.
    pub function: FunctionCall,
}

fn function_kind() -> String {
    "function".to_owned()
}

/// The function a tool call invokes.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct FunctionCall {
    /// Function name.
    pub name: String,
    /// Arguments as a JSON string.
    pub arguments: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_survive_a_round_trip() {
        let body = r#"{"model":"openai/gpt-4o","messages":[{"role":"user","content":"hi","x_msg":1}],
            "logit_bias":{"50256":-100},"custom_param":true}"#;
        let req: ChatRequest = serde_json::from_str(body).unwrap();
        assert_eq!(req.extra["custom_param"], true);
        assert_eq!(req.messages[0].extra["x_msg"], 1);
        let back = serde_json::to_value(&req).unwrap();
        assert_eq!(back["logit_bias"]["50256"], -100);
    }

    #[test]
    fn content_parts_parse_and_keep_cache_control() {
        let body = r#"{"messages":[{"role":"user","content":[
            {"type":"text","text":"a","cache_control":{"type":"ephemeral"}},
            {"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}]}]}"#;
        let req: ChatRequest = serde_json::from_str(body).unwrap();
        let Some(Content::Parts(parts)) = &req.messages[0].content else { panic!() };
        assert!(matches!(&parts[0], ContentPart::Text { extra, .. } if extra.contains_key("cache_control")));
        assert!(matches!(&parts[1], ContentPart::ImageUrl { .. }));
    }
}
