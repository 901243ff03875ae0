//! An upstream provider account: where it is, how to authenticate, and the
//! pooled HTTP client that talks to it.

use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue};
use serde::Deserialize;

use crate::error::ProviderError;
use crate::openai::Quirks;
use crate::{anthropic, bedrock, cohere, gemini};

/// The native protocol an upstream speaks.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    /// OpenAI Chat Completions and the many servers that copy it.
    #[default]
    Openai,
    /// Anthropic Messages (`POST /v1/messages`).
    Anthropic,
    /// Google Gemini `generateContent` (AI Studio).
    Gemini,
    /// Cohere v2 chat (`POST /v2/chat`).
    Cohere,
    /// Azure OpenAI: OpenAI's wire format, `api-key` auth, and either the v1
    /// API (`{endpoint}/openai/v1/...`, model in the body) or, with an
    /// `api_version`, deployment URLs (the endpoint's model id is the
    /// deployment name).
    Azure,
    /// AWS Bedrock Converse / ConverseStream, SigV4-signed.
    Bedrock,
    /// Google Vertex AI: Gemini's wire format, project/region URLs and an
    /// OAuth token minted from a service-account key.
    Vertex,
}

impl Protocol {
    /// True when this protocol's adapter can send `param` (a name from
    /// OpenRouter's `supported_parameters` vocabulary) to the provider. The
    /// native adapters drop what their API has no field for; the OpenAI
    /// family takes every parameter and leaves the choice to the catalog.
    pub fn can_send(self, param: &str) -> bool {
        const COMMON: &[&str] = &[
            "max_tokens",
            "temperature",
            "top_p",
            "stop",
            "tools",
            "tool_choice",
            "response_format",
            "structured_outputs",
        ];
        let native: &[&str] = match self {
            Protocol::Openai | Protocol::Azure => return true,
            Protocol::Anthropic => &["top_k", "parallel_tool_calls", "reasoning", "include_reasoning"],
            Protocol::Gemini | Protocol::Vertex => {
                &["top_k", "frequency_penalty", "presence_penalty", "seed", "reasoning", "include_reasoning"]
            }
            Protocol::Cohere => &["top_k", "frequency_penalty", "presence_penalty", "seed", "reasoning"],
            // Claude on Bedrock takes `top_k` and thinking through additionalModelRequestFields.
            Protocol::Bedrock => &["top_k", "reasoning", "include_reasoning"],
        };
        COMMON.contains(&param) || native.contains(&param)
    }
}

/// Vertex AI's account, place and credentials.
#[derive(Clone, Debug)]
pub struct VertexSettings {
    /// Mints and caches access tokens.
    pub token: crate::vertex::TokenSource,
    /// Google Cloud project id.
    pub project: String,
    /// Region, e.g. `us-central1`, or `global`.
    pub region: String,
}

/// Static description of an upstream, from config or the built-in table.
#[derive(Clone, Debug)]
pub struct UpstreamConfig {
    /// Provider slug used in routing (`openai`, `groq`, `ollama`...).
    pub slug: String,
    /// Display name returned as `provider` (`OpenAI`, `Groq`...).
    pub name: String,
    /// Wire protocol.
    pub protocol: Protocol,
    /// Base URL up to and including the version segment, e.g. `https://api.openai.com/v1`.
    pub base_url: String,
    /// The upstream secret (a bearer token, or `x-api-key` for Anthropic);
    /// never the client's Switchyard key.
    pub api_key: Option<String>,
    /// Extra headers sent on every request.
    pub headers: Vec<(String, String)>,
    /// Protocol deviations of this server.
    pub quirks: Quirks,
    /// Azure's `api-version` for deployment URLs; `None` means the v1 API.
    pub api_version: Option<String>,
    /// AWS credentials and region, for Bedrock's request signing.
    pub aws: Option<bedrock::Credentials>,
    /// Vertex AI project, region and credentials.
    pub vertex: Option<VertexSettings>,
}

