//! Configuration: a TOML file, every top-level value also settable from the
//! environment, and providers enabled by their usual API-key variables.
//! Validation is pure; nothing here does I/O except reading the file.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use switchyard_api::provider::ProviderPreferences;
use switchyard_providers::known::{KNOWN_PROVIDERS, known};
use switchyard_providers::openai::Quirks;
use switchyard_providers::{Protocol, UpstreamConfig};
use switchyard_router::ModelSpec;

/// The whole config file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address to listen on.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// Where the SQLite database lives.
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// `postgres://...` or `sqlite://...`; overrides `data_dir`.
    #[serde(default)]
    pub database_url: Option<String>,
    /// Model used when a request names none.
    #[serde(default)]
    pub default_model: Option<String>,
    /// Largest request body accepted, bytes.
    #[serde(default = "default_max_body")]
    pub max_body_bytes: usize,
    /// Deadlines for upstream calls.
    #[serde(default)]
    pub upstream: UpstreamSettings,
    /// Routing defaults: provider preferences, the auto router's candidates,
    /// the total deadline of a request's attempts.
    #[serde(default)]
    pub routing: RoutingSettings,
    /// Request caps: per key, and the free-model caps per account.
    #[serde(default)]
    pub limits: crate::ratelimit::LimitSettings,
    /// BYOK: where the master key that encrypts customers' provider keys is.
    #[serde(default)]
    pub byok: ByokSettings,
    /// Redis, shared by a fleet of instances (absent: everything in-process).
    #[serde(default)]
    pub redis: crate::fleet::RedisSettings,
    /// Response caching (reference §7.7).
    #[serde(default)]
    pub cache: crate::cache::CacheSettings,
    /// Load the built-in catalog (set false to serve only configured models).
    #[serde(default = "yes")]
    pub builtin_catalog: bool,
    /// Upstream providers beyond (or overriding) the known ones.
    #[serde(default)]
    pub providers: Vec<ProviderEntry>,
    /// Models and endpoints beyond (or extending) the built-in catalog.
    #[serde(default)]
    pub models: Vec<ModelSpec>,
    /// `[search]`: the web plugin's external search engines.
    #[serde(default)]
    pub search: crate::plugins::web::SearchSettings,
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}

fn default_data_dir() -> PathBuf {
    PathBuf::from("switchyard-data")
}

fn default_max_body() -> usize {
    20 * 1024 * 1024
}

fn yes() -> bool {
    true
}

/// File in the data directory that `switchyard models import` writes and
/// `serve` reads, between the built-in catalog and the config's models.
pub const IMPORTED_CATALOG_FILE: &str = "models.toml";

impl Config {
    /// Where imported models are kept.
    pub fn imported_catalog_path(&self) -> PathBuf {
        self.data_dir.join(IMPORTED_CATALOG_FILE)
    }

    /// The imported models, or none when nothing was imported.
    pub fn imported_models(&self) -> Result<Vec<ModelSpec>, ConfigError> {
        let path = self.imported_catalog_path();
        let fail = |message: String| ConfigError::Catalog { path: path.display().to_string(), message };
        match std::fs::read_to_string(&path) {
            Ok(text) => switchyard_router::catalog::parse_catalog(&text).map_err(|e| fail(e.to_string())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(fail(e.to_string())),
        }
    }

    /// Every model spec to build the catalog from, later ones extending
    /// earlier ones: the built-in catalog, then imported models, then the
    /// config's own.
    pub fn model_specs(&self) -> Result<Vec<ModelSpec>, ConfigError> {
        let mut specs = if self.builtin_catalog {
            switchyard_router::catalog::parse_catalog(switchyard_router::catalog::BUILTIN_CATALOG)
                .map_err(|e| ConfigError::Catalog { path: "built-in".into(), message: e.to_string() })?
        } else {
            Vec::new()
        };
        specs.extend(self.imported_models()?);
        specs.extend(self.models.iter().cloned());
        Ok(specs)
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: default_listen(),
            data_dir: default_data_dir(),
            database_url: None,
            default_model: None,
            max_body_bytes: default_max_body(),
            upstream: UpstreamSettings::default(),
            routing: RoutingSettings::default(),
            limits: crate::ratelimit::LimitSettings::default(),
            byok: ByokSettings::default(),
            redis: crate::fleet::RedisSettings::default(),
            cache: crate::cache::CacheSettings::default(),
            builtin_catalog: true,
            providers: Vec::new(),
            models: Vec::new(),
            search: crate::plugins::web::SearchSettings::default(),
        }
    }
}

