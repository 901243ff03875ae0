//! Google OAuth 2.0 token endpoint (`POST /token`, also `/oauth2/token`) as
//! used by Vertex AI service accounts: the JWT-bearer grant
//! (`grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<jwt>`,
//! form-encoded). The assertion must be a three-part JWT whose header says
//! `RS256`; its signature is not verified. Success answers
//! `{"access_token":"sim-vertex-token-<seq>","expires_in":3600,"token_type":"Bearer"}`.
//! A scenario `status=CODE` (from `x-sim-scenario`) fails with Google's OAuth
//! error shape `{"error":"invalid_grant","error_description":"..."}`. The
//! request is recorded with its form fields as a JSON object body.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::answer::percent_decode;
use crate::{Inner, OutcomeGuard, SCENARIO_HEADER, Scenario};

/// The only grant type the endpoint accepts.
pub(crate) const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// Parses an `application/x-www-form-urlencoded` body into a JSON object
/// (later duplicates win).
pub(crate) fn parse_form(body: &[u8]) -> Value {
    let text = String::from_utf8_lossy(body);
    let decode = |s: &str| percent_decode(&s.replace('+', " "));
    let mut map = Map::new();
    for pair in text.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        map.insert(decode(k), Value::String(decode(v)));
    }
    Value::Object(map)
}

/// Decodes unpadded (or padded) base64url; `None` on any invalid character.
fn base64url_decode(s: &str) -> Option<Vec<u8>> {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            _ => return None,
        } as u32)
    };
    let s = s.trim_end_matches('=');
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes() {
        acc = (acc << 6) | value(c)?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// Decodes one JWT segment as a JSON object.
fn segment_json(segment: &str) -> Option<Value> {
    let bytes = base64url_decode(segment)?;
    serde_json::from_slice::<Value>(&bytes).ok().filter(Value::is_object)
}

/// Checks the assertion: three non-empty parts, an `RS256` header and a JSON
/// claims object. Returns the error description on failure.
fn check_assertion(assertion: &str) -> Result<(), &'static str> {
    let parts: Vec<&str> = assertion.split('.').collect();
    let [header, claims, signature] = parts.as_slice() else {
        return Err("Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.");
    };
    if signature.is_empty() || base64url_decode(signature).is_none() {
        return Err("Invalid JWT Signature.");
    }
    let header = segment_json(header).ok_or("Invalid JWT: malformed header.")?;
    if header["alg"] != "RS256" {
        return Err("Invalid JWT Signature.");
    }
    segment_json(claims).ok_or("Invalid JWT: malformed claims.")?;
    Ok(())
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (status, axum::Json(json!({"error": error, "error_description": description}))).into_response()
}

/// `POST /token` handler: reads the form body, records and answers it.
pub(crate) async fn token_handler(State(inner): State<Arc<Inner>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let form = match axum::body::to_bytes(body, crate::MAX_BODY_BYTES).await {
        Ok(bytes) => parse_form(&bytes),
        Err(_) => Value::Null,
    };
    token(&inner, &parts, form).await
}

/// Answers one token request.
async fn token(inner: &Arc<Inner>, parts: &Parts, form: Value) -> Response {
    let scenario = parts.headers.get(SCENARIO_HEADER).and_then(|v| v.to_str().ok()).map(Scenario::parse);
    let grant_type = form["grant_type"].as_str().map(str::to_owned);
    let assertion = form["assertion"].as_str().map(str::to_owned);
    let mut guard: OutcomeGuard = inner.begin(parts, form);
    if let Some(ms) = scenario.as_ref().map(|s| s.first_byte_ms).filter(|ms| *ms > 0) {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    let resp = if let Some(code) = scenario.as_ref().and_then(|s| s.status) {
        let status = StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST);
        let mut resp = oauth_error(status, "invalid_grant", "simulated token endpoint failure");
        if let Some(secs) = scenario.as_ref().and_then(|s| s.retry_after) {
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    } else if grant_type.as_deref() != Some(JWT_BEARER) {
        let description = format!("Invalid grant_type: {}", grant_type.unwrap_or_default());
        oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type", &description)
    } else {
        match assertion.as_deref().map(check_assertion) {
            None => oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "Missing required parameter: assertion"),
            Some(Err(description)) => oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", description),
            Some(Ok(())) => axum::Json(json!({
                "access_token": format!("sim-vertex-token-{}", guard.seq()),
                "expires_in": 3600,
                "token_type": "Bearer",
            }))
            .into_response(),
        }
    };
    guard.complete();
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_round_trip() {
        assert_eq!(base64url_decode("eyJhbGciOiJSUzI1NiJ9").as_deref(), Some(&br#"{"alg":"RS256"}"#[..]));
        assert_eq!(base64url_decode("YQ").as_deref(), Some(&b"a"[..]));
        assert_eq!(base64url_decode("a*b"), None);
    }

    #[test]
    fn form_parsing() {
        let v = parse_form(b"grant_type=urn%3Aietf%3Aparams&assertion=a.b.c&x=1+2");
        assert_eq!(v, json!({"grant_type": "urn:ietf:params", "assertion": "a.b.c", "x": "1 2"}));
    }
}
