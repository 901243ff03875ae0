//! Workspaces (reference §8.5): an account's groups of API keys, each with
//! its own routing defaults (an OpenRouter `provider` object, kept as the
//! JSON given; the server validates it before storing). A key without a
//! workspace is in the account's default workspace, which has no row.

use rand::RngCore;
use serde_json::Value;
use sqlx::Row;

use crate::{Store, StoreError, now_ms};

/// Longest workspace slug.
pub const WORKSPACE_SLUG_MAX: usize = 64;

/// A stored workspace.
#[derive(Clone, Debug, PartialEq)]
pub struct Workspace {
    /// `ws_<16 hex>`.
    pub id: String,
    /// Owning account.
    pub account_id: String,
    /// Display name.
    pub name: String,
    /// `[a-z0-9-]{1,64}`, unique within the account.
    pub slug: String,
    /// Routing defaults: an OpenRouter `provider` object (`{}` for none).
    pub provider: Value,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Unix milliseconds of the last change.
    pub updated_at: i64,
}

/// A change to a workspace; `None` leaves a field as it is.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WorkspacePatch {
    /// New name.
    pub name: Option<String>,
    /// New slug.
    pub slug: Option<String>,
    /// New routing defaults (replaced whole).
    pub provider: Option<Value>,
}

/// True for a valid workspace slug: 1 to 64 of `a-z`, `0-9` and `-`.
pub fn valid_workspace_slug(slug: &str) -> bool {
    (1..=WORKSPACE_SLUG_MAX).contains(&slug.len())
        && slug.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

const COLUMNS: &str = "id, account_id, name, slug, provider, created_at, updated_at";

fn workspace_from_row(row: &sqlx::any::AnyRow) -> Result<Workspace, StoreError> {
    let provider: String = row.try_get("provider")?;
    Ok(Workspace {
        id: row.try_get("id")?,
        account_id: row.try_get("account_id")?,
        name: row.try_get("name")?,
        slug: row.try_get("slug")?,
        provider: serde_json::from_str(&provider)
            .map_err(|e| StoreError::Corrupt(format!("workspace provider: {e}")))?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn check_slug(slug: &str) -> Result<(), StoreError> {
    if valid_workspace_slug(slug) {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!("workspace slug `{slug}` is not [a-z0-9-]{{1,64}}")))
    }
}

impl Store {
    /// Creates a workspace in an account. A slug the account already uses
    /// is [`StoreError::Conflict`].
    pub async fn create_workspace(
        &self,
        account_id: &str,
        name: &str,
        slug: &str,
        provider: &Value,
    ) -> Result<Workspace, StoreError> {
        check_slug(slug)?;
        if self.workspace_by_slug(account_id, slug).await?.is_some() {
            return Err(slug_taken(slug));
        }
        let mut raw = [0u8; 8];
        rand::rng().fill_bytes(&mut raw);
        let now = now_ms();
        let ws = Workspace {
            id: format!("ws_{}", hex::encode(raw)),
            account_id: account_id.to_owned(),
            name: name.to_owned(),
            slug: slug.to_owned(),
            provider: provider.clone(),
            created_at: now,
            updated_at: now,
        };
        sqlx::query(&format!("INSERT INTO workspaces ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"))
            .bind(&ws.id)
            .bind(&ws.account_id)
            .bind(&ws.name)
            .bind(&ws.slug)
            .bind(ws.provider.to_string())
            .bind(now)
            .bind(now)
            .execute(self.pool())
            .await?;
        Ok(ws)
    }

    /// The account's workspace `id`, if any (another account's is `None`).
    pub async fn workspace(&self, account_id: &str, id: &str) -> Result<Option<Workspace>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM workspaces WHERE account_id = $1 AND id = $2");
        let row = sqlx::query(&sql).bind(account_id).bind(id).fetch_optional(self.pool()).await?;
        row.as_ref().map(workspace_from_row).transpose()
    }

    async fn workspace_by_slug(&self, account_id: &str, slug: &str) -> Result<Option<Workspace>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM workspaces WHERE account_id = $1 AND slug = $2");
        let row = sqlx::query(&sql).bind(account_id).bind(slug).fetch_optional(self.pool()).await?;
        row.as_ref().map(workspace_from_row).transpose()
    }

    /// The routing defaults of workspace `id` (whatever its account), if it
    /// exists: what routing lays under a key's own settings.
    pub async fn workspace_provider(&self, id: &str) -> Result<Option<Value>, StoreError> {
        let row =
            sqlx::query("SELECT provider FROM workspaces WHERE id = $1").bind(id).fetch_optional(self.pool()).await?;
        let Some(row) = row else { return Ok(None) };
        let text: String = row.try_get("provider")?;
        serde_json::from_str(&text).map(Some).map_err(|e| StoreError::Corrupt(format!("workspace provider: {e}")))
    }

    /// The account's workspaces, oldest first.
    pub async fn workspaces(&self, account_id: &str) -> Result<Vec<Workspace>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM workspaces WHERE account_id = $1 ORDER BY created_at, id");
        let rows = sqlx::query(&sql).bind(account_id).fetch_all(self.pool()).await?;
        rows.iter().map(workspace_from_row).collect()
    }

    /// Applies a change to the account's workspace `id`; `None` if there is
    /// none. A slug another of its workspaces uses is [`StoreError::Conflict`].
    pub async fn update_workspace(
        &self,
        account_id: &str,
        id: &str,
        patch: &WorkspacePatch,
    ) -> Result<Option<Workspace>, StoreError> {
        let Some(mut ws) = self.workspace(account_id, id).await? else { return Ok(None) };
        if let Some(slug) = &patch.slug {
            check_slug(slug)?;
            if self.workspace_by_slug(account_id, slug).await?.is_some_and(|other| other.id != id) {
                return Err(slug_taken(slug));
            }
            ws.slug = slug.clone();
        }
        if let Some(name) = &patch.name {
            ws.name = name.clone();
        }
        if let Some(provider) = &patch.provider {
            ws.provider = provider.clone();
        }
        ws.updated_at = now_ms();
        let done = sqlx::query(
            "UPDATE workspaces SET name = $1, slug = $2, provider = $3, updated_at = $4 WHERE account_id = $5 AND id = $6",
        )
        .bind(&ws.name)
        .bind(&ws.slug)
        .bind(ws.provider.to_string())
        .bind(ws.updated_at)
        .bind(account_id)
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok((done.rows_affected() > 0).then_some(ws))
    }

    /// Deletes the account's workspace `id`; false if there was none. While
    /// keys that are not deleted are in it, it stays and the answer is
    /// [`StoreError::Conflict`].
    pub async fn delete_workspace(&self, account_id: &str, id: &str) -> Result<bool, StoreError> {
        let row = sqlx::query(
            "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM api_keys WHERE workspace_id = $1 AND deleted_at IS NULL",
        )
        .bind(id)
        .fetch_one(self.pool())
        .await?;
        let keys: i64 = row.try_get("n")?;
        if keys > 0 && self.workspace(account_id, id).await?.is_some() {
            return Err(StoreError::Conflict(format!(
                "workspace {id} still has {keys} API key(s): delete them or move them to another workspace first"
            )));
        }
        if self.workspace(account_id, id).await?.is_some() {
            self.forget_workspace_links(id).await?;
        }
        let done = sqlx::query("DELETE FROM workspaces WHERE account_id = $1 AND id = $2")
            .bind(account_id)
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() > 0)
    }
}

fn slug_taken(slug: &str) -> StoreError {
    StoreError::Conflict(format!("a workspace with slug `{slug}` already exists"))
}
