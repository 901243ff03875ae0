//! The OpenAI Responses API (`POST /api/v1/responses`), stateless as
//! OpenRouter serves it: the request, the `response` object and the
//! streamed events.
//!
//! Fields the gateway interprets are typed; any other request field lands
//! in `extra` (the translation decides which of them the upstream sees).

use std::fmt;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Extra;
use crate::chat::Reasoning;
use crate::provider::ProviderPreferences;

/// `POST /api/v1/responses` request body.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct ResponsesRequest {
    /// Catalog slug, optionally with a `:variant` suffix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Fallback models, tried after `model` in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub models: Option<Vec<String>>,
    /// The conversation: one user text, or a list of items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<Input>,
    /// System instructions placed ahead of the input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
    /// Tool definitions (function tools are flat: `{type, name, parameters}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<ResponsesTool>>,
    /// `none` / `auto` / `required` / `{type: "function", name}` / `{type: "allowed_tools", ...}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<Value>,
    /// Whether the model may call several tools at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallel_tool_calls: Option<bool>,
    /// Reasoning settings: `effort`, `summary`, `max_tokens`, `enabled`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<Reasoning>,
    /// Output format and verbosity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<TextConfig>,
    /// Output-token cap, reasoning tokens included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_output_tokens: Option<u32>,
    /// Sampling temperature, 0..2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Nucleus sampling, (0, 1].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// Top-k sampling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_k: Option<u32>,
    /// -2..2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presence_penalty: Option<f64>,
    /// -2..2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frequency_penalty: Option<f64>,
    /// Most likely tokens to return per position, 0..20.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_logprobs: Option<u32>,
    /// Up to 16 string pairs, echoed back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    /// Stable end-user id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// OpenAI's successor of `user`: a stable end-user id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub safety_identifier: Option<String>,
    /// Sticky-routing and grouping key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// Provider routing preferences.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<ProviderPreferences>,
    /// Plugins such as `web` or `file-parser`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugins: Option<Value>,
    /// Deprecated alias of `provider.sort.partition`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<Value>,
    /// `auto`, `default`, `flex`, `priority`...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_tier: Option<String>,
    /// Server-sent events instead of one JSON body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
    /// Must be absent or `false`: nothing is stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<bool>,
    /// Must be absent or null: send the whole history in `input`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_response_id: Option<Value>,
    /// Everything else.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `input`: a user text or a list of items.
#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
pub enum Input {
    /// One user message.
    Text(String),
    /// Messages, tool calls, tool results and reasoning, in order.
    Items(Vec<InputItem>),
}

impl<'de> Deserialize<'de> for Input {
    // By hand rather than `untagged`, so a bad item is reported with its
    // index and the real reason instead of "did not match any variant".
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct InputVisitor;
        impl<'de> Visitor<'de> for InputVisitor {
            type Value = Input;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or an array of input items")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Input, E> {
                Ok(Input::Text(v.to_owned()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Input, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Input::Items(items))
            }
        }
        d.deserialize_any(InputVisitor)
    }
}

/// One item of `input`. A message may omit `type`.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum InputItem {
    /// A message from the user, the assistant, or the system/developer.
    Message(InputMessage),
    /// A function call the model made on an earlier turn.
    FunctionCall(FunctionCallItem),
    /// The result of a function call.
    FunctionCallOutput(FunctionCallOutputItem),
    /// Reasoning the model produced on an earlier turn.
    Reasoning(ReasoningItem),
}

impl<'de> Deserialize<'de> for InputItem {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        if !v.is_object() {
            return Err(de::Error::custom("each input item must be an object"));
        }
        let kind = v.get("type").and_then(Value::as_str).unwrap_or("message").to_owned();
        let item = match kind.as_str() {
            "message" => serde_json::from_value(v).map(InputItem::Message),
            "function_call" => serde_json::from_value(v).map(InputItem::FunctionCall),
            "function_call_output" => serde_json::from_value(v).map(InputItem::FunctionCallOutput),
            "reasoning" => serde_json::from_value(v).map(InputItem::Reasoning),
            "item_reference" => {
                return Err(de::Error::custom(
                    "`item_reference` items need stored responses; this API is stateless: send the items themselves",
                ));
            }
            other => {
                return Err(de::Error::custom(format!(
                    "unsupported input item type `{other}`; expected `message`, `function_call`, \
                     `function_call_output` or `reasoning`"
                )));
            }
        };
        item.map_err(|e| de::Error::custom(format!("{kind} item: {e}")))
    }
}

