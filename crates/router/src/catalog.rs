//! Models and their endpoints: the built-in catalog plus what config adds.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use switchyard_api::UnitPrice;
use switchyard_api::models::{Architecture, ModelObject, ModelPricing, TopProvider};

/// The catalog shipped in the binary (`catalog.toml` beside this crate).
pub const BUILTIN_CATALOG: &str = include_str!("../catalog.toml");

/// A model as written in a catalog file or the config.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// Slug, `author/name`.
    pub id: String,
    /// Display name; defaults to the slug.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Unix seconds when the model was released.
    #[serde(default)]
    pub created: u64,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// Context window in tokens.
    #[serde(default = "default_context")]
    pub context_length: u64,
    /// `text`, `image`, `file`, `audio`, `video`.
    #[serde(default = "text_only")]
    pub input_modalities: Vec<String>,
    /// `text`, `image`, `embeddings`...
    #[serde(default = "text_only")]
    pub output_modalities: Vec<String>,
    /// Tokenizer family.
    #[serde(default = "other_tokenizer")]
    pub tokenizer: String,
    /// Hugging Face repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hugging_face_id: Option<String>,
    /// Request parameters the model accepts.
    #[serde(default)]
    pub supported_parameters: Vec<String>,
    /// Family for `~author/family-latest` aliases (`claude-sonnet`,
    /// `gpt-mini`...): the alias names the newest model (by `created`) of
    /// that author and family.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    /// The author lets outputs be used to train other models
    /// (`provider.enforce_distillable_text`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub distillable: bool,
    /// Where the model is served.
    #[serde(default)]
    pub endpoints: Vec<EndpointSpec>,
}

fn default_context() -> u64 {
    8192
}

fn text_only() -> Vec<String> {
    vec!["text".to_owned()]
}

fn other_tokenizer() -> String {
    "Other".to_owned()
}

/// One provider serving a model.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointSpec {
    /// Provider slug (`openai`, `groq`, or a configured provider id).
    pub provider: String,
    /// The provider's own model id.
    pub model: String,
    /// USD per prompt token.
    #[serde(default)]
    pub prompt: UnitPrice,
    /// USD per completion token.
    #[serde(default)]
    pub completion: UnitPrice,
    /// USD per request.
    #[serde(default)]
    pub request: UnitPrice,
    /// USD per input image.
    #[serde(default)]
    pub image: UnitPrice,
    /// USD per reasoning token when priced apart from completion.
    #[serde(default)]
    pub internal_reasoning: UnitPrice,
    /// USD per cached prompt token read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_cache_read: Option<UnitPrice>,
    /// USD per prompt token written to the cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_cache_write: Option<UnitPrice>,
    /// Context window here, if smaller than the model's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_length: Option<u64>,
    /// Output cap here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_completion_tokens: Option<u64>,
    /// Weight quantization (`fp8`, `bf16`...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantization: Option<String>,
    /// Parameters this endpoint takes, when it differs from the model's list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supported_parameters: Option<Vec<String>>,
    /// The routing tag when it is more than the provider slug: a region or
    /// variant (`google-vertex/us-east5`, `deepinfra/turbo`) or a service
    /// tier (`openai/flex`). `provider.order/only/ignore` match it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// `flex` or `priority` for a service-tier endpoint, which is used only
    /// when asked for by tier, variant or exact tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_tier: Option<String>,
    /// The provider may train on prompts.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub training: bool,
    /// The provider keeps prompts (for abuse monitoring or logs).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub retains_prompts: bool,
    /// Zero data retention: nothing is kept after the answer.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub zdr: bool,
}

impl EndpointSpec {
    /// The endpoint's prices in OpenRouter's shape.
    pub fn pricing(&self) -> ModelPricing {
        ModelPricing {
            prompt: self.prompt,
            completion: self.completion,
            request: self.request,
            image: self.image,
            web_search: UnitPrice::ZERO,
            internal_reasoning: self.internal_reasoning,
            input_cache_read: self.input_cache_read,
            input_cache_write: self.input_cache_write,
        }
    }

    /// The tag `provider.order/only/ignore` match: `tag`, else the provider.
    pub fn routing_tag(&self) -> &str {
        self.tag.as_deref().unwrap_or(&self.provider)
    }

    /// True when every price is zero.
    pub fn is_free(&self) -> bool {
        self.prompt.is_zero() && self.completion.is_zero() && self.request.is_zero() && self.image.is_zero()
    }
}

/// A catalog file: `[[models]]` entries.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogFile {
    /// The models.
    #[serde(default)]
    pub models: Vec<ModelSpec>,
}

/// Why a catalog could not be built.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The file does not parse.
    #[error("catalog does not parse: {0}")]
    Parse(#[from] toml::de::Error),
    /// A slug is not `author/name`.
    #[error("model id `{0}` must look like `author/name`")]
    BadSlug(String),
}

/// A routable model: its spec and the endpoints whose provider is enabled.
#[derive(Clone, Debug)]
pub struct Model {
    /// Everything known about the model.
    pub spec: ModelSpec,
    /// Endpoints of enabled providers, in catalog order.
    pub endpoints: Vec<EndpointSpec>,
    /// Pre-rendered `/models` entry.
    pub object: ModelObject,
}

/// All routable models, indexed by slug.
#[derive(Clone, Debug, Default)]
pub struct Catalog {
    models: Vec<Model>,
    by_slug: HashMap<String, usize>,
}

