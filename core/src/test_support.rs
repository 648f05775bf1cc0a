//! Test harness: real databases, one fresh database per test.
//!
//! SQLite runs in a temporary file. PostgreSQL runs at
//! `PROTOREG_TEST_DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`):
//! each test creates its own database through that admin URL and drops it
//! when done, so tests run in parallel without a global lock. When
//! PostgreSQL is unreachable the PostgreSQL half of a test is skipped with a
//! message, except under `CI=true`, where it fails.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};

use crate::registry::{Registry, RegistryConfig};
use crate::store::{Store, StoreConfig};

const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A database that exists for one test only.
pub(crate) struct TestDb {
    pub url: String,
    /// `"sqlite"` or `"postgres"`, for assertion messages.
    pub kind: &'static str,
    _sqlite_dir: Option<tempfile::TempDir>,
    /// Held for its `Drop`, which drops the database.
    _postgres: Option<PostgresDatabase>,
}

/// A PostgreSQL database created for one test, dropped with it.
struct PostgresDatabase {
    admin_url: String,
    name: String,
}

impl TestDb {
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("creating a temporary directory");
        let url = format!("sqlite://{}", dir.path().join("protoreg.db").display());
        Self {
            url,
            kind: "sqlite",
            _sqlite_dir: Some(dir),
            _postgres: None,
        }
    }

    /// A fresh PostgreSQL database, or `None` (after saying so) when the
    /// server is unreachable outside CI.
    pub async fn postgres() -> Option<Self> {
        let admin_url = std::env::var("PROTOREG_TEST_DATABASE_URL")
            .unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_owned());
        let mut admin =
            match tokio::time::timeout(CONNECT_TIMEOUT, AsyncPgConnection::establish(&admin_url))
                .await
            {
                Ok(Ok(conn)) => conn,
                Ok(Err(err)) => return postgres_unreachable(&admin_url, &err.to_string()),
                Err(_) => return postgres_unreachable(&admin_url, "connection timed out"),
            };
        let name = unique_database_name();
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "CREATE DATABASE {name} at {}: {e}",
                    crate::store::redact(&admin_url)
                )
            });
        Some(Self {
            url: with_database(&admin_url, &name),
            kind: "postgres",
            _sqlite_dir: None,
            _postgres: Some(PostgresDatabase { admin_url, name }),
        })
    }

    pub fn store_config(&self) -> StoreConfig {
        StoreConfig {
            max_connections: 4,
            ..StoreConfig::new(self.url.clone())
        }
    }

    /// Opens the store, running the migrations.
    pub async fn store(&self) -> Store {
        Store::open(&self.store_config())
            .await
            .unwrap_or_else(|e| panic!("opening the {} store: {e}", self.kind))
    }

    /// A registry without compatibility rules: these tests are about the
    /// registry's mechanics, whatever the default rule set is.
    pub fn registry_config(&self) -> RegistryConfig {
        RegistryConfig {
            compat: std::sync::Arc::new(crate::compat::NoCompatRules),
            // Restore checkpoints only where a test writes them, so that a
            // restore reads what the test expects.
            checkpoint_interval: None,
            ..RegistryConfig::new(self.store_config())
        }
    }

    /// Opens (migrates and restores) a registry on this database. Needs an
    /// actix `System` (`#[actix_rt::test]`).
    pub async fn registry(&self) -> Registry {
        self.registry_with(self.registry_config()).await
    }

    pub async fn registry_with(&self, config: RegistryConfig) -> Registry {
        Registry::open(config)
            .await
            .unwrap_or_else(|e| panic!("opening a registry on {}: {e}", self.kind))
    }
}

fn postgres_unreachable(admin_url: &str, why: &str) -> Option<TestDb> {
    let url = crate::store::redact(admin_url);
    if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
        panic!("PostgreSQL unreachable at {url} ({why}); under CI=true PostgreSQL tests must run");
    }
    eprintln!("skipped: PostgreSQL unreachable at {url} ({why})");
    None
}

fn unique_database_name() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "protoreg_test_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        nanos
    )
}

/// `url` with its database path replaced by `name` (query kept).
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    let mut out = format!("{}/{name}", &base[..host_end]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

impl Drop for PostgresDatabase {
    /// Best effort: a database left behind only costs disk space. Runs on its
    /// own thread and runtime, since `drop` cannot await and may run inside
    /// the test's runtime.
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let mut admin = AsyncPgConnection::establish(&admin_url).await.ok()?;
                admin
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await
                    .ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(()))) {
            eprintln!("warning: could not drop test database {}", self.name);
        }
    }
}

/// Runs `test` on a fresh SQLite database, then on a fresh PostgreSQL one
/// (unless PostgreSQL is unreachable outside CI).
pub(crate) async fn on_each_backend(test: impl AsyncFn(&TestDb)) {
    let sqlite = TestDb::sqlite();
    eprintln!("running on sqlite ({})", sqlite.url);
    test(&sqlite).await;
    if let Some(postgres) = TestDb::postgres().await {
        eprintln!("running on postgres ({})", postgres.url);
        test(&postgres).await;
    }
}

#[test]
fn database_urls_keep_host_and_query() {
    assert_eq!(
        with_database("postgres://u:p@h:5432/postgres", "t1"),
        "postgres://u:p@h:5432/t1"
    );
    assert_eq!(with_database("postgres://h", "t1"), "postgres://h/t1");
    assert_eq!(
        with_database("postgresql://h/db?sslmode=disable", "t1"),
        "postgresql://h/t1?sslmode=disable"
    );
}
