//! Reading and parsing request bodies, with errors that name the field.

use axum::body::Body;
use axum::http::HeaderMap;
use bytes::Bytes;
use switchyard_api::ChatRequest;

use crate::error::GatewayError;

/// How long a client may take to send its request body before a 408.
const BODY_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// Reads the body, refusing more than `limit` bytes with a 413 and a client
/// that sends too slowly with a 408.
pub async fn read_limited(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, GatewayError> {
    tokio::time::timeout(BODY_READ_TIMEOUT, read_body(headers, body, limit))
        .await
        .map_err(|_| GatewayError::RequestTimeout)?
}

async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, GatewayError> {
    let declared = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(GatewayError::PayloadTooLarge(limit));
    }
    match axum::body::to_bytes(body, limit).await {
        Ok(b) => Ok(b),
        Err(e) => {
            let too_large = std::error::Error::source(&e).is_some_and(|s| s.is::<http_body_util::LengthLimitError>())
                || e.to_string().contains("length limit");
            if too_large {
                Err(GatewayError::PayloadTooLarge(limit))
            } else {
                Err(GatewayError::BadRequest(format!("could not read the request body: {e}")))
            }
        }
    }
}

/// Parses a chat request; the error names the offending field.
pub fn parse_chat(bytes: &[u8]) -> Result<ChatRequest, GatewayError> {
    parse_json(bytes)
}

/// Parses any request body; the error names the offending field.
pub fn parse_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, GatewayError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(GatewayError::BadRequest("Request body is empty; expected a JSON object".into()));
    }
    // Fast path: a plain parse. Only a failed request pays for tracking the
    // path of the offending field.
    if let Ok(req) = serde_json::from_slice(bytes) {
        return Ok(req);
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let msg = if inner.is_syntax() || inner.is_eof() {
            format!("Invalid JSON in request body: {inner}")
        } else if let Some(field) = missing_field(&inner.to_string()) {
            let at = if path == "." { String::new() } else { format!(" in `{path}`") };
            format!("`{field}` is required{at}")
        } else if path == "." {
            format!("Invalid request body: {inner}")
        } else {
            format!("Invalid value for `{path}`: {inner}")
        };
        GatewayError::BadRequest(msg)
    })
}

fn missing_field(msg: &str) -> Option<&str> {
    let rest = msg.strip_prefix("missing field `")?;
    rest.split('`').next()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(body: &str) -> String {
        parse_chat(body.as_bytes()).unwrap_err().to_string()
    }

    #[test]
    fn errors_name_the_field() {
        assert_eq!(err(r#"{"model":"a/b"}"#), "`messages` is required");
        assert!(err(r#"{"messages":[{"role":"user","content":"x"}],"temperature":"hot"}"#).contains("`temperature`"));
        assert!(err(r#"{"messages":[{"role":"robot","content":"x"}]}"#).contains("`messages[0].role`"));
        assert!(err("{nope").starts_with("Invalid JSON"));
        assert!(err("").contains("empty"));
        assert!(err("[]").starts_with("Invalid request body"));
    }
}
