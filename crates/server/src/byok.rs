//! BYOK (reference §8.3): accounts bring their own provider keys.
//!
//! * **Storage**: keys are sealed with AES-256-GCM under the gateway's master
//!   key ([`master_key`]) and stored as ciphertext only
//!   ([`switchyard_store::ByokRecord`]); the API shows `…abcd`, never a key.
//! * **API** (management keys acting as admin; other accounts' keys are
//!   404s): `GET/POST /api/v1/byok`, `GET/PATCH/DELETE /api/v1/byok/{id}`.
//!   A key made with `workspace_id` is its workspace's: only keys in that
//!   workspace use it, before the account-level keys ([`AccountKeys::for_workspace`]).
//! * **Routing**: every planned attempt on a provider the account has keys
//!   for is tried with those keys, in creation order: `prioritized` keys
//!   before the whole plan's shared attempts, `fallback` keys after them.
//!   An `always_use` key removes the provider's shared attempts. Data
//!   policies and every other preference have already filtered the plan.
//! * **Money**: a BYOK generation is charged a fee of [`FEE_PERCENT`] of its
//!   list cost; the list cost is reported as `upstream_inference_cost`.
//!
//! Only providers whose protocol takes an API key (OpenAI, Azure,
//! Anthropic, Gemini, Cohere) can have BYOK keys: Bedrock signs with AWS
//! credentials and Vertex mints tokens from a service account.
//!
//! Each account's usable keys are cached with their decrypted key baked
//! into a ready [`Upstream`] (so a request pays no decryption), reloaded
//! after [`CACHE_TTL`] (changes made by other instances) and dropped at once
//! when this instance changes them.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::Json;
use axum::body::Body;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use switchyard_api::NanoUsd;
use switchyard_providers::{ProviderError, Upstream};
use switchyard_router::{Attempt, Catalog};
use switchyard_store::{ByokPatch, ByokPriority, ByokRecord, MasterKey, NewByok, Secret, Store};

use crate::chat::chain::Step;
use crate::config::{Config, ConfigError};
use crate::error::GatewayError;
use crate::routes::chrono_like_iso;
use crate::state::AppState;

/// The BYOK fee: this percentage of what the generation would cost at the
/// endpoint's list price.
pub const FEE_PERCENT: i64 = 5;
/// Environment variable holding the master key (base64 or hex of 32 bytes).
pub const MASTER_KEY_ENV: &str = "SWITCHYARD_MASTER_KEY";
/// File in the data directory holding a generated master key.
pub const MASTER_KEY_FILE: &str = "master.key";
/// How long an account's cached keys are trusted before they are re-read.
pub const CACHE_TTL: Duration = Duration::from_secs(2);
/// Longest key accepted.
const MAX_KEY_LEN: usize = 4096;
/// Longest label.
const MAX_LABEL: usize = 200;

/// The BYOK fee on a list cost: [`FEE_PERCENT`] of it, rounded half up to
/// the nano-dollar (the only rounding: the list cost is already exact).
pub fn fee(list: NanoUsd) -> NanoUsd {
    let n = i128::from(list.0.max(0)) * i128::from(FEE_PERCENT);
    NanoUsd(i64::try_from((n + 50) / 100).unwrap_or(i64::MAX))
}

// ---------------------------------------------------------------- master key

/// The master key: `SWITCHYARD_MASTER_KEY`, else `[byok] master_key_file`,
/// else `<data_dir>/master.key`, generated (mode 0600) when missing. A key
/// that is given but unusable is an error; `Ok(None)` means none could be
/// generated (the data directory is not writable): the gateway runs without
/// BYOK and says so.
pub fn master_key(cfg: &Config, env: &dyn Fn(&str) -> Option<String>) -> Result<Option<MasterKey>, ConfigError> {
    let bad = |source: &str, e: &dyn std::fmt::Display| ConfigError::MasterKey(format!("{source}: {e}"));
    if let Some(text) = env(MASTER_KEY_ENV).filter(|t| !t.trim().is_empty()) {
        return MasterKey::parse(&text).map(Some).map_err(|e| bad(MASTER_KEY_ENV, &e));
    }
    if let Some(path) = &cfg.byok.master_key_file {
        return read_key_file(path).map(Some).map_err(|e| bad(&path.display().to_string(), &e));
    }
    let path = cfg.data_dir.join(MASTER_KEY_FILE);
    match std::fs::read_to_string(&path) {
        Ok(_) => return read_key_file(&path).map(Some).map_err(|e| bad(&path.display().to_string(), &e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(bad(&path.display().to_string(), &e)),
    }
    match generate_key_file(&cfg.data_dir, &path) {
        Ok(key) => {
            tracing::info!(
                path = %path.display(),
                id = key.id(),
                "generated the BYOK master key (keep this file: provider keys stored by accounts cannot be read \
                 without it; set {MASTER_KEY_ENV} or [byok] master_key_file to use another)"
            );
            if cfg.database_url.is_some() {
                tracing::warn!(
                    "the database is shared: every gateway instance needs this same master key ({MASTER_KEY_ENV})"
                );
            }
            Ok(Some(key))
        }
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "cannot write a BYOK master key: BYOK is disabled");
            Ok(None)
        }
    }
}

