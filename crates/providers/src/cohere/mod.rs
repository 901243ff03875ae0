//! Cohere v2 Chat (`POST {base}/chat`, base like `https://api.cohere.com/v2`),
//! spoken natively.
//!
//! The canonical request (OpenAI Chat Completions plus OpenRouter fields) is
//! translated into a v2 chat body; answers, stream events and errors come
//! back in canonical form. Concept mapping: the provider reference's
//! `cohere-v2.md`. The v2 API is close to OpenAI's: same roles, OpenAI-shaped
//! tools and tool calls, `image_url` parts. The differences handled here:
//!
//! * sampling fields are renamed (`top_p` → `p`, `top_k` → `k`, `stop` →
//!   `stop_sequences`) and clamped to Cohere's ranges;
//! * `tool_choice` only knows `REQUIRED` and `NONE`; a named function is
//!   emulated by sending only that tool with `REQUIRED`;
//! * structured output is `response_format: {type: "json_object",
//!   json_schema?}`;
//! * the assistant's `tool_plan` (its reasoning before tool calls) and
//!   `thinking` content come back as `reasoning`, and a replayed assistant
//!   turn with tool calls sends its text (or reasoning) back as `tool_plan`;
//! * `finish_reason` stays Cohere's raw value (`COMPLETE`, `TOOL_CALL`...):
//!   the server normalises it.
//!
//! Cohere answers carry no model name and no timestamp: canonical answers
//! have an empty `model` (the server sets the slug) and the local time.

pub mod decode;
pub mod encode;
pub mod errors;
pub mod stream;
pub mod wire;

/// Path of the chat endpoint, relative to the configured base URL.
pub const CHAT_PATH: &str = "chat";

/// Unix seconds now (Cohere's answers carry no timestamp).
pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}
