//! Backend dispatch: a query body is written once and compiled for both.

/// Runs `$body` with `$conn` bound to a pooled connection of either backend.
macro_rules! with_conn {
    ($store:expr, $conn:ident => $body:expr) => {
        match &$store.backend {
            $crate::store::Backend::Sqlite(pool) => {
                let mut guard = pool
                    .get()
                    .await
                    .map_err(|e| $crate::store::StoreError::Connection(e.to_string()))?;
                let $conn: &mut $crate::store::SqliteConn = &mut guard;
                $body
            }
            $crate::store::Backend::Postgres(pool) => {
                let mut guard = pool
                    .get()
                    .await
                    .map_err(|e| $crate::store::StoreError::Connection(e.to_string()))?;
                let $conn: &mut diesel_async::AsyncPgConnection = &mut guard;
                $body
            }
        }
    };
}

/// Runs `$body` in one transaction (`BEGIN IMMEDIATE` on SQLite, so a
/// writer never has to upgrade its lock midway); after a commit, wakes the
/// waiters of [`Store::committed`].
macro_rules! transaction {
    ($store:expr, $conn:ident => $body:expr) => {{
        let result = match &$store.backend {
            $crate::store::Backend::Sqlite(pool) => {
                let mut guard = pool
                    .get()
                    .await
                    .map_err(|e| $crate::store::StoreError::Connection(e.to_string()))?;
                guard
                    .immediate_transaction(async |$conn| -> Result<_, $crate::store::StoreError> {
                        $body
                    })
                    .await
            }
            $crate::store::Backend::Postgres(pool) => {
                let mut guard = pool
                    .get()
                    .await
                    .map_err(|e| $crate::store::StoreError::Connection(e.to_string()))?;
                diesel_async::AsyncConnection::transaction(
                    &mut *guard,
                    async |$conn| -> Result<_, $crate::store::StoreError> { $body },
                )
                .await
            }
        };
        if result.is_ok() {
            $store.notify_committed();
        }
        result
    }};
}

/// Runs the reads of `$reads` (a macro called as `$reads!(|q| LOAD)`, where
/// `LOAD` loads query `q`) on one connection: on SQLite synchronously on
/// the connection's own thread, where rows are read in place (the async
/// wrapper would copy every value once more: megabytes for a restore), on
/// PostgreSQL asynchronously.
macro_rules! read_in_place {
    ($store:expr, $reads:ident) => {
        match &$store.backend {
            $crate::store::Backend::Sqlite(pool) => {
                let mut conn = pool
                    .get()
                    .await
                    .map_err(|e| $crate::store::StoreError::Connection(e.to_string()))?;
                Ok(conn
                    .spawn_blocking(move |conn| {
                        Ok($reads!(|q| diesel::RunQueryDsl::load(q, conn)?))
                    })
                    .await?)
            }
            $crate::store::Backend::Postgres(pool) => {
                let mut guard = pool
                    .get()
                    .await
                    .map_err(|e| $crate::store::StoreError::Connection(e.to_string()))?;
                let conn: &mut diesel_async::AsyncPgConnection = &mut guard;
                Ok($reads!(|q| diesel_async::RunQueryDsl::load(q, conn).await?))
            }
        }
    };
}
