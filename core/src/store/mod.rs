//! The Diesel store: SQLite (embedded default) and PostgreSQL behind one API.
//!
//! Every mutation is one transaction that also bumps the namespace revision
//! (checking the revision the caller read, so two writers cannot both win)
//! and writes its outbox event. Queries are written once with the Diesel DSL
//! and compiled for both backends by the `with_conn!`/`transaction!` macros.
//!
//! The queries live with their aggregate, each module adding its methods to
//! `Store`: `namespaces`, `versions` (publish, promote, discard, rollback,
//! and the schema and version reads), `tokens`, `jobs` (code generation jobs
//! and artifacts), `outbox` (events and sink cursors), `restore` (restore
//! reads and checkpoints) and `blobs`. Queries only tests use are
//! `#[cfg(test)]`.

#[macro_use]
mod macros;
mod blobs;
mod event_feed;
mod jobs;
mod leases;
pub mod models;
mod namespaces;
mod outbox;
mod restore;
pub mod schema;
mod sources;
mod tokens;
mod versions;
mod webhooks;

use std::path::Path;
use std::time::Duration;

use chrono::{NaiveDateTime, SubsecRound, Utc};
use diesel::prelude::*;
use diesel::sqlite::SqliteConnection;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::pooled_connection::deadpool::Pool;
use diesel_async::pooled_connection::{AsyncDieselConnectionManager, ManagerConfig};
use diesel_async::sync_connection_wrapper::SyncConnectionWrapper;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use futures::FutureExt;

pub use blobs::*;
pub use event_feed::*;
pub use jobs::*;
pub use leases::replica_id;
pub use models::*;
pub use namespaces::*;
pub use restore::*;
pub use sources::*;
pub use versions::*;
pub use webhooks::*;

use crate::error::RegistryError;

pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/sqlite");
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/postgres");

pub type SqliteConn = SyncConnectionWrapper<SqliteConnection>;

/// Now, in UTC, at the microsecond precision both backends keep.
pub fn now() -> NaiveDateTime {
    Utc::now().naive_utc().trunc_subsecs(6)
}

/// Settings for opening the store.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// `sqlite://PATH` (or `sqlite:PATH`) for SQLite, `postgres://…` or
    /// `postgresql://…` for PostgreSQL. An in-memory SQLite database
    /// (`sqlite::memory:`, `sqlite://:memory:`, a `file:` URI with
    /// `mode=memory`) is refused at open: each pooled connection, and the
    /// migrations' own, would have a database of its own.
    pub url: String,
    pub max_connections: usize,
    pub connect_timeout: Duration,
    pub run_migrations: bool,
    /// SQLite: how long a statement waits for a lock another connection or
    /// process holds before failing as `unavailable`.
    pub busy_timeout: Duration,
    /// How long a lease on background work lasts without renewal (see
    /// `leases`): a dead replica's work passes to another after this.
    pub lease_ttl: Duration,
    /// The caller holds a lock proving that no other process uses this
    /// database (`protoreg serve` on SQLite holds `<file>.lock`). Then every
    /// lease another holder left behind belongs to a process that is gone,
    /// and is taken over at open instead of after it expires.
    pub sole_process: bool,
}

