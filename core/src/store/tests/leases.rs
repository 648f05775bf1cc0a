//! Leases on background work, job claims with leases, and the change
//! notifications every event writer sends.

use std::pin::pin;

use diesel_async::AsyncConnection;
use futures::StreamExt;

use super::*;

#[tokio::test]
async fn a_lease_is_held_by_one_holder_until_it_expires() {
    on_each_backend(async |db: &TestDb| {
        let store = db.store().await;
        let kind = db.kind;
        assert!(
            store.hold_lease("sink:a/b").await.unwrap(),
            "{kind}: free → taken"
        );
        let (holder, first_expiry) = store.lease_holder("sink:a/b").await.unwrap().unwrap();
        assert_eq!(holder, replica_id(), "{kind}");
        assert!(
            store.hold_lease("sink:a/b").await.unwrap(),
            "{kind}: ours → held"
        );

        // Renewal pushes the expiry forward.
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        store.renew_leases().await.unwrap();
        let (_, renewed) = store.lease_holder("sink:a/b").await.unwrap().unwrap();
        assert!(renewed > first_expiry, "{kind}: {renewed} > {first_expiry}");

        // Another live replica holds it: not ours, and renewing does not
        // take it back.
        let later = now() + chrono::Duration::seconds(30);
        store
            .give_lease_for_tests("sink:a/b", "other-replica", later)
            .await
            .unwrap();
        assert!(
            !store.hold_lease("sink:a/b").await.unwrap(),
            "{kind}: held elsewhere"
        );
        store.renew_leases().await.unwrap();
        assert_eq!(
            store.lease_holder("sink:a/b").await.unwrap().unwrap(),
            ("other-replica".to_owned(), later),
            "{kind}"
        );

        // Its holder died: once expired, the lease passes to us.
        store.expire_leases_for_tests().await.unwrap();
        assert!(
            store.hold_lease("sink:a/b").await.unwrap(),
            "{kind}: expired → taken"
        );
        assert_eq!(
            store.lease_holder("sink:a/b").await.unwrap().unwrap().0,
            replica_id(),
            "{kind}"
        );

        // Released at shutdown: the row is gone, so anyone takes it at once.
        store.release_leases().await.unwrap();
        assert!(
            store.lease_holder("sink:a/b").await.unwrap().is_none(),
            "{kind}"
        );
    })
    .await;
}

#[tokio::test]
async fn the_sole_process_takes_over_unexpired_leases_at_open() {
    on_each_backend(async |db: &TestDb| {
        let kind = db.kind;
        let store = db.store().await;
        let later = now() + chrono::Duration::seconds(30);
        store
            .give_lease_for_tests("checkpoints", "a-killed-process", later)
            .await
            .unwrap();
        // Without the proof of being alone, the lease is another's until it
        // expires.
        let shared = db.store().await;
        assert!(
            !shared.hold_lease("checkpoints").await.unwrap(),
            "{kind}: a live holder's lease"
        );
        // With it, the holder is known to be gone.
        let mut config = db.store_config();
        config.sole_process = true;
        let alone = Store::open(&config).await.unwrap();
        assert!(
            alone.hold_lease("checkpoints").await.unwrap(),
            "{kind}: taken over at open"
        );
        assert_eq!(
            alone.lease_holder("checkpoints").await.unwrap().unwrap().0,
            replica_id(),
            "{kind}"
        );
    })
    .await;
}

#[tokio::test]
async fn a_dead_replicas_running_job_is_claimed_again_once_its_lease_expires() {
    on_each_backend(async |db: &TestDb| {
        let store = db.store().await;
        let kind = db.kind;
        let ns = store.create_namespace("gen", "{}", "{}").await.unwrap();
        let v1 = publish_files(&store, &ns, 1, "a", &[("a.proto", "one")], &[])
            .await
            .unwrap();
        let moves = [PromoteMove {
            schema_row_id: v1.schema_row_id,
            schema: "a".into(),
            from_version_id: None,
            to_version_id: v1.version.id,
        }];
        let targets = [
            JobTarget {
                plugin: "go".into(),
                parameter: String::new(),
            },
            JobTarget {
                plugin: "python".into(),
                parameter: String::new(),
            },
        ];
        let commit = store
            .promote_enqueuing(NamespaceAt::new(ns.id, "gen", 2), &moves, &targets)
            .await
            .unwrap();
        assert_eq!(commit.job_ids.len(), 2, "{kind}");

        let first = store.claim_next_job().await.unwrap().expect("a queued job");
        assert_eq!(first.job.id, commit.job_ids[0], "{kind}: oldest first");
        assert_eq!(first.job.status, "running", "{kind}");
        assert_eq!(
            first.job.lease_holder.as_deref(),
            Some(replica_id()),
            "{kind}"
        );
        let second = store
            .claim_next_job()
            .await
            .unwrap()
            .expect("the other job");
        assert_eq!(
            second.job.id, commit.job_ids[1],
            "{kind}: never the same job twice"
        );
        assert!(
            store.claim_next_job().await.unwrap().is_none(),
            "{kind}: both running under live leases"
        );

        // The replica running them died: once the leases expire, the jobs
        // are claimed again.
        store.expire_leases_for_tests().await.unwrap();
        let again = store.claim_next_job().await.unwrap().expect("taken over");
        assert_eq!(again.job.id, commit.job_ids[0], "{kind}");
        let (holder, expires) = (again.job.lease_holder.clone(), again.job.lease_expires_at);
        assert_eq!(holder.as_deref(), Some(replica_id()), "{kind}");
        assert!(expires.unwrap() > now(), "{kind}: a fresh lease");
    })
    .await;
}

