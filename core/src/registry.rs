//! The `Registry` handle: what the HTTP layer (or any embedder) calls.
//!
//! Mutations go to the namespace's actor; reads load the namespace view
//! from its `ArcSwap` and never wait for a writer.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use actix::prelude::*;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::actor;
use crate::codegen::{GenerateError, Generated};
use crate::convert::to_utc;
use crate::error::{RegistryError, Result};
use crate::ids::{self, NamespaceId, SchemaId};
use crate::limits::Limits;
use crate::load::{self, load_snapshots, load_view};
use crate::ops::{self, PromoteOutcome, PublishOutcome, PublishRequest, RollbackOutcome};
use crate::snapshot::{NamespaceView, VersionSnapshot};
pub use crate::state::RegistryConfig;
use crate::state::{NamespaceActor, NamespaceEntry, Shared};
use crate::store::{JobTarget, Store};

/// A pool to look types up in, with the owner of each namespace file.
#[derive(Debug, Clone)]
pub struct TypeScope {
    pub pool: prost_reflect::DescriptorPool,
    pub owners: HashMap<String, SchemaId>,
    /// Set when the lookup is limited to one schema's files.
    pub schema: Option<SchemaId>,
}

impl TypeScope {
    /// The schema owning `file`, if a namespace schema does.
    pub fn owner(&self, file: &str) -> Option<&SchemaId> {
        self.owners.get(file)
    }

    /// Whether a type in `file` is visible in this scope.
    pub fn admits(&self, file: &str) -> bool {
        match &self.schema {
            Some(schema) => self.owner(file) == Some(schema),
            None => true,
        }
    }
}

/// Which version a request names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionRef {
    Number(i32),
    Current,
    Staged,
}

impl VersionRef {
    pub fn parse(text: &str) -> Result<Self> {
        match text {
            "current" => Ok(Self::Current),
            "staged" => Ok(Self::Staged),
            n => match n.parse::<i32>() {
                Ok(v) if v > 0 => Ok(Self::Number(v)),
                _ => Err(RegistryError::InvalidArgument(format!(
                    "invalid version {text:?}: a positive integer, \"current\" or \"staged\""
                ))),
            },
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum VersionState {
    Current,
    Staged,
    Previous,
}

/// `VersionInfo` of docs/API.md.
#[derive(Debug, Clone, Serialize)]
pub struct VersionInfo {
    pub version: i32,
    pub fingerprint: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub metadata: Map<String, Value>,
    pub files: Vec<String>,
    pub state: VersionState,
}

impl VersionInfo {
    pub fn of(version: &VersionSnapshot, state: VersionState) -> Self {
        Self {
            version: version.version,
            fingerprint: version.fingerprint.clone(),
            created_by: version.created_by.clone(),
            created_at: version.created_at,
            metadata: version.metadata.clone(),
            files: version.paths().map(str::to_owned).collect(),
            state,
        }
    }
}

/// A job as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct JobInfo {
    pub id: i64,
    pub kind: String,
    pub status: String,
    pub namespace: String,
    pub schema: String,
    /// Codegen jobs: the generated version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<i32>,
    pub plugin: String,
    pub parameter: String,
    pub log: String,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Sync jobs: the source, the commit (wanted; the synced one once the
    /// job ran), the ref and who pushed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub git_ref: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requested_by: Option<String>,
    /// Codegen jobs of a target with `verify`: whether the toolchain
    /// checked the files.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verified: Option<bool>,
}

impl JobInfo {
    fn of(record: crate::store::JobRecord) -> Self {
        let job = record.job;
        let git = job.git_info();
        JobInfo {
            id: job.id,
            kind: job.kind,
            status: job.status,
            namespace: job.namespace,
            schema: job.schema,
            version: job.version_id.map(|_| record.version),
            plugin: job.plugin,
            parameter: job.parameter,
            log: job.log,
            created_at: to_utc(job.created_at),
            started_at: job.started_at.map(to_utc),
            finished_at: job.finished_at.map(to_utc),
            source: job.source_id,
            commit: git.commit,
            git_ref: git.git_ref,
            requested_by: git.requested_by,
            verified: job.verified,
        }
    }
}

/// The registry: cheap to clone, one per process.
#[derive(Clone)]
pub struct Registry {
    shared: Arc<Shared>,
    create_lock: Arc<tokio::sync::Mutex<()>>,
    ready: Arc<AtomicBool>,
    restored: Arc<OnceLock<RestoreStats>>,
}

/// What the restore at start did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestoreStats {
    /// Current and staged versions restored.
    pub versions: usize,
    /// Of those, how many came from restore checkpoints (the rest were read
    /// from their version rows and descriptor blobs).
    pub from_checkpoints: usize,
    pub duration: Duration,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("store", &self.shared.store)
            .finish()
    }
}

impl Registry {
    /// Opens the store (running migrations) without restoring; call
    /// [`Registry::restore`] next. Must run inside an actix `System`.
    pub async fn connect(config: RegistryConfig) -> Result<Self> {
        let store = Store::open(&config.store).await?;
        let arbiter = Arbiter::new().handle();
        let shared = Shared::new(config, store, arbiter);
        Ok(Self {
            shared,
            create_lock: Arc::new(tokio::sync::Mutex::new(())),
            ready: Arc::new(AtomicBool::new(false)),
            restored: Arc::new(OnceLock::new()),
        })
    }

