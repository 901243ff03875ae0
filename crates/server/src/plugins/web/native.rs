//! Native search: which endpoints can search themselves, and the switch
//! that asks them to. The canonical switch is OpenAI's
//! `web_search_options` in the request; the Anthropic adapter turns it into
//! the `web_search` server tool, the Gemini adapter into `google_search`.

use serde_json::{Value, json};
use switchyard_api::response::Delta;
use switchyard_api::{ChatChunk, ChatRequest, ChunkChoice};
use switchyard_providers::Protocol;
use switchyard_router::Attempt;

use super::{DEFAULT_MAX_USES, WebOptions};
use crate::state::AppState;

/// The kinds of native search among the planned endpoints.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Kinds {
    /// Some endpoint speaks OpenAI's protocol.
    pub openai: bool,
    /// Some endpoint speaks Anthropic's.
    pub anthropic: bool,
    /// Some endpoint speaks Gemini's (AI Studio or Vertex AI).
    pub gemini: bool,
}

/// The kinds of native search of `attempts`, or `None` when some endpoint
/// cannot search natively: OpenAI-protocol endpoints whose parameter list
/// names `web_search_options`, every Anthropic endpoint (`web_search`
/// server tool) and every Gemini / Vertex AI endpoint (`google_search`
/// grounding). (xAI's and Perplexity's own search are not wired: an engine
/// searches for them.)
pub fn kinds(state: &AppState, attempts: &[Attempt]) -> Option<Kinds> {
    let mut kinds = Kinds::default();
    for a in attempts {
        let endpoint = a.endpoint(&state.catalog);
        let model = a.model(&state.catalog);
        let protocol = state.upstreams.get(&endpoint.provider).map(|u| u.config.protocol)?;
        match protocol {
            Protocol::Openai | Protocol::Azure => {
                let list = endpoint.supported_parameters.as_deref().unwrap_or(&model.spec.supported_parameters);
                if !list.iter().any(|p| p == "web_search_options") {
                    return None;
                }
                kinds.openai = true;
            }
            Protocol::Anthropic => kinds.anthropic = true,
            Protocol::Gemini | Protocol::Vertex => kinds.gemini = true,
            _ => return None,
        }
    }
    (kinds.openai || kinds.anthropic || kinds.gemini).then_some(kinds)
}

/// Sets `web_search_options` from the plugin's options, keeping what the
/// request already had there. Settings only Anthropic's tool takes (search
/// count, domain lists) are added only when no OpenAI endpoint is planned,
/// which would refuse them.
pub fn switch_on(req: &mut ChatRequest, opts: &WebOptions, kinds: Kinds) {
    let mut o = req.extra.get("web_search_options").and_then(Value::as_object).cloned().unwrap_or_default();
    if let Some(size) = &opts.search_context_size {
        o.insert("search_context_size".into(), json!(size));
    }
    if let Some(location) = &opts.user_location {
        o.entry("user_location").or_insert_with(|| location.clone());
    }
    if !kinds.openai {
        o.insert("max_uses".into(), json!(opts.max_uses.unwrap_or(DEFAULT_MAX_USES)));
        if !opts.include_domains.is_empty() {
            o.insert("allowed_domains".into(), json!(opts.include_domains));
        }
        if !opts.exclude_domains.is_empty() {
            o.insert("blocked_domains".into(), json!(opts.exclude_domains));
        }
    }
    req.extra.insert("web_search_options".into(), Value::Object(o));
}

/// A stream chunk carrying only `annotations` in its delta.
pub fn annotation_chunk(annotations: Value) -> ChatChunk {
    let mut delta = Delta::default();
    delta.extra.insert("annotations".into(), annotations);
    ChatChunk {
        object: "chat.completion.chunk".into(),
        choices: vec![ChunkChoice { delta, ..ChunkChoice::default() }],
        ..ChatChunk::default()
    }
}
