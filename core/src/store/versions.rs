//! Schemas and their versions: publish, promote, discard, rollback
//! (`stage_existing`), and the reads of schema, version, file and import
//! rows.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::jobs::{CODEGEN_JOB, JobStatus, JobTarget};
use super::models::*;
use super::namespaces::NamespaceAt;
use super::schema::{jobs, schema_version_deps, schema_version_files, schema_versions, schemas};
use super::{BlobRef, Store, StoreError, now};

/// Everything a publish writes.
#[derive(Debug)]
pub struct PublishRecord<'a> {
    pub namespace: NamespaceAt<'a>,
    pub schema: &'a str,
    pub fingerprint: &'a str,
    pub descriptor_sha256: &'a str,
    /// Sources and the compiled descriptor set.
    pub blobs: Vec<BlobRef<'a>>,
    /// `(path, source sha256)`.
    pub files: Vec<(&'a str, &'a str)>,
    /// `(file, import, version id or None for a well-known type)`.
    pub deps: Vec<(&'a str, &'a str, Option<i64>)>,
    pub created_by: &'a str,
    pub metadata: &'a str,
}

#[derive(Debug, Clone)]
pub struct Published {
    pub schema_row_id: i64,
    pub version: VersionRow,
    pub revision: i64,
}

/// A staged version to make current.
#[derive(Debug, Clone)]
pub struct PromoteMove {
    pub schema_row_id: i64,
    pub schema: String,
    pub from_version_id: Option<i64>,
    pub to_version_id: i64,
}

/// What a promote committed.
#[derive(Debug, Clone)]
pub struct PromoteCommit {
    pub revision: i64,
    /// When it was committed (stored as the schemas' and the namespace's
    /// `updated_at`), at the stored precision.
    pub at: NaiveDateTime,
    /// The jobs it queued, in creation order.
    pub job_ids: Vec<i64>,
}

impl Store {
    /// Stores a new version and stages it, numbering it max + 1 for its
    /// schema inside the transaction (dense, even across replicas: the
    /// revision check serializes writers of a namespace).
    pub async fn publish(&self, record: &PublishRecord<'_>) -> Result<Published, StoreError> {
        let at = now();
        transaction!(self, conn => {
            let revision = bump_revision!(conn, record.namespace.id, record.namespace.expected_revision, at);
            store_blobs!(conn, &record.blobs, at);

            let existing: Option<i64> = schemas::table
                .filter(schemas::namespace_id.eq(record.namespace.id).and(schemas::name.eq(record.schema)))
                .select(schemas::id)
                .first(conn)
                .await
                .optional()?;
            let schema_row_id = match existing {
                Some(id) => id,
                None => diesel::insert_into(schemas::table)
                    .values(&NewSchema { namespace_id: record.namespace.id, name: record.schema, created_at: at, updated_at: at })
                    .returning(schemas::id)
                    .get_result(conn)
                    .await?,
            };
            let last: Option<i32> = schema_versions::table
                .filter(schema_versions::schema_id.eq(schema_row_id))
                .select(diesel::dsl::max(schema_versions::version))
                .first(conn)
                .await?;
            let version: VersionRow = diesel::insert_into(schema_versions::table)
                .values(&NewVersion {
                    schema_id: schema_row_id,
                    version: last.unwrap_or(0) + 1,
                    fingerprint: record.fingerprint,
                    descriptor_sha256: record.descriptor_sha256,
                    created_by: record.created_by,
                    metadata: record.metadata,
                    created_at: at,
                })
                .returning(VersionRow::as_returning())
                .get_result(conn)
                .await?;
            let files: Vec<VersionFileRow> = record.files.iter().map(|(path, sha)| VersionFileRow {
                version_id: version.id,
                path: (*path).to_owned(),
                source_sha256: (*sha).to_owned(),
            }).collect();
            // One row per statement: SQLite has no multi-row DEFAULT, and
            // these inserts are few and inside one transaction.
            for row in &files {
                diesel::insert_into(schema_version_files::table).values(row).execute(conn).await?;
            }
            let deps: Vec<VersionDepRow> = record.deps.iter().map(|(file, import, dep)| VersionDepRow {
                version_id: version.id,
                file_path: (*file).to_owned(),
                import_path: (*import).to_owned(),
                dep_version_id: *dep,
            }).collect();
            for row in &deps {
                diesel::insert_into(schema_version_deps::table).values(row).execute(conn).await?;
            }
            diesel::update(schemas::table.find(schema_row_id))
                .set((
                    schemas::staged_version_id.eq(Some(version.id)),
                    schemas::staged_forced.eq(false),
                    schemas::updated_at.eq(at),
                ))
                .execute(conn)
                .await?;
            insert_event!(conn, Some(record.namespace.id), record.namespace.name, "schema.published",
                serde_json::json!({
                    "namespace": record.namespace.name, "schema": record.schema, "version": version.version,
                    "fingerprint": record.fingerprint, "revision": revision,
                }), at);
            Ok(Published { schema_row_id, version, revision })
        })
    }

