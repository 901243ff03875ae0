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

fn zero_price(p: &UnitPrice) -> bool {
    p.is_zero()
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
    /// USD per native web search the provider runs (the web plugin).
    #[serde(default, skip_serializing_if = "zero_price")]
    pub web_search: UnitPrice,
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
            web_search: self.web_search,
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
    // The cheapest standard endpoint sets the advertised price, as OpenRouter
    // does: service tiers (flex, priority) are asked for, not the default.
    let standard = endpoints.iter().filter(|e| e.service_tier.is_none());
    let candidates: Vec<&EndpointSpec> =
        if standard.clone().next().is_some() { standard.collect() } else { endpoints.iter().collect() };
    let top = candidates
        .into_iter()
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

    fn builtin() -> Catalog {
        Catalog::build(parse_catalog(BUILTIN_CATALOG).unwrap(), |_| true).unwrap()
    }

    fn price(s: &str) -> UnitPrice {
        s.parse().unwrap()
    }

    #[test]
    fn builtin_catalog_is_large_and_every_model_has_a_family() {
        let c = builtin();
        assert!(c.models().len() >= 60, "{}", c.models().len());
        for m in c.models() {
            let family = m.spec.family.as_deref().unwrap_or_else(|| panic!("{} has no family", m.spec.id));
            assert!(!family.is_empty() && !family.ends_with("-latest"), "{}: {family}", m.spec.id);
        }
    }

    #[test]
    fn latest_aliases_resolve_to_the_newest_real_model() {
        let c = builtin();
        let cases = [
            ("~anthropic/claude-sonnet-latest", "anthropic/claude-sonnet-4.5"),
            ("~anthropic/claude-opus-latest", "anthropic/claude-opus-4.1"),
            ("~anthropic/claude-haiku-latest", "anthropic/claude-haiku-4.5"),
            ("~openai/gpt-5-latest", "openai/gpt-5"),
            ("~openai/gpt-5-mini-latest", "openai/gpt-5-mini"),
            ("~openai/gpt-5-nano-latest", "openai/gpt-5-nano"),
            ("~openai/gpt-4.1-latest", "openai/gpt-4.1"),
            ("~openai/gpt-4o-latest", "openai/gpt-4o"),
            ("~openai/gpt-4o-mini-latest", "openai/gpt-4o-mini"),
            ("~openai/o-latest", "openai/o3"),
            ("~openai/o-mini-latest", "openai/o4-mini"),
            ("~openai/gpt-oss-120b-latest", "openai/gpt-oss-120b"),
            ("~openai/text-embedding-small-latest", "openai/text-embedding-3-small"),
            ("~google/gemini-pro-latest", "google/gemini-2.5-pro"),
            ("~google/gemini-flash-latest", "google/gemini-2.5-flash"),
            ("~google/gemini-flash-lite-latest", "google/gemini-2.5-flash-lite"),
            ("~meta-llama/llama-70b-latest", "meta-llama/llama-3.3-70b-instruct"),
            ("~meta-llama/llama-maverick-latest", "meta-llama/llama-4-maverick"),
            ("~mistralai/mistral-large-latest", "mistralai/mistral-large"),
            ("~mistralai/mistral-small-latest", "mistralai/mistral-small-3.2-24b-instruct"),
            ("~mistralai/codestral-latest", "mistralai/codestral-2508"),
            ("~x-ai/grok-latest", "x-ai/grok-4"),
            ("~x-ai/grok-mini-latest", "x-ai/grok-3-mini"),
            ("~x-ai/grok-code-latest", "x-ai/grok-code-fast-1"),
            ("~deepseek/deepseek-chat-latest", "deepseek/deepseek-chat"),
            ("~deepseek/deepseek-r1-latest", "deepseek/deepseek-r1"),
            ("~cohere/command-latest", "cohere/command-a"),
            ("~cohere/command-r-latest", "cohere/command-r-08-2024"),
            ("~qwen/qwen-235b-latest", "qwen/qwen3-235b-a22b-2507"),
            ("~moonshotai/kimi-latest", "moonshotai/kimi-k2"),
        ];
        for (alias, want) in cases {
            let got = crate::resolve::resolve(&c, alias).unwrap_or_else(|e| panic!("{alias}: {e}"));
            assert_eq!(c.models()[got.model].spec.id, want, "{alias}");
        }
        // A family belongs to one author: the alias never crosses authors.
        assert!(crate::resolve::resolve(&c, "~openai/claude-sonnet-latest").is_err());
    }

    #[test]
    fn every_family_alias_resolves_to_its_unique_newest_model() {
        let c = builtin();
        for m in c.models() {
            let (author, _) = m.spec.id.split_once('/').unwrap();
            let family = m.spec.family.as_deref().unwrap();
            let members: Vec<&Model> = c
                .models()
                .iter()
                .filter(|o| o.spec.id.starts_with(&format!("{author}/")) && o.spec.family.as_deref() == Some(family))
                .collect();
            let newest = members.iter().map(|o| o.spec.created).max().unwrap();
            let at_newest: Vec<&str> =
                members.iter().filter(|o| o.spec.created == newest).map(|o| o.spec.id.as_str()).collect();
            assert_eq!(at_newest.len(), 1, "~{author}/{family}-latest is ambiguous: {at_newest:?}");
            let alias = format!("~{author}/{family}-latest");
            let got = crate::resolve::resolve(&c, &alias).unwrap();
            assert_eq!(c.models()[got.model].spec.id, at_newest[0], "{alias}");
        }
    }

    #[test]
    fn openai_service_tiers_are_endpoints_priced_as_published() {
        let c = builtin();
        // (model, tier, prompt, completion, cache read) in USD per million tokens.
        let published = [
            ("openai/gpt-5", "flex", "0.625", "5", "0.0625"),
            ("openai/gpt-5", "priority", "2.5", "20", "0.25"),
            ("openai/gpt-5-mini", "flex", "0.125", "1", "0.0125"),
            ("openai/gpt-5-mini", "priority", "0.45", "3.6", "0.045"),
            ("openai/gpt-5-nano", "flex", "0.025", "0.2", "0.0025"),
            ("openai/o3", "flex", "1", "4", "0.25"),
            ("openai/o3", "priority", "3.5", "14", "0.875"),
            ("openai/o4-mini", "flex", "0.55", "2.2", "0.1375"),
            ("openai/o4-mini", "priority", "2", "8", "0.5"),
            ("openai/gpt-4.1", "priority", "3.5", "14", "0.875"),
            ("openai/gpt-4.1-mini", "priority", "0.7", "2.8", "0.175"),
            ("openai/gpt-4.1-nano", "priority", "0.2", "0.8", "0.05"),
            ("openai/gpt-4o", "priority", "4.25", "17", "2.125"),
            ("openai/gpt-4o-mini", "priority", "0.25", "1", "0.125"),
        ];
        let per_m = |s: &str| UnitPrice(price(s).0 / 1_000_000);
        for (id, tier, prompt, completion, cached) in published {
            let m = c.get(id).unwrap();
            let standard: Vec<&EndpointSpec> = m.endpoints.iter().filter(|e| e.service_tier.is_none()).collect();
            assert_eq!(standard.len(), 1, "{id} keeps one standard endpoint");
            let base = standard[0];
            let tiered: Vec<&EndpointSpec> =
                m.endpoints.iter().filter(|e| e.service_tier.as_deref() == Some(tier)).collect();
            assert_eq!(tiered.len(), 1, "{id} {tier}");
            let e = tiered[0];
            assert_eq!((e.provider.as_str(), e.model.as_str()), ("openai", base.model.as_str()), "{id} {tier}");
            assert_eq!(e.routing_tag(), format!("openai/{tier}"));
            assert_eq!(e.prompt, per_m(prompt), "{id} {tier} prompt");
            assert_eq!(e.completion, per_m(completion), "{id} {tier} completion");
            assert_eq!(e.input_cache_read, Some(per_m(cached)), "{id} {tier} cache read");
            assert_eq!(e.max_completion_tokens, base.max_completion_tokens, "{id} {tier}");
            assert_eq!((e.training, e.retains_prompts, e.zdr), (base.training, base.retains_prompts, base.zdr));
            if tier == "flex" {
                // Flex is half of standard, cache reads included.
                assert_eq!(e.prompt.0 * 2, base.prompt.0, "{id}");
                assert_eq!(e.completion.0 * 2, base.completion.0, "{id}");
                assert_eq!(e.input_cache_read.unwrap().0 * 2, base.input_cache_read.unwrap().0, "{id}");
            } else {
                assert!(e.prompt.0 > base.prompt.0 && e.completion.0 > base.completion.0, "{id}");
            }
        }
        // Priority excludes long context (over 128K prompt tokens) on GPT-5 and GPT-4.1.
        for id in ["openai/gpt-5", "openai/gpt-5-mini", "openai/gpt-4.1", "openai/gpt-4.1-mini", "openai/gpt-4.1-nano"]
        {
            let e = c.get(id).unwrap().endpoints.iter().find(|e| e.service_tier.as_deref() == Some("priority"));
            assert_eq!(e.unwrap().context_length, Some(128_000), "{id}");
        }
        // No tier endpoint anywhere else, and every tier is spelled as the router expects.
        for m in c.models() {
            for e in m.endpoints.iter().filter(|e| e.service_tier.is_some()) {
                let tier = e.service_tier.as_deref().unwrap();
                assert!(tier == "flex" || tier == "priority", "{}: {tier}", m.spec.id);
                assert!(published.iter().any(|p| (p.0, p.1) == (m.spec.id.as_str(), tier)), "{} {tier}", m.spec.id);
            }
        }
    }

    #[test]
    fn tier_endpoints_of_one_spec_are_kept_and_a_config_endpoint_replaces_them_all() {
        let mut specs = parse_catalog(BUILTIN_CATALOG).unwrap();
        let c = Catalog::build(specs.clone(), |_| true).unwrap();
        let tags: Vec<&str> = c.get("openai/gpt-5").unwrap().endpoints.iter().map(EndpointSpec::routing_tag).collect();
        assert_eq!(tags, ["openai", "openai/flex", "openai/priority"]);
        specs.extend(
            parse_catalog(
                r#"[[models]]
                id = "openai/gpt-5"
                [[models.endpoints]]
                provider = "openai"
                model = "gpt-5"
                prompt = "0.00000125"
                completion = "0.00001"
                zdr = true
                "#,
            )
            .unwrap(),
        );
        let c = Catalog::build(specs, |_| true).unwrap();
        let m = c.get("openai/gpt-5").unwrap();
        assert_eq!(m.endpoints.len(), 1);
        assert!(m.endpoints[0].zdr && m.endpoints[0].service_tier.is_none());
    }

    #[test]
    fn data_policies_are_consistent_per_provider_and_as_documented() {
        let c = builtin();
        // (training, retains_prompts, zdr), as in the table atop catalog.toml.
        let documented: HashMap<&str, (bool, bool, bool)> = [
            ("openai", (false, true, false)),
            ("anthropic", (false, true, false)),
            ("google-ai-studio", (false, true, false)),
            ("xai", (false, true, false)),
            ("mistral", (false, true, false)),
            ("cohere", (true, true, false)),
            ("deepseek", (true, true, false)),
            ("amazon-bedrock", (false, false, true)),
            ("groq", (false, false, true)),
            ("together", (false, false, true)),
            ("fireworks", (false, false, true)),
            ("deepinfra", (false, false, true)),
        ]
        .into_iter()
        .collect();
        let mut seen: HashMap<&str, (bool, bool, bool)> = HashMap::new();
        for m in c.models() {
            for e in &m.endpoints {
                let flags = (e.training, e.retains_prompts, e.zdr);
                let want = documented.get(e.provider.as_str()).unwrap_or_else(|| panic!("{} undocumented", e.provider));
                assert_eq!(&flags, want, "{} on {}", m.spec.id, e.routing_tag());
                assert_eq!(*seen.entry(e.provider.as_str()).or_insert(flags), flags, "{}", e.provider);
                // Zero retention rules out keeping or training on prompts.
                assert!(!e.zdr || !(e.training || e.retains_prompts), "{} on {}", m.spec.id, e.provider);
            }
        }
        assert_eq!(seen.len(), documented.len(), "every documented provider serves some model");
    }

    #[test]
    fn distillable_follows_the_licence() {
        let c = builtin();
        let distillable: Vec<&str> =
            c.models().iter().filter(|m| m.spec.distillable).map(|m| m.spec.id.as_str()).collect();
        assert_eq!(
            distillable,
            [
                "openai/gpt-oss-120b",
                "openai/gpt-oss-20b",
                "deepseek/deepseek-chat",
                "deepseek/deepseek-r1",
                "mistralai/mistral-small-3.2-24b-instruct",
                "moonshotai/kimi-k2",
                "qwen/qwen3-32b",
                "qwen/qwen3-235b-a22b-2507",
                "mistralai/mistral-nemo",
                "qwen/qwen-2.5-coder-32b-instruct",
            ]
        );
    }

    #[test]
    fn the_advertised_price_is_the_standard_tier() {
        let c = Catalog::build(parse_catalog(BUILTIN_CATALOG).unwrap(), |_| true).unwrap();
        let gpt5 = c.get("openai/gpt-5").unwrap();
        assert!(gpt5.endpoints.iter().any(|e| e.service_tier.as_deref() == Some("flex")));
        assert_eq!(gpt5.object.pricing.prompt.to_string(), "0.00000125");
    }
}
