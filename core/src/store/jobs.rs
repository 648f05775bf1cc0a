//! Code generation jobs and their artifacts (the jobs of a promote are
//! queued by [`Store::promote_enqueuing`], in `versions`).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::models::*;
use super::schema::{artifacts, jobs, schema_versions};
use super::{BlobRef, Store, StoreError, now};

/// A code generation target of a namespace (`settings.codegen[]`): one job
/// per promoted version and target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobTarget {
    /// The generator's name (a plugin generator or a `protoc-gen-*`).
    pub plugin: String,
    pub parameter: String,
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

impl Store {
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
}
