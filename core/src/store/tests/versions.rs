//! Publish, promote, discard and rollback (`stage_existing`).

use super::*;

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
                .discard(
                    NamespaceAt::new(ns.id, "stale", 1),
                    &[(v1.schema_row_id, "s".into())]
                )
                .await,
            Err(StoreError::Conflict(_))
        ));
        assert!(matches!(
            store
                .stage_existing(
                    NamespaceAt::new(ns.id, "stale", 1),
                    v1.schema_row_id,
                    "s",
                    &v1.version,
                    false
                )
                .await,
            Err(StoreError::Conflict(_))
        ));
        assert!(matches!(
            store
                .update_namespace(
                    NamespaceAt::new(ns.id, "stale", 1),
                    Some(r#"{"x":1}"#),
                    None
                )
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
            .discard(
                NamespaceAt::new(ns.id, "moves", 4),
                &[(schema_id, "s".into())],
            )
            .await
            .unwrap();
        assert_eq!(revision, 5);
        assert_eq!(
            pointers().await,
            (Some(v1.version.id), None),
            "{kind}: discard clears staging only"
        );

        let (revision, _) = store
            .stage_existing(
                NamespaceAt::new(ns.id, "moves", 5),
                schema_id,
                "s",
                &v2.version,
                false,
            )
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
            .stage_existing(
                NamespaceAt::new(ns.id, "moves", 7),
                schema_id,
                "s",
                &v1.version,
                true,
            )
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
