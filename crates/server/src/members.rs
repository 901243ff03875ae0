//! Organization members and roles (reference §8.5), under
//! `/api/v1/members` and `/api/v1/workspaces/{id}/members`.
//!
//! Who may do what with a management key:
//! * the account's own management keys (no member) and those of a member
//!   with role `admin` act as admin: everything in the account;
//! * those of a member with role `member` see and manage only that member's
//!   keys (another member's key is a 404, as another account's), see
//!   activity and generations of those keys only, create keys only in the
//!   workspaces the member belongs to (or the default workspace), and
//!   cannot manage members, guardrails, BYOK keys or workspaces (403 naming
//!   the role).
//!
//! Endpoints (admin only):
//! * `GET|POST /members`, `GET|PATCH|DELETE /members/{id}`: a member is
//!   `{id, name, email, role: admin|member, disabled, workspace_ids,
//!   created_at, updated_at}`; a disabled member's keys are refused;
//!   deleting a member deletes their keys.
//! * `POST /members/{id}/keys` `{name}`: a management key of the member
//!   (its plaintext is in this response only). The member's API keys are
//!   made with `POST /keys` (`member_id` there, or by the member's own
//!   management key); an admin gives an existing key to a member, or back
//!   to the account, with `PATCH /keys/{hash}` `{member_id}`.
//! * `GET|POST /workspaces/{id}/members` (`{member_ids: [...]}` adds),
//!   `DELETE /workspaces/{id}/members/{member_id}`.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use switchyard_store::{KeySpec, Member, MemberPatch, MemberRole, PeriodUsage, StoreError};

use crate::auth::Caller;
use crate::error::GatewayError;
use crate::keys_api::present;
use crate::routes::chrono_like_iso;
use crate::state::AppState;

/// Longest member name or e-mail.
const MAX_NAME: usize = 200;
/// Most members added to a workspace in one request.
const MAX_ADD: usize = 500;
/// What an admin is needed for here.
const WHAT: &str = "manage members";

/// Whose things a management key may see.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// The whole account.
    Admin,
    /// Only the keys of this member.
    Member(String),
}

impl Scope {
    /// The member whose keys alone are visible, if the scope is one member's.
    pub fn member(&self) -> Option<&str> {
        match self {
            Scope::Admin => None,
            Scope::Member(id) => Some(id),
        }
    }
}

/// The scope of a caller's key: the account's own keys and an admin's see
/// the whole account; any other member's key only that member's things.
pub fn scope(caller: &Caller) -> Scope {
    match (&caller.key.member_id, caller.key.member_role) {
        (None, _) | (Some(_), Some(MemberRole::Admin)) => Scope::Admin,
        // A member whose role cannot be read gets the least.
        (Some(id), Some(MemberRole::Member) | None) => Scope::Member(id.clone()),
    }
}

/// A 403 unless the caller may act as admin.
pub fn require_admin(caller: &Caller, what: &str) -> Result<(), GatewayError> {
    match scope(caller) {
        Scope::Admin => Ok(()),
        Scope::Member(id) => Err(GatewayError::Forbidden(format!(
            "This management key belongs to member {id} with role `member`, which cannot {what}: \
             only the role `admin` (or the account's own management keys) can"
        ))),
    }
}

/// Authenticates a management key that may act as admin: 403 for an
/// inference key, and for a key of a member with role `member`.
pub async fn admin(state: &AppState, headers: &HeaderMap, what: &str) -> Result<Caller, GatewayError> {
    let caller = state.auth.manager(headers, what).await?;
    require_admin(&caller, what)?;
    Ok(caller)
}

/// The account's member `id`, or a 404 (another account's too).
pub async fn owned(state: &AppState, caller: &Caller, id: &str) -> Result<Member, GatewayError> {
    state
        .store
        .member(&caller.key.account_id, id)
        .await?
        .ok_or_else(|| GatewayError::NotFound(format!("Member {id} not found")))
}

