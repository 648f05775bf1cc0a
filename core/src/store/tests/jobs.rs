//! Code generation jobs and artifacts.

use super::*;

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
            .promote_enqueuing(NamespaceAt::new(ns.id, "gen", 1), &moves, &targets)
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
            .promote_enqueuing(NamespaceAt::new(ns.id, "gen", 3), &moves, &targets)
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
        assert_eq!(
            claimed.job.lease_holder.as_deref(),
            Some(crate::store::replica_id()),
            "{kind}: leased to this process"
        );
        assert_eq!(
            store.requeue_running_jobs().await.unwrap(),
            0,
            "{kind}: a job under a live lease stays running"
        );
        store.expire_leases_for_tests().await.unwrap();
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
                    verified: None,
                },
                &[],
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
        // Finishing again (a retry after an error that hid a commit)
        // changes nothing and writes no second event.
        let again = store
            .finish_job(
                &claimed.job,
                1,
                JobResult::Failed {
                    log: "a different log",
                    verified: None,
                },
                &[],
            )
            .await
            .unwrap();
        assert_eq!(
            (again.status.as_str(), again.log.as_str(), again.finished_at),
            ("failed", "exited with 1", failed.finished_at),
            "{kind}"
        );
        assert_eq!(
            store.event_count_for_tests().await.unwrap(),
            events_before + 1,
            "{kind}: one event per job end"
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
                        verified: None,
                    },
                    &[],
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
async fn the_push_rate_limit_counts_a_sources_jobs_of_the_last_minute_in_the_store() {
    on_each_backend(async |db: &TestDb| {
        // Two handles on one database: two replicas.
        let (one, two) = (db.store().await, db.store().await);
        let kind = db.kind;
        let source = |name: &str| SourceFields {
            namespace: "ns".into(),
            url: format!("file:///{name}.git"),
            url_key: format!("file:///{name}"),
            branch: "main".into(),
            root: ".".into(),
            layout: "folders".into(),
            schemas: "[]".into(),
            auto_promote: false,
            secret: Some("s".into()),
            service: None,
            service_domain: None,
        };
        let a = one.create_source(source("a")).await.unwrap();
        let b = one.create_source(source("b")).await.unwrap();
        let push = SyncRequest {
            commit: None,
            git_ref: Some("refs/heads/main".into()),
            requested_by: "pusher".into(),
            per_minute: Some(2),
        };
        assert!(
            one.enqueue_sync(&a, &push).await.unwrap().is_some(),
            "{kind}"
        );
        let second = two
            .enqueue_sync(&a, &push)
            .await
            .unwrap()
            .expect("under the limit");
        assert!(
            one.enqueue_sync(&a, &push).await.unwrap().is_none(),
            "{kind}: the third push of the minute, through either replica, is refused"
        );
        assert!(
            two.enqueue_sync(&a, &push).await.unwrap().is_none(),
            "{kind}"
        );
        let claimed = one.claim_sync_job().await.unwrap().expect("a queued job");
        assert_eq!(
            claimed.id, second.id,
            "{kind}: a refused push queues nothing and supersedes nothing"
        );
        assert!(
            two.enqueue_sync(&b, &push).await.unwrap().is_some(),
            "{kind}: the limit is per source"
        );
        let manual = SyncRequest {
            per_minute: None,
            ..push.clone()
        };
        assert!(
            one.enqueue_sync(&a, &manual).await.unwrap().is_some(),
            "{kind}: a request without a limit is queued"
        );
    })
    .await;
}
