//! API keys: generated once, stored only as SHA-256 hashes.

use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::Row;
use switchyard_api::NanoUsd;

use crate::accounts::Billing;
use crate::{Store, StoreError, now_ms};

/// Prefix of every Switchyard key.
pub const KEY_PREFIX: &str = "sk-sy-v1-";

/// A stored key (never its plaintext).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRecord {
    /// SHA-256 of the plaintext, hex; the key's id in URLs.
    pub hash: String,
    /// Owning account.
    pub account_id: String,
    /// The owning account's billing mode.
    pub billing: Billing,
    /// Name given at creation.
    pub name: String,
    /// Display label: prefix and last characters of the plaintext.
    pub label: String,
    /// Management keys manage keys and credits; they cannot run inference.
    pub is_management: bool,
    /// Disabled keys are refused.
    pub disabled: bool,
    /// Spend cap, if any.
    pub limit: Option<NanoUsd>,
    /// Spend so far.
    pub usage: NanoUsd,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Unix milliseconds, if it expires.
    pub expires_at: Option<i64>,
}

/// A freshly created key: the only time its plaintext exists.
#[derive(Clone, Debug)]
pub struct NewKey {
    /// `sk-sy-v1-<64 hex>`; shown once, never stored.
    pub plaintext: String,
    /// What is stored.
    pub record: KeyRecord,
}

/// A new random key's plaintext.
pub fn generate_key() -> String {
    let mut raw = [0u8; 32];
    rand::rng().fill_bytes(&mut raw);
    format!("{KEY_PREFIX}{}", hex::encode(raw))
}

/// The stored form of a key.
pub fn hash_key(plaintext: &str) -> String {
    hex::encode(Sha256::digest(plaintext.as_bytes()))
}

fn label_of(plaintext: &str) -> String {
    let tail = &plaintext[plaintext.len().saturating_sub(3)..];
    let head = &plaintext[..plaintext.len().min(KEY_PREFIX.len() + 3)];
    format!("{head}...{tail}")
}

const KEY_COLUMNS: &str = "k.hash, k.account_id, a.billing, k.name, k.label, k.is_management, k.disabled, \
     k.limit_nano, k.usage_nano, k.created_at, k.expires_at";

fn key_from_row(row: &sqlx::any::AnyRow) -> Result<KeyRecord, StoreError> {
    let billing: String = row.try_get("billing")?;
    Ok(KeyRecord {
        hash: row.try_get("hash")?,
        account_id: row.try_get("account_id")?,
        billing: if billing == "prepaid" { Billing::Prepaid } else { Billing::Postpaid },
        name: row.try_get("name")?,
        label: row.try_get("label")?,
        is_management: row.try_get::<i64, _>("is_management")? != 0,
        disabled: row.try_get::<i64, _>("disabled")? != 0,
        limit: row.try_get::<Option<i64>, _>("limit_nano")?.map(NanoUsd),
        usage: NanoUsd(row.try_get("usage_nano")?),
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
    })
}

impl Store {
    /// Creates a key for an account; the plaintext is returned once.
    pub async fn create_key(
        &self,
        account_id: &str,
        name: &str,
        is_management: bool,
        limit: Option<NanoUsd>,
    ) -> Result<NewKey, StoreError> {
        let account = self.account(account_id).await?;
        let plaintext = generate_key();
        let now = now_ms();
        let record = KeyRecord {
            hash: hash_key(&plaintext),
            account_id: account.id,
            billing: account.billing,
            name: name.to_owned(),
            label: label_of(&plaintext),
            is_management,
            disabled: false,
            limit,
            usage: NanoUsd::ZERO,
            created_at: now,
            expires_at: None,
        };
        sqlx::query(
            "INSERT INTO api_keys (hash, account_id, name, label, is_management, disabled, limit_nano, usage_nano, created_at, updated_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, 0, $6, 0, $7, $8, NULL)",
        )
        .bind(&record.hash)
        .bind(&record.account_id)
        .bind(&record.name)
        .bind(&record.label)
        .bind(i64::from(is_management))
        .bind(limit.map(|l| l.0))
        .bind(now)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(NewKey { plaintext, record })
    }

    /// The key with this hash, if any.
    pub async fn key_by_hash(&self, hash: &str) -> Result<Option<KeyRecord>, StoreError> {
        let sql =
            format!("SELECT {KEY_COLUMNS} FROM api_keys k JOIN accounts a ON a.id = k.account_id WHERE k.hash = $1");
        let row = sqlx::query(&sql).bind(hash).fetch_optional(self.pool()).await?;
        row.as_ref().map(key_from_row).transpose()
    }

    /// Every key, oldest first.
    pub async fn keys(&self) -> Result<Vec<KeyRecord>, StoreError> {
        let sql = format!(
            "SELECT {KEY_COLUMNS} FROM api_keys k JOIN accounts a ON a.id = k.account_id ORDER BY k.created_at, k.hash"
        );
        let rows = sqlx::query(&sql).fetch_all(self.pool()).await?;
        rows.iter().map(key_from_row).collect()
    }

    /// Disables or re-enables the key whose hash, name or label matches
    /// `which` exactly; returns how many keys changed.
    pub async fn set_key_disabled(&self, which: &str, disabled: bool) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE api_keys SET disabled = $1, updated_at = $2 WHERE hash = $3 OR name = $4 OR label = $5",
        )
        .bind(i64::from(disabled))
        .bind(now_ms())
        .bind(which)
        .bind(which)
        .bind(which)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_look_right_and_hash_stably() {
        let k = generate_key();
        assert!(k.starts_with(KEY_PREFIX));
        assert_eq!(k.len(), KEY_PREFIX.len() + 64);
        assert_eq!(hash_key(&k), hash_key(&k));
        assert_eq!(hash_key(&k).len(), 64);
        let label = label_of(&k);
        assert!(label.starts_with("sk-sy-v1-") && label.contains("..."));
    }
}