/// Deadlines for one upstream exchange.
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    /// Until the response headers (and, for streams, nothing else) arrive.
    pub first_byte: Duration,
    /// Longest silence between two pieces of a body or stream.
    pub idle: Duration,
}

/// A ready-to-use upstream: config plus precomputed URL, headers and client.
#[derive(Clone, Debug)]
pub struct Upstream {
    /// The static description.
    pub config: UpstreamConfig,
    /// Deadlines used by [`crate::call`].
    pub timeouts: Timeouts,
    pub(crate) endpoint_url: reqwest::Url,
    /// Base URL with a trailing slash, for per-request paths (Gemini).
    base: String,
    /// How media URLs are fetched for protocols that cannot take them.
    pub(crate) media: crate::fetch::FetchPolicy,
    pub(crate) embeddings_url: Option<reqwest::Url>,
    pub(crate) headers: HeaderMap,
    pub(crate) client: reqwest::Client,
}

/// Why an upstream could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamSetupError {
    /// A header name or value is not valid HTTP.
    #[error("provider `{provider}`: invalid header `{name}`")]
    Header {
        /// Provider slug.
        provider: String,
        /// Header name.
        name: String,
    },
    /// The protocol signs or mints its credentials (Bedrock, Vertex): it
    /// takes no API key.
    #[error("provider `{provider}` does not authenticate with an API key")]
    KeyNotSupported {
        /// Provider slug.
        provider: String,
    },
    /// The base URL does not parse.
    #[error("provider `{provider}`: invalid base_url `{url}`")]
    BaseUrl {
        /// Provider slug.
        provider: String,
        /// The URL.
        url: String,
    },
}

impl Upstream {
    /// Precomputes everything a request needs, so the hot path only clones handles.
    pub fn new(
        config: UpstreamConfig,
        client: reqwest::Client,
        timeouts: Timeouts,
    ) -> Result<Upstream, UpstreamSetupError> {
        // Vertex's host follows its region unless a base URL is configured.
        let vertex_base = match (&config.vertex, config.protocol, config.base_url.is_empty()) {
            (Some(v), Protocol::Vertex, true) => Some(crate::vertex::base_url(&v.region)),
            _ => None,
        };
        let base = vertex_base.as_deref().unwrap_or(&config.base_url).trim_end_matches('/');
        // Parsed once here: parsing (with IDNA) on every request costs more
        // than the rest of the request building.
        let path = match config.protocol {
            Protocol::Openai => "chat/completions",
            Protocol::Anthropic => "messages",
            Protocol::Cohere => cohere::CHAT_PATH,
            Protocol::Azure if config.api_version.is_none() => "chat/completions",
            // Deployment URLs are per request; see `request_url`.
            Protocol::Azure | Protocol::Bedrock | Protocol::Vertex => "",
            // Per request (the model is in the path); see `request_url`.
            Protocol::Gemini => "",
        };
        let endpoint_url = reqwest::Url::parse(&format!("{base}/{path}"))
            .map_err(|_| UpstreamSetupError::BaseUrl { provider: config.slug.clone(), url: config.base_url.clone() })?;
        let bad = |name: &str| UpstreamSetupError::Header { provider: config.slug.clone(), name: name.to_owned() };
        let mut headers = HeaderMap::new();
        headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        match (config.protocol, &config.api_key) {
            (Protocol::Openai | Protocol::Cohere, Some(key)) => {
                let mut v = HeaderValue::from_str(&format!("Bearer {key}")).map_err(|_| bad("authorization"))?;
                v.set_sensitive(true);
                headers.insert(http::header::AUTHORIZATION, v);
            }
            (Protocol::Anthropic, key) => {
                headers.insert("anthropic-version", HeaderValue::from_static(anthropic::API_VERSION));
                if let Some(key) = key {
                    let mut v = HeaderValue::from_str(key).map_err(|_| bad("x-api-key"))?;
                    v.set_sensitive(true);
                    headers.insert("x-api-key", v);
                }
            }
            (Protocol::Gemini, Some(key)) => {
                let mut v = HeaderValue::from_str(key).map_err(|_| bad("x-goog-api-key"))?;
                v.set_sensitive(true);
                headers.insert("x-goog-api-key", v);
            }
            (Protocol::Azure, Some(key)) => {
                let mut v = HeaderValue::from_str(key).map_err(|_| bad("api-key"))?;
                v.set_sensitive(true);
                headers.insert("api-key", v);
            }
            (Protocol::Openai | Protocol::Cohere | Protocol::Gemini | Protocol::Azure, None) => {}
            // Signed per request (the signature covers the body and time),
            // or a bearer token minted per hour (Vertex).
            (Protocol::Bedrock | Protocol::Vertex, _) => {}
        }
        for (name, value) in &config.headers {
            let n = HeaderName::from_bytes(name.as_bytes()).map_err(|_| bad(name))?;
            let v = HeaderValue::from_str(value).map_err(|_| bad(name))?;
            headers.insert(n, v);
        }
        // OpenAI's embeddings endpoint sits beside chat; the native ones
        // (Gemini, Vertex, Cohere, Bedrock) name the model in the path and
        // are built per request by `crate::embed`.
        let embeddings_url = match config.protocol {
            Protocol::Openai => reqwest::Url::parse(&format!("{base}/embeddings")).ok(),
            Protocol::Azure if config.api_version.is_none() => reqwest::Url::parse(&format!("{base}/embeddings")).ok(),
            _ => None,
        };
        let base = format!("{base}/");
        let media = crate::fetch::FetchPolicy::default();
        Ok(Upstream { config, timeouts, endpoint_url, embeddings_url, headers, client, base, media })
    }