impl StoreConfig {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            max_connections: 8,
            connect_timeout: Duration::from_secs(10),
            run_migrations: true,
            busy_timeout: Duration::from_secs(5),
            lease_ttl: Duration::from_secs(10),
            sole_process: false,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Diesel(#[from] diesel::result::Error),
    #[error("database connection: {0}")]
    Connection(String),
    #[error("migration failed: {0}")]
    Migration(String),
    /// Another writer changed the namespace since it was read.
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    NotFound(String),
    /// Stored data that does not decode: never expected.
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
}

impl From<StoreError> for RegistryError {
    fn from(err: StoreError) -> Self {
        use diesel::result::{DatabaseErrorKind, Error as D};
        match err {
            StoreError::Conflict(m) => RegistryError::Conflict(m),
            StoreError::NotFound(m) => RegistryError::NotFound(m),
            StoreError::Diesel(D::DatabaseError(DatabaseErrorKind::UniqueViolation, info)) => {
                RegistryError::Conflict(format!("already exists ({})", info.message()))
            }
            StoreError::Connection(m) => {
                RegistryError::Unavailable(format!("store unavailable: {m}"))
            }
            // PostgreSQL stopping or gone: the connection broke under the
            // query (the pool drops it; the next request gets a new one).
            StoreError::Diesel(D::DatabaseError(DatabaseErrorKind::ClosedConnection, info)) => {
                RegistryError::Unavailable(format!("store unavailable: {}", info.message()))
            }
            StoreError::Diesel(D::DatabaseError(_, info)) if is_disconnect(info.message()) => {
                RegistryError::Unavailable(format!("store unavailable: {}", info.message()))
            }
            StoreError::Diesel(D::BrokenTransactionManager) => RegistryError::Unavailable(
                "store unavailable: the database connection broke mid-transaction".into(),
            ),
            StoreError::Diesel(D::DatabaseError(_, info)) if is_locked(info.message()) => {
                RegistryError::Unavailable(
                    "the database is locked by another connection or process; retry later".into(),
                )
            }
            other => RegistryError::internal("store", other),
        }
    }
}

/// Messages of a PostgreSQL server that is shutting down, restarting or
/// unreachable (SQLSTATE 57P01..57P03 and a closed socket), which diesel
/// reports as `Unknown`.
fn is_disconnect(message: &str) -> bool {
    [
        "terminating connection",
        "the database system is shutting down",
        "the database system is starting up",
        "the database system is in recovery mode",
        "server closed the connection",
        "connection closed",
        "Connection refused",
    ]
    .iter()
    .any(|needle| message.contains(needle))
}

#[derive(Clone)]
pub(crate) enum Backend {
    Sqlite(Pool<SqliteConn>),
    Postgres(Pool<AsyncPgConnection>),
}

/// A handle to the database: cheap to clone, shared by every actor.
#[derive(Clone)]
pub struct Store {
    pub(crate) backend: Backend,
    url_for_logs: String,
    /// Notified after every committed transaction of this process (each
    /// writes its outbox event), so that event delivery need not poll.
    committed: std::sync::Arc<tokio::sync::Notify>,
    /// The leases this process holds on background work.
    leases: std::sync::Arc<leases::Leases>,
    /// The database URL (the replica listener opens its own connection).
    url: std::sync::Arc<str>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("url", &self.url_for_logs)
            .finish()
    }
}

/// Which database a URL names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseKind {
    Sqlite { path: String },
    Postgres,
}

pub fn database_kind(url: &str) -> Result<DatabaseKind, StoreError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(DatabaseKind::Postgres)
    } else if let Some(path) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    {
        if path.is_empty() {
            return Err(StoreError::Connection("empty SQLite path".into()));
        }
        if is_sqlite_memory(path) {
            return Err(StoreError::Connection(format!(
                "an in-memory SQLite database ({url:?}) is not supported: every pooled \
                 connection would open a database of its own; use sqlite://PATH"
            )));
        }
        Ok(DatabaseKind::Sqlite {
            path: path.to_owned(),
        })
    } else {
        Err(StoreError::Connection(format!(
            "unsupported database URL {:?}: use sqlite://PATH or postgres://…",
            redact(url)
        )))
    }
}

/// Whether SQLite would open this path as an in-memory database:
/// `:memory:`, or a `file:` URI naming `:memory:` or with `mode=memory`.
fn is_sqlite_memory(path: &str) -> bool {
    if path == ":memory:" {
        return true;
    }
    let Some(uri) = path.strip_prefix("file:") else {
        return false;
    };
    let (name, query) = uri.split_once('?').unwrap_or((uri, ""));
    name == ":memory:"
        || query
            .split('&')
            .any(|param| param.split('#').next() == Some("mode=memory"))
}

/// The URL without its password, for logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.split_once(':') {
                Some((user, _password)) => {
                    format!("{}://{}:***@{}", &url[..scheme_end], user, &url[at + 1..])
                }
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// SQLite's answers when a lock could not be had within busy_timeout.
fn is_locked(message: &str) -> bool {
    message.contains("database is locked") || message.contains("database table is locked")
}