/// A message item.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct InputMessage {
    /// Who wrote it.
    pub role: InputRole,
    /// Text or typed parts.
    pub content: MessageContent,
    /// Item id, when the client echoes an earlier output item.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// Roles a Responses message may have.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum InputRole {
    /// The end user.
    User,
    /// The model (earlier turns).
    Assistant,
    /// System instructions.
    System,
    /// Developer instructions.
    Developer,
}

/// A message's content: text or parts.
#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
pub enum MessageContent {
    /// Plain text.
    Text(String),
    /// Typed parts.
    Parts(Vec<InputPart>),
}

impl<'de> Deserialize<'de> for MessageContent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ContentVisitor;
        impl<'de> Visitor<'de> for ContentVisitor {
            type Value = MessageContent;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or an array of content parts")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<MessageContent, E> {
                Ok(MessageContent::Text(v.to_owned()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<MessageContent, A::Error> {
                let mut parts = Vec::new();
                while let Some(p) = seq.next_element()? {
                    parts.push(p);
                }
                Ok(MessageContent::Parts(parts))
            }
        }
        d.deserialize_any(ContentVisitor)
    }
}

/// One content part of an input message (or of a function call's output).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum InputPart {
    /// Text.
    #[serde(alias = "text")]
    InputText {
        /// The text.
        text: String,
    },
    /// An image by URL or data URI (a plain string, unlike Chat's object).
    InputImage {
        /// `https://...` or `data:image/...;base64,...`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        image_url: Option<String>,
        /// An uploaded file's id (not available here).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        file_id: Option<String>,
        /// `auto|low|high`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
    },
    /// A file such as a PDF, inline or by URL.
    InputFile {
        /// File name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        filename: Option<String>,
        /// `data:application/pdf;base64,...`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        file_data: Option<String>,
        /// `https://...`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        file_url: Option<String>,
        /// An uploaded file's id (not available here).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        file_id: Option<String>,
    },
    /// Base64 audio: `{data, format}`.
    InputAudio {
        /// `{data, format}`.
        input_audio: Value,
    },
    /// Text the assistant produced on an earlier turn.
    OutputText {
        /// The text.
        text: String,
        /// Citations, ignored on input.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        annotations: Option<Value>,
    },
    /// A refusal the assistant produced on an earlier turn.
    Refusal {
        /// The refusal text.
        refusal: String,
    },
}

/// A `function_call` item.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct FunctionCallItem {
    /// The id the matching `function_call_output` names.
    pub call_id: String,
    /// Function name.
    pub name: String,
    /// Arguments as a JSON string.
    pub arguments: String,
    /// Item id (`fc_...`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// A `function_call_output` item.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct FunctionCallOutputItem {
    /// The call this answers.
    pub call_id: String,
    /// A string, or content parts (`input_text`, `input_image`, `input_file`).
    pub output: MessageContent,
    /// Item id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// A `reasoning` item sent back from an earlier answer.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct ReasoningItem {
    /// Item id (`rs_...`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Summary parts (`{type: "summary_text", text}`).
    #[serde(default)]
    pub summary: Vec<SummaryPart>,
    /// Raw reasoning parts (`{type: "reasoning_text", text}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Vec<ReasoningTextPart>>,
    /// Opaque reasoning state to hand back to the provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encrypted_content: Option<String>,
}

/// A reasoning summary part.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SummaryPart {
    /// Summary text.
    SummaryText {
        /// The text.
        text: String,
    },
}

/// A raw reasoning text part.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ReasoningTextPart {
    /// Reasoning text.
    ReasoningText {
        /// The text.
        text: String,
    },
}

/// A tool definition. Function tools are flat; other types pass through.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct ResponsesTool {
    /// `function`, or a built-in/server tool type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Function name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// What the function does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// JSON Schema of the arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Value>,
    /// Strict schema adherence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
    /// Other fields of non-function tools.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `text`: output format and verbosity.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct TextConfig {
    /// The output format.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<TextFormat>,
    /// `low|medium|high`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verbosity: Option<String>,
}

/// `text.format`. Note the JSON schema's fields sit flat in the format.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TextFormat {
    /// Free text.
    Text,
    /// Any JSON object.
    JsonObject,
    /// JSON matching a schema.
    JsonSchema {
        /// Schema name.
        name: String,
        /// The JSON Schema.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        schema: Option<Value>,
        /// Strict adherence.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        strict: Option<bool>,
        /// What the format is for.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        description: Option<String>,
    },
}

