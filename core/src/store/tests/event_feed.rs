//! The event API's reads of the outbox: id order under concurrent writers,
//! filtered pages, and retention.

use std::collections::BTreeSet;
use std::time::Duration;

use super::*;
use crate::store::schema::events_pruned;

/// Many writers (several namespaces, several threads) each commit events
/// from transactions that go on working after their insert, while a reader
/// pages `id > cursor` as a sink does. Without the event order lock a
/// later id commits before an earlier one, the reader moves its cursor
/// past the earlier id and never sees it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reader_of_id_after_cursor_sees_every_event_under_concurrent_writers() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    const WRITERS: usize = 8;
    const EACH: usize = 40;
    let store = Store::open(&StoreConfig {
        max_connections: WRITERS + 2,
        ..db.store_config()
    })
    .await
    .unwrap();
    let mut writers = Vec::new();
    for writer in 0..WRITERS {
        let store = store.clone();
        writers.push(tokio::spawn(async move {
            let namespace = format!("ns{}", writer % 4);
            for i in 0..EACH {
                let linger = Duration::from_micros(((writer * 7 + i * 13) % 5) as u64 * 500);
                store
                    .insert_event_lingering(&namespace, linger)
                    .await
                    .unwrap();
            }
        }));
    }
    let writers_done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let store = store.clone();
        let writers_done = writers_done.clone();
        tokio::spawn(async move {
            let mut cursor = 0;
            let mut seen = Vec::new();
            loop {
                // Read once more after the writers finished: what that read
                // does not return lies below the cursor, skipped for good.
                let last_pass = std::sync::atomic::AtomicBool::load(
                    &writers_done,
                    std::sync::atomic::Ordering::SeqCst,
                );
                for row in store.events_after(cursor, 1000).await.unwrap() {
                    cursor = row.id;
                    seen.push(row.id);
                }
                if last_pass {
                    return seen;
                }
                tokio::time::sleep(Duration::from_micros(300)).await;
            }
        })
    };
    for writer in writers {
        writer.await.unwrap();
    }
    writers_done.store(true, std::sync::atomic::Ordering::SeqCst);
    let seen = reader.await.unwrap();
    let all = store.all_event_ids().await.unwrap();
    assert_eq!(all.len(), WRITERS * EACH);
    let seen_set: BTreeSet<i64> = seen.iter().copied().collect();
    let missed: Vec<i64> = all
        .iter()
        .filter(|id| !seen_set.contains(id))
        .copied()
        .collect();
    assert!(missed.is_empty(), "the reader skipped events {missed:?}");
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "in id order");
}

#[tokio::test]
async fn pages_are_filtered_by_namespace_kind_and_scope() {
    on_each_backend(async |db: &TestDb| {
        let store = db.store().await;
        let kind = db.kind;
        let shop = store.create_namespace("shop", "{}", "{}").await.unwrap();
        store.create_namespace("billing", "{}", "{}").await.unwrap();
        store
            .update_namespace(NamespaceAt::new(shop.id, "shop", 1), Some("{}"), None)
            .await
            .unwrap();
        store
            .create_token(&NewToken {
                name: "t",
                secret_sha256: "x",
                roles: "[]",
                created_at: now(),
                expires_at: None,
            })
            .await
            .unwrap();
        let head = store.last_event_id().await.unwrap();
        let page = |selection: EventSelection| {
            let store = store.clone();
            async move {
                let (rows, watermark) = store.events_page(0, head, &selection, 100).await.unwrap();
                assert_eq!(watermark, 0);
                rows.into_iter()
                    .map(|r| format!("{}:{}", r.namespace, r.kind))
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(
            page(EventSelection::default()).await,
            [
                "shop:namespace.created",
                "billing:namespace.created",
                "shop:namespace.updated",
                ":token.created"
            ],
            "{kind}"
        );
        assert_eq!(
            page(EventSelection {
                exclude_global: true,
                ..Default::default()
            })
            .await
            .len(),
            3,
            "{kind}"
        );
        assert_eq!(
            page(EventSelection {
                namespaces: Some(vec!["shop".into()]),
                kinds: Some(vec!["namespace.updated".into()]),
                ..Default::default()
            })
            .await,
            ["shop:namespace.updated"],
            "{kind}"
        );
        assert!(
            page(EventSelection {
                namespaces: Some(Vec::new()),
                ..Default::default()
            })
            .await
            .is_empty(),
            "{kind}"
        );
        let (upto_first, _) = store
            .events_page(0, head - 1, &EventSelection::default(), 100)
            .await
            .unwrap();
        assert_eq!(upto_first.len(), 3, "{kind}: nothing past `upto`");
        let (limited, _) = store
            .events_page(0, head, &EventSelection::default(), 2)
            .await
            .unwrap();
        assert_eq!(limited.len(), 2, "{kind}");
    })
    .await;
}

#[tokio::test]
async fn pruning_deletes_the_oldest_events_and_raises_the_watermark() {
    on_each_backend(async |db: &TestDb| {
        let store = db.store().await;
        let kind = db.kind;
        assert_eq!(
            store.prune_events(now(), 10).await.unwrap(),
            None,
            "{kind}: nothing to prune"
        );
        for name in ["a", "b", "c"] {
            store.create_namespace(name, "{}", "{}").await.unwrap();
        }
        let old = store.all_event_ids().await.unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
        let cutoff = now();
        tokio::time::sleep(Duration::from_millis(5)).await;
        store.create_namespace("d", "{}", "{}").await.unwrap();
        // Batches of one: the prune goes on until it meets a kept event.
        let watermark = store.prune_events(cutoff, 1).await.unwrap();
        assert_eq!(watermark, Some(old[2]), "{kind}");
        let kept = store.all_event_ids().await.unwrap();
        assert_eq!(kept.len(), 1, "{kind}: only the new event is kept");
        assert!(kept[0] > old[2]);
        assert_eq!(store.events_watermark().await.unwrap(), old[2], "{kind}");
        let (rows, mark) = store
            .events_page(0, kept[0], &EventSelection::default(), 10)
            .await
            .unwrap();
        assert_eq!((rows.len(), mark), (1, old[2]), "{kind}");
        assert_eq!(store.prune_events(cutoff, 10).await.unwrap(), None, "{kind}");
        // Every column of the watermark row loads through schema.rs.
        let row: (i32, i64, chrono::NaiveDateTime) = async {
            with_conn!(store, conn => {
                Ok::<_, StoreError>(events_pruned::table.select(events_pruned::all_columns).first(conn).await?)
            })
        }
        .await
        .unwrap();
        assert_eq!((row.0, row.1), (1, old[2]), "{kind}");
        // Pruning everything never lets an id be taken again.
        store.prune_events(now() + chrono::Duration::seconds(1), 10).await.unwrap();
        assert!(store.all_event_ids().await.unwrap().is_empty(), "{kind}");
        store.create_namespace("e", "{}", "{}").await.unwrap();
        assert!(store.last_event_id().await.unwrap() > kept[0], "{kind}: ids keep increasing");
    })
    .await;
}
