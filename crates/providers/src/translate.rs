//! Small translation steps every non-OpenAI protocol needs, written once.

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
