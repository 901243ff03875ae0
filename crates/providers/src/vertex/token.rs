//! Service-account OAuth 2.0 tokens (JWT-bearer grant, RFC 7523) for Vertex AI.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use rsa::RsaPrivateKey;
use rsa::pkcs1::DecodeRsaPrivateKey as _;
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::DecodePrivateKey as _;
use rsa::sha2::Sha256;
use rsa::signature::{SignatureEncoding as _, Signer as _};
use serde::Deserialize;
use serde_json::{Value, json};
use switchyard_api::ErrorType;
use tokio::sync::Mutex;

use crate::error::{ProviderError, UpstreamFailure, kind_for_status, parse_retry_after};

/// Google's token endpoint, used when the key file names none.
pub const DEFAULT_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";
/// The OAuth scope Vertex AI needs.
pub const SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";
/// `grant_type` of the JWT-bearer exchange.
const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// Lifetime requested for the assertion (Google's maximum).
const ASSERTION_LIFETIME_SECS: u64 = 3600;
/// A cached token is refreshed this long before it expires.
const REFRESH_MARGIN: Duration = Duration::from_secs(60);
/// Deadline for one token exchange.
const TOKEN_TIMEOUT: Duration = Duration::from_secs(30);
/// Form-value encoding: everything but RFC 3986 unreserved characters.
const FORM_VALUE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// The parts of a Google service-account JSON key file that matter here.
#[derive(Clone, Deserialize)]
pub struct ServiceAccount {
    /// The account's email; the JWT `iss`.
    pub client_email: String,
    /// PEM private key (PKCS#8 `BEGIN PRIVATE KEY`, or PKCS#1 `BEGIN RSA PRIVATE KEY`).
    pub private_key: String,
    /// Where assertions are exchanged; the JWT `aud`.
    #[serde(default = "default_token_uri")]
    pub token_uri: String,
    /// The key's project, the default Vertex project.
    #[serde(default)]
    pub project_id: Option<String>,
    /// The key's id (sent as the JWT header `kid` when present).
    #[serde(default)]
    pub private_key_id: Option<String>,
}

fn default_token_uri() -> String {
    DEFAULT_TOKEN_URI.to_owned()
}

impl std::fmt::Debug for ServiceAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccount")
            .field("client_email", &self.client_email)
            .field("private_key", &"<redacted>")
            .field("token_uri", &self.token_uri)
            .field("project_id", &self.project_id)
            .finish_non_exhaustive()
    }
}

fn config_error(msg: impl std::fmt::Display) -> ProviderError {
    ProviderError::Unsupported(format!("invalid Vertex service-account key: {msg}"))
}

impl ServiceAccount {
    /// Parses a service-account key file. Fails (as
    /// [`ProviderError::Unsupported`]) on malformed JSON, a `type` other
    /// than `service_account`, or an empty email or key.
    pub fn from_json(text: &str) -> Result<ServiceAccount, ProviderError> {
        let value: Value = serde_json::from_str(text).map_err(config_error)?;
        if let Some(kind) = value.get("type").and_then(Value::as_str)
            && kind != "service_account"
        {
            return Err(config_error(format_args!("type is {kind:?}, expected \"service_account\"")));
        }
        let mut account: ServiceAccount = serde_json::from_value(value).map_err(config_error)?;
        if account.client_email.is_empty() || account.private_key.is_empty() {
            return Err(config_error("client_email and private_key must not be empty"));
        }
        if account.token_uri.is_empty() {
            account.token_uri = default_token_uri();
        }
        Ok(account)
    }
}

/// Mints and caches Vertex AI access tokens for one service account.
/// Cheap to clone; clones share the cache, and concurrent callers wait for a
/// single refresh.
#[derive(Clone)]
pub struct TokenSource {
    inner: Arc<Inner>,
}

struct Inner {
    account: ServiceAccount,
    key: SigningKey<Sha256>,
    cache: Mutex<Option<Cached>>,
}

struct Cached {
    token: String,
    refresh_at: Instant,
}

impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSource").field("account", &self.inner.account).finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
    #[serde(default)]
    token_type: Option<String>,
}

impl TokenSource {
    /// A token source for `account`; fails if its private key is not an RSA PEM key.
    pub fn new(account: ServiceAccount) -> Result<TokenSource, ProviderError> {
        let pem = account.private_key.trim();
        let key = RsaPrivateKey::from_pkcs8_pem(pem)
            .or_else(|_| RsaPrivateKey::from_pkcs1_pem(pem))
            .map_err(|e| config_error(format_args!("private_key is not an RSA PEM key ({e})")))?;
        Ok(TokenSource { inner: Arc::new(Inner { account, key: SigningKey::new(key), cache: Mutex::new(None) }) })
    }

