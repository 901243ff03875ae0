//! `[search]` in the config: the external engines, their keys, base URLs
//! and prices, and which one serves requests that do not name one.

use std::sync::Arc;

use serde::Deserialize;
use switchyard_api::UnitPrice;

use super::search::SearchBackend;
use super::{brave, exa, searxng, tavily};
use crate::error::GatewayError;

/// `[search]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SearchSettings {
    /// The engine for requests that name none and cannot search natively;
    /// unset: the first configured of exa, brave, tavily, searxng.
    pub engine: Option<EngineName>,
    /// `[search.exa]`; the key may come from `EXA_API_KEY` instead.
    pub exa: Option<EngineSettings>,
    /// `[search.brave]`; the key may come from `BRAVE_API_KEY` instead.
    pub brave: Option<EngineSettings>,
    /// `[search.tavily]`; the key may come from `TAVILY_API_KEY` instead.
    pub tavily: Option<EngineSettings>,
    /// `[search.searxng]`; `base_url` may come from `SEARXNG_URL` instead.
    pub searxng: Option<EngineSettings>,
}

/// `[search.<engine>]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EngineSettings {
    /// The engine's API key.
    pub api_key: Option<String>,
    /// The API root; defaults to the engine's public API (SearXNG has none).
    pub base_url: Option<String>,
    /// USD charged per result returned (default $0.004, OpenRouter's Exa
    /// price of $4 per 1000 results; SearXNG, self-hosted, defaults to 0).
    pub price_per_result: Option<UnitPrice>,
}

/// An external search engine.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum EngineName {
    /// exa.ai.
    Exa,
    /// Brave Search.
    Brave,
    /// Tavily.
    Tavily,
    /// A SearXNG instance.
    Searxng,
}

impl EngineName {
    /// Every engine, in the order the default is picked.
    pub const ALL: [EngineName; 4] = [EngineName::Exa, EngineName::Brave, EngineName::Tavily, EngineName::Searxng];

    /// The name requests use.
    pub fn as_str(self) -> &'static str {
        match self {
            EngineName::Exa => "exa",
            EngineName::Brave => "brave",
            EngineName::Tavily => "tavily",
            EngineName::Searxng => "searxng",
        }
    }

    /// The engine a request names, if it is one.
    pub fn parse(name: &str) -> Option<EngineName> {
        EngineName::ALL.into_iter().find(|e| e.as_str() == name)
    }
}

/// Default per-result price: $4 per 1000 results.
fn default_price(name: EngineName) -> UnitPrice {
    match name {
        EngineName::Searxng => UnitPrice::ZERO,
        // 0.004 USD in femto-dollars.
        _ => UnitPrice(4_000_000_000_000),
    }
}

/// A usable engine and its price.
pub struct Engine {
    /// The API client.
    pub backend: Arc<dyn SearchBackend>,
    /// USD per result.
    pub price_per_result: UnitPrice,
}

/// The configured engines.
#[derive(Default)]
pub struct Engines {
    default: Option<EngineName>,
    engines: Vec<(EngineName, Engine)>,
}

