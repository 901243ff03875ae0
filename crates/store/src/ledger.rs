//! Reading and reconciling the credit ledger: the latest entries with their
//! running balance, and a check that every account's usage debits match its
//! generations one for one.

use std::collections::BTreeMap;

use sqlx::Row;
use switchyard_api::NanoUsd;

use crate::{Store, StoreError};

/// How many offending ids a [`LedgerCheck`] keeps per kind of problem.
pub const MAX_REPORTED: usize = 10;

/// One row of the credit ledger.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerEntry {
    /// Ledger row id (increasing).
    pub id: i64,
    /// The account.
    pub account_id: String,
    /// `grant`, `usage`, `refund` or `adjustment`.
    pub kind: String,
    /// Signed amount: usage debits are negative.
    pub amount: NanoUsd,
    /// The account's balance right after this row.
    pub balance: NanoUsd,
    /// The generation a usage debit is for.
    pub generation_id: Option<String>,
    /// Free text (grants).
    pub note: Option<String>,
    /// Unix milliseconds.
    pub created_at: i64,
}

/// Offending ids of one kind: how many there are and the first few.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Offenders {
    /// How many.
    pub count: u64,
    /// The first [`MAX_REPORTED`], oldest first.
    pub ids: Vec<String>,
}

impl Offenders {
    fn push(&mut self, id: String) {
        self.count += 1;
        if self.ids.len() < MAX_REPORTED {
            self.ids.push(id);
        }
    }
}

/// One account's reconciliation of its ledger against its generations.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LedgerCheck {
    /// The account.
    pub account_id: String,
    /// Its name (empty for generations of an account that does not exist).
    pub account_name: String,
    /// Generations with a non-zero cost.
    pub costed_generations: u64,
    /// Sum of the cost of every generation.
    pub generations_cost: NanoUsd,
    /// Minus the sum of the `usage` rows of the ledger.
    pub ledger_usage: NanoUsd,
    /// Generations whose usage rows are missing, duplicated or of the wrong
    /// amount (a zero-cost generation must have none).
    pub bad_generations: Offenders,
    /// Usage rows naming no generation, or one missing from this account:
    /// `ledger#<row id>` (`-> <generation id>` when one is named).
    pub orphan_rows: Offenders,
}

impl LedgerCheck {
    /// Ledger usage minus generation cost: zero when they agree.
    pub fn difference(&self) -> NanoUsd {
        NanoUsd(self.ledger_usage.0 - self.generations_cost.0)
    }

    /// True when the ledger and the generations agree exactly.
    pub fn is_ok(&self) -> bool {
        self.difference() == NanoUsd::ZERO && self.bad_generations.count == 0 && self.orphan_rows.count == 0
    }
}

/// The check of account `id`, created (sorted last) for an account id that
/// only generations or ledger rows know.
fn entry(checks: &mut BTreeMap<String, (i64, LedgerCheck)>, id: String) -> &mut LedgerCheck {
    &mut checks.entry(id.clone()).or_insert_with(|| (i64::MAX, LedgerCheck { account_id: id, ..Default::default() })).1
}

