//! Embedded, ordered, idempotent schema migrations for each dialect.

use sqlx::{Executor, Row};

use crate::{Backend, Store, StoreError, now_ms};

const SQLITE: &[(i64, &str)] = &[
    (1, include_str!("../migrations/sqlite/0001_init.sql")),
    (2, include_str!("../migrations/sqlite/0002_generation_routing.sql")),
    (3, include_str!("../migrations/sqlite/0003_key_limits.sql")),
    (4, include_str!("../migrations/sqlite/0004_presets.sql")),
];
const POSTGRES: &[(i64, &str)] = &[
    (1, include_str!("../migrations/postgres/0001_init.sql")),
    (2, include_str!("../migrations/postgres/0002_generation_routing.sql")),
    (3, include_str!("../migrations/postgres/0003_key_limits.sql")),
    (4, include_str!("../migrations/postgres/0004_presets.sql")),
];

/// Applies every migration newer than the database's version, each in its
/// own transaction.
pub(crate) async fn run(store: &Store) -> Result<(), StoreError> {
    let pool = store.pool();
    pool.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
    )
    .await?;
    let row = sqlx::query("SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations").fetch_one(pool).await?;
    let current: i64 = row.try_get("v")?;
    let list = match store.backend() {
        Backend::Sqlite => SQLITE,
        Backend::Postgres => POSTGRES,
    };
    for &(version, sql) in list.iter().filter(|(v, _)| *v > current) {
        let mut tx = pool.begin().await?;
        for stmt in sql.split(';').map(str::trim).filter(|s| !s.is_empty()) {
            tx.execute(stmt).await?;
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