impl Engines {
    /// The engines `settings` and the environment configure: an engine is
    /// usable once it has a key (SearXNG: a base URL).
    pub fn new(settings: &SearchSettings, env: &dyn Fn(&str) -> Option<String>, client: reqwest::Client) -> Engines {
        let mut engines = Vec::new();
        for name in EngineName::ALL {
            let section = match name {
                EngineName::Exa => &settings.exa,
                EngineName::Brave => &settings.brave,
                EngineName::Tavily => &settings.tavily,
                EngineName::Searxng => &settings.searxng,
            };
            let s = section.clone().unwrap_or_default();
            let from_env = |var: &str| env(var).filter(|v| !v.is_empty());
            let client = client.clone();
            let backend: Option<Arc<dyn SearchBackend>> = match name {
                EngineName::Exa => s.api_key.clone().or_else(|| from_env("EXA_API_KEY")).map(|api_key| {
                    let base_url = s.base_url.clone().unwrap_or_else(|| exa::DEFAULT_BASE_URL.into());
                    Arc::new(exa::Exa { client, base_url, api_key }) as Arc<dyn SearchBackend>
                }),
                EngineName::Brave => s.api_key.clone().or_else(|| from_env("BRAVE_API_KEY")).map(|api_key| {
                    let base_url = s.base_url.clone().unwrap_or_else(|| brave::DEFAULT_BASE_URL.into());
                    Arc::new(brave::Brave { client, base_url, api_key }) as Arc<dyn SearchBackend>
                }),
                EngineName::Tavily => s.api_key.clone().or_else(|| from_env("TAVILY_API_KEY")).map(|api_key| {
                    let base_url = s.base_url.clone().unwrap_or_else(|| tavily::DEFAULT_BASE_URL.into());
                    Arc::new(tavily::Tavily { client, base_url, api_key }) as Arc<dyn SearchBackend>
                }),
                EngineName::Searxng => s.base_url.clone().or_else(|| from_env("SEARXNG_URL")).map(|base_url| {
                    Arc::new(searxng::Searxng { client, base_url, api_key: s.api_key.clone() })
                        as Arc<dyn SearchBackend>
                }),
            };
            if let Some(backend) = backend {
                let price_per_result = s.price_per_result.unwrap_or_else(|| default_price(name));
                engines.push((name, Engine { backend, price_per_result }));
            }
        }
        let default = settings.engine.or_else(|| engines.first().map(|(n, _)| *n));
        Engines { default, engines }
    }

    /// The engine a request asked for (`None`: the default), or a 400
    /// saying why it cannot be used.
    pub fn get(&self, name: Option<&str>) -> Result<&Engine, GatewayError> {
        let wanted = match name {
            Some(n) => EngineName::parse(n).ok_or_else(|| {
                GatewayError::BadRequest(format!(
                    "unknown web search engine `{n}` (expected native, exa, brave, tavily or searxng)"
                ))
            })?,
            None => self.default.ok_or_else(|| {
                GatewayError::BadRequest("web search needs a search engine, and none is configured".into())
            })?,
        };
        self.engines.iter().find(|(n, _)| *n == wanted).map(|(_, e)| e).ok_or_else(|| {
            GatewayError::BadRequest(format!("web search engine `{}` is not configured", wanted.as_str()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(toml_text: &str) -> SearchSettings {
        toml::from_str(toml_text).unwrap()
    }

    #[test]
    fn engines_come_from_config_and_env() {
        let s = settings("engine = \"tavily\"\n[tavily]\napi_key = \"t\"\nprice_per_result = \"0.01\"\n");
        let env = |k: &str| (k == "EXA_API_KEY").then(|| "e".to_owned());
        let engines = Engines::new(&s, &env, reqwest::Client::new());
        assert_eq!(engines.get(None).unwrap().backend.name(), "tavily");
        assert_eq!(engines.get(None).unwrap().price_per_result, "0.01".parse().unwrap());
        assert_eq!(engines.get(Some("exa")).unwrap().price_per_result, UnitPrice(4_000_000_000_000));
        let e = engines.get(Some("brave")).err().unwrap();
        assert_eq!(e.to_string(), "web search engine `brave` is not configured");
        assert_eq!(e.status(), 400);
        assert!(engines.get(Some("bing")).is_err());
    }

    #[test]
    fn default_is_the_first_configured() {
        let env = |k: &str| (k == "SEARXNG_URL").then(|| "http://127.0.0.1:1".to_owned());
        let engines = Engines::new(&SearchSettings::default(), &env, reqwest::Client::new());
        let e = engines.get(None).unwrap();
        assert_eq!((e.backend.name(), e.price_per_result), ("searxng", UnitPrice::ZERO));
        let none = Engines::new(&SearchSettings::default(), &|_| None, reqwest::Client::new());
        assert!(none.get(None).is_err());
    }
}
