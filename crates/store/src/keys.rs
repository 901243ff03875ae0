//! API keys: generated once, stored only as SHA-256 hashes.

use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::Row;
use switchyard_api::NanoUsd;

use crate::accounts::Billing;
use crate::members::MemberRole;
use crate::period::LimitReset;
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
    /// When the cap starts over; `None`: it never does (lifetime spend).
    pub limit_reset: Option<LimitReset>,
    /// Whether BYOK spend (the provider's list cost of generations served
    /// with the account's own keys) counts against the cap.
    pub include_byok_in_limit: bool,
    /// Spend so far, over the key's lifetime.
    pub usage: NanoUsd,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Unix milliseconds of the last change.
    pub updated_at: i64,
    /// Unix milliseconds, if it expires.
    pub expires_at: Option<i64>,
    /// The workspace the key is in; `None`: the account's default workspace.
    pub workspace_id: Option<String>,
    /// The member the key belongs to; `None`: the account's own key.
    pub member_id: Option<String>,
    /// That member's role (a disabled member's keys read as disabled).
    pub member_role: Option<MemberRole>,
    /// Answers to this key's requests are cached without the
    /// `X-OpenRouter-Cache` header (which can still opt a request out).
    pub cache_responses: bool,
}

/// What a new key is made with.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeySpec {
    /// Name shown in lists.
    pub name: String,
    /// A management key (manages keys; no inference).
    pub is_management: bool,
    /// Spend cap.
    pub limit: Option<NanoUsd>,
    /// When the cap starts over.
    pub limit_reset: Option<LimitReset>,
    /// Whether BYOK spend counts against the cap.
    pub include_byok_in_limit: bool,
    /// Unix milliseconds after which the key is refused.
    pub expires_at: Option<i64>,
    /// The workspace to create it in (`None`: the default workspace). The
    /// caller checks that it belongs to the key's account.
    pub workspace_id: Option<String>,
    /// The member it belongs to (`None`: the account's own key). The caller
    /// checks that the member is the account's.
    pub member_id: Option<String>,
    /// Cache answers to this key's requests by default.
    pub cache_responses: bool,
}

/// A change to a key; `None` leaves a field as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyPatch {
    /// New name.
    pub name: Option<String>,
    /// Disable or re-enable.
    pub disabled: Option<bool>,
    /// New cap (`Some(None)` removes it).
    pub limit: Option<Option<NanoUsd>>,
    /// New reset period (`Some(None)`: never).
    pub limit_reset: Option<Option<LimitReset>>,
    /// Whether BYOK spend counts against the cap.
    pub include_byok_in_limit: Option<bool>,
    /// Move to a workspace (`Some(None)`: the default workspace).
    pub workspace_id: Option<Option<String>>,
    /// Give to a member (`Some(None)`: to the account itself).
    pub member_id: Option<Option<String>>,
    /// Cache answers by default, or stop.
    pub cache_responses: Option<bool>,
}

/// A key's spend in the UTC day, week (from Monday) and calendar month
/// containing an instant, summed from its generations; with its BYOK spend
/// (the providers' list cost of generations served with the account's own
/// keys) in the same periods and over its whole life.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PeriodUsage {
    /// This UTC day.
    pub daily: NanoUsd,
    /// This UTC week, Monday to Sunday.
    pub weekly: NanoUsd,
    /// This UTC calendar month.
    pub monthly: NanoUsd,
    /// BYOK list cost, over the key's whole life.
    pub byok: NanoUsd,
    /// BYOK list cost, this UTC day.
    pub byok_daily: NanoUsd,
    /// BYOK list cost, this UTC week.
    pub byok_weekly: NanoUsd,
    /// BYOK list cost, this UTC calendar month.
    pub byok_monthly: NanoUsd,
}

impl PeriodUsage {
    /// The spend that counts against a limit with this reset; `lifetime`
    /// when it never resets.
    pub fn for_reset(&self, reset: Option<LimitReset>, lifetime: NanoUsd) -> NanoUsd {
        match reset {
            None => lifetime,
            Some(LimitReset::Daily) => self.daily,
            Some(LimitReset::Weekly) => self.weekly,
            Some(LimitReset::Monthly) => self.monthly,
        }
    }

    /// The BYOK spend in the period of a limit with this reset (the whole
    /// life when it never resets).
    pub fn byok_for_reset(&self, reset: Option<LimitReset>) -> NanoUsd {
        match reset {
            None => self.byok,
            Some(LimitReset::Daily) => self.byok_daily,
            Some(LimitReset::Weekly) => self.byok_weekly,
            Some(LimitReset::Monthly) => self.byok_monthly,
        }
    }

