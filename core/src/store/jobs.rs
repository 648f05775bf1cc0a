//! Code generation jobs and their artifacts (the jobs of a promote are
//! queued by [`Store::promote_enqueuing`], in `versions`).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::models::*;
use super::schema::{artifacts, jobs, schema_versions};
use super::{BlobRef, Store, StoreError, now};

/// The columns a claim sets: running, started now, leased to `holder`.
#[allow(clippy::type_complexity)]
fn jobs_claim_set(
    at: NaiveDateTime,
    holder: &str,
    expires: NaiveDateTime,
) -> (
    diesel::dsl::Eq<jobs::status, &'static str>,
    diesel::dsl::Eq<jobs::started_at, Option<NaiveDateTime>>,
    diesel::dsl::Eq<jobs::lease_holder, Option<&str>>,
    diesel::dsl::Eq<jobs::lease_expires_at, Option<NaiveDateTime>>,
) {
    (
        jobs::status.eq(JobStatus::Running.as_str()),
        jobs::started_at.eq(Some(at)),
        jobs::lease_holder.eq(Some(holder)),
        jobs::lease_expires_at.eq(Some(expires)),
    )
}

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
}

/// How a job ended.
#[derive(Debug, Clone, Copy)]
pub enum JobResult<'a> {
    /// The generated archive, stored as a blob and as the artifact of the
    /// job's (version, plugin, parameter).
    Succeeded {
        archive: BlobRef<'a>,
        log: &'a str,
        /// Whether the toolchain checked the files (`None`: not asked).
        verified: Option<bool>,
    },
    Failed {
        log: &'a str,
        verified: Option<bool>,
    },
}

/// A job with the number of the version it generates for.
#[derive(Debug, Clone)]
pub struct JobRecord {
    pub job: JobRow,
    pub version: i32,
}

impl Store {
    /// Ids of queued code generation jobs, oldest first (at most `limit`).
    #[cfg(test)]
    pub async fn queued_job_ids(&self, limit: i64) -> Result<Vec<i64>, StoreError> {
        with_conn!(self, conn => {
            Ok(jobs::table
                .filter(jobs::status.eq(JobStatus::Queued.as_str()))
                .filter(jobs::kind.eq(CODEGEN_JOB))
                .order(jobs::id)
                .limit(limit)
                .select(jobs::id)
                .load(conn)
                .await?)
        })
    }