/// `[routing]`: how requests are routed when they do not say.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RoutingSettings {
    /// Provider preferences every request starts from (the request's own
    /// `provider` fields win; `ignore` lists add up and `zdr` can only tighten).
    pub provider: ProviderPreferences,
    /// Preferences per API key name, laid over `provider`.
    pub keys: BTreeMap<String, KeyRouting>,
    /// Candidate models of `switchyard/auto` (`openrouter/auto`), most
    /// preferred first. Empty: every routable text model.
    pub auto_models: Vec<String>,
    /// The most time all attempts of one request may take before the first
    /// byte reaches the client, ms (fallbacks and Retry-After waits included).
    pub total_timeout_ms: u64,
    /// Longest upstream `Retry-After` worth waiting for before retrying the
    /// same endpoint when no other endpoint is left, ms.
    pub max_retry_after_ms: u64,
    /// Active health probes: how often to look for idle endpoints, ms
    /// (0, the default, turns probing off; each probe is a billed call).
    pub probe_interval_ms: u64,
    /// An endpoint of a model in use is probed after this long without traffic, ms.
    pub probe_idle_ms: u64,
}

impl Default for RoutingSettings {
    fn default() -> Self {
        RoutingSettings {
            provider: ProviderPreferences::default(),
            keys: BTreeMap::new(),
            auto_models: Vec::new(),
            total_timeout_ms: 180_000,
            max_retry_after_ms: 3_000,
            probe_interval_ms: 0,
            probe_idle_ms: 300_000,
        }
    }
}

/// `[byok]`: the master key that seals customers' provider keys
/// (AES-256-GCM). It comes from `SWITCHYARD_MASTER_KEY` (32 bytes, base64 or
/// hex), else from `master_key_file`, else from `<data_dir>/master.key`,
/// which is generated (mode 0600) on first start. Every instance sharing a
/// database needs the same key.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ByokSettings {
    /// File holding the master key (base64 or hex); it must exist.
    pub master_key_file: Option<PathBuf>,
}

/// `[routing.keys.NAME]`: defaults for the requests of one API key.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeyRouting {
    /// Provider preferences for this key.
    pub provider: ProviderPreferences,
}

/// Upstream deadlines and keep-alive pacing, in milliseconds.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UpstreamSettings {
    /// TCP/TLS connect.
    pub connect_timeout_ms: u64,
    /// Until the upstream's response headers.
    pub first_byte_timeout_ms: u64,
    /// Longest silence inside a body or stream.
    pub idle_timeout_ms: u64,
    /// Interval of `: SWITCHYARD PROCESSING` comments while a stream waits
    /// for its first event. The HTTP status is committed when the first one
    /// is sent, so errors before it are still proper error responses.
    pub stream_keepalive_ms: u64,
    /// Idle pooled connections are closed after this long.
    pub pool_idle_timeout_ms: u64,
    /// Largest image or PDF fetched from a URL for providers that cannot
    /// fetch media themselves (Gemini, Bedrock), bytes.
    pub max_media_bytes: usize,
    /// Allow fetching media from loopback, private and link-local addresses.
    /// Off by default: a client must not be able to make the gateway read
    /// internal services (or cloud metadata) on its behalf.
    pub allow_private_media_urls: bool,
}

impl Default for UpstreamSettings {
    fn default() -> Self {
        UpstreamSettings {
            connect_timeout_ms: 10_000,
            first_byte_timeout_ms: 300_000,
            idle_timeout_ms: 300_000,
            stream_keepalive_ms: 5_000,
            pool_idle_timeout_ms: 90_000,
            max_media_bytes: 20 * 1024 * 1024,
            allow_private_media_urls: false,
        }
    }
}

impl UpstreamSettings {
    /// How media URLs are fetched.
    pub fn media_policy(&self) -> switchyard_providers::fetch::FetchPolicy {
        switchyard_providers::fetch::FetchPolicy {
            max_bytes: self.max_media_bytes,
            allow_private: self.allow_private_media_urls,
            ..Default::default()
        }
    }

    /// Deadlines for provider calls.
    pub fn timeouts(&self) -> switchyard_providers::Timeouts {
        switchyard_providers::Timeouts {
            first_byte: Duration::from_millis(self.first_byte_timeout_ms),
            idle: Duration::from_millis(self.idle_timeout_ms),
        }
    }
}