    /// What counts against the limit of `key`: its spend in the limit's
    /// period (`lifetime` when it never resets), plus its BYOK spend in that
    /// period when the key includes BYOK in its limit.
    pub fn for_limit(&self, key: &KeyRecord, lifetime: NanoUsd) -> NanoUsd {
        let spent = self.for_reset(key.limit_reset, lifetime);
        if key.include_byok_in_limit { NanoUsd(spent.0 + self.byok_for_reset(key.limit_reset).0) } else { spent }
    }
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
     k.limit_nano, k.limit_reset, k.include_byok_in_limit, k.usage_nano, k.created_at, k.updated_at, k.expires_at, \
     k.workspace_id, k.member_id, m.role AS member_role, m.disabled AS member_disabled, k.cache_responses";

/// The tables [`KEY_COLUMNS`] come from.
const KEY_FROM: &str = "api_keys k JOIN accounts a ON a.id = k.account_id LEFT JOIN members m ON m.id = k.member_id";

/// Sums of cost and of BYOK list cost per UTC day, week and month (`$1..$6`:
/// their bounds), and of BYOK list cost over every generation; the caller
/// adds the `WHERE` filter.
const PERIOD_SUMS: &str = "CAST(COALESCE(SUM(CASE WHEN created_at >= $1 AND created_at < $2 THEN cost_nano ELSE 0 END), 0) AS BIGINT) AS daily, \
     CAST(COALESCE(SUM(CASE WHEN created_at >= $3 AND created_at < $4 THEN cost_nano ELSE 0 END), 0) AS BIGINT) AS weekly, \
     CAST(COALESCE(SUM(CASE WHEN created_at >= $5 AND created_at < $6 THEN cost_nano ELSE 0 END), 0) AS BIGINT) AS monthly, \
     CAST(COALESCE(SUM(CASE WHEN created_at >= $1 AND created_at < $2 THEN byok_cost_nano ELSE 0 END), 0) AS BIGINT) AS byok_daily, \
     CAST(COALESCE(SUM(CASE WHEN created_at >= $3 AND created_at < $4 THEN byok_cost_nano ELSE 0 END), 0) AS BIGINT) AS byok_weekly, \
     CAST(COALESCE(SUM(CASE WHEN created_at >= $5 AND created_at < $6 THEN byok_cost_nano ELSE 0 END), 0) AS BIGINT) AS byok_monthly";

fn period_usage_from_row(row: &sqlx::any::AnyRow) -> Result<PeriodUsage, StoreError> {
    Ok(PeriodUsage {
        daily: NanoUsd(row.try_get("daily")?),
        weekly: NanoUsd(row.try_get("weekly")?),
        monthly: NanoUsd(row.try_get("monthly")?),
        // Lifetime BYOK spend is kept on the key, not summed here.
        byok: NanoUsd::ZERO,
        byok_daily: NanoUsd(row.try_get("byok_daily")?),
        byok_weekly: NanoUsd(row.try_get("byok_weekly")?),
        byok_monthly: NanoUsd(row.try_get("byok_monthly")?),
    })
}

/// The bounds `PERIOD_SUMS` binds.
fn period_bounds(now_ms: i64) -> [i64; 6] {
    let (ds, de) = LimitReset::Daily.window(now_ms);
    let (ws, we) = LimitReset::Weekly.window(now_ms);
    let (ms, me) = LimitReset::Monthly.window(now_ms);
    [ds, de, ws, we, ms, me]
}

fn key_from_row(row: &sqlx::any::AnyRow) -> Result<KeyRecord, StoreError> {
    let billing: String = row.try_get("billing")?;
    Ok(KeyRecord {
        hash: row.try_get("hash")?,
        account_id: row.try_get("account_id")?,
        billing: if billing == "prepaid" { Billing::Prepaid } else { Billing::Postpaid },
        name: row.try_get("name")?,
        label: row.try_get("label")?,
        is_management: row.try_get::<i64, _>("is_management")? != 0,
        disabled: row.try_get::<i64, _>("disabled")? != 0
            || row.try_get::<Option<i64>, _>("member_disabled")?.is_some_and(|d| d != 0),
        limit: row.try_get::<Option<i64>, _>("limit_nano")?.map(NanoUsd),
        limit_reset: row
            .try_get::<Option<String>, _>("limit_reset")?
            .map(|r| r.parse::<LimitReset>())
            .transpose()
            .map_err(StoreError::Corrupt)?,
        include_byok_in_limit: row.try_get::<i64, _>("include_byok_in_limit")? != 0,
        usage: NanoUsd(row.try_get("usage_nano")?),
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        expires_at: row.try_get("expires_at")?,
        workspace_id: row.try_get("workspace_id")?,
        member_id: row.try_get("member_id")?,
        member_role: row
            .try_get::<Option<String>, _>("member_role")?
            .map(|r| r.parse::<MemberRole>())
            .transpose()
            .map_err(StoreError::Corrupt)?,
        cache_responses: row.try_get::<i64, _>("cache_responses")? != 0,
    })
}

/// A value bound to a dynamically built statement.
enum Arg {
    Text(Option<String>),
    Int(Option<i64>),
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
        let spec = KeySpec { name: name.to_owned(), is_management, limit, ..KeySpec::default() };
        self.create_key_with(account_id, &spec).await
    }