    /// Connects and restores: the usual way to start.
    pub async fn open(config: RegistryConfig) -> Result<Self> {
        let registry = Self::connect(config).await?;
        registry.restore().await?;
        Ok(registry)
    }

    /// Rebuilds every namespace view (current and staged) from the stored
    /// compiled descriptors, without compiling anything.
    pub async fn restore(&self) -> Result<()> {
        let started = std::time::Instant::now();
        let store = &self.shared.store;
        if store.live_namespace(ids::BUILTINS).await?.is_none() {
            // A unique violation means another replica created it first.
            match store.create_namespace(ids::BUILTINS, "{}", "{}").await {
                Ok(_)
                | Err(crate::store::StoreError::Diesel(diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::UniqueViolation,
                    _,
                ))) => {}
                Err(other) => return Err(other.into()),
            }
        }
        let restored = crate::restore::load_all_views(store).await?;
        let count = restored.views.len();
        let (versions, from_checkpoints) = (restored.versions, restored.from_checkpoints);
        for (row_id, revision) in restored.checkpointed {
            self.shared.checkpoints.mark_written(row_id, revision);
        }
        for view in restored.views {
            self.shared.insert_entry(view);
        }
        let _ = self.restored.set(RestoreStats {
            versions,
            from_checkpoints,
            duration: started.elapsed(),
        });
        self.ready.store(true, Ordering::Release);
        if !self.shared.checkpoints_started.swap(true, Ordering::AcqRel) {
            crate::checkpoint::start(&self.shared);
        }
        crate::events::start(store.clone(), self.shared.plugins.sinks());
        if !self.shared.codegen_started.swap(true, Ordering::AcqRel) {
            crate::codegen::start_worker(&self.shared);
        }
        if !self.shared.replicas_started.swap(true, Ordering::AcqRel) {
            self.start_replica_tasks();
        }
        tracing::info!(
            namespaces = count,
            backend = store.backend_name(),
            "restore finished"
        );
        Ok(())
    }

    /// Writes the restore checkpoint of every namespace whose stored one is
    /// behind its view (the background writer does this on its own, a
    /// while after changes; call this at shutdown). Returns how many were
    /// written.
    pub async fn write_checkpoints(&self) -> Result<usize> {
        self.ensure_ready()?;
        let views = self.shared.views();
        self.shared
            .checkpoints
            .write_behind(&self.shared.store, views)
            .await
    }