    /// Parses a key file and builds its token source.
    pub fn from_json(text: &str) -> Result<TokenSource, ProviderError> {
        TokenSource::new(ServiceAccount::from_json(text)?)
    }

    /// The service account this source signs for.
    pub fn account(&self) -> &ServiceAccount {
        &self.inner.account
    }

    /// A valid access token (for `Authorization: Bearer ...`), from the
    /// cache or freshly exchanged at the token endpoint.
    pub async fn token(&self, client: &reqwest::Client) -> Result<String, ProviderError> {
        let mut cache = self.inner.cache.lock().await;
        if let Some(cached) = cache.as_ref()
            && Instant::now() < cached.refresh_at
        {
            return Ok(cached.token.clone());
        }
        let now = Instant::now();
        let (token, lifetime) = self.exchange(client).await?;
        let refresh_at = now + lifetime.saturating_sub(REFRESH_MARGIN);
        *cache = Some(Cached { token: token.clone(), refresh_at });
        Ok(token)
    }

    /// Drops the cached token (e.g. after Vertex answered 401), so the next
    /// [`token`](Self::token) call fetches a new one.
    pub async fn invalidate(&self) {
        *self.inner.cache.lock().await = None;
    }

    /// The signed JWT assertion issued at `iat` (seconds since the epoch).
    pub(crate) fn assertion(&self, iat: u64) -> String {
        let account = &self.inner.account;
        let mut header = json!({"alg": "RS256", "typ": "JWT"});
        if let Some(kid) = account.private_key_id.as_deref().filter(|k| !k.is_empty()) {
            header["kid"] = json!(kid);
        }
        let claims = json!({
            "iss": account.client_email,
            "scope": SCOPE,
            "aud": account.token_uri,
            "iat": iat,
            "exp": iat + ASSERTION_LIFETIME_SECS,
        });
        let signing_input =
            format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
        let signature = self.inner.key.sign(signing_input.as_bytes());
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
    }

    /// One JWT-bearer exchange: the token and its lifetime.
    async fn exchange(&self, client: &reqwest::Client) -> Result<(String, Duration), ProviderError> {
        let iat = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let assertion = self.assertion(iat);
        let body = format!(
            "grant_type={}&assertion={}",
            utf8_percent_encode(GRANT_TYPE, FORM_VALUE),
            utf8_percent_encode(&assertion, FORM_VALUE)
        );
        let transport = |e: reqwest::Error| ProviderError::from_transport(&e, TOKEN_TIMEOUT);
        let resp = client
            .post(&self.inner.account.token_uri)
            .header(http::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(http::header::ACCEPT, "application/json")
            .timeout(TOKEN_TIMEOUT)
            .body(body)
            .send()
            .await
            .map_err(transport)?;
        let status = resp.status().as_u16();
        let retry_after = parse_retry_after(resp.headers());
        let bytes = resp.bytes().await.map_err(transport)?;
        if !(200..300).contains(&status) {
            return Err(token_failure(status, &bytes, retry_after));
        }
        let parsed: TokenResponse = serde_json::from_slice(&bytes)
            .map_err(|e| ProviderError::InvalidResponse(format!("token endpoint answer: {e}")))?;
        if parsed.access_token.is_empty() {
            return Err(ProviderError::InvalidResponse("token endpoint returned an empty access_token".into()));
        }
        if let Some(kind) = parsed.token_type.as_deref()
            && !kind.eq_ignore_ascii_case("bearer")
        {
            return Err(ProviderError::InvalidResponse(format!("token endpoint returned token_type {kind:?}")));
        }
        let lifetime = Duration::from_secs(parsed.expires_in.unwrap_or(ASSERTION_LIFETIME_SECS));
        Ok((parsed.access_token, lifetime))
    }
}

/// Maps a token-endpoint error answer. Throttling and server-side failures
/// keep their status class; anything else (bad key, revoked account, clock
/// skew: Google answers 400 `invalid_grant`) is an authentication failure,
/// never the caller's request.
fn token_failure(status: u16, body: &[u8], retry_after: Option<Duration>) -> ProviderError {
    let raw: Option<Value> = serde_json::from_slice(body).ok();
    let field = |name: &str| raw.as_ref().and_then(|v| v.get(name)).and_then(Value::as_str).map(str::to_owned);
    let provider_code = field("error");
    let description = field("error_description");
    let kind = match kind_for_status(status) {
        k @ (ErrorType::RateLimitExceeded
        | ErrorType::ProviderOverloaded
        | ErrorType::ProviderUnavailable
        | ErrorType::Timeout) => k,
        _ => ErrorType::Authentication,
    };
    let detail = match (&provider_code, &description) {
        (Some(code), Some(desc)) => format!("{code}: {desc}"),
        (Some(code), None) => code.clone(),
        (None, Some(desc)) => desc.clone(),
        (None, None) => String::from_utf8_lossy(body).chars().take(200).collect(),
    };
    ProviderError::Upstream(UpstreamFailure {
        status,
        kind,
        message: format!("Vertex AI token exchange failed: {detail}"),
        raw,
        provider_code,
        retry_after,
    })
}

#[cfg(test)]
mod tests {
    use rsa::pkcs1v15::{Signature, VerifyingKey};
    use rsa::pkcs8::{EncodePrivateKey as _, LineEnding};
    use rsa::rand_core::OsRng;
    use rsa::signature::Verifier as _;