/// Replicas claiming at once on PostgreSQL take different jobs.
#[tokio::test]
async fn concurrent_claims_take_each_job_once() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let store = Store::open(&StoreConfig {
        max_connections: 10,
        ..db.store_config()
    })
    .await
    .unwrap();
    let ns = store.create_namespace("gen", "{}", "{}").await.unwrap();
    let v1 = publish_files(&store, &ns, 1, "a", &[("a.proto", "one")], &[])
        .await
        .unwrap();
    let moves = [PromoteMove {
        schema_row_id: v1.schema_row_id,
        schema: "a".into(),
        from_version_id: None,
        to_version_id: v1.version.id,
    }];
    let targets: Vec<JobTarget> = (0..24)
        .map(|i| JobTarget {
            plugin: format!("gen{i}"),
            parameter: String::new(),
        })
        .collect();
    let commit = store
        .promote_enqueuing(NamespaceAt::new(ns.id, "gen", 2), &moves, &targets)
        .await
        .unwrap();
    let mut claimers = Vec::new();
    for _ in 0..8 {
        let store = store.clone();
        claimers.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            while let Some(record) = store.claim_next_job().await.unwrap() {
                mine.push(record.job.id);
            }
            mine
        }));
    }
    let mut claimed = Vec::new();
    for claimer in claimers {
        claimed.extend(claimer.await.unwrap());
    }
    claimed.sort_unstable();
    assert_eq!(claimed, commit.job_ids, "every job claimed exactly once");
}

/// Every event writer announces its commit on PostgreSQL: the replica, and
/// the namespace with the revision the commit left it at; nothing for a
/// transaction rolled back.
#[tokio::test]
async fn committed_events_are_announced_with_namespace_and_revision() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let store = db.store().await;
    let mut listener = diesel_async::AsyncPgConnection::establish(&db.url)
        .await
        .unwrap();
    diesel::sql_query(format!("LISTEN {CHANGES_CHANNEL}"))
        .execute(&mut listener)
        .await
        .unwrap();
    let ns = store.create_namespace("told", "{}", "{}").await.unwrap();
    store
        .update_namespace(NamespaceAt::new(ns.id, "told", 1), Some("{}"), None)
        .await
        .unwrap();
    // A stale revision: rolled back, never announced.
    store
        .update_namespace(NamespaceAt::new(ns.id, "told", 1), Some("{}"), None)
        .await
        .unwrap_err();
    let mut notes = pin!(listener.notifications_stream());
    let mut seen = Vec::new();
    for _ in 0..2 {
        let note = tokio::time::timeout(std::time::Duration::from_secs(5), notes.next())
            .await
            .expect("a notification within 5 s")
            .unwrap()
            .unwrap();
        assert_eq!(note.channel, CHANGES_CHANNEL);
        seen.push(ChangeNote::parse(&note.payload).expect("a readable payload"));
    }
    let me = replica_id().to_owned();
    assert_eq!(
        seen,
        vec![
            ChangeNote {
                origin: me.clone(),
                namespace: Some((ns.id, 1))
            },
            ChangeNote {
                origin: me,
                namespace: Some((ns.id, 2))
            },
        ]
    );
    assert!(
        tokio::time::timeout(std::time::Duration::from_millis(300), notes.next())
            .await
            .is_err(),
        "nothing more (the conflicting update rolled back)"
    );
}

#[test]
fn change_notes_parse_strictly() {
    assert_eq!(
        ChangeNote::parse("r1 7 42"),
        Some(ChangeNote {
            origin: "r1".into(),
            namespace: Some((7, 42))
        })
    );
    assert_eq!(
        ChangeNote::parse("r1"),
        Some(ChangeNote {
            origin: "r1".into(),
            namespace: None
        })
    );
    for bad in ["", "r1 7", "r1 x 4", "r1 7 y", " 7 42"] {
        assert_eq!(ChangeNote::parse(bad), None, "{bad:?}");
    }
}