/// `POST /members` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    name: String,
    email: Option<String>,
    role: Option<RoleIn>,
}

/// `PATCH /members/{id}` body: absent fields stay; `email: null` removes it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchBody {
    name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    email: Option<Option<String>>,
    role: Option<RoleIn>,
    disabled: Option<bool>,
}

/// `POST /members/{id}/keys` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyBody {
    name: String,
}

/// `POST /workspaces/{id}/members` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AddBody {
    member_ids: Vec<String>,
}

#[derive(Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum RoleIn {
    Admin,
    Member,
}

impl From<RoleIn> for MemberRole {
    fn from(r: RoleIn) -> MemberRole {
        match r {
            RoleIn::Admin => MemberRole::Admin,
            RoleIn::Member => MemberRole::Member,
        }
    }
}

fn view(m: &Member, workspaces: &[String]) -> Value {
    json!({
        "id": m.id,
        "name": m.name,
        "email": m.email,
        "role": m.role.as_str(),
        "disabled": m.disabled,
        "workspace_ids": workspaces,
        "created_at": chrono_like_iso(m.created_at),
        "updated_at": chrono_like_iso(m.updated_at),
    })
}

async fn one(state: &AppState, m: &Member) -> Result<Value, GatewayError> {
    let workspaces = state.store.member_workspaces(&m.id).await?;
    Ok(json!({ "data": view(m, &workspaces) }))
}

fn text(field: &str, value: &str) -> Result<String, GatewayError> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > MAX_NAME {
        return Err(GatewayError::BadRequest(format!("`{field}` must be 1 to {MAX_NAME} characters")));
    }
    Ok(value.to_owned())
}

fn email(value: &str) -> Result<String, GatewayError> {
    let value = text("email", value)?;
    let ok = value.split_once('@').is_some_and(|(a, d)| !a.is_empty() && !d.is_empty())
        && !value.contains(char::is_whitespace);
    if !ok {
        return Err(GatewayError::BadRequest(format!("`email` must be an e-mail address; got `{value}`")));
    }
    Ok(value.to_lowercase())
}

/// Refusals of the store as the client sees them (a taken e-mail is a 400).
fn refused(e: StoreError) -> GatewayError {
    match e {
        StoreError::Conflict(m) | StoreError::Invalid(m) => GatewayError::BadRequest(m),
        other => other.into(),
    }
}

