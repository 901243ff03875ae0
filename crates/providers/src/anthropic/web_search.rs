//! Anthropic's `web_search` server tool, for the gateway's web plugin: the
//! canonical switch (`web_search_options` in the request) becomes the tool,
//! and the `web_search_result_location` citations on answer text become
//! OpenAI-style `url_citation` annotations.

use serde_json::{Map, Value, json};
use switchyard_api::ChatRequest;

/// The server tool's version.
pub const TOOL_TYPE: &str = "web_search_20250305";

/// The tool definition when the request asks for native search: its
/// `max_uses`, domain lists and user location come from `web_search_options`.
pub fn server_tool(req: &ChatRequest) -> Option<Value> {
    let options = req.extra.get("web_search_options")?.as_object()?;
    let mut tool = Map::new();
    tool.insert("type".into(), json!(TOOL_TYPE));
    tool.insert("name".into(), json!("web_search"));
    for key in ["max_uses", "allowed_domains", "blocked_domains"] {
        if let Some(v) = options.get(key) {
            tool.insert(key.into(), v.clone());
        }
    }
    if let Some(location) = options.get("user_location").and_then(Value::as_object) {
        // OpenAI nests the place under `approximate`; Anthropic does not.
        let mut flat = location.get("approximate").and_then(Value::as_object).cloned().unwrap_or_default();
        flat.extend(location.iter().filter(|(k, _)| *k != "approximate").map(|(k, v)| (k.clone(), v.clone())));
        flat.insert("type".into(), json!("approximate"));
        tool.insert("user_location".into(), Value::Object(flat));
    }
    Some(Value::Object(tool))
}

/// Adds the server tool to an encoded body's `tools`.
pub fn add_tool(body: &mut Value, tool: Value) {
    match body.get_mut("tools").and_then(Value::as_array_mut) {
        Some(tools) => tools.push(tool),
        None => body["tools"] = json!([tool]),
    }
}

/// A citation on answer text as a `url_citation` over characters
/// `start..end` of the answer; `None` for other citation kinds.
pub fn annotation(citation: &Value, start: usize, end: usize) -> Option<Value> {
    if citation.get("type").and_then(Value::as_str) != Some("web_search_result_location") {
        return None;
    }
    Some(json!({"type": "url_citation", "url_citation": {
        "url": citation.get("url").cloned().unwrap_or(Value::Null),
        "title": citation.get("title").cloned().unwrap_or(Value::Null),
        "content": citation.get("cited_text").cloned().unwrap_or(Value::Null),
        "start_index": start,
        "end_index": end,
    }}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_from_options() {
        let req: ChatRequest = serde_json::from_value(json!({"messages": [], "web_search_options": {
            "max_uses": 2, "allowed_domains": ["a.com"], "search_context_size": "low",
            "user_location": {"type": "approximate", "approximate": {"city": "Paris", "country": "FR"}}}}))
        .unwrap();
        assert_eq!(
            server_tool(&req).unwrap(),
            json!({"type": "web_search_20250305", "name": "web_search", "max_uses": 2, "allowed_domains": ["a.com"],
                   "user_location": {"type": "approximate", "city": "Paris", "country": "FR"}})
        );
        let plain: ChatRequest = serde_json::from_value(json!({"messages": []})).unwrap();
        assert!(server_tool(&plain).is_none());
        let mut body = json!({"model": "m"});
        add_tool(&mut body, json!({"name": "web_search"}));
        assert_eq!(body["tools"], json!([{"name": "web_search"}]));
    }

    #[test]
    fn encoded_body_offers_the_server_tool_beside_client_tools() {
        let req: ChatRequest = serde_json::from_value(json!({"messages": [{"role": "user", "content": "hi"}],
            "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
            "web_search_options": {"max_uses": 1}}))
        .unwrap();
        let body: Value = serde_json::from_slice(&super::super::encode::encode(&req, "claude").unwrap()).unwrap();
        let tools = body["tools"].as_array().unwrap();
        assert_eq!(tools.len(), 2);
        assert_eq!(tools[0]["name"], "f");
        assert_eq!(tools[1], json!({"type": "web_search_20250305", "name": "web_search", "max_uses": 1}));
        assert!(body.get("web_search_options").is_none());
    }

    #[test]
    fn only_web_citations_become_annotations() {
        let c = json!({"type": "web_search_result_location", "url": "https://a.com", "title": "A",
                       "cited_text": "alpha", "encrypted_index": "x"});
        assert_eq!(
            annotation(&c, 3, 9).unwrap(),
            json!({"type": "url_citation", "url_citation": {"url": "https://a.com", "title": "A", "content": "alpha",
                   "start_index": 3, "end_index": 9}})
        );
        assert!(annotation(&json!({"type": "char_location"}), 0, 1).is_none());
    }
}