    /// What the first restore did, once it finished.
    pub fn restore_stats(&self) -> Option<RestoreStats> {
        self.restored.get().copied()
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    pub fn store(&self) -> &Store {
        &self.shared.store
    }

    pub fn limits(&self) -> Arc<Limits> {
        self.shared.limits()
    }

    pub fn set_limits(&self, limits: Limits) {
        self.shared.set_limits(limits);
    }

    pub fn plugins(&self) -> &Arc<crate::plugin::PluginHost> {
        &self.shared.plugins
    }

    pub fn compat_checker(&self) -> &str {
        self.shared.compat.name()
    }

    fn ensure_ready(&self) -> Result<()> {
        if self.is_ready() {
            Ok(())
        } else {
            Err(RegistryError::Unavailable(
                "the registry is still restoring".into(),
            ))
        }
    }

    fn entry(&self, namespace: &str) -> Result<Arc<NamespaceEntry>> {
        self.ensure_ready()?;
        self.shared
            .entry(namespace)
            .ok_or_else(|| RegistryError::NotFound(format!("namespace {namespace} not found")))
    }

    /// The namespace's current view. Lock-free.
    pub fn view(&self, namespace: &str) -> Result<Arc<NamespaceView>> {
        Ok(self.entry(namespace)?.view.load_full())
    }

    /// Every live namespace, by name.
    pub fn views(&self) -> Result<Vec<Arc<NamespaceView>>> {
        self.ensure_ready()?;
        let mut views = self.shared.views();
        views.sort_by(|a, b| a.info.name.cmp(&b.info.name));
        Ok(views)
    }

    async fn send<M, R>(&self, entry: &NamespaceEntry, message: M) -> Result<R>
    where
        M: Message<Result = Result<R>> + Send + 'static,
        R: Send + 'static,
        NamespaceActor: Handler<M>,
    {
        let addr = entry
            .actor()
            .ok_or_else(|| RegistryError::Unavailable("namespace actor not started".into()))?;
        addr.send(message)
            .await
            .map_err(|e| RegistryError::Unavailable(format!("namespace actor: {e}")))?
    }

    /// Creates the namespace if it does not exist. `true` when created.
    async fn ensure_namespace(
        &self,
        namespace: &NamespaceId,
    ) -> Result<(Arc<NamespaceEntry>, bool)> {
        self.ensure_ready()?;
        if let Some(entry) = self.shared.entry(namespace.as_str()) {
            return Ok((entry, false));
        }
        let _guard = self.create_lock.lock().await;
        if let Some(entry) = self.shared.entry(namespace.as_str()) {
            return Ok((entry, false));
        }
        let row = match self
            .shared
            .store
            .create_namespace(namespace.as_str(), "{}", "{}")
            .await
        {
            Ok(row) => row,
            // Another replica created it since this one last looked.
            Err(crate::store::StoreError::Diesel(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            ))) if self.shared.store.is_postgres() => {
                let Some(row) = self.shared.store.live_namespace(namespace.as_str()).await? else {
                    return Err(RegistryError::Conflict(format!(
                        "namespace {namespace} is being created or deleted by another replica; retry"
                    )));
                };
                let builtins = self.shared.builtin_files(namespace);
                let view = load_view(&self.shared.store, &row, &builtins).await?;
                return Ok((self.shared.insert_entry(view), false));
            }
            Err(other) => return Err(other.into()),
        };
        let view = load_view(&self.shared.store, &row, &[]).await?;
        Ok((self.shared.insert_entry(view), true))
    }

    /// PUT: create, or update the metadata/settings given. `true` when created.
    pub async fn put_namespace(
        &self,
        namespace: &NamespaceId,
        metadata: Option<Map<String, Value>>,
        settings: Option<Value>,
    ) -> Result<(Arc<NamespaceView>, bool)> {
        // Before creating the namespace: settings that are refused leave no
        // namespace behind.
        if let Some(settings) = &settings {
            ops::validate_settings(&self.shared, settings)?;
        }
        let (entry, created) = self.ensure_namespace(namespace).await?;
        if metadata.is_none() && settings.is_none() {
            return Ok((entry.view.load_full(), created));
        }
        let view = self
            .send(&entry, actor::UpdateNamespace { metadata, settings })
            .await?;
        Ok((view, created))
    }

    pub async fn delete_namespace(&self, namespace: &str) -> Result<()> {
        let entry = self.entry(namespace)?;
        self.send(&entry, actor::DeleteNamespace).await
    }

