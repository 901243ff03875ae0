//! Gemini `GenerateContentResponse` wire types (lowerCamelCase JSON,
//! serialized with serde, borrowing wherever possible).

use serde::Serialize;
use serde_json::Value;

/// One `generateContent` response, or one streamed chunk of it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct GenerateResponse<'a> {
    pub(super) candidates: [Candidate<'a>; 1],
    pub(super) usage_metadata: UsageMetadata,
    pub(super) model_version: &'a str,
    pub(super) response_id: &'a str,
}

/// The single candidate (`candidateCount` is ignored).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Candidate<'a> {
    pub(super) content: Content<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) finish_reason: Option<&'a str>,
    pub(super) index: u32,
    /// Google Search grounding (a `google_search` tool was offered).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) grounding_metadata: Option<Value>,
}

/// A `Content` object: role `model` and its parts.
#[derive(Serialize)]
pub(super) struct Content<'a> {
    pub(super) role: &'static str,
    pub(super) parts: &'a [Part<'a>],
}

/// A response part: text (possibly a thought summary) or a whole function call.
#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub(super) struct Part<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) text: Option<&'a str>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(super) thought: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) function_call: Option<FunctionCall<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) thought_signature: Option<&'a str>,
}

impl<'a> Part<'a> {
    /// A visible text part.
    pub(super) fn text(text: &'a str) -> Part<'a> {
        Part { text: Some(text), ..Part::default() }
    }

    /// A thought-summary text part (`"thought": true`).
    pub(super) fn thought(text: &'a str) -> Part<'a> {
        Part { text: Some(text), thought: true, ..Part::default() }
    }

    /// A function call part with object `args`.
    pub(super) fn call(name: &'a str, args: &'a Value) -> Part<'a> {
        Part { function_call: Some(FunctionCall { name, args }), ..Part::default() }
    }
}

/// `functionCall`: Gemini sends no id and whole (object) arguments.
#[derive(Serialize)]
pub(super) struct FunctionCall<'a> {
    pub(super) name: &'a str,
    pub(super) args: &'a Value,
}

/// `usageMetadata`; `promptTokenCount` includes the cached part and
/// `candidatesTokenCount` excludes thoughts.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct UsageMetadata {
    pub(super) prompt_token_count: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) candidates_token_count: Option<u64>,
    pub(super) total_token_count: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) thoughts_token_count: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) cached_content_token_count: Option<u64>,
}