impl Store {
    /// The latest `limit` ledger rows, of one account or all, newest first,
    /// each with its account's balance right after it.
    pub async fn ledger_entries(&self, account_id: Option<&str>, limit: i64) -> Result<Vec<LedgerEntry>, StoreError> {
        let filter = if account_id.is_some() { "WHERE account_id = $2" } else { "" };
        let sql = format!(
            "SELECT id, account_id, kind, amount_nano, balance_nano, generation_id, note, created_at FROM ( \
             SELECT id, account_id, kind, amount_nano, generation_id, note, created_at, \
             CAST(SUM(amount_nano) OVER (PARTITION BY account_id ORDER BY id) AS BIGINT) AS balance_nano \
             FROM credit_ledger {filter}) t ORDER BY id DESC LIMIT $1"
        );
        let mut q = sqlx::query(&sql).bind(limit.max(0));
        if let Some(a) = account_id {
            q = q.bind(a);
        }
        let rows = q.fetch_all(self.pool()).await?;
        rows.iter()
            .map(|r| {
                Ok(LedgerEntry {
                    id: r.try_get("id")?,
                    account_id: r.try_get("account_id")?,
                    kind: r.try_get("kind")?,
                    amount: NanoUsd(r.try_get("amount_nano")?),
                    balance: NanoUsd(r.try_get("balance_nano")?),
                    generation_id: r.try_get("generation_id")?,
                    note: r.try_get("note")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }

    /// Reconciles every account (and any account id found only on
    /// generations): total usage debits against total generation cost, each
    /// generation against its usage rows, and each usage row against its
    /// generation. Reads whole tables: an operator's tool, not a hot path.
    pub async fn verify_ledger(&self) -> Result<Vec<LedgerCheck>, StoreError> {
        let mut checks: BTreeMap<String, (i64, LedgerCheck)> = BTreeMap::new();
        let accounts = sqlx::query("SELECT id, name, created_at FROM accounts").fetch_all(self.pool()).await?;
        for r in &accounts {
            let id: String = r.try_get("id")?;
            let check = LedgerCheck { account_id: id.clone(), account_name: r.try_get("name")?, ..Default::default() };
            checks.insert(id, (r.try_get("created_at")?, check));
        }

        let totals = sqlx::query(
            "SELECT account_id, CAST(SUM(cost_nano) AS BIGINT) AS cost, \
             CAST(SUM(CASE WHEN cost_nano <> 0 THEN 1 ELSE 0 END) AS BIGINT) AS costed \
             FROM generations GROUP BY account_id",
        )
        .fetch_all(self.pool())
        .await?;
        for r in &totals {
            let c = entry(&mut checks, r.try_get("account_id")?);
            c.generations_cost = NanoUsd(r.try_get("cost")?);
            c.costed_generations = u64::try_from(r.try_get::<i64, _>("costed")?).unwrap_or(0);
        }
        let debits = sqlx::query(
            "SELECT account_id, CAST(SUM(amount_nano) AS BIGINT) AS amount FROM credit_ledger \
             WHERE kind = 'usage' GROUP BY account_id",
        )
        .fetch_all(self.pool())
        .await?;
        for r in &debits {
            entry(&mut checks, r.try_get("account_id")?).ledger_usage = NanoUsd(-r.try_get::<i64, _>("amount")?);
        }

        // Each generation against the usage rows of its own account naming it.
        let bad = sqlx::query(
            "SELECT g.account_id, g.id FROM generations g LEFT JOIN ( \
             SELECT account_id, generation_id, CAST(COUNT(*) AS BIGINT) AS n, CAST(SUM(amount_nano) AS BIGINT) AS amount \
             FROM credit_ledger WHERE kind = 'usage' AND generation_id IS NOT NULL GROUP BY account_id, generation_id \
             ) l ON l.generation_id = g.id AND l.account_id = g.account_id \
             WHERE (g.cost_nano <> 0 AND COALESCE(l.n, 0) <> 1) OR COALESCE(l.amount, 0) <> -g.cost_nano \
             ORDER BY g.account_id, g.created_at, g.id",
        )
        .fetch_all(self.pool())
        .await?;
        for r in &bad {
            entry(&mut checks, r.try_get("account_id")?).bad_generations.push(r.try_get("id")?);
        }

        // Usage rows whose generation does not exist in their account.
        let orphans = sqlx::query(
            "SELECT l.id, l.account_id, l.generation_id FROM credit_ledger l \
             LEFT JOIN generations g ON g.id = l.generation_id AND g.account_id = l.account_id \
             WHERE l.kind = 'usage' AND g.id IS NULL ORDER BY l.account_id, l.id",
        )
        .fetch_all(self.pool())
        .await?;
        for r in &orphans {
            let row: i64 = r.try_get("id")?;
            let generation: Option<String> = r.try_get("generation_id")?;
            let label = match generation {
                Some(g) => format!("ledger#{row} -> {g}"),
                None => format!("ledger#{row}"),
            };
            entry(&mut checks, r.try_get("account_id")?).orphan_rows.push(label);
        }

        let mut out: Vec<(i64, LedgerCheck)> = checks.into_values().collect();
        out.sort_by(|a, b| (a.0, &a.1.account_id).cmp(&(b.0, &b.1.account_id)));
        Ok(out.into_iter().map(|(_, c)| c).collect())
    }
}
