//! `/api/v1/guardrails`: an account's guardrails and their assignment to
//! its keys, for management keys only (reads too: a guardrail describes
//! what other keys may do). Another account's guardrail, or key, is a 404.
//!
//! * `GET /guardrails`, `POST /guardrails` (201)
//! * `GET|PATCH|DELETE /guardrails/{id}`
//! * `POST /guardrails/{id}/keys` `{"key_hashes": [...]}` assigns (a key
//!   may have several guardrails); `DELETE /guardrails/{id}/keys/{hash}`
//!   removes one assignment.
//!
//! A guardrail object: `id`, `name`, `description`, `limit_usd`,
//! `reset_interval` (`daily|weekly|monthly|null`), `allowed_models`
//! (`null`: any; `author/*` allows an author's models), `allowed_providers`
//! (`null`: any), `enforce_zdr`, `block_prompt_injection`, `regex_filters`
//! (`[{pattern, action: block|redact, label?}]`), `pii`
//! (`{action: block|redact, types: [email|phone|credit_card|ssn|ip]}` or
//! `null`), `key_hashes`, `member_ids`, `created_at`, `updated_at`,
//! `workspace_id`. Unknown fields are refused, so that a misspelt rule is
//! not silently absent.
//!
//! Organizations (see [`crate::members`]): only admins manage guardrails.
//! `POST /guardrails/{id}/members` `{"member_ids": [...]}` assigns a
//! guardrail to members (it then applies to all of their keys, its budget
//! counting the spend of all of them); `DELETE /guardrails/{id}/members/{mid}`
//! removes one. `workspace_id` (on create or PATCH; `null` clears) makes it
//! its workspace's guardrail, applying to every key in the workspace; a
//! workspace has at most one.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Deserializer};
use serde_json::{Number, Value, json};
use switchyard_api::NanoUsd;
use switchyard_store::{Guardrail, GuardrailSpec, LimitReset, PiiRule, RegexFilter};

use crate::auth::Caller;
use crate::error::GatewayError;
use crate::keys_api::ResetIn;
use crate::routes::chrono_like_iso;
use crate::state::AppState;

/// Longest guardrail name.
const MAX_NAME: usize = 200;
/// Longest description.
const MAX_DESCRIPTION: usize = 1000;
/// Most entries in an allow-list.
const MAX_LIST: usize = 500;
/// Most custom regex filters.
const MAX_FILTERS: usize = 50;
/// Longest custom pattern.
const MAX_PATTERN: usize = 1000;
/// Longest redaction label.
const MAX_LABEL: usize = 40;
/// Most keys assigned in one request.
const MAX_ASSIGN: usize = 500;
/// What an admin is needed for.
const WHAT: &str = "read or manage guardrails";

/// `POST /guardrails` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    name: String,
    description: Option<String>,
    limit_usd: Option<Number>,
    reset_interval: Option<ResetIn>,
    allowed_models: Option<Vec<String>>,
    allowed_providers: Option<Vec<String>>,
    enforce_zdr: Option<bool>,
    block_prompt_injection: Option<bool>,
    regex_filters: Option<Vec<RegexFilter>>,
    pii: Option<PiiRule>,
    workspace_id: Option<String>,
}

/// `PATCH /guardrails/{id}` body: absent fields stay as they are; `null`
/// clears a nullable one.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchBody {
    name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    description: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    limit_usd: Option<Option<Number>>,
    #[serde(default, deserialize_with = "present")]
    reset_interval: Option<Option<ResetIn>>,
    #[serde(default, deserialize_with = "present")]
    allowed_models: Option<Option<Vec<String>>>,
    #[serde(default, deserialize_with = "present")]
    allowed_providers: Option<Option<Vec<String>>>,
    enforce_zdr: Option<bool>,
    block_prompt_injection: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    regex_filters: Option<Option<Vec<RegexFilter>>>,
    #[serde(default, deserialize_with = "present")]
    pii: Option<Option<PiiRule>>,
    #[serde(default, deserialize_with = "present")]
    workspace_id: Option<Option<String>>,
}