/// `GET /api/v1/members`: the account's members, oldest first.
pub async fn list(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Result<Response, GatewayError> {
    let caller = admin(&state, &headers, WHAT).await?;
    let mut data = Vec::new();
    for m in state.store.members(&caller.key.account_id).await? {
        let workspaces = state.store.member_workspaces(&m.id).await?;
        data.push(view(&m, &workspaces));
    }
    Ok(Json(json!({ "data": data })).into_response())
}

/// `POST /api/v1/members` `{name, email?, role?}` (role defaults to member).
pub async fn create(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, GatewayError> {
    let caller = admin(&state, &headers, WHAT).await?;
    let bytes = crate::body::read_limited(&headers, body, state.max_body_bytes).await?;
    let b: CreateBody = crate::body::parse_json(&bytes)?;
    let name = text("name", &b.name)?;
    let email = b.email.as_deref().map(email).transpose()?;
    let role = b.role.map_or(MemberRole::Member, MemberRole::from);
    let m = state.store.create_member(&caller.key.account_id, &name, email.as_deref(), role).await.map_err(refused)?;
    Ok((StatusCode::CREATED, Json(json!({ "data": view(&m, &[]) }))).into_response())
}

/// `GET /api/v1/members/{id}`.
pub async fn get_one(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, GatewayError> {
    let caller = admin(&state, &headers, WHAT).await?;
    let m = owned(&state, &caller, &id).await?;
    Ok(Json(one(&state, &m).await?).into_response())
}

/// `PATCH /api/v1/members/{id}`: name, email, role, disabled; takes effect
/// in this process at once.
pub async fn update(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Body,
) -> Result<Response, GatewayError> {
    let caller = admin(&state, &headers, WHAT).await?;
    let bytes = crate::body::read_limited(&headers, body, state.max_body_bytes).await?;
    let b: PatchBody = crate::body::parse_json(&bytes)?;
    let patch = MemberPatch {
        name: b.name.as_deref().map(|n| text("name", n)).transpose()?,
        email: b.email.map(|e| e.as_deref().map(email).transpose()).transpose()?,
        role: b.role.map(MemberRole::from),
        disabled: b.disabled,
    };
    let m = state
        .store
        .update_member(&caller.key.account_id, &id, &patch)
        .await
        .map_err(refused)?
        .ok_or_else(|| GatewayError::NotFound(format!("Member {id} not found")))?;
    state.auth.invalidate();
    Ok(Json(one(&state, &m).await?).into_response())
}

/// `DELETE /api/v1/members/{id}`: the member and all their keys go.
pub async fn delete(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, GatewayError> {
    let caller = admin(&state, &headers, WHAT).await?;
    if !state.store.delete_member(&caller.key.account_id, &id).await? {
        return Err(GatewayError::NotFound(format!("Member {id} not found")));
    }
    state.auth.invalidate();
    state.guardrails.invalidate();
    Ok(Json(json!({ "deleted": true })).into_response())
}

/// `POST /api/v1/members/{id}/keys` `{name}`: a new management key of the
/// member, acting with the member's role.
pub async fn create_management_key(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Body,
) -> Result<Response, GatewayError> {
    let caller = admin(&state, &headers, WHAT).await?;
    let bytes = crate::body::read_limited(&headers, body, state.max_body_bytes).await?;
    let b: KeyBody = crate::body::parse_json(&bytes)?;
    let m = owned(&state, &caller, &id).await?;
    let spec =
        KeySpec { name: text("name", &b.name)?, is_management: true, member_id: Some(m.id), ..KeySpec::default() };
    let new = state.store.create_key_with(&caller.key.account_id, &spec).await?;
    let mut data = crate::keys_api::key_object(&new.record, &PeriodUsage::default());
    data.insert("is_management".into(), json!(true));
    Ok((StatusCode::CREATED, Json(json!({ "data": data, "key": new.plaintext }))).into_response())
}

/// `GET /api/v1/workspaces/{id}/members`.
pub async fn workspace_list(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, GatewayError> {
    let caller = admin(&state, &headers, "manage workspaces").await?;
    let ws = crate::workspaces::owned(&state, &caller, &id).await?;
    let members = state.store.workspace_members(&ws.id).await?;
    let data: Vec<Value> = members.iter().map(|m| view(m, std::slice::from_ref(&ws.id))).collect();
    Ok(Json(json!({ "data": data })).into_response())
}

/// `POST /api/v1/workspaces/{id}/members` `{member_ids}`: adds members of
/// the account (all or none: an unknown member is a 404).
pub async fn workspace_add(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Body,
) -> Result<Response, GatewayError> {
    let caller = admin(&state, &headers, "manage workspaces").await?;
    let bytes = crate::body::read_limited(&headers, body, state.max_body_bytes).await?;
    let b: AddBody = crate::body::parse_json(&bytes)?;
    if b.member_ids.is_empty() || b.member_ids.len() > MAX_ADD {
        return Err(GatewayError::BadRequest(format!("`member_ids` must hold 1 to {MAX_ADD} member ids")));
    }
    let ws = crate::workspaces::owned(&state, &caller, &id).await?;
    for member in &b.member_ids {
        owned(&state, &caller, member).await?;
    }
    let added = state.store.add_workspace_members(&ws.id, &b.member_ids).await?;
    let members = state.store.workspace_members(&ws.id).await?;
    let data: Vec<Value> = members.iter().map(|m| view(m, std::slice::from_ref(&ws.id))).collect();
    Ok(Json(json!({ "data": data, "added_count": added })).into_response())
}

/// `DELETE /api/v1/workspaces/{id}/members/{member_id}`: the member leaves
/// the workspace (keys they made there stay).
pub async fn workspace_remove(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path((id, member)): Path<(String, String)>,
) -> Result<Response, GatewayError> {
    let caller = admin(&state, &headers, "manage workspaces").await?;
    let ws = crate::workspaces::owned(&state, &caller, &id).await?;
    if !state.store.remove_workspace_member(&ws.id, &member).await? {
        return Err(GatewayError::NotFound(format!("Member {member} is not in workspace {id}")));
    }
    Ok(Json(json!({ "deleted": true })).into_response())
}

/// Checks that a key of member `member` (if any) may be in workspace
/// `workspace` (if any): the member must belong to it (403 otherwise).
pub async fn check_workspace(
    state: &AppState,
    member: Option<&str>,
    workspace: Option<&str>,
) -> Result<(), GatewayError> {
    let (Some(member), Some(workspace)) = (member, workspace) else { return Ok(()) };
    if state.store.in_workspace(workspace, member).await? {
        return Ok(());
    }
    Err(GatewayError::Forbidden(format!(
        "Member {member} does not belong to workspace {workspace}: a member's keys can only be in workspaces the \
         member belongs to (add them with POST /api/v1/workspaces/{workspace}/members)"
    )))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use switchyard_api::NanoUsd;
    use switchyard_store::{Billing, KeyRecord};

    use super::*;
    use crate::auth::AccountLive;

    fn caller(member_id: Option<&str>, role: Option<MemberRole>) -> Caller {
        let key = KeyRecord {
            hash: "h".into(),
            account_id: "a".into(),
            billing: Billing::Postpaid,
            name: "m".into(),
            label: "l".into(),
            is_management: true,
            disabled: false,
            limit: None,
            limit_reset: None,
            include_byok_in_limit: false,
            usage: NanoUsd::ZERO,
            created_at: 0,
            updated_at: 0,
            expires_at: None,
            workspace_id: None,
            member_id: member_id.map(str::to_owned),
            member_role: role,
            cache_responses: false,
        };
        Caller { key: Arc::new(key), account: Arc::new(AccountLive::for_tests()), limit: None, reservations: None }
    }

    #[test]
    fn only_the_member_role_is_scoped_to_its_own_keys() {
        assert_eq!(scope(&caller(None, None)), Scope::Admin, "the account's own management key");
        assert_eq!(scope(&caller(Some("mem_1"), Some(MemberRole::Admin))), Scope::Admin);
        let member = caller(Some("mem_2"), Some(MemberRole::Member));
        assert_eq!(scope(&member), Scope::Member("mem_2".into()));
        assert_eq!(scope(&member).member(), Some("mem_2"));
        assert!(require_admin(&caller(None, None), "manage members").is_ok());
        assert!(require_admin(&caller(Some("mem_1"), Some(MemberRole::Admin)), "manage members").is_ok());
        let err = require_admin(&member, "manage BYOK keys").unwrap_err();
        assert_eq!(err.status(), 403);
        let msg = err.to_string();
        assert!(msg.contains("role `member`") && msg.contains("manage BYOK keys"), "{msg}");
        // A key whose member's role cannot be read gets the least, not the account's rights.
        assert_eq!(scope(&caller(Some("mem_3"), None)), Scope::Member("mem_3".into()));
    }

    #[test]
    fn emails_are_checked_and_lowercased() {
        assert_eq!(email(" Ann@Example.COM ").unwrap(), "ann@example.com");
        for bad in ["ann", "@example.com", "ann@", "a nn@example.com", ""] {
            assert_eq!(email(bad).unwrap_err().status(), 400, "{bad}");
        }
    }
}