    use super::*;

    /// A throwaway RSA key generated for this test run (test-only).
    fn test_key() -> RsaPrivateKey {
        RsaPrivateKey::new(&mut OsRng, 2048).unwrap()
    }

    fn account_json(pem: &str) -> String {
        json!({
            "type": "service_account",
            "project_id": "proj-1",
            "private_key_id": "kid-1",
            "private_key": pem,
            "client_email": "sa@proj-1.iam.gserviceaccount.com",
            "client_id": "123",
            "token_uri": "https://oauth2.example.test/token",
        })
        .to_string()
    }

    fn decode(segment: &str) -> Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment).unwrap()).unwrap()
    }

    #[test]
    fn jwt_header_claims_and_signature() {
        let key = test_key();
        let pem = key.to_pkcs8_pem(LineEnding::LF).unwrap();
        let source = TokenSource::from_json(&account_json(&pem)).unwrap();
        assert_eq!(source.account().project_id.as_deref(), Some("proj-1"));

        let jwt = source.assertion(1_700_000_000);
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        assert_eq!(decode(parts[0]), json!({"alg": "RS256", "typ": "JWT", "kid": "kid-1"}));
        assert_eq!(
            decode(parts[1]),
            json!({
                "iss": "sa@proj-1.iam.gserviceaccount.com",
                "scope": "https://www.googleapis.com/auth/cloud-platform",
                "aud": "https://oauth2.example.test/token",
                "iat": 1_700_000_000u64,
                "exp": 1_700_003_600u64,
            })
        );

        let verifier = VerifyingKey::<Sha256>::new(key.to_public_key());
        let signature = Signature::try_from(URL_SAFE_NO_PAD.decode(parts[2]).unwrap().as_slice()).unwrap();
        let signing_input = format!("{}.{}", parts[0], parts[1]);
        verifier.verify(signing_input.as_bytes(), &signature).unwrap();
        assert!(verifier.verify(b"tampered", &signature).is_err());
    }

    #[test]
    fn pkcs1_key_and_default_token_uri() {
        use rsa::pkcs1::EncodeRsaPrivateKey as _;
        let pem = test_key().to_pkcs1_pem(LineEnding::LF).unwrap();
        let text = json!({"client_email": "a@b", "private_key": pem.as_str()}).to_string();
        let source = TokenSource::from_json(&text).unwrap();
        assert_eq!(source.account().token_uri, DEFAULT_TOKEN_URI);
        assert_eq!(source.account().project_id, None);
        assert!(!format!("{:?}", source).contains("PRIVATE KEY"));
    }

    #[test]
    fn bad_key_files() {
        assert!(ServiceAccount::from_json("not json").is_err());
        assert!(ServiceAccount::from_json(r#"{"client_email":"a@b"}"#).is_err());
        assert!(
            ServiceAccount::from_json(r#"{"type":"authorized_user","client_email":"a","private_key":"k"}"#).is_err()
        );
        let not_a_key =
            r#"{"client_email":"a@b","private_key":"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}"#;
        assert!(matches!(TokenSource::from_json(not_a_key), Err(ProviderError::Unsupported(_))));
    }

    #[test]
    fn token_failures_are_classified() {
        let body = br#"{"error":"invalid_grant","error_description":"Invalid JWT Signature."}"#;
        for status in [400, 401, 403] {
            let ProviderError::Upstream(f) = token_failure(status, body, None) else { panic!("not upstream") };
            assert_eq!(f.kind, ErrorType::Authentication);
            assert_eq!(f.provider_code.as_deref(), Some("invalid_grant"));
            assert!(f.message.contains("Invalid JWT Signature."), "{}", f.message);
        }
        let ProviderError::Upstream(f) = token_failure(429, b"slow down", Some(Duration::from_secs(2))) else {
            panic!("not upstream")
        };
        assert_eq!(f.kind, ErrorType::RateLimitExceeded);
        assert_eq!(f.retry_after, Some(Duration::from_secs(2)));
        assert!(f.message.contains("slow down"));
        let ProviderError::Upstream(f) = token_failure(503, b"", None) else { panic!("not upstream") };
        assert_eq!(f.kind, ErrorType::ProviderOverloaded);
    }
}
