//! Gemini `generateContent` wire types: the request body we send (borrowing
//! from the canonical request, so big base64 payloads are never copied) and
//! the answers and stream chunks we read.
//!
//! Gemini's JSON is lowerCamelCase. Only what the gateway maps is modelled;
//! unknown response fields and part kinds (`executableCode`, generated
//! images...) are ignored rather than failing the answer.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `POST models/{model}:generateContent` request body.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Request<'a> {
    /// Alternating user / model turns.
    pub contents: Vec<Content<'a>>,
    /// System and developer messages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_instruction: Option<SystemInstruction<'a>>,
    /// Client functions, as one tool holding every declaration.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<Tool<'a>>>,
    /// How the model may call the functions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_config: Option<ToolConfig<'a>>,
    /// Sampling, output and thinking settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generation_config: Option<GenerationConfig<'a>>,
    /// The client's `safety_settings`, passed on as sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub safety_settings: Option<&'a Value>,
}

/// Turn author; Gemini has only these two.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The user, also the carrier of function responses.
    User,
    /// The model.
    Model,
}

/// One turn.
#[derive(Debug, Serialize)]
pub struct Content<'a> {
    /// Author.
    pub role: Role,
    /// Parts, never empty.
    pub parts: Vec<Part<'a>>,
}

/// `systemInstruction`: a Content without a role.
#[derive(Debug, Serialize)]
pub struct SystemInstruction<'a> {
    /// Text parts.
    pub parts: Vec<Part<'a>>,
}

/// A request part: one kind of data, plus the thought signature Gemini
/// attached to it in an earlier answer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Part<'a> {
    /// What the part holds.
    #[serde(flatten)]
    pub data: PartData<'a>,
    /// Opaque signature, echoed back on the part it came with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thought_signature: Option<&'a str>,
}

impl<'a> Part<'a> {
    /// A part without a signature.
    pub fn new(data: PartData<'a>) -> Part<'a> {
        Part { data, thought_signature: None }
    }
}

/// The data of a part; serialised as its single key (`{"text": ...}`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum PartData<'a> {
    /// Text, never empty.
    Text(Cow<'a, str>),
    /// Inline base64 bytes (images, PDFs, audio...).
    InlineData(Blob<'a>),
    /// A file Gemini can read itself (Files API URIs, YouTube links).
    FileData(FileData<'a>),
    /// A function call made by the model.
    FunctionCall(FunctionCall<'a>),
    /// A function's answer, inside a user turn.
    FunctionResponse(FunctionResponse<'a>),
}

/// `inlineData`.
#[derive(Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Blob<'a> {
    /// IANA MIME type.
    pub mime_type: Cow<'a, str>,
    /// Base64 bytes.
    pub data: &'a str,
}

/// `fileData`.
#[derive(Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct FileData<'a> {
    /// IANA MIME type, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<Cow<'a, str>>,
    /// Where the file is.
    pub file_uri: &'a str,
}

/// `functionCall` in a model turn. No `id`: the request side refuses it
/// (calls and responses are matched by name and order).
#[derive(Debug, Serialize)]
pub struct FunctionCall<'a> {
    /// Function name.
    pub name: &'a str,
    /// Arguments object.
    pub args: Value,
}

/// `functionResponse` in a user turn.
#[derive(Debug, Serialize)]
pub struct FunctionResponse<'a> {
    /// The function that answered.
    pub name: &'a str,
    /// Its result, always a JSON object.
    pub response: Value,
}

/// A tool: here always a set of function declarations.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Tool<'a> {
    /// The functions.
    pub function_declarations: Vec<FunctionDeclaration<'a>>,
}

/// One client function.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionDeclaration<'a> {
    /// Function name.
    pub name: &'a str,
    /// What it does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<&'a str>,
    /// Arguments as Gemini's OpenAPI Schema subset (models before 2.5).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Value>,
    /// Arguments as plain JSON Schema (Gemini 2.5 and later).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameters_json_schema: Option<&'a Value>,
}

/// `toolConfig`.
#[derive(Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ToolConfig<'a> {
    /// Function-calling mode.
    pub function_calling_config: FunctionCallingConfig<'a>,
}

/// `toolConfig.functionCallingConfig`.
#[derive(Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct FunctionCallingConfig<'a> {
    /// `AUTO`, `ANY` or `NONE`.
    pub mode: &'static str,
    /// With `ANY`: the functions the model must choose from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_function_names: Option<Vec<&'a str>>,
}

