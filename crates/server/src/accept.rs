//! Phase 1 shared by every inference route: authenticate an inference key,
//! count it against the rate limits, and read the body within its limits.
//! (Whether the account can pay is decided once the route is known: see
//! [`crate::spend`].)

use axum::body::Body;
use axum::http::HeaderMap;
use bytes::Bytes;

use crate::auth::Caller;
use crate::error::GatewayError;
use crate::state::AppState;

/// Authenticates an inference (not management) key and reads the body.
pub async fn accept_inference(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<(Caller, Bytes), GatewayError> {
    let caller = state.auth.authenticate(headers).await?;
    if caller.key.is_management {
        return Err(GatewayError::Forbidden("Management keys cannot be used for inference; create an API key".into()));
    }
    state.limiter.check_key(&caller.key.hash, switchyard_store::now_ms()).await?;
    let bytes = crate::body::read_limited(headers, body, state.max_body_bytes).await?;
    Ok((caller, bytes))
}
