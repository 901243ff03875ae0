//! An upstream provider account: where it is, how to authenticate, and the
//! pooled HTTP client that talks to it.

use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue};
use serde::Deserialize;

use crate::openai::Quirks;

/// The native protocol an upstream speaks.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    /// OpenAI Chat Completions and the many servers that copy it.
    #[default]
    Openai,
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
    /// Secret sent as the bearer token; never the client's Switchyard key.
    pub api_key: Option<String>,
    /// Extra headers sent on every request.
    pub headers: Vec<(String, String)>,
    /// Protocol deviations of this server.
    pub quirks: Quirks,
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
    pub(crate) chat_url: reqwest::Url,
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
        let base = config.base_url.trim_end_matches('/');
        // Parsed once here: parsing (with IDNA) on every request costs more
        // than the rest of the request building.
        let chat_url = reqwest::Url::parse(&format!("{base}/chat/completions"))
            .map_err(|_| UpstreamSetupError::BaseUrl { provider: config.slug.clone(), url: config.base_url.clone() })?;
        let bad = |name: &str| UpstreamSetupError::Header { provider: config.slug.clone(), name: name.to_owned() };
        let mut headers = HeaderMap::new();
        headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if let Some(key) = &config.api_key {
            let mut v = HeaderValue::from_str(&format!("Bearer {key}")).map_err(|_| bad("authorization"))?;
            v.set_sensitive(true);
            headers.insert(http::header::AUTHORIZATION, v);
        }
        for (name, value) in &config.headers {
            let n = HeaderName::from_bytes(name.as_bytes()).map_err(|_| bad(name))?;
            let v = HeaderValue::from_str(value).map_err(|_| bad(name))?;
            headers.insert(n, v);
        }
        Ok(Upstream { config, timeouts, chat_url, headers, client })
    }

    /// The chat completions URL.
    pub fn chat_url(&self) -> &str {
        self.chat_url.as_str()
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
