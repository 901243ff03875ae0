//! Presets (reference §8.4): named chat-request configurations of an
//! account, managed under `/api/v1/presets` and applied to a chat request
//! that names one (`model: "@preset/<slug>"`, `model: "<model>@preset/<slug>"`
//! or `preset: "<slug>"`).
//!
//! A config is any set of chat-request fields plus `system_prompt` (a
//! string). The transient fields `messages`, `stream` and `stream_options`
//! are dropped when a preset is stored, as OpenRouter does when it creates a
//! preset from a request body. A config cannot name a preset itself.
//!
//! Applying merges JSON: the preset's config is the base and every field the
//! request sets (not null) replaces it, except that
//! * `tools` are unioned: the preset's tools in order, each replaced by the
//!   request's tool of the same identity (function name, or `type` for other
//!   tools), then the request's other tools;
//! * `provider` objects merge key by key, the request's keys winning;
//! * `system_prompt` becomes a leading system message unless the request
//!   already has a system or developer message;
//! * the model of `<model>@preset/<slug>` wins over the preset's model.
//!
//! **Workspaces**: `?workspace_id=` on `GET /presets`, `GET|PUT|DELETE
//! /presets/{slug}` addresses a workspace's presets (404 for a workspace
//! that is not the account's; a member's management key may only change
//! those of workspaces the member belongs to). A request, or a `GET
//! /presets/{slug}` without `workspace_id`, of a key in a workspace finds
//! the workspace's preset first, then the account's.
//!
//! Presets are read from the database on every request that names one (no
//! cache: they are opt-in, the lookup is one primary-key read, and a change
//! applies at once). Requests without a preset never reach this module.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use switchyard_api::ChatRequest;
use switchyard_store::{Preset, valid_preset_slug};

use crate::auth::Caller;
use crate::error::GatewayError;
use crate::routes::chrono_like_iso;
use crate::state::AppState;

/// What separates a model from a preset slug in `model`.
const PRESET_MARK: &str = "@preset/";

/// Request fields that describe one request, not a configuration.
const TRANSIENT: &[&str] = &["messages", "stream", "stream_options"];

/// The preset's own field that is not a chat-request field.
const SYSTEM_PROMPT: &str = "system_prompt";

fn not_found(slug: &str) -> GatewayError {
    GatewayError::NotFound(format!("No preset named {slug}"))
}

/// `?workspace_id=` of the preset endpoints.
#[derive(serde::Deserialize)]
pub struct WorkspaceQuery {
    workspace_id: Option<String>,
}

/// The workspace `q` names, checked to be the caller's account's (404
/// otherwise); `None` when it names none.
async fn workspace(state: &AppState, caller: &Caller, q: &WorkspaceQuery) -> Result<Option<String>, GatewayError> {
    match q.workspace_id.as_deref().filter(|w| !w.is_empty()) {
        Some(id) => Ok(Some(crate::workspaces::owned(state, caller, id).await?.id)),
        None => Ok(None),
    }
}

/// The workspace whose presets a management key is about to change: a
/// member's key only in the member's workspaces.
async fn writable(state: &AppState, caller: &Caller, q: &WorkspaceQuery) -> Result<Option<String>, GatewayError> {
    let ws = workspace(state, caller, q).await?;
    let scope = crate::members::scope(caller);
    crate::members::check_workspace(state, scope.member(), ws.as_deref()).await?;
    Ok(ws)
}

fn view(p: &Preset) -> Value {
    json!({
        "slug": p.slug,
        "workspace_id": p.workspace_id,
        "version": p.version,
        "config": p.config,
        "created_at": chrono_like_iso(p.created_at),
        "updated_at": chrono_like_iso(p.updated_at),
    })
}

/// `GET /api/v1/presets`: the caller's account's presets, by slug. Any key
/// of the account may read them.
pub async fn list(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(q): Query<WorkspaceQuery>,
) -> Result<Response, GatewayError> {
    let caller = state.auth.authenticate(&headers).await?;
    let presets = match workspace(&state, &caller, &q).await? {
        Some(ws) => state.store.workspace_presets(&ws).await?,
        None => state.store.presets(&caller.key.account_id).await?,
    };
    let data: Vec<Value> = presets.iter().map(view).collect();
    Ok(Json(json!({ "data": data })).into_response())
}

