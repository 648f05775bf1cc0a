//! Queries, named for what they answer or do. Each mutation is one
//! transaction: revision check and bump, the change, and its outbox event.

use std::collections::{HashMap, HashSet};

use chrono::{NaiveDateTime, SubsecRound, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::models::*;
use super::schema::{
    artifacts, blobs, events, jobs, namespaces, restore_checkpoints, schema_version_deps,
    schema_version_files, schema_versions, schemas, sink_cursors, tokens,
};
use super::{Store, StoreError};

/// Now, in UTC, at the microsecond precision both backends keep.
pub fn now() -> NaiveDateTime {
    Utc::now().naive_utc().trunc_subsecs(6)
}

/// A blob to store if its content is not stored yet.
#[derive(Debug)]
pub struct BlobRef<'a> {
    pub sha256: &'a str,
    pub data: &'a [u8],
}

/// Everything a publish writes.
#[derive(Debug)]
pub struct PublishRecord<'a> {
    pub namespace_id: i64,
    pub namespace: &'a str,
    pub expected_revision: i64,
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

/// What [`Store::restore_heads`] reads.
#[derive(Debug, Default)]
pub struct RestoreHeads {
    pub namespaces: Vec<NamespaceRow>,
    pub schemas: Vec<SchemaRow>,
    pub checkpoints: Vec<CheckpointRow>,
}

/// See [`Store::restore_versions`].
#[derive(Debug, Default)]
pub struct RestoreVersions {
    pub versions: Vec<VersionRow>,
    pub files: Vec<VersionFileRow>,
    /// Descriptor blobs by key.
    pub blobs: HashMap<String, Vec<u8>>,
}

/// A staged version to make current.
#[derive(Debug, Clone)]
pub struct PromoteMove {
    pub schema_row_id: i64,
    pub schema: String,
    pub from_version_id: Option<i64>,
    pub to_version_id: i64,
}

/// A code generation target of a namespace (`settings.codegen[]`): one job
/// per promoted version and target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobTarget {
    /// The generator's name (a plugin generator or a `protoc-gen-*`).
    pub plugin: String,
    pub parameter: String,
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

/// The `jobs.kind` of code generation jobs.
pub const CODEGEN_JOB: &str = "codegen";

/// `jobs.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    Queued,
    Running,
    Succeeded,
    Failed,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Succeeded => "succeeded",
            JobStatus::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Queued, Self::Running, Self::Succeeded, Self::Failed]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// How a job ended.
#[derive(Debug)]
pub enum JobResult<'a> {
    /// The generated archive, stored as a blob and as the artifact of the
    /// job's (version, plugin, parameter).
    Succeeded {
        archive: BlobRef<'a>,
        log: &'a str,
    },
    Failed {
        log: &'a str,
    },
}

/// A job with the number of the version it generates for.
#[derive(Debug, Clone)]
pub struct JobRecord {
    pub job: JobRow,
    pub version: i32,
}

/// Checks the revision the caller read and bumps it, inside a transaction.
/// Written as a macro so that it compiles against either backend's connection.
macro_rules! bump_revision {
    ($conn:expr, $namespace_id:expr, $expected:expr, $at:expr) => {{
        let updated = diesel::update(namespaces::table)
            .filter(
                namespaces::id
                    .eq($namespace_id)
                    .and(namespaces::revision.eq($expected))
                    .and(namespaces::deleted_at.is_null()),
            )
            .set((
                namespaces::revision.eq(namespaces::revision + 1_i64),
                namespaces::updated_at.eq($at),
            ))
            .execute($conn)
            .await?;
        if updated != 1 {
            return Err(StoreError::Conflict(
                "the namespace was changed by another writer; retry".into(),
            ));
        }
        $expected + 1
    }};
}

macro_rules! insert_event {
    ($conn:expr, $namespace_id:expr, $namespace:expr, $kind:expr, $payload:expr, $at:expr) => {{
        let payload = $payload.to_string();
        diesel::insert_into(events::table)
            .values(&NewEvent {
                namespace_id: $namespace_id,
                namespace: $namespace,
                kind: $kind,
                payload: &payload,
                created_at: $at,
            })
            .execute($conn)
            .await?;
    }};
}

