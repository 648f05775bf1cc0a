//! Store tests on real SQLite and real PostgreSQL (see `test_support`).

use chrono::NaiveDateTime;
use diesel::QueryableByName;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::schema::{
    artifacts, blobs, events, jobs, namespaces, schema_version_deps, schema_version_files,
    schema_versions, schemas,
};
use super::*;
use crate::error::RegistryError;
use crate::fingerprint::{fingerprint, sha256_hex};
use crate::test_support::{TestDb, on_each_backend};

// ---- helpers usable by other test modules ---------------------------------

impl Store {
    /// Overwrites the content of stored blobs (tests that must prove a code
    /// path never reads them). Returns how many rows changed.
    pub(crate) async fn overwrite_blobs_for_tests(
        &self,
        keys: &[String],
        data: &[u8],
    ) -> Result<usize, StoreError> {
        with_conn!(self, conn => {
            Ok(diesel::update(blobs::table.filter(blobs::sha256.eq_any(keys)))
                .set(blobs::data.eq(data))
                .execute(conn)
                .await?)
        })
    }

    pub(crate) async fn event_count_for_tests(&self) -> Result<i64, StoreError> {
        with_conn!(self, conn => {
            Ok(events::table.count().get_result(conn).await?)
        })
    }
}

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
        namespace_id: namespace.id,
        namespace: &namespace.name,
        expected_revision,
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