/// `GET /api/v1/presets/{slug}`: one preset of the caller's account (404
/// for another account's).
pub async fn get_one(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(slug): Path<String>,
    Query(q): Query<WorkspaceQuery>,
) -> Result<Response, GatewayError> {
    let caller = state.auth.authenticate(&headers).await?;
    let preset = match workspace(&state, &caller, &q).await? {
        Some(ws) if valid_preset_slug(&slug) => {
            state.store.workspace_preset(&ws, &slug).await?.ok_or_else(|| not_found(&slug))?
        }
        Some(_) => return Err(not_found(&slug)),
        None => find(&state, &caller, &slug).await?,
    };
    Ok(Json(json!({ "data": view(&preset) })).into_response())
}

/// `PUT /api/v1/presets/{slug}`: creates (201) or replaces (200, next
/// version) the preset; the body is its config. Management keys only.
pub async fn put(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(slug): Path<String>,
    Query(q): Query<WorkspaceQuery>,
    body: Body,
) -> Result<Response, GatewayError> {
    let caller = state.auth.manager(&headers, "create, change or delete presets").await?;
    let ws = writable(&state, &caller, &q).await?;
    if !valid_preset_slug(&slug) {
        return Err(GatewayError::BadRequest(format!(
            "Invalid preset slug `{slug}`: use 1 to 64 lowercase letters, digits and hyphens"
        )));
    }
    let bytes = crate::body::read_limited(&headers, body, state.max_body_bytes).await?;
    let config = validate_config(crate::body::parse_json(&bytes)?)?;
    let account = &caller.key.account_id;
    let (preset, created) = match ws {
        Some(ws) => state.store.put_workspace_preset(account, &ws, &slug, &Value::Object(config)).await?,
        None => state.store.put_preset(account, &slug, &Value::Object(config)).await?,
    };
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(json!({ "data": view(&preset) }))).into_response())
}

/// `DELETE /api/v1/presets/{slug}`: management keys only.
pub async fn delete(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(slug): Path<String>,
    Query(q): Query<WorkspaceQuery>,
) -> Result<Response, GatewayError> {
    let caller = state.auth.manager(&headers, "create, change or delete presets").await?;
    let ws = writable(&state, &caller, &q).await?;
    let deleted = valid_preset_slug(&slug)
        && match ws {
            Some(ws) => state.store.delete_workspace_preset(&ws, &slug).await?,
            None => state.store.delete_preset(&caller.key.account_id, &slug).await?,
        };
    if !deleted {
        return Err(not_found(&slug));
    }
    Ok(Json(json!({ "deleted": true })).into_response())
}

/// The preset `slug` as the caller's key resolves it: its workspace's
/// first, then its account's.
async fn find(state: &AppState, caller: &Caller, slug: &str) -> Result<Preset, GatewayError> {
    if !valid_preset_slug(slug) {
        return Err(not_found(slug));
    }
    if let Some(ws) = caller.key.workspace_id.as_deref()
        && let Some(p) = state.store.workspace_preset(ws, slug).await?
    {
        return Ok(p);
    }
    state.store.preset(&caller.key.account_id, slug).await?.ok_or_else(|| not_found(slug))
}

/// A config as stored: a JSON object of chat-request fields (checked by
/// parsing it as a request, so a bad type is a 400 naming the field) plus
/// `system_prompt`, without the transient fields.
fn validate_config(config: Value) -> Result<Map<String, Value>, GatewayError> {
    let Value::Object(mut config) = config else {
        return Err(GatewayError::BadRequest("A preset config must be a JSON object".into()));
    };
    for field in TRANSIENT {
        config.remove(*field);
    }
    if config.contains_key("preset") {
        return Err(GatewayError::BadRequest("Invalid field `preset`: a preset cannot name another preset".into()));
    }
    if config.get("model").and_then(Value::as_str).is_some_and(|m| m.contains(PRESET_MARK)) {
        return Err(GatewayError::BadRequest("Invalid value for `model`: a preset cannot name another preset".into()));
    }
    match config.get(SYSTEM_PROMPT) {
        None | Some(Value::String(_)) => {}
        Some(Value::Null) => {
            config.remove(SYSTEM_PROMPT);
        }
        Some(_) => {
            return Err(GatewayError::BadRequest(format!("Invalid value for `{SYSTEM_PROMPT}`: expected a string")));
        }
    }
    let mut as_request = config.clone();
    as_request.remove(SYSTEM_PROMPT);
    as_request.insert("messages".into(), Value::Array(Vec::new()));
    let bytes = serde_json::to_vec(&as_request).map_err(|e| GatewayError::Internal(e.to_string()))?;
    crate::body::parse_chat(&bytes)?;
    Ok(config)
}