fn read_key_file(path: &Path) -> Result<MasterKey, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    #[cfg(unix)]
    if let Ok(meta) = std::fs::metadata(path) {
        use std::os::unix::fs::PermissionsExt as _;
        if meta.permissions().mode() & 0o077 != 0 {
            tracing::warn!(path = %path.display(), "the BYOK master key file is readable by others; chmod 600 it");
        }
    }
    MasterKey::parse(&text).map_err(|e| e.to_string())
}

/// Writes a new key to `path`, never over an existing file (another process
/// starting at the same time wins, and its key is read back).
fn generate_key_file(dir: &Path, path: &PathBuf) -> Result<MasterKey, std::io::Error> {
    use std::io::Write as _;
    std::fs::create_dir_all(dir)?;
    let key = MasterKey::generate();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(mut f) => {
            f.write_all(key.encode().expose().as_bytes())?;
            f.write_all(b"\n")?;
            f.sync_all()?;
            Ok(key)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            read_key_file(path).map_err(|m| std::io::Error::new(std::io::ErrorKind::InvalidData, m))
        }
        Err(e) => Err(e),
    }
}

// ------------------------------------------------------------------ routing

/// One usable key of an account: its settings and the provider's upstream
/// with the key in its auth header.
#[derive(Debug)]
pub struct ByokUse {
    /// The key's id.
    pub id: String,
    /// Provider slug.
    pub provider: String,
    /// Before or after shared capacity.
    pub priority: ByokPriority,
    /// The provider's upstream, authenticating with this key.
    pub upstream: Arc<Upstream>,
    /// The key, to scrub from upstream error messages.
    secret: Secret,
    /// When the record last changed (a cached upstream is reused until then).
    updated_at: i64,
    /// The workspace whose keys alone use it; `None`: every key.
    workspace_id: Option<String>,
}

impl ByokUse {
    /// Removes the key from an upstream failure's message and raw body,
    /// should the provider echo it.
    pub fn scrub(&self, error: &mut ProviderError) {
        let key = self.secret.expose();
        if key.len() < 8 {
            return;
        }
        if let ProviderError::Upstream(f) = error {
            if f.message.contains(key) {
                f.message = f.message.replace(key, "***");
            }
            if let Some(raw) = &f.raw {
                let text = raw.to_string();
                if text.contains(key) {
                    f.raw = serde_json::from_str(&text.replace(key, "***")).ok();
                }
            }
        }
    }
}

/// An account's usable keys, in the order they are tried.
#[derive(Debug, Default)]
pub struct AccountKeys {
    keys: Vec<Arc<ByokUse>>,
    /// Providers with an enabled `always_use` key: never shared capacity.
    exclusive: HashSet<String>,
    /// Every enabled `always_use` key's workspace and provider (usable or
    /// not), from which [`AccountKeys::for_workspace`] makes `exclusive`.
    scoped_exclusive: Vec<(Option<String>, String)>,
}

