//! Workspaces (reference §8.5): an account's groups of API keys, each with
//! its own routing defaults, managed under `/api/v1/workspaces` with a
//! management key that acts as admin (see [`crate::members`]). Billing,
//! activity and management keys stay with the account. A workspace also
//! has members (`/workspaces/{id}/members`, in [`crate::members`]), at most
//! one guardrail (a guardrail's `workspace_id`), its own BYOK keys and
//! presets (their `workspace_id`), each applying to its keys only.
//!
//! A key in a workspace is routed with the workspace's `provider` object
//! laid over the server's defaults and under the per-key-name config and
//! the request's own `provider`. Those defaults are cached per workspace
//! for [`TTL`]; a change through this process applies at once.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use switchyard_api::provider::ProviderPreferences;
use switchyard_store::{Store, StoreError, WORKSPACE_SLUG_MAX, Workspace, WorkspacePatch, valid_workspace_slug};

use crate::auth::Caller;
use crate::error::GatewayError;
use crate::keys_api::present;
use crate::routes::chrono_like_iso;
use crate::state::AppState;

/// How long a workspace's routing defaults are reused before re-reading.
pub const TTL: Duration = Duration::from_secs(1);
/// Longest workspace name.
const MAX_NAME: usize = 200;
/// What a management key is needed for.
const WHAT: &str = "manage workspaces";

/// Workspaces' routing defaults, by workspace id, each read at most once per
/// [`TTL`].
#[derive(Default)]
pub struct WorkspaceBook {
    prefs: RwLock<HashMap<String, (Arc<ProviderPreferences>, Instant)>>,
}

impl WorkspaceBook {
    /// The routing defaults of workspace `id` (empty if it no longer exists).
    pub async fn prefs(&self, store: &Store, id: &str) -> Result<Arc<ProviderPreferences>, GatewayError> {
        let now = Instant::now();
        if let Ok(map) = self.prefs.read()
            && let Some((prefs, at)) = map.get(id)
            && now.duration_since(*at) < TTL
        {
            return Ok(prefs.clone());
        }
        let prefs = match store.workspace_provider(id).await? {
            None => ProviderPreferences::default(),
            Some(v) => serde_json::from_value(v).unwrap_or_else(|e| {
                tracing::warn!(workspace = id, error = %e, "stored workspace routing defaults do not parse; ignored");
                ProviderPreferences::default()
            }),
        };
        let prefs = Arc::new(prefs);
        if let Ok(mut map) = self.prefs.write() {
            map.retain(|_, (_, at)| now.duration_since(*at) < TTL);
            map.insert(id.to_owned(), (prefs.clone(), now));
        }
        Ok(prefs)
    }

    /// Forgets a workspace's cached defaults (after a change through this
    /// process).
    pub fn forget(&self, id: &str) {
        if let Ok(mut map) = self.prefs.write() {
            map.remove(id);
        }
    }
}

/// `POST /workspaces` body.
#[derive(Deserialize)]
struct CreateBody {
    name: String,
    slug: Option<String>,
    provider: Option<ProviderPreferences>,
}

/// `PATCH /workspaces/{id}` body: absent fields stay; `provider: null`
/// clears the routing defaults.
#[derive(Deserialize)]
struct PatchBody {
    name: Option<String>,
    slug: Option<String>,
    #[serde(default, deserialize_with = "present")]
    provider: Option<Option<ProviderPreferences>>,
}

fn view(w: &Workspace) -> Value {
    json!({
        "id": w.id,
        "name": w.name,
        "slug": w.slug,
        "provider": w.provider,
        "created_at": chrono_like_iso(w.created_at),
        "updated_at": chrono_like_iso(w.updated_at),
    })
}

fn not_found(id: &str) -> GatewayError {
    GatewayError::NotFound(format!("Workspace {id} not found"))
}

/// A store failure as the client sees it: refusals are 400s.
fn refused(e: StoreError) -> GatewayError {
    match e {
        StoreError::Conflict(m) | StoreError::Invalid(m) => GatewayError::BadRequest(m),
        other => other.into(),
    }
}