    /// Creates a key with every setting; the plaintext is returned once.
    pub async fn create_key_with(&self, account_id: &str, spec: &KeySpec) -> Result<NewKey, StoreError> {
        let account = self.account(account_id).await?;
        let plaintext = generate_key();
        let now = now_ms();
        let record = KeyRecord {
            hash: hash_key(&plaintext),
            account_id: account.id,
            billing: account.billing,
            name: spec.name.clone(),
            label: label_of(&plaintext),
            is_management: spec.is_management,
            disabled: false,
            limit: spec.limit,
            limit_reset: spec.limit_reset,
            include_byok_in_limit: spec.include_byok_in_limit,
            usage: NanoUsd::ZERO,
            created_at: now,
            updated_at: now,
            expires_at: spec.expires_at,
            workspace_id: spec.workspace_id.clone(),
            member_id: spec.member_id.clone(),
            member_role: None,
            cache_responses: spec.cache_responses,
        };
        sqlx::query(
            "INSERT INTO api_keys (hash, account_id, name, label, is_management, disabled, limit_nano, usage_nano, created_at, updated_at, expires_at, limit_reset, include_byok_in_limit, workspace_id, member_id, cache_responses) \
             VALUES ($1, $2, $3, $4, $5, 0, $6, 0, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(&record.hash)
        .bind(&record.account_id)
        .bind(&record.name)
        .bind(&record.label)
        .bind(i64::from(record.is_management))
        .bind(record.limit.map(|l| l.0))
        .bind(now)
        .bind(now)
        .bind(record.expires_at)
        .bind(record.limit_reset.map(|r| r.as_str().to_owned()))
        .bind(i64::from(record.include_byok_in_limit))
        .bind(record.workspace_id.clone())
        .bind(record.member_id.clone())
        .bind(i64::from(record.cache_responses))
        .execute(self.pool())
        .await?;
        let record = match &record.member_id {
            Some(_) => self.key_by_hash(&record.hash).await?.unwrap_or(record),
            None => record,
        };
        Ok(NewKey { plaintext, record })
    }

    /// The key with this hash, if any (deleted keys are gone).
    pub async fn key_by_hash(&self, hash: &str) -> Result<Option<KeyRecord>, StoreError> {
        let sql = format!(
            "SELECT {KEY_COLUMNS} FROM {KEY_FROM} \
             WHERE k.hash = $1 AND k.deleted_at IS NULL"
        );
        let row = sqlx::query(&sql).bind(hash).fetch_optional(self.pool()).await?;
        row.as_ref().map(key_from_row).transpose()
    }

    /// Every key that is not deleted, oldest first.
    pub async fn keys(&self) -> Result<Vec<KeyRecord>, StoreError> {
        let sql = format!(
            "SELECT {KEY_COLUMNS} FROM {KEY_FROM} \
             WHERE k.deleted_at IS NULL ORDER BY k.created_at, k.hash"
        );
        let rows = sqlx::query(&sql).fetch_all(self.pool()).await?;
        rows.iter().map(key_from_row).collect()
    }

    /// A page of an account's inference keys (management keys are not
    /// listed), oldest first; disabled ones only when asked.
    pub async fn account_keys(
        &self,
        account_id: &str,
        include_disabled: bool,
        offset: u32,
        limit: u32,
    ) -> Result<Vec<KeyRecord>, StoreError> {
        self.account_keys_in(account_id, include_disabled, None, offset, limit).await
    }

    /// [`Store::account_keys`], only those in workspace `workspace_id` when
    /// it is given.
    pub async fn account_keys_in(
        &self,
        account_id: &str,
        include_disabled: bool,
        workspace_id: Option<&str>,
        offset: u32,
        limit: u32,
    ) -> Result<Vec<KeyRecord>, StoreError> {
        self.account_keys_of(account_id, include_disabled, workspace_id, None, offset, limit).await
    }

    /// [`Store::account_keys_in`], only those of member `member_id` when it
    /// is given.
    pub async fn account_keys_of(
        &self,
        account_id: &str,
        include_disabled: bool,
        workspace_id: Option<&str>,
        member_id: Option<&str>,
        offset: u32,
        limit: u32,
    ) -> Result<Vec<KeyRecord>, StoreError> {
        let disabled = if include_disabled { "" } else { " AND k.disabled = 0" };
        let mut filters = String::new();
        let mut n = 3;
        for (column, value) in [("k.workspace_id", workspace_id), ("k.member_id", member_id)] {
            if value.is_some() {
                n += 1;
                filters.push_str(&format!(" AND {column} = ${n}"));
            }
        }
        let sql = format!(
            "SELECT {KEY_COLUMNS} FROM {KEY_FROM} \
             WHERE k.account_id = $1 AND k.is_management = 0 AND k.deleted_at IS NULL{disabled}{filters} \
             ORDER BY k.created_at, k.hash LIMIT $2 OFFSET $3"
        );
        let mut q = sqlx::query(&sql).bind(account_id).bind(i64::from(limit)).bind(i64::from(offset));
        for value in [workspace_id, member_id].into_iter().flatten() {
            q = q.bind(value);
        }
        let rows = q.fetch_all(self.pool()).await?;
        let keys: Vec<KeyRecord> = rows.iter().map(key_from_row).collect::<Result<_, _>>()?;
        // A disabled member's keys read as disabled.
        Ok(keys.into_iter().filter(|k| include_disabled || !k.disabled).collect())
    }

    /// Applies a change to a key that is not deleted; false if there is none.
    pub async fn update_key(&self, hash: &str, patch: &KeyPatch) -> Result<bool, StoreError> {
        let mut sets: Vec<String> = Vec::new();
        let mut args: Vec<Arg> = Vec::new();
        let mut set = |column: &str, arg: Arg| {
            args.push(arg);
            sets.push(format!("{column} = ${}", args.len()));
        };
        if let Some(name) = &patch.name {
            set("name", Arg::Text(Some(name.clone())));
        }
        if let Some(disabled) = patch.disabled {
            set("disabled", Arg::Int(Some(i64::from(disabled))));
        }
        if let Some(limit) = patch.limit {
            set("limit_nano", Arg::Int(limit.map(|l| l.0)));
        }
        if let Some(reset) = patch.limit_reset {
            set("limit_reset", Arg::Text(reset.map(|r| r.as_str().to_owned())));
        }
        if let Some(byok) = patch.include_byok_in_limit {
            set("include_byok_in_limit", Arg::Int(Some(i64::from(byok))));
        }
        if let Some(workspace) = &patch.workspace_id {
            set("workspace_id", Arg::Text(workspace.clone()));
        }
        if let Some(member) = &patch.member_id {
            set("member_id", Arg::Text(member.clone()));
        }
        if let Some(cache) = patch.cache_responses {
            set("cache_responses", Arg::Int(Some(i64::from(cache))));
        }
        set("updated_at", Arg::Int(Some(now_ms())));
        let sql =
            format!("UPDATE api_keys SET {} WHERE hash = ${} AND deleted_at IS NULL", sets.join(", "), args.len() + 1);
        let mut q = sqlx::query(&sql);
        for arg in args {
            q = match arg {
                Arg::Text(v) => q.bind(v),
                Arg::Int(v) => q.bind(v),
            };
        }
        let done = q.bind(hash).execute(self.pool()).await?;
        Ok(done.rows_affected() > 0)
    }

    /// Deletes a key: it stops working and leaves every list; its
    /// generations (and their cost) stay. False if there was none.
    pub async fn delete_key(&self, hash: &str) -> Result<bool, StoreError> {
        let now = now_ms();
        let done = sqlx::query(
            "UPDATE api_keys SET deleted_at = $1, disabled = 1, updated_at = $2 WHERE hash = $3 AND deleted_at IS NULL",
        )
        .bind(now)
        .bind(now)
        .bind(hash)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// A key's spend in the UTC day, week and month containing `now_ms`,
    /// with its BYOK spend (whose lifetime sum reads all its generations).
    pub async fn key_period_usage(&self, hash: &str, now_ms: i64) -> Result<PeriodUsage, StoreError> {
        let b = period_bounds(now_ms);
        // Only generations since the earliest period start can count: the index on (key_hash, created_at) serves it.
        let sql = format!("SELECT {PERIOD_SUMS} FROM generations WHERE key_hash = $7 AND created_at >= $8");
        let row = sqlx::query(&sql)
            .bind(b[0])
            .bind(b[1])
            .bind(b[2])
            .bind(b[3])
            .bind(b[4])
            .bind(b[5])
            .bind(hash)
            .bind(b[2].min(b[4]))
            .fetch_one(self.pool())
            .await?;
        let mut usage = period_usage_from_row(&row)?;
        let lifetime = sqlx::query("SELECT byok_usage_nano FROM api_keys WHERE hash = $1")
            .bind(hash)
            .fetch_optional(self.pool())
            .await?;
        usage.byok = NanoUsd(lifetime.map(|r| r.try_get("byok_usage_nano")).transpose()?.unwrap_or(0));
        Ok(usage)
    }

    /// Every key's spend in the UTC day, week and month containing
    /// `now_ms`, with their BYOK spend, for one account (keys without
    /// generations are absent).
    pub async fn account_period_usage(
        &self,
        account_id: &str,
        now_ms: i64,
    ) -> Result<std::collections::HashMap<String, PeriodUsage>, StoreError> {
        let b = period_bounds(now_ms);
        let sql = format!(
            "SELECT key_hash, {PERIOD_SUMS} FROM generations WHERE account_id = $7 AND created_at >= $8 GROUP BY key_hash"
        );
        let rows = sqlx::query(&sql)
            .bind(b[0])
            .bind(b[1])
            .bind(b[2])
            .bind(b[3])
            .bind(b[4])
            .bind(b[5])
            .bind(account_id)
            .bind(b[2].min(b[4]))
            .fetch_all(self.pool())
            .await?;
        let mut out = std::collections::HashMap::new();
        for r in &rows {
            out.insert(r.try_get::<String, _>("key_hash")?, period_usage_from_row(r)?);
        }
        let lifetimes =
            sqlx::query("SELECT hash, byok_usage_nano FROM api_keys WHERE account_id = $1 AND byok_usage_nano <> 0")
                .bind(account_id)
                .fetch_all(self.pool())
                .await?;
        for r in &lifetimes {
            let usage: &mut PeriodUsage = out.entry(r.try_get::<String, _>("hash")?).or_default();
            usage.byok = NanoUsd(r.try_get("byok_usage_nano")?);
        }
        Ok(out)
    }

    /// What a key has spent in `[start, end)` (Unix ms), or over its whole
    /// life when `window` is `None`: the number its limit is checked against.
    /// With `include_byok`, its BYOK spend (list cost) counts too.
    pub async fn key_usage_in(
        &self,
        hash: &str,
        window: Option<(i64, i64)>,
        include_byok: bool,
    ) -> Result<NanoUsd, StoreError> {
        let row = match window {
            None if include_byok => {
                sqlx::query("SELECT CAST(usage_nano + byok_usage_nano AS BIGINT) AS used FROM api_keys WHERE hash = $1")
                    .bind(hash)
                    .fetch_optional(self.pool())
                    .await?
            }
            None => {
                sqlx::query("SELECT usage_nano AS used FROM api_keys WHERE hash = $1")
                    .bind(hash)
                    .fetch_optional(self.pool())
                    .await?
            }
            Some((start, end)) => Some(
                sqlx::query(&format!(
                    "SELECT CAST(COALESCE(SUM({}), 0) AS BIGINT) AS used FROM generations \
                     WHERE key_hash = $1 AND created_at >= $2 AND created_at < $3",
                    if include_byok { "cost_nano + byok_cost_nano" } else { "cost_nano" }
                ))
                .bind(hash)
                .bind(start)
                .bind(end)
                .fetch_one(self.pool())
                .await?,
            ),
        };
        Ok(row.map(|r| r.try_get("used")).transpose()?.map(NanoUsd).unwrap_or_default())
    }

    /// Disables or re-enables the key whose hash, name or label matches
    /// `which` exactly; returns how many keys changed.
    pub async fn set_key_disabled(&self, which: &str, disabled: bool) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE api_keys SET disabled = $1, updated_at = $2 \
             WHERE (hash = $3 OR name = $4 OR label = $5) AND deleted_at IS NULL",
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