    /// Makes every given staged version current at once, each move checked
    /// against the staged pointer the caller saw, and queues one code
    /// generation job per promoted version and target in the same
    /// transaction, so that a crash cannot lose a promote's jobs.
    pub async fn promote_enqueuing(
        &self,
        namespace: NamespaceAt<'_>,
        moves: &[PromoteMove],
        targets: &[JobTarget],
    ) -> Result<PromoteCommit, StoreError> {
        let NamespaceAt {
            id: namespace_id,
            name: namespace,
            expected_revision,
        } = namespace;
        let at = now();
        transaction!(self, conn => {
            let revision = bump_revision!(conn, namespace_id, expected_revision, at);
            for m in moves {
                let updated = diesel::update(schemas::table)
                    .filter(schemas::id.eq(m.schema_row_id).and(schemas::staged_version_id.eq(m.to_version_id)))
                    .set((
                        schemas::current_version_id.eq(Some(m.to_version_id)),
                        schemas::staged_version_id.eq(None::<i64>),
                        schemas::staged_forced.eq(false),
                        schemas::updated_at.eq(at),
                    ))
                    .execute(conn)
                    .await?;
                if updated != 1 {
                    return Err(StoreError::Conflict(format!("staging of schema {} changed; retry", m.schema)));
                }
                diesel::update(schema_versions::table.find(m.to_version_id).filter(schema_versions::promoted_at.is_null()))
                    .set(schema_versions::promoted_at.eq(Some(at)))
                    .execute(conn)
                    .await?;
            }
            let mut job_ids = Vec::with_capacity(moves.len() * targets.len());
            for m in moves {
                for target in targets {
                    let id: i64 = diesel::insert_into(jobs::table)
                        .values(&NewJob {
                            kind: CODEGEN_JOB,
                            namespace_id,
                            namespace,
                            schema: &m.schema,
                            version_id: m.to_version_id,
                            plugin: &target.plugin,
                            parameter: &target.parameter,
                            status: JobStatus::Queued.as_str(),
                            created_at: at,
                            started_at: None,
                        })
                        .returning(jobs::id)
                        .get_result(conn)
                        .await?;
                    job_ids.push(id);
                }
            }
            // The event speaks in version numbers (docs/API.md), not row ids.
            let version_ids: Vec<i64> = moves.iter().flat_map(|m| m.from_version_id.into_iter().chain([m.to_version_id])).collect();
            let mut numbers: std::collections::HashMap<i64, i32> = std::collections::HashMap::new();
            for chunk in version_ids.chunks(500) {
                let found: Vec<(i64, i32)> = schema_versions::table
                    .filter(schema_versions::id.eq_any(chunk))
                    .select((schema_versions::id, schema_versions::version))
                    .load(conn)
                    .await?;
                numbers.extend(found);
            }
            let promoted: Vec<serde_json::Value> = moves.iter().map(|m| serde_json::json!({
                "schema": m.schema,
                "from_version": m.from_version_id.and_then(|id| numbers.get(&id)),
                "to_version": numbers.get(&m.to_version_id),
            })).collect();
            insert_event!(conn, Some(namespace_id), namespace, "namespace.promoted",
                serde_json::json!({"namespace": namespace, "revision": revision, "promoted": promoted, "jobs": job_ids}), at);
            Ok(PromoteCommit { revision, at, job_ids })
        })
    }

    /// Clears the staged pointer of the given schemas.
    pub async fn discard(
        &self,
        namespace: NamespaceAt<'_>,
        schemas_to_clear: &[(i64, String)],
    ) -> Result<(i64, NaiveDateTime), StoreError> {
        let NamespaceAt {
            id: namespace_id,
            name: namespace,
            expected_revision,
        } = namespace;
        let at = now();
        transaction!(self, conn => {
            let revision = bump_revision!(conn, namespace_id, expected_revision, at);
            let ids: Vec<i64> = schemas_to_clear.iter().map(|(id, _)| *id).collect();
            diesel::update(schemas::table.filter(schemas::id.eq_any(&ids)))
                .set((
                    schemas::staged_version_id.eq(None::<i64>),
                    schemas::staged_forced.eq(false),
                    schemas::updated_at.eq(at),
                ))
                .execute(conn)
                .await?;
            let names: Vec<&str> = schemas_to_clear.iter().map(|(_, n)| n.as_str()).collect();
            insert_event!(conn, Some(namespace_id), namespace, "staging.discarded",
                serde_json::json!({"namespace": namespace, "revision": revision, "discarded": names}), at);
            Ok((revision, at))
        })
    }

