//! SigV4 request signing for Bedrock (service name `bedrock`), done by the
//! `aws-sigv4` crate.
//!
//! The caller's headers are signed as given (`host` is derived from the
//! URL); the returned headers (`authorization`, `x-amz-date` and, with a
//! session token, `x-amz-security-token`) must be added to the request. The
//! path is signed double-encoded, as SigV4 requires outside S3: a model id
//! `...v1%3A0` is canonicalised as `...v1%253A0`. To sign
//! `x-amz-content-sha256`, pass it among `headers`.

use std::time::SystemTime;

use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign as sigv4_sign};
use aws_sigv4::sign::v4;

use super::Credentials;
use crate::error::ProviderError;

/// The SigV4 service name of Bedrock Runtime (not `bedrock-runtime`).
pub const SERVICE: &str = "bedrock";

/// Signs a request for Bedrock and returns the headers to add.
pub fn sign(
    creds: &Credentials,
    method: &str,
    url: &str,
    headers: &[(String, String)],
    body: &[u8],
    now: SystemTime,
) -> Result<Vec<(String, String)>, ProviderError> {
    sign_for(SERVICE, creds, method, url, headers, body, now)
}

/// [`sign`] for any SigV4 service name.
pub fn sign_for(
    service: &str,
    creds: &Credentials,
    method: &str,
    url: &str,
    headers: &[(String, String)],
    body: &[u8],
    now: SystemTime,
) -> Result<Vec<(String, String)>, ProviderError> {
    let failed = |e: &dyn std::fmt::Display| ProviderError::Unsupported(format!("cannot sign the request: {e}"));
    let identity = aws_credential_types::Credentials::new(
        creds.access_key_id.clone(),
        creds.secret_access_key.clone(),
        creds.session_token.clone(),
        None,
        "switchyard",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(&creds.region)
        .name(service)
        .time(now)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| failed(&e))?
        .into();
    let request = SignableRequest::new(
        method,
        url,
        headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::Bytes(body),
    )
    .map_err(|e| failed(&e))?;
    let (instructions, _signature) = sigv4_sign(request, &params).map_err(|e| failed(&e))?.into_parts();
    Ok(instructions.headers().map(|(k, v)| (k.to_ascii_lowercase(), v.to_owned())).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use std::time::{Duration, UNIX_EPOCH};

    fn vector(path: &str) -> Value {
        serde_json::from_slice(
            &std::fs::read(format!("{}/src/bedrock/testdata/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap(),
        )
        .unwrap()
    }

    /// 2025-01-02T03:04:05Z.
    fn date() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_735_787_045)
    }

    fn run(v: &Value, extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let s = |p: &str| v.pointer(p).and_then(Value::as_str).unwrap().to_owned();
        let creds = Credentials {
            access_key_id: s("/credentials/accessKeyId"),
            secret_access_key: s("/credentials/secretAccessKey"),
            session_token: Some(s("/credentials/sessionToken")),
            region: s("/region"),
        };
        let mut headers = vec![("content-type".to_owned(), s("/request/contentType"))];
        headers.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let out = sign_for(
            &s("/service"),
            &creds,
            &s("/request/method"),
            &s("/request/url"),
            &headers,
            s("/request/body").as_bytes(),
            date(),
        )
        .unwrap();
        assert!(out.contains(&("x-amz-date".into(), s("/expected/date"))));
        assert!(out.contains(&("x-amz-security-token".into(), s("/credentials/sessionToken"))));
        assert!(out.contains(&("authorization".into(), s("/expected/authorization"))), "{out:?}");
        out
    }

    #[test]
    fn reproduces_the_bedrock_mantle_vector() {
        let v = vector("sigv4-test-vector-bedrock-mantle.json");
        let hash = v.pointer("/expected/payloadHash").and_then(Value::as_str).unwrap().to_owned();
        run(&v, &[("x-amz-content-sha256", &hash)]);
    }

    #[test]
    fn reproduces_the_converse_vector_with_a_double_encoded_colon() {
        let v = vector("sigv4-converse-generated.json");
        let out = run(&v, &[]);
        assert_eq!(out.len(), 3, "{out:?}");
        assert_eq!(SERVICE, v["service"]);
    }

    #[test]
    fn the_public_function_signs_for_bedrock_without_a_token() {
        let creds = Credentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
            session_token: None,
            region: "us-west-2".into(),
        };
        let url = "https://bedrock-runtime.us-west-2.amazonaws.com/model/amazon.nova-pro-v1%3A0/converse";
        let out =
            sign(&creds, "POST", url, &[("content-type".into(), "application/json".into())], b"{}", date()).unwrap();
        let auth = &out.iter().find(|(k, _)| k == "authorization").unwrap().1;
        assert!(auth.starts_with(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250102/us-west-2/bedrock/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date, Signature="
        ));
        assert!(out.iter().all(|(k, _)| k != "x-amz-security-token"));
        assert!(sign(&creds, "POST", "not a url", &[], b"", date()).is_err());
    }
}
