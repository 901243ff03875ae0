//! Daily activity: an account's generations summed per UTC day, model and
//! serving endpoint (what `GET /api/v1/activity` returns), and the UTC
//! calendar helpers it needs.

use crate::period::{civil_from_days, days_from_civil};
use std::ops::RangeInclusive;

use sqlx::Row;
use switchyard_api::NanoUsd;

use crate::{Store, StoreError};

/// Milliseconds in a day; `created_at / DAY_MS` is the UTC day number.
pub const DAY_MS: i64 = 86_400_000;

/// One group of [`Store::activity`]: one UTC day, model and endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActivityRow {
    /// Days since 1970-01-01 (UTC); see [`utc_date`].
    pub day: i64,
    /// Catalog slug that served.
    pub model: String,
    /// Display name of the serving provider.
    pub provider_name: Option<String>,
    /// Slug of the serving provider.
    pub provider_slug: Option<String>,
    /// The provider's model id.
    pub upstream_model: Option<String>,
    /// What was charged.
    pub usage: NanoUsd,
    /// The providers' list cost of the generations served with the
    /// account's own keys (BYOK), billed to the account by its providers.
    pub byok_usage: NanoUsd,
    /// Counted generations.
    pub requests: i64,
    /// Prompt tokens.
    pub prompt_tokens: i64,
    /// Completion tokens.
    pub completion_tokens: i64,
    /// Reasoning tokens (within completion).
    pub reasoning_tokens: i64,
}

/// Which generations count as activity: those that succeeded (status 200,
/// which includes streams that started) and any other that was billed (a
/// stream the client abandoned after content), so that the activity's usage
/// always adds up to the ledger's usage debits. Failed, unbilled requests
/// are left out, as OpenRouter counts only billed requests.
const COUNTED: &str = "(status = 200 OR cost_nano <> 0)";

impl Store {
    /// The account's counted generations (see [`COUNTED`]) created on the
    /// UTC days `days` (day numbers, inclusive), optionally of one key only,
    /// summed per day, model, provider and upstream model; newest day first,
    /// then highest usage first.
    pub async fn activity(
        &self,
        account_id: &str,
        days: RangeInclusive<i64>,
        key_hash: Option<&str>,
    ) -> Result<Vec<ActivityRow>, StoreError> {
        self.activity_in(account_id, days, key_hash, None).await
    }

    /// [`Store::activity`], only of the keys in workspace `workspace_id`
    /// when it is given (keys deleted since count: their generations stay).
    pub async fn activity_in(
        &self,
        account_id: &str,
        days: RangeInclusive<i64>,
        key_hash: Option<&str>,
        workspace_id: Option<&str>,
    ) -> Result<Vec<ActivityRow>, StoreError> {
        self.activity_of(account_id, days, key_hash, workspace_id, None).await
    }

