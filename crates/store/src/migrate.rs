//! Embedded, ordered, idempotent schema migrations for each dialect.

use sqlx::{Executor, Row};

use crate::{Backend, Store, StoreError, now_ms};

const SQLITE: &[(i64, &str)] = &[
    (1, include_str!("../migrations/sqlite/0001_init.sql")),
    (2, include_str!("../migrations/sqlite/0002_generation_routing.sql")),
    (3, include_str!("../migrations/sqlite/0003_key_limits.sql")),
    (4, include_str!("../migrations/sqlite/0004_presets.sql")),
    (5, include_str!("../migrations/sqlite/0005_guardrails.sql")),
    (6, include_str!("../migrations/sqlite/0006_byok.sql")),
    (7, include_str!("../migrations/sqlite/0007_auth_codes.sql")),
    (8, include_str!("../migrations/sqlite/0008_byok_cost.sql")),
    (9, include_str!("../migrations/sqlite/0009_key_byok_usage.sql")),
    (10, include_str!("../migrations/sqlite/0010_workspaces.sql")),
    (11, include_str!("../migrations/sqlite/0011_organizations.sql")),
    (12, include_str!("../migrations/sqlite/0012_response_cache.sql")),
];
const POSTGRES: &[(i64, &str)] = &[
    (1, include_str!("../migrations/postgres/0001_init.sql")),
    (2, include_str!("../migrations/postgres/0002_generation_routing.sql")),
    (3, include_str!("../migrations/postgres/0003_key_limits.sql")),
    (4, include_str!("../migrations/postgres/0004_presets.sql")),
    (5, include_str!("../migrations/postgres/0005_guardrails.sql")),
    (6, include_str!("../migrations/postgres/0006_byok.sql")),
    (7, include_str!("../migrations/postgres/0007_auth_codes.sql")),
    (8, include_str!("../migrations/postgres/0008_byok_cost.sql")),
    (9, include_str!("../migrations/postgres/0009_key_byok_usage.sql")),
    (10, include_str!("../migrations/postgres/0010_workspaces.sql")),
    (11, include_str!("../migrations/postgres/0011_organizations.sql")),
    (12, include_str!("../migrations/postgres/0012_response_cache.sql")),
];

/// Applies every migration the database has not had, each in its own
/// transaction.
pub(crate) async fn run(store: &Store) -> Result<(), StoreError> {
    let pool = store.pool();
    pool.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
    )
    .await?;
    // Every listed migration not yet applied, in version order: one added
    // with a lower number than the latest applied still runs.
    let applied: Vec<i64> = sqlx::query("SELECT version FROM schema_migrations")
        .fetch_all(pool)
        .await?
        .iter()
        .map(|r| r.try_get("version"))
        .collect::<Result<_, _>>()?;
    let mut list = match store.backend() {
        Backend::Sqlite => SQLITE,
        Backend::Postgres => POSTGRES,
    }
    .to_vec();
    list.sort_by_key(|(v, _)| *v);
    for (version, sql) in list.into_iter().filter(|(v, _)| !applied.contains(v)) {
        let mut tx = pool.begin().await?;
        for stmt in statements(sql) {
            tx.execute(stmt.as_str()).await?;
        }
        sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)")
            .bind(version)
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
    }
    Ok(())
}

/// The statements of a migration file: `--` comment lines removed (a `;`
/// in a comment must not end a statement), then split on `;`.
fn statements(sql: &str) -> Vec<String> {
    let code: String = sql.lines().filter(|l| !l.trim_start().starts_with("--")).map(|l| format!("{l}\n")).collect();
    code.split(';').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn semicolons_in_comments_do_not_split_statements() {
        let sql = "-- one; two\nCREATE TABLE a (x INT);\n  -- three;\nCREATE INDEX i ON a(x)\n";
        assert_eq!(statements(sql), ["CREATE TABLE a (x INT)", "CREATE INDEX i ON a(x)"]);
    }
}
