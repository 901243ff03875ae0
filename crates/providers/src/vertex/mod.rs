//! Google Vertex AI: the Gemini protocol (reuse [`crate::gemini`] to encode,
//! decode and stream) behind Vertex URLs and OAuth 2.0 bearer tokens minted
//! from a service-account JSON key.
//!
//! [`ServiceAccount`] parses the key file; [`TokenSource`] signs an RS256 JWT
//! assertion, exchanges it at the key's `token_uri` (JWT-bearer grant) and
//! caches the access token until shortly before it expires;
//! [`base_url`] + [`endpoint_path`] give the `generateContent` /
//! `streamGenerateContent` URL.

mod token;

pub use token::{DEFAULT_TOKEN_URI, SCOPE, ServiceAccount, TokenSource};

/// The Vertex AI API base for a region, ending in `/v1/`:
/// `https://{region}-aiplatform.googleapis.com/v1/`, or
/// `https://aiplatform.googleapis.com/v1/` for the `global` region.
pub fn base_url(region: &str) -> String {
    if region == "global" {
        "https://aiplatform.googleapis.com/v1/".to_owned()
    } else {
        format!("https://{region}-aiplatform.googleapis.com/v1/")
    }
}

/// The request path (relative to [`base_url`]) for a model call:
/// `projects/{project}/locations/{region}/publishers/google/models/{model}:generateContent`,
/// or `:streamGenerateContent?alt=sse` when streaming. A `model` that is
/// already a resource name (`projects/...`) is used as is; one starting with
/// `publishers/` (another publisher's model) is put under the project and
/// location.
pub fn endpoint_path(project: &str, region: &str, model: &str, stream: bool) -> String {
    let resource = if model.starts_with("projects/") {
        model.to_owned()
    } else if model.starts_with("publishers/") {
        format!("projects/{project}/locations/{region}/{model}")
    } else {
        format!("projects/{project}/locations/{region}/publishers/google/models/{model}")
    };
    if stream { format!("{resource}:streamGenerateContent?alt=sse") } else { format!("{resource}:generateContent") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(base_url("us-central1"), "https://us-central1-aiplatform.googleapis.com/v1/");
        assert_eq!(base_url("global"), "https://aiplatform.googleapis.com/v1/");
        assert_eq!(
            endpoint_path("p1", "us-central1", "gemini-2.5-flash", false),
            "projects/p1/locations/us-central1/publishers/google/models/gemini-2.5-flash:generateContent"
        );
        assert_eq!(
            endpoint_path("p1", "global", "gemini-2.5-pro", true),
            "projects/p1/locations/global/publishers/google/models/gemini-2.5-pro:streamGenerateContent?alt=sse"
        );
        assert_eq!(
            endpoint_path("p1", "europe-west4", "publishers/google/models/m", false),
            "projects/p1/locations/europe-west4/publishers/google/models/m:generateContent"
        );
        assert_eq!(
            endpoint_path("p1", "x", "projects/p2/locations/y/endpoints/42", false),
            "projects/p2/locations/y/endpoints/42:generateContent"
        );
    }
}
