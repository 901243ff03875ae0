//! Link tables (`guardrail_keys`, `member_guardrails`, `workspace_members`):
//! rows pairing one thing with another, added in bulk and removed one by one.

use crate::{Store, StoreError, now_ms};

/// One link table: its name and its two columns. The names are constants of
/// this crate, never input, so they may be formatted into SQL.
pub(crate) struct Link {
    pub table: &'static str,
    pub owner: &'static str,
    pub other: &'static str,
}

impl Link {
    /// Links `owner` to each of `others` in one transaction; returns how many
    /// links are new.
    pub async fn add(&self, store: &Store, owner: &str, others: &[String]) -> Result<u64, StoreError> {
        let sql = format!(
            "INSERT INTO {t} ({o}, {x}, created_at) VALUES ($1, $2, $3) ON CONFLICT ({o}, {x}) DO NOTHING",
            t = self.table,
            o = self.owner,
            x = self.other
        );
        let now = now_ms();
        let mut tx = store.pool().begin().await?;
        let mut added = 0;
        for other in others {
            let done = sqlx::query(&sql).bind(owner).bind(other).bind(now).execute(&mut *tx).await?;
            added += done.rows_affected();
        }
        tx.commit().await?;
        Ok(added)
    }

    /// Unlinks `owner` from `other`; false if they were not linked.
    pub async fn remove(&self, store: &Store, owner: &str, other: &str) -> Result<bool, StoreError> {
        let sql = format!("DELETE FROM {} WHERE {} = $1 AND {} = $2", self.table, self.owner, self.other);
        let done = sqlx::query(&sql).bind(owner).bind(other).execute(store.pool()).await?;
        Ok(done.rows_affected() > 0)
    }
}