/// The `response` object, whole or as a stream snapshot.
#[derive(Clone, Debug, Serialize)]
pub struct ResponseObject {
    /// `gen-...`, the generation id.
    pub id: String,
    /// Always `response`.
    pub object: &'static str,
    /// Unix seconds.
    pub created_at: u64,
    /// Unix seconds, once finished.
    pub completed_at: Option<u64>,
    /// `in_progress|completed|incomplete|failed`.
    pub status: &'static str,
    /// Why the response failed.
    pub error: Option<ResponseError>,
    /// Why the response is incomplete.
    pub incomplete_details: Option<IncompleteDetails>,
    /// The catalog slug that served the request.
    pub model: String,
    /// Display name of the serving provider.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Output items, in order.
    pub output: Vec<OutputItem>,
    /// All output text joined (the SDKs' convenience field).
    pub output_text: String,
    /// Tokens and cost; null until finished.
    pub usage: Option<ResponseUsage>,
    /// What the request set, echoed as OpenAI does.
    #[serde(flatten)]
    pub echo: RequestEcho,
    /// `openrouter_metadata` when asked for.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Request settings echoed in the response.
#[derive(Clone, Debug, Serialize)]
pub struct RequestEcho {
    /// `instructions` as sent.
    pub instructions: Option<String>,
    /// `max_output_tokens` as sent.
    pub max_output_tokens: Option<u32>,
    /// `metadata` as sent, `{}` by default.
    pub metadata: Value,
    /// `parallel_tool_calls`, true by default.
    pub parallel_tool_calls: bool,
    /// Always null (stateless).
    pub previous_response_id: Option<String>,
    /// `reasoning` as sent.
    pub reasoning: Option<Reasoning>,
    /// `service_tier` as sent.
    pub service_tier: Option<String>,
    /// Always false (stateless).
    pub store: bool,
    /// `temperature` as sent.
    pub temperature: Option<f64>,
    /// `text` as sent, `{format: {type: "text"}}` by default.
    pub text: TextConfig,
    /// `tool_choice` as sent, `auto` by default.
    pub tool_choice: Value,
    /// `tools` as sent.
    pub tools: Vec<ResponsesTool>,
    /// `top_logprobs` as sent.
    pub top_logprobs: Option<u32>,
    /// `top_p` as sent.
    pub top_p: Option<f64>,
    /// Always `disabled`.
    pub truncation: &'static str,
    /// `user` as sent.
    pub user: Option<String>,
    /// `safety_identifier` as sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub safety_identifier: Option<String>,
    /// Always false.
    pub background: bool,
}

impl RequestEcho {
    /// The echo of a request.
    pub fn of(req: &ResponsesRequest) -> RequestEcho {
        let text = req.text.clone().unwrap_or_default();
        RequestEcho {
            instructions: req.instructions.clone(),
            max_output_tokens: req.max_output_tokens,
            metadata: req.metadata.clone().unwrap_or_else(|| Value::Object(Extra::new())),
            parallel_tool_calls: req.parallel_tool_calls.unwrap_or(true),
            previous_response_id: None,
            reasoning: req.reasoning.clone(),
            service_tier: req.service_tier.clone(),
            store: false,
            temperature: req.temperature,
            text: TextConfig { format: Some(text.format.unwrap_or(TextFormat::Text)), verbosity: text.verbosity },
            tool_choice: req.tool_choice.clone().unwrap_or_else(|| Value::from("auto")),
            tools: req.tools.clone().unwrap_or_default(),
            top_logprobs: req.top_logprobs,
            top_p: req.top_p,
            truncation: "disabled",
            user: req.user.clone(),
            safety_identifier: req.safety_identifier.clone(),
            background: false,
        }
    }
}

/// `response.error`.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ResponseError {
    /// `server_error`, `rate_limit_exceeded`, `invalid_prompt`...
    pub code: String,
    /// What went wrong.
    pub message: String,
    /// OpenRouter's error metadata (`error_type`, `provider_name`...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Extra>,
}

/// `response.incomplete_details`.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct IncompleteDetails {
    /// `max_output_tokens` or `content_filter`.
    pub reason: &'static str,
}