impl AccountKeys {
    /// True when the account has no usable keys.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty() && self.exclusive.is_empty()
    }

    /// The keys a key in workspace `workspace` may use, in the order they
    /// are tried: the workspace's own keys first, then the account-level
    /// ones; other workspaces' keys are left out. The same keys when the
    /// account has no workspace keys.
    pub fn for_workspace(self: &Arc<Self>, workspace: Option<&str>) -> Arc<AccountKeys> {
        if self.scoped_exclusive.iter().all(|(w, _)| w.is_none()) && self.keys.iter().all(|k| k.workspace_id.is_none())
        {
            return self.clone();
        }
        let mine = |w: &Option<String>| w.is_some() && w.as_deref() == workspace;
        let keys: Vec<Arc<ByokUse>> = self
            .keys
            .iter()
            .filter(|k| mine(&k.workspace_id))
            .chain(self.keys.iter().filter(|k| k.workspace_id.is_none()))
            .cloned()
            .collect();
        let scoped_exclusive: Vec<(Option<String>, String)> =
            self.scoped_exclusive.iter().filter(|(w, _)| w.is_none() || mine(w)).cloned().collect();
        let exclusive = scoped_exclusive.iter().map(|(_, p)| p.clone()).collect();
        Arc::new(AccountKeys { keys, exclusive, scoped_exclusive })
    }

    /// The steps of a plan: for each planned attempt (in plan order) each
    /// prioritized key of its provider, then the shared attempts (without
    /// the providers whose keys are `always_use`), then each attempt with
    /// each fallback key.
    pub fn steps(&self, attempts: &[Attempt], catalog: &Catalog) -> Vec<Step> {
        if self.is_empty() {
            return attempts.iter().map(|a| Step::shared(*a)).collect();
        }
        let provider = |a: &Attempt| a.endpoint(catalog).provider.as_str();
        let with = |priority: ByokPriority| {
            attempts.iter().flat_map(move |a| {
                self.keys
                    .iter()
                    .filter(move |k| k.priority == priority && k.provider == provider(a))
                    .map(move |k| Step { attempt: *a, key: Some(k.clone()) })
            })
        };
        let mut steps: Vec<Step> = with(ByokPriority::Prioritized).collect();
        steps.extend(attempts.iter().filter(|a| !self.exclusive.contains(provider(a))).map(|a| Step::shared(*a)));
        steps.extend(with(ByokPriority::Fallback));
        steps
    }
}

/// The largest cost a request may run up over its steps: a shared step's
/// worst case, or the fee on a BYOK step's (the provider bills the rest to
/// the account directly).
pub fn worst_case(steps: &[Step], catalog: &Catalog, prompt_tokens: u64, max_tokens: Option<u64>) -> NanoUsd {
    steps
        .iter()
        .map(|s| {
            let list = crate::spend::worst_case(&[s.attempt], catalog, prompt_tokens, max_tokens);
            if s.key.is_some() { fee(list) } else { list }
        })
        .max()
        .unwrap_or_default()
}

/// Like [`worst_case`], for the limit of a key that counts BYOK spend in
/// it: a step with an own key may add its fee and its list cost.
pub fn worst_case_with_list(steps: &[Step], catalog: &Catalog, prompt_tokens: u64, max_tokens: Option<u64>) -> NanoUsd {
    steps
        .iter()
        .map(|s| {
            let list = crate::spend::worst_case(&[s.attempt], catalog, prompt_tokens, max_tokens);
            if s.key.is_some() { NanoUsd(fee(list).0.saturating_add(list.0)) } else { list }
        })
        .max()
        .unwrap_or_default()
}

struct Cached {
    loaded: Instant,
    keys: Arc<AccountKeys>,
}

/// The master key and every account's usable keys, cached.
pub struct ByokBook {
    master: Option<MasterKey>,
    accounts: RwLock<HashMap<String, Cached>>,
}

impl std::fmt::Debug for ByokBook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ByokBook").field("master", &self.master).finish_non_exhaustive()
    }
}

impl ByokBook {
    /// A book sealing with `master` (`None`: BYOK is unavailable).
    pub fn new(master: Option<MasterKey>) -> ByokBook {
        ByokBook { master, accounts: RwLock::new(HashMap::new()) }
    }

    fn master(&self) -> Result<&MasterKey, GatewayError> {
        self.master.as_ref().ok_or_else(|| {
            GatewayError::Internal("BYOK is unavailable: the gateway has no master key (see its log)".into())
        })
    }

    /// Forgets an account's cached keys (after this instance changed them).
    pub fn invalidate(&self, account_id: &str) {
        if let Ok(mut map) = self.accounts.write() {
            map.remove(account_id);
        }
    }

