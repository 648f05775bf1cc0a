//! The events outbox and the sink cursors.

use super::*;

#[tokio::test]
async fn every_mutation_writes_one_event_of_its_kind() {
    on_each_backend(async |db: &TestDb| {
        let store = db.store().await;
        let kind = db.kind;
        let ns = store.create_namespace("events", "{}", "{}").await.unwrap();
        let row = store
            .update_namespace(
                NamespaceAt::new(ns.id, "events", 1),
                Some(r#"{"owner":"me"}"#),
                None,
            )
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
            .discard(
                NamespaceAt::new(ns.id, "events", 5),
                &[(v1.schema_row_id, "s".into())],
            )
            .await
            .unwrap();
        store
            .stage_existing(
                NamespaceAt::new(ns.id, "events", 6),
                v1.schema_row_id,
                "s",
                &v1.version,
                false,
            )
            .await
            .unwrap();
        store
            .delete_namespace(NamespaceAt::new(ns.id, "events", 7))
            .await
            .unwrap();

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
            promoted["promoted"][0],
            serde_json::json!({"schema": "s", "from_version": null, "to_version": 1}),
            "{kind}: version numbers, not row ids"
        );
        let rolled_back: serde_json::Value = serde_json::from_str(&events[6].payload).unwrap();
        assert_eq!(rolled_back["version"], 1, "{kind}");
    })
    .await;
}

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
