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
/// writer never has to upgrade its lock midway).
macro_rules! transaction {
    ($store:expr, $conn:ident => $body:expr) => {
        match &$store.backend {
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
        }
    };
}
