//! Extending the catalog from an OpenRouter `GET /api/v1/models` dump: each
//! model becomes a [`ModelSpec`] served by one provider, ready to be written
//! as a catalog file.

use serde::Deserialize;
use switchyard_api::UnitPrice;

use crate::catalog::{CatalogFile, EndpointSpec, ModelSpec};

/// Why a dump could not be imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Not the JSON of a `/models` answer.
    #[error("not an OpenRouter /api/v1/models dump: {0}")]
    Json(#[from] serde_json::Error),
    /// A price that is not a decimal number of USD.
    #[error("model {model}: price `{field}` is not a decimal USD amount: {value}")]
    Price {
        /// The model's slug.
        model: String,
        /// The pricing field.
        field: &'static str,
        /// What the dump said.
        value: String,
    },
    /// The catalog file cannot be written as TOML.
    #[error("catalog cannot be written: {0}")]
    Toml(#[from] toml::ser::Error),
}

/// What an import did.
#[derive(Debug, Default)]
pub struct Imported {
    /// Models converted.
    pub models: Vec<ModelSpec>,
    /// Slugs left out, with the reason (variable pricing, no slug).
    pub skipped: Vec<(String, String)>,
}

#[derive(Deserialize)]
struct Dump {
    data: Vec<DumpModel>,
}

#[derive(Deserialize)]
struct DumpModel {
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    created: u64,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    context_length: Option<u64>,
    #[serde(default)]
    hugging_face_id: Option<String>,
    #[serde(default)]
    architecture: DumpArchitecture,
    #[serde(default)]
    pricing: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    top_provider: DumpTopProvider,
    #[serde(default)]
    supported_parameters: Vec<String>,
}

#[derive(Deserialize, Default)]
struct DumpArchitecture {
    #[serde(default)]
    input_modalities: Vec<String>,
    #[serde(default)]
    output_modalities: Vec<String>,
    #[serde(default)]
    tokenizer: Option<String>,
}

#[derive(Deserialize, Default)]
struct DumpTopProvider {
    #[serde(default)]
    context_length: Option<u64>,
    #[serde(default)]
    max_completion_tokens: Option<u64>,
}

/// Converts a `/api/v1/models` dump into models served by `provider`. Through
/// `openrouter` the upstream model id is the slug itself; through any other
/// provider it is the part after `author/` (so `--provider groq` serves
/// `meta-llama/llama-3.3-70b-instruct` as `llama-3.3-70b-instruct`).
pub fn from_openrouter_dump(json: &str, provider: &str) -> Result<Imported, ImportError> {
    let dump: Dump = serde_json::from_str(json)?;
    let mut out = Imported::default();
    for m in dump.data {
        let Some((_, name)) = m.id.split_once('/').filter(|(a, n)| !a.is_empty() && !n.is_empty()) else {
            out.skipped.push((m.id, "not an author/name slug".into()));
            continue;
        };
        let price = |field: &'static str| -> Result<Option<UnitPrice>, ImportError> {
            let Some(v) = m.pricing.get(field).filter(|v| !v.is_null()) else { return Ok(None) };
            let text = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
            text.parse::<UnitPrice>().map(Some).map_err(|_| ImportError::Price {
                model: m.id.clone(),
                field,
                value: text,
            })
        };
        let prompt = price("prompt")?.unwrap_or_default();
        let completion = price("completion")?.unwrap_or_default();
        // OpenRouter marks routers priced by what they pick with -1.
        if prompt.0 < 0 || completion.0 < 0 {
            out.skipped.push((m.id, "variable pricing".into()));
            continue;
        }
        let endpoint = EndpointSpec {
            provider: provider.to_owned(),
            model: if provider == "openrouter" { m.id.clone() } else { name.to_owned() },
            prompt,
            completion,
            request: price("request")?.unwrap_or_default(),
            image: price("image")?.unwrap_or_default(),
            internal_reasoning: price("internal_reasoning")?.unwrap_or_default(),
            web_search: price("web_search")?.unwrap_or_default(),
            input_cache_read: price("input_cache_read")?,
            input_cache_write: price("input_cache_write")?,
            context_length: m.top_provider.context_length,
            max_completion_tokens: m.top_provider.max_completion_tokens,
            quantization: None,
            supported_parameters: None,
            tag: None,
            service_tier: None,
            training: false,
            retains_prompts: false,
            zdr: false,
        };
        let modalities = |v: Vec<String>| if v.is_empty() { vec!["text".to_owned()] } else { v };
        out.models.push(ModelSpec {
            name: m.name,
            created: m.created,
            description: m.description.unwrap_or_default(),
            context_length: m.context_length.or(m.top_provider.context_length).unwrap_or(8192),
            input_modalities: modalities(m.architecture.input_modalities),
            output_modalities: modalities(m.architecture.output_modalities),
            tokenizer: m.architecture.tokenizer.unwrap_or_else(|| "Other".into()),
            hugging_face_id: m.hugging_face_id.filter(|h| !h.is_empty()),
            supported_parameters: m.supported_parameters,
            family: None,
            distillable: false,
            endpoints: vec![endpoint],
            id: m.id,
        });
    }
    Ok(out)
}

