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
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct Quirks {
    /// Refuses sampling parameters OpenAI lacks (`top_k`, `min_p`, `top_a`,
    /// `repetition_penalty`): drop them rather than fail the request.
    pub openai_sampling_only: bool,
    /// Rejects `stream_options`; usage is then counted by the gateway.
    pub no_stream_options: bool,
}