/// Inserts the blobs whose keys are not stored yet (content addressing:
/// republishing the same content anywhere stores nothing new).
macro_rules! store_blobs {
    ($conn:expr, $blobs:expr, $at:expr) => {{
        let wanted: Vec<&str> = $blobs.iter().map(|b| b.sha256).collect();
        let mut present: HashSet<String> = HashSet::new();
        for chunk in wanted.chunks(500) {
            let found: Vec<String> = blobs::table
                .filter(blobs::sha256.eq_any(chunk))
                .select(blobs::sha256)
                .load($conn)
                .await?;
            present.extend(found);
        }
        let mut seen: HashSet<&str> = HashSet::new();
        for blob in $blobs.iter() {
            if present.contains(blob.sha256) || !seen.insert(blob.sha256) {
                continue;
            }
            diesel::insert_into(blobs::table)
                .values(&NewBlob {
                    sha256: blob.sha256,
                    size: blob.data.len() as i64,
                    data: blob.data,
                    created_at: $at,
                })
                .on_conflict_do_nothing()
                .execute($conn)
                .await?;
        }
    }};
}

impl Store {
    // ---- namespaces -------------------------------------------------------

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
        namespace_id: i64,
        name: &str,
        expected_revision: i64,
        metadata: Option<&str>,
        settings: Option<&str>,
    ) -> Result<NamespaceRow, StoreError> {
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
    pub async fn delete_namespace(
        &self,
        namespace_id: i64,
        name: &str,
        expected_revision: i64,
    ) -> Result<(), StoreError> {
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

    // ---- publish, promote, discard, rollback -----------------------------

    /// Stores a new version and stages it, numbering it max + 1 for its
    /// schema inside the transaction (dense, even across replicas: the
    /// revision check serializes writers of a namespace).
    pub async fn publish(&self, record: &PublishRecord<'_>) -> Result<Published, StoreError> {
        let at = now();
        let force = false;
        transaction!(self, conn => {
            let revision = bump_revision!(conn, record.namespace_id, record.expected_revision, at);
            store_blobs!(conn, &record.blobs, at);

            let existing: Option<i64> = schemas::table
                .filter(schemas::namespace_id.eq(record.namespace_id).and(schemas::name.eq(record.schema)))
                .select(schemas::id)
                .first(conn)
                .await
                .optional()?;
            let schema_row_id = match existing {
                Some(id) => id,
                None => diesel::insert_into(schemas::table)
                    .values(&NewSchema { namespace_id: record.namespace_id, name: record.schema, created_at: at, updated_at: at })
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
                    schemas::staged_forced.eq(force),
                    schemas::updated_at.eq(at),
                ))
                .execute(conn)
                .await?;
            insert_event!(conn, Some(record.namespace_id), record.namespace, "schema.published",
                serde_json::json!({
                    "namespace": record.namespace, "schema": record.schema, "version": version.version,
                    "fingerprint": record.fingerprint, "revision": revision,
                }), at);
            Ok(Published { schema_row_id, version, revision })
        })
    }

    /// Makes every given staged version current at once. Each move is
    /// checked against the staged pointer the caller saw.
    pub async fn promote(
        &self,
        namespace_id: i64,
        namespace: &str,
        expected_revision: i64,
        moves: &[PromoteMove],
    ) -> Result<i64, StoreError> {
        self.promote_enqueuing(namespace_id, namespace, expected_revision, moves, &[])
            .await
            .map(|commit| commit.revision)
    }

    /// [`Store::promote`] that also queues one code generation job per
    /// promoted version and target, in the same transaction, so that a
    /// crash cannot lose a promote's jobs.
    pub async fn promote_enqueuing(
        &self,
        namespace_id: i64,
        namespace: &str,
        expected_revision: i64,
        moves: &[PromoteMove],
        targets: &[JobTarget],
    ) -> Result<PromoteCommit, StoreError> {
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
            let promoted: Vec<serde_json::Value> = moves.iter().map(|m| serde_json::json!({
                "schema": m.schema, "from_version_id": m.from_version_id, "to_version_id": m.to_version_id,
            })).collect();
            insert_event!(conn, Some(namespace_id), namespace, "namespace.promoted",
                serde_json::json!({"namespace": namespace, "revision": revision, "promoted": promoted, "jobs": job_ids}), at);
            Ok(PromoteCommit { revision, at, job_ids })
        })
    }

    /// Clears the staged pointer of the given schemas.
    pub async fn discard(
        &self,
        namespace_id: i64,
        namespace: &str,
        expected_revision: i64,
        schemas_to_clear: &[(i64, String)],
    ) -> Result<(i64, NaiveDateTime), StoreError> {
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
    #[allow(clippy::too_many_arguments)] // one transaction's worth of facts
    pub async fn stage_existing(
        &self,
        namespace_id: i64,
        namespace: &str,
        expected_revision: i64,
        schema_row_id: i64,
        schema: &str,
        version: &VersionRow,
        force: bool,
    ) -> Result<(i64, NaiveDateTime), StoreError> {
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

    // ---- tokens -----------------------------------------------------------

    /// Stores a token (its secret's hash only) and its audit event.
    pub async fn create_token(&self, token: &NewToken<'_>) -> Result<TokenRow, StoreError> {
        transaction!(self, conn => {
            let row: TokenRow = diesel::insert_into(tokens::table)
                .values(token)
                .returning(TokenRow::as_returning())
                .get_result(conn)
                .await?;
            insert_event!(conn, None, "", "token.created",
                serde_json::json!({"token_id": row.id, "name": row.name, "roles": serde_json::from_str::<serde_json::Value>(&row.roles).unwrap_or_default()}), token.created_at);
            Ok(row)
        })
    }

    /// The live (not revoked) token with this secret hash, if any. Expiry is
    /// the caller's to check.
    pub async fn token_by_secret_hash(
        &self,
        secret_sha256: &str,
    ) -> Result<Option<TokenRow>, StoreError> {
        with_conn!(self, conn => {
            Ok(tokens::table
                .filter(tokens::secret_sha256.eq(secret_sha256).and(tokens::revoked_at.is_null()))
                .select(TokenRow::as_select())
                .first(conn)
                .await
                .optional()?)
        })
    }

    pub async fn live_tokens(&self) -> Result<Vec<TokenRow>, StoreError> {
        with_conn!(self, conn => {
            Ok(tokens::table
                .filter(tokens::revoked_at.is_null())
                .order(tokens::id)
                .select(TokenRow::as_select())
                .load(conn)
                .await?)
        })
    }

    pub async fn token(&self, id: i64) -> Result<Option<TokenRow>, StoreError> {
        with_conn!(self, conn => {
            Ok(tokens::table.find(id).select(TokenRow::as_select()).first(conn).await.optional()?)
        })
    }

    /// Revokes a token; `false` when it did not exist or was revoked already.
    pub async fn revoke_token(&self, id: i64) -> Result<bool, StoreError> {
        let at = now();
        transaction!(self, conn => {
            let updated = diesel::update(tokens::table.find(id).filter(tokens::revoked_at.is_null()))
                .set(tokens::revoked_at.eq(Some(at)))
                .execute(conn)
                .await?;
            if updated == 1 {
                insert_event!(conn, None, "", "token.revoked", serde_json::json!({"token_id": id}), at);
            }
            Ok(updated == 1)
        })
    }

    // ---- code generation jobs and artifacts ------------------------------

    /// Ids of queued jobs, oldest first (at most `limit`).
    pub async fn queued_job_ids(&self, limit: i64) -> Result<Vec<i64>, StoreError> {
        with_conn!(self, conn => {
            Ok(jobs::table
                .filter(jobs::status.eq(JobStatus::Queued.as_str()))
                .order(jobs::id)
                .limit(limit)
                .select(jobs::id)
                .load(conn)
                .await?)
        })
    }

    /// Moves a queued job to running; `None` when it is not queued (another
    /// worker took it).
    pub async fn claim_job(&self, id: i64) -> Result<Option<JobRecord>, StoreError> {
        let at = now();
        transaction!(self, conn => {
            let updated = diesel::update(jobs::table.find(id).filter(jobs::status.eq(JobStatus::Queued.as_str())))
                .set((jobs::status.eq(JobStatus::Running.as_str()), jobs::started_at.eq(Some(at))))
                .execute(conn)
                .await?;
            if updated != 1 {
                return Ok(None);
            }
            let (job, version): (JobRow, i32) = jobs::table
                .inner_join(schema_versions::table)
                .filter(jobs::id.eq(id))
                .select((JobRow::as_select(), schema_versions::version))
                .first(conn)
                .await?;
            Ok(Some(JobRecord { job, version }))
        })
    }

    /// Jobs left `running` by a process that stopped go back to `queued`
    /// (at start-up). Returns how many.
    pub async fn requeue_running_jobs(&self) -> Result<usize, StoreError> {
        with_conn!(self, conn => {
            Ok(diesel::update(jobs::table.filter(jobs::status.eq(JobStatus::Running.as_str())))
                .set((jobs::status.eq(JobStatus::Queued.as_str()), jobs::started_at.eq(None::<NaiveDateTime>)))
                .execute(conn)
                .await?)
        })
    }

    /// A job that runs at once (on-demand generation): created `running`.
    #[allow(clippy::too_many_arguments)] // one row's worth of facts
    pub async fn start_job(
        &self,
        namespace_id: i64,
        namespace: &str,
        schema: &str,
        version_id: i64,
        target: &JobTarget,
    ) -> Result<JobRow, StoreError> {
        let at = now();
        with_conn!(self, conn => {
            Ok(diesel::insert_into(jobs::table)
                .values(&NewJob {
                    kind: CODEGEN_JOB,
                    namespace_id,
                    namespace,
                    schema,
                    version_id,
                    plugin: &target.plugin,
                    parameter: &target.parameter,
                    status: JobStatus::Running.as_str(),
                    created_at: at,
                    started_at: Some(at),
                })
                .returning(JobRow::as_returning())
                .get_result(conn)
                .await?)
        })
    }

    /// Ends a job, in one transaction: on success the archive blob (when not
    /// stored yet) and the artifact row (the first stored archive of a
    /// (version, plugin, parameter) stays), the job's status, log and times,
    /// and the `codegen.finished` event. A job's end is not a change of the
    /// namespace, so the namespace revision stays.
    pub async fn finish_job(
        &self,
        job: &JobRow,
        version: i32,
        result: JobResult<'_>,
    ) -> Result<JobRow, StoreError> {
        let at = now();
        transaction!(self, conn => {
            let (status, log, artifact) = match &result {
                JobResult::Succeeded { archive, log } => {
                    store_blobs!(conn, [archive], at);
                    diesel::insert_into(artifacts::table)
                        .values(&ArtifactRow {
                            version_id: job.version_id,
                            plugin: job.plugin.clone(),
                            parameter: job.parameter.clone(),
                            blob_sha256: archive.sha256.to_owned(),
                            created_at: at,
                        })
                        .on_conflict_do_nothing()
                        .execute(conn)
                        .await?;
                    (JobStatus::Succeeded, *log, Some(archive.sha256))
                }
                JobResult::Failed { log } => (JobStatus::Failed, *log, None),
            };
            let row: JobRow = diesel::update(jobs::table.find(job.id))
                .set((
                    jobs::status.eq(status.as_str()),
                    jobs::log.eq(log),
                    jobs::artifact_sha256.eq(artifact),
                    jobs::finished_at.eq(Some(at)),
                ))
                .returning(JobRow::as_returning())
                .get_result(conn)
                .await?;
            insert_event!(conn, Some(job.namespace_id), &job.namespace, "codegen.finished",
                serde_json::json!({
                    "namespace": job.namespace, "schema": job.schema, "version": version,
                    "plugin": job.plugin, "parameter": job.parameter, "status": status.as_str(),
                    "job_id": job.id, "artifact_sha256": artifact,
                }), at);
            Ok(row)
        })
    }

    /// A job and the number of its version.
    pub async fn job(&self, id: i64) -> Result<Option<JobRecord>, StoreError> {
        with_conn!(self, conn => {
            let found: Option<(JobRow, i32)> = jobs::table
                .inner_join(schema_versions::table)
                .filter(jobs::id.eq(id))
                .select((JobRow::as_select(), schema_versions::version))
                .first(conn)
                .await
                .optional()?;
            Ok(found.map(|(job, version)| JobRecord { job, version }))
        })
    }

    /// The stored archive of a version's generated code, if any.
    pub async fn artifact(
        &self,
        version_id: i64,
        plugin: &str,
        parameter: &str,
    ) -> Result<Option<ArtifactRow>, StoreError> {
        with_conn!(self, conn => {
            Ok(artifacts::table
                .filter(artifacts::version_id.eq(version_id)
                    .and(artifacts::plugin.eq(plugin))
                    .and(artifacts::parameter.eq(parameter)))
                .select(ArtifactRow::as_select())
                .first(conn)
                .await
                .optional()?)
        })
    }

    // ---- reads ------------------------------------------------------------

    /// What a restore reads first, on one connection: live namespaces,
    /// their schemas (the version pointers, the truth) and their restore
    /// checkpoints (a cache of version snapshots).
    pub async fn restore_heads(&self) -> Result<RestoreHeads, StoreError> {
        // `$load` loads one query `$q` (see `read_in_place!`).
        macro_rules! heads {
            (|$q:ident| $load:expr) => {{
                let namespaces: Vec<NamespaceRow> = {
                    let $q = namespaces::table
                        .filter(namespaces::deleted_at.is_null())
                        .order(namespaces::name)
                        .select(NamespaceRow::as_select());
                    $load
                };
                let schemas: Vec<SchemaRow> = {
                    let $q = schemas::table
                        .inner_join(namespaces::table)
                        .filter(namespaces::deleted_at.is_null())
                        .order((schemas::namespace_id, schemas::name))
                        .select(SchemaRow::as_select());
                    $load
                };
                let checkpoints: Vec<CheckpointRow> = {
                    let $q = restore_checkpoints::table
                        .inner_join(namespaces::table)
                        .filter(namespaces::deleted_at.is_null())
                        .select(CheckpointRow::as_select());
                    $load
                };
                RestoreHeads {
                    namespaces,
                    schemas,
                    checkpoints,
                }
            }};
        }
        read_in_place!(self, heads)
    }

    /// The versions with these ids, their files and their descriptor
    /// blobs, on one connection: what a restore reads for the versions its
    /// checkpoints lack.
    pub async fn restore_versions(&self, ids: &[i64]) -> Result<RestoreVersions, StoreError> {
        if ids.is_empty() {
            return Ok(RestoreVersions::default());
        }
        let ids = ids.to_vec();
        // As in `restore_heads`: `$load` loads `$q`.
        macro_rules! versions {
            (|$q:ident| $load:expr) => {{
                let mut versions = Vec::with_capacity(ids.len());
                let mut files = Vec::new();
                for chunk in ids.chunks(500) {
                    let found: Vec<VersionRow> = {
                        let $q = schema_versions::table
                            .filter(schema_versions::id.eq_any(chunk))
                            .select(VersionRow::as_select());
                        $load
                    };
                    versions.extend(found);
                    let found: Vec<VersionFileRow> = {
                        let $q = schema_version_files::table
                            .filter(schema_version_files::version_id.eq_any(chunk))
                            .select(VersionFileRow::as_select());
                        $load
                    };
                    files.extend(found);
                }
                let mut keys: Vec<&str> = versions
                    .iter()
                    .map(|v: &VersionRow| v.descriptor_sha256.as_str())
                    .collect();
                keys.sort_unstable();
                keys.dedup();
                let mut blobs = HashMap::with_capacity(keys.len());
                for chunk in keys.chunks(500) {
                    let rows: Vec<(String, Vec<u8>)> = {
                        let $q = blobs::table
                            .filter(blobs::sha256.eq_any(chunk))
                            .select((blobs::sha256, blobs::data));
                        $load
                    };
                    blobs.extend(rows);
                }
                RestoreVersions {
                    versions,
                    files,
                    blobs,
                }
            }};
        }
        read_in_place!(self, versions)
    }

    /// Stores a namespace's restore checkpoint unless the stored one is of
    /// this revision or a later one (another replica may have written it).
    /// `true` when written.
    pub async fn put_checkpoint(
        &self,
        namespace_id: i64,
        revision: i64,
        format: i32,
        data: &[u8],
    ) -> Result<bool, StoreError> {
        let at = now();
        with_conn!(self, conn => {
            // Update an older row, else insert; a row of this revision or a
            // later one (say, another replica's) makes both do nothing.
            let updated = diesel::update(
                restore_checkpoints::table
                    .filter(restore_checkpoints::namespace_id.eq(namespace_id))
                    .filter(restore_checkpoints::revision.lt(revision)),
            )
            .set((
                restore_checkpoints::revision.eq(revision),
                restore_checkpoints::format.eq(format),
                restore_checkpoints::data.eq(data),
                restore_checkpoints::written_at.eq(at),
            ))
            .execute(conn)
            .await?;
            let written = if updated > 0 {
                updated
            } else {
                diesel::insert_into(restore_checkpoints::table)
                    .values((
                        restore_checkpoints::namespace_id.eq(namespace_id),
                        restore_checkpoints::revision.eq(revision),
                        restore_checkpoints::format.eq(format),
                        restore_checkpoints::data.eq(data),
                        restore_checkpoints::written_at.eq(at),
                    ))
                    .on_conflict_do_nothing()
                    .execute(conn)
                    .await?
            };
            Ok(written > 0)
        })
    }

    /// Deletes every restore checkpoint (the next restore reads every
    /// version from its rows). Returns how many there were.
    pub async fn clear_checkpoints(&self) -> Result<usize, StoreError> {
        with_conn!(self, conn => {
            Ok(diesel::delete(restore_checkpoints::table).execute(conn).await?)
        })
    }

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

    /// The blobs with these keys (missing keys are simply absent).
    pub async fn blobs(&self, keys: &[&str]) -> Result<HashMap<String, Vec<u8>>, StoreError> {
        let mut out = HashMap::with_capacity(keys.len());
        for chunk in keys.chunks(200) {
            let rows: Vec<(String, Vec<u8>)> = with_conn!(self, conn => {
                blobs::table
                    .filter(blobs::sha256.eq_any(chunk))
                    .select((blobs::sha256, blobs::data))
                    .load(conn)
                    .await?
            });
            out.extend(rows);
        }
        Ok(out)
    }

    pub async fn blob_count(&self) -> Result<i64, StoreError> {
        with_conn!(self, conn => {
            Ok(blobs::table.count().get_result(conn).await?)
        })
    }

    pub async fn events_of(&self, namespace_id: i64) -> Result<Vec<EventRow>, StoreError> {
        with_conn!(self, conn => {
            Ok(events::table
                .filter(events::namespace_id.eq(namespace_id))
                .order(events::id)
                .select(EventRow::as_select())
                .load(conn)
                .await?)
        })
    }

    /// Up to `limit` events after `after_id`, oldest first.
    pub async fn events_after(
        &self,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<EventRow>, StoreError> {
        with_conn!(self, conn => {
            Ok(events::table
                .filter(events::id.gt(after_id))
                .order(events::id)
                .limit(limit)
                .select(EventRow::as_select())
                .load(conn)
                .await?)
        })
    }

    /// The id of the newest event, 0 when there is none.
    pub async fn last_event_id(&self) -> Result<i64, StoreError> {
        with_conn!(self, conn => {
            let id: Option<i64> = events::table
                .select(diesel::dsl::max(events::id))
                .first(conn)
                .await?;
            Ok(id.unwrap_or(0))
        })
    }

    /// Where a sink has got to, if it has a cursor.
    pub async fn sink_cursor(&self, sink: &str) -> Result<Option<i64>, StoreError> {
        with_conn!(self, conn => {
            Ok(sink_cursors::table
                .filter(sink_cursors::sink.eq(sink))
                .select(sink_cursors::last_event_id)
                .first(conn)
                .await
                .optional()?)
        })
    }

    /// Records that a sink has every event up to `last_event_id`.
    pub async fn set_sink_cursor(&self, sink: &str, last_event_id: i64) -> Result<(), StoreError> {
        let now = now();
        with_conn!(self, conn => {
            diesel::insert_into(sink_cursors::table)
                .values((
                    sink_cursors::sink.eq(sink),
                    sink_cursors::last_event_id.eq(last_event_id),
                    sink_cursors::updated_at.eq(now),
                ))
                .on_conflict(sink_cursors::sink)
                .do_update()
                .set((
                    sink_cursors::last_event_id.eq(last_event_id),
                    sink_cursors::updated_at.eq(now),
                ))
                .execute(conn)
                .await?;
            Ok(())
        })
    }
}
