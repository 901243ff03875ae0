//! Phase 1 shared by every inference route: authenticate an inference key,
//! read the body within its limits, and check the account can pay.

use axum::body::Body;
use axum::http::HeaderMap;
use bytes::Bytes;
use switchyard_router::{Attempt, Catalog};
use switchyard_store::Billing;

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
    state.limiter.check_key(&caller.key.hash, switchyard_store::now_ms())?;
    let bytes = crate::body::read_limited(headers, body, state.max_body_bytes).await?;
    Ok((caller, bytes))
}

/// A prepaid account with no balance, or a key that has spent its limit in
/// the current period, may still use free endpoints only.
pub fn ensure_can_pay(caller: &Caller, attempts: &[Attempt], catalog: &Catalog) -> Result<(), GatewayError> {
    let all_free = attempts.iter().all(|a| a.endpoint(catalog).is_free());
    if caller.key.billing == Billing::Prepaid && !all_free && caller.account.balance().0 <= 0 {
        return Err(GatewayError::PaymentRequired(
            "Insufficient credits: this account's balance is exhausted. Add credits with `switchyard credits grant`"
                .into(),
        ));
    }
    if !all_free {
        caller.ensure_within_key_limit()?;
    }
    Ok(())
}