    /// Publishes into a namespace, creating the namespace when missing.
    pub async fn publish(
        &self,
        namespace: &NamespaceId,
        request: PublishRequest,
    ) -> Result<PublishOutcome> {
        ops::validate_sources(&request.sources, &self.limits())?;
        if self.shared.entry(namespace.as_str()).is_none() {
            // Compile before creating the namespace, so that a publish that
            // fails leaves no empty namespace behind.
            self.ensure_ready()?;
            let empty = load::empty_view(namespace.clone());
            ops::check(
                &self.shared,
                &empty,
                &request.schema,
                request.sources.clone(),
                request.force,
            )
            .await
            .and_then(|outcome| match outcome.errors.is_empty() {
                true => Ok(()),
                false => Err(RegistryError::compile_failed(outcome.errors)),
            })?;
        }
        let (entry, _) = self.ensure_namespace(namespace).await?;
        self.send(&entry, actor::Publish(request)).await
    }

    pub async fn promote(&self, namespace: &str, dry_run: bool) -> Result<PromoteOutcome> {
        let entry = self.entry(namespace)?;
        self.send(&entry, actor::Promote { dry_run }).await
    }

    pub async fn discard(&self, namespace: &str) -> Result<Vec<SchemaId>> {
        let entry = self.entry(namespace)?;
        self.send(&entry, actor::Discard).await
    }

    pub async fn rollback(
        &self,
        namespace: &str,
        schema: SchemaId,
        version: i32,
        force: bool,
    ) -> Result<RollbackOutcome> {
        let entry = self.entry(namespace)?;
        self.send(
            &entry,
            actor::Rollback {
                schema,
                version,
                force,
            },
        )
        .await
    }

    /// Dry-run publish plus compatibility against the current version.
    pub async fn check(
        &self,
        namespace: &str,
        schema: SchemaId,
        sources: BTreeMap<String, String>,
        force: bool,
    ) -> Result<ops::CheckOutcome> {
        let view = self.view(namespace)?;
        ops::check(&self.shared, &view, &schema, sources, force).await
    }

    /// What changed from one version of a schema to another, and which
    /// changes break compatibility under the namespace's rules (checked as
    /// BACKWARD: `to` must read what `from` wrote).
    pub async fn diff(
        &self,
        namespace: &str,
        schema: &str,
        from: VersionRef,
        to: VersionRef,
    ) -> Result<(crate::diff::Diff, Vec<crate::Violation>)> {
        let view = self.view(namespace)?;
        let (old, _) = self.version(namespace, schema, from).await?;
        let (new, _) = self.version(namespace, schema, to).await?;
        let changes = crate::diff::diff(&old, &new)?;
        let mut settings = view.info.settings.clone();
        if let Some(Value::Object(compat)) = settings.get_mut("compat") {
            compat.insert("mode".into(), Value::String("BACKWARD".into()));
        }
        let builtins = self.shared.builtin_files(&view.info.name);
        let schema_id = SchemaId::parse(schema)?;
        let request = crate::compat::CompatRequest {
            namespace: &view.info.name,
            settings: &settings,
            current: vec![(&schema_id, &old)],
            proposed: vec![(&schema_id, &new)],
            builtins: &builtins,
            history: &[],
        };
        let violations = self.shared.compat.check(&request)?;
        Ok((changes, violations))
    }

    /// Where to look up types: a namespace's current (or proposed) image, or
    /// one version of one schema. Returns the pool and the owner of each of
    /// the namespace's files.
    pub async fn type_scope(
        &self,
        namespace: &str,
        schema: Option<&str>,
        version: Option<VersionRef>,
    ) -> Result<TypeScope> {
        let view = self.view(namespace)?;
        match (schema, version) {
            (None, None | Some(VersionRef::Current)) => Ok(TypeScope {
                pool: view.current.pool()?.clone(),
                owners: view.current.owners.clone(),
                schema: None,
            }),
            (None, Some(VersionRef::Staged)) => {
                let builtins = self.shared.builtin_files(&view.info.name);
                let proposed: Vec<_> = view
                    .schemas
                    .iter()
                    .filter_map(|(id, e)| e.proposed().map(|v| (id, v)))
                    .collect();
                let image = crate::snapshot::link(proposed, &builtins)?;
                Ok(TypeScope {
                    pool: image.pool()?.clone(),
                    owners: image.owners.clone(),
                    schema: None,
                })
            }
            (None, Some(VersionRef::Number(_))) => Err(RegistryError::InvalidArgument(
                "a version number needs ?schema= (versions are numbered per schema)".into(),
            )),
            (Some(schema), version) => {
                let (snapshot, _) = self
                    .version(namespace, schema, version.unwrap_or(VersionRef::Current))
                    .await?;
                let owners = view
                    .current
                    .owners
                    .iter()
                    .map(|(path, owner)| (path.clone(), owner.clone()))
                    .chain(
                        snapshot
                            .paths()
                            .map(|p| (p.to_owned(), snapshot.schema.clone())),
                    )
                    .collect();
                Ok(TypeScope {
                    pool: snapshot.pool()?.clone(),
                    owners,
                    schema: Some(snapshot.schema.clone()),
                })
            }
        }
    }