fn revert_all_migrations(url: &str) -> Result<(), StoreError> {
    let url = url.to_owned();
    // Sync Diesel: keep it off the test's runtime.
    std::thread::spawn(move || revert_all_migrations_blocking(&url))
        .join()
        .expect("revert thread")
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// How many columns the migrated table has, as the database itself says.
async fn column_count(store: &Store, table: &str) -> i64 {
    let sql = match store.backend_name() {
        "sqlite" => {
            format!("SELECT CAST(count(*) AS BIGINT) AS n FROM pragma_table_info('{table}')")
        }
        _ => format!(
            "SELECT count(*) AS n FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = '{table}'"
        ),
    };
    let counts: Vec<Count> = async {
        with_conn!(store, conn => {
            Ok::<_, StoreError>(diesel::sql_query(&sql).load(conn).await?)
        })
    }
    .await
    .unwrap();
    counts[0].n
}

// ---- migrations -------------------------------------------------------------

#[tokio::test]
async fn migrations_go_up_down_and_up_again() {
    on_each_backend(async |db: &TestDb| {
        let store = db.store().await;
        store.create_namespace("before", "{}", "{}").await.unwrap();

        revert_all_migrations(&db.url)
            .unwrap_or_else(|e| panic!("{}: down migrations: {e}", db.kind));
        assert!(
            store.live_namespaces().await.is_err(),
            "{}: tables are gone after down",
            db.kind
        );

        run_migrations(&db.url)
            .await
            .unwrap_or_else(|e| panic!("{}: up again: {e}", db.kind));
        assert!(
            store.live_namespaces().await.unwrap().is_empty(),
            "{}: a fresh schema",
            db.kind
        );
        let again = store.create_namespace("before", "{}", "{}").await.unwrap();
        assert_eq!(again.revision, 1);
    })
    .await;
}

#[tokio::test]
async fn tables_match_migrations() {
    on_each_backend(async |db: &TestDb| {
        let store = db.store().await;
        let kind = db.kind;
        // Rows in every table, with both NULL and non-NULL optional columns.
        let ns = store.create_namespace("tables", r#"{"team":"a"}"#, r#"{"compat":{}}"#).await.unwrap();
        let common = publish_files(&store, &ns, 1, "common", &[("c.proto", "common")], &[]).await.unwrap();
        let app = publish_files(
            &store,
            &ns,
            2,
            "app",
            &[("app.proto", "app")],
            &[("app.proto", "c.proto", Some(common.version.id)), ("app.proto", "google/protobuf/empty.proto", None)],
        )
        .await
        .unwrap();
        let moves = [PromoteMove {
            schema_row_id: common.schema_row_id,
            schema: "common".into(),
            from_version_id: None,
            to_version_id: common.version.id,
        }];
        store.promote(ns.id, &ns.name, 3, &moves).await.unwrap();
        let gone = store.create_namespace("gone", "{}", "{}").await.unwrap();
        store.delete_namespace(gone.id, "gone", 1).await.unwrap();

        let (namespace_rows, blob_rows, schema_rows, version_rows, file_rows, dep_rows, event_rows) = async {
            with_conn!(store, conn => {
                let n: Vec<NamespaceRow> = namespaces::table.select(namespaces::all_columns).order(namespaces::id).load(conn).await?;
                let b: Vec<(String, i64, Vec<u8>, NaiveDateTime)> = blobs::table.select(blobs::all_columns).load(conn).await?;
                let s: Vec<SchemaRow> = schemas::table.select(schemas::all_columns).order(schemas::id).load(conn).await?;
                let v: Vec<VersionRow> = schema_versions::table.select(schema_versions::all_columns).order(schema_versions::id).load(conn).await?;
                let f: Vec<VersionFileRow> = schema_version_files::table.select(schema_version_files::all_columns).load(conn).await?;
                let d: Vec<VersionDepRow> = schema_version_deps::table.select(schema_version_deps::all_columns).order(schema_version_deps::import_path).load(conn).await?;
                let e: Vec<EventRow> = events::table.select(events::all_columns).order(events::id).load(conn).await?;
                Ok::<_, StoreError>((n, b, s, v, f, d, e))
            })
        }
        .await
        .unwrap_or_else(|e| panic!("{kind}: loading every column through schema.rs: {e}"));

        assert_eq!(namespace_rows.len(), 2, "{kind}");
        assert_eq!(namespace_rows[0].metadata, r#"{"team":"a"}"#);
        assert_eq!(namespace_rows[0].settings, r#"{"compat":{}}"#);
        assert_eq!(namespace_rows[0].created_at, ns.created_at, "{kind}: timestamps keep microseconds");
        assert!(namespace_rows[0].deleted_at.is_none());
        assert!(namespace_rows[1].deleted_at.is_some(), "{kind}");
        // 2 sources + 2 descriptors; sizes and bytes as written.
        assert_eq!(blob_rows.len(), 4, "{kind}");
        for (sha256, size, data, _) in &blob_rows {
            assert_eq!(*sha256, sha256_hex(data), "{kind}");
            assert_eq!(*size, data.len() as i64, "{kind}");
        }
        let common_row = schema_rows.iter().find(|s| s.name == "common").unwrap();
        assert_eq!(common_row.current_version_id, Some(common.version.id), "{kind}");
        assert_eq!(common_row.staged_version_id, None, "{kind}");
        let app_row = schema_rows.iter().find(|s| s.name == "app").unwrap();
        assert_eq!((app_row.current_version_id, app_row.staged_version_id), (None, Some(app.version.id)));
        assert_eq!(version_rows.len(), 2);
        assert!(version_rows[0].promoted_at.is_some() && version_rows[1].promoted_at.is_none(), "{kind}");
        assert_eq!(version_rows[1].metadata, r#"{"ticket":"T-1"}"#);
        assert_eq!(version_rows[1].created_by, "tester");
        assert_eq!(file_rows.len(), 2, "{kind}");
        assert_eq!(dep_rows.len(), 2, "{kind}");
        assert_eq!(dep_rows[0].import_path, "c.proto");
        assert_eq!(dep_rows[0].dep_version_id, Some(common.version.id));
        assert_eq!(dep_rows[1].dep_version_id, None, "{kind}: a well-known import has no version");
        assert_eq!(event_rows.len(), 6, "{kind}");
        assert_eq!(event_rows[5].namespace_id, Some(gone.id));

        // jobs and artifacts, with NULL and non-NULL optional columns.
        let target = JobTarget { plugin: "go".into(), parameter: "paths=source_relative".into() };
        let queued = store
            .promote_enqueuing(ns.id, &ns.name, 4, &[PromoteMove {
                schema_row_id: app.schema_row_id,
                schema: "app".into(),
                from_version_id: None,
                to_version_id: app.version.id,
            }], std::slice::from_ref(&target))
            .await
            .unwrap();
        let running = store.start_job(ns.id, &ns.name, "common", common.version.id, &target).await.unwrap();
        let archive = b"archive".to_vec();
        let sha = sha256_hex(&archive);
        store
            .finish_job(&running, 1, JobResult::Succeeded { archive: BlobRef { sha256: &sha, data: &archive }, log: "ok" })
            .await
            .unwrap();
        let (job_rows, artifact_rows) = async {
            with_conn!(store, conn => {
                let j: Vec<JobRow> = jobs::table.select(jobs::all_columns).order(jobs::id).load(conn).await?;
                let a: Vec<ArtifactRow> = artifacts::table.select(artifacts::all_columns).load(conn).await?;
                Ok::<_, StoreError>((j, a))
            })
        }
        .await
        .unwrap_or_else(|e| panic!("{kind}: loading jobs and artifacts through schema.rs: {e}"));
        assert_eq!(job_rows.len(), 2, "{kind}");
        assert_eq!(job_rows[0].id, queued.job_ids[0]);
        assert_eq!((job_rows[0].status.as_str(), job_rows[0].started_at, job_rows[0].artifact_sha256.as_deref()), ("queued", None, None));
        assert_eq!((job_rows[1].status.as_str(), job_rows[1].log.as_str()), ("succeeded", "ok"), "{kind}");
        assert_eq!(job_rows[1].artifact_sha256.as_deref(), Some(sha.as_str()));
        assert!(job_rows[1].started_at.is_some() && job_rows[1].finished_at.is_some(), "{kind}");
        assert_eq!(artifact_rows.len(), 1, "{kind}");
        assert_eq!((artifact_rows[0].version_id, artifact_rows[0].blob_sha256.as_str()), (common.version.id, sha.as_str()));

        // No column the `table!`s do not know of.
        for (table, columns) in [
            ("namespaces", 8),
            ("blobs", 4),
            ("schemas", 8),
            ("schema_versions", 9),
            ("schema_version_files", 3),
            ("schema_version_deps", 4),
            ("events", 6),
            ("tokens", 7),
            ("jobs", 14),
            ("artifacts", 5),
        ] {
            assert_eq!(column_count(&store, table).await, columns, "{kind}: columns of {table}");
        }
    })
    .await;
}

// ---- namespaces -------------------------------------------------------------

#[tokio::test]
async fn namespace_names_are_unique_until_soft_deleted() {
    on_each_backend(async |db: &TestDb| {
        let store = db.store().await;
        let kind = db.kind;
        let first = store.create_namespace("billing", "{}", "{}").await.unwrap();
        assert_eq!(first.revision, 1);

        let duplicate = store
            .create_namespace("billing", "{}", "{}")
            .await
            .unwrap_err();
        assert_eq!(RegistryError::from(duplicate).code(), "conflict", "{kind}");

        let stale = store
            .delete_namespace(first.id, "billing", 0)
            .await
            .unwrap_err();
        assert!(
            matches!(stale, StoreError::Conflict(_)),
            "{kind}: {stale:?}"
        );
        assert!(
            store.live_namespace("billing").await.unwrap().is_some(),
            "{kind}"
        );

        store
            .delete_namespace(first.id, "billing", 1)
            .await
            .unwrap();
        assert!(
            store.live_namespace("billing").await.unwrap().is_none(),
            "{kind}"
        );
        let again = store.create_namespace("billing", "{}", "{}").await.unwrap();
        assert_ne!(again.id, first.id);
        let live = store.live_namespaces().await.unwrap();
        assert_eq!(
            live.iter().map(|n| n.id).collect::<Vec<_>>(),
            [again.id],
            "{kind}"
        );

        // A deleted namespace cannot be written to any more.
        let after_delete = store
            .update_namespace(first.id, "billing", 2, Some("{}"), None)
            .await
            .unwrap_err();
        assert!(matches!(after_delete, StoreError::Conflict(_)), "{kind}");
        assert_eq!(
            event_kinds(&store, first.id).await,
            ["namespace.created", "namespace.deleted"],
            "{kind}"
        );
        assert_eq!(
            event_kinds(&store, again.id).await,
            ["namespace.created"],
            "{kind}"
        );
    })
    .await;
}

// ---- publish ----------------------------------------------------------------

#[tokio::test]
async fn publish_numbers_versions_and_stores_each_blob_once() {
    on_each_backend(async |db: &TestDb| {
        let store = db.store().await;
        let kind = db.kind;
        let ns = store.create_namespace("one", "{}", "{}").await.unwrap();

        let v1 = publish_files(&store, &ns, 1, "s", &[("a.proto", "x1")], &[])
            .await
            .unwrap();
        assert_eq!((v1.version.version, v1.revision), (1, 2), "{kind}");
        assert_eq!(
            store.blob_count().await.unwrap(),
            2,
            "{kind}: a source and a descriptor"
        );
        let v2 = publish_files(&store, &ns, 2, "s", &[("a.proto", "x2")], &[])
            .await
            .unwrap();
        assert_eq!((v2.version.version, v2.revision), (2, 3), "{kind}");
        assert_eq!(store.blob_count().await.unwrap(), 4, "{kind}");
        // Two files with the same content: one source blob.
        let v3 = publish_files(
            &store,
            &ns,
            3,
            "s",
            &[("a.proto", "x1"), ("b.proto", "x1")],
            &[],
        )
        .await
        .unwrap();
        assert_eq!(v3.version.version, 3, "{kind}");
        assert_eq!(
            store.blob_count().await.unwrap(),
            5,
            "{kind}: only the new descriptor"
        );
        assert_eq!(v1.schema_row_id, v3.schema_row_id);

        let numbers: Vec<i32> = store
            .versions_of(v1.schema_row_id)
            .await
            .unwrap()
            .iter()
            .map(|v| v.version)
            .collect();
        assert_eq!(numbers, [1, 2, 3], "{kind}");
        let row = schema_named(&store, ns.id, "s").await;
        assert_eq!(
            (row.current_version_id, row.staged_version_id),
            (None, Some(v3.version.id)),
            "{kind}"
        );
        let files = store.files_of_versions(&[v3.version.id]).await.unwrap();
        assert_eq!(
            files.iter().map(|f| f.path.as_str()).collect::<Vec<_>>(),
            ["a.proto", "b.proto"]
        );

        // Identical sources in another namespace add no blob at all, and
        // number from 1 there.
        let other = store.create_namespace("two", "{}", "{}").await.unwrap();
        let copy = publish_files(&store, &other, 1, "s", &[("a.proto", "x1")], &[])
            .await
            .unwrap();
        assert_eq!(copy.version.version, 1, "{kind}");
        assert_eq!(copy.version.descriptor_sha256, v1.version.descriptor_sha256);
        assert_eq!(
            store.blob_count().await.unwrap(),
            5,
            "{kind}: content is stored once across namespaces"
        );

        let blob = store.blobs(&[&sha256_hex(b"x2")]).await.unwrap();
        assert_eq!(blob[&sha256_hex(b"x2")], b"x2", "{kind}");
    })
    .await;
}

#[tokio::test]
async fn a_stale_revision_is_a_conflict_and_writes_nothing() {
    on_each_backend(async |db: &TestDb| {
        let store = db.store().await;
        let kind = db.kind;
        let ns = store.create_namespace("stale", "{}", "{}").await.unwrap();
        let v1 = publish_files(&store, &ns, 1, "s", &[("a.proto", "one")], &[])
            .await
            .unwrap();
        let blobs_before = store.blob_count().await.unwrap();
        let events_before = store.event_count_for_tests().await.unwrap();

        // Revision is 2 now; a writer that read revision 1 loses.
        let err = publish_files(&store, &ns, 1, "s", &[("a.proto", "two")], &[])
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)), "{kind}: {err:?}");
        let err = publish_files(&store, &ns, 1, "new-schema", &[("n.proto", "new")], &[])
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)), "{kind}: {err:?}");
        assert_eq!(RegistryError::from(err).code(), "conflict");

        assert_eq!(
            store.blob_count().await.unwrap(),
            blobs_before,
            "{kind}: no blob written"
        );
        assert_eq!(
            store.event_count_for_tests().await.unwrap(),
            events_before,
            "{kind}: no event written"
        );
        assert_eq!(revision_of(&store, "stale").await, 2, "{kind}");
        let schemas = store.schemas_of(ns.id).await.unwrap();
        assert_eq!(schemas.len(), 1, "{kind}: no schema row written");
        assert_eq!(
            store.versions_of(v1.schema_row_id).await.unwrap().len(),
            1,
            "{kind}: no version written"
        );
        assert_eq!(schemas[0].staged_version_id, Some(v1.version.id));

        // The same holds for every other mutation.
        let moves = [PromoteMove {
            schema_row_id: v1.schema_row_id,
            schema: "s".into(),
            from_version_id: None,
            to_version_id: v1.version.id,
        }];
        assert!(matches!(
            store.promote(ns.id, "stale", 1, &moves).await,
            Err(StoreError::Conflict(_))
        ));
        assert!(matches!(
            store
                .discard(ns.id, "stale", 1, &[(v1.schema_row_id, "s".into())])
                .await,
            Err(StoreError::Conflict(_))
        ));
        assert!(matches!(
            store
                .stage_existing(ns.id, "stale", 1, v1.schema_row_id, "s", &v1.version, false)
                .await,
            Err(StoreError::Conflict(_))
        ));
        assert!(matches!(
            store
                .update_namespace(ns.id, "stale", 1, Some(r#"{"x":1}"#), None)
                .await,
            Err(StoreError::Conflict(_))
        ));
        let row = schema_named(&store, ns.id, "s").await;
        assert_eq!(
            (row.current_version_id, row.staged_version_id),
            (None, Some(v1.version.id)),
            "{kind}"
        );
        assert_eq!(
            store
                .live_namespace("stale")
                .await
                .unwrap()
                .unwrap()
                .metadata,
            "{}"
        );
        assert_eq!(revision_of(&store, "stale").await, 2, "{kind}");
        assert_eq!(
            store.event_count_for_tests().await.unwrap(),
            events_before,
            "{kind}"
        );
    })
    .await;
}

// ---- pointer moves ----------------------------------------------------------

#[tokio::test]
async fn promote_discard_and_stage_existing_move_pointers() {
    on_each_backend(async |db: &TestDb| {
        let store = db.store().await;
        let kind = db.kind;
        let ns = store.create_namespace("moves", "{}", "{}").await.unwrap();
        let v1 = publish_files(&store, &ns, 1, "s", &[("a.proto", "one")], &[])
            .await
            .unwrap();
        let schema_id = v1.schema_row_id;
        let promote_to = |to: &VersionRow, from: Option<i64>| {
            [PromoteMove {
                schema_row_id: schema_id,
                schema: "s".into(),
                from_version_id: from,
                to_version_id: to.id,
            }]
        };
        let pointers = async || {
            let row = schema_named(&store, ns.id, "s").await;
            (row.current_version_id, row.staged_version_id)
        };

        let revision = store
            .promote(ns.id, "moves", 2, &promote_to(&v1.version, None))
            .await
            .unwrap();
        assert_eq!(revision, 3, "{kind}");
        assert_eq!(pointers().await, (Some(v1.version.id), None), "{kind}");
        let promoted_at = store
            .version_of(schema_id, 1)
            .await
            .unwrap()
            .unwrap()
            .promoted_at;
        assert!(promoted_at.is_some(), "{kind}");

        let v2 = publish_files(&store, &ns, 3, "s", &[("a.proto", "two")], &[])
            .await
            .unwrap();
        assert_eq!(
            pointers().await,
            (Some(v1.version.id), Some(v2.version.id)),
            "{kind}"
        );
        let (revision, _) = store
            .discard(ns.id, "moves", 4, &[(schema_id, "s".into())])
            .await
            .unwrap();
        assert_eq!(revision, 5);
        assert_eq!(
            pointers().await,
            (Some(v1.version.id), None),
            "{kind}: discard clears staging only"
        );

        let (revision, _) = store
            .stage_existing(ns.id, "moves", 5, schema_id, "s", &v2.version, false)
            .await
            .unwrap();
        assert_eq!(revision, 6);
        assert_eq!(
            pointers().await,
            (Some(v1.version.id), Some(v2.version.id)),
            "{kind}"
        );

        // A promote whose staged pointer changed underneath is refused whole:
        // its revision bump is rolled back with it.
        let err = store
            .promote(
                ns.id,
                "moves",
                6,
                &promote_to(&v1.version, Some(v1.version.id)),
            )
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)), "{kind}: {err:?}");
        assert_eq!(
            revision_of(&store, "moves").await,
            6,
            "{kind}: the transaction rolled back"
        );
        assert_eq!(
            pointers().await,
            (Some(v1.version.id), Some(v2.version.id)),
            "{kind}"
        );

        store
            .promote(
                ns.id,
                "moves",
                6,
                &promote_to(&v2.version, Some(v1.version.id)),
            )
            .await
            .unwrap();
        assert_eq!(pointers().await, (Some(v2.version.id), None), "{kind}");

        // Rollback to v1 is a pointer move: no new version row. A forced
        // rollback is remembered until the promote.
        store
            .stage_existing(ns.id, "moves", 7, schema_id, "s", &v1.version, true)
            .await
            .unwrap();
        assert!(
            schema_named(&store, ns.id, "s").await.staged_forced,
            "{kind}"
        );
        store
            .promote(
                ns.id,
                "moves",
                8,
                &promote_to(&v1.version, Some(v2.version.id)),
            )
            .await
            .unwrap();
        assert_eq!(pointers().await, (Some(v1.version.id), None), "{kind}");
        assert!(
            !schema_named(&store, ns.id, "s").await.staged_forced,
            "{kind}"
        );
        assert_eq!(
            store.versions_of(schema_id).await.unwrap().len(),
            2,
            "{kind}"
        );
        let again = store
            .version_of(schema_id, 1)
            .await
            .unwrap()
            .unwrap()
            .promoted_at;
        assert_eq!(
            again, promoted_at,
            "{kind}: promoted_at records the first promote"
        );
        assert_eq!(revision_of(&store, "moves").await, 9, "{kind}");
    })
    .await;
}

