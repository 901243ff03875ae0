//! Persistence: accounts, API keys (hashed), the credit ledger and
//! generations. One code path over SQLite (the zero-setup default, WAL mode)
//! and Postgres (fleets), through sqlx's `Any` driver; migrations embedded.

#![forbid(unsafe_code)]

mod accounts;
mod activity;
mod auth_codes;
mod byok;
mod generations;
mod guardrails;
mod keys;
mod ledger;
mod links;
mod members;
mod migrate;
mod period;
mod presets;
mod workspaces;
mod writer;

use std::path::Path;
use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Executor};

pub use accounts::{Account, Billing, Credits};
pub use activity::{ActivityRow, DAY_MS, parse_utc_date, utc_date, utc_day};
pub use auth_codes::{CODE_TTL_MS, ChallengeMethod, CodeRequest, ExchangeRefusal, NewCode};
pub use byok::{ByokPatch, ByokPriority, ByokRecord, CryptoError, MasterKey, NewByok, Sealed, Secret};
pub use generations::GenerationRecord;
pub use guardrails::{FilterAction, Guardrail, GuardrailSpec, PiiKind, PiiRule, RegexFilter};
pub use keys::{KeyPatch, KeyRecord, KeySpec, NewKey, PeriodUsage, generate_key, hash_key};
pub use ledger::{LedgerCheck, LedgerEntry, MAX_REPORTED, Offenders};
pub use members::{Member, MemberPatch, MemberRole};
pub use period::{LimitReset, civil_from_days, days_from_civil, days_in_month};
pub use presets::{PRESET_SLUG_MAX, Preset, valid_preset_slug};
pub use workspaces::{WORKSPACE_SLUG_MAX, Workspace, WorkspacePatch, valid_workspace_slug};
pub use writer::{GenerationSink, GenerationWriter};

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused or failed.
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    /// The data directory could not be created.
    #[error("cannot create data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A lookup found nothing.
    #[error("{0} not found")]
    NotFound(String),
    /// A stored value is not what the schema promises.
    #[error("corrupt stored value: {0}")]
    Corrupt(String),
    /// A change refused because of what is stored (a slug in use, a
    /// workspace that still has keys).
    #[error("{0}")]
    Conflict(String),
    /// An argument the store refuses (e.g. a malformed slug).
    #[error("{0}")]
    Invalid(String),
}

/// Which SQL dialect the pool speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite file.
    Sqlite,
    /// Shared Postgres.
    Postgres,
}

/// The database handle; cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

impl Store {
    /// Opens (creating if needed) `switchyard.db` in `data_dir`, in WAL mode,
    /// and applies migrations.
    pub async fn open_data_dir(data_dir: &Path) -> Result<Store, StoreError> {
        std::fs::create_dir_all(data_dir)
            .map_err(|source| StoreError::DataDir { path: data_dir.display().to_string(), source })?;
        let path = data_dir.join("switchyard.db");
        Store::connect(&format!("sqlite://{}?mode=rwc", path.display())).await
    }

    /// Connects to `sqlite://...` or `postgres://...` and applies migrations.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        install_default_drivers();
        let backend = if url.starts_with("postgres") { Backend::Postgres } else { Backend::Sqlite };
        let max = if backend == Backend::Sqlite { 4 } else { 16 };
        let pool = AnyPoolOptions::new()
            .max_connections(max)
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL lets the CLI and readers work while the server writes;
                        // busy_timeout makes a concurrent writer wait instead of failing.
                        conn.execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000; PRAGMA foreign_keys=ON;")
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect(url)
            .await?;
        let store = Store { pool, backend };
        migrate::run(&store).await?;
        Ok(store)
    }

    /// The SQL dialect in use.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Closes the pool, waiting for connections to finish.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

impl FromStr for Backend {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "sqlite" => Ok(Backend::Sqlite),
            "postgres" => Ok(Backend::Postgres),
            other => Err(StoreError::Corrupt(format!("unknown backend {other}"))),
        }
    }
}
