//! Guardrails (reference §8.5): policies of an account assigned to its API
//! keys, its members (all of a member's keys) and its workspaces (all keys
//! in one). The store keeps them and their assignments and sums the spend of
//! a guardrail's keys; what the rules mean is the server's business.

use std::collections::HashMap;

use rand::RngCore;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use switchyard_api::NanoUsd;

use crate::links::Link;
use crate::period::LimitReset;
use crate::{Store, StoreError, now_ms};

/// Guardrails assigned to keys.
const GUARDRAIL_KEYS: Link = Link { table: "guardrail_keys", owner: "guardrail_id", other: "key_hash" };

/// What a content rule does when it matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FilterAction {
    /// Refuse the request (403).
    Block,
    /// Replace the match before the request goes upstream.
    Redact,
}

/// A custom regex content filter.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegexFilter {
    /// The pattern (Rust `regex` syntax).
    pub pattern: String,
    /// Block or redact.
    pub action: FilterAction,
    /// What a redaction says: `[REDACTED:<label>]` (default `regex`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

/// A kind of sensitive information the server can detect.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PiiKind {
    /// An email address.
    Email,
    /// A phone number.
    Phone,
    /// A payment card number (passing the Luhn check).
    CreditCard,
    /// A US social security number.
    Ssn,
    /// An IPv4 address.
    Ip,
}

impl PiiKind {
    /// Every kind, in the order detectors run (longest digit runs first, so
    /// a card number is not also taken for a phone number).
    pub const ALL: [PiiKind; 5] = [PiiKind::CreditCard, PiiKind::Ssn, PiiKind::Email, PiiKind::Ip, PiiKind::Phone];

    /// The API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            PiiKind::Email => "email",
            PiiKind::Phone => "phone",
            PiiKind::CreditCard => "credit_card",
            PiiKind::Ssn => "ssn",
            PiiKind::Ip => "ip",
        }
    }
}

/// The sensitive-information rule: which kinds, and what to do with them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PiiRule {
    /// Block or redact.
    pub action: FilterAction,
    /// The kinds looked for.
    pub types: Vec<PiiKind>,
}

/// A guardrail's settings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GuardrailSpec {
    /// Name shown in lists and errors.
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// Budget for the spend of its keys in a period.
    pub limit: Option<NanoUsd>,
    /// When the budget starts over; `None`: never (spend since creation).
    pub reset: Option<LimitReset>,
    /// Models its keys may use (`author/*` allows an author's models);
    /// `None`: any.
    pub allowed_models: Option<Vec<String>>,
    /// Providers its keys' requests may go to; `None`: any.
    pub allowed_providers: Option<Vec<String>>,
    /// Zero-data-retention endpoints only.
    pub enforce_zdr: bool,
    /// Refuse prompts with known injection phrases.
    pub block_prompt_injection: bool,
    /// Custom regex filters, in order.
    pub regex_filters: Vec<RegexFilter>,
    /// Sensitive-information detection.
    pub pii: Option<PiiRule>,
    /// The workspace whose guardrail this is (it then applies to every key
    /// in the workspace; at most one per workspace). The caller checks the
    /// workspace is the guardrail's account's.
    pub workspace_id: Option<String>,
}

/// A stored guardrail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Guardrail {
    /// UUID.
    pub id: String,
    /// Owning account.
    pub account_id: String,
    /// Its settings.
    pub spec: GuardrailSpec,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Unix milliseconds of the last change.
    pub updated_at: i64,
}

const COLUMNS: &str = "g.id, g.account_id, g.name, g.description, g.limit_nano, g.reset_interval, g.allowed_models, \
                       g.allowed_providers, g.enforce_zdr, g.block_prompt_injection, g.regex_filters, g.pii, \
                       g.created_at, g.updated_at, g.workspace_id";