#[tokio::test]
async fn every_mutation_writes_one_event_of_its_kind() {
    on_each_backend(async |db: &TestDb| {
        let store = db.store().await;
        let kind = db.kind;
        let ns = store.create_namespace("events", "{}", "{}").await.unwrap();
        let row = store
            .update_namespace(ns.id, "events", 1, Some(r#"{"owner":"me"}"#), None)
            .await
            .unwrap();
        assert_eq!(
            (row.revision, row.metadata.as_str()),
            (2, r#"{"owner":"me"}"#)
        );
        let v1 = publish_files(&store, &ns, 2, "s", &[("a.proto", "one")], &[])
            .await
            .unwrap();
        let moves = [PromoteMove {
            schema_row_id: v1.schema_row_id,
            schema: "s".into(),
            from_version_id: None,
            to_version_id: v1.version.id,
        }];
        store.promote(ns.id, "events", 3, &moves).await.unwrap();
        publish_files(&store, &ns, 4, "s", &[("a.proto", "two")], &[])
            .await
            .unwrap();
        store
            .discard(ns.id, "events", 5, &[(v1.schema_row_id, "s".into())])
            .await
            .unwrap();
        store
            .stage_existing(
                ns.id,
                "events",
                6,
                v1.schema_row_id,
                "s",
                &v1.version,
                false,
            )
            .await
            .unwrap();
        store.delete_namespace(ns.id, "events", 7).await.unwrap();

        let events = store.events_of(ns.id).await.unwrap();
        let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(
            kinds,
            [
                "namespace.created",
                "namespace.updated",
                "schema.published",
                "namespace.promoted",
                "schema.published",
                "staging.discarded",
                "schema.rolled_back",
                "namespace.deleted",
            ],
            "{kind}"
        );
        for (index, event) in events.iter().enumerate() {
            let payload: serde_json::Value = serde_json::from_str(&event.payload).unwrap();
            assert_eq!(payload["namespace"], "events", "{kind}: {payload}");
            // Each event carries the revision its transaction wrote.
            assert_eq!(
                payload["revision"],
                index as i64 + 1,
                "{kind}: {} {payload}",
                event.kind
            );
            assert_eq!(event.namespace, "events");
        }
        let published: serde_json::Value = serde_json::from_str(&events[4].payload).unwrap();
        assert_eq!(
            (published["schema"].as_str(), published["version"].as_i64()),
            (Some("s"), Some(2))
        );
        let promoted: serde_json::Value = serde_json::from_str(&events[3].payload).unwrap();
        assert_eq!(
            promoted["promoted"][0]["to_version_id"], v1.version.id,
            "{kind}"
        );
        let rolled_back: serde_json::Value = serde_json::from_str(&events[6].payload).unwrap();
        assert_eq!(rolled_back["version"], 1, "{kind}");
    })
    .await;
}

// ---- tokens -----------------------------------------------------------------

#[tokio::test]
async fn tokens_are_found_by_hash_expire_and_revoke() {
    on_each_backend(async |db: &TestDb| {
        let store = db.store().await;
        let kind = db.kind;
        let grants = [crate::auth::Grant {
            namespace: "team".into(),
            role: crate::auth::Role::Write,
        }];
        let (token, secret) = crate::auth::create_token(&store, "ci", &grants, None)
            .await
            .unwrap();
        let row = store.token(token.id).await.unwrap().unwrap();
        assert_ne!(row.secret_sha256, secret, "{kind}: only the hash is stored");
        assert_eq!(row.secret_sha256, crate::auth::secret_hash(&secret));
        let principal = crate::auth::authenticate(&store, &secret)
            .await
            .unwrap()
            .expect("known token");
        assert!(
            principal.can("team", crate::auth::Role::Write)
                && !principal.can("team", crate::auth::Role::Admin)
        );
        assert!(
            crate::auth::authenticate(&store, "prt_unknown")
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(
            crate::auth::list_tokens(&store).await.unwrap().len(),
            1,
            "{kind}"
        );

        crate::auth::revoke_token(&store, token.id).await.unwrap();
        assert!(
            crate::auth::authenticate(&store, &secret)
                .await
                .unwrap()
                .is_none(),
            "{kind}: revoked"
        );
        assert!(crate::auth::list_tokens(&store).await.unwrap().is_empty());
        assert!(
            crate::auth::revoke_token(&store, token.id).await.is_err(),
            "{kind}: revoked twice"
        );

        let soon = chrono::Utc::now() + chrono::Duration::milliseconds(300);
        let (_, short) = crate::auth::create_token(&store, "short", &grants, Some(soon))
            .await
            .unwrap();
        assert!(
            crate::auth::authenticate(&store, &short)
                .await
                .unwrap()
                .is_some()
        );
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while crate::auth::authenticate(&store, &short)
            .await
            .unwrap()
            .is_some()
        {
            assert!(
                std::time::Instant::now() < deadline,
                "{kind}: the token never expired"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert!(
            crate::auth::create_token(&store, "past", &grants, Some(chrono::Utc::now()))
                .await
                .is_err()
        );
    })
    .await;
}

// ---- event delivery cursors ---------------------------------------------------

#[tokio::test]
async fn sink_cursors_and_events_after_page_through_the_outbox() {
    on_each_backend(async |db: &TestDb| {
        let store = db.store().await;
        let kind = db.kind;
        assert_eq!(
            store.last_event_id().await.unwrap(),
            0,
            "{kind}: no events yet"
        );
        assert_eq!(store.sink_cursor("p/s").await.unwrap(), None, "{kind}");
        for name in ["a", "b", "c"] {
            store.create_namespace(name, "{}", "{}").await.unwrap();
        }
        let last = store.last_event_id().await.unwrap();
        let all = store.events_after(0, 100).await.unwrap();
        assert_eq!(all.len(), 3, "{kind}: one event per namespace created");
        assert_eq!(all.last().unwrap().id, last, "{kind}");
        assert!(
            all.windows(2).all(|w| w[0].id < w[1].id),
            "{kind}: in order"
        );
        let page = store.events_after(all[0].id, 1).await.unwrap();
        assert_eq!(page.len(), 1);
        assert_eq!(page[0].id, all[1].id, "{kind}: strictly after the cursor");

        store.set_sink_cursor("p/s", all[0].id).await.unwrap();
        assert_eq!(
            store.sink_cursor("p/s").await.unwrap(),
            Some(all[0].id),
            "{kind}"
        );
        store.set_sink_cursor("p/s", last).await.unwrap();
        assert_eq!(
            store.sink_cursor("p/s").await.unwrap(),
            Some(last),
            "{kind}: updated in place"
        );
        assert_eq!(store.sink_cursor("p/other").await.unwrap(), None, "{kind}");
        assert!(
            store.events_after(last, 100).await.unwrap().is_empty(),
            "{kind}"
        );
    })
    .await;
}

// ---- code generation jobs -----------------------------------------------------

#[tokio::test]
async fn promote_queues_its_jobs_in_its_own_transaction() {
    on_each_backend(async |db: &TestDb| {
        let store = db.store().await;
        let kind = db.kind;
        let ns = store.create_namespace("gen", "{}", "{}").await.unwrap();
        let a = publish_files(&store, &ns, 1, "a", &[("a.proto", "a")], &[])
            .await
            .unwrap();
        let b = publish_files(&store, &ns, 2, "b", &[("b.proto", "b")], &[])
            .await
            .unwrap();
        let moves = [
            PromoteMove {
                schema_row_id: a.schema_row_id,
                schema: "a".into(),
                from_version_id: None,
                to_version_id: a.version.id,
            },
            PromoteMove {
                schema_row_id: b.schema_row_id,
                schema: "b".into(),
                from_version_id: None,
                to_version_id: b.version.id,
            },
        ];
        let targets = [
            JobTarget {
                plugin: "go".into(),
                parameter: String::new(),
            },
            JobTarget {
                plugin: "python".into(),
                parameter: "pyi".into(),
            },
        ];
        // A stale revision: nothing promoted, no job queued.
        let stale = store
            .promote_enqueuing(ns.id, "gen", 1, &moves, &targets)
            .await;
        assert!(
            matches!(stale, Err(StoreError::Conflict(_))),
            "{kind}: {stale:?}"
        );
        assert!(
            store.queued_job_ids(100).await.unwrap().is_empty(),
            "{kind}: a failed promote queues nothing"
        );

        let commit = store
            .promote_enqueuing(ns.id, "gen", 3, &moves, &targets)
            .await
            .unwrap();
        assert_eq!(commit.revision, 4);
        assert_eq!(commit.job_ids.len(), 4, "{kind}: 2 versions x 2 targets");
        assert_eq!(store.queued_job_ids(100).await.unwrap(), commit.job_ids);
        assert_eq!(store.queued_job_ids(1).await.unwrap(), commit.job_ids[..1]);
        let first = store.job(commit.job_ids[0]).await.unwrap().unwrap();
        assert_eq!(
            (
                first.job.schema.as_str(),
                first.version,
                first.job.plugin.as_str()
            ),
            ("a", 1, "go")
        );
        assert_eq!(
            (first.job.kind.as_str(), first.job.namespace.as_str()),
            ("codegen", "gen")
        );
        let last = store.job(commit.job_ids[3]).await.unwrap().unwrap();
        assert_eq!(
            (
                last.job.schema.as_str(),
                last.job.plugin.as_str(),
                last.job.parameter.as_str()
            ),
            ("b", "python", "pyi")
        );

        // Claimed once; a restart queues running jobs again.
        let claimed = store
            .claim_job(first.job.id)
            .await
            .unwrap()
            .expect("queued → running");
        assert_eq!(claimed.job.status, "running");
        assert!(claimed.job.started_at.is_some());
        assert!(
            store.claim_job(first.job.id).await.unwrap().is_none(),
            "{kind}: claimed twice"
        );
        assert_eq!(store.requeue_running_jobs().await.unwrap(), 1);
        assert_eq!(
            store.job(first.job.id).await.unwrap().unwrap().job.status,
            "queued"
        );

        // A failure: log and times, no artifact; one event.
        let claimed = store.claim_job(first.job.id).await.unwrap().unwrap();
        let events_before = store.event_count_for_tests().await.unwrap();
        let failed = store
            .finish_job(
                &claimed.job,
                1,
                JobResult::Failed {
                    log: "exited with 1",
                },
            )
            .await
            .unwrap();
        assert_eq!(
            (failed.status.as_str(), failed.log.as_str()),
            ("failed", "exited with 1")
        );
        assert!(
            failed.finished_at.is_some() && failed.artifact_sha256.is_none(),
            "{kind}"
        );
        assert!(
            store
                .artifact(a.version.id, "go", "")
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(
            store.event_count_for_tests().await.unwrap(),
            events_before + 1
        );

        // Successes store the archive once; the first artifact stays.
        let archive = b"gzip tar".to_vec();
        let sha = sha256_hex(&archive);
        for id in &commit.job_ids[1..3] {
            let claimed = store.claim_job(*id).await.unwrap().unwrap();
            store
                .finish_job(
                    &claimed.job,
                    claimed.version,
                    JobResult::Succeeded {
                        archive: BlobRef {
                            sha256: &sha,
                            data: &archive,
                        },
                        log: "ok",
                    },
                )
                .await
                .unwrap();
        }
        let artifact = store
            .artifact(a.version.id, "python", "pyi")
            .await
            .unwrap()
            .expect("stored");
        assert_eq!(artifact.blob_sha256, sha, "{kind}");
        assert!(
            store
                .artifact(a.version.id, "python", "")
                .await
                .unwrap()
                .is_none(),
            "{kind}: keyed by parameter"
        );
        assert_eq!(store.blobs(&[sha.as_str()]).await.unwrap()[&sha], archive);
        let kinds = event_kinds(&store, ns.id).await;
        assert_eq!(
            kinds.iter().filter(|k| *k == "codegen.finished").count(),
            3,
            "{kind}: {kinds:?}"
        );
        assert_eq!(
            revision_of(&store, "gen").await,
            4,
            "{kind}: finishing a job is not a namespace change"
        );
    })
    .await;
}

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
