//! `POST /api/v1/embeddings`: OpenAI's embeddings shape plus OpenRouter's
//! `usage.cost` and `provider`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Extra, Usage};

/// The request body.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct EmbeddingsRequest {
    /// Catalog slug of an embedding model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// A string, a list of strings, or token arrays.
    pub input: Value,
    /// `float` (default) or `base64`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding_format: Option<String>,
    /// Output dimensions, for models that can shorten their vectors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dimensions: Option<u32>,
    /// Routing preferences (not forwarded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<crate::provider::ProviderPreferences>,
    /// End-user id; hashed before any upstream use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Other fields (`input_type`...), passed on.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The response body.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct EmbeddingsResponse {
    /// `gen-...`.
    #[serde(default)]
    pub id: String,
    /// `list`.
    #[serde(default)]
    pub object: String,
    /// Catalog slug that served.
    #[serde(default)]
    pub model: String,
    /// Serving provider's display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// `{object: "embedding", index, embedding}` items, passed through as sent.
    #[serde(default)]
    pub data: Vec<Value>,
    /// Tokens and cost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
}
