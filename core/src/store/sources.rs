//! Repository sources and their sync jobs (`jobs` rows of kind `sync`).
//!
//! Jobs of one source run one at a time, in the order they were queued: a
//! job is claimed only when no job of its source is running, and queueing
//! a job fails (`superseded`) the source's jobs still queued, so a newer
//! push replaces older pushes that did not start.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::jobs::JobStatus;
use super::models::*;
use super::schema::{jobs, namespaces, sources};
use super::{Store, StoreError, now};

/// The `jobs.kind` of repository sync jobs.
pub const SYNC_JOB: &str = "sync";

/// What a sync job is asked to do.
#[derive(Debug, Clone, Default)]
pub struct SyncRequest {
    /// A commit; `None`: the branch's head when the job runs.
    pub commit: Option<String>,
    /// The pushed ref (`refs/heads/<branch>`).
    pub git_ref: Option<String>,
    /// Who asked: the pusher's name, or `sync`.
    pub requested_by: String,
    /// Queue nothing when the source already has this many sync jobs
    /// queued in the last minute (`git.hook_rate_per_minute` of pushes).
    /// Counted from `jobs`, so every replica sees the same count.
    pub per_minute: Option<u32>,
}

/// How a sync job ended.
#[derive(Debug, Clone)]
pub struct SyncResult {
    pub succeeded: bool,
    pub log: String,
    /// The commit that was read (`None` when the fetch failed).
    pub commit: Option<String>,
    /// Schemas that got a new version.
    pub published: Vec<String>,
    /// Schemas the promote made current.
    pub promoted: Vec<String>,
    /// Every schema the repository holds (kept on the source when the job
    /// succeeded: the source's schemas for `GET /v1/services`).
    pub schemas: Vec<String>,
}

impl Store {
    pub async fn create_source(&self, fields: SourceFields) -> Result<SourceRow, StoreError> {
        let at = now();
        with_conn!(self, conn => {
            Ok(diesel::insert_into(sources::table)
                .values((&fields, sources::created_at.eq(at), sources::updated_at.eq(at)))
                .returning(SourceRow::as_returning())
                .get_result(conn)
                .await?)
        })
    }

    /// Every source, oldest first.
    pub async fn sources(&self) -> Result<Vec<SourceRow>, StoreError> {
        with_conn!(self, conn => {
            Ok(sources::table
                .order(sources::id)
                .select(SourceRow::as_select())
                .load(conn)
                .await?)
        })
    }

    pub async fn source(&self, id: i64) -> Result<Option<SourceRow>, StoreError> {
        with_conn!(self, conn => {
            Ok(sources::table
                .find(id)
                .select(SourceRow::as_select())
                .first(conn)
                .await
                .optional()?)
        })
    }

    /// The sources of a repository (by `url_key`).
    pub async fn sources_of_repository(&self, url_key: &str) -> Result<Vec<SourceRow>, StoreError> {
        with_conn!(self, conn => {
            Ok(sources::table
                .filter(sources::url_key.eq(url_key))
                .order(sources::id)
                .select(SourceRow::as_select())
                .load(conn)
                .await?)
        })
    }

    /// Replaces a source's fields; `None` when it does not exist.
    pub async fn update_source(
        &self,
        id: i64,
        fields: SourceFields,
    ) -> Result<Option<SourceRow>, StoreError> {
        let at = now();
        with_conn!(self, conn => {
            Ok(diesel::update(sources::table.find(id))
                .set((&fields, sources::updated_at.eq(at)))
                .returning(SourceRow::as_returning())
                .get_result(conn)
                .await
                .optional()?)
        })
    }

    /// Removes a source; its queued jobs fail. `false` when missing.
    pub async fn delete_source(&self, id: i64) -> Result<bool, StoreError> {
        let at = now();
        transaction!(self, conn => {
            diesel::update(jobs::table
                    .filter(jobs::source_id.eq(id))
                    .filter(jobs::status.eq(JobStatus::Queued.as_str())))
                .set((jobs::status.eq(JobStatus::Failed.as_str()),
                      jobs::log.eq("the source was removed before the job ran"),
                      jobs::finished_at.eq(Some(at))))
                .execute(conn)
                .await?;
            let deleted = diesel::delete(sources::table.find(id)).execute(conn).await?;
            Ok(deleted == 1)
        })
    }