fn provider_value(p: Option<ProviderPreferences>) -> Result<Value, GatewayError> {
    serde_json::to_value(p.unwrap_or_default()).map_err(|e| GatewayError::Internal(e.to_string()))
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

fn valid_slug(slug: &str) -> Result<String, GatewayError> {
    if !valid_workspace_slug(slug) {
        return Err(GatewayError::BadRequest(format!(
            "Invalid `slug` `{slug}`: use 1 to {WORKSPACE_SLUG_MAX} lowercase letters, digits and hyphens"
        )));
    }
    Ok(slug.to_owned())
}

/// A slug made from a name: lowercase letters and digits, other runs of
/// characters as one hyphen.
fn slug_of(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let out: String = out.trim_end_matches('-').chars().take(WORKSPACE_SLUG_MAX).collect();
    let out = out.trim_end_matches('-').to_owned();
    if out.is_empty() { "workspace".to_owned() } else { out }
}

/// The caller's account's workspace `id`, or a 404 (another account's too).
pub(crate) async fn owned(state: &AppState, caller: &Caller, id: &str) -> Result<Workspace, GatewayError> {
    state.store.workspace(&caller.key.account_id, id).await?.ok_or_else(|| not_found(id))
}

/// `GET /api/v1/workspaces`: the account's workspaces, oldest first (the
/// default workspace, of keys without one, is not listed).
pub async fn list(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Result<Response, GatewayError> {
    let caller = crate::members::admin(&state, &headers, WHAT).await?;
    let data: Vec<Value> = state.store.workspaces(&caller.key.account_id).await?.iter().map(view).collect();
    Ok(Json(json!({ "data": data })).into_response())
}

/// `POST /api/v1/workspaces`: `{name, slug?, provider?}`; the slug defaults
/// to one made from the name.
pub async fn create(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, GatewayError> {
    let caller = crate::members::admin(&state, &headers, WHAT).await?;
    let bytes = crate::body::read_limited(&headers, body, state.max_body_bytes).await?;
    let req: CreateBody = crate::body::parse_json(&bytes)?;
    let name = valid_name(&req.name)?;
    let slug = match req.slug.as_deref() {
        Some(s) => valid_slug(s)?,
        None => slug_of(&name),
    };
    let provider = provider_value(req.provider)?;
    let ws = state.store.create_workspace(&caller.key.account_id, &name, &slug, &provider).await.map_err(refused)?;
    Ok((StatusCode::CREATED, Json(json!({ "data": view(&ws) }))).into_response())
}

/// `GET /api/v1/workspaces/{id}`.
pub async fn get_one(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, GatewayError> {
    let caller = crate::members::admin(&state, &headers, WHAT).await?;
    let ws = owned(&state, &caller, &id).await?;
    Ok(Json(json!({ "data": view(&ws) })).into_response())
}

/// `PATCH /api/v1/workspaces/{id}`: name, slug, provider (replaced whole;
/// `null` clears it). Takes effect in this process at once.
pub async fn update(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Body,
) -> Result<Response, GatewayError> {
    let caller = crate::members::admin(&state, &headers, WHAT).await?;
    let bytes = crate::body::read_limited(&headers, body, state.max_body_bytes).await?;
    let req: PatchBody = crate::body::parse_json(&bytes)?;
    let patch = WorkspacePatch {
        name: req.name.as_deref().map(valid_name).transpose()?,
        slug: req.slug.as_deref().map(valid_slug).transpose()?,
        provider: req.provider.map(provider_value).transpose()?,
    };
    let ws = state
        .store
        .update_workspace(&caller.key.account_id, &id, &patch)
        .await
        .map_err(refused)?
        .ok_or_else(|| not_found(&id))?;
    state.workspaces.forget(&id);
    Ok(Json(json!({ "data": view(&ws) })).into_response())
}

/// `DELETE /api/v1/workspaces/{id}`: refused (400) while keys are in it.
pub async fn delete(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, GatewayError> {
    let caller = crate::members::admin(&state, &headers, WHAT).await?;
    if !state.store.delete_workspace(&caller.key.account_id, &id).await.map_err(refused)? {
        return Err(not_found(&id));
    }
    state.workspaces.forget(&id);
    Ok(Json(json!({ "deleted": true })).into_response())
}

#[cfg(test)]
mod tests {
    use super::slug_of;

    #[test]
    fn slugs_from_names() {
        assert_eq!(slug_of("Team A"), "team-a");
        assert_eq!(slug_of("  Prod / EU  "), "prod-eu");
        assert_eq!(slug_of("!!!"), "workspace");
        assert_eq!(slug_of(&"x".repeat(80)).len(), 64);
    }
}