// busy_timeout first: switching to WAL needs a lock another connection may
// briefly hold.
// mmap: blob reads (restore) come straight from the page cache.
fn sqlite_pragmas(busy_timeout: Duration) -> String {
    format!(
        "PRAGMA busy_timeout = {}; PRAGMA journal_mode = WAL; \
         PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA mmap_size = 268435456;",
        busy_timeout.as_millis().clamp(1, i32::MAX as u128)
    )
}

impl Store {
    /// Notified after each transaction this process commits (see
    /// [`Store::committed`]'s field). Writers in other processes are not
    /// seen here: poll for those too.
    pub fn committed(&self) -> &tokio::sync::Notify {
        &self.committed
    }

    /// Wakes the waiters of [`Store::committed`]: after a commit of this
    /// process, and when another replica announced one.
    pub fn notify_committed(&self) {
        self.committed.notify_waiters();
    }

    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self.backend, Backend::Postgres(_))
    }

    /// Opens (and for SQLite creates) the database, running pending
    /// migrations first when configured to.
    pub async fn open(config: &StoreConfig) -> Result<Self, StoreError> {
        let kind = database_kind(&config.url)?;
        if config.run_migrations {
            run_migrations(&config.url).await?;
        }
        let backend = match kind {
            DatabaseKind::Sqlite { path } => {
                ensure_parent_dir(&path)?;
                let mut manager_config = ManagerConfig::<SqliteConn>::default();
                let pragmas = sqlite_pragmas(config.busy_timeout);
                manager_config.custom_setup = Box::new(move |url| {
                    let pragmas = pragmas.clone();
                    async move {
                        let mut conn = SqliteConn::establish(url).await?;
                        conn.batch_execute(&pragmas)
                            .await
                            .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
                        Ok(conn)
                    }
                    .boxed()
                });
                let manager = AsyncDieselConnectionManager::new_with_config(path, manager_config);
                let pool = Pool::builder(manager)
                    .max_size(config.max_connections)
                    .wait_timeout(Some(config.connect_timeout))
                    .create_timeout(Some(config.connect_timeout))
                    .recycle_timeout(Some(config.connect_timeout))
                    .runtime(deadpool_runtime())
                    .build()
                    .map_err(|e| StoreError::Connection(e.to_string()))?;
                Backend::Sqlite(pool)
            }
            DatabaseKind::Postgres => {
                let manager =
                    AsyncDieselConnectionManager::<AsyncPgConnection>::new(config.url.clone());
                let pool = Pool::builder(manager)
                    .max_size(config.max_connections)
                    .wait_timeout(Some(config.connect_timeout))
                    .create_timeout(Some(config.connect_timeout))
                    .recycle_timeout(Some(config.connect_timeout))
                    .runtime(deadpool_runtime())
                    .build()
                    .map_err(|e| StoreError::Connection(e.to_string()))?;
                Backend::Postgres(pool)
            }
        };
        let store = Self {
            backend,
            url_for_logs: redact(&config.url),
            committed: Default::default(),
            leases: std::sync::Arc::new(leases::Leases::new(config.lease_ttl)),
            url: config.url.as_str().into(),
        };
        store.ping().await?;
        if config.sole_process {
            let taken = store.expire_foreign_leases().await?;
            if taken > 0 {
                tracing::info!(
                    leases = taken,
                    "took over the leases a previous process left behind"
                );
            }
        }
        Ok(store)
    }

    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// A trivial round trip: is the database reachable?
    pub async fn ping(&self) -> Result<(), StoreError> {
        with_conn!(self, conn => {
            diesel::sql_query("SELECT 1").execute(conn).await?;
            Ok(())
        })
    }

    /// Whether a write could start now: on SQLite, takes the write lock
    /// (`BEGIN IMMEDIATE`, waiting at most busy_timeout) and releases it;
    /// on PostgreSQL, where writers do not lock the database, a round trip.
    pub async fn probe_writable(&self) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(pool) => {
                let mut conn = pool
                    .get()
                    .await
                    .map_err(|e| StoreError::Connection(e.to_string()))?;
                conn.batch_execute("BEGIN IMMEDIATE").await?;
                conn.batch_execute("ROLLBACK").await?;
                Ok(())
            }
            Backend::Postgres(_) => self.ping().await,
        }
    }
}

