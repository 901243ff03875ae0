//! Tavily: `POST {base}/search` with `Authorization: Bearer <key>`;
//! results in `results[]` as `{url, title, content}`.

use futures_util::future::BoxFuture;
use serde::Deserialize;
use serde_json::json;

use super::search::{SearchBackend, SearchError, SearchQuery, SearchResult, fetch_json, filter, join};

/// Tavily's public API.
pub const DEFAULT_BASE_URL: &str = "https://api.tavily.com";

/// The Tavily search API.
pub struct Tavily {
    /// HTTP client.
    pub client: reqwest::Client,
    /// API root, e.g. `https://api.tavily.com`.
    pub base_url: String,
    /// Bearer token.
    pub api_key: String,
}

#[derive(Deserialize)]
struct Response {
    #[serde(default)]
    results: Vec<Hit>,
}

#[derive(Deserialize)]
struct Hit {
    url: String,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    published_date: Option<String>,
}

impl SearchBackend for Tavily {
    fn name(&self) -> &'static str {
        "tavily"
    }

    fn search<'a>(&'a self, q: &'a SearchQuery) -> BoxFuture<'a, Result<Vec<SearchResult>, SearchError>> {
        Box::pin(async move {
            let body = json!({
                "query": q.query,
                "max_results": q.max_results,
                "include_domains": q.include_domains,
                "exclude_domains": q.exclude_domains,
            });
            let req = self.client.post(join(&self.base_url, "/search")).bearer_auth(&self.api_key).json(&body);
            let resp: Response = fetch_json(req).await?;
            let results = resp
                .results
                .into_iter()
                .map(|h| SearchResult {
                    title: h.title.unwrap_or_default(),
                    text: h.content.unwrap_or_default(),
                    published: h.published_date,
                    url: h.url,
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
    async fn posts_bearer_and_reads_results() {
        let answer = json!({"query": "q", "answer": null, "images": [], "response_time": 0.5, "results": [
            {"title": "T1", "url": "https://t.io/1", "content": "first", "score": 0.9, "raw_content": null},
            {"title": "T2", "url": "https://t.io/2", "content": "second", "score": 0.8},
            {"title": "T3", "url": "https://t.io/3", "content": "third", "score": 0.7}
        ]});
        let (base, seen) = fake_engine(200, answer).await;
        let tavily = Tavily { client: reqwest::Client::new(), base_url: base, api_key: "tvly-key".into() };
        let q = SearchQuery {
            query: "news".into(),
            max_results: 2,
            include_domains: vec!["t.io".into()],
            exclude_domains: vec!["x.com".into()],
        };
        let results = tavily.search(&q).await.unwrap();
        assert_eq!(results.iter().map(|r| r.text.as_str()).collect::<Vec<_>>(), ["first", "second"]);
        let seen = seen.lock().unwrap()[0].clone();
        assert_eq!((seen.method.as_str(), seen.path.as_str()), ("POST", "/search"));
        assert_eq!(seen.header("authorization"), Some("Bearer tvly-key"));
        assert_eq!(
            seen.body.unwrap(),
            json!({"query": "news", "max_results": 2, "include_domains": ["t.io"], "exclude_domains": ["x.com"]})
        );
    }
}
