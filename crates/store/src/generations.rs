//! Generation records: one row per request, with its tokens, cost and timings.

use serde::Serialize;
use sqlx::Row;
use switchyard_api::NanoUsd;

use crate::{Backend, Store, StoreError};

/// Everything recorded about one request.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct GenerationRecord {
    /// `gen-<unix-ms>-<random>`.
    pub id: String,
    /// Owning account.
    pub account_id: String,
    /// Hash of the key that made the request.
    pub key_hash: String,
    /// Catalog slug that served (or was asked for).
    pub model: String,
    /// Display name of the serving provider.
    pub provider_name: Option<String>,
    /// Slug of the serving provider.
    pub provider_slug: Option<String>,
    /// The provider's model id.
    pub upstream_model: Option<String>,
    /// The provider's response id.
    pub upstream_id: Option<String>,
    /// Prompt tokens.
    pub tokens_prompt: i64,
    /// Completion tokens.
    pub tokens_completion: i64,
    /// Reasoning tokens (within completion).
    pub tokens_reasoning: i64,
    /// Cached prompt tokens.
    pub tokens_cached: i64,
    /// Prompt tokens written to cache.
    pub tokens_cache_write: i64,
    /// True when the provider reported no usage and the gateway counted.
    pub usage_estimated: bool,
    /// Charged.
    #[serde(skip)]
    pub cost: NanoUsd,
    /// The provider's list cost of a BYOK generation (billed to the account
    /// by its provider, not charged here); zero otherwise.
    #[serde(skip)]
    pub byok_cost: NanoUsd,
    /// Request start to last byte, ms.
    pub latency_ms: i64,
    /// Request start to first content, ms (streams).
    pub ttft_ms: Option<i64>,
    /// First content to last byte, ms.
    pub generation_time_ms: i64,
    /// Normalised finish reason.
    pub finish_reason: Option<String>,
    /// The provider's finish reason.
    pub native_finish_reason: Option<String>,
    /// Streamed over SSE.
    pub streamed: bool,
    /// The client went away before the end.
    pub cancelled: bool,
    /// HTTP status returned to the client (200 for streams once started).
    pub status: u16,
    /// Error message, if the request failed.
    pub error: Option<String>,
    /// Every attempt made: provider, status, timings, reason.
    pub attempts: serde_json::Value,
    /// How the request was routed: the plan and what was filtered out, why.
    pub routing: Option<serde_json::Value>,
    /// Unix milliseconds.
    pub created_at: i64,
    /// For an answer replayed from the response cache: the generation that
    /// produced it.
    pub response_cache_source_id: Option<String>,
}

const COLUMNS: &str = "id, account_id, key_hash, model, provider_name, provider_slug, upstream_model, upstream_id, \
    tokens_prompt, tokens_completion, tokens_reasoning, tokens_cached, tokens_cache_write, usage_estimated, cost_nano, \
    byok_cost_nano, latency_ms, ttft_ms, generation_time_ms, finish_reason, native_finish_reason, streamed, cancelled, status, error, \
    attempts, routing, created_at, response_cache_source_id";

/// Rows per multi-row INSERT: 29 columns x 200 rows stays far below every
/// database's bind-parameter limit.
const ROWS_PER_STATEMENT: usize = 200;

/// `($1, ..., $k), ($k+1, ...)` for `rows` rows of `cols` parameters.
/// SQLite gets anonymous `?` instead: looking up a numbered parameter's name
/// scans all of them, which makes binding a large statement quadratic.
fn placeholders(backend: Backend, rows: usize, cols: usize) -> String {
    placeholders_with(backend, rows, &vec![""; cols])
}

/// Like [`placeholders`], but a non-empty entry of `fixed` is written as a
/// literal instead of a parameter.
fn placeholders_with(backend: Backend, rows: usize, fixed: &[&str]) -> String {
    let mut n = 0;
    let mut out = String::with_capacity(rows * fixed.len() * 5);
    for r in 0..rows {
        out.push_str(if r == 0 { "(" } else { ", (" });
        for (c, lit) in fixed.iter().enumerate() {
            if c > 0 {
                out.push_str(", ");
            }
            if lit.is_empty() && backend == Backend::Sqlite {
                out.push('?');
            } else if lit.is_empty() {
                n += 1;
                out.push('$');
                out.push_str(&n.to_string());
            } else {
                out.push_str(lit);
            }
        }
        out.push(')');
    }
    out
}