/// One output item.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum OutputItem {
    /// The assistant's message.
    Message {
        /// `msg_...`.
        id: String,
        /// `in_progress|completed|incomplete`.
        status: &'static str,
        /// Always `assistant`.
        role: &'static str,
        /// Text and refusal parts.
        content: Vec<OutputContent>,
    },
    /// Reasoning, as summary text.
    Reasoning {
        /// `rs_...`.
        id: String,
        /// Summary parts.
        summary: Vec<SummaryPart>,
        /// Opaque reasoning state, when the provider gave one.
        #[serde(skip_serializing_if = "Option::is_none")]
        encrypted_content: Option<String>,
        /// `in_progress|completed|incomplete`.
        status: &'static str,
    },
    /// A function call.
    FunctionCall {
        /// `fc_...`.
        id: String,
        /// The id to answer with a `function_call_output`.
        call_id: String,
        /// Function name.
        name: String,
        /// Arguments as a JSON string.
        arguments: String,
        /// `in_progress|completed|incomplete`.
        status: &'static str,
    },
}

/// A content part of an output message.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum OutputContent {
    /// Text.
    OutputText {
        /// The text.
        text: String,
        /// Citations (`url_citation`...).
        annotations: Vec<Value>,
        /// Always empty: log probabilities are not returned here.
        logprobs: Vec<Value>,
    },
    /// A refusal.
    Refusal {
        /// The refusal text.
        refusal: String,
    },
}

/// `response.usage`, with OpenRouter's cost fields.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct ResponseUsage {
    /// Prompt tokens, cached ones included.
    pub input_tokens: u64,
    /// Cached prompt tokens.
    pub input_tokens_details: InputTokensDetails,
    /// Output tokens, reasoning ones included.
    pub output_tokens: u64,
    /// Reasoning tokens.
    pub output_tokens_details: OutputTokensDetails,
    /// Input plus output.
    pub total_tokens: u64,
    /// Amount charged, USD.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost: Option<f64>,
    /// True when the caller's own provider key was used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_byok: Option<bool>,
    /// Cost split, USD.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_details: Option<crate::usage::CostDetails>,
}

/// `usage.input_tokens_details`.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct InputTokensDetails {
    /// Tokens read from the prompt cache.
    pub cached_tokens: u64,
    /// Tokens written to the prompt cache.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_write_tokens: Option<u64>,
}

/// `usage.output_tokens_details`.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct OutputTokensDetails {
    /// Reasoning tokens.
    pub reasoning_tokens: u64,
}

impl From<&crate::Usage> for ResponseUsage {
    fn from(u: &crate::Usage) -> Self {
        let write = u.cache_write_tokens();
        ResponseUsage {
            input_tokens: u.prompt_tokens,
            input_tokens_details: InputTokensDetails {
                cached_tokens: u.cached_tokens(),
                cache_write_tokens: (write > 0).then_some(write),
            },
            output_tokens: u.completion_tokens,
            output_tokens_details: OutputTokensDetails { reasoning_tokens: u.reasoning_tokens() },
            total_tokens: u.total_tokens,
            cost: u.cost,
            is_byok: u.is_byok,
            cost_details: u.cost_details.clone(),
        }
    }
}

/// One streamed event: its body and its place in the stream.
#[derive(Clone, Debug, Serialize)]
pub struct StreamEvent {
    /// 0, 1, 2... in the order sent.
    pub sequence_number: u64,
    /// The event (its `type` is also the SSE event name).
    #[serde(flatten)]
    pub body: EventBody,
}

