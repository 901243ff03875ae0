//! Small translation steps every non-OpenAI protocol needs, written once.

use std::borrow::Cow;

use serde_json::{Value, json};
use switchyard_api::chat::ToolCall;

use crate::error::ProviderError;

/// Splits `data:<mime>;base64,<data>` into its media type and base64 data.
pub(crate) fn parse_data_uri(uri: &str) -> Option<(&str, &str)> {
    let (header, data) = uri.strip_prefix("data:")?.split_once(',')?;
    let mime = header.strip_suffix(";base64")?;
    (!mime.is_empty()).then_some((mime, data))
}

/// A tool call's arguments as the JSON object native protocols require.
/// Clients send `""` for calls without arguments; anything that is not a
/// JSON object is refused with a message naming the call and `provider`.
pub(crate) fn tool_arguments(call: &ToolCall, provider: &str) -> Result<Value, ProviderError> {
    let args = call.function.arguments.trim();
    let value: Value = if args.is_empty() {
        json!({})
    } else {
        serde_json::from_str(args).map_err(|e| {
            ProviderError::Unsupported(format!(
                "tool call `{}` ({}) has arguments that are not valid JSON ({e}); {provider} needs a JSON object",
                call.id, call.function.name
            ))
        })?
    };
    if !value.is_object() {
        return Err(ProviderError::Unsupported(format!(
            "tool call `{}` ({}) has arguments that are not a JSON object; {provider} needs one",
            call.id, call.function.name
        )));
    }
    Ok(value)
}

/// One Claude thinking block rebuilt from OpenRouter `reasoning_details`.
pub(crate) enum ClaudeThinking<'a> {
    /// Reasoning text with its signature.
    Signed {
        /// The reasoning text.
        text: Cow<'a, str>,
        /// Anthropic's signature over it.
        signature: Cow<'a, str>,
    },
    /// Redacted reasoning, passed back as sent.
    Redacted(&'a str),
}

/// `reasoning_details` back into Claude thinking blocks (Anthropic, and
/// Claude on Bedrock). Only Claude's own details can go back (the
/// signatures are Anthropic's): unsigned text is dropped, and items sharing
/// an `index` are fragments of one block (a client that kept a stream's
/// pieces) and are joined.
pub(crate) fn claude_thinking<'a>(details: &'a Value, format: &str) -> Vec<ClaudeThinking<'a>> {
    type Pending<'a> = (Option<i64>, Cow<'a, str>, Cow<'a, str>);
    fn flush<'a>(pending: &mut Option<Pending<'a>>, out: &mut Vec<ClaudeThinking<'a>>) {
        if let Some((_, text, signature)) = pending.take().filter(|p| !p.2.is_empty()) {
            out.push(ClaudeThinking::Signed { text, signature });
        }
    }
    let mut out = Vec::new();
    let mut pending: Option<Pending<'a>> = None;
    for item in details.as_array().into_iter().flatten() {
        let field = |k: &str| item.get(k).and_then(Value::as_str);
        if field("format").is_some_and(|f| f != format && f != "unknown") {
            continue;
        }
        match field("type") {
            Some("reasoning.text") => {
                let index = item.get("index").and_then(Value::as_i64);
                let (text, sig) = (field("text").unwrap_or(""), field("signature").unwrap_or(""));
                match &mut pending {
                    Some((i, t, s)) if index.is_some() && *i == index => {
                        t.to_mut().push_str(text);
                        if !sig.is_empty() {
                            *s = Cow::Borrowed(sig);
                        }
                    }
                    _ => {
                        flush(&mut pending, &mut out);
                        pending = Some((index, Cow::Borrowed(text), Cow::Borrowed(sig)));
                    }
                }
            }
            Some("reasoning.encrypted") => {
                flush(&mut pending, &mut out);
                if let Some(data) = field("data") {
                    out.push(ClaudeThinking::Redacted(data));
                }
            }
            _ => {}
        }
    }
    flush(&mut pending, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_api::chat::FunctionCall;

    #[test]
    fn data_uris_and_tool_arguments() {
        assert_eq!(parse_data_uri("data:image/png;base64,AAAA"), Some(("image/png", "AAAA")));
        assert_eq!(parse_data_uri("data:;base64,AAAA"), None);
        assert_eq!(parse_data_uri("https://x/y.png"), None);
        let call = |a: &str| ToolCall {
            id: "c".into(),
            kind: "function".into(),
            function: FunctionCall { name: "f".into(), arguments: a.into() },
        };
        assert_eq!(tool_arguments(&call(""), "P").unwrap(), json!({}));
        assert_eq!(tool_arguments(&call("{\"a\":1}"), "P").unwrap(), json!({"a": 1}));
        assert!(tool_arguments(&call("[1]"), "P").unwrap_err().to_string().contains("P needs one"));
        assert!(tool_arguments(&call("{nope"), "P").is_err());
    }
}
