//! SearXNG (self-hosted metasearch): `GET {base}/search?q=..&format=json`;
//! results in `results[]` as `{url, title, content}`. The JSON format must
//! be enabled in the instance's `settings.yml`. It has no result count
//! parameter and filters domains only through `site:` operators.

use futures_util::future::BoxFuture;
use serde::Deserialize;

use super::search::{
    SearchBackend, SearchError, SearchQuery, SearchResult, fetch_json, filter, join, with_site_operators,
};

/// A SearXNG instance.
pub struct Searxng {
    /// HTTP client.
    pub client: reqwest::Client,
    /// The instance's root URL.
    pub base_url: String,
    /// Sent as a bearer token when set (for instances behind a proxy).
    pub api_key: Option<String>,
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
    content: Option<String>,
    #[serde(default)]
    published_date: Option<String>,
}

impl SearchBackend for Searxng {
    fn name(&self) -> &'static str {
        "searxng"
    }

    fn search<'a>(&'a self, q: &'a SearchQuery) -> BoxFuture<'a, Result<Vec<SearchResult>, SearchError>> {
        Box::pin(async move {
            let query = with_site_operators(q);
            let mut req = self
                .client
                .get(join(&self.base_url, "/search"))
                .query(&[("q", query.as_str()), ("format", "json")])
                .header("accept", "application/json");
            if let Some(key) = &self.api_key {
                req = req.bearer_auth(key);
            }
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
    async fn gets_json_format_and_caps_results() {
        let hits: Vec<_> = (0..6)
            .map(|i| {
                json!({"url": format!("https://s{i}.example/"), "title": format!("S{i}"), "content": "c",
                            "engine": "duckduckgo", "publishedDate": null})
            })
            .collect();
        let answer = json!({"query": "q", "number_of_results": 0, "results": hits, "answers": [], "suggestions": []});
        let (base, seen) = fake_engine(200, answer).await;
        let sx = Searxng { client: reqwest::Client::new(), base_url: base, api_key: None };
        let q = SearchQuery {
            query: "weather".into(),
            max_results: 5,
            include_domains: vec!["example".into()],
            exclude_domains: vec![],
        };
        let results = sx.search(&q).await.unwrap();
        assert_eq!(results.len(), 5);
        assert_eq!(results[0].title, "S0");
        let seen = seen.lock().unwrap()[0].clone();
        assert_eq!((seen.method.as_str(), seen.path.as_str()), ("GET", "/search"));
        assert_eq!(seen.param("format").as_deref(), Some("json"));
        assert_eq!(seen.param("q").as_deref(), Some("weather (site:example)"));
        assert_eq!(seen.header("authorization"), None);
    }
}
