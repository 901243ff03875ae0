//! Spend control (reference §8.1, §8.2): before a request is sent, its
//! worst-case cost is reserved against the prepaid balance and the key's
//! limit in one atomic step; when it ends, the exact cost is charged and the
//! reservation released. Concurrent requests therefore cannot together
//! spend past a balance or a limit, whatever their number.
//!
//! The reservations live in this process, next to the balance and limit
//! views of [`crate::auth`], which reload from the database every second;
//! with Redis configured they live in Redis instead
//! ([`crate::fleet::SharedReservations`]), so the instances of a fleet see
//! each other's requests under way. Redis unreachable then means a 503
//! (never an unchecked request).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use switchyard_api::NanoUsd;
use switchyard_router::{Attempt, Catalog};
use switchyard_store::Billing;

use crate::auth::{AccountLive, Caller, KeyLimitLive};
use crate::error::GatewayError;

/// The largest cost a request may run up: for the dearest planned endpoint,
/// its prompt estimate plus the whole output allowance (`max_tokens`, else
/// the endpoint's output cap, else the rest of its context window) at that
/// endpoint's prices, plus its per-request price.
pub fn worst_case(attempts: &[Attempt], catalog: &Catalog, prompt_tokens: u64, max_tokens: Option<u64>) -> NanoUsd {
    attempts
        .iter()
        .map(|a| {
            let model = a.model(catalog);
            let e = a.endpoint(catalog);
            let context = e.context_length.unwrap_or(model.spec.context_length);
            let out = max_tokens.or(e.max_completion_tokens).unwrap_or_else(|| context.saturating_sub(prompt_tokens));
            let completion = e.completion.max(e.internal_reasoning);
            (e.prompt.times(prompt_tokens) + completion.times(out) + e.request.times(1)).round_to_nano()
        })
        .max()
        .unwrap_or_default()
}

/// An upper bound on a chat request's prompt tokens, for its reservation:
/// counted with a real tokenizer plus a safety margin for other models'
/// tokenizers, never more than the text's bytes, media at the most a
/// provider bills for one ([`switchyard_router::tokens::upper_bound`]). An
/// overestimate only holds a little more credit for the length of the
/// request.
/// `estimate` is the request's [`switchyard_router::tokens::estimate`].
pub fn prompt_upper_bound(req: &switchyard_api::ChatRequest, estimate: u64) -> u64 {
    switchyard_router::tokens::upper_bound(req, estimate)
}

/// A generous token count for an embeddings input (a token is rarely
/// shorter than two characters), for its reservation.
pub fn embedding_tokens(req: &switchyard_api::embeddings::EmbeddingsRequest) -> u64 {
    let chars = match &req.input {
        serde_json::Value::String(s) => s.len(),
        other => other.to_string().len(),
    };
    (chars as u64).div_ceil(2) + 1
}

/// A reservation: released when dropped, turned into the exact charge by
/// [`Reservation::settle`].
#[derive(Debug)]
pub struct Reservation {
    amount: i64,
    /// Held against the key's limit: `amount`, or more for a key that
    /// counts BYOK list cost in its limit (see [`reserve_with_key`]).
    key_amount: i64,
    account: Option<Arc<AccountLive>>,
    key: Option<Arc<KeyLimitLive>>,
    /// The entries in the fleet's shared book, when there is one.
    shared: Option<crate::fleet::Ticket>,
}

impl Reservation {
    /// Charges `cost` to the account and the key, then releases the
    /// reservation. Charging first means no other request ever sees room
    /// that is about to be spent.
    pub fn settle(self, caller: &Caller, cost: NanoUsd) {
        self.settle_byok(caller, cost, NanoUsd::ZERO);
    }

    /// Like [`Reservation::settle`], for a generation served with the
    /// account's own provider key (BYOK) at list cost `byok_list`: that
    /// also counts against the key's limit when the key includes BYOK.
    pub fn settle_byok(mut self, caller: &Caller, cost: NanoUsd, byok_list: NanoUsd) {
        caller.debit(cost);
        caller.debit_byok(byok_list);
        if let Some(ticket) = self.shared.take() {
            let key_cost = if caller.key.include_byok_in_limit { cost.0 + byok_list.0 } else { cost.0 };
            ticket.settle(cost.0, key_cost);
        }
        self.release();
    }

    fn release(&mut self) {
        if let Some(ticket) = self.shared.take() {
            ticket.settle(0, 0);
        }
        if let Some(a) = self.account.take() {
            a.reserved.fetch_sub(self.amount, Ordering::AcqRel);
        }
        if let Some(k) = self.key.take() {
            k.reserved.fetch_sub(self.key_amount, Ordering::AcqRel);
        }
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.release();
    }
}

