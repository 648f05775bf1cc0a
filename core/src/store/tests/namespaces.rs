//! Namespaces: unique live names, soft delete.

use super::*;

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
            .delete_namespace(NamespaceAt::new(first.id, "billing", 0))
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
            .delete_namespace(NamespaceAt::new(first.id, "billing", 1))
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
            .update_namespace(NamespaceAt::new(first.id, "billing", 2), Some("{}"), None)
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
