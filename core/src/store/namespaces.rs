//! Namespaces: create, update, soft delete, and the live rows by name.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::models::*;
use super::schema::{namespaces, restore_checkpoints};
use super::{Store, StoreError, now};

/// The namespace a mutation writes, as its writer read it: the mutation
/// checks `expected_revision` and bumps it (a stale revision is a
/// conflict), and names the namespace in its event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NamespaceAt<'a> {
    /// The namespace's row id.
    pub id: i64,
    pub name: &'a str,
    pub expected_revision: i64,
}

impl<'a> NamespaceAt<'a> {
    pub fn new(id: i64, name: &'a str, expected_revision: i64) -> Self {
        Self {
            id,
            name,
            expected_revision,
        }
    }
}

impl Store {
    /// Creates a namespace; a live namespace of that name → unique violation.
    pub async fn create_namespace(
        &self,
        name: &str,
        metadata: &str,
        settings: &str,
    ) -> Result<NamespaceRow, StoreError> {
        let at = now();
        transaction!(self, conn => {
            let row: NamespaceRow = diesel::insert_into(namespaces::table)
                .values(&NewNamespace { name, metadata, settings, revision: 1, created_at: at, updated_at: at })
                .returning(NamespaceRow::as_returning())
                .get_result(conn)
                .await?;
            insert_event!(conn, Some(row.id), name, "namespace.created",
                serde_json::json!({"namespace": name, "revision": row.revision}), at);
            Ok(row)
        })
    }

    /// Replaces metadata and/or settings of a live namespace.
    pub async fn update_namespace(
        &self,
        namespace: NamespaceAt<'_>,
        metadata: Option<&str>,
        settings: Option<&str>,
    ) -> Result<NamespaceRow, StoreError> {
        let NamespaceAt {
            id: namespace_id,
            name,
            expected_revision,
        } = namespace;
        let at = now();
        transaction!(self, conn => {
            let revision = bump_revision!(conn, namespace_id, expected_revision, at);
            if let Some(metadata) = metadata {
                diesel::update(namespaces::table.find(namespace_id))
                    .set(namespaces::metadata.eq(metadata))
                    .execute(conn)
                    .await?;
            }
            if let Some(settings) = settings {
                diesel::update(namespaces::table.find(namespace_id))
                    .set(namespaces::settings.eq(settings))
                    .execute(conn)
                    .await?;
            }
            insert_event!(conn, Some(namespace_id), name, "namespace.updated",
                serde_json::json!({"namespace": name, "revision": revision}), at);
            let row = namespaces::table.find(namespace_id).select(NamespaceRow::as_select()).first(conn).await?;
            Ok(row)
        })
    }

    /// Soft delete: the rows stay for audit, the name becomes free.
    pub async fn delete_namespace(&self, namespace: NamespaceAt<'_>) -> Result<(), StoreError> {
        let NamespaceAt {
            id: namespace_id,
            name,
            expected_revision,
        } = namespace;
        let at = now();
        transaction!(self, conn => {
            let revision = bump_revision!(conn, namespace_id, expected_revision, at);
            diesel::update(namespaces::table.find(namespace_id))
                .set(namespaces::deleted_at.eq(Some(at)))
                .execute(conn)
                .await?;
            diesel::delete(restore_checkpoints::table.find(namespace_id))
                .execute(conn)
                .await?;
            insert_event!(conn, Some(namespace_id), name, "namespace.deleted",
                serde_json::json!({"namespace": name, "revision": revision}), at);
            Ok(())
        })
    }

    /// Every live namespace's row id, name and revision (the replica
    /// sync's periodic look).
    pub async fn live_revisions(&self) -> Result<Vec<(i64, String, i64)>, StoreError> {
        with_conn!(self, conn => {
            Ok(namespaces::table
                .filter(namespaces::deleted_at.is_null())
                .select((namespaces::id, namespaces::name, namespaces::revision))
                .load(conn)
                .await?)
        })
    }

    pub async fn live_namespace(&self, name: &str) -> Result<Option<NamespaceRow>, StoreError> {
        with_conn!(self, conn => {
            Ok(namespaces::table
                .filter(namespaces::name.eq(name).and(namespaces::deleted_at.is_null()))
                .select(NamespaceRow::as_select())
                .first(conn)
                .await
                .optional()?)
        })
    }
}

#[cfg(test)]
impl Store {
    pub async fn live_namespaces(&self) -> Result<Vec<NamespaceRow>, StoreError> {
        with_conn!(self, conn => {
            Ok(namespaces::table
                .filter(namespaces::deleted_at.is_null())
                .order(namespaces::name)
                .select(NamespaceRow::as_select())
                .load(conn)
                .await?)
        })
    }
}
