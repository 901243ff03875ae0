//! AWS Bedrock Runtime Converse (`POST /model/{id}/converse`) and
//! ConverseStream (`.../converse-stream`), spoken natively.
//!
//! The canonical request is translated into a Converse body ([`encode`]);
//! answers ([`decode`]), binary event-stream messages ([`eventstream`] framing,
//! [`stream`] events) and errors ([`errors`]) come back in canonical form.
//! Requests are authenticated with SigV4 ([`sign`]). Concept mapping: the
//! provider reference's `bedrock-converse.md`.

pub mod decode;
pub mod encode;
pub mod errors;
pub mod eventstream;
pub mod sign;
pub mod stream;
pub mod wire;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// The `format` of `reasoning_details` produced from (and accepted back as)
/// Claude reasoning blocks on Bedrock; the same spelling as Anthropic's.
pub const REASONING_FORMAT: &str = "anthropic-claude-v1";

/// Region used when the environment names none.
pub const DEFAULT_REGION: &str = "us-east-1";

/// Everything but RFC 3986 unreserved characters is escaped, so `:` in model
/// ids and `/` in ARNs become `%3A` and `%2F`.
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// The request path, relative to a base URL such as
/// `https://bedrock-runtime.us-east-1.amazonaws.com/`:
/// `model/{percent-encoded model id}/converse` or `.../converse-stream`.
pub fn request_path(model_id: &str, stream: bool) -> String {
    let op = if stream { "converse-stream" } else { "converse" };
    format!("model/{}/{op}", utf8_percent_encode(model_id, PATH_SEGMENT))
}

/// AWS credentials and the region to sign for.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// `AWS_ACCESS_KEY_ID`.
    pub access_key_id: String,
    /// `AWS_SECRET_ACCESS_KEY`.
    pub secret_access_key: String,
    /// `AWS_SESSION_TOKEN`, for temporary (STS) credentials.
    pub session_token: Option<String>,
    /// Signing region, e.g. `us-east-1`.
    pub region: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field("session_token", &self.session_token.as_ref().map(|_| "<redacted>"))
            .field("region", &self.region)
            .finish()
    }
}

impl Credentials {
    /// Reads `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`
    /// and `AWS_REGION` (else `AWS_DEFAULT_REGION`, else `us-east-1`) through
    /// `env`; `None` without both keys. Empty values count as unset.
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Option<Credentials> {
        let var = |k: &str| env(k).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        Some(Credentials {
            access_key_id: var("AWS_ACCESS_KEY_ID")?,
            secret_access_key: var("AWS_SECRET_ACCESS_KEY")?,
            session_token: var("AWS_SESSION_TOKEN"),
            region: var("AWS_REGION").or_else(|| var("AWS_DEFAULT_REGION")).unwrap_or_else(|| DEFAULT_REGION.into()),
        })
    }
}

/// True for model ids (foundation ids, inference profiles, ARNs) that name
/// an Anthropic model, which takes Anthropic's extra request fields.
pub fn is_anthropic(model_id: &str) -> bool {
    model_id.contains("anthropic.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_percent_encode_ids_and_arns() {
        assert_eq!(
            request_path("anthropic.claude-3-haiku-20240307-v1:0", false),
            "model/anthropic.claude-3-haiku-20240307-v1%3A0/converse"
        );
        assert_eq!(
            request_path("arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.x-v1:0", true),
            "model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.x-v1%3A0/converse-stream"
        );
    }

    #[test]
    fn credentials_from_env() {
        let env = |k: &str| match k {
            "AWS_ACCESS_KEY_ID" => Some("AKID".to_owned()),
            "AWS_SECRET_ACCESS_KEY" => Some("s3cr3t-value".to_owned()),
            "AWS_DEFAULT_REGION" => Some("eu-west-1".to_owned()),
            "AWS_SESSION_TOKEN" => Some(String::new()),
            _ => None,
        };
        let c = Credentials::from_env(&env).unwrap();
        assert_eq!((c.region.as_str(), c.session_token.as_deref()), ("eu-west-1", None));
        assert!(!format!("{c:?}").contains("s3cr3t"));
        let only_key = |k: &str| (k == "AWS_ACCESS_KEY_ID").then(|| "AKID".to_owned());
        assert!(Credentials::from_env(&only_key).is_none());
        let full = |k: &str| match k {
            "AWS_REGION" => Some("us-west-2".to_owned()),
            "AWS_DEFAULT_REGION" => Some("eu-west-1".to_owned()),
            "AWS_SESSION_TOKEN" => Some("tok".to_owned()),
            _ => Some("x".to_owned()),
        };
        let c = Credentials::from_env(&full).unwrap();
        assert_eq!((c.region.as_str(), c.session_token.as_deref()), ("us-west-2", Some("tok")));
        let defaults = |k: &str| {
            k.starts_with("AWS_ACCESS")
                .then(|| "a".to_owned())
                .or_else(|| (k == "AWS_SECRET_ACCESS_KEY").then(|| "s".to_owned()))
        };
        assert_eq!(Credentials::from_env(&defaults).unwrap().region, DEFAULT_REGION);
    }
}