    /// Queues a sync job of `source`; the source's jobs still queued fail as
    /// superseded by it (one transaction). `None`: the source is over
    /// `request.per_minute`, nothing was queued.
    pub async fn enqueue_sync(
        &self,
        source: &SourceRow,
        request: &SyncRequest,
    ) -> Result<Option<JobRow>, StoreError> {
        let at = now();
        let git = GitInfo {
            commit: request.commit.clone(),
            git_ref: request.git_ref.clone(),
            requested_by: Some(request.requested_by.clone()),
        }
        .to_json();
        let window_start = at - chrono::Duration::seconds(60);
        transaction!(self, conn => {
            if let Some(limit) = request.per_minute {
                // Locks the source's row (PostgreSQL; SQLite has one
                // writer anyway), so replicas counting at once count in turn.
                diesel::update(sources::table.find(source.id))
                    .set(sources::updated_at.eq(sources::updated_at))
                    .execute(conn)
                    .await?;
                let recent: i64 = jobs::table
                    .filter(jobs::source_id.eq(source.id))
                    .filter(jobs::kind.eq(SYNC_JOB))
                    .filter(jobs::created_at.gt(window_start))
                    .count()
                    .get_result(conn)
                    .await?;
                if recent >= i64::from(limit) {
                    return Ok(None);
                }
            }
            let namespace_id: Option<i64> = namespaces::table
                .filter(namespaces::name.eq(&source.namespace).and(namespaces::deleted_at.is_null()))
                .select(namespaces::id)
                .first(conn)
                .await
                .optional()?;
            let job: JobRow = diesel::insert_into(jobs::table)
                .values((
                    jobs::kind.eq(SYNC_JOB),
                    jobs::namespace_id.eq(namespace_id),
                    jobs::namespace.eq(&source.namespace),
                    jobs::schema.eq(""),
                    jobs::plugin.eq(""),
                    jobs::parameter.eq(""),
                    jobs::status.eq(JobStatus::Queued.as_str()),
                    jobs::created_at.eq(at),
                    jobs::source_id.eq(Some(source.id)),
                    jobs::git.eq(Some(&git)),
                ))
                .returning(JobRow::as_returning())
                .get_result(conn)
                .await?;
            diesel::update(jobs::table
                    .filter(jobs::source_id.eq(source.id))
                    .filter(jobs::kind.eq(SYNC_JOB))
                    .filter(jobs::status.eq(JobStatus::Queued.as_str()))
                    .filter(jobs::id.lt(job.id)))
                .set((jobs::status.eq(JobStatus::Failed.as_str()),
                      jobs::log.eq(format!("superseded by job {} before it started", job.id)),
                      jobs::finished_at.eq(Some(at))))
                .execute(conn)
                .await?;
            Ok(Some(job))
        })
    }

    /// Claims the oldest queued sync job whose source has no running job
    /// (moved to `running`); `None` when there is none.
    pub async fn claim_sync_job(&self) -> Result<Option<JobRow>, StoreError> {
        let at = now();
        let expires = super::leases::expiry(self.lease_ttl());
        let me = super::replica_id();
        transaction!(self, conn => {
            let queued: Vec<(i64, Option<i64>)> = jobs::table
                .filter(jobs::kind.eq(SYNC_JOB))
                .filter(jobs::status.eq(JobStatus::Queued.as_str()))
                .order(jobs::id)
                .limit(100)
                .select((jobs::id, jobs::source_id))
                .load(conn)
                .await?;
            let running: Vec<Option<i64>> = jobs::table
                .filter(jobs::kind.eq(SYNC_JOB))
                .filter(jobs::status.eq(JobStatus::Running.as_str()))
                .select(jobs::source_id)
                .load(conn)
                .await?;
            let Some((id, _)) = queued.into_iter().find(|(_, source)| !running.contains(source)) else {
                return Ok(None);
            };
            let row: Option<JobRow> = diesel::update(jobs::table.find(id)
                    .filter(jobs::status.eq(JobStatus::Queued.as_str())))
                .set((
                    jobs::status.eq(JobStatus::Running.as_str()),
                    jobs::started_at.eq(Some(at)),
                    jobs::lease_holder.eq(Some(me)),
                    jobs::lease_expires_at.eq(Some(expires)),
                ))
                .returning(JobRow::as_returning())
                .get_result(conn)
                .await
                .optional()?;
            Ok(row)
        })
    }