    /// [`Store::activity_in`], only of the keys of member `member_id` when
    /// it is given.
    pub async fn activity_of(
        &self,
        account_id: &str,
        days: RangeInclusive<i64>,
        key_hash: Option<&str>,
        workspace_id: Option<&str>,
        member_id: Option<&str>,
    ) -> Result<Vec<ActivityRow>, StoreError> {
        let by_key = if key_hash.is_some() { " AND key_hash = $4" } else { "" };
        let mut n = if key_hash.is_some() { 5 } else { 4 };
        let mut by_workspace = String::new();
        for (column, value) in [("workspace_id", workspace_id), ("member_id", member_id)] {
            if value.is_some() {
                by_workspace.push_str(&format!(" AND key_hash IN (SELECT hash FROM api_keys WHERE {column} = ${n})"));
                n += 1;
            }
        }
        // SUM over BIGINT is NUMERIC on Postgres: cast back to BIGINT. The
        // day bucket is integer division on both dialects (created_at >= 0).
        let sql = format!(
            "SELECT created_at / {DAY_MS} AS day, model, provider_name, provider_slug, upstream_model, \
             CAST(SUM(cost_nano) AS BIGINT) AS usage_nano, \
             CAST(SUM(byok_cost_nano) AS BIGINT) AS byok_usage_nano, CAST(COUNT(*) AS BIGINT) AS requests, \
             CAST(SUM(tokens_prompt) AS BIGINT) AS prompt_tokens, \
             CAST(SUM(tokens_completion) AS BIGINT) AS completion_tokens, \
             CAST(SUM(tokens_reasoning) AS BIGINT) AS reasoning_tokens \
             FROM generations \
             WHERE account_id = $1 AND created_at >= $2 AND created_at < $3 AND {COUNTED}{by_key}{by_workspace} \
             GROUP BY created_at / {DAY_MS}, model, provider_name, provider_slug, upstream_model \
             ORDER BY day DESC, usage_nano DESC, model, provider_slug, upstream_model"
        );
        let mut q = sqlx::query(&sql)
            .bind(account_id)
            .bind(days.start().saturating_mul(DAY_MS))
            .bind(days.end().saturating_add(1).saturating_mul(DAY_MS));
        if let Some(hash) = key_hash {
            q = q.bind(hash);
        }
        for value in [workspace_id, member_id].into_iter().flatten() {
            q = q.bind(value);
        }
        let rows = q.fetch_all(self.pool()).await?;
        rows.iter()
            .map(|r| {
                Ok(ActivityRow {
                    day: r.try_get("day")?,
                    model: r.try_get("model")?,
                    provider_name: r.try_get("provider_name")?,
                    provider_slug: r.try_get("provider_slug")?,
                    upstream_model: r.try_get("upstream_model")?,
                    usage: NanoUsd(r.try_get("usage_nano")?),
                    byok_usage: NanoUsd(r.try_get("byok_usage_nano")?),
                    requests: r.try_get("requests")?,
                    prompt_tokens: r.try_get("prompt_tokens")?,
                    completion_tokens: r.try_get("completion_tokens")?,
                    reasoning_tokens: r.try_get("reasoning_tokens")?,
                })
            })
            .collect()
    }
}

/// The UTC day number of a Unix-millisecond time.
pub fn utc_day(ms: i64) -> i64 {
    ms.div_euclid(DAY_MS)
}

/// `YYYY-MM-DD` of a UTC day number.
pub fn utc_date(day: i64) -> String {
    let (y, m, d) = civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The UTC day number of a strict `YYYY-MM-DD` date; `None` if malformed or
/// not a real calendar date.
pub fn parse_utc_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        part.bytes().all(|c| c.is_ascii_digit()).then(|| part.parse().ok()).flatten()
    };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let (m, d) = (m as u32, d as u32);
    let day = days_from_civil(y, m, d);
    // 2025-02-30 would land on March 2nd: refuse dates that do not round-trip.
    (civil_from_days(day) == (y, m, d)).then_some(day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_and_bad_ones_are_refused() {
        assert_eq!(utc_date(0), "1970-01-01");
        assert_eq!(utc_date(utc_day(1_764_000_000_123)), "2025-11-24");
        assert_eq!(parse_utc_date("2025-11-24"), Some(utc_day(1_764_000_000_123)));
        assert_eq!(parse_utc_date("1970-01-01"), Some(0));
        assert_eq!(parse_utc_date("2024-02-29").map(utc_date).as_deref(), Some("2024-02-29"));
        for day in [-1, 59, 60, 365, 10_957, 20_000, 30_000] {
            assert_eq!(parse_utc_date(&utc_date(day)), Some(day));
        }
        for bad in ["2025-02-29", "2025-13-01", "2025-00-10", "2025-1-01", "2025-01-32", "20250101", "", "yesterday"] {
            assert_eq!(parse_utc_date(bad), None, "{bad}");
        }
        assert_eq!(parse_utc_date("+025-01-01"), None);
        assert_eq!(utc_day(-1), -1);
    }
}