fn deadpool_runtime() -> deadpool::Runtime {
    deadpool::Runtime::Tokio1
}

fn ensure_parent_dir(path: &str) -> Result<(), StoreError> {
    if let Some(parent) = Path::new(path)
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
    {
        std::fs::create_dir_all(parent)
            .map_err(|e| StoreError::Connection(format!("creating {}: {e}", parent.display())))?;
    }
    Ok(())
}

/// The key of the PostgreSQL advisory lock held while migrating
/// ("protomig" in ASCII).
const MIGRATION_LOCK: i64 = 0x7072_6f74_6f6d_6967;

/// Runs every pending migration of the URL's backend. Migrations use sync
/// Diesel, so they run on their own OS thread, off any async runtime.
pub async fn run_migrations(url: &str) -> Result<(), StoreError> {
    let url = url.to_owned();
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("protoreg-migrate".into())
        .spawn(move || {
            let _ = tx.send(run_migrations_blocking(&url));
        })
        .map_err(|e| StoreError::Migration(e.to_string()))?;
    rx.await
        .map_err(|_| StoreError::Migration("migration thread panicked".into()))?
}

fn run_migrations_blocking(url: &str) -> Result<(), StoreError> {
    let migration_err =
        |e: Box<dyn std::error::Error + Send + Sync>| StoreError::Migration(e.to_string());
    match database_kind(url)? {
        DatabaseKind::Sqlite { path } => {
            ensure_parent_dir(&path)?;
            let mut conn = SqliteConnection::establish(&path)
                .map_err(|e| StoreError::Connection(e.to_string()))?;
            // Migrations at start may wait for another process longer than
            // a request would.
            diesel::connection::SimpleConnection::batch_execute(
                &mut conn,
                &sqlite_pragmas(Duration::from_secs(15)),
            )?;
            conn.run_pending_migrations(SQLITE_MIGRATIONS)
                .map_err(migration_err)?;
        }
        DatabaseKind::Postgres => {
            let mut conn =
                <AsyncConnectionWrapper<AsyncPgConnection> as diesel::Connection>::establish(url)
                    .map_err(|e| StoreError::Connection(e.to_string()))?;
            // Replicas starting together migrate one after another: the
            // others wait here, then find nothing pending. The lock is the
            // session's, so it also ends with the connection.
            diesel::connection::SimpleConnection::batch_execute(
                &mut conn,
                &format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"),
            )?;
            let migrated = conn
                .run_pending_migrations(POSTGRES_MIGRATIONS)
                .map(drop)
                .map_err(migration_err);
            diesel::connection::SimpleConnection::batch_execute(
                &mut conn,
                &format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"),
            )?;
            migrated?;
        }
    }
    Ok(())
}

/// Reverts every migration (tests of the down scripts use this).
pub fn revert_all_migrations_blocking(url: &str) -> Result<(), StoreError> {
    let migration_err =
        |e: Box<dyn std::error::Error + Send + Sync>| StoreError::Migration(e.to_string());
    match database_kind(url)? {
        DatabaseKind::Sqlite { path } => {
            let mut conn = SqliteConnection::establish(&path)
                .map_err(|e| StoreError::Connection(e.to_string()))?;
            conn.revert_all_migrations(SQLITE_MIGRATIONS)
                .map_err(migration_err)?;
        }
        DatabaseKind::Postgres => {
            let mut conn =
                <AsyncConnectionWrapper<AsyncPgConnection> as diesel::Connection>::establish(url)
                    .map_err(|e| StoreError::Connection(e.to_string()))?;
            conn.revert_all_migrations(POSTGRES_MIGRATIONS)
                .map_err(migration_err)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