/// Parses a catalog file.
pub fn parse_catalog(text: &str) -> Result<Vec<ModelSpec>, CatalogError> {
    Ok(toml::from_str::<CatalogFile>(text)?.models)
}

impl Catalog {
    /// Builds the catalog from model specs (later specs with the same id add
    /// their endpoints to, and override the fields of, earlier ones), keeping
    /// only endpoints for which `enabled(provider)` holds and only models with
    /// at least one such endpoint.
    pub fn build(specs: Vec<ModelSpec>, enabled: impl Fn(&str) -> bool) -> Result<Catalog, CatalogError> {
        let mut merged: Vec<ModelSpec> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        for spec in specs {
            if spec.id.split_once('/').is_none_or(|(a, n)| a.is_empty() || n.is_empty()) {
                return Err(CatalogError::BadSlug(spec.id));
            }
            match index.get(&spec.id) {
                Some(&i) => {
                    let mut endpoints = std::mem::take(&mut merged[i].endpoints);
                    endpoints
                        .retain(|e| !spec.endpoints.iter().any(|n| n.provider == e.provider && n.model == e.model));
                    endpoints.extend(spec.endpoints.iter().cloned());
                    merged[i] = ModelSpec { endpoints, ..spec };
                }
                None => {
                    index.insert(spec.id.clone(), merged.len());
                    merged.push(spec);
                }
            }
        }
        let mut catalog = Catalog::default();
        for spec in merged {
            let endpoints: Vec<EndpointSpec> =
                spec.endpoints.iter().filter(|e| enabled(&e.provider)).cloned().collect();
            if endpoints.is_empty() {
                continue;
            }
            let object = model_object(&spec, &endpoints);
            catalog.by_slug.insert(spec.id.clone(), catalog.models.len());
            catalog.models.push(Model { spec, endpoints, object });
        }
        Ok(catalog)
    }

    /// The model with this exact slug.
    pub fn get(&self, slug: &str) -> Option<&Model> {
        self.index_of(slug).map(|i| &self.models[i])
    }

    /// The position of the model with this slug.
    pub fn index_of(&self, slug: &str) -> Option<usize> {
        self.by_slug.get(slug).copied()
    }

    /// Every routable model, in catalog order.
    pub fn models(&self) -> &[Model] {
        &self.models
    }
}

fn model_object(spec: &ModelSpec, endpoints: &[EndpointSpec]) -> ModelObject {
    // The cheapest endpoint sets the advertised price, as OpenRouter does.
    let top = endpoints
        .iter()
        .min_by_key(|e| (e.prompt.0.saturating_add(e.completion.0), e.provider.clone()))
        .unwrap_or(&endpoints[0]);
    let modality = format!("{}->{}", spec.input_modalities.join("+"), spec.output_modalities.join("+"));
    ModelObject {
        id: spec.id.clone(),
        canonical_slug: spec.id.clone(),
        hugging_face_id: spec.hugging_face_id.clone(),
        name: spec.name.clone().unwrap_or_else(|| spec.id.clone()),
        created: spec.created,
        description: spec.description.clone(),
        context_length: spec.context_length,
        architecture: Architecture {
            modality,
            input_modalities: spec.input_modalities.clone(),
            output_modalities: spec.output_modalities.clone(),
            tokenizer: spec.tokenizer.clone(),
            instruct_type: None,
        },
        pricing: top.pricing(),
        top_provider: TopProvider {
            context_length: Some(top.context_length.unwrap_or(spec.context_length)),
            max_completion_tokens: top.max_completion_tokens,
            is_moderated: false,
        },
        per_request_limits: None,
        supported_parameters: spec.supported_parameters.clone(),
        default_parameters: Some(serde_json::json!({
            "temperature": null, "top_p": null, "frequency_penalty": null
        })),
        supported_voices: None,
        links: Some(serde_json::json!({ "details": format!("/api/v1/models/{}/endpoints", spec.id) })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_catalog_parses_with_real_prices() {
        let specs = parse_catalog(BUILTIN_CATALOG).unwrap();
        assert!(specs.len() >= 10);
        let all = Catalog::build(specs, |_| true).unwrap();
        let gpt = all.get("openai/gpt-4o-mini").unwrap();
        assert_eq!(gpt.object.pricing.prompt.to_string(), "0.00000015");
        for m in all.models() {
            assert!(!m.endpoints.is_empty());
            assert!(m.spec.context_length >= 1024, "{}", m.spec.id);
        }
    }

    #[test]
    fn only_enabled_providers_make_a_model_routable_and_config_extends() {
        let mut specs = parse_catalog(BUILTIN_CATALOG).unwrap();
        specs.extend(
            parse_catalog(
                r#"[[models]]
                id = "openai/gpt-4o-mini"
                context_length = 128000
                [[models.endpoints]]
                provider = "local"
                model = "mini"
                "#,
            )
            .unwrap(),
        );
        let c = Catalog::build(specs, |p| p == "local").unwrap();
        assert_eq!(c.models().len(), 1);
        let m = c.get("openai/gpt-4o-mini").unwrap();
        assert_eq!(m.endpoints.len(), 1);
        assert!(m.endpoints[0].is_free());
    }

    #[test]
    fn bad_slug_is_refused() {
        let specs = parse_catalog("[[models]]\nid = \"nope\"\n").unwrap();
        assert!(matches!(Catalog::build(specs, |_| true), Err(CatalogError::BadSlug(_))));
    }
}
