//! Presets: named, versioned chat-request configurations owned by an
//! account (reference §8.4). The config is kept as the JSON object given;
//! the server validates it before storing.

use serde_json::Value;
use sqlx::Row;

use crate::{Store, StoreError, now_ms};

/// Longest preset slug.
pub const PRESET_SLUG_MAX: usize = 64;

/// A stored preset.
#[derive(Clone, Debug, PartialEq)]
pub struct Preset {
    /// Owning account.
    pub account_id: String,
    /// `[a-z0-9-]{1,64}`, unique within the account.
    pub slug: String,
    /// The configuration: chat-request fields plus `system_prompt`.
    pub config: Value,
    /// 1 when created, one more on every replacement.
    pub version: i64,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Unix milliseconds of the last replacement.
    pub updated_at: i64,
    /// The workspace it belongs to (`None`: the account's); a workspace's
    /// preset is found before the account's by keys in the workspace.
    pub workspace_id: Option<String>,
}

/// True for a valid preset slug: 1 to 64 of `a-z`, `0-9` and `-`.
pub fn valid_preset_slug(slug: &str) -> bool {
    (1..=PRESET_SLUG_MAX).contains(&slug.len())
        && slug.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

const COLUMNS: &str = "account_id, slug, config, version, created_at, updated_at";

fn preset_from_row(row: &sqlx::any::AnyRow) -> Result<Preset, StoreError> {
    let config: String = row.try_get("config")?;
    Ok(Preset {
        account_id: row.try_get("account_id")?,
        slug: row.try_get("slug")?,
        config: serde_json::from_str(&config).map_err(|e| StoreError::Corrupt(format!("preset config: {e}")))?,
        version: row.try_get("version")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        workspace_id: None,
    })
}

impl Store {
    /// Creates the account's preset `slug`, or replaces its config and bumps
    /// its version. Returns the stored preset and whether it was created.
    pub async fn put_preset(&self, account_id: &str, slug: &str, config: &Value) -> Result<(Preset, bool), StoreError> {
        if !valid_preset_slug(slug) {
            return Err(StoreError::Corrupt(format!("preset slug `{slug}` is not [a-z0-9-]{{1,64}}")));
        }
        let now = now_ms();
        let sql = format!(
            "INSERT INTO presets ({COLUMNS}) VALUES ($1, $2, $3, 1, $4, $5) \
             ON CONFLICT (account_id, slug) DO UPDATE SET config = excluded.config, \
             version = presets.version + 1, updated_at = excluded.updated_at \
             RETURNING {COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(account_id)
            .bind(slug)
            .bind(config.to_string())
            .bind(now)
            .bind(now)
            .fetch_one(self.pool())
            .await?;
        let preset = preset_from_row(&row)?;
        let created = preset.version == 1;
        Ok((preset, created))
    }

    /// The account's preset `slug`, if any.
    pub async fn preset(&self, account_id: &str, slug: &str) -> Result<Option<Preset>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM presets WHERE account_id = $1 AND slug = $2");
        let row = sqlx::query(&sql).bind(account_id).bind(slug).fetch_optional(self.pool()).await?;
        row.as_ref().map(preset_from_row).transpose()
    }

    /// The account's presets, by slug.
    pub async fn presets(&self, account_id: &str) -> Result<Vec<Preset>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM presets WHERE account_id = $1 ORDER BY slug");
        let rows = sqlx::query(&sql).bind(account_id).fetch_all(self.pool()).await?;
        rows.iter().map(preset_from_row).collect()
    }

    /// Deletes the account's preset `slug`; false if there was none.
    pub async fn delete_preset(&self, account_id: &str, slug: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM presets WHERE account_id = $1 AND slug = $2")
            .bind(account_id)
            .bind(slug)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Creates workspace `workspace_id`'s preset `slug` (of account
    /// `account_id`), or replaces its config and bumps its version. The
    /// caller checks the workspace is the account's.
    pub async fn put_workspace_preset(
        &self,
        account_id: &str,
        workspace_id: &str,
        slug: &str,
        config: &Value,
    ) -> Result<(Preset, bool), StoreError> {
        if !valid_preset_slug(slug) {
            return Err(StoreError::Corrupt(format!("preset slug `{slug}` is not [a-z0-9-]{{1,64}}")));
        }
        let now = now_ms();
        let sql = format!(
            "INSERT INTO workspace_presets (workspace_id, {COLUMNS}) VALUES ($1, $2, $3, $4, 1, $5, $6) \
             ON CONFLICT (workspace_id, slug) DO UPDATE SET config = excluded.config, \
             version = workspace_presets.version + 1, updated_at = excluded.updated_at \
             RETURNING {COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(workspace_id)
            .bind(account_id)
            .bind(slug)
            .bind(config.to_string())
            .bind(now)
            .bind(now)
            .fetch_one(self.pool())
            .await?;
        let preset = Preset { workspace_id: Some(workspace_id.to_owned()), ..preset_from_row(&row)? };
        let created = preset.version == 1;
        Ok((preset, created))
    }

    /// Workspace `workspace_id`'s preset `slug`, if any.
    pub async fn workspace_preset(&self, workspace_id: &str, slug: &str) -> Result<Option<Preset>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM workspace_presets WHERE workspace_id = $1 AND slug = $2");
        let row = sqlx::query(&sql).bind(workspace_id).bind(slug).fetch_optional(self.pool()).await?;
        let preset = row.as_ref().map(preset_from_row).transpose()?;
        Ok(preset.map(|p| Preset { workspace_id: Some(workspace_id.to_owned()), ..p }))
    }

    /// Workspace `workspace_id`'s presets, by slug.
    pub async fn workspace_presets(&self, workspace_id: &str) -> Result<Vec<Preset>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM workspace_presets WHERE workspace_id = $1 ORDER BY slug");
        let rows = sqlx::query(&sql).bind(workspace_id).fetch_all(self.pool()).await?;
        rows.iter()
            .map(|r| preset_from_row(r).map(|p| Preset { workspace_id: Some(workspace_id.to_owned()), ..p }))
            .collect()
    }

    /// Deletes workspace `workspace_id`'s preset `slug`; false if there was
    /// none.
    pub async fn delete_workspace_preset(&self, workspace_id: &str, slug: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM workspace_presets WHERE workspace_id = $1 AND slug = $2")
            .bind(workspace_id)
            .bind(slug)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() > 0)
    }
}