    /// The account's usable keys: from the cache while fresh, else re-read.
    /// Should the database fail, the last keys read are used; with none,
    /// the request fails rather than ignore an `always_use` key.
    pub async fn account(
        &self,
        store: &Store,
        upstreams: &HashMap<String, Arc<Upstream>>,
        account_id: &str,
    ) -> Result<Arc<AccountKeys>, GatewayError> {
        let previous = match self.accounts.read() {
            Ok(map) => match map.get(account_id) {
                Some(c) if c.loaded.elapsed() < CACHE_TTL => return Ok(c.keys.clone()),
                Some(c) => Some(c.keys.clone()),
                None => None,
            },
            Err(_) => None,
        };
        let records = match store.byok_keys(account_id).await {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "cannot read BYOK keys");
                return previous.ok_or_else(|| GatewayError::Internal(e.to_string()));
            }
        };
        let keys = Arc::new(self.usable(&records, upstreams, previous.as_deref()));
        if let Ok(mut map) = self.accounts.write() {
            map.insert(account_id.to_owned(), Cached { loaded: Instant::now(), keys: keys.clone() });
        }
        Ok(keys)
    }

    /// The enabled keys of `records` ready to use, reusing the upstreams of
    /// `previous` for keys that have not changed.
    fn usable(
        &self,
        records: &[ByokRecord],
        upstreams: &HashMap<String, Arc<Upstream>>,
        previous: Option<&AccountKeys>,
    ) -> AccountKeys {
        let mut out = AccountKeys::default();
        for r in records.iter().filter(|r| !r.disabled) {
            if r.always_use {
                out.exclusive.insert(r.provider.clone());
                out.scoped_exclusive.push((r.workspace_id.clone(), r.provider.clone()));
            }
            let unchanged = |k: &&Arc<ByokUse>| {
                k.id == r.id
                    && k.updated_at == r.updated_at
                    && k.priority == r.priority
                    && k.workspace_id == r.workspace_id
            };
            if let Some(k) = previous.and_then(|p| p.keys.iter().find(unchanged)) {
                out.keys.push(k.clone());
                continue;
            }
            let (Some(master), Some(shared)) = (&self.master, upstreams.get(&r.provider)) else {
                continue;
            };
            let built = r.decrypt(master).map_err(|e| e.to_string()).and_then(|secret| {
                let upstream = shared.with_api_key(secret.expose()).map_err(|e| e.to_string())?;
                Ok((secret, upstream))
            });
            match built {
                Ok((secret, upstream)) => out.keys.push(Arc::new(ByokUse {
                    id: r.id.clone(),
                    provider: r.provider.clone(),
                    priority: r.priority,
                    upstream: Arc::new(upstream),
                    secret,
                    updated_at: r.updated_at,
                    workspace_id: r.workspace_id.clone(),
                })),
                Err(e) => tracing::warn!(id = %r.id, provider = %r.provider, error = %e, "BYOK key unusable; skipped"),
            }
        }
        out
    }
}

// ---------------------------------------------------------------------- API

/// The key as the API shows it: never the key itself.
fn view(r: &ByokRecord) -> Value {
    json!({
        "id": r.id,
        "provider": r.provider,
        "label": r.label,
        "last4": r.last4,
        "priority": r.priority.as_str(),
        "always_use": r.always_use,
        "disabled": r.disabled,
        "workspace_id": r.workspace_id,
        "created_at": chrono_like_iso(r.created_at),
        "updated_at": chrono_like_iso(r.updated_at),
    })
}

fn not_found(id: &str) -> GatewayError {
    GatewayError::NotFound(format!("BYOK key {id} not found"))
}

/// The body as a JSON object. Values are read field by field below, so no
/// error message ever repeats what was sent (it may hold a key).
async fn object(state: &AppState, headers: &HeaderMap, body: Body) -> Result<Map<String, Value>, GatewayError> {
    let bytes = crate::body::read_limited(headers, body, state.max_body_bytes).await?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(GatewayError::BadRequest("The request body must be a JSON object".into())),
    }
}

fn bool_field(body: &Map<String, Value>, name: &str) -> Result<Option<bool>, GatewayError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(GatewayError::BadRequest(format!("`{name}` must be true or false"))),
    }
}

fn priority_field(body: &Map<String, Value>) -> Result<Option<ByokPriority>, GatewayError> {
    match body.get("priority") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => s
            .parse()
            .map(Some)
            .map_err(|_| GatewayError::BadRequest("`priority` must be prioritized or fallback".into())),
        Some(_) => Err(GatewayError::BadRequest("`priority` must be prioritized or fallback".into())),
    }
}

