//! A throwaway Postgres database per test, on the machine's server
//! (`SWITCHYARD_TEST_POSTGRES`, default postgres://postgres@127.0.0.1:5432/test).

use sqlx::{Connection, Executor, PgConnection};

/// A database created for one test; [`TestPg::drop_db`] removes it.
pub struct TestPg {
    /// Its URL.
    pub url: String,
    name: String,
    admin: PgConnection,
}

/// Creates `switchyard_test_<pid>_<suffix>` afresh.
pub async fn fresh_postgres(suffix: &str) -> TestPg {
    let admin_url =
        std::env::var("SWITCHYARD_TEST_POSTGRES").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let name = format!("switchyard_test_{}_{suffix}", std::process::id());
    let mut admin = PgConnection::connect(&admin_url).await.expect("Postgres at SWITCHYARD_TEST_POSTGRES");
    // WITH (FORCE): a connection a pool is still closing must not fail the drop.
    admin.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str()).await.unwrap();
    admin.execute(format!("CREATE DATABASE {name}").as_str()).await.unwrap();
    let url = format!("{}/{name}", admin_url.rsplit_once('/').unwrap().0);
    TestPg { url, name, admin }
}

impl TestPg {
    /// Drops the database.
    pub async fn drop_db(mut self) {
        self.admin.execute(format!("DROP DATABASE {} WITH (FORCE)", self.name).as_str()).await.unwrap();
    }
}