    fn schema_entry(view: &NamespaceView, schema: &str) -> Result<crate::snapshot::SchemaEntry> {
        view.schemas.get(schema).cloned().ok_or_else(|| {
            RegistryError::NotFound(format!(
                "schema {schema} not found in namespace {}",
                view.info.name
            ))
        })
    }

    /// Every version of a schema, oldest first.
    pub async fn versions(&self, namespace: &str, schema: &str) -> Result<Vec<VersionInfo>> {
        let view = self.view(namespace)?;
        let entry = Self::schema_entry(&view, schema)?;
        let store = &self.shared.store;
        let rows = store.versions_of(entry.row_id).await?;
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let mut files: HashMap<i64, Vec<String>> = HashMap::new();
        for f in store.files_of_versions(&ids).await? {
            files.entry(f.version_id).or_default().push(f.path);
        }
        Ok(rows
            .into_iter()
            .map(|row| {
                let state = state_of(&entry, row.id);
                VersionInfo {
                    version: row.version,
                    created_at: to_utc(row.created_at),
                    metadata: serde_json::from_str(&row.metadata).unwrap_or_default(),
                    files: files.remove(&row.id).unwrap_or_default(),
                    fingerprint: row.fingerprint,
                    created_by: row.created_by,
                    state,
                }
            })
            .collect())
    }

    /// One version: from the view when current or staged, else the store.
    pub async fn version(
        &self,
        namespace: &str,
        schema: &str,
        which: VersionRef,
    ) -> Result<(Arc<VersionSnapshot>, VersionState)> {
        let view = self.view(namespace)?;
        let entry = Self::schema_entry(&view, schema)?;
        let not_found =
            |what: &str| RegistryError::NotFound(format!("schema {schema} has no {what} version"));
        match which {
            VersionRef::Current => entry
                .current
                .clone()
                .map(|v| (v, VersionState::Current))
                .ok_or_else(|| not_found("current")),
            VersionRef::Staged => entry
                .staged
                .clone()
                .map(|v| (v, VersionState::Staged))
                .ok_or_else(|| not_found("staged")),
            VersionRef::Number(n) => {
                for v in [&entry.current, &entry.staged].into_iter().flatten() {
                    if v.version == n {
                        return Ok((v.clone(), state_of(&entry, v.version_id)));
                    }
                }
                let store = &self.shared.store;
                let row = store.version_of(entry.row_id, n).await?.ok_or_else(|| {
                    RegistryError::NotFound(format!("version {n} of schema {schema} not found"))
                })?;
                let names = HashMap::from([(entry.row_id, SchemaId::parse(schema)?)]);
                let id = row.id;
                let snapshot = load_snapshots(store, &names, vec![row])
                    .await?
                    .remove(&id)
                    .ok_or_else(|| RegistryError::Internal(format!("version {n} did not load")))?;
                Ok((snapshot, VersionState::Previous))
            }
        }
    }

    /// A job (`GET /v1/jobs/{id}`).
    pub async fn job(&self, id: i64) -> Result<JobInfo> {
        self.ensure_ready()?;
        let record = self
            .shared
            .store
            .job(id)
            .await?
            .ok_or_else(|| RegistryError::NotFound(format!("job {id} not found")))?;
        Ok(JobInfo::of(record))
    }

