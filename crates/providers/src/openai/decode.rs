//! OpenAI non-streaming answer to the canonical response.

use switchyard_api::ChatResponse;

use super::errors::from_error_object;
use crate::error::ProviderError;

/// Decodes a 2xx body. A 200 whose body is an error object (some servers do
/// that) is an upstream failure, not an empty answer.
pub fn decode(body: &[u8]) -> Result<ChatResponse, ProviderError> {
    let mut resp: ChatResponse =
        serde_json::from_slice(body).map_err(|e| ProviderError::InvalidResponse(format!("undecodable JSON: {e}")))?;
    if resp.choices.is_empty() {
        if let Some(err) = resp.extra.get("error") {
            let raw = serde_json::from_slice(body).ok();
            return Err(from_error_object(200, None, Some(err), raw));
        }
        return Err(ProviderError::InvalidResponse("the answer has no choices".into()));
    }
    super::compat::response(&mut resp);
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_the_reference_example() {
        let body = br#"{"id":"chatcmpl-B9","object":"chat.completion","created":1741569952,"model":"gpt-4o-2024-08-06",
          "choices":[{"index":0,"message":{"role":"assistant","content":"Paris.","refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],
          "usage":{"prompt_tokens":1117,"completion_tokens":46,"total_tokens":1163,"prompt_tokens_details":{"cached_tokens":1024,"audio_tokens":0},
          "completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},
          "service_tier":"default","system_fingerprint":"fp_44709d6fcb"}"#;
        let r = decode(body).unwrap();
        assert_eq!(r.choices[0].message.content.as_deref(), Some("Paris."));
        assert_eq!(r.usage.as_ref().unwrap().cached_tokens(), 1024);
        assert_eq!(r.extra["service_tier"], "default");
        assert!(r.choices[0].message.extra.contains_key("annotations"));
    }

    #[test]
    fn error_inside_a_200_is_a_failure() {
        let e = decode(br#"{"error":{"message":"boom","type":"server_error","code":"server_error"}}"#).unwrap_err();
        assert!(e.retryable());
        assert!(decode(b"not json").is_err());
    }
}