    /// Moves a queued job to running, leased to this process; `None` when
    /// it is not queued (another worker claimed it).
    #[cfg(test)]
    pub async fn claim_job(&self, id: i64) -> Result<Option<JobRecord>, StoreError> {
        let at = now();
        let expires = super::leases::expiry(self.lease_ttl());
        let me = super::replica_id();
        transaction!(self, conn => {
            let updated = diesel::update(jobs::table.find(id)
                    .filter(jobs::status.eq(JobStatus::Queued.as_str()))
                    .filter(jobs::kind.eq(CODEGEN_JOB)))
                .set((
                    jobs::status.eq(JobStatus::Running.as_str()),
                    jobs::started_at.eq(Some(at)),
                    jobs::lease_holder.eq(Some(me)),
                    jobs::lease_expires_at.eq(Some(expires)),
                ))
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

    /// Claims the oldest code generation job that is queued, or running
    /// under a lease that expired (its replica died), for this process:
    /// `running`, leased to [`replica_id`](super::replica_id) for one lease
    /// time (renewed by [`Store::renew_leases`] while it runs). On
    /// PostgreSQL the candidate row is locked `FOR UPDATE SKIP LOCKED`, so
    /// replicas claiming at once take different jobs without waiting.
    pub async fn claim_next_job(&self) -> Result<Option<JobRecord>, StoreError> {
        let at = now();
        let expires = super::leases::expiry(self.lease_ttl());
        let me = super::replica_id();
        let claimable = || {
            jobs::kind.eq(CODEGEN_JOB).and(
                jobs::status.eq(JobStatus::Queued.as_str()).or(jobs::status
                    .eq(JobStatus::Running.as_str())
                    .and(jobs::lease_expires_at.lt(at))),
            )
        };
        let claim = jobs_claim_set(at, me, expires);
        let id: Option<i64> = match &self.backend {
            super::Backend::Postgres(pool) => {
                let mut guard = pool
                    .get()
                    .await
                    .map_err(|e| StoreError::Connection(e.to_string()))?;
                diesel_async::AsyncConnection::transaction(
                    &mut *guard,
                    async |conn| -> Result<_, StoreError> {
                        let id: Option<i64> = jobs::table
                            .filter(claimable())
                            .order(jobs::id)
                            .select(jobs::id)
                            .limit(1)
                            .for_update()
                            .skip_locked()
                            .first(conn)
                            .await
                            .optional()?;
                        if let Some(id) = id {
                            diesel::update(jobs::table.find(id))
                                .set(claim)
                                .execute(conn)
                                .await?;
                        }
                        Ok(id)
                    },
                )
                .await?
            }
            super::Backend::Sqlite(pool) => {
                let mut guard = pool
                    .get()
                    .await
                    .map_err(|e| StoreError::Connection(e.to_string()))?;
                guard
                    .immediate_transaction(async |conn| -> Result<_, StoreError> {
                        let id: Option<i64> = jobs::table
                            .filter(claimable())
                            .order(jobs::id)
                            .select(jobs::id)
                            .first(conn)
                            .await
                            .optional()?;
                        if let Some(id) = id {
                            diesel::update(jobs::table.find(id))
                                .set(claim)
                                .execute(conn)
                                .await?;
                        }
                        Ok(id)
                    })
                    .await?
            }
        };
        let Some(id) = id else {
            return Ok(None);
        };
        with_conn!(self, conn => {
            let (job, version): (JobRow, i32) = jobs::table
                .inner_join(schema_versions::table)
                .filter(jobs::id.eq(id))
                .select((JobRow::as_select(), schema_versions::version))
                .first(conn)
                .await?;
            Ok(Some(JobRecord { job, version }))
        })
    }

    /// Code generation jobs left `running` by a process that stopped go back to `queued`
    /// (at start-up): those without a lease, or whose lease expired. A job
    /// another live replica runs keeps its lease and is left alone. Returns
    /// how many.
    pub async fn requeue_running_jobs(&self) -> Result<usize, StoreError> {
        let at = now();
        with_conn!(self, conn => {
            Ok(diesel::update(jobs::table.filter(
                jobs::kind.eq(CODEGEN_JOB)
                    .and(jobs::status.eq(JobStatus::Running.as_str()))
                    .and(jobs::lease_expires_at.is_null().or(jobs::lease_expires_at.lt(at))),
            ))
                .set((
                    jobs::status.eq(JobStatus::Queued.as_str()),
                    jobs::started_at.eq(None::<NaiveDateTime>),
                    jobs::lease_holder.eq(None::<String>),
                    jobs::lease_expires_at.eq(None::<NaiveDateTime>),
                ))
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
        let expires = super::leases::expiry(self.lease_ttl());
        let me = super::replica_id();
        with_conn!(self, conn => {
            Ok(diesel::insert_into(jobs::table)
                .values((&NewJob {
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
                },
                jobs::lease_holder.eq(Some(me)),
                jobs::lease_expires_at.eq(Some(expires))))
                .returning(JobRow::as_returning())
                .get_result(conn)
                .await?)
        })
    }

    /// Ends a job, in one transaction: on success the archive blob (when not
    /// stored yet) and the artifact row (the first stored archive of a
    /// (version, plugin, parameter) stays), the job's status, log and times,
    /// and the `codegen.finished` event, and a `codegen.pushed` event per
    /// entry of `pushed` (`{url, branch, path, commit}`, merged into the
    /// job's names). A job's end is not a change of the
    /// namespace, so the namespace revision stays.
    ///
    /// Idempotent: a job that is no longer `running` (an earlier call
    /// committed, though its caller saw an error) is returned as it is,
    /// with no second event, so a failed call can be retried.
    pub async fn finish_job(
        &self,
        job: &JobRow,
        version: i32,
        result: JobResult<'_>,
        pushed: &[serde_json::Value],
    ) -> Result<JobRow, StoreError> {
        let at = now();
        transaction!(self, conn => {
            let current: JobRow = jobs::table
                .find(job.id)
                .select(JobRow::as_select())
                .first(conn)
                .await?;
            if current.status != JobStatus::Running.as_str() {
                return Ok(current);
            }
            let (status, log, artifact, verified) = match &result {
                JobResult::Succeeded { archive, log, verified } => {
                    store_blobs!(conn, [archive], at);
                    diesel::insert_into(artifacts::table)
                        .values(&ArtifactRow {
                            version_id: job.version_id.unwrap_or_default(),
                            plugin: job.plugin.clone(),
                            parameter: job.parameter.clone(),
                            blob_sha256: archive.sha256.to_owned(),
                            created_at: at,
                        })
                        .on_conflict_do_nothing()
                        .execute(conn)
                        .await?;
                    (JobStatus::Succeeded, *log, Some(archive.sha256), *verified)
                }
                JobResult::Failed { log, verified } => (JobStatus::Failed, *log, None, *verified),
            };
            let row: JobRow = diesel::update(jobs::table.find(job.id))
                .set((
                    jobs::status.eq(status.as_str()),
                    jobs::log.eq(log),
                    jobs::artifact_sha256.eq(artifact),
                    jobs::verified.eq(verified),
                    jobs::finished_at.eq(Some(at)),
                ))
                .returning(JobRow::as_returning())
                .get_result(conn)
                .await?;
            insert_event!(conn, job.namespace_id, &job.namespace, "codegen.finished",
                serde_json::json!({
                    "namespace": job.namespace, "schema": job.schema, "version": version,
                    "plugin": job.plugin, "parameter": job.parameter, "status": status.as_str(),
                    "job_id": job.id, "artifact_sha256": artifact,
                }), at);
            for push in pushed {
                let mut payload = serde_json::json!({
                    "namespace": job.namespace, "schema": job.schema, "version": version,
                    "plugin": job.plugin, "parameter": job.parameter, "job_id": job.id,
                });
                if let (Some(payload), Some(push)) = (payload.as_object_mut(), push.as_object()) {
                    payload.extend(push.clone());
                }
                insert_event!(conn, job.namespace_id, &job.namespace, "codegen.pushed", payload, at);
            }
            Ok(row)
        })
    }

    /// A job and the number of its version.
    pub async fn job(&self, id: i64) -> Result<Option<JobRecord>, StoreError> {
        with_conn!(self, conn => {
            let found: Option<(JobRow, Option<i32>)> = jobs::table
                .left_join(schema_versions::table)
                .filter(jobs::id.eq(id))
                .select((JobRow::as_select(), schema_versions::version.nullable()))
                .first(conn)
                .await
                .optional()?;
            Ok(found.map(|(job, version)| JobRecord { job, version: version.unwrap_or_default() }))
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