    /// True when the protocol authenticates with a plain API key (OpenAI,
    /// Azure, Anthropic, Gemini, Cohere), so another key can stand in for
    /// the configured one; Bedrock (AWS signatures) and Vertex (a service
    /// account) cannot.
    pub fn takes_api_key(&self) -> bool {
        !matches!(self.config.protocol, Protocol::Bedrock | Protocol::Vertex)
    }

    /// This upstream with another API key (a customer's own, BYOK): the same
    /// URLs, client and extra headers, with `key` in the protocol's auth
    /// header, marked sensitive. The copy's `config.api_key` is cleared: the
    /// key lives only in that header, so `Debug` never prints it.
    pub fn with_api_key(&self, key: &str) -> Result<Upstream, UpstreamSetupError> {
        let slug = &self.config.slug;
        let bad = |name: &str| UpstreamSetupError::Header { provider: slug.clone(), name: name.to_owned() };
        let (name, value) = match self.config.protocol {
            Protocol::Openai | Protocol::Cohere => (http::header::AUTHORIZATION, format!("Bearer {key}")),
            Protocol::Anthropic => (HeaderName::from_static("x-api-key"), key.to_owned()),
            Protocol::Gemini => (HeaderName::from_static("x-goog-api-key"), key.to_owned()),
            Protocol::Azure => (HeaderName::from_static("api-key"), key.to_owned()),
            Protocol::Bedrock | Protocol::Vertex => {
                return Err(UpstreamSetupError::KeyNotSupported { provider: slug.clone() });
            }
        };
        let mut value = HeaderValue::from_str(&value).map_err(|_| bad(name.as_str()))?;
        value.set_sensitive(true);
        let mut copy = self.clone();
        copy.config.api_key = None;
        copy.headers.insert(name, value);
        Ok(copy)
    }

    /// Sets how media URLs are fetched and inlined for protocols that cannot
    /// take URLs (Gemini, Bedrock).
    pub fn with_media_policy(mut self, policy: crate::fetch::FetchPolicy) -> Upstream {
        self.media = policy;
        self
    }