/// Adds `amount` to `reserved` if `available - reserved - amount` stays at
/// or above zero, atomically against other reservers.
fn try_add(reserved: &AtomicI64, available: i64, amount: i64) -> Result<(), i64> {
    let mut current = reserved.load(Ordering::Acquire);
    loop {
        let room = available.saturating_sub(current);
        if room < amount {
            return Err(room.max(0));
        }
        match reserved.compare_exchange_weak(current, current + amount, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => return Ok(()),
            Err(seen) => current = seen,
        }
    }
}

/// Reserves the worst case of a request (free requests reserve nothing and
/// pass, as OpenRouter lets a prepaid account with no credit use free
/// models). Refuses with 402: a prepaid balance or a key limit that cannot
/// cover the worst case, saying how far it falls short.
pub async fn reserve(caller: &Caller, worst: NanoUsd) -> Result<Reservation, GatewayError> {
    reserve_with_key(caller, worst, worst).await
}

/// Like [`reserve`], with a separate worst case for the key's limit:
/// `key_worst` is what the request may add to the key's limit spend (more
/// than `worst` when the key counts BYOK list cost in its limit).
pub async fn reserve_with_key(
    caller: &Caller,
    worst: NanoUsd,
    key_worst: NanoUsd,
) -> Result<Reservation, GatewayError> {
    let mut r =
        Reservation { amount: worst.0.max(0), key_amount: key_worst.0.max(0), account: None, key: None, shared: None };
    if r.amount == 0 && r.key_amount == 0 {
        return Ok(r);
    }
    // The room of each subject before any reservation.
    let mut balance = None;
    if caller.key.billing == Billing::Prepaid && r.amount > 0 {
        let b = caller.account.balance().0;
        if b <= 0 {
            return Err(GatewayError::PaymentRequired(
                "Insufficient credits: this account's balance is exhausted. Add credits with `switchyard credits grant`"
                    .into(),
            ));
        }
        balance = Some(b);
    }
    let mut limit_room = None;
    if let (Some(limit), Some(live)) = (caller.key.limit, &caller.limit) {
        caller.ensure_within_key_limit()?;
        let usage = live.usage();
        let used = usage.map_or(0, |(u, _)| u.0);
        let note = usage.map(|(_, w)| format!(" ({})", w.reset_note())).unwrap_or_default();
        limit_room = Some((live, limit.0 - used, note));
    }
    if balance.is_none() && limit_room.is_none() {
        // Postpaid, no key limit: nothing to hold back (and no Redis call).
        return Ok(r);
    }
    let key_short = |room, note: &str| short(&format!("this key's limit{note}"), room, key_worst);
    if let Some(book) = &caller.reservations {
        use crate::fleet::{Claim, Shortfall};
        let account = balance.map(|room| Claim { id: &caller.key.account_id, amount: r.amount, room });
        let key =
            limit_room.as_ref().map(|(_, room, _)| Claim { id: &caller.key.hash, amount: r.key_amount, room: *room });
        let note = limit_room.as_ref().map_or("", |(_, _, n)| n.as_str());
        return match book.reserve(account, key).await {
            Ok(Ok(ticket)) => {
                r.shared = Some(ticket);
                Ok(r)
            }
            Ok(Err(Shortfall::Account(room))) => Err(short("this account's credits", room, worst)),
            Ok(Err(Shortfall::Key(room))) => Err(key_short(room, note)),
            Err(e) => {
                tracing::error!(error = %e, "spend reservations unavailable");
                Err(GatewayError::Unavailable(
                    "Spend reservations are unavailable (the shared store cannot be reached); retry shortly".into(),
                ))
            }
        };
    }
    if let Some(b) = balance {
        if let Err(room) = try_add(&caller.account.reserved, b, r.amount) {
            return Err(short("this account's credits", room, worst));
        }
        r.account = Some(caller.account.clone());
    }
    if let Some((live, room, note)) = limit_room {
        if let Err(room) = try_add(&live.reserved, room, r.key_amount) {
            return Err(key_short(room, &note));
        }
        r.key = Some(live.clone());
    }
    Ok(r)
}

fn short(what: &str, room: i64, worst: NanoUsd) -> GatewayError {
    GatewayError::PaymentRequired(format!(
        "This request may cost up to ${worst} (its prompt and the whole output allowance), more than the ${} left \
         in {what} once requests under way are counted. Send fewer max_tokens, or add credits or raise the limit.",
        NanoUsd(room)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_never_exceed_the_room_together() {
        let reserved = AtomicI64::new(0);
        let wins = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| s.spawn(|| (0..1000).filter(|_| try_add(&reserved, 5_000, 7).is_ok()).count()))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).sum::<usize>()
        });
        assert_eq!(wins, 5_000 / 7, "exactly as many as fit");
        assert_eq!(try_add(&reserved, 5_000, 7), Err(5_000 - (5_000 / 7) * 7));
    }
}
