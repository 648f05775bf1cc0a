//! Migrations up and down, and `schema.rs` against the migrated tables.

use chrono::NaiveDateTime;
use diesel::QueryableByName;

use super::*;
use crate::store::schema::{
    artifacts, blobs, events, jobs, namespaces, schema_version_deps, schema_version_files,
    schema_versions, schemas, sources,
};

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

/// Replicas starting at once on a new database all start: one migrates, the
/// others wait for it and find nothing left to do.
#[tokio::test]
async fn concurrent_migrations_all_succeed() {
    on_each_backend(async |db: &TestDb| {
        if db.kind == "sqlite" {
            return; // one process per SQLite file (serve's lock)
        }
        revert_all_migrations(&db.url).unwrap();
        let runs = futures::future::join_all((0..4).map(|_| run_migrations(&db.url))).await;
        for (i, run) in runs.into_iter().enumerate() {
            run.unwrap_or_else(|e| panic!("{}: migration run {i}: {e}", db.kind));
        }
        let store = db.store().await;
        assert_eq!(
            store
                .create_namespace("after", "{}", "{}")
                .await
                .unwrap()
                .revision,
            1
        );
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
        store.delete_namespace(NamespaceAt::new(gone.id, "gone", 1)).await.unwrap();

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
            .promote_enqueuing(NamespaceAt::new(ns.id, &ns.name, 4), &[PromoteMove {
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
            .finish_job(&running, 1, JobResult::Succeeded { archive: BlobRef { sha256: &sha, data: &archive }, log: "ok", verified: Some(true) }, &[])
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
        assert_eq!((job_rows[0].lease_holder.as_deref(), job_rows[0].lease_expires_at), (None, None), "{kind}: a queued job has no lease");
        assert_eq!(job_rows[1].lease_holder.as_deref(), Some(replica_id()), "{kind}: an on-demand job is leased to its replica");
        assert!(job_rows[1].lease_expires_at.is_some(), "{kind}");
        assert_eq!(artifact_rows.len(), 1, "{kind}");
        assert_eq!((artifact_rows[0].version_id, artifact_rows[0].blob_sha256.as_str()), (common.version.id, sha.as_str()));

        // Sources and sync jobs (no version, NULL namespace id before the
        // namespace exists), through schema.rs.
        let source = store
            .create_source(SourceFields {
                namespace: "later".into(),
                url: "file:///repo.git".into(),
                url_key: "file:///repo".into(),
                branch: "main".into(),
                root: ".".into(),
                layout: "folders".into(),
                schemas: "[]".into(),
                auto_promote: true,
                secret: Some("s".into()),
                service: None,
                service_domain: None,
            })
            .await
            .unwrap();
        let request = SyncRequest { commit: Some("abc123".into()), git_ref: None, requested_by: "me".into(), per_minute: None };
        let first = store.enqueue_sync(&source, &request).await.unwrap().expect("no limit");
        let second = store.enqueue_sync(&source, &request).await.unwrap().expect("no limit");
        assert_eq!((first.version_id, first.namespace_id), (None, None), "{kind}");
        let claimed = store.claim_sync_job().await.unwrap().expect("a queued sync job");
        assert_eq!(claimed.id, second.id, "{kind}: the newer push superseded the queued one");
        assert!(store.claim_sync_job().await.unwrap().is_none(), "{kind}: one job per source at a time");
        let result = SyncResult {
            succeeded: true,
            log: "done".into(),
            commit: Some("abc123".into()),
            published: vec![],
            promoted: vec![],
            schemas: vec!["a".into()],
        };
        let done = store.finish_sync_job(&claimed, &result).await.unwrap();
        assert_eq!(done.status, "succeeded", "{kind}");
        assert_eq!(done.git_info().commit.as_deref(), Some("abc123"));
        let rows: Vec<SourceRow> = async {
            with_conn!(store, conn => {
                Ok::<_, StoreError>(sources::table.select(SourceRow::as_select()).load(conn).await?)
            })
        }
        .await
        .unwrap();
        assert_eq!(rows[0].synced_schemas, r#"["a"]"#, "{kind}");
        let superseded = store.last_syncs(&[source.id]).await.unwrap();
        assert_eq!(superseded[&source.id].id, second.id, "{kind}");

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
            ("jobs", 19),
            ("artifacts", 5),
            ("sources", 15),
            ("leases", 3),
        ] {
            assert_eq!(column_count(&store, table).await, columns, "{kind}: columns of {table}");
        }
    })
    .await;
}