    /// Sync jobs left `running` by a process that stopped go back to
    /// `queued` (at start-up), keeping their place: those without a lease,
    /// or whose lease expired. A job another live replica runs (it renews
    /// the lease) is left alone. Returns how many.
    pub async fn requeue_running_syncs(&self) -> Result<usize, StoreError> {
        let at = now();
        with_conn!(self, conn => {
            Ok(diesel::update(jobs::table
                    .filter(jobs::kind.eq(SYNC_JOB))
                    .filter(jobs::status.eq(JobStatus::Running.as_str()))
                    .filter(jobs::lease_expires_at.is_null().or(jobs::lease_expires_at.lt(at))))
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

    /// Ends a running sync job, in one transaction: its status, log and
    /// commit, the source's schemas (on success) and the `sync.finished`
    /// event. Idempotent like `finish_job`: a job no longer running is
    /// returned as it is.
    pub async fn finish_sync_job(
        &self,
        job: &JobRow,
        result: &SyncResult,
    ) -> Result<JobRow, StoreError> {
        let at = now();
        let status = if result.succeeded {
            JobStatus::Succeeded
        } else {
            JobStatus::Failed
        };
        let schemas = serde_json::to_string(&result.schemas).unwrap_or_else(|_| "[]".into());
        let mut git = job.git_info();
        if result.commit.is_some() {
            git.commit = result.commit.clone();
        }
        let git_json = git.to_json();
        transaction!(self, conn => {
            let current: JobRow = jobs::table
                .find(job.id)
                .select(JobRow::as_select())
                .first(conn)
                .await?;
            if current.status != JobStatus::Running.as_str() {
                return Ok(current);
            }
            let namespace_id: Option<i64> = namespaces::table
                .filter(namespaces::name.eq(&job.namespace).and(namespaces::deleted_at.is_null()))
                .select(namespaces::id)
                .first(conn)
                .await
                .optional()?;
            let row: JobRow = diesel::update(jobs::table.find(job.id))
                .set((
                    jobs::status.eq(status.as_str()),
                    jobs::log.eq(&result.log),
                    jobs::git.eq(Some(&git_json)),
                    jobs::namespace_id.eq(namespace_id.or(job.namespace_id)),
                    jobs::finished_at.eq(Some(at)),
                ))
                .returning(JobRow::as_returning())
                .get_result(conn)
                .await?;
            if result.succeeded && let Some(source) = job.source_id {
                diesel::update(sources::table.find(source))
                    .set(sources::synced_schemas.eq(&schemas))
                    .execute(conn)
                    .await?;
            }
            insert_event!(conn, row.namespace_id, &job.namespace, "sync.finished",
                serde_json::json!({
                    "namespace": job.namespace, "source": job.source_id, "job": job.id,
                    "commit": git.commit, "status": status.as_str(),
                    "published": result.published, "promoted": result.promoted,
                }), at);
            Ok(row)
        })
    }

    /// The last finished sync job of each source, by source id.
    pub async fn last_syncs(&self, source_ids: &[i64]) -> Result<HashMap<i64, JobRow>, StoreError> {
        let mut out = HashMap::new();
        for id in source_ids {
            let found: Option<JobRow> = with_conn!(self, conn => {
                Ok::<_, StoreError>(jobs::table
                    .filter(jobs::kind.eq(SYNC_JOB))
                    .filter(jobs::source_id.eq(*id))
                    .filter(jobs::finished_at.is_not_null())
                    .order(jobs::id.desc())
                    .select(JobRow::as_select())
                    .first(conn)
                    .await
                    .optional()?)
            })?;
            if let Some(job) = found {
                out.insert(*id, job);
            }
        }
        Ok(out)
    }
}
