//! `/api/v1/keys`: an account's inference keys, managed with a management
//! key (reference §5.2). Other accounts' keys, and management keys, are
//! invisible here: asking for one is a 404. So are other members' keys to
//! a management key of a member with role `member` (see
//! [`crate::members`]): it lists, reads, changes and deletes its member's
//! keys only, and the keys it creates are its member's, in the default
//! workspace or one the member belongs to.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Number, Value, json};
use switchyard_api::NanoUsd;
use switchyard_store::{KeyPatch, KeyRecord, KeySpec, LimitReset, PeriodUsage, days_from_civil, days_in_month};

use crate::auth::Caller;
use crate::error::GatewayError;
use crate::routes::chrono_like_iso;
use crate::state::AppState;

/// Keys per page of `GET /keys`.
const PAGE: u32 = 100;
/// Longest key name.
const MAX_NAME: usize = 200;

/// `limit_reset` (and a guardrail's `reset_interval`) as sent.
#[derive(Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ResetIn {
    Daily,
    Weekly,
    Monthly,
}

impl From<ResetIn> for LimitReset {
    fn from(r: ResetIn) -> LimitReset {
        match r {
            ResetIn::Daily => LimitReset::Daily,
            ResetIn::Weekly => LimitReset::Weekly,
            ResetIn::Monthly => LimitReset::Monthly,
        }
    }
}

/// `POST /keys` body. `creator_user_id` is accepted and ignored
/// (Switchyard has no users); `workspace_id` must name one of the account's
/// workspaces.
#[derive(Deserialize)]
struct CreateBody {
    name: String,
    workspace_id: Option<String>,
    /// The member the key is for (admins only; a member's keys are theirs).
    member_id: Option<String>,
    limit: Option<Number>,
    limit_reset: Option<ResetIn>,
    include_byok_in_limit: Option<bool>,
    expires_at: Option<String>,
    /// Cache answers to this key's requests without the cache header.
    cache_responses: Option<bool>,
}

/// `PATCH /keys/{hash}` body: absent fields stay as they are; `null` clears
/// `limit` and `limit_reset`.
#[derive(Deserialize)]
struct PatchBody {
    name: Option<String>,
    disabled: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    limit: Option<Option<Number>>,
    #[serde(default, deserialize_with = "present")]
    limit_reset: Option<Option<ResetIn>>,
    include_byok_in_limit: Option<bool>,
    /// Moves the key; `null`: to the default workspace.
    #[serde(default, deserialize_with = "present")]
    workspace_id: Option<Option<String>>,
    /// Gives the key to a member (admins only); `null`: to the account.
    #[serde(default, deserialize_with = "present")]
    member_id: Option<Option<String>>,
    cache_responses: Option<bool>,
}

/// Tells a field sent as `null` (`Some(None)`) from an absent one (`None`).
pub(crate) fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// `GET /keys` query.
#[derive(Deserialize)]
pub struct ListQuery {
    include_disabled: Option<String>,
    offset: Option<String>,
    workspace_id: Option<String>,
}