impl Store {
    /// Writes a batch of generations with their ledger debits and key usage,
    /// in one transaction of a few multi-row statements (one statement per
    /// record would cost more than the request it records).
    pub async fn insert_generations(&self, batch: &[GenerationRecord]) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        for part in batch.chunks(ROWS_PER_STATEMENT) {
            let sql =
                format!("INSERT INTO generations ({COLUMNS}) VALUES {}", placeholders(self.backend(), part.len(), 29));
            // Not cached as a prepared statement: its text varies with the row count.
            let mut q = sqlx::query(&sql).persistent(false);
            for g in part {
                q = q
                    .bind(&g.id)
                    .bind(&g.account_id)
                    .bind(&g.key_hash)
                    .bind(&g.model)
                    .bind(&g.provider_name)
                    .bind(&g.provider_slug)
                    .bind(&g.upstream_model)
                    .bind(&g.upstream_id)
                    .bind(g.tokens_prompt)
                    .bind(g.tokens_completion)
                    .bind(g.tokens_reasoning)
                    .bind(g.tokens_cached)
                    .bind(g.tokens_cache_write)
                    .bind(i64::from(g.usage_estimated))
                    .bind(g.cost.0)
                    .bind(g.byok_cost.0)
                    .bind(g.latency_ms)
                    .bind(g.ttft_ms)
                    .bind(g.generation_time_ms)
                    .bind(&g.finish_reason)
                    .bind(&g.native_finish_reason)
                    .bind(i64::from(g.streamed))
                    .bind(i64::from(g.cancelled))
                    .bind(i64::from(g.status))
                    .bind(&g.error)
                    .bind(g.attempts.to_string())
                    .bind(g.routing.as_ref().map(ToString::to_string))
                    .bind(g.created_at)
                    .bind(&g.response_cache_source_id);
            }
            q.execute(&mut *tx).await?;

            let costed: Vec<&GenerationRecord> = part.iter().filter(|g| g.cost.0 != 0).collect();
            if !costed.is_empty() {
                let sql = format!(
                    "INSERT INTO credit_ledger (account_id, kind, amount_nano, generation_id, created_at) VALUES {}",
                    placeholders_with(self.backend(), costed.len(), &["", "'usage'", "", "", ""])
                );
                let mut q = sqlx::query(&sql).persistent(false);
                for g in &costed {
                    q = q.bind(&g.account_id).bind(-g.cost.0).bind(&g.id).bind(g.created_at);
                }
                q.execute(&mut *tx).await?;
            }
        }
        // Per key: (credit spend, BYOK list spend) of the batch.
        let mut per_key: std::collections::BTreeMap<&str, (i64, i64)> = std::collections::BTreeMap::new();
        for g in batch.iter().filter(|g| g.cost.0 != 0 || g.byok_cost.0 != 0) {
            let sums = per_key.entry(g.key_hash.as_str()).or_default();
            sums.0 += g.cost.0;
            sums.1 += g.byok_cost.0;
        }
        for (hash, (cost, byok)) in per_key {
            sqlx::query(
                "UPDATE api_keys SET usage_nano = usage_nano + $1, byok_usage_nano = byok_usage_nano + $2 \
                 WHERE hash = $3",
            )
            .bind(cost)
            .bind(byok)
            .bind(hash)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// One generation by id.
    pub async fn generation(&self, id: &str) -> Result<Option<GenerationRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM generations WHERE id = $1");
        let row = sqlx::query(&sql).bind(id).fetch_optional(self.pool()).await?;
        let Some(r) = row else { return Ok(None) };
        let attempts: String = r.try_get("attempts")?;
        let routing: Option<String> = r.try_get("routing")?;
        Ok(Some(GenerationRecord {
            id: r.try_get("id")?,
            account_id: r.try_get("account_id")?,
            key_hash: r.try_get("key_hash")?,
            model: r.try_get("model")?,
            provider_name: r.try_get("provider_name")?,
            provider_slug: r.try_get("provider_slug")?,
            upstream_model: r.try_get("upstream_model")?,
            upstream_id: r.try_get("upstream_id")?,
            tokens_prompt: r.try_get("tokens_prompt")?,
            tokens_completion: r.try_get("tokens_completion")?,
            tokens_reasoning: r.try_get("tokens_reasoning")?,
            tokens_cached: r.try_get("tokens_cached")?,
            tokens_cache_write: r.try_get("tokens_cache_write")?,
            usage_estimated: r.try_get::<i64, _>("usage_estimated")? != 0,
            cost: NanoUsd(r.try_get("cost_nano")?),
            byok_cost: NanoUsd(r.try_get("byok_cost_nano")?),
            latency_ms: r.try_get("latency_ms")?,
            ttft_ms: r.try_get("ttft_ms")?,
            generation_time_ms: r.try_get("generation_time_ms")?,
            finish_reason: r.try_get("finish_reason")?,
            native_finish_reason: r.try_get("native_finish_reason")?,
            streamed: r.try_get::<i64, _>("streamed")? != 0,
            cancelled: r.try_get::<i64, _>("cancelled")? != 0,
            status: u16::try_from(r.try_get::<i64, _>("status")?).unwrap_or(0),
            error: r.try_get("error")?,
            attempts: serde_json::from_str(&attempts).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            routing: routing
                .map(|r| serde_json::from_str(&r))
                .transpose()
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            created_at: r.try_get("created_at")?,
            response_cache_source_id: r.try_get("response_cache_source_id")?,
        }))
    }

    /// Sum of every generation's cost for an account (for reconciliation).
    pub async fn generations_cost(&self, account_id: &str) -> Result<NanoUsd, StoreError> {
        let row = sqlx::query(
            "SELECT CAST(COALESCE(SUM(cost_nano), 0) AS BIGINT) AS total FROM generations WHERE account_id = $1",
        )
        .bind(account_id)
        .fetch_one(self.pool())
        .await?;
        Ok(NanoUsd(row.try_get("total")?))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn placeholders_number_parameters_across_rows() {
        use crate::Backend::{Postgres, Sqlite};
        assert_eq!(super::placeholders(Postgres, 2, 2), "($1, $2), ($3, $4)");
        assert_eq!(super::placeholders(Sqlite, 2, 2), "(?, ?), (?, ?)");
        let pg = super::placeholders_with(Postgres, 2, &["", "'usage'", ""]);
        assert_eq!(pg, "($1, 'usage', $2), ($3, 'usage', $4)");
    }
}