/// `Some(None)` for an explicit null (PATCH clears the label).
fn label_field(body: &Map<String, Value>) -> Result<Option<Option<String>>, GatewayError> {
    match body.get("label").or_else(|| body.get("name")) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(s)) => {
            let s = s.trim();
            if s.chars().count() > MAX_LABEL {
                return Err(GatewayError::BadRequest(format!("`label` must be at most {MAX_LABEL} characters")));
            }
            Ok(Some((!s.is_empty()).then(|| s.to_owned())))
        }
        Some(_) => Err(GatewayError::BadRequest("`label` must be a string".into())),
    }
}

fn refuse_unknown(body: &Map<String, Value>, known: &[&str]) -> Result<(), GatewayError> {
    match body.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) if k.len() <= 64 => {
            Err(GatewayError::BadRequest(format!("Unknown field `{k}`; expected one of {}", known.join(", "))))
        }
        Some(_) => Err(GatewayError::BadRequest(format!("Unknown field; expected one of {}", known.join(", ")))),
        None => Ok(()),
    }
}

/// `GET /api/v1/byok`: the account's keys, in the order they are tried.
pub async fn list(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Result<Response, GatewayError> {
    let caller = crate::members::admin(&state, &headers, "manage BYOK keys").await?;
    let keys = state.store.byok_keys(&caller.key.account_id).await?;
    let data: Vec<Value> = keys.iter().map(view).collect();
    Ok(Json(json!({ "data": data })).into_response())
}

/// `POST /api/v1/byok` `{provider, api_key, label?, priority?, always_use?}`:
/// 201 with the stored key (without the key itself).
pub async fn create(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, GatewayError> {
    let caller = crate::members::admin(&state, &headers, "manage BYOK keys").await?;
    let body = object(&state, &headers, body).await?;
    refuse_unknown(&body, &["provider", "api_key", "key", "label", "name", "priority", "always_use", "workspace_id"])?;
    let workspace_id = match body.get("workspace_id") {
        None | Some(Value::Null) => None,
        Some(Value::String(id)) if id.is_empty() => None,
        Some(Value::String(id)) => Some(crate::workspaces::owned(&state, &caller, id).await?.id),
        Some(_) => return Err(GatewayError::BadRequest("`workspace_id` must be a workspace id".into())),
    };
    let provider = match body.get("provider") {
        Some(Value::String(p)) if !p.is_empty() => p.clone(),
        _ => return Err(GatewayError::BadRequest("`provider` is required: the slug of an enabled provider".into())),
    };
    let Some(shared) = state.upstreams.get(&provider) else {
        let mut enabled: Vec<&str> = state.upstreams.keys().map(String::as_str).collect();
        enabled.sort_unstable();
        let shown = if provider.len() <= 64 { format!(" `{provider}`") } else { String::new() };
        return Err(GatewayError::BadRequest(format!(
            "Unknown provider{shown}: BYOK keys are for enabled providers ({})",
            enabled.join(", ")
        )));
    };
    if !shared.takes_api_key() {
        return Err(GatewayError::BadRequest(format!(
            "Provider `{provider}` speaks {:?}, which authenticates with cloud credentials rather than an API key: \
             BYOK supports providers that take an API key (OpenAI, Azure, Anthropic, Gemini and Cohere protocols)",
            shared.config.protocol
        )));
    }
    let api_key = match body.get("api_key").or_else(|| body.get("key")) {
        Some(Value::String(k)) if !k.trim().is_empty() => Secret::new(k.trim()),
        _ => return Err(GatewayError::BadRequest("`api_key` is required: the provider key, a string".into())),
    };
    if api_key.expose().len() > MAX_KEY_LEN {
        return Err(GatewayError::BadRequest(format!("`api_key` must be at most {MAX_KEY_LEN} bytes")));
    }
    if shared.with_api_key(api_key.expose()).is_err() {
        return Err(GatewayError::BadRequest(
            "`api_key` contains characters that cannot be sent in an HTTP header".into(),
        ));
    }
    let new = NewByok {
        provider,
        api_key,
        label: label_field(&body)?.flatten(),
        priority: priority_field(&body)?.unwrap_or_default(),
        always_use: bool_field(&body, "always_use")?.unwrap_or(false),
        workspace_id,
    };
    let master = state.byok.master()?;
    let account = &caller.key.account_id;
    let rec = state.store.create_byok(account, &new, master).await?;
    state.byok.invalidate(account);
    Ok((StatusCode::CREATED, Json(json!({ "data": view(&rec) }))).into_response())
}

/// `GET /api/v1/byok/{id}`.
pub async fn get_one(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    UrlPath(id): UrlPath<String>,
) -> Result<Response, GatewayError> {
    let caller = crate::members::admin(&state, &headers, "manage BYOK keys").await?;
    let rec = state.store.byok_key(&caller.key.account_id, &id).await?.ok_or_else(|| not_found(&id))?;
    Ok(Json(json!({ "data": view(&rec) })).into_response())
}

/// `PATCH /api/v1/byok/{id}` `{label?, priority?, always_use?, disabled?}`.
/// The key itself cannot be changed: add the new one and delete the old.
pub async fn update(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    UrlPath(id): UrlPath<String>,
    body: Body,
) -> Result<Response, GatewayError> {
    let caller = crate::members::admin(&state, &headers, "manage BYOK keys").await?;
    let body = object(&state, &headers, body).await?;
    if body.contains_key("api_key") || body.contains_key("key") || body.contains_key("provider") {
        return Err(GatewayError::BadRequest(
            "A BYOK key's `api_key` and `provider` cannot be changed: add a new key and delete this one".into(),
        ));
    }
    refuse_unknown(&body, &["label", "name", "priority", "always_use", "disabled"])?;
    let patch = ByokPatch {
        label: label_field(&body)?,
        priority: priority_field(&body)?,
        always_use: bool_field(&body, "always_use")?,
        disabled: bool_field(&body, "disabled")?,
    };
    let account = &caller.key.account_id;
    let rec = state.store.update_byok(account, &id, &patch).await?.ok_or_else(|| not_found(&id))?;
    state.byok.invalidate(account);
    Ok(Json(json!({ "data": view(&rec) })).into_response())
}

/// `DELETE /api/v1/byok/{id}`: the key and its ciphertext are gone.
pub async fn delete(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    UrlPath(id): UrlPath<String>,
) -> Result<Response, GatewayError> {
    let caller = crate::members::admin(&state, &headers, "manage BYOK keys").await?;
    let account = &caller.key.account_id;
    if !state.store.delete_byok(account, &id).await? {
        return Err(not_found(&id));
    }
    state.byok.invalidate(account);
    Ok(Json(json!({ "deleted": true })).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fee_is_five_percent_rounded_half_up_once() {
        assert_eq!(fee(NanoUsd(20_000)), NanoUsd(1_000));
        assert_eq!(fee(NanoUsd(10)), NanoUsd(1)); // 0.5 rounds up
        assert_eq!(fee(NanoUsd(9)), NanoUsd(0)); // 0.45 rounds down
        assert_eq!(fee(NanoUsd(0)), NanoUsd(0));
        assert_eq!(fee(NanoUsd(i64::MAX)), NanoUsd(i64::MAX / 20));
    }

    #[test]
    fn a_generated_master_key_file_is_private_and_read_back() {
        struct Dir(PathBuf);
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
        let dir = Dir(std::env::temp_dir().join(format!("switchyard-byok-{}", std::process::id())));
        let cfg = Config { data_dir: dir.0.join("data"), ..Config::default() };
        let first = master_key(&cfg, &|_| None).unwrap().unwrap();
        let path = cfg.data_dir.join(MASTER_KEY_FILE);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let again = master_key(&cfg, &|_| None).unwrap().unwrap();
        assert_eq!(first.id(), again.id(), "the same key on the next start");

        // The environment wins; a bad value is an error naming the source, not the value.
        let env_key = MasterKey::generate();
        let text = env_key.encode();
        let from_env = master_key(&cfg, &|n| (n == MASTER_KEY_ENV).then(|| text.expose().to_owned())).unwrap();
        assert_eq!(from_env.unwrap().id(), env_key.id());
        let err = master_key(&cfg, &|n| (n == MASTER_KEY_ENV).then(|| "not-a-key-value".to_owned())).unwrap_err();
        assert!(err.to_string().contains(MASTER_KEY_ENV) && !err.to_string().contains("not-a-key-value"), "{err}");

        // A configured file must exist.
        let cfg =
            Config { byok: crate::config::ByokSettings { master_key_file: Some(dir.0.join("missing.key")) }, ..cfg };
        assert!(master_key(&cfg, &|_| None).is_err());
    }
}
