//! Store tests on real SQLite and real PostgreSQL (see `test_support`),
//! one module per aggregate; the shared helpers are here.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::*;
use crate::error::RegistryError;
use crate::fingerprint::{fingerprint, sha256_hex};
use crate::test_support::{TestDb, on_each_backend};

mod event_feed;
mod jobs;
mod leases;
mod migrations;
mod namespaces;
mod outbox;
mod tokens;
mod versions;

// ---- helpers ----------------------------------------------------------------

/// Publishes `files` with a descriptor blob derived from them (so identical
/// sources give an identical descriptor, as compiling them would).
async fn publish_files(
    store: &Store,
    namespace: &NamespaceRow,
    expected_revision: i64,
    schema: &str,
    files: &[(&str, &str)],
    deps: &[(&str, &str, Option<i64>)],
) -> Result<Published, StoreError> {
    let hashes: Vec<String> = files
        .iter()
        .map(|(_, text)| sha256_hex(text.as_bytes()))
        .collect();
    let descriptor = format!("descriptor of {files:?}").into_bytes();
    let descriptor_sha256 = sha256_hex(&descriptor);
    let fp = fingerprint(files.iter().copied());
    let mut blob_refs: Vec<BlobRef<'_>> = files
        .iter()
        .zip(&hashes)
        .map(|((_, text), sha256)| BlobRef {
            sha256,
            data: text.as_bytes(),
        })
        .collect();
    blob_refs.push(BlobRef {
        sha256: &descriptor_sha256,
        data: &descriptor,
    });
    let record = PublishRecord {
        namespace: NamespaceAt::new(namespace.id, &namespace.name, expected_revision),
        schema,
        fingerprint: &fp,
        descriptor_sha256: &descriptor_sha256,
        blobs: blob_refs,
        files: files
            .iter()
            .zip(&hashes)
            .map(|((path, _), h)| (*path, h.as_str()))
            .collect(),
        deps: deps.to_vec(),
        created_by: "tester",
        metadata: r#"{"ticket":"T-1"}"#,
    };
    store.publish(&record).await
}

async fn revision_of(store: &Store, name: &str) -> i64 {
    store
        .live_namespace(name)
        .await
        .unwrap()
        .expect("namespace is live")
        .revision
}

async fn schema_named(store: &Store, namespace_id: i64, name: &str) -> SchemaRow {
    store
        .schemas_of(namespace_id)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("schema {name} exists"))
}

async fn event_kinds(store: &Store, namespace_id: i64) -> Vec<String> {
    store
        .events_of(namespace_id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect()
}

// ---- the store itself -------------------------------------------------------

#[tokio::test]
async fn a_commit_wakes_the_committed_waiters_and_a_failed_transaction_does_not() {
    use std::time::Duration;
    on_each_backend(async |db: &TestDb| {
        let kind = db.kind;
        let store = db.store().await;
        let woken = store.committed().notified();
        tokio::pin!(woken);
        woken.as_mut().enable();
        store.create_namespace("woken", "{}", "{}").await.unwrap();
        // `Duration::ZERO`: polled once, so this only passes when the commit
        // has already woken it.
        tokio::time::timeout(Duration::ZERO, woken)
            .await
            .unwrap_or_else(|_| panic!("{kind}: the commit woke no one"));

        let quiet = store.committed().notified();
        tokio::pin!(quiet);
        quiet.as_mut().enable();
        assert!(
            store.create_namespace("woken", "{}", "{}").await.is_err(),
            "{kind}: a live name twice is a unique violation"
        );
        assert!(
            tokio::time::timeout(Duration::ZERO, quiet).await.is_err(),
            "{kind}: a rolled-back transaction woke the waiters"
        );
    })
    .await;
}

#[tokio::test]
async fn an_in_memory_sqlite_database_is_refused_at_open() {
    for url in [
        "sqlite::memory:",
        "sqlite://:memory:",
        "sqlite:file::memory:",
        "sqlite://file::memory:?cache=shared",
        "sqlite://file:shared.db?cache=shared&mode=memory",
    ] {
        let err = Store::open(&StoreConfig::new(url)).await.unwrap_err();
        assert!(
            matches!(&err, StoreError::Connection(m) if m.contains("in-memory SQLite database")),
            "{url}: {err}"
        );
        assert!(
            err.to_string().contains("sqlite://PATH"),
            "{url}: says what to use instead: {err}"
        );
        assert!(
            run_migrations(url).await.is_err(),
            "{url}: migrations refuse it too"
        );
    }
    // Files whose names merely look alike are files.
    for (url, path) in [
        ("sqlite://data/:memory:", "data/:memory:"),
        ("sqlite://:memory:.db", ":memory:.db"),
        ("sqlite://file:data.db", "file:data.db"),
        ("sqlite://file:data.db?mode=rwc", "file:data.db?mode=rwc"),
    ] {
        assert_eq!(
            database_kind(url).unwrap(),
            DatabaseKind::Sqlite {
                path: path.to_owned()
            },
            "{url}"
        );
    }
}
