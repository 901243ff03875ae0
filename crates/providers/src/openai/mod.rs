//! OpenAI Chat Completions, spoken by OpenAI and the OpenAI-compatible family.
//!
//! The family's differences are data ([`Quirks`]), not copies of this code.

pub mod compat;
pub mod decode;
pub mod encode;
pub mod errors;
pub mod stream;

use serde::Deserialize;

/// How one OpenAI-compatible server departs from OpenAI's own API.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct Quirks {
    /// Refuses sampling parameters OpenAI lacks (`top_k`, `min_p`, `top_a`,
    /// `repetition_penalty`): drop them rather than fail the request.
    pub openai_sampling_only: bool,
    /// Rejects `stream_options`; usage is then counted by the gateway.
    pub no_stream_options: bool,
    /// Takes the output cap only as `max_completion_tokens` (OpenAI's
    /// reasoning models refuse `max_tokens`).
    pub max_completion_tokens: bool,
    /// Names the seed `random_seed` (Mistral).
    pub random_seed: bool,
    /// Answers 400 to `logprobs`, `top_logprobs`, `logit_bias` and message
    /// `name` (Groq): they are left out.
    pub refuses_logprobs: bool,
    /// Accepts only nine-character alphanumeric tool-call ids (Mistral):
    /// other ids are mapped to such ids, the same on both sides of a call.
    pub short_tool_call_ids: bool,
}

impl Quirks {
    /// A server that behaves exactly like OpenAI's API.
    pub const NONE: Quirks = Quirks {
        openai_sampling_only: false,
        no_stream_options: false,
        max_completion_tokens: false,
        random_seed: false,
        refuses_logprobs: false,
        short_tool_call_ids: false,
    };
}