/// The streamed events the gateway sends.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "type")]
pub enum EventBody {
    /// First event: the response, in progress.
    #[serde(rename = "response.created")]
    Created {
        /// Snapshot.
        response: Box<ResponseObject>,
    },
    /// The response is being generated.
    #[serde(rename = "response.in_progress")]
    InProgress {
        /// Snapshot.
        response: Box<ResponseObject>,
    },
    /// Last event of a complete answer.
    #[serde(rename = "response.completed")]
    Completed {
        /// The whole response.
        response: Box<ResponseObject>,
    },
    /// Last event of an answer cut short (token cap, content filter).
    #[serde(rename = "response.incomplete")]
    Incomplete {
        /// The whole response.
        response: Box<ResponseObject>,
    },
    /// Last event of an answer that failed mid-way.
    #[serde(rename = "response.failed")]
    Failed {
        /// The response with its `error`.
        response: Box<ResponseObject>,
    },
    /// A new output item.
    #[serde(rename = "response.output_item.added")]
    OutputItemAdded {
        /// Its position in `output`.
        output_index: usize,
        /// The item, as far as known.
        item: OutputItem,
    },
    /// An output item is complete.
    #[serde(rename = "response.output_item.done")]
    OutputItemDone {
        /// Its position in `output`.
        output_index: usize,
        /// The whole item.
        item: OutputItem,
    },
    /// A new content part of a message.
    #[serde(rename = "response.content_part.added")]
    ContentPartAdded {
        /// The message's id.
        item_id: String,
        /// The message's position in `output`.
        output_index: usize,
        /// The part's position in the message.
        content_index: usize,
        /// The part, empty.
        part: OutputContent,
    },
    /// A content part is complete.
    #[serde(rename = "response.content_part.done")]
    ContentPartDone {
        /// The message's id.
        item_id: String,
        /// The message's position in `output`.
        output_index: usize,
        /// The part's position in the message.
        content_index: usize,
        /// The whole part.
        part: OutputContent,
    },
    /// More output text.
    #[serde(rename = "response.output_text.delta")]
    OutputTextDelta {
        /// The message's id.
        item_id: String,
        /// The message's position in `output`.
        output_index: usize,
        /// The part's position in the message.
        content_index: usize,
        /// The new text.
        delta: String,
        /// Always empty.
        logprobs: Vec<Value>,
    },
    /// An output text part is complete.
    #[serde(rename = "response.output_text.done")]
    OutputTextDone {
        /// The message's id.
        item_id: String,
        /// The message's position in `output`.
        output_index: usize,
        /// The part's position in the message.
        content_index: usize,
        /// The whole text.
        text: String,
        /// Always empty.
        logprobs: Vec<Value>,
    },
    /// A citation on the output text.
    #[serde(rename = "response.output_text.annotation.added")]
    AnnotationAdded {
        /// The message's id.
        item_id: String,
        /// The message's position in `output`.
        output_index: usize,
        /// The part's position in the message.
        content_index: usize,
        /// The annotation's position in the part.
        annotation_index: usize,
        /// The annotation.
        annotation: Value,
    },
    /// More refusal text.
    #[serde(rename = "response.refusal.delta")]
    RefusalDelta {
        /// The message's id.
        item_id: String,
        /// The message's position in `output`.
        output_index: usize,
        /// The part's position in the message.
        content_index: usize,
        /// The new text.
        delta: String,
    },
    /// A refusal part is complete.
    #[serde(rename = "response.refusal.done")]
    RefusalDone {
        /// The message's id.
        item_id: String,
        /// The message's position in `output`.
        output_index: usize,
        /// The part's position in the message.
        content_index: usize,
        /// The whole refusal.
        refusal: String,
    },
    /// More function-call arguments.
    #[serde(rename = "response.function_call_arguments.delta")]
    FunctionCallArgumentsDelta {
        /// The call item's id (`fc_...`).
        item_id: String,
        /// Its position in `output`.
        output_index: usize,
        /// The new fragment.
        delta: String,
    },
    /// A function call's arguments are complete.
    #[serde(rename = "response.function_call_arguments.done")]
    FunctionCallArgumentsDone {
        /// The call item's id (`fc_...`).
        item_id: String,
        /// Its position in `output`.
        output_index: usize,
        /// Function name.
        name: String,
        /// The whole arguments.
        arguments: String,
    },
    /// A new reasoning summary part.
    #[serde(rename = "response.reasoning_summary_part.added")]
    ReasoningSummaryPartAdded {
        /// The reasoning item's id.
        item_id: String,
        /// Its position in `output`.
        output_index: usize,
        /// The part's position in the summary.
        summary_index: usize,
        /// The part, empty.
        part: SummaryPart,
    },
    /// A reasoning summary part is complete.
    #[serde(rename = "response.reasoning_summary_part.done")]
    ReasoningSummaryPartDone {
        /// The reasoning item's id.
        item_id: String,
        /// Its position in `output`.
        output_index: usize,
        /// The part's position in the summary.
        summary_index: usize,
        /// The whole part.
        part: SummaryPart,
    },
    /// More reasoning summary text.
    #[serde(rename = "response.reasoning_summary_text.delta")]
    ReasoningSummaryTextDelta {
        /// The reasoning item's id.
        item_id: String,
        /// Its position in `output`.
        output_index: usize,
        /// The part's position in the summary.
        summary_index: usize,
        /// The new text.
        delta: String,
    },
    /// A reasoning summary text is complete.
    #[serde(rename = "response.reasoning_summary_text.done")]
    ReasoningSummaryTextDone {
        /// The reasoning item's id.
        item_id: String,
        /// Its position in `output`.
        output_index: usize,
        /// The part's position in the summary.
        summary_index: usize,
        /// The whole text.
        text: String,
    },
}

