//! Google Search grounding, for the gateway's web plugin: the canonical
//! switch (`web_search_options` in the request) becomes the `google_search`
//! tool, and the answer's `groundingMetadata` (sources, and the spans of
//! the answer each supports) becomes `url_citation` annotations.

use serde_json::{Value, json};
use switchyard_api::ChatRequest;

/// True when the request asks for native web search.
pub fn wanted(req: &ChatRequest) -> bool {
    req.extra.get("web_search_options").is_some_and(|o| !o.is_null())
}

/// Adds `{"google_search": {}}` to an encoded body's `tools`.
pub fn add_tool(body: &mut Value) {
    let tool = json!({"google_search": {}});
    match body.get_mut("tools").and_then(Value::as_array_mut) {
        Some(tools) => tools.push(tool),
        None => body["tools"] = json!([tool]),
    }
}

/// One annotation per (supported span, source); a source no span cites
/// gets one over no text (0..0). Gemini counts span offsets in bytes of
/// `text`; annotations count characters.
pub fn annotations(meta: &Value, text: &str) -> Vec<Value> {
    let sources: Vec<&Value> =
        meta["groundingChunks"].as_array().map(|c| c.iter().map(|c| &c["web"]).collect()).unwrap_or_default();
    let chars = |b: u64| {
        let b = usize::try_from(b).unwrap_or(usize::MAX).min(text.len());
        text.get(..b).map_or(b, |s| s.chars().count())
    };
    let cite = |src: &Value, content: &Value, start: usize, end: usize| {
        json!({"type": "url_citation", "url_citation": {"url": src["uri"], "title": src["title"],
            "content": content, "start_index": start, "end_index": end}})
    };
    let mut out = Vec::new();
    let mut cited = vec![false; sources.len()];
    for support in meta["groundingSupports"].as_array().into_iter().flatten() {
        let segment = &support["segment"];
        let start = chars(segment["startIndex"].as_u64().unwrap_or(0));
        let end = chars(segment["endIndex"].as_u64().unwrap_or(0));
        for i in support["groundingChunkIndices"].as_array().into_iter().flatten().filter_map(Value::as_u64) {
            let Some(src) = usize::try_from(i).ok().and_then(|i| sources.get(i).map(|s| (i, *s))) else { continue };
            cited[src.0] = true;
            out.push(cite(src.1, &segment["text"], start, end));
        }
    }
    for (src, _) in sources.iter().zip(&cited).filter(|(_, c)| !**c) {
        out.push(cite(src, &Value::Null, 0, 0));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn supports_become_character_spans() {
        let meta = json!({
            "webSearchQueries": ["q"],
            "groundingChunks": [{"web": {"uri": "https://a.com", "title": "a.com"}},
                                {"web": {"uri": "https://b.org", "title": "b.org"}}],
            "groundingSupports": [{"segment": {"startIndex": 7, "endIndex": 13, "text": "Paris"},
                                   "groundingChunkIndices": [0, 5]}]
        });
        let list = annotations(&meta, "Hello, Paris!");
        assert_eq!(list.len(), 2);
        assert_eq!(
            list[0],
            json!({"type": "url_citation", "url_citation": {"url": "https://a.com", "title": "a.com",
                   "content": "Paris", "start_index": 7, "end_index": 13}})
        );
        assert_eq!(list[1]["url_citation"]["url"], "https://b.org");
        assert_eq!(list[1]["url_citation"]["end_index"], 0);
        let list = annotations(&meta, "Héllo, Paris!");
        assert_eq!(list[0]["url_citation"]["start_index"], 6, "`é` is two bytes: byte 7 is character 6");
    }

    #[test]
    fn tool_is_added_when_asked() {
        let req: ChatRequest =
            serde_json::from_value(json!({"messages": [{"role": "user", "content": "hi"}], "web_search_options": {}}))
                .unwrap();
        assert!(wanted(&req));
        let body: Value =
            serde_json::from_slice(&super::super::encode::encode(&req, "gemini-2.5-flash").unwrap()).unwrap();
        assert_eq!(body["tools"], json!([{"google_search": {}}]));
        assert!(body.get("web_search_options").is_none());
    }
}