    /// The URL of one chat request: precomputed, except for Gemini, whose
    /// path names the model and the streaming method.
    pub(crate) fn request_url(&self, upstream_model: &str, stream: bool) -> Result<reqwest::Url, ProviderError> {
        match self.config.protocol {
            Protocol::Gemini => {
                let url = format!("{}{}", self.base, gemini::request_path(upstream_model, stream));
                reqwest::Url::parse(&url)
                    .map_err(|e| ProviderError::Unsupported(format!("bad model id for a URL: {e}")))
            }
            Protocol::Azure if self.config.api_version.is_some() => {
                let version = self.config.api_version.as_deref().unwrap_or_default();
                let url =
                    format!("{}openai/deployments/{upstream_model}/chat/completions?api-version={version}", self.base);
                reqwest::Url::parse(&url)
                    .map_err(|e| ProviderError::Unsupported(format!("bad deployment name for a URL: {e}")))
            }
            Protocol::Vertex => {
                let v = self.config.vertex.as_ref().ok_or_else(|| {
                    ProviderError::Unsupported(format!("provider {} has no Vertex project", self.config.slug))
                })?;
                let path = crate::vertex::endpoint_path(&v.project, &v.region, upstream_model, stream);
                reqwest::Url::parse(&format!("{}{path}", self.base))
                    .map_err(|e| ProviderError::Unsupported(format!("bad model id for a URL: {e}")))
            }
            Protocol::Bedrock => {
                let url = format!("{}{}", self.base, bedrock::request_path(upstream_model, stream));
                reqwest::Url::parse(&url)
                    .map_err(|e| ProviderError::Unsupported(format!("bad model id for a URL: {e}")))
            }
            _ => Ok(self.endpoint_url.clone()),
        }
    }

    /// `path` (relative: `models/m:batchEmbedContents`, `embed`) under the
    /// base URL, for endpoints whose URL is made per request.
    pub(crate) fn url(&self, path: &str) -> Result<reqwest::Url, ProviderError> {
        reqwest::Url::parse(&format!("{}{path}", self.base))
            .map_err(|e| ProviderError::Unsupported(format!("bad model id for a URL: {e}")))
    }

    /// The headers of one request to `url` carrying `body`: the precomputed
    /// ones plus, for Bedrock, a SigV4 signature (it covers the method, URL,
    /// body and time, so it is made per request) and, for Vertex, the current
    /// OAuth token.
    pub(crate) async fn request_headers(&self, url: &reqwest::Url, body: &[u8]) -> Result<HeaderMap, ProviderError> {
        let mut headers = self.headers.clone();
        let bad = |e: &dyn std::fmt::Display| ProviderError::Unsupported(format!("signing produced a bad header: {e}"));
        match self.config.protocol {
            Protocol::Bedrock => {
                let creds = self.config.aws.as_ref().ok_or_else(|| {
                    ProviderError::Unsupported(format!("provider {} has no AWS credentials", self.config.slug))
                })?;
                let signed = bedrock::sign::sign(
                    creds,
                    "POST",
                    url.as_str(),
                    &[("content-type".to_owned(), "application/json".to_owned())],
                    body,
                    std::time::SystemTime::now(),
                )?;
                for (name, value) in signed {
                    let name = HeaderName::from_bytes(name.as_bytes()).map_err(|e| bad(&e))?;
                    let mut value = HeaderValue::from_str(&value).map_err(|e| bad(&e))?;
                    value.set_sensitive(true);
                    headers.insert(name, value);
                }
            }
            Protocol::Vertex => {
                let v = self.config.vertex.as_ref().ok_or_else(|| {
                    ProviderError::Unsupported(format!("provider {} has no Vertex project", self.config.slug))
                })?;
                let token = v.token.token(&self.client).await?;
                let mut value = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
                    ProviderError::InvalidResponse("the token endpoint returned an unusable token".into())
                })?;
                value.set_sensitive(true);
                headers.insert(http::header::AUTHORIZATION, value);
            }
            _ => {}
        }
        Ok(headers)
    }

    /// The URL every request goes to (`.../chat/completions`, `.../messages`).
    pub fn endpoint_url(&self) -> &str {
        self.endpoint_url.as_str()
    }
}