impl EventBody {
    /// The SSE event name (equal to the `type` field).
    pub fn name(&self) -> &'static str {
        match self {
            EventBody::Created { .. } => "response.created",
            EventBody::InProgress { .. } => "response.in_progress",
            EventBody::Completed { .. } => "response.completed",
            EventBody::Incomplete { .. } => "response.incomplete",
            EventBody::Failed { .. } => "response.failed",
            EventBody::OutputItemAdded { .. } => "response.output_item.added",
            EventBody::OutputItemDone { .. } => "response.output_item.done",
            EventBody::ContentPartAdded { .. } => "response.content_part.added",
            EventBody::ContentPartDone { .. } => "response.content_part.done",
            EventBody::OutputTextDelta { .. } => "response.output_text.delta",
            EventBody::OutputTextDone { .. } => "response.output_text.done",
            EventBody::AnnotationAdded { .. } => "response.output_text.annotation.added",
            EventBody::RefusalDelta { .. } => "response.refusal.delta",
            EventBody::RefusalDone { .. } => "response.refusal.done",
            EventBody::FunctionCallArgumentsDelta { .. } => "response.function_call_arguments.delta",
            EventBody::FunctionCallArgumentsDone { .. } => "response.function_call_arguments.done",
            EventBody::ReasoningSummaryPartAdded { .. } => "response.reasoning_summary_part.added",
            EventBody::ReasoningSummaryPartDone { .. } => "response.reasoning_summary_part.done",
            EventBody::ReasoningSummaryTextDelta { .. } => "response.reasoning_summary_text.delta",
            EventBody::ReasoningSummaryTextDone { .. } => "response.reasoning_summary_text.done",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sdk_shaped_request_parses() {
        let body = r#"{"model":"openai/gpt-5","instructions":"Be terse.","input":[
            {"role":"user","content":"Weather?"},
            {"type":"message","role":"user","content":[{"type":"input_text","text":"Paris"},
                {"type":"input_image","image_url":"data:image/png;base64,AAAA","detail":"auto"}]},
            {"type":"function_call","call_id":"call_1","name":"get_weather","arguments":"{}"},
            {"type":"function_call_output","call_id":"call_1","output":"18C"},
            {"type":"reasoning","id":"rs_1","summary":[{"type":"summary_text","text":"hm"}]}],
            "tools":[{"type":"function","name":"get_weather","parameters":{"type":"object"},"strict":true}],
            "text":{"format":{"type":"json_schema","name":"w","schema":{"type":"object"},"strict":true}},
            "store":false,"include":["reasoning.encrypted_content"]}"#;
        let req: ResponsesRequest = serde_json::from_str(body).unwrap();
        let Some(Input::Items(items)) = &req.input else { panic!() };
        assert_eq!(items.len(), 5);
        assert!(matches!(&items[0], InputItem::Message(m) if m.role == InputRole::User));
        assert!(matches!(&items[2], InputItem::FunctionCall(c) if c.call_id == "call_1"));
        assert!(matches!(&items[4], InputItem::Reasoning(r) if r.summary.len() == 1));
        assert!(matches!(req.text.unwrap().format, Some(TextFormat::JsonSchema { strict: Some(true), .. })));
        assert!(req.extra.contains_key("include"));
    }

    #[test]
    fn bad_items_say_why() {
        let err = |input: &str| {
            serde_json::from_str::<ResponsesRequest>(&format!(r#"{{"input":{input}}}"#)).unwrap_err().to_string()
        };
        assert!(err(r#"[{"type":"item_reference","id":"x"}]"#).contains("stateless"));
        assert!(err(r#"[{"type":"web_search_call"}]"#).contains("unsupported input item type `web_search_call`"));
        assert!(err(r#"[{"role":"robot","content":"x"}]"#).contains("robot"));
        assert!(err("42").contains("a string or an array"));
    }

    #[test]
    fn events_carry_type_and_sequence() {
        let ev = StreamEvent {
            sequence_number: 3,
            body: EventBody::FunctionCallArgumentsDelta { item_id: "fc_1".into(), output_index: 0, delta: "{".into() },
        };
        let v = serde_json::to_value(&ev).unwrap();
        assert_eq!(v["type"], ev.body.name());
        assert_eq!(v["sequence_number"], 3);
        assert_eq!(v["delta"], "{");
    }
}
