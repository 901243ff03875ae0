//! An engine's results in the prompt, and as `url_citation` annotations
//! on the answer.

use serde_json::{Value, json};
use switchyard_api::chat::{Content, ContentPart, Role};
use switchyard_api::{ChatRequest, Extra};

use super::search::{SearchResult, host_of};

/// Characters of each result's text put in the prompt.
pub const MAX_RESULT_CHARS: usize = 1_500;

/// OpenRouter's default instructions; `{date}` becomes today's date.
const DEFAULT_PROMPT: &str = "A web search was conducted on {date}. Incorporate the following web search results \
into your response.\n\nIMPORTANT: Cite them using markdown links named using the domain of the source.\nExample: \
[nytimes.com](https://nytimes.com/some-page).";

/// The search query: the text of the last user message.
pub fn query_of(req: &ChatRequest) -> String {
    req.messages
        .iter()
        .rev()
        .find(|m| m.role == Role::User)
        .and_then(|m| m.content.as_ref())
        .map(|c| c.text().trim().to_owned())
        .unwrap_or_default()
}

/// Today, `YYYY-MM-DD` (UTC).
fn today() -> String {
    let days = switchyard_store::now_ms().div_euclid(86_400_000);
    let (y, m, d) = switchyard_store::civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The instructions and the numbered results.
pub fn context(search_prompt: Option<&str>, results: &[SearchResult]) -> String {
    let mut out = search_prompt.unwrap_or(DEFAULT_PROMPT).replace("{date}", &today());
    for (i, r) in results.iter().enumerate() {
        out.push_str(&format!("\n\n[{}] {}\nURL: {}", i + 1, r.title, r.url));
        if let Some(p) = &r.published {
            out.push_str(&format!("\nPublished: {p}"));
        }
        let text: String = r.text.chars().take(MAX_RESULT_CHARS).collect();
        if !text.is_empty() {
            out.push('\n');
            out.push_str(&text);
        }
    }
    out
}

/// Appends the results to the last user message: every protocol takes a
/// user message, not all take a system message mid-conversation.
pub fn inject(req: &mut ChatRequest, search_prompt: Option<&str>, results: &[SearchResult]) {
    let ctx = context(search_prompt, results);
    let Some(msg) = req.messages.iter_mut().rev().find(|m| m.role == Role::User) else { return };
    match &mut msg.content {
        Some(Content::Text(t)) => {
            t.push_str("\n\n");
            t.push_str(&ctx);
        }
        Some(Content::Parts(parts)) => parts.push(ContentPart::Text { text: ctx, extra: Extra::new() }),
        None => msg.content = Some(Content::Text(ctx)),
    }
}

/// One `url_citation` per result; where the answer links to the result
/// (`[...](url)`), the link's character offsets, else 0 and 0.
pub fn annotations(results: &[SearchResult], answer: &str) -> Vec<Value> {
    results
        .iter()
        .map(|r| {
            let (start, end) = link_span(answer, &r.url).unwrap_or((0, 0));
            let title = if r.title.is_empty() { host_of(&r.url) } else { r.title.clone() };
            json!({"type": "url_citation", "url_citation": {
                "url": r.url, "title": title, "content": r.text, "start_index": start, "end_index": end}})
        })
        .collect()
}

/// Character offsets of the first markdown link to `url` in `text`.
fn link_span(text: &str, url: &str) -> Option<(usize, usize)> {
    let target = format!("]({url}");
    let at = text.find(&target)?;
    let open = text[..at].rfind('[')?;
    let close = at + text[at..].find(')')? + 1;
    let chars = |b: usize| text[..b].chars().count();
    Some((chars(open), chars(close)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(url: &str, title: &str, text: &str) -> SearchResult {
        SearchResult { url: url.into(), title: title.into(), text: text.into(), published: None }
    }

    #[test]
    fn context_follows_the_default_prompt() {
        let c = context(None, &[result("https://a.com/x", "A", "alpha")]);
        assert!(c.starts_with("A web search was conducted on 20"), "{c}");
        assert!(c.contains("IMPORTANT: Cite them using markdown links named using the domain of the source."));
        assert!(c.ends_with("[1] A\nURL: https://a.com/x\nalpha"), "{c}");
        assert!(context(Some("Use these:"), &[]).starts_with("Use these:"));
    }

    #[test]
    fn injects_into_the_last_user_message() {
        let mut req: ChatRequest = serde_json::from_value(json!({"messages": [
            {"role": "user", "content": "first"}, {"role": "assistant", "content": "ok"},
            {"role": "user", "content": [{"type": "text", "text": "second"}]}]}))
        .unwrap();
        assert_eq!(query_of(&req), "second");
        inject(&mut req, Some("P"), &[result("https://a.com", "A", "t")]);
        let last = req.messages[2].content.as_ref().unwrap().text();
        assert!(last.starts_with("second") && last.contains("[1] A\nURL: https://a.com\nt"), "{last}");
        assert_eq!(req.messages[0].content.as_ref().unwrap().text(), "first");
    }

    #[test]
    fn annotations_point_at_links() {
        let answer = "Héllo [a.com](https://a.com/x) end";
        let list = annotations(&[result("https://a.com/x", "", "alpha"), result("https://b.org", "B", "")], answer);
        let a = &list[0]["url_citation"];
        assert_eq!(a["title"], "a.com");
        assert_eq!((a["start_index"].as_u64(), a["end_index"].as_u64()), (Some(6), Some(30)));
        assert_eq!(list[1]["url_citation"]["start_index"], 0);
        assert_eq!(list[1]["type"], "url_citation");
    }
}