/// One `[[providers]]` entry.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderEntry {
    /// Routing slug; a known slug (`openai`, `groq`...) overrides that provider.
    pub id: String,
    /// Display name (defaults to the id).
    #[serde(default)]
    pub name: Option<String>,
    /// Wire protocol; defaults to the known provider's, else OpenAI.
    #[serde(default)]
    pub protocol: Option<Protocol>,
    /// Base URL including the version segment, e.g. `http://127.0.0.1:11434/v1`.
    #[serde(default)]
    pub base_url: Option<String>,
    /// The upstream secret (prefer `api_key_env`).
    #[serde(default)]
    pub api_key: Option<String>,
    /// Environment variable holding the upstream secret.
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// Extra headers sent upstream.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Protocol deviations.
    #[serde(default)]
    pub quirks: Option<Quirks>,
    /// Azure OpenAI only: the `api-version` of deployment URLs
    /// (`{base_url}/openai/deployments/{model}/chat/completions`); leave it
    /// out to use the v1 API with `base_url = "https://RESOURCE.openai.azure.com/openai/v1"`.
    #[serde(default)]
    pub api_version: Option<String>,
    /// Vertex AI only: path of the service-account key file (default
    /// `GOOGLE_APPLICATION_CREDENTIALS`).
    #[serde(default)]
    pub credentials_file: Option<PathBuf>,
    /// Vertex AI only: Google Cloud project (default: the key's `project_id`).
    #[serde(default)]
    pub project: Option<String>,
    /// Vertex AI only: region (default `VERTEX_LOCATION`, else `us-central1`).
    #[serde(default)]
    pub region: Option<String>,
    /// Set false to turn a provider off.
    #[serde(default = "yes")]
    pub enabled: bool,
}

/// Why the config is unusable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config {path}: {source}")]
    Read {
        /// File path.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML for this schema.
    #[error("config {path} is invalid: {source}")]
    Parse {
        /// File path.
        path: String,
        /// What is wrong.
        source: Box<toml::de::Error>,
    },
    /// A provider entry lacks a base URL.
    #[error("provider `{0}` needs a base_url")]
    MissingBaseUrl(String),
    /// Vertex AI credentials are missing or unusable.
    #[error("provider `{provider}`: {message}")]
    Vertex {
        /// Provider slug.
        provider: String,
        /// What is wrong.
        message: String,
    },
    /// A catalog file (built-in or imported) is unreadable or invalid.
    #[error("catalog {path}: {message}")]
    Catalog {
        /// File path.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The BYOK master key is given but unusable.
    #[error("BYOK master key {0}")]
    MasterKey(String),
    /// Two provider entries share an id.
    #[error("provider `{0}` is configured twice")]
    DuplicateProvider(String),
}

impl Config {
    /// Reads and parses a TOML file.
    pub fn from_file(path: &std::path::Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Read { path: path.display().to_string(), source })?;
        Config::from_toml(&text).map_err(|e| match e {
            ConfigError::Parse { source, .. } => ConfigError::Parse { path: path.display().to_string(), source },
            other => other,
        })
    }

    /// Parses TOML text.
    pub fn from_toml(text: &str) -> Result<Config, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Parse { path: "<text>".into(), source: Box::new(e) })
    }
}

/// A provider's resolved state: usable or not, and why.
#[derive(Clone, Debug)]
pub struct ProviderStatus {
    /// Slug.
    pub slug: String,
    /// The upstream description when enabled.
    pub upstream: Option<UpstreamConfig>,
    /// Human explanation for `config check`.
    pub reason: String,
}