/// The KeyObject of reference §5.2: settings, spend per UTC period, and
/// what is left of the limit in the current one.
pub(crate) fn key_object(k: &KeyRecord, u: &PeriodUsage) -> Map<String, Value> {
    let usd = |n: NanoUsd| n.as_usd_f64();
    let in_period = u.for_limit(k, k.usage);
    let obj = json!({
        "hash": k.hash,
        "name": k.name,
        "label": k.label,
        "disabled": k.disabled,
        "limit": k.limit.map(usd),
        "limit_remaining": k.limit.map(|l| usd(NanoUsd((l.0 - in_period.0).max(0)))),
        "limit_reset": k.limit_reset.map(LimitReset::as_str),
        "include_byok_in_limit": k.include_byok_in_limit,
        "usage": usd(k.usage),
        "usage_daily": usd(u.daily),
        "usage_weekly": usd(u.weekly),
        "usage_monthly": usd(u.monthly),
        "byok_usage": usd(u.byok),
        "byok_usage_daily": usd(u.byok_daily),
        "byok_usage_weekly": usd(u.byok_weekly),
        "byok_usage_monthly": usd(u.byok_monthly),
        "created_at": chrono_like_iso(k.created_at),
        "updated_at": chrono_like_iso(k.updated_at),
        "expires_at": k.expires_at.map(chrono_like_iso),
        "workspace_id": k.workspace_id,
        "member_id": k.member_id,
        "cache_responses": k.cache_responses,
    });
    match obj {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// The caller's account's inference key with this hash, or a 404.
async fn owned(state: &AppState, caller: &Caller, hash: &str) -> Result<KeyRecord, GatewayError> {
    let not_found = || GatewayError::NotFound(format!("Key {hash} not found"));
    let key = state.store.key_by_hash(hash).await?.ok_or_else(not_found)?;
    if key.account_id != caller.key.account_id || key.is_management {
        return Err(not_found());
    }
    // Another member's key is as invisible to a member as another account's.
    if let Some(member) = crate::members::scope(caller).member()
        && key.member_id.as_deref() != Some(member)
    {
        return Err(not_found());
    }
    Ok(key)
}

/// The workspace a key is to be in: `None` (or an empty id) is the default
/// workspace; any other id must be one of the caller's account's workspaces
/// (404 otherwise).
async fn workspace(state: &AppState, caller: &Caller, id: Option<&str>) -> Result<Option<String>, GatewayError> {
    match id.filter(|id| !id.is_empty()) {
        None => Ok(None),
        Some(id) => Ok(Some(crate::workspaces::owned(state, caller, id).await?.id)),
    }
}

/// `{data: KeyObject}` for a key, with its spend read now.
async fn one(state: &AppState, key: &KeyRecord) -> Result<Value, GatewayError> {
    let usage = state.store.key_period_usage(&key.hash, state.auth.now_ms()).await?;
    Ok(json!({ "data": key_object(key, &usage) }))
}

/// `GET /api/v1/keys?include_disabled=&offset=&workspace_id=`: a page of the
/// account's keys (of one workspace when `workspace_id` is given; 404 for
/// one that is not the account's).
pub async fn list(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Result<Response, GatewayError> {
    let caller = state.auth.manager(&headers, "manage API keys").await?;
    let include_disabled = match q.include_disabled.as_deref() {
        None | Some("") | Some("false") | Some("0") => false,
        Some("true") | Some("1") => true,
        Some(other) => {
            return Err(GatewayError::BadRequest(format!("`include_disabled` must be true or false, not `{other}`")));
        }
    };
    let offset = match q.offset.as_deref() {
        None | Some("") => 0,
        Some(o) => o
            .parse::<u32>()
            .map_err(|_| GatewayError::BadRequest(format!("`offset` must be a non-negative integer, not `{o}`")))?,
    };
    let workspace = match q.workspace_id.as_deref().filter(|w| !w.is_empty()) {
        Some(id) => Some(crate::workspaces::owned(&state, &caller, id).await?.id),
        None => None,
    };
    let account = &caller.key.account_id;
    let scope = crate::members::scope(&caller);
    let keys = state
        .store
        .account_keys_of(account, include_disabled, workspace.as_deref(), scope.member(), offset, PAGE)
        .await?;
    let usage = state.store.account_period_usage(account, state.auth.now_ms()).await?;
    let data: Vec<Map<String, Value>> =
        keys.iter().map(|k| key_object(k, &usage.get(&k.hash).copied().unwrap_or_default())).collect();
    Ok(Json(json!({ "data": data })).into_response())
}

/// `POST /api/v1/keys`: a new inference key; its plaintext is in this
/// response only.
pub async fn create(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, GatewayError> {
    let caller = state.auth.manager(&headers, "manage API keys").await?;
    let bytes = crate::body::read_limited(&headers, body, state.max_body_bytes).await?;
    let req: CreateBody = crate::body::parse_json(&bytes)?;
    let expires_at = match req.expires_at.as_deref() {
        None => None,
        Some(s) => {
            let at = parse_utc_iso(s).ok_or_else(|| {
                GatewayError::BadRequest(format!(
                    "`expires_at` must be an ISO-8601 timestamp in UTC (ending in Z or +00:00), e.g. \
                     2027-12-31T23:59:59Z; got `{s}`"
                ))
            })?;
            if at <= state.auth.now_ms() {
                return Err(GatewayError::BadRequest(format!("`expires_at` must be in the future; got `{s}`")));
            }
            Some(at)
        }
    };
    let member_id = match (crate::members::scope(&caller), req.member_id.as_deref().filter(|m| !m.is_empty())) {
        (crate::members::Scope::Member(own), Some(asked)) if asked != own => {
            return Err(GatewayError::NotFound(format!("Member {asked} not found")));
        }
        (crate::members::Scope::Member(own), _) => Some(own),
        (crate::members::Scope::Admin, Some(asked)) => Some(crate::members::owned(&state, &caller, asked).await?.id),
        (crate::members::Scope::Admin, None) => None,
    };
    let workspace_id = workspace(&state, &caller, req.workspace_id.as_deref()).await?;
    crate::members::check_workspace(&state, member_id.as_deref(), workspace_id.as_deref()).await?;
    let spec = KeySpec {
        name: valid_name(&req.name)?,
        is_management: false,
        limit: req.limit.as_ref().map(usd_limit).transpose()?,
        limit_reset: req.limit_reset.map(LimitReset::from),
        include_byok_in_limit: req.include_byok_in_limit.unwrap_or(false),
        expires_at,
        workspace_id,
        member_id,
        cache_responses: req.cache_responses.unwrap_or(false),
    };
    let new = state.store.create_key_with(&caller.key.account_id, &spec).await?;
    let data = key_object(&new.record, &PeriodUsage::default());
    Ok((StatusCode::CREATED, Json(json!({ "data": data, "key": new.plaintext }))).into_response())
}

/// `GET /api/v1/keys/{hash}`.
pub async fn get_one(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(hash): Path<String>,
) -> Result<Response, GatewayError> {
    let caller = state.auth.manager(&headers, "manage API keys").await?;
    let key = owned(&state, &caller, &hash).await?;
    Ok(Json(one(&state, &key).await?).into_response())
}

/// `PATCH /api/v1/keys/{hash}`: name, disabled, limit, limit_reset,
/// include_byok_in_limit, workspace_id, cache_responses. Takes effect in this process at once.
pub async fn update(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(hash): Path<String>,
    body: Body,
) -> Result<Response, GatewayError> {
    let caller = state.auth.manager(&headers, "manage API keys").await?;
    let bytes = crate::body::read_limited(&headers, body, state.max_body_bytes).await?;
    let req: PatchBody = crate::body::parse_json(&bytes)?;
    let patch = KeyPatch {
        name: req.name.as_deref().map(valid_name).transpose()?,
        disabled: req.disabled,
        limit: req.limit.map(|l| l.as_ref().map(usd_limit).transpose()).transpose()?,
        limit_reset: req.limit_reset.map(|r| r.map(LimitReset::from)),
        include_byok_in_limit: req.include_byok_in_limit,
        workspace_id: match req.workspace_id {
            None => None,
            Some(id) => Some(workspace(&state, &caller, id.as_deref()).await?),
        },
        member_id: match req.member_id {
            None => None,
            Some(member) => {
                crate::members::require_admin(&caller, "give keys to other members")?;
                match member.as_deref().filter(|m| !m.is_empty()) {
                    Some(m) => Some(Some(crate::members::owned(&state, &caller, m).await?.id)),
                    None => Some(None),
                }
            }
        },
        cache_responses: req.cache_responses,
    };
    let before = owned(&state, &caller, &hash).await?;
    if patch.workspace_id.is_some() || patch.member_id.is_some() {
        // The key's member (after the change) must belong to its workspace (after the change).
        let member = patch.member_id.clone().unwrap_or(before.member_id);
        let ws = patch.workspace_id.clone().unwrap_or(before.workspace_id);
        crate::members::check_workspace(&state, member.as_deref(), ws.as_deref()).await?;
    }
    if !state.store.update_key(&hash, &patch).await? {
        return Err(GatewayError::NotFound(format!("Key {hash} not found")));
    }
    state.auth.invalidate();
    // A key that moved has its new workspace's guardrail at once.
    state.guardrails.invalidate();
    let key = owned(&state, &caller, &hash).await?;
    Ok(Json(one(&state, &key).await?).into_response())
}

/// `DELETE /api/v1/keys/{hash}`: the key stops working and leaves every
/// list; its generations and spend stay on the account.
pub async fn delete(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(hash): Path<String>,
) -> Result<Response, GatewayError> {
    let caller = state.auth.manager(&headers, "manage API keys").await?;
    owned(&state, &caller, &hash).await?;
    if !state.store.delete_key(&hash).await? {
        return Err(GatewayError::NotFound(format!("Key {hash} not found")));
    }
    state.auth.invalidate();
    Ok(Json(json!({ "deleted": true })).into_response())
}

fn valid_name(name: &str) -> Result<String, GatewayError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(GatewayError::BadRequest("`name` must not be empty".into()));
    }
    if name.chars().count() > MAX_NAME {
        return Err(GatewayError::BadRequest(format!("`name` must be at most {MAX_NAME} characters")));
    }
    Ok(name.to_owned())
}

/// A USD amount as sent in JSON, exactly (no float rounding).
pub(crate) fn usd_limit(n: &Number) -> Result<NanoUsd, GatewayError> {
    let bad = || GatewayError::BadRequest(format!("`limit` must be a non-negative amount of USD, got {n}"));
    let v = NanoUsd::parse_usd(&n.to_string()).map_err(|_| bad())?;
    if v.0 < 0 {
        return Err(bad());
    }
    Ok(v)
}

/// Unix milliseconds of an ISO-8601 date-time in UTC:
/// `YYYY-MM-DDTHH:MM[:SS[.fff]]` followed by `Z` or `+00:00`. Anything
/// else, including other offsets and no offset at all, is `None`.
pub(crate) fn parse_utc_iso(s: &str) -> Option<i64> {
    let body = s.strip_suffix(['Z', 'z']).or_else(|| s.strip_suffix("+00:00"))?;
    let (date, time) = body.split_once(['T', 't'])?;
    let digits = |s: &str, n: usize| -> Option<i64> {
        (s.len() == n && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok()).flatten()
    };
    let mut d = date.split('-');
    let (y, m, day) = (digits(d.next()?, 4)?, digits(d.next()?, 2)?, digits(d.next()?, 2)?);
    let (hms, frac) = match time.split_once('.') {
        Some((hms, frac)) => (hms, Some(frac)),
        None => (time, None),
    };
    let mut t = hms.split(':');
    let (h, min) = (digits(t.next()?, 2)?, digits(t.next()?, 2)?);
    let sec = match t.next() {
        Some(sec) => digits(sec, 2)?,
        None if frac.is_none() => 0,
        None => return None,
    };
    if d.next().is_some() || t.next().is_some() {
        return None;
    }
    let m = u32::try_from(m).ok().filter(|m| (1..=12).contains(m))?;
    let day = u32::try_from(day).ok().filter(|d| (1..=days_in_month(y, m)).contains(d))?;
    if h > 23 || min > 59 || sec > 59 {
        return None;
    }
    let ms = match frac {
        None => 0,
        Some(f) if !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()) => {
            format!("{:0<3}", &f[..f.len().min(3)]).parse::<i64>().ok()?
        }
        Some(_) => return None,
    };
    Some(days_from_civil(y, m, day) * 86_400_000 + ((h * 60 + min) * 60 + sec) * 1000 + ms)
}

#[cfg(test)]
mod tests {
    use super::parse_utc_iso;

    #[test]
    fn only_utc_timestamps_parse() {
        assert_eq!(parse_utc_iso("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_utc_iso("2025-11-24T16:00:00.123Z"), Some(1_764_000_000_123));
        assert_eq!(parse_utc_iso("2025-11-24T16:00:00.1+00:00"), Some(1_764_000_000_100));
        assert_eq!(parse_utc_iso("2025-11-24T16:00:00.123456Z"), Some(1_764_000_000_123));
        assert_eq!(parse_utc_iso("2025-11-24T16:00Z"), Some(1_764_000_000_000));
        assert_eq!(parse_utc_iso("2024-02-29T00:00:00Z"), Some(1_709_164_800_000));
        for bad in [
            "2025-11-24T16:00:00",
            "2025-11-24T16:00:00+02:00",
            "2025-11-24T16:00:00-00:00",
            "2025-11-24",
            "2025-11-24 16:00:00Z",
            "2023-02-29T00:00:00Z",
            "2025-13-01T00:00:00Z",
            "2025-11-24T24:00:00Z",
            "2025-11-24T16:00:00.Z",
            "25-11-24T16:00:00Z",
            "tomorrow",
            "",
        ] {
            assert_eq!(parse_utc_iso(bad), None, "{bad}");
        }
    }
}