/// `POST /guardrails/{id}/members` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AssignMembersBody {
    member_ids: Vec<String>,
}

/// `POST /guardrails/{id}/keys` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AssignBody {
    key_hashes: Vec<String>,
}

/// Tells a field sent as `null` (`Some(None)`) from an absent one (`None`).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

fn view(g: &Guardrail, keys: &[String], members: &[String]) -> Value {
    let s = &g.spec;
    json!({
        "id": g.id,
        "name": s.name,
        "description": s.description,
        "limit_usd": s.limit.map(NanoUsd::as_usd_f64),
        "reset_interval": s.reset.map(LimitReset::as_str),
        "allowed_models": s.allowed_models,
        "allowed_providers": s.allowed_providers,
        "enforce_zdr": s.enforce_zdr,
        "block_prompt_injection": s.block_prompt_injection,
        "regex_filters": s.regex_filters,
        "pii": s.pii,
        "key_hashes": keys,
        "member_ids": members,
        "created_at": chrono_like_iso(g.created_at),
        "updated_at": chrono_like_iso(g.updated_at),
        "workspace_id": s.workspace_id,
    })
}

fn not_found(id: &str) -> GatewayError {
    GatewayError::NotFound(format!("Guardrail {id} not found"))
}

/// The caller's account's guardrail `id`, or a 404.
async fn owned(state: &AppState, caller: &Caller, id: &str) -> Result<Guardrail, GatewayError> {
    state.store.guardrail(&caller.key.account_id, id).await?.ok_or_else(|| not_found(id))
}

/// `{data: guardrail}` with its keys and members read now.
async fn one(state: &AppState, g: &Guardrail) -> Result<Value, GatewayError> {
    let mut keys = state.store.guardrail_assignments(&g.account_id).await?;
    let mut members = state.store.guardrail_member_assignments(&g.account_id).await?;
    let (keys, members) = (keys.remove(&g.id).unwrap_or_default(), members.remove(&g.id).unwrap_or_default());
    Ok(json!({ "data": view(g, &keys, &members) }))
}

/// The workspace a guardrail is to be the guardrail of: one of the
/// account's (404 otherwise) without another guardrail (400 otherwise).
async fn workspace_of(
    state: &AppState,
    caller: &Caller,
    guardrail: Option<&str>,
    id: Option<&str>,
) -> Result<Option<String>, GatewayError> {
    let Some(id) = id.filter(|id| !id.is_empty()) else { return Ok(None) };
    let ws = crate::workspaces::owned(state, caller, id).await?;
    let taken = state
        .store
        .guardrails(&caller.key.account_id)
        .await?
        .into_iter()
        .find(|g| g.spec.workspace_id.as_deref() == Some(ws.id.as_str()) && Some(g.id.as_str()) != guardrail);
    if let Some(other) = taken {
        return Err(GatewayError::BadRequest(format!(
            "Workspace {} already has guardrail {} (`{}`): a workspace has one guardrail; clear its `workspace_id` \
             first",
            ws.id, other.id, other.spec.name
        )));
    }
    Ok(Some(ws.id))
}

