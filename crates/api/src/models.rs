//! `GET /api/v1/models`: OpenRouter's model objects.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::UnitPrice;

/// `{"data": [...]}`.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct ModelList {
    /// The models.
    pub data: Vec<ModelObject>,
}

/// One model as OpenRouter lists it.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct ModelObject {
    /// Routable slug, `author/name`.
    pub id: String,
    /// Permanent slug.
    pub canonical_slug: String,
    /// Hugging Face repository, if any.
    #[serde(default)]
    pub hugging_face_id: Option<String>,
    /// Display name.
    pub name: String,
    /// Unix seconds when the model was added.
    pub created: u64,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// Context window in tokens.
    pub context_length: u64,
    /// Modalities and tokenizer.
    pub architecture: Architecture,
    /// Prices, USD per unit, as decimal strings.
    pub pricing: ModelPricing,
    /// The best endpoint's limits.
    pub top_provider: TopProvider,
    /// Always null here.
    #[serde(default)]
    pub per_request_limits: Option<Value>,
    /// Request parameters the model accepts.
    #[serde(default)]
    pub supported_parameters: Vec<String>,
    /// Default sampling parameters (null = provider default).
    #[serde(default)]
    pub default_parameters: Option<Value>,
    /// Voices, for speech models.
    #[serde(default)]
    pub supported_voices: Option<Value>,
    /// Related URLs.
    #[serde(default)]
    pub links: Option<Value>,
}

/// `architecture`.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Architecture {
    /// e.g. `text+image->text`.
    pub modality: String,
    /// `text`, `image`, `file`, `audio`, `video`.
    pub input_modalities: Vec<String>,
    /// `text`, `image`, `embeddings`, ...
    pub output_modalities: Vec<String>,
    /// Tokenizer family (`GPT`, `Claude`, `Llama3`...).
    pub tokenizer: String,
    /// Chat template family, if known.
    #[serde(default)]
    pub instruct_type: Option<String>,
}

/// `pricing`: USD per token (or per request/image), as decimal strings.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct ModelPricing {
    /// Per prompt token.
    pub prompt: UnitPrice,
    /// Per completion token.
    pub completion: UnitPrice,
    /// Per request.
    #[serde(default)]
    pub request: UnitPrice,
    /// Per input image.
    #[serde(default)]
    pub image: UnitPrice,
    /// Per web search.
    #[serde(default)]
    pub web_search: UnitPrice,
    /// Per reasoning token, when priced apart from completion.
    #[serde(default)]
    pub internal_reasoning: UnitPrice,
    /// Per cached prompt token read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_cache_read: Option<UnitPrice>,
    /// Per prompt token written to the cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_cache_write: Option<UnitPrice>,
}

/// `top_provider`.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct TopProvider {
    /// Context window of the best endpoint.
    pub context_length: Option<u64>,
    /// Output cap of the best endpoint.
    pub max_completion_tokens: Option<u64>,
    /// Whether the endpoint moderates input.
    pub is_moderated: bool,
}