/// True when the request names a preset. Cheap: the only check on the hot
/// path of a request without one.
pub fn named(req: &ChatRequest) -> bool {
    req.preset.as_deref().is_some_and(|p| !p.is_empty())
        || req.model.as_deref().is_some_and(|m| m.contains(PRESET_MARK))
}

/// The request with the preset it names applied. The result's `preset` is
/// the slug applied (never sent upstream), which [`record`] keeps in the
/// generation's routing record.
pub async fn apply(state: &AppState, caller: &Caller, mut req: ChatRequest) -> Result<ChatRequest, GatewayError> {
    let (model, in_model) = match req.model.as_deref().and_then(|m| m.split_once(PRESET_MARK)) {
        Some((model, slug)) => (Some(model.to_owned()).filter(|m| !m.is_empty()), Some(slug.to_owned())),
        None => (req.model.clone(), None),
    };
    let in_field = req.preset.clone().filter(|p| !p.is_empty());
    let slug = match (in_model, in_field) {
        (Some(a), Some(b)) if a != b => {
            return Err(GatewayError::BadRequest(format!("`model` names preset {a} but `preset` names {b}")));
        }
        (Some(slug), _) | (None, Some(slug)) => slug,
        (None, None) => return Ok(req),
    };
    let preset = find(state, caller, &slug).await?;
    req.model = model;
    req.preset = Some(slug);
    let Value::Object(request) = serde_json::to_value(&req).map_err(|e| GatewayError::Internal(e.to_string()))? else {
        return Err(GatewayError::Internal("a chat request did not serialize to an object".into()));
    };
    let base = match preset.config {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    let merged = merge(base, request);
    let bytes = serde_json::to_vec(&merged).map_err(|e| GatewayError::Internal(e.to_string()))?;
    crate::body::parse_chat(&bytes)
}

/// The request over the preset's config (see the module documentation).
fn merge(mut out: Map<String, Value>, request: Map<String, Value>) -> Map<String, Value> {
    let system_prompt = out.remove(SYSTEM_PROMPT);
    for (field, value) in request {
        if value.is_null() {
            continue;
        }
        let value = match (field.as_str(), out.remove(&field)) {
            ("tools", Some(Value::Array(base))) => match value {
                Value::Array(over) => Value::Array(union_tools(base, over)),
                other => other,
            },
            ("provider", Some(Value::Object(mut base))) => match value {
                Value::Object(over) => {
                    base.extend(over);
                    Value::Object(base)
                }
                other => other,
            },
            _ => value,
        };
        out.insert(field, value);
    }
    if let Some(Value::String(prompt)) = system_prompt
        && let Some(Value::Array(messages)) = out.get_mut("messages")
    {
        let instructed = messages
            .iter()
            .any(|m| matches!(m.get("role").and_then(Value::as_str), Some("system") | Some("developer")));
        if !instructed {
            messages.insert(0, json!({"role": "system", "content": prompt}));
        }
    }
    out
}

/// A tool's identity: a function tool's name, else its type.
fn tool_identity(tool: &Value) -> Option<String> {
    let kind = tool.get("type").and_then(Value::as_str)?;
    match tool.get("function").and_then(|f| f.get("name")).and_then(Value::as_str) {
        Some(name) if kind == "function" => Some(format!("function:{name}")),
        _ => Some(kind.to_owned()),
    }
}

/// The preset's tools, each replaced by the request's tool of the same
/// identity, then the request's other tools.
fn union_tools(base: Vec<Value>, over: Vec<Value>) -> Vec<Value> {
    let mut over: Vec<Option<Value>> = over.into_iter().map(Some).collect();
    let mut out = Vec::with_capacity(base.len() + over.len());
    for tool in base {
        let id = tool_identity(&tool);
        let replacement = id.as_ref().and_then(|id| {
            over.iter_mut().find(|o| o.as_ref().is_some_and(|o| tool_identity(o).as_ref() == Some(id)))?.take()
        });
        out.push(replacement.unwrap_or(tool));
    }
    out.extend(over.into_iter().flatten());
    out
}

/// Adds the applied preset (the request's `preset`, set only by [`apply`])
/// to the generation's routing record, creating the record if routing never
/// got that far. `/generation` shows it as `preset_id`.
pub fn record(routing: &mut Option<Value>, preset: Option<&str>) {
    let Some(slug) = preset.filter(|p| !p.is_empty()) else {
        return;
    };
    match routing {
        Some(Value::Object(r)) => {
            r.insert("preset".into(), Value::from(slug));
        }
        Some(_) => {}
        None => *routing = Some(json!({ "preset": slug })),
    }
}

/// The preset of a stored routing record.
pub fn recorded(routing: Option<&Value>) -> Option<String> {
    routing?.get("preset")?.as_str().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => panic!("not an object"),
        }
    }

    #[test]
    fn request_wins_tools_union_and_provider_merges() {
        let preset = obj(json!({
            "model": "a/b", "temperature": 0.2, "top_p": 0.5, "system_prompt": "Be terse.",
            "tools": [
                {"type": "function", "function": {"name": "f", "description": "preset"}},
                {"type": "function", "function": {"name": "g"}},
                {"type": "web_search"},
            ],
            "provider": {"order": ["x"], "allow_fallbacks": false},
        }));
        let request = obj(json!({
            "model": "c/d", "temperature": 0.9, "stop": null,
            "messages": [{"role": "user", "content": "hi"}],
            "tools": [
                {"type": "function", "function": {"name": "h"}},
                {"type": "function", "function": {"name": "f", "description": "request"}},
            ],
            "provider": {"allow_fallbacks": true, "only": ["y"]},
        }));
        let out = Value::Object(merge(preset, request));
        assert_eq!(out["model"], "c/d");
        assert_eq!(out["temperature"], 0.9);
        assert_eq!(out["top_p"], 0.5);
        assert!(out.get("stop").is_none(), "null is unset");
        assert!(out.get("system_prompt").is_none());
        let names: Vec<Value> = out["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.pointer("/function/name").cloned().unwrap_or_else(|| t["type"].clone()))
            .collect();
        assert_eq!(names, [json!("f"), json!("g"), json!("web_search"), json!("h")]);
        assert_eq!(out["tools"][0]["function"]["description"], "request");
        assert_eq!(out["provider"], json!({"order": ["x"], "allow_fallbacks": true, "only": ["y"]}));
        assert_eq!(out["messages"][0], json!({"role": "system", "content": "Be terse."}));
        assert_eq!(out["messages"][1]["role"], "user");
    }

    #[test]
    fn a_request_system_message_keeps_the_preset_prompt_out() {
        let preset = obj(json!({"system_prompt": "Be terse."}));
        for role in ["system", "developer"] {
            let request = obj(json!({"messages": [{"role": "user", "content": "a"}, {"role": role, "content": "b"}]}));
            let out = merge(preset.clone(), request);
            assert_eq!(out["messages"].as_array().unwrap().len(), 2, "{role}");
        }
    }

    #[test]
    fn configs_are_checked_like_requests() {
        let err = |v: Value| validate_config(v).unwrap_err().to_string();
        assert!(err(json!({"temperature": "hot"})).contains("`temperature`"));
        assert!(err(json!({"tools": [{"function": {}}]})).contains("`tools[0]"));
        assert!(err(json!({"system_prompt": 3})).contains("`system_prompt`"));
        assert!(err(json!({"preset": "x"})).contains("`preset`"));
        assert!(err(json!({"model": "@preset/x"})).contains("`model`"));
        assert!(err(json!([1])).contains("JSON object"));
        let ok = validate_config(json!({
            "model": "a/b", "messages": [{"role": "user", "content": "x"}], "stream": true,
            "stream_options": {}, "system_prompt": "s", "custom": 1,
        }))
        .unwrap();
        assert_eq!(Value::Object(ok), json!({"model": "a/b", "system_prompt": "s", "custom": 1}));
    }

    #[test]
    fn routing_records_the_preset() {
        let mut none = None;
        record(&mut none, Some("x"));
        assert_eq!(recorded(none.as_ref()).as_deref(), Some("x"));
        let mut some = Some(json!({"requested": "a/b"}));
        record(&mut some, Some("y"));
        assert_eq!(some, Some(json!({"requested": "a/b", "preset": "y"})));
        let mut untouched = None;
        record(&mut untouched, None);
        assert_eq!(untouched, None);
    }
}