    /// Stages an existing version of a schema (rollback is a pointer move).
    pub async fn stage_existing(
        &self,
        namespace: NamespaceAt<'_>,
        schema_row_id: i64,
        schema: &str,
        version: &VersionRow,
        force: bool,
    ) -> Result<(i64, NaiveDateTime), StoreError> {
        let NamespaceAt {
            id: namespace_id,
            name: namespace,
            expected_revision,
        } = namespace;
        let at = now();
        transaction!(self, conn => {
            let revision = bump_revision!(conn, namespace_id, expected_revision, at);
            diesel::update(schemas::table.find(schema_row_id))
                .set((
                    schemas::staged_version_id.eq(Some(version.id)),
                    schemas::staged_forced.eq(force),
                    schemas::updated_at.eq(at),
                ))
                .execute(conn)
                .await?;
            insert_event!(conn, Some(namespace_id), namespace, "schema.rolled_back",
                serde_json::json!({"namespace": namespace, "schema": schema, "version": version.version, "force": force, "revision": revision}), at);
            Ok((revision, at))
        })
    }

    // ---- reads ------------------------------------------------------------

    pub async fn schemas_of(&self, namespace_id: i64) -> Result<Vec<SchemaRow>, StoreError> {
        with_conn!(self, conn => {
            Ok(schemas::table
                .filter(schemas::namespace_id.eq(namespace_id))
                .order(schemas::name)
                .select(SchemaRow::as_select())
                .load(conn)
                .await?)
        })
    }

    pub async fn versions_by_ids(&self, ids: &[i64]) -> Result<Vec<VersionRow>, StoreError> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let rows: Vec<VersionRow> = with_conn!(self, conn => {
                schema_versions::table
                    .filter(schema_versions::id.eq_any(chunk))
                    .select(VersionRow::as_select())
                    .load(conn)
                    .await?
            });
            out.extend(rows);
        }
        Ok(out)
    }

    /// Versions of these schemas that were current at some point.
    pub async fn ever_current_versions(
        &self,
        schema_row_ids: &[i64],
    ) -> Result<Vec<VersionRow>, StoreError> {
        if schema_row_ids.is_empty() {
            return Ok(Vec::new());
        }
        with_conn!(self, conn => {
            Ok(schema_versions::table
                .filter(schema_versions::schema_id.eq_any(schema_row_ids))
                .filter(schema_versions::promoted_at.is_not_null())
                .order((schema_versions::schema_id, schema_versions::version))
                .select(VersionRow::as_select())
                .load(conn)
                .await?)
        })
    }

    pub async fn versions_of(&self, schema_row_id: i64) -> Result<Vec<VersionRow>, StoreError> {
        with_conn!(self, conn => {
            Ok(schema_versions::table
                .filter(schema_versions::schema_id.eq(schema_row_id))
                .order(schema_versions::version)
                .select(VersionRow::as_select())
                .load(conn)
                .await?)
        })
    }

    pub async fn version_of(
        &self,
        schema_row_id: i64,
        version: i32,
    ) -> Result<Option<VersionRow>, StoreError> {
        with_conn!(self, conn => {
            Ok(schema_versions::table
                .filter(schema_versions::schema_id.eq(schema_row_id).and(schema_versions::version.eq(version)))
                .select(VersionRow::as_select())
                .first(conn)
                .await
                .optional()?)
        })
    }

    pub async fn files_of_versions(
        &self,
        version_ids: &[i64],
    ) -> Result<Vec<VersionFileRow>, StoreError> {
        let mut out = Vec::new();
        for chunk in version_ids.chunks(500) {
            let rows: Vec<VersionFileRow> = with_conn!(self, conn => {
                schema_version_files::table
                    .filter(schema_version_files::version_id.eq_any(chunk))
                    .order((schema_version_files::version_id, schema_version_files::path))
                    .select(VersionFileRow::as_select())
                    .load(conn)
                    .await?
            });
            out.extend(rows);
        }
        Ok(out)
    }
}

#[cfg(test)]
impl Store {
    /// [`Store::promote_enqueuing`] without code generation targets.
    pub async fn promote(
        &self,
        namespace_id: i64,
        namespace: &str,
        expected_revision: i64,
        moves: &[PromoteMove],
    ) -> Result<i64, StoreError> {
        self.promote_enqueuing(
            NamespaceAt::new(namespace_id, namespace, expected_revision),
            moves,
            &[],
        )
        .await
        .map(|commit| commit.revision)
    }

    pub async fn deps_of_versions(
        &self,
        version_ids: &[i64],
    ) -> Result<Vec<VersionDepRow>, StoreError> {
        let mut out = Vec::new();
        for chunk in version_ids.chunks(500) {
            let rows: Vec<VersionDepRow> = with_conn!(self, conn => {
                schema_version_deps::table
                    .filter(schema_version_deps::version_id.eq_any(chunk))
                    .select(VersionDepRow::as_select())
                    .load(conn)
                    .await?
            });
            out.extend(rows);
        }
        Ok(out)
    }
}