    /// The generated code of a version as a gzip tar: the stored artifact,
    /// or generated now (recorded as a job, stored as the artifact) when
    /// there is none yet.
    pub async fn generated(
        &self,
        namespace: &str,
        schema: &str,
        which: VersionRef,
        plugin: &str,
        parameter: &str,
    ) -> std::result::Result<Generated, GenerateError> {
        crate::codegen::validate_parameter(parameter)?;
        let view = self.view(namespace)?;
        let (version, _) = self.version(namespace, schema, which).await?;
        let store = &self.shared.store;
        if let Some(artifact) = store
            .artifact(version.version_id, plugin, parameter)
            .await?
        {
            let mut blobs = store.blobs(&[artifact.blob_sha256.as_str()]).await?;
            let archive = blobs.remove(&artifact.blob_sha256).ok_or_else(|| {
                RegistryError::Internal(format!("artifact blob {} missing", artifact.blob_sha256))
            })?;
            return Ok(Generated {
                archive,
                sha256: artifact.blob_sha256,
                job_id: None,
            });
        }
        if self.shared.plugins.generator(plugin).is_none() {
            return Err(RegistryError::NotFound(format!(
                "no code generator named {plugin:?} is loaded"
            ))
            .into());
        }
        let target = JobTarget {
            plugin: plugin.to_owned(),
            parameter: parameter.to_owned(),
        };
        let job = store
            .start_job(
                view.info.row_id,
                view.info.name.as_str(),
                version.schema.as_str(),
                version.version_id,
                &target,
            )
            .await?;
        let record = crate::store::JobRecord {
            job,
            version: version.version,
        };
        let (_, generated) =
            crate::codegen::run_job(&self.shared, record, crate::codegen::Push::Never).await?;
        generated.ok_or_else(|| {
            GenerateError::Registry(RegistryError::Internal(
                "a finished job left no archive".into(),
            ))
        })
    }

    /// Every current `.proto` of a namespace as a deterministic gzip tar
    /// ([`crate::codegen::archive`]): one folder per schema holding its
    /// files at the paths they were published under, so that the tree
    /// loads back one schema per folder (`protoreg load`). Staged versions
    /// are not included.
    pub async fn export(&self, namespace: &str) -> Result<Vec<u8>> {
        let view = self.view(namespace)?;
        let current: Vec<_> = view
            .schemas
            .iter()
            .filter_map(|(id, entry)| entry.current.as_ref().map(|v| (id, v)))
            .collect();
        let keys: Vec<&str> = current
            .iter()
            .flat_map(|(_, v)| v.source_hashes.values().map(String::as_str))
            .collect();
        let blobs = self.shared.store.blobs(&keys).await?;
        let mut files = BTreeMap::new();
        for (schema, version) in current {
            for (path, key) in &version.source_hashes {
                let data = blobs
                    .get(key)
                    .cloned()
                    .ok_or_else(|| RegistryError::Internal(format!("source blob {key} missing")))?;
                files.insert(format!("{}/{path}", schema.as_str()), data);
            }
        }
        crate::codegen::archive(&files)
            .map_err(|err| RegistryError::Internal(format!("export archive: {err}")))
    }

    /// The source files of a version, as published.
    pub async fn sources(
        &self,
        namespace: &str,
        schema: &str,
        which: VersionRef,
    ) -> Result<BTreeMap<String, String>> {
        let (version, _) = self.version(namespace, schema, which).await?;
        let keys: Vec<&str> = version.source_hashes.values().map(String::as_str).collect();
        let blobs = self.shared.store.blobs(&keys).await?;
        version
            .source_hashes
            .iter()
            .map(|(path, key)| {
                let data = blobs
                    .get(key)
                    .ok_or_else(|| RegistryError::Internal(format!("source blob {key} missing")))?;
                let text = String::from_utf8(data.clone()).map_err(|_| {
                    RegistryError::Internal(format!("source blob {key} is not UTF-8"))
                })?;
                Ok((path.clone(), text))
            })
            .collect()
    }
}

fn state_of(entry: &crate::snapshot::SchemaEntry, version_id: i64) -> VersionState {
    if entry
        .current
        .as_ref()
        .is_some_and(|v| v.version_id == version_id)
    {
        VersionState::Current
    } else if entry
        .staged
        .as_ref()
        .is_some_and(|v| v.version_id == version_id)
    {
        VersionState::Staged
    } else {
        VersionState::Previous
    }
}

mod sync;

#[cfg(test)]
mod tests;
