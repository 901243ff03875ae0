//! OAuth PKCE (reference §8.6), so an app can obtain a key for a user
//! without ever seeing the user's own key: the user's side asks for a code
//! bound to the app's challenge (`POST /auth/keys/code`, authenticated), the
//! app exchanges code and verifier for a new key (`POST /auth/keys`, no
//! authentication: the code is the credential, single use, ten minutes).
//! There is no browser login page in a self-hosted gateway; the code is
//! handed to the app by the user's own tooling, or sent to `callback_url`.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Number, json};
use switchyard_store::{ChallengeMethod, CodeRequest, ExchangeRefusal, LimitReset};

use crate::error::GatewayError;
use crate::keys_api::{parse_utc_iso, usd_limit};
use crate::routes::chrono_like_iso;
use crate::state::AppState;

/// `POST /auth/keys/code`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CodeBody {
    code_challenge: String,
    #[serde(default)]
    code_challenge_method: Option<String>,
    #[serde(default)]
    callback_url: Option<String>,
    #[serde(default)]
    key_label: Option<String>,
    #[serde(default)]
    limit: Option<Number>,
    #[serde(default)]
    usage_limit_type: Option<String>,
    #[serde(default)]
    expires_at: Option<String>,
    #[serde(default)]
    workspace_id: Option<String>,
}

/// `POST /auth/keys`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExchangeBody {
    code: String,
    code_verifier: String,
    #[serde(default)]
    code_challenge_method: Option<String>,
}

fn method(name: Option<&str>) -> Result<ChallengeMethod, GatewayError> {
    match name {
        None => Ok(ChallengeMethod::Plain),
        Some(m) => ChallengeMethod::parse(m).ok_or_else(|| {
            GatewayError::BadRequest(format!("`code_challenge_method` must be `S256` or `plain`; got `{m}`"))
        }),
    }
}

/// Creates an authorization code for the caller's account.
pub async fn create_code(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, GatewayError> {
    let caller = state.auth.authenticate(&headers).await?;
    let bytes = crate::body::read_limited(&headers, body, state.max_body_bytes).await?;
    let req: CodeBody = crate::body::parse_json(&bytes)?;
    let method = method(req.code_challenge_method.as_deref())?;
    let challenge = req.code_challenge.trim();
    let valid = match method {
        // BASE64URL(SHA-256) without padding is always 43 characters.
        ChallengeMethod::S256 => {
            challenge.len() == 43 && challenge.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        }
        // RFC 7636: a verifier is 43 to 128 unreserved characters.
        ChallengeMethod::Plain => (43..=128).contains(&challenge.len()),
    };
    if !valid {
        return Err(GatewayError::BadRequest(
            "`code_challenge` must be BASE64URL(SHA-256(verifier)) for S256, or a 43-128 character verifier for plain"
                .into(),
        ));
    }
    let limit_reset = match req.usage_limit_type.as_deref() {
        None => None,
        Some(t) => Some(t.parse::<LimitReset>().map_err(|_| {
            GatewayError::BadRequest(format!("`usage_limit_type` must be daily, weekly or monthly; got `{t}`"))
        })?),
    };
    let key_expires_at = match req.expires_at.as_deref() {
        None => None,
        Some(s) => Some(parse_utc_iso(s).ok_or_else(|| {
            GatewayError::BadRequest(format!("`expires_at` must be an ISO-8601 timestamp in UTC; got `{s}`"))
        })?),
    };
    // The key lands in this workspace of the account (404 for any other),
    // and belongs to the member whose key asked, if any.
    let workspace_id = match req.workspace_id.as_deref().filter(|w| !w.is_empty()) {
        Some(id) => Some(crate::workspaces::owned(&state, &caller, id).await?.id),
        None => None,
    };
    let member_id = caller.key.member_id.clone();
    crate::members::check_workspace(&state, member_id.as_deref(), workspace_id.as_deref()).await?;
    let code = state
        .store
        .create_auth_code(
            &caller.key.account_id,
            &CodeRequest {
                code_challenge: challenge.to_owned(),
                method: Some(method),
                callback_url: req.callback_url,
                key_label: req.key_label,
                limit: req.limit.as_ref().map(usd_limit).transpose()?,
                limit_reset,
                key_expires_at,
                workspace_id,
                member_id,
            },
        )
        .await?;
    let data = json!({"id": code.code, "app_id": null, "created_at": chrono_like_iso(code.created_at)});
    Ok((StatusCode::OK, Json(json!({ "data": data }))).into_response())
}

/// Exchanges a code and its verifier for a new key.
pub async fn exchange(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, GatewayError> {
    let bytes = crate::body::read_limited(&headers, body, state.max_body_bytes).await?;
    let req: ExchangeBody = crate::body::parse_json(&bytes)?;
    let method = method(req.code_challenge_method.as_deref())?;
    match state.store.exchange_auth_code(req.code.trim(), &req.code_verifier, method).await? {
        Ok((key, account)) => Ok(Json(json!({ "key": key.plaintext, "user_id": account })).into_response()),
        Err(ExchangeRefusal::InvalidCode) => {
            Err(GatewayError::Forbidden("Invalid code: unknown, already used, or older than ten minutes".into()))
        }
        Err(ExchangeRefusal::InvalidVerifier) => {
            Err(GatewayError::Forbidden("Invalid code_verifier: it does not answer the code's challenge".into()))
        }
    }
}
