//! Shared by the store test files: `on_both_backends` runs a test on SQLite and on a fresh
//! PostgreSQL database.
#![allow(dead_code)]

// Every store test runs on SQLite and on PostgreSQL, through `on_both_backends`.
//
// PostgreSQL: `RAMAL_TEST_POSTGRES` (default `postgres://postgres@127.0.0.1:5432/postgres`)
// is the server; each test gets a fresh database, dropped afterwards. If it cannot be
// reached the test says so loudly and runs on SQLite only — except under `CI=true`, where
// that is a failure.

use ramal_store::{Backend, Store};
use sqlx::Connection;
use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};

static NEXT: AtomicU32 = AtomicU32::new(0);

pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

pub async fn on_both_backends<F, Fut>(test: F)
where
    F: Fn(Store) -> Fut,
    Fut: Future<Output = ()>,
{
    on_both_backends_with_url(|store, _url| test(store)).await
}

/// As [`on_both_backends`], also giving the database's URL, for a test that looks at the
/// tables with its own connection.
pub async fn on_both_backends_with_url<F, Fut>(test: F)
where
    F: Fn(Store, String) -> Fut,
    Fut: Future<Output = ()>,
{
    // SQLite: a file, as in production (WAL needs a real file).
    let path = std::env::temp_dir().join(format!("{}.db", unique("ramal_store_test")));
    let sqlite_url = format!("sqlite://{}", path.display());
    let store = Store::open(&sqlite_url).await.expect("SQLite opens");
    assert_eq!(store.backend(), Backend::Sqlite);
    test(store.clone(), sqlite_url).await;
    store.close().await;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }

    // PostgreSQL: a fresh database on the server.
    let server = std::env::var("RAMAL_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let mut admin = match sqlx::PgConnection::connect(&server).await {
        Ok(connection) => connection,
        Err(error) => {
            let message = format!(
                "\n!!! PostgreSQL is not reachable at {server} ({error}): this test ran on SQLite ONLY.\n\
                 !!! Start it (pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start) or set RAMAL_TEST_POSTGRES.\n"
            );
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "{message}under CI this is a failure"
            );
            eprintln!("{message}");
            return;
        }
    };
    // Generated here (process id and a counter), so safe to put in the SQL text.
    let database = unique("ramal_test");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {database}")))
        .execute(&mut admin)
        .await
        .expect("create the test database");
    let url = match server.rsplit_once('/') {
        Some((base, _)) => format!("{base}/{database}"),
        None => panic!("RAMAL_TEST_POSTGRES must end with /DATABASE"),
    };
    let store = Store::open(&url).await.expect("PostgreSQL opens");
    assert_eq!(store.backend(), Backend::Postgres);
    test(store.clone(), url).await;
    store.close().await;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE {database} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await
    .expect("drop the test database");
}

/// Runs `statement`, with `$1` bound to `value`, on the database at `url` through a
/// connection of its own — for tests that look at tables the store has no query for. The
/// first column of the first row, if the statement returns rows.
pub async fn raw_scalar(url: &str, statement: &str, value: i64) -> Option<i64> {
    let query = sqlx::AssertSqlSafe(statement.to_owned());
    if url.starts_with("sqlite:") {
        let mut connection = sqlx::SqliteConnection::connect(url)
            .await
            .expect("connects");
        sqlx::query_scalar(query)
            .bind(value)
            .fetch_optional(&mut connection)
            .await
            .expect("runs")
    } else {
        let mut connection = sqlx::PgConnection::connect(url).await.expect("connects");
        sqlx::query_scalar(query)
            .bind(value)
            .fetch_optional(&mut connection)
            .await
            .expect("runs")
    }
}