/// The shared pooled client: keep-alive, HTTP/2 where offered, TCP_NODELAY
/// (Nagle plus delayed ACKs would add ~40 ms per exchange).
pub fn build_client(connect_timeout: Duration, pool_idle_timeout: Duration) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .connect_timeout(connect_timeout)
        .pool_idle_timeout(pool_idle_timeout)
        .pool_max_idle_per_host(1024)
        .tcp_nodelay(true)
        .tcp_keepalive(Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("switchyard/", env!("CARGO_PKG_VERSION")))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upstream(protocol: Protocol, base_url: &str) -> Upstream {
        let config = UpstreamConfig {
            slug: "p".into(),
            name: "P".into(),
            protocol,
            base_url: base_url.into(),
            api_key: Some("sk-secret".into()),
            headers: vec![("anthropic-beta".into(), "context-1m-2025-08-07".into())],
            quirks: Quirks::default(),
            api_version: None,
            aws: None,
            vertex: None,
        };
        let t = Timeouts { first_byte: Duration::from_secs(1), idle: Duration::from_secs(1) };
        Upstream::new(config, reqwest::Client::new(), t).unwrap()
    }

    #[test]
    fn anthropic_gets_messages_url_and_its_own_auth_headers() {
        let u = upstream(Protocol::Anthropic, "https://api.anthropic.com/v1/");
        assert_eq!(u.endpoint_url(), "https://api.anthropic.com/v1/messages");
        assert_eq!(u.headers["x-api-key"], "sk-secret");
        assert!(u.headers["x-api-key"].is_sensitive());
        assert_eq!(u.headers["anthropic-version"], "2023-06-01");
        assert_eq!(u.headers["content-type"], "application/json");
        assert_eq!(u.headers["anthropic-beta"], "context-1m-2025-08-07");
        assert!(u.headers.get(http::header::AUTHORIZATION).is_none());
    }

    #[test]
    fn another_key_replaces_the_configured_one_in_each_protocols_header() {
        for (protocol, header, value) in [
            (Protocol::Openai, "authorization", "Bearer sk-own"),
            (Protocol::Cohere, "authorization", "Bearer sk-own"),
            (Protocol::Anthropic, "x-api-key", "sk-own"),
            (Protocol::Gemini, "x-goog-api-key", "sk-own"),
            (Protocol::Azure, "api-key", "sk-own"),
        ] {
            let shared = upstream(protocol, "https://api.example.com/v1");
            assert!(shared.takes_api_key());
            let own = shared.with_api_key("sk-own").unwrap();
            assert_eq!(own.headers[header], value, "{protocol:?}");
            assert!(own.headers[header].is_sensitive());
            assert_eq!(own.headers.len(), shared.headers.len(), "{protocol:?}: replaced, not added");
            assert_eq!(own.endpoint_url(), shared.endpoint_url());
            assert!(own.config.api_key.is_none());
            let shown = format!("{own:?}");
            assert!(!shown.contains("sk-own") && !shown.contains("sk-secret"), "{shown}");
        }
        let bedrock = upstream(Protocol::Bedrock, "https://bedrock.example.com");
        assert!(!bedrock.takes_api_key());
        assert!(matches!(bedrock.with_api_key("k"), Err(UpstreamSetupError::KeyNotSupported { .. })));
        let err = upstream(Protocol::Openai, "https://x/v1").with_api_key("bad\nkey").unwrap_err();
        assert!(!err.to_string().contains("bad"), "{err}");
    }

    #[test]
    fn openai_keeps_bearer_auth_and_chat_completions() {
        let u = upstream(Protocol::Openai, "https://api.openai.com/v1");
        assert_eq!(u.endpoint_url(), "https://api.openai.com/v1/chat/completions");
        assert_eq!(u.headers[http::header::AUTHORIZATION], "Bearer sk-secret");
        assert!(u.headers.get("x-api-key").is_none() && u.headers.get("anthropic-version").is_none());
        let p: Protocol = serde_json::from_str("\"anthropic\"").unwrap();
        assert_eq!(p, Protocol::Anthropic);
    }
}