/// A random UUID (version 4).
fn new_id() -> String {
    let mut b = [0u8; 16];
    rand::rng().fill_bytes(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}

fn json_col<T: serde::de::DeserializeOwned>(row: &sqlx::any::AnyRow, col: &str) -> Result<Option<T>, StoreError> {
    let text: Option<String> = row.try_get(col)?;
    text.map(|t| serde_json::from_str(&t).map_err(|e| StoreError::Corrupt(format!("guardrail {col}: {e}")))).transpose()
}

fn to_json<T: Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn guardrail_from_row(row: &sqlx::any::AnyRow) -> Result<Guardrail, StoreError> {
    let reset: Option<String> = row.try_get("reset_interval")?;
    Ok(Guardrail {
        id: row.try_get("id")?,
        account_id: row.try_get("account_id")?,
        spec: GuardrailSpec {
            name: row.try_get("name")?,
            description: row.try_get("description")?,
            limit: row.try_get::<Option<i64>, _>("limit_nano")?.map(NanoUsd),
            reset: reset.map(|r| r.parse::<LimitReset>().map_err(StoreError::Corrupt)).transpose()?,
            allowed_models: json_col(row, "allowed_models")?,
            allowed_providers: json_col(row, "allowed_providers")?,
            enforce_zdr: row.try_get::<i64, _>("enforce_zdr")? != 0,
            block_prompt_injection: row.try_get::<i64, _>("block_prompt_injection")? != 0,
            regex_filters: json_col(row, "regex_filters")?.unwrap_or_default(),
            pii: json_col(row, "pii")?,
            workspace_id: row.try_get("workspace_id")?,
        },
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// The settings as bound columns, in `COLUMNS` order from `name` to
/// `pii`.
struct Cols {
    name: String,
    description: Option<String>,
    limit: Option<i64>,
    reset: Option<String>,
    models: Option<String>,
    providers: Option<String>,
    zdr: i64,
    injection: i64,
    regex: String,
    pii: Option<String>,
    workspace: Option<String>,
}

impl Cols {
    fn of(s: &GuardrailSpec) -> Result<Cols, StoreError> {
        Ok(Cols {
            name: s.name.clone(),
            description: s.description.clone(),
            limit: s.limit.map(|l| l.0),
            reset: s.reset.map(|r| r.as_str().to_owned()),
            models: s.allowed_models.as_ref().map(to_json).transpose()?,
            providers: s.allowed_providers.as_ref().map(to_json).transpose()?,
            zdr: i64::from(s.enforce_zdr),
            injection: i64::from(s.block_prompt_injection),
            regex: to_json(&s.regex_filters)?,
            pii: s.pii.as_ref().map(to_json).transpose()?,
            workspace: s.workspace_id.clone(),
        })
    }
}

impl Store {
    /// Creates a guardrail for an account.
    pub async fn create_guardrail(&self, account_id: &str, spec: &GuardrailSpec) -> Result<Guardrail, StoreError> {
        let c = Cols::of(spec)?;
        let id = new_id();
        let now = now_ms();
        sqlx::query(
            "INSERT INTO guardrails (id, account_id, name, description, limit_nano, reset_interval, allowed_models, \
             allowed_providers, enforce_zdr, block_prompt_injection, regex_filters, pii, created_at, updated_at, \
             workspace_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        )
        .bind(&id)
        .bind(account_id)
        .bind(c.name)
        .bind(c.description)
        .bind(c.limit)
        .bind(c.reset)
        .bind(c.models)
        .bind(c.providers)
        .bind(c.zdr)
        .bind(c.injection)
        .bind(c.regex)
        .bind(c.pii)
        .bind(now)
        .bind(now)
        .bind(c.workspace)
        .execute(self.pool())
        .await?;
        Ok(Guardrail { id, account_id: account_id.to_owned(), spec: spec.clone(), created_at: now, updated_at: now })
    }

    /// The account's guardrail `id`, if any (another account's is `None`).
    pub async fn guardrail(&self, account_id: &str, id: &str) -> Result<Option<Guardrail>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM guardrails g WHERE g.id = $1 AND g.account_id = $2");
        let row = sqlx::query(&sql).bind(id).bind(account_id).fetch_optional(self.pool()).await?;
        row.as_ref().map(guardrail_from_row).transpose()
    }

    /// The account's guardrails, oldest first.
    pub async fn guardrails(&self, account_id: &str) -> Result<Vec<Guardrail>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM guardrails g WHERE g.account_id = $1 ORDER BY g.created_at, g.id");
        let rows = sqlx::query(&sql).bind(account_id).fetch_all(self.pool()).await?;
        rows.iter().map(guardrail_from_row).collect()
    }

    /// Replaces the settings of the account's guardrail `id`; `None` if the
    /// account has no such guardrail.
    pub async fn update_guardrail(
        &self,
        account_id: &str,
        id: &str,
        spec: &GuardrailSpec,
    ) -> Result<Option<Guardrail>, StoreError> {
        let c = Cols::of(spec)?;
        let sql = format!(
            "UPDATE guardrails SET name = $1, description = $2, limit_nano = $3, reset_interval = $4, \
             allowed_models = $5, allowed_providers = $6, enforce_zdr = $7, block_prompt_injection = $8, \
             regex_filters = $9, pii = $10, updated_at = $11, workspace_id = $14 WHERE id = $12 AND account_id = $13 \
             RETURNING {}",
            COLUMNS.replace("g.", "")
        );
        let row = sqlx::query(&sql)
            .bind(c.name)
            .bind(c.description)
            .bind(c.limit)
            .bind(c.reset)
            .bind(c.models)
            .bind(c.providers)
            .bind(c.zdr)
            .bind(c.injection)
            .bind(c.regex)
            .bind(c.pii)
            .bind(now_ms())
            .bind(id)
            .bind(account_id)
            .bind(c.workspace)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(guardrail_from_row).transpose()
    }

    /// Deletes the account's guardrail `id` and its assignments; false if
    /// the account has no such guardrail.
    pub async fn delete_guardrail(&self, account_id: &str, id: &str) -> Result<bool, StoreError> {
        let mut tx = self.pool().begin().await?;
        let owned = sqlx::query("SELECT id FROM guardrails WHERE id = $1 AND account_id = $2")
            .bind(id)
            .bind(account_id)
            .fetch_optional(&mut *tx)
            .await?;
        if owned.is_none() {
            return Ok(false);
        }
        sqlx::query("DELETE FROM guardrail_keys WHERE guardrail_id = $1").bind(id).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM member_guardrails WHERE guardrail_id = $1").bind(id).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM guardrails WHERE id = $1").bind(id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Assigns guardrail `id` to keys; returns how many were not assigned
    /// already. The caller checks that the guardrail and the keys belong to
    /// the same account.
    pub async fn assign_guardrail_keys(&self, id: &str, key_hashes: &[String]) -> Result<u64, StoreError> {
        GUARDRAIL_KEYS.add(self, id, key_hashes).await
    }

    /// Removes guardrail `id` from a key; false if it was not assigned.
    pub async fn unassign_guardrail_key(&self, id: &str, key_hash: &str) -> Result<bool, StoreError> {
        GUARDRAIL_KEYS.remove(self, id, key_hash).await
    }

    /// The keys (not deleted) each of the account's guardrails is assigned
    /// to, by guardrail id, in assignment order.
    pub async fn guardrail_assignments(&self, account_id: &str) -> Result<HashMap<String, Vec<String>>, StoreError> {
        let rows = sqlx::query(
            "SELECT gk.guardrail_id, gk.key_hash FROM guardrail_keys gk \
             JOIN guardrails g ON g.id = gk.guardrail_id JOIN api_keys k ON k.hash = gk.key_hash \
             WHERE g.account_id = $1 AND k.deleted_at IS NULL ORDER BY gk.created_at, gk.key_hash",
        )
        .bind(account_id)
        .fetch_all(self.pool())
        .await?;
        let mut out: HashMap<String, Vec<String>> = HashMap::new();
        for row in &rows {
            out.entry(row.try_get("guardrail_id")?).or_default().push(row.try_get("key_hash")?);
        }
        Ok(out)
    }

    /// The guardrails that apply to a key, oldest first: those assigned to
    /// it, to its member, and its workspace's.
    pub async fn key_guardrails(&self, key_hash: &str) -> Result<Vec<Guardrail>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM guardrails g WHERE \
             g.id IN (SELECT guardrail_id FROM guardrail_keys WHERE key_hash = $1) \
             OR g.id IN (SELECT mg.guardrail_id FROM member_guardrails mg \
                 JOIN api_keys k ON k.member_id = mg.member_id WHERE k.hash = $2) \
             OR g.workspace_id IN (SELECT workspace_id FROM api_keys WHERE hash = $3) \
             ORDER BY g.created_at, g.id"
        );
        let rows = sqlx::query(&sql).bind(key_hash).bind(key_hash).bind(key_hash).fetch_all(self.pool()).await?;
        rows.iter().map(guardrail_from_row).collect()
    }

    /// What the keys guardrail `id` applies to now (assigned to it, of a
    /// member assigned to it, in its workspace) have spent since `since`
    /// (Unix ms), whenever they came under it.
    pub async fn guardrail_spend(&self, id: &str, since: i64) -> Result<NanoUsd, StoreError> {
        let row = sqlx::query(
            "SELECT CAST(COALESCE(SUM(g.cost_nano), 0) AS BIGINT) AS used FROM generations g \
             WHERE g.created_at >= $2 AND g.key_hash IN ( \
                 SELECT key_hash FROM guardrail_keys WHERE guardrail_id = $1 \
                 UNION SELECT k.hash FROM api_keys k JOIN member_guardrails mg ON mg.member_id = k.member_id \
                     WHERE mg.guardrail_id = $3 \
                 UNION SELECT k.hash FROM api_keys k JOIN guardrails r ON r.workspace_id = k.workspace_id \
                     WHERE r.id = $4)",
        )
        .bind(id)
        .bind(since)
        .bind(id)
        .bind(id)
        .fetch_one(self.pool())
        .await?;
        Ok(NanoUsd(row.try_get("used")?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_v4_uuids() {
        let id = new_id();
        let parts: Vec<&str> = id.split('-').collect();
        assert_eq!(parts.iter().map(|p| p.len()).collect::<Vec<_>>(), [8, 4, 4, 4, 12]);
        assert!(parts[2].starts_with('4'));
        assert!(matches!(parts[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'));
        assert_ne!(new_id(), id);
    }

    #[test]
    fn rules_serialize_as_the_api_spells_them() {
        let pii = PiiRule { action: FilterAction::Redact, types: vec![PiiKind::CreditCard, PiiKind::Ip] };
        assert_eq!(serde_json::to_string(&pii).unwrap(), r#"{"action":"redact","types":["credit_card","ip"]}"#);
        for k in PiiKind::ALL {
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
        }
        let bad: Result<RegexFilter, _> = serde_json::from_str(r#"{"pattern":"x","action":"flag"}"#);
        assert!(bad.is_err());
    }
}
