//! Exa: `POST {base}/search` with `x-api-key`; page text comes with the
//! results (`contents.text`).

use futures_util::future::BoxFuture;
use serde::Deserialize;
use serde_json::json;

use super::search::{SearchBackend, SearchError, SearchQuery, SearchResult, fetch_json, filter, join};

/// Exa's public API.
pub const DEFAULT_BASE_URL: &str = "https://api.exa.ai";

/// Characters of page text asked for per result: enough to answer from,
/// few enough to keep the prompt small.
const MAX_CHARACTERS: u32 = 1_500;

/// The Exa search API.
pub struct Exa {
    /// HTTP client.
    pub client: reqwest::Client,
    /// API root, e.g. `https://api.exa.ai`.
    pub base_url: String,
    /// `x-api-key`.
    pub api_key: String,
}

#[derive(Deserialize)]
struct Response {
    #[serde(default)]
    results: Vec<Hit>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Hit {
    url: String,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    published_date: Option<String>,
}

impl SearchBackend for Exa {
    fn name(&self) -> &'static str {
        "exa"
    }

    fn search<'a>(&'a self, q: &'a SearchQuery) -> BoxFuture<'a, Result<Vec<SearchResult>, SearchError>> {
        Box::pin(async move {
            let mut body = json!({
                "query": q.query,
                "numResults": q.max_results,
                "contents": {"text": {"maxCharacters": MAX_CHARACTERS}},
            });
            if !q.include_domains.is_empty() {
                body["includeDomains"] = json!(q.include_domains);
            }
            if !q.exclude_domains.is_empty() {
                body["excludeDomains"] = json!(q.exclude_domains);
            }
            let req = self.client.post(join(&self.base_url, "/search")).header("x-api-key", &self.api_key).json(&body);
            let resp: Response = fetch_json(req).await?;
            let results = resp
                .results
                .into_iter()
                .map(|h| SearchResult {
                    title: h.title.unwrap_or_default(),
                    text: h.text.unwrap_or_default(),
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
    async fn posts_the_documented_body_and_reads_results() {
        let answer = json!({"requestId": "r1", "resolvedSearchType": "neural", "results": [
            {"id": "https://a.com/1", "url": "https://a.com/1", "title": "A one", "publishedDate": "2025-01-02T00:00:00.000Z",
             "author": null, "text": "Alpha text"},
            {"id": "https://b.org/2", "url": "https://b.org/2", "title": null, "text": "Beta"}
        ]});
        let (base, seen) = fake_engine(200, answer).await;
        let exa = Exa { client: reqwest::Client::new(), base_url: format!("{base}/"), api_key: "exa-key".into() };
        let q = SearchQuery {
            query: "what is new".into(),
            max_results: 3,
            include_domains: vec!["a.com".into(), "b.org".into()],
            exclude_domains: vec![],
        };
        let results = exa.search(&q).await.unwrap();
        assert_eq!(results.len(), 2);
        assert_eq!(results[0].title, "A one");
        assert_eq!(results[0].text, "Alpha text");
        assert_eq!(results[0].published.as_deref(), Some("2025-01-02T00:00:00.000Z"));
        assert_eq!(results[1].title, "");
        let seen = seen.lock().unwrap()[0].clone();
        assert_eq!((seen.method.as_str(), seen.path.as_str()), ("POST", "/search"));
        assert_eq!(seen.header("x-api-key"), Some("exa-key"));
        assert_eq!(
            seen.body.unwrap(),
            json!({"query": "what is new", "numResults": 3, "contents": {"text": {"maxCharacters": 1500}},
                   "includeDomains": ["a.com", "b.org"]})
        );
    }

    #[tokio::test]
    async fn error_status_is_reported() {
        let (base, _) = fake_engine(401, json!({"error": "bad key"})).await;
        let exa = Exa { client: reqwest::Client::new(), base_url: base, api_key: "x".into() };
        let q = SearchQuery { query: "q".into(), max_results: 1, ..Default::default() };
        let err = exa.search(&q).await.unwrap_err();
        assert!(matches!(err, SearchError::Status { status: 401, ref message } if message.contains("bad key")));
    }
}
