//! `GET /api/v1/activity`: the account's daily usage per model and endpoint
//! over the last 30 completed UTC days and today (reference §5.4).

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use switchyard_store::{ActivityRow, now_ms, parse_utc_date, utc_date, utc_day};

use crate::error::GatewayError;
use crate::state::AppState;

/// Completed UTC days covered before today.
const WINDOW_DAYS: i64 = 30;

/// `?date=&api_key_hash=` of `/activity`.
#[derive(Deserialize)]
pub struct ActivityQuery {
    date: Option<String>,
    api_key_hash: Option<String>,
    workspace_id: Option<String>,
}

/// One item of `data`, as OpenRouter names its fields.
#[derive(Serialize, Debug, PartialEq)]
struct ActivityItem {
    date: String,
    model: String,
    model_permaslug: String,
    endpoint_id: String,
    provider_name: String,
    usage: f64,
    byok_usage_inference: f64,
    requests: i64,
    prompt_tokens: i64,
    completion_tokens: i64,
    reasoning_tokens: i64,
}

impl From<ActivityRow> for ActivityItem {
    fn from(r: ActivityRow) -> Self {
        let slug = r.provider_slug.unwrap_or_default();
        let upstream = r.upstream_model.unwrap_or_default();
        ActivityItem {
            date: utc_date(r.day),
            model_permaslug: r.model.clone(),
            model: r.model,
            endpoint_id: format!("{slug}/{upstream}"),
            provider_name: r.provider_name.unwrap_or(slug),
            usage: r.usage.as_usd_f64(),
            byok_usage_inference: r.byok_usage.as_usd_f64(),
            requests: r.requests,
            prompt_tokens: r.prompt_tokens,
            completion_tokens: r.completion_tokens,
            reasoning_tokens: r.reasoning_tokens,
        }
    }
}

/// `GET /api/v1/activity`: management keys only (403 otherwise). Rows of the
/// caller's account grouped by UTC date, model and endpoint, newest date
/// first, then highest usage. Counted: successful generations and any other
/// that was billed (an abandoned stream); failed, unbilled requests are not.
/// `date=YYYY-MM-DD` keeps one day of the window (400 if malformed or
/// outside it); `api_key_hash=` keeps one key of the account (404 for a hash
/// that is not one of the account's keys); `workspace_id=` keeps the keys of
/// one of the account's workspaces (404 for any other id).
pub async fn activity(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    query: Result<Query<ActivityQuery>, QueryRejection>,
) -> Result<Response, GatewayError> {
    let caller = state.auth.manager(&headers, "fetch activity").await?;
    let Query(q) = query.map_err(|e| GatewayError::BadRequest(format!("Invalid query: {}", e.body_text())))?;
    let today = utc_day(now_ms());
    let first = today - WINDOW_DAYS;
    let days = match q.date.as_deref().filter(|d| !d.is_empty()) {
        None => first..=today,
        Some(d) => {
            let day = parse_utc_date(d).ok_or_else(|| {
                GatewayError::BadRequest(format!("Invalid `date` {d:?}: expected a UTC date as YYYY-MM-DD"))
            })?;
            if day < first || day > today {
                return Err(GatewayError::BadRequest(format!(
                    "`date` must be within the last {WINDOW_DAYS} days: from {} to {}",
                    utc_date(first),
                    utc_date(today)
                )));
            }
            day..=day
        }
    };
    let key_hash = q.api_key_hash.filter(|h| !h.is_empty());
    if let Some(hash) = &key_hash {
        // Another account's key is indistinguishable from a missing one.
        // So is another member's key to a member (see crate::members).
        let member = crate::members::scope(&caller).member().map(str::to_owned);
        let owned = state
            .store
            .key_by_hash(hash)
            .await?
            .is_some_and(|k| k.account_id == caller.key.account_id && (member.is_none() || k.member_id == member));
        if !owned {
            return Err(GatewayError::NotFound(format!("API key {hash} not found")));
        }
    }
    let workspace = match q.workspace_id.as_deref().filter(|w| !w.is_empty()) {
        // Another account's workspace is indistinguishable from a missing one.
        Some(id) => Some(crate::workspaces::owned(&state, &caller, id).await?.id),
        None => None,
    };
    // A member sees the activity of their own keys only.
    let scope = crate::members::scope(&caller);
    let rows = state
        .store
        .activity_of(&caller.key.account_id, days, key_hash.as_deref(), workspace.as_deref(), scope.member())
        .await?;
    let data: Vec<ActivityItem> = rows.into_iter().map(ActivityItem::from).collect();
    Ok(Json(serde_json::json!({ "data": data })).into_response())
}

#[cfg(test)]
mod tests {
    use switchyard_api::NanoUsd;

    use super::*;

    #[test]
    fn rows_render_as_openrouter_items() {
        let row = ActivityRow {
            day: 20_416,
            model: "openai/gpt-4o".into(),
            provider_name: Some("OpenAI".into()),
            provider_slug: Some("openai".into()),
            upstream_model: Some("gpt-4o-2024-08-06".into()),
            usage: NanoUsd(1_500_000),
            byok_usage: NanoUsd(20_000),
            requests: 3,
            prompt_tokens: 30,
            completion_tokens: 12,
            reasoning_tokens: 4,
        };
        let v = serde_json::to_value(ActivityItem::from(row)).unwrap_or_default();
        assert_eq!(
            v,
            serde_json::json!({
                "date": "2025-11-24", "model": "openai/gpt-4o", "model_permaslug": "openai/gpt-4o",
                "endpoint_id": "openai/gpt-4o-2024-08-06", "provider_name": "OpenAI", "usage": 0.0015,
                "byok_usage_inference": 0.00002, "requests": 3, "prompt_tokens": 30, "completion_tokens": 12,
                "reasoning_tokens": 4,
            })
        );
    }
}