/// `generationConfig`; omitted from the body when nothing is set.
#[derive(Debug, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct GenerationConfig<'a> {
    /// 0..2.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Nucleus sampling.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// Top-k sampling.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_k: Option<u32>,
    /// Output cap, thinking included.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_output_tokens: Option<u32>,
    /// Stop strings (at most 5).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_sequences: Option<Vec<&'a str>>,
    /// Number of candidates (OpenAI `n`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub candidate_count: Option<u32>,
    /// Best-effort determinism (32-bit).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<i32>,
    /// Presence penalty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub presence_penalty: Option<f64>,
    /// Frequency penalty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frequency_penalty: Option<f64>,
    /// `application/json` for JSON output.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_mime_type: Option<&'static str>,
    /// Output schema in Gemini's OpenAPI subset (models before 2.5).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_schema: Option<Value>,
    /// Output schema as plain JSON Schema (Gemini 2.5 and later).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_json_schema: Option<&'a Value>,
    /// Thinking budget or level, and whether thought summaries come back.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thinking_config: Option<ThinkingConfig>,
}

/// `generationConfig.thinkingConfig`.
#[derive(Clone, Copy, Debug, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ThinkingConfig {
    /// Token budget; 0 turns thinking off where allowed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thinking_budget: Option<u32>,
    /// `MINIMAL` / `LOW` / `MEDIUM` / `HIGH` (Gemini 3).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thinking_level: Option<&'static str>,
    /// Return thought summaries as `thought: true` parts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub include_thoughts: Option<bool>,
}

/// A `GenerateContentResponse`: the whole answer, or one stream chunk with
/// only the new parts.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Response {
    /// The answers (one unless `candidateCount` asked for more).
    #[serde(default)]
    pub candidates: Vec<Candidate>,
    /// Why the prompt was blocked, if it was.
    #[serde(default)]
    pub prompt_feedback: Option<PromptFeedback>,
    /// Token counts (running totals in a stream).
    #[serde(default)]
    pub usage_metadata: Option<UsageMetadata>,
    /// The model that answered, e.g. `gemini-2.5-flash`.
    #[serde(default)]
    pub model_version: Option<String>,
    /// Response id, the same on every chunk of a stream.
    #[serde(default)]
    pub response_id: Option<String>,
    /// An error in place of an answer (mid-stream failures).
    #[serde(default)]
    pub error: Option<Value>,
}

/// One candidate answer.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Candidate {
    /// The generated content; absent when nothing was generated.
    #[serde(default)]
    pub content: Option<CandidateContent>,
    /// Why generation stopped; set on the last chunk only.
    #[serde(default)]
    pub finish_reason: Option<String>,
    /// Candidate index.
    #[serde(default)]
    pub index: Option<u32>,
    /// Google Search grounding: sources and the answer spans they support.
    #[serde(default)]
    pub grounding_metadata: Option<Value>,
}

/// `candidates[].content`.
#[derive(Debug, Default, Deserialize)]
pub struct CandidateContent {
    /// Output parts.
    #[serde(default)]
    pub parts: Vec<ResponsePart>,
}

/// An output part. Gemini combines keys (`text` with `thought` and
/// `thoughtSignature`), so this is a struct of options, not an enum.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResponsePart {
    /// Text: visible, or a thought summary when `thought` is set.
    #[serde(default)]
    pub text: Option<String>,
    /// The text is a thought summary.
    #[serde(default)]
    pub thought: bool,
    /// Signature to echo back on this part in the next request.
    #[serde(default)]
    pub thought_signature: Option<String>,
    /// A function call, always whole.
    #[serde(default)]
    pub function_call: Option<WireFunctionCall>,
}

/// `functionCall` in an answer.
#[derive(Debug, Deserialize)]
pub struct WireFunctionCall {
    /// Call id; Gemini often sends none.
    #[serde(default)]
    pub id: Option<String>,
    /// Function name.
    pub name: String,
    /// Arguments object; absent for a call without arguments.
    #[serde(default)]
    pub args: Option<Value>,
}

/// `promptFeedback`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PromptFeedback {
    /// `SAFETY`, `OTHER`, `BLOCKLIST`, `PROHIBITED_CONTENT`, `IMAGE_SAFETY`...
    #[serde(default)]
    pub block_reason: Option<String>,
}

/// `usageMetadata`; every count may be absent.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct UsageMetadata {
    /// Prompt tokens, cached ones included.
    #[serde(default)]
    pub prompt_token_count: u64,
    /// Prompt tokens served from the cache.
    #[serde(default)]
    pub cached_content_token_count: u64,
    /// Visible output tokens (thoughts excluded).
    #[serde(default)]
    pub candidates_token_count: u64,
    /// Thinking tokens.
    #[serde(default)]
    pub thoughts_token_count: u64,
    /// Prompt tokens added by server-side tool use.
    #[serde(default)]
    pub tool_use_prompt_token_count: u64,
}
