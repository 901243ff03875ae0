//! Brave Search: `GET {base}/res/v1/web/search?q=..&count=..` with
//! `X-Subscription-Token`; results in `web.results[]`. Brave filters
//! domains only through `site:` operators in the query.

use futures_util::future::BoxFuture;
use serde::Deserialize;

use super::search::{
    SearchBackend, SearchError, SearchQuery, SearchResult, fetch_json, filter, join, with_site_operators,
};

/// Brave's public API.
pub const DEFAULT_BASE_URL: &str = "https://api.search.brave.com";

/// Brave answers at most 20 results a page.
const MAX_COUNT: u32 = 20;

/// The Brave web search API.
pub struct Brave {
    /// HTTP client.
    pub client: reqwest::Client,
    /// API root, e.g. `https://api.search.brave.com`.
    pub base_url: String,
    /// `X-Subscription-Token`.
    pub api_key: String,
}

#[derive(Deserialize)]
struct Response {
    #[serde(default)]
    web: Option<Web>,
}

#[derive(Deserialize)]
struct Web {
    #[serde(default)]
    results: Vec<Hit>,
}

#[derive(Deserialize)]
struct Hit {
    url: String,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    extra_snippets: Vec<String>,
    #[serde(default)]
    page_age: Option<String>,
}

impl SearchBackend for Brave {
    fn name(&self) -> &'static str {
        "brave"
    }

    fn search<'a>(&'a self, q: &'a SearchQuery) -> BoxFuture<'a, Result<Vec<SearchResult>, SearchError>> {
        Box::pin(async move {
            let count = q.max_results.clamp(1, MAX_COUNT).to_string();
            let query = with_site_operators(q);
            let req = self
                .client
                .get(join(&self.base_url, "/res/v1/web/search"))
                .query(&[("q", query.as_str()), ("count", count.as_str())])
                .header("accept", "application/json")
                .header("x-subscription-token", &self.api_key);
            let resp: Response = fetch_json(req).await?;
            let results = resp
                .web
                .map(|w| w.results)
                .unwrap_or_default()
                .into_iter()
                .map(|h| {
                    let mut text = h.description.unwrap_or_default();
                    for extra in h.extra_snippets {
                        text.push('\n');
                        text.push_str(&extra);
                    }
                    SearchResult { title: h.title.unwrap_or_default(), text, published: h.page_age, url: h.url }
                })
                .collect();
            Ok(filter(results, q))
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::plugins::web::search::testing::fake_engine;

    #[tokio::test]
    async fn gets_with_token_and_reads_web_results() {
        let answer = json!({"type": "search", "query": {"original": "q"}, "web": {"type": "search", "results": [
            {"title": "Rust", "url": "https://rust-lang.org/", "description": "A <strong>language</strong>",
             "page_age": "2025-03-01T00:00:00", "age": "March 1, 2025"},
            {"title": "Blocked", "url": "https://spam.net/x", "description": "no"}
        ]}});
        let (base, seen) = fake_engine(200, answer).await;
        let brave = Brave { client: reqwest::Client::new(), base_url: base, api_key: "brave-key".into() };
        let q = SearchQuery {
            query: "rust lang".into(),
            max_results: 4,
            include_domains: vec![],
            exclude_domains: vec!["spam.net".into()],
        };
        let results = brave.search(&q).await.unwrap();
        assert_eq!(results.len(), 1, "the excluded domain is dropped even if the engine returns it");
        assert_eq!(results[0].url, "https://rust-lang.org/");
        assert_eq!(results[0].text, "A <strong>language</strong>");
        assert_eq!(results[0].published.as_deref(), Some("2025-03-01T00:00:00"));
        let seen = seen.lock().unwrap()[0].clone();
        assert_eq!((seen.method.as_str(), seen.path.as_str()), ("GET", "/res/v1/web/search"));
        assert_eq!(seen.header("x-subscription-token"), Some("brave-key"));
        assert_eq!(seen.header("accept"), Some("application/json"));
        assert_eq!(seen.param("q").as_deref(), Some("rust lang -site:spam.net"));
        assert_eq!(seen.param("count").as_deref(), Some("4"));
    }
}
