//! Accounts and their credits (the ledger's grants and usage debits).

use rand::RngCore;
use sqlx::Row;
use switchyard_api::NanoUsd;

use crate::keys::NewKey;
use crate::{Store, StoreError, now_ms};

/// How an account pays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Billing {
    /// Usage is tracked; no balance is required (the operator's own account).
    Postpaid,
    /// Requests for paid models need a positive balance.
    Prepaid,
}

impl Billing {
    /// Stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Billing::Postpaid => "postpaid",
            Billing::Prepaid => "prepaid",
        }
    }

    fn parse(s: &str) -> Result<Billing, StoreError> {
        match s {
            "postpaid" => Ok(Billing::Postpaid),
            "prepaid" => Ok(Billing::Prepaid),
            other => Err(StoreError::Corrupt(format!("billing `{other}`"))),
        }
    }
}

/// An account: the owner of keys, credits and generations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// `acct_<hex>`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// How it pays.
    pub billing: Billing,
    /// Unix milliseconds.
    pub created_at: i64,
}

/// An account's money: everything granted and everything used.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Credits {
    /// Sum of grants, refunds and adjustments.
    pub total_credits: NanoUsd,
    /// Sum of usage debits.
    pub total_usage: NanoUsd,
}

impl Credits {
    /// What is left to spend.
    pub fn balance(&self) -> NanoUsd {
        NanoUsd(self.total_credits.0 - self.total_usage.0)
    }
}

fn account_from_row(row: &sqlx::any::AnyRow) -> Result<Account, StoreError> {
    Ok(Account {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        billing: Billing::parse(&row.try_get::<String, _>("billing")?)?,
        created_at: row.try_get("created_at")?,
    })
}

impl Store {
    /// Creates an account.
    pub async fn create_account(&self, name: &str, billing: Billing) -> Result<Account, StoreError> {
        let mut raw = [0u8; 8];
        rand::rng().fill_bytes(&mut raw);
        let account =
            Account { id: format!("acct_{}", hex::encode(raw)), name: name.to_owned(), billing, created_at: now_ms() };
        sqlx::query("INSERT INTO accounts (id, name, billing, created_at) VALUES ($1, $2, $3, $4)")
            .bind(&account.id)
            .bind(&account.name)
            .bind(billing.as_str())
            .bind(account.created_at)
            .execute(self.pool())
            .await?;
        Ok(account)
    }

    /// The first account ever created (the operator's).
    pub async fn default_account(&self) -> Result<Option<Account>, StoreError> {
        let row = sqlx::query("SELECT id, name, billing, created_at FROM accounts ORDER BY created_at, id LIMIT 1")
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(account_from_row).transpose()
    }

    /// One account by id.
    pub async fn account(&self, id: &str) -> Result<Account, StoreError> {
        let row = sqlx::query("SELECT id, name, billing, created_at FROM accounts WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(account_from_row).transpose()?.ok_or_else(|| StoreError::NotFound(format!("account {id}")))
    }

    /// Every account.
    pub async fn accounts(&self) -> Result<Vec<Account>, StoreError> {
        let rows = sqlx::query("SELECT id, name, billing, created_at FROM accounts ORDER BY created_at, id")
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(account_from_row).collect()
    }

    /// Switches an account between prepaid and postpaid.
    pub async fn set_billing(&self, id: &str, billing: Billing) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE accounts SET billing = $1 WHERE id = $2")
            .bind(billing.as_str())
            .bind(id)
            .execute(self.pool())
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("account {id}")));
        }
        Ok(())
    }

    /// On an empty database: creates the operator's postpaid account and a
    /// management key, returning the key's plaintext (shown once).
    pub async fn bootstrap(&self) -> Result<Option<(Account, NewKey)>, StoreError> {
        if self.default_account().await?.is_some() {
            return Ok(None);
        }
        let account = self.create_account("default", Billing::Postpaid).await?;
        let key = self.create_key(&account.id, "admin", true, None).await?;
        Ok(Some((account, key)))
    }

    /// Appends a grant to the ledger.
    pub async fn grant_credits(&self, account_id: &str, amount: NanoUsd, note: &str) -> Result<(), StoreError> {
        self.account(account_id).await?;
        sqlx::query(
            "INSERT INTO credit_ledger (account_id, kind, amount_nano, generation_id, note, created_at) VALUES ($1, 'grant', $2, NULL, $3, $4)",
        )
        .bind(account_id)
        .bind(amount.0)
        .bind(note)
        .bind(now_ms())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Totals from the ledger.
    pub async fn credits(&self, account_id: &str) -> Result<Credits, StoreError> {
        let row = sqlx::query(
            "SELECT CAST(COALESCE(SUM(CASE WHEN kind = 'usage' THEN 0 ELSE amount_nano END), 0) AS BIGINT) AS credits, \
             CAST(COALESCE(SUM(CASE WHEN kind = 'usage' THEN -amount_nano ELSE 0 END), 0) AS BIGINT) AS used \
             FROM credit_ledger WHERE account_id = $1",
        )
        .bind(account_id)
        .fetch_one(self.pool())
        .await?;
        Ok(Credits { total_credits: NanoUsd(row.try_get("credits")?), total_usage: NanoUsd(row.try_get("used")?) })
    }
}