/// `GET /api/v1/guardrails`: the account's guardrails, oldest first.
pub async fn list(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Result<Response, GatewayError> {
    let caller = crate::members::admin(&state, &headers, WHAT).await?;
    let account = &caller.key.account_id;
    let rails = state.store.guardrails(account).await?;
    let keys = state.store.guardrail_assignments(account).await?;
    let members = state.store.guardrail_member_assignments(account).await?;
    let of = |m: &std::collections::HashMap<String, Vec<String>>, id: &str| m.get(id).cloned().unwrap_or_default();
    let data: Vec<Value> = rails.iter().map(|g| view(g, &of(&keys, &g.id), &of(&members, &g.id))).collect();
    Ok(Json(json!({ "data": data })).into_response())
}

/// `POST /api/v1/guardrails`: a new guardrail, assigned to no key yet.
pub async fn create(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, GatewayError> {
    let caller = crate::members::admin(&state, &headers, WHAT).await?;
    let bytes = crate::body::read_limited(&headers, body, state.max_body_bytes).await?;
    let b: CreateBody = crate::body::parse_json(&bytes)?;
    let spec = GuardrailSpec {
        name: b.name,
        description: b.description,
        limit: b.limit_usd.as_ref().map(usd).transpose()?,
        reset: b.reset_interval.map(LimitReset::from),
        allowed_models: b.allowed_models,
        allowed_providers: b.allowed_providers,
        enforce_zdr: b.enforce_zdr.unwrap_or(false),
        block_prompt_injection: b.block_prompt_injection.unwrap_or(false),
        regex_filters: b.regex_filters.unwrap_or_default(),
        pii: b.pii,
        workspace_id: workspace_of(&state, &caller, None, b.workspace_id.as_deref()).await?,
    };
    let spec = validate(spec)?;
    let g = state.store.create_guardrail(&caller.key.account_id, &spec).await?;
    state.guardrails.invalidate();
    Ok((StatusCode::CREATED, Json(json!({ "data": view(&g, &[], &[]) }))).into_response())
}

/// `GET /api/v1/guardrails/{id}`.
pub async fn get_one(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, GatewayError> {
    let caller = crate::members::admin(&state, &headers, WHAT).await?;
    let g = owned(&state, &caller, &id).await?;
    Ok(Json(one(&state, &g).await?).into_response())
}

/// `PATCH /api/v1/guardrails/{id}`: takes effect in this process at once.
pub async fn update(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Body,
) -> Result<Response, GatewayError> {
    let caller = crate::members::admin(&state, &headers, WHAT).await?;
    let bytes = crate::body::read_limited(&headers, body, state.max_body_bytes).await?;
    let b: PatchBody = crate::body::parse_json(&bytes)?;
    let mut spec = owned(&state, &caller, &id).await?.spec;
    if let Some(name) = b.name {
        spec.name = name;
    }
    if let Some(d) = b.description {
        spec.description = d;
    }
    if let Some(l) = b.limit_usd {
        spec.limit = l.as_ref().map(usd).transpose()?;
    }
    if let Some(r) = b.reset_interval {
        spec.reset = r.map(LimitReset::from);
    }
    if let Some(m) = b.allowed_models {
        spec.allowed_models = m;
    }
    if let Some(p) = b.allowed_providers {
        spec.allowed_providers = p;
    }
    if let Some(z) = b.enforce_zdr {
        spec.enforce_zdr = z;
    }
    if let Some(i) = b.block_prompt_injection {
        spec.block_prompt_injection = i;
    }
    if let Some(f) = b.regex_filters {
        spec.regex_filters = f.unwrap_or_default();
    }
    if let Some(p) = b.pii {
        spec.pii = p;
    }
    if let Some(w) = b.workspace_id {
        spec.workspace_id = workspace_of(&state, &caller, Some(&id), w.as_deref()).await?;
    }
    let spec = validate(spec)?;
    let g = state.store.update_guardrail(&caller.key.account_id, &id, &spec).await?.ok_or_else(|| not_found(&id))?;
    state.guardrails.invalidate();
    Ok(Json(one(&state, &g).await?).into_response())
}

/// `DELETE /api/v1/guardrails/{id}`: the guardrail and its assignments go.
pub async fn delete(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, GatewayError> {
    let caller = crate::members::admin(&state, &headers, WHAT).await?;
    if !state.store.delete_guardrail(&caller.key.account_id, &id).await? {
        return Err(not_found(&id));
    }
    state.guardrails.invalidate();
    Ok(Json(json!({ "deleted": true })).into_response())
}

/// `POST /api/v1/guardrails/{id}/keys`: assigns the guardrail to inference
/// keys of the account (all or none: an unknown key is a 404).
pub async fn assign(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Body,
) -> Result<Response, GatewayError> {
    let caller = crate::members::admin(&state, &headers, WHAT).await?;
    let bytes = crate::body::read_limited(&headers, body, state.max_body_bytes).await?;
    let b: AssignBody = crate::body::parse_json(&bytes)?;
    if b.key_hashes.is_empty() || b.key_hashes.len() > MAX_ASSIGN {
        return Err(GatewayError::BadRequest(format!("`key_hashes` must hold 1 to {MAX_ASSIGN} key hashes")));
    }
    let g = owned(&state, &caller, &id).await?;
    for hash in &b.key_hashes {
        let key = state.store.key_by_hash(hash).await?;
        if !key.is_some_and(|k| k.account_id == caller.key.account_id && !k.is_management) {
            return Err(GatewayError::NotFound(format!("Key {hash} not found")));
        }
    }
    let assigned = state.store.assign_guardrail_keys(&g.id, &b.key_hashes).await?;
    state.guardrails.invalidate();
    let mut out = one(&state, &g).await?;
    out["assigned_count"] = json!(assigned);
    Ok(Json(out).into_response())
}

/// `DELETE /api/v1/guardrails/{id}/keys/{hash}`.
pub async fn unassign(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path((id, hash)): Path<(String, String)>,
) -> Result<Response, GatewayError> {
    let caller = crate::members::admin(&state, &headers, WHAT).await?;
    let g = owned(&state, &caller, &id).await?;
    if !state.store.unassign_guardrail_key(&g.id, &hash).await? {
        return Err(GatewayError::NotFound(format!("Key {hash} is not assigned to guardrail {id}")));
    }
    state.guardrails.invalidate();
    Ok(Json(json!({ "deleted": true })).into_response())
}

/// `POST /api/v1/guardrails/{id}/members`: assigns the guardrail to
/// members of the account (all or none: an unknown member is a 404).
pub async fn assign_members(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Body,
) -> Result<Response, GatewayError> {
    let caller = crate::members::admin(&state, &headers, WHAT).await?;
    let bytes = crate::body::read_limited(&headers, body, state.max_body_bytes).await?;
    let b: AssignMembersBody = crate::body::parse_json(&bytes)?;
    if b.member_ids.is_empty() || b.member_ids.len() > MAX_ASSIGN {
        return Err(GatewayError::BadRequest(format!("`member_ids` must hold 1 to {MAX_ASSIGN} member ids")));
    }
    let g = owned(&state, &caller, &id).await?;
    for member in &b.member_ids {
        crate::members::owned(&state, &caller, member).await?;
    }
    let assigned = state.store.assign_guardrail_members(&g.id, &b.member_ids).await?;
    state.guardrails.invalidate();
    let mut out = one(&state, &g).await?;
    out["assigned_count"] = json!(assigned);
    Ok(Json(out).into_response())
}

/// `DELETE /api/v1/guardrails/{id}/members/{member_id}`.
pub async fn unassign_member(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path((id, member)): Path<(String, String)>,
) -> Result<Response, GatewayError> {
    let caller = crate::members::admin(&state, &headers, WHAT).await?;
    let g = owned(&state, &caller, &id).await?;
    if !state.store.unassign_guardrail_member(&g.id, &member).await? {
        return Err(GatewayError::NotFound(format!("Member {member} is not assigned to guardrail {id}")));
    }
    state.guardrails.invalidate();
    Ok(Json(json!({ "deleted": true })).into_response())
}

/// A USD amount as sent in JSON, exactly (no float rounding).
fn usd(n: &Number) -> Result<NanoUsd, GatewayError> {
    let bad = || GatewayError::BadRequest(format!("`limit_usd` must be a non-negative amount of USD, got {n}"));
    let v = NanoUsd::parse_usd(&n.to_string()).map_err(|_| bad())?;
    if v.0 < 0 {
        return Err(bad());
    }
    Ok(v)
}

/// Checks and tidies a guardrail's settings (names trimmed, lists
/// deduplicated, provider slugs lower-cased, patterns compiled).
fn validate(mut s: GuardrailSpec) -> Result<GuardrailSpec, GatewayError> {
    let bad = |m: String| Err(GatewayError::BadRequest(m));
    s.name = s.name.trim().to_owned();
    if s.name.is_empty() || s.name.chars().count() > MAX_NAME {
        return bad(format!("`name` must be 1 to {MAX_NAME} characters"));
    }
    if s.description.as_ref().is_some_and(|d| d.chars().count() > MAX_DESCRIPTION) {
        return bad(format!("`description` must be at most {MAX_DESCRIPTION} characters"));
    }
    s.allowed_models = s.allowed_models.map(|l| slugs("allowed_models", l, false)).transpose()?;
    s.allowed_providers = s.allowed_providers.map(|l| slugs("allowed_providers", l, true)).transpose()?;
    if s.regex_filters.len() > MAX_FILTERS {
        return bad(format!("at most {MAX_FILTERS} `regex_filters`"));
    }
    for (i, f) in s.regex_filters.iter().enumerate() {
        if f.pattern.is_empty() || f.pattern.len() > MAX_PATTERN {
            return bad(format!("`regex_filters[{i}].pattern` must be 1 to {MAX_PATTERN} bytes"));
        }
        if let Err(e) = super::compile(&f.pattern) {
            return bad(format!("`regex_filters[{i}].pattern` is not a valid regex: {e}"));
        }
        let label_ok = |l: &str| {
            (1..=MAX_LABEL).contains(&l.len())
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        };
        if f.label.as_deref().is_some_and(|l| !label_ok(l)) {
            return bad(format!(
                "`regex_filters[{i}].label` must be 1 to {MAX_LABEL} of letters, digits, `_`, `-` and `.`"
            ));
        }
    }
    if let Some(p) = &mut s.pii {
        if p.types.is_empty() {
            return bad("`pii.types` must name at least one of email, phone, credit_card, ssn, ip".into());
        }
        let mut types = Vec::with_capacity(p.types.len());
        for t in &p.types {
            if !types.contains(t) {
                types.push(*t);
            }
        }
        p.types = types;
    }
    Ok(s)
}

/// A non-empty allow-list of slugs, trimmed and deduplicated (`null`, not
/// `[]`, means no restriction).
fn slugs(field: &str, l: Vec<String>, lowercase: bool) -> Result<Vec<String>, GatewayError> {
    if l.is_empty() || l.len() > MAX_LIST {
        return Err(GatewayError::BadRequest(format!(
            "`{field}` must hold 1 to {MAX_LIST} entries, or be null for no restriction"
        )));
    }
    let mut out: Vec<String> = Vec::with_capacity(l.len());
    for e in l {
        let e = e.trim();
        let e = if lowercase { e.to_ascii_lowercase() } else { e.to_owned() };
        let stars = e.matches('*').count();
        if e.is_empty()
            || e.len() > 200
            || e.contains(char::is_whitespace)
            || stars > 1
            || (stars == 1 && !e.ends_with('*'))
        {
            return Err(GatewayError::BadRequest(format!(
                "`{field}` entries must be slugs without spaces{}; got `{e}`",
                if lowercase { "" } else { " (a single trailing `*` matches any suffix)" }
            )));
        }
        if lowercase && stars > 0 {
            return Err(GatewayError::BadRequest(format!("`{field}` entries are provider slugs; got `{e}`")));
        }
        if !out.iter().any(|o| o.eq_ignore_ascii_case(&e)) {
            out.push(e);
        }
    }
    Ok(out)
}
