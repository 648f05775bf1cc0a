//! Backend dispatch: a query body is written once and compiled for both;
//! and the steps every mutation shares (revision bump, event, blobs).

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

// ---- inside a `transaction!` body ------------------------------------------
//
// These expand to Diesel DSL calls: the caller has `diesel::prelude::*` and
// `diesel_async::RunQueryDsl` in scope, and returns `Result<_, StoreError>`.

/// Checks the revision the caller read and bumps it, inside a transaction;
/// evaluates to the new revision. A namespace changed (or deleted) since is
/// a [`StoreError::Conflict`](crate::store::StoreError::Conflict).
macro_rules! bump_revision {
    ($conn:expr, $namespace_id:expr, $expected:expr, $at:expr) => {{
        use $crate::store::schema::namespaces;
        let updated = diesel::update(namespaces::table)
            .filter(
                namespaces::id
                    .eq($namespace_id)
                    .and(namespaces::revision.eq($expected))
                    .and(namespaces::deleted_at.is_null()),
            )
            .set((
                namespaces::revision.eq(namespaces::revision + 1_i64),
                namespaces::updated_at.eq($at),
            ))
            .execute($conn)
            .await?;
        if updated != 1 {
            return Err($crate::store::StoreError::Conflict(
                "the namespace was changed by another writer; retry".into(),
            ));
        }
        $expected + 1
    }};
}

/// Writes a mutation's outbox event (`$payload`: a `serde_json::Value`;
/// `$kind`: one of [`EVENT_KINDS`](crate::store::EVENT_KINDS)). First takes
/// the event order lock ([`EventOrderLock`](crate::store::EventOrderLock)),
/// held to the end of the transaction, so that event ids become visible in
/// id order and a reader of `id > cursor` never skips one.
macro_rules! insert_event {
    ($conn:expr, $namespace_id:expr, $namespace:expr, $kind:expr, $payload:expr, $at:expr) => {{
        debug_assert!(
            $crate::store::EVENT_KINDS.contains(&$kind),
            "event kind {} is not in store::EVENT_KINDS",
            $kind
        );
        let payload = $payload.to_string();
        $crate::store::EventOrderLock::lock_event_order(&mut *$conn).await?;
        diesel::insert_into($crate::store::schema::events::table)
            .values(&$crate::store::models::NewEvent {
                namespace_id: $namespace_id,
                namespace: $namespace,
                kind: $kind,
                payload: &payload,
                created_at: $at,
            })
            .execute($conn)
            .await?;
        $crate::store::ChangeNotice::notify_change(&mut *$conn, $namespace_id).await?;
    }};
}

/// Inserts the blobs (`BlobRef`s) whose keys are not stored yet (content
/// addressing: republishing the same content anywhere stores nothing new).
macro_rules! store_blobs {
    ($conn:expr, $blobs:expr, $at:expr) => {{
        use std::collections::HashSet;
        use $crate::store::schema::blobs;
        let wanted: Vec<&str> = $blobs.iter().map(|b| b.sha256).collect();
        let mut present: HashSet<String> = HashSet::new();
        for chunk in wanted.chunks(500) {
            let found: Vec<String> = blobs::table
                .filter(blobs::sha256.eq_any(chunk))
                .select(blobs::sha256)
                .load($conn)
                .await?;
            present.extend(found);
        }
        let mut seen: HashSet<&str> = HashSet::new();
        for blob in $blobs.iter() {
            if present.contains(blob.sha256) || !seen.insert(blob.sha256) {
                continue;
            }
            diesel::insert_into(blobs::table)
                .values(&$crate::store::models::NewBlob {
                    sha256: blob.sha256,
                    size: blob.data.len() as i64,
                    data: blob.data,
                    created_at: $at,
                })
                .on_conflict_do_nothing()
                .execute($conn)
                .await?;
        }
    }};
}