/// Resolves which providers are enabled, from the known table, the config
/// and the environment (`env` is injected so tests need no process env).
pub fn resolve_providers(
    cfg: &Config,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<ProviderStatus>, ConfigError> {
    let mut seen = std::collections::HashSet::new();
    for p in &cfg.providers {
        if !seen.insert(p.id.as_str()) {
            return Err(ConfigError::DuplicateProvider(p.id.clone()));
        }
    }
    let mut out = Vec::new();
    for k in KNOWN_PROVIDERS {
        if cfg.providers.iter().any(|p| p.id == k.slug) {
            continue; // the config entry below describes it
        }
        let base = env(k.base_url_env).filter(|v| !v.is_empty()).unwrap_or_else(|| k.base_url.to_owned());
        let key = env(k.key_env).filter(|v| !v.is_empty());
        let aws = aws_credentials(k.protocol, env);
        let base = match &aws {
            Some(creds) => base.replace("{region}", &creds.region),
            None => base,
        };
        if k.protocol == Protocol::Bedrock && key.is_some() && aws.is_none() {
            out.push(ProviderStatus {
                slug: k.slug.to_owned(),
                upstream: None,
                reason: "disabled: AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not".into(),
            });
            continue;
        }
        let vertex = match (k.protocol, &key) {
            (Protocol::Vertex, Some(path)) => {
                Some(vertex_settings(k.slug, Some(std::path::Path::new(path)), None, None, env)?)
            }
            _ => None,
        };
        if key.is_some() && base.is_empty() && k.protocol != Protocol::Vertex {
            // Azure has no public default endpoint: each resource has its own.
            out.push(ProviderStatus {
                slug: k.slug.to_owned(),
                upstream: None,
                reason: format!("disabled: {} is set but {} is not", k.key_env, k.base_url_env),
            });
            continue;
        }
        match key {
            Some(key) => out.push(ProviderStatus {
                slug: k.slug.to_owned(),
                reason: format!("enabled: {} is set (base URL {base})", k.key_env),
                upstream: Some(UpstreamConfig {
                    slug: k.slug.to_owned(),
                    name: k.name.to_owned(),
                    protocol: k.protocol,
                    base_url: base,
                    api_key: Some(key),
                    headers: Vec::new(),
                    quirks: k.quirks(),
                    api_version: (k.protocol == Protocol::Azure).then(|| env("AZURE_OPENAI_API_VERSION")).flatten(),
                    aws: aws_credentials(k.protocol, env),
                    vertex,
                }),
            }),
            None => out.push(ProviderStatus {
                slug: k.slug.to_owned(),
                upstream: None,
                reason: format!("disabled: set {} to enable", k.key_env),
            }),
        }
    }
    for p in &cfg.providers {
        let known = known(&p.id);
        if !p.enabled {
            out.push(ProviderStatus { slug: p.id.clone(), upstream: None, reason: "disabled in config".into() });
            continue;
        }
        let protocol = p.protocol.or(known.map(|k| k.protocol)).unwrap_or_default();
        let base_url = p
            .base_url
            .clone()
            .or_else(|| known.map(|k| env(k.base_url_env).unwrap_or_else(|| k.base_url.to_owned())))
            .or_else(|| (protocol == Protocol::Vertex).then(String::new))
            .ok_or_else(|| ConfigError::MissingBaseUrl(p.id.clone()))?;
        let key_env = p.api_key_env.as_deref().or(known.map(|k| k.key_env));
        let api_key = p.api_key.clone().or_else(|| key_env.and_then(env)).filter(|k| !k.is_empty());
        let key_note = match (&p.api_key, key_env, &api_key) {
            (Some(_), _, _) => "key from config".to_owned(),
            (None, Some(var), Some(_)) => format!("key from {var}"),
            (None, Some(var), None) => format!("no key ({var} unset), sending no Authorization"),
            (None, None, _) => "no key (none configured)".to_owned(),
        };
        out.push(ProviderStatus {
            slug: p.id.clone(),
            reason: format!("enabled by config: {base_url}, {key_note}"),
            upstream: Some(UpstreamConfig {
                slug: p.id.clone(),
                name: p.name.clone().or_else(|| known.map(|k| k.name.to_owned())).unwrap_or_else(|| p.id.clone()),
                protocol,
                base_url,
                api_key,
                headers: p.headers.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                quirks: p.quirks.or_else(|| known.map(|k| k.quirks())).unwrap_or_default(),
                api_version: p.api_version.clone(),
                aws: aws_credentials(protocol, env),
                vertex: match protocol {
                    Protocol::Vertex => Some(vertex_settings(
                        &p.id,
                        p.credentials_file.as_deref(),
                        p.project.as_deref(),
                        p.region.as_deref(),
                        env,
                    )?),
                    _ => None,
                },
            }),
        });
    }
    Ok(out)
}

/// Vertex AI's settings: the key file (given or from
/// `GOOGLE_APPLICATION_CREDENTIALS`), project and region.
fn vertex_settings(
    slug: &str,
    file: Option<&std::path::Path>,
    project: Option<&str>,
    region: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<switchyard_providers::VertexSettings, ConfigError> {
    let err = |message: String| ConfigError::Vertex { provider: slug.to_owned(), message };
    let path = file
        .map(std::path::Path::to_path_buf)
        .or_else(|| env("GOOGLE_APPLICATION_CREDENTIALS").map(PathBuf::from))
        .ok_or_else(|| err("needs credentials_file or GOOGLE_APPLICATION_CREDENTIALS".into()))?;
    let text = std::fs::read_to_string(&path).map_err(|e| err(format!("cannot read {}: {e}", path.display())))?;
    let token = switchyard_providers::vertex::TokenSource::from_json(&text).map_err(|e| err(e.to_string()))?;
    let project = project
        .map(str::to_owned)
        .or_else(|| env("VERTEX_PROJECT"))
        .or_else(|| token.account().project_id.clone())
        .ok_or_else(|| err("needs a project (config `project`, VERTEX_PROJECT or the key's project_id)".into()))?;
    let region = region.map(str::to_owned).or_else(|| env("VERTEX_LOCATION")).unwrap_or_else(|| "us-central1".into());
    Ok(switchyard_providers::VertexSettings { token, project, region })
}

/// Bedrock signs requests with the usual AWS variables; other protocols
/// need none.
fn aws_credentials(
    protocol: Protocol,
    env: &dyn Fn(&str) -> Option<String>,
) -> Option<switchyard_providers::bedrock::Credentials> {
    (protocol == Protocol::Bedrock).then(|| switchyard_providers::bedrock::Credentials::from_env(env)).flatten()
}

/// A commented example config, printed by `switchyard config example`.
pub const EXAMPLE: &str = include_str!("../example.toml");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_config_parses() {
        let cfg = Config::from_toml(EXAMPLE).unwrap();
        assert!(!cfg.providers.is_empty());
        assert!(!cfg.models.is_empty());
    }

    #[test]
    fn known_providers_follow_env_and_config_overrides() {
        let cfg = Config::from_toml(
            r#"[[providers]]
            id = "ollama"
            base_url = "http://127.0.0.1:11434/v1"
            [[providers]]
            id = "groq"
            base_url = "http://127.0.0.1:9/v1"
            "#,
        )
        .unwrap();
        let env = |k: &str| match k {
            "OPENAI_API_KEY" => Some("sk-test".to_owned()),
            "GROQ_API_KEY" => Some("gk".to_owned()),
            _ => None,
        };
        let st = resolve_providers(&cfg, &env).unwrap();
        let get = |s: &str| st.iter().find(|p| p.slug == s).unwrap();
        assert_eq!(get("openai").upstream.as_ref().unwrap().api_key.as_deref(), Some("sk-test"));
        assert!(get("mistral").upstream.is_none());
        assert!(get("mistral").reason.contains("MISTRAL_API_KEY"));
        let groq = get("groq").upstream.as_ref().unwrap();
        assert_eq!(groq.base_url, "http://127.0.0.1:9/v1");
        assert_eq!(groq.api_key.as_deref(), Some("gk"));
        assert_eq!(get("ollama").upstream.as_ref().unwrap().api_key, None);
    }

    #[test]
    fn anthropic_is_known_and_speaks_its_own_protocol() {
        let env = |k: &str| match k {
            "ANTHROPIC_API_KEY" => Some("sk-ant".to_owned()),
            "ANTHROPIC_BASE_URL" => Some("http://127.0.0.1:9/v1".to_owned()),
            _ => None,
        };
        let st = resolve_providers(&Config::default(), &env).unwrap();
        let up = st.iter().find(|p| p.slug == "anthropic").unwrap().upstream.clone().unwrap();
        assert_eq!((up.name.as_str(), up.protocol), ("Anthropic", Protocol::Anthropic));
        assert_eq!((up.base_url.as_str(), up.api_key.as_deref()), ("http://127.0.0.1:9/v1", Some("sk-ant")));
        assert_eq!(st.iter().find(|p| p.slug == "openai").unwrap().reason, "disabled: set OPENAI_API_KEY to enable");

        // A config entry for a known slug keeps its protocol unless it names one.
        let cfg = Config::from_toml(
            r#"[[providers]]
            id = "anthropic"
            base_url = "http://127.0.0.1:8/v1"
            [[providers]]
            id = "claude-proxy"
            protocol = "anthropic"
            base_url = "http://127.0.0.1:7/v1"
            [[providers]]
            id = "local"
            base_url = "http://127.0.0.1:6/v1"
            "#,
        )
        .unwrap();
        let st = resolve_providers(&cfg, &env).unwrap();
        let proto = |s: &str| st.iter().find(|p| p.slug == s).unwrap().upstream.as_ref().unwrap().protocol;
        assert_eq!(proto("anthropic"), Protocol::Anthropic);
        assert_eq!(proto("claude-proxy"), Protocol::Anthropic);
        assert_eq!(proto("local"), Protocol::Openai);
    }

    #[test]
    fn unknown_fields_and_missing_base_url_are_errors() {
        assert!(Config::from_toml("lisen = \"x\"").is_err());
        let cfg = Config::from_toml("[[providers]]\nid = \"mine\"\n").unwrap();
        assert!(matches!(resolve_providers(&cfg, &|_| None), Err(ConfigError::MissingBaseUrl(_))));
    }
}
