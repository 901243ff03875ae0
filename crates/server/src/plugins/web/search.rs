//! The search engines the web plugin can call when a model has no native
//! search: one trait, one implementation per engine's HTTP API.

use std::time::Duration;

use futures_util::future::BoxFuture;
use serde::de::DeserializeOwned;

/// What to search for.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SearchQuery {
    /// The query text (the last user message).
    pub query: String,
    /// Most results wanted.
    pub max_results: u32,
    /// Keep only results from these domains (empty: any).
    pub include_domains: Vec<String>,
    /// Drop results from these domains.
    pub exclude_domains: Vec<String>,
}

/// One search result.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SearchResult {
    /// The page.
    pub url: String,
    /// Its title.
    pub title: String,
    /// Page text or a snippet of it.
    pub text: String,
    /// When the page was published, as the engine wrote it.
    pub published: Option<String>,
}

/// Why a search failed.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// The engine could not be reached, or did not answer in time.
    #[error("could not reach the search engine: {0}")]
    Transport(String),
    /// The engine answered with an error status.
    #[error("the search engine returned {status}: {message}")]
    Status {
        /// HTTP status.
        status: u16,
        /// The start of its body.
        message: String,
    },
    /// The engine's answer is not what its API documents.
    #[error("the search engine's answer could not be read: {0}")]
    Decode(String),
}

/// A web search API.
pub trait SearchBackend: Send + Sync {
    /// The engine's name as requests and records say it (`exa`, `brave`...).
    fn name(&self) -> &'static str;

    /// Runs one search.
    fn search<'a>(&'a self, query: &'a SearchQuery) -> BoxFuture<'a, Result<Vec<SearchResult>, SearchError>>;
}

/// Longest time a search may take: the model call waits on it.
pub const SEARCH_TIMEOUT: Duration = Duration::from_secs(20);

/// Sends `req` and decodes a 2xx JSON body as `T`.
pub(super) async fn fetch_json<T: DeserializeOwned>(req: reqwest::RequestBuilder) -> Result<T, SearchError> {
    let resp = req.timeout(SEARCH_TIMEOUT).send().await.map_err(|e| SearchError::Transport(e.to_string()))?;
    let status = resp.status();
    let body = resp.bytes().await.map_err(|e| SearchError::Transport(e.to_string()))?;
    if !status.is_success() {
        let text = String::from_utf8_lossy(&body);
        let message: String = text.chars().take(300).collect();
        return Err(SearchError::Status { status: status.as_u16(), message });
    }
    serde_json::from_slice(&body).map_err(|e| SearchError::Decode(e.to_string()))
}

/// `base` without a trailing slash, joined with `path`.
pub(super) fn join(base: &str, path: &str) -> String {
    format!("{}{path}", base.trim_end_matches('/'))
}

/// The query with `site:` operators for engines that filter domains only
/// through the query language (Brave, SearXNG).
pub(super) fn with_site_operators(q: &SearchQuery) -> String {
    let mut text = q.query.clone();
    if !q.include_domains.is_empty() {
        let sites: Vec<String> = q.include_domains.iter().map(|d| format!("site:{d}")).collect();
        text.push_str(&format!(" ({})", sites.join(" OR ")));
    }
    for d in &q.exclude_domains {
        text.push_str(&format!(" -site:{d}"));
    }
    text
}

/// True when `url`'s host is `domain` or one of its subdomains.
pub(super) fn in_domain(url: &str, domain: &str) -> bool {
    let host = host_of(url);
    let domain = domain.trim_start_matches("www.").to_ascii_lowercase();
    let host = host.trim_start_matches("www.");
    host == domain || host.ends_with(&format!(".{domain}"))
}

/// The lower-cased host of a URL (empty when there is none).
pub fn host_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = host.split(':').next().unwrap_or_default();
    host.to_ascii_lowercase()
}

/// Applies the domain filters an engine could not apply itself, and the cap.
pub(super) fn filter(mut results: Vec<SearchResult>, q: &SearchQuery) -> Vec<SearchResult> {
    results.retain(|r| {
        (q.include_domains.is_empty() || q.include_domains.iter().any(|d| in_domain(&r.url, d)))
            && !q.exclude_domains.iter().any(|d| in_domain(&r.url, d))
    });
    results.truncate(q.max_results as usize);
    results
}

#[cfg(test)]
pub(crate) mod testing {
    //! A loopback server that records the one request it gets and answers
    //! with a fixed JSON body, to check each engine's wire format.

    use std::sync::{Arc, Mutex};

    use axum::Router;
    use axum::body::Bytes;
    use axum::http::{HeaderMap, Method, StatusCode, Uri};
    use axum::response::IntoResponse;

    /// What the fake engine received.
    #[derive(Clone, Debug, Default)]
    pub struct Seen {
        pub method: String,
        pub path: String,
        pub query: String,
        pub headers: Vec<(String, String)>,
        pub body: Option<serde_json::Value>,
    }

    impl Seen {
        pub fn header(&self, name: &str) -> Option<&str> {
            self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
        }

        /// A decoded query-string parameter.
        pub fn param(&self, name: &str) -> Option<String> {
            self.query.split('&').filter_map(|kv| kv.split_once('=')).find(|(k, _)| *k == name).map(|(_, v)| {
                let v = v.replace('+', " ");
                let mut out = Vec::new();
                let b = v.as_bytes();
                let mut i = 0;
                while i < b.len() {
                    if b[i] == b'%' && i + 2 < b.len() {
                        let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap();
                        out.push(u8::from_str_radix(hex, 16).unwrap());
                        i += 3;
                    } else {
                        out.push(b[i]);
                        i += 1;
                    }
                }
                String::from_utf8(out).unwrap()
            })
        }
    }

    /// Starts a server answering every request with `status` and `body`;
    /// returns its base URL and what it saw.
    pub async fn fake_engine(status: u16, body: serde_json::Value) -> (String, Arc<Mutex<Vec<Seen>>>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let app = Router::new().fallback(move |method: Method, uri: Uri, headers: HeaderMap, bytes: Bytes| {
            let log = log.clone();
            let body = body.clone();
            async move {
                log.lock().unwrap().push(Seen {
                    method: method.to_string(),
                    path: uri.path().to_owned(),
                    query: uri.query().unwrap_or_default().to_owned(),
                    headers: headers
                        .iter()
                        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or_default().to_owned()))
                        .collect(),
                    body: serde_json::from_slice(&bytes).ok(),
                });
                (StatusCode::from_u16(status).unwrap(), axum::Json(body)).into_response()
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (format!("http://{addr}"), seen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_domains() {
        assert_eq!(host_of("https://user@News.Example.com:8443/a?b"), "news.example.com");
        assert!(in_domain("https://www.nytimes.com/x", "nytimes.com"));
        assert!(in_domain("https://cooking.nytimes.com/x", "nytimes.com"));
        assert!(!in_domain("https://notnytimes.com/x", "nytimes.com"));
    }

    #[test]
    fn site_operators_and_filter() {
        let q = SearchQuery {
            query: "rust".into(),
            max_results: 1,
            include_domains: vec!["a.com".into(), "b.org".into()],
            exclude_domains: vec!["c.net".into()],
        };
        assert_eq!(with_site_operators(&q), "rust (site:a.com OR site:b.org) -site:c.net");
        let r = |u: &str| SearchResult { url: u.into(), ..Default::default() };
        let kept = filter(vec![r("https://c.net/1"), r("https://x.a.com/2"), r("https://b.org/3")], &q);
        assert_eq!(kept, vec![r("https://x.a.com/2")]);
    }
}