/// Merges `new` into the models of an existing catalog file (same slug and
/// provider: replaced) and renders the result as TOML.
pub fn merge_into_file(existing: Vec<ModelSpec>, new: Vec<ModelSpec>) -> Result<String, ImportError> {
    let mut models = existing;
    for spec in new {
        let same = |m: &ModelSpec| {
            m.id == spec.id && m.endpoints.iter().map(|e| &e.provider).eq(spec.endpoints.iter().map(|e| &e.provider))
        };
        match models.iter_mut().find(|m| same(m)) {
            Some(slot) => *slot = spec,
            None => models.push(spec),
        }
    }
    Ok(toml::to_string(&CatalogFile { models })?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{Catalog, parse_catalog};

    const DUMP: &str = r#"{"data": [
      {"id": "openai/gpt-4o-mini", "name": "OpenAI: GPT-4o-mini", "created": 1721260800,
       "description": "Small and fast.", "context_length": 128000,
       "architecture": {"modality": "text+image->text", "input_modalities": ["text", "image", "file"],
                        "output_modalities": ["text"], "tokenizer": "GPT", "instruct_type": null},
       "pricing": {"prompt": "0.00000015", "completion": "0.0000006", "request": "0", "image": "0.000217",
                   "web_search": "0", "internal_reasoning": "0", "input_cache_read": "0.000000075"},
       "top_provider": {"context_length": 128000, "max_completion_tokens": 16384, "is_moderated": true},
       "per_request_limits": null, "supported_parameters": ["max_tokens", "temperature", "tools"]},
      {"id": "openrouter/auto", "pricing": {"prompt": "-1", "completion": "-1"}},
      {"id": "nonsense"}
    ]}"#;

    #[test]
    fn converts_prices_limits_and_modalities() {
        let got = from_openrouter_dump(DUMP, "openrouter").unwrap();
        assert_eq!(got.models.len(), 1);
        assert_eq!(got.skipped.len(), 2);
        let m = &got.models[0];
        assert_eq!(m.input_modalities, ["text", "image", "file"]);
        assert_eq!(m.tokenizer, "GPT");
        let e = &m.endpoints[0];
        assert_eq!(e.model, "openai/gpt-4o-mini");
        assert_eq!(e.prompt.to_string(), "0.00000015");
        assert_eq!(e.input_cache_read.map(|p| p.to_string()).as_deref(), Some("0.000000075"));
        assert_eq!(e.max_completion_tokens, Some(16384));
        let via_openai = from_openrouter_dump(DUMP, "openai").unwrap();
        assert_eq!(via_openai.models[0].endpoints[0].model, "gpt-4o-mini");
    }

    #[test]
    fn written_file_parses_back_and_builds_a_catalog() {
        let got = from_openrouter_dump(DUMP, "openrouter").unwrap();
        let text = merge_into_file(Vec::new(), got.models).unwrap();
        let again = parse_catalog(&text).unwrap();
        let text2 = merge_into_file(again.clone(), from_openrouter_dump(DUMP, "openrouter").unwrap().models).unwrap();
        assert_eq!(text, text2, "importing twice changes nothing");
        let c = Catalog::build(again, |_| true).unwrap();
        assert_eq!(c.get("openai/gpt-4o-mini").unwrap().object.pricing.prompt.to_string(), "0.00000015");
    }

    #[test]
    fn a_bad_price_names_the_model() {
        let err = from_openrouter_dump(r#"{"data":[{"id":"a/b","pricing":{"prompt":"cheap"}}]}"#, "x").unwrap_err();
        assert!(err.to_string().contains("a/b") && err.to_string().contains("cheap"), "{err}");
    }
}
