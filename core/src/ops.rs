//! The mutations of one namespace. These functions run inside the
//! namespace's actor, one at a time; each commits to the store first and
//! then swaps in a new view (DESIGN.md invariants 1–3).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::{Map, Value};

use crate::checkpoint;
use crate::compat::CompatRequest;
use crate::compile::{self, ImportScope};
use crate::descriptor::{self, RawFile};
use crate::error::{RegistryError, Result, Violation};
use crate::fingerprint::{fingerprint, sha256_hex};
use crate::ids::{self, NamespaceId, SchemaId};
use crate::registry::Shared;
use crate::snapshot::{
    self, LinkedImage, NamespaceInfo, NamespaceView, SchemaEntry, VersionSnapshot,
};
use crate::store::{
    self, BlobRef, CheckpointRow, NamespaceRow, PromoteMove, PublishRecord, SchemaRow, Store,
    VersionRow,
};

/// A publish request, validated by [`validate_sources`] inside `publish`.
#[derive(Debug, Clone)]
pub struct PublishRequest {
    pub schema: SchemaId,
    pub sources: BTreeMap<String, String>,
    pub created_by: String,
    pub metadata: Map<String, Value>,
    /// Allow shadowing a well-known type or a `__builtins__` file.
    pub force: bool,
}

#[derive(Debug, Clone)]
pub struct PublishOutcome {
    pub version: Arc<VersionSnapshot>,
    pub no_change: bool,
    /// Time spent compiling (zero for `no_change`).
    pub compile_time: Duration,
}

#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PromotedSchema {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub schema: SchemaId,
    pub from_version: Option<i32>,
    pub to_version: i32,
}

#[derive(Debug, Clone)]
pub struct PromoteOutcome {
    pub promoted: Vec<PromotedSchema>,
    pub revision: i64,
    pub dry_run: bool,
    pub compat_checker: String,
    /// Code generation jobs the promote queued.
    pub jobs: Vec<i64>,
}

#[derive(Debug, Clone)]
pub struct RollbackOutcome {
    pub version: i32,
    pub revision: i64,
}

pub fn to_utc(at: NaiveDateTime) -> DateTime<Utc> {
    DateTime::from_naive_utc_and_offset(at, Utc)
}

pub(crate) fn parse_json_object(text: &str) -> Map<String, Value> {
    match serde_json::from_str(text) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

pub fn namespace_info(row: &NamespaceRow) -> Result<NamespaceInfo> {
    Ok(NamespaceInfo {
        name: NamespaceId::parse(&row.name)?,
        row_id: row.id,
        revision: row.revision,
        created_at: to_utc(row.created_at),
        updated_at: to_utc(row.updated_at),
        metadata: parse_json_object(&row.metadata),
        settings: serde_json::from_str(&row.settings).unwrap_or(Value::Object(Map::new())),
    })
}

/// The view of a namespace that does not exist yet: nothing in it.
pub fn empty_view(name: NamespaceId) -> NamespaceView {
    let now = to_utc(crate::store::now());
    NamespaceView {
        info: NamespaceInfo {
            name,
            row_id: 0,
            revision: 0,
            created_at: now,
            updated_at: now,
            metadata: Map::new(),
            settings: Value::Object(Map::new()),
        },
        schemas: BTreeMap::new(),
        current: Arc::new(
            snapshot::assemble(std::iter::empty(), &[]).expect("an empty image assembles"),
        ),
    }
}

/// Checks a publish's sources against the limits and the path rules.
pub fn validate_sources(sources: &BTreeMap<String, String>, limits: &crate::Limits) -> Result<()> {
    if sources.is_empty() {
        return Err(RegistryError::InvalidArgument(
            "sources must contain at least one file".into(),
        ));
    }
    if sources.len() > limits.max_files {
        return Err(RegistryError::PayloadTooLarge(format!(
            "{} files in one publish; the limit is {}",
            sources.len(),
            limits.max_files
        )));
    }
    let mut total = 0usize;
    for (path, text) in sources {
        ids::validate_path(path)?;
        if text.len() > limits.max_file_bytes {
            return Err(RegistryError::PayloadTooLarge(format!(
                "{path} is {} bytes; the limit is {} per file",
                text.len(),
                limits.max_file_bytes
            )));
        }
        total += text.len();
    }
    if total > limits.max_request_bytes {
        return Err(RegistryError::PayloadTooLarge(format!(
            "sources total {total} bytes; the limit is {}",
            limits.max_request_bytes
        )));
    }
    Ok(())
}

/// Files of the current `__builtins__` view, importable by every namespace.
fn builtin_files(shared: &Shared, namespace: &NamespaceId) -> Vec<RawFile> {
    if namespace.is_builtins() {
        return Vec::new();
    }
    shared
        .entry(ids::BUILTINS)
        .map(|entry| {
            entry
                .view
                .load()
                .current_files()
                .flat_map(|(_, v)| v.files.iter().cloned())
                .collect()
        })
        .unwrap_or_default()
}

/// Refuses a path another schema owns, or one that shadows a well-known
/// type or a `__builtins__` file without `force`.
fn check_ownership(
    view: &NamespaceView,
    schema: &SchemaId,
    paths: impl IntoIterator<Item = impl AsRef<str>>,
    builtins: &[RawFile],
    force: bool,
) -> Result<()> {
    for path in paths {
        let path = path.as_ref();
        if let Some(owner) = view.owner_of(path).filter(|owner| *owner != schema) {
            return Err(RegistryError::Conflict(format!(
                "{path} belongs to schema {owner} of namespace {}",
                view.info.name
            )));
        }
        if force {
            continue;
        }
        if ids::is_well_known_path(path) {
            return Err(RegistryError::Conflict(format!(
                "{path} shadows a well-known type file; publishing it needs force (global admin)"
            )));
        }
        if builtins.iter().any(|f| f.name == path) {
            return Err(RegistryError::Conflict(format!(
                "{path} shadows a file of {}; publishing it needs force (global admin)",
                ids::BUILTINS
            )));
        }
    }
    Ok(())
}

pub async fn publish(
    shared: &Shared,
    cell: &ArcSwap<NamespaceView>,
    request: PublishRequest,
) -> Result<PublishOutcome> {
    validate_sources(&request.sources, &shared.limits())?;
    let view = cell.load_full();
    let fp = fingerprint(
        request
            .sources
            .iter()
            .map(|(p, t)| (p.as_str(), t.as_str())),
    );
    if let Some(existing) = view
        .schemas
        .get(&request.schema)
        .and_then(SchemaEntry::proposed)
        && existing.fingerprint == fp
    {
        return Ok(PublishOutcome {
            version: existing.clone(),
            no_change: true,
            compile_time: Duration::ZERO,
        });
    }

    let sources = Arc::new(request.sources);
    let (compiled, compile_time) = compile_in_namespace(
        shared,
        &view,
        &request.schema,
        sources.clone(),
        request.force,
    )
    .await?;

    let source_hashes: BTreeMap<String, String> = sources
        .iter()
        .map(|(p, t)| (p.clone(), sha256_hex(t.as_bytes())))
        .collect();
    let descriptor_sha256 = sha256_hex(&compiled.descriptor_set);
    let mut blobs: Vec<BlobRef<'_>> = sources
        .iter()
        .map(|(path, text)| BlobRef {
            sha256: &source_hashes[path],
            data: text.as_bytes(),
        })
        .collect();
    blobs.push(BlobRef {
        sha256: &descriptor_sha256,
        data: &compiled.descriptor_set,
    });
    let metadata = Value::Object(request.metadata.clone()).to_string();
    let record = PublishRecord {
        namespace_id: view.info.row_id,
        namespace: view.info.name.as_str(),
        expected_revision: view.info.revision,
        schema: request.schema.as_str(),
        fingerprint: &fp,
        descriptor_sha256: &descriptor_sha256,
        blobs,
        files: source_hashes
            .iter()
            .map(|(p, h)| (p.as_str(), h.as_str()))
            .collect(),
        deps: compiled
            .dependencies
            .iter()
            .map(|d| (d.file_path.as_str(), d.import_path.as_str(), d.version_id))
            .collect(),
        created_by: &request.created_by,
        metadata: &metadata,
    };
    let published = shared
        .store
        .publish(&record)
        .await
        .map_err(|e| revision_conflict(shared, cell, e))?;

    let snapshot = Arc::new(VersionSnapshot {
        schema: request.schema.clone(),
        version: published.version.version,
        version_id: published.version.id,
        fingerprint: fp,
        created_by: request.created_by,
        created_at: to_utc(published.version.created_at),
        metadata: request.metadata,
        descriptor_set: compiled.descriptor_set,
        descriptor_sha256,
        files: compiled.files,
        source_hashes,
        types: compiled.types,
        pool: Default::default(),
    });
    let mut next = (*view).clone();
    next.info.revision = published.revision;
    next.info.updated_at = snapshot.created_at;
    let entry = next
        .schemas
        .entry(request.schema)
        .or_insert_with(|| SchemaEntry {
            row_id: published.schema_row_id,
            updated_at: snapshot.created_at,
            current: None,
            staged: None,
            staged_forced: false,
        });
    entry.staged = Some(snapshot.clone());
    entry.staged_forced = false;
    entry.updated_at = snapshot.created_at;
    cell.store(Arc::new(next));
    Ok(PublishOutcome {
        version: snapshot,
        no_change: false,
        compile_time,
    })
}

/// Compiles a schema's sources against the namespace's proposed state
/// (other schemas' staged-else-current files, current `__builtins__`, the
/// well-known types) after the path-ownership checks. Changes nothing.
async fn compile_in_namespace(
    shared: &Shared,
    view: &NamespaceView,
    schema: &SchemaId,
    sources: Arc<BTreeMap<String, String>>,
    force: bool,
) -> Result<(compile::CompiledSchema, Duration)> {
    let builtins = builtin_files(shared, &view.info.name);
    check_ownership(view, schema, sources.keys(), &builtins, force)?;
    let mut scope = ImportScope::default();
    if let Some(entry) = shared
        .entry(ids::BUILTINS)
        .filter(|_| !view.info.name.is_builtins())
    {
        for (_, version) in entry.view.load().current_files() {
            scope.add(&version.files, version.version_id);
        }
    }
    for (_, entry) in view.schemas.iter().filter(|(other, _)| *other != schema) {
        if let Some(version) = entry.proposed() {
            scope.add(&version.files, version.version_id);
        }
    }
    let started = Instant::now();
    let compiled = compile::compile_on_own_thread(sources, Arc::new(scope)).await?;
    Ok((compiled, started.elapsed()))
}

/// The result of a dry-run publish: compile errors and compatibility
/// findings are data here.
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckOutcome {
    pub compatible: bool,
    pub violations: Vec<Violation>,
    pub errors: Vec<crate::error::CompileError>,
}

/// Would these sources publish, and would promoting them be compatible with
/// the schema's current version? Changes nothing.
pub async fn check(
    shared: &Shared,
    view: &NamespaceView,
    schema: &SchemaId,
    sources: BTreeMap<String, String>,
    force: bool,
) -> Result<CheckOutcome> {
    validate_sources(&sources, &shared.limits())?;
    let failed = |errors| {
        Ok(CheckOutcome {
            compatible: false,
            violations: Vec::new(),
            errors,
        })
    };
    let sources = Arc::new(sources);
    let compiled = match compile_in_namespace(shared, view, schema, sources.clone(), force).await {
        Ok((compiled, _)) => compiled,
        Err(RegistryError::CompileFailed { errors, .. }) => return failed(errors),
        Err(other) => return Err(other),
    };
    let candidate = Arc::new(VersionSnapshot {
        schema: schema.clone(),
        version: 0,
        version_id: 0,
        fingerprint: fingerprint(sources.iter().map(|(p, t)| (p.as_str(), t.as_str()))),
        created_by: String::new(),
        created_at: Utc::now(),
        metadata: Map::new(),
        descriptor_sha256: sha256_hex(&compiled.descriptor_set),
        descriptor_set: compiled.descriptor_set,
        files: compiled.files,
        source_hashes: sources
            .iter()
            .map(|(p, t)| (p.clone(), sha256_hex(t.as_bytes())))
            .collect(),
        types: compiled.types,
        pool: Default::default(),
    });
    let mut proposed = proposed_versions(view);
    proposed.insert(schema.clone(), candidate);
    let builtins = builtin_files(shared, &view.info.name);
    if let Err(RegistryError::CompileFailed { errors, .. }) =
        snapshot::link(proposed.iter(), &builtins)
    {
        return failed(errors);
    }
    let violations: Vec<Violation> = compat_violations(shared, view, &proposed)
        .await?
        .into_iter()
        .filter(|v| v.schema == schema.as_str())
        .collect();
    Ok(CheckOutcome {
        compatible: violations.is_empty(),
        violations,
        errors: Vec::new(),
    })
}

/// Runs the compat hook on `proposed` against the view's current versions
/// (and, for transitive modes, every earlier current version of the
/// schemas that change).
async fn compat_violations(
    shared: &Shared,
    view: &NamespaceView,
    proposed: &BTreeMap<SchemaId, Arc<VersionSnapshot>>,
) -> Result<Vec<Violation>> {
    let builtins = builtin_files(shared, &view.info.name);
    let history = if shared.compat.wants_history(&view.info.settings) {
        earlier_current_versions(shared, view, proposed).await?
    } else {
        Vec::new()
    };
    // Off the actor's thread: a large namespace takes a while, and rules
    // from plugins may block up to their time limit.
    let compat = shared.compat.clone();
    let namespace = view.info.name.clone();
    let settings = view.info.settings.clone();
    let current: Vec<(SchemaId, Arc<VersionSnapshot>)> = view
        .current_files()
        .map(|(s, v)| (s.clone(), v.clone()))
        .collect();
    let proposed: Vec<(SchemaId, Arc<VersionSnapshot>)> = proposed
        .iter()
        .map(|(s, v)| (s.clone(), v.clone()))
        .collect();
    tokio::task::spawn_blocking(move || {
        let request = CompatRequest {
            namespace: &namespace,
            settings: &settings,
            current: current.iter().map(|(s, v)| (s, v)).collect(),
            proposed: proposed.iter().map(|(s, v)| (s, v)).collect(),
            builtins: &builtins,
            history: &history,
        };
        compat.check(&request)
    })
    .await
    .map_err(|e| RegistryError::Internal(format!("compatibility check task: {e}")))?
}

/// Versions that were once current, of the schemas whose proposed version
/// differs from the current one (the current ones are checked anyway).
async fn earlier_current_versions(
    shared: &Shared,
    view: &NamespaceView,
    proposed: &BTreeMap<SchemaId, Arc<VersionSnapshot>>,
) -> Result<Vec<Arc<VersionSnapshot>>> {
    let mut names = HashMap::new();
    let mut skip = Vec::new();
    for (schema, version) in proposed {
        let Some(entry) = view.schemas.get(schema) else {
            continue;
        };
        let current = entry.current.as_ref().map(|v| v.version_id);
        if current == Some(version.version_id) {
            continue;
        }
        names.insert(entry.row_id, schema.clone());
        skip.extend(current);
    }
    let row_ids: Vec<i64> = names.keys().copied().collect();
    let rows: Vec<VersionRow> = shared
        .store
        .ever_current_versions(&row_ids)
        .await?
        .into_iter()
        .filter(|r| !skip.contains(&r.id))
        .collect();
    let loaded = load_snapshots(&shared.store, &names, rows).await?;
    let mut history: Vec<Arc<VersionSnapshot>> = loaded.into_values().collect();
    history.sort_by(|a, b| (&a.schema, a.version).cmp(&(&b.schema, b.version)));
    Ok(history)
}

fn proposed_versions(view: &NamespaceView) -> BTreeMap<SchemaId, Arc<VersionSnapshot>> {
    view.schemas
        .iter()
        .filter_map(|(id, e)| e.proposed().map(|v| (id.clone(), v.clone())))
        .collect()
}

pub async fn promote(
    shared: &Shared,
    cell: &ArcSwap<NamespaceView>,
    dry_run: bool,
) -> Result<PromoteOutcome> {
    let view = cell.load_full();
    let compat_checker = shared.compat.name().to_owned();
    let moves: Vec<(SchemaId, &SchemaEntry, Arc<VersionSnapshot>)> = view
        .staged()
        .map(|(id, e, v)| (id.clone(), e, v.clone()))
        .collect();
    let promoted: Vec<PromotedSchema> = moves
        .iter()
        .map(|(schema, entry, to)| PromotedSchema {
            schema: schema.clone(),
            from_version: entry.current.as_ref().map(|v| v.version),
            to_version: to.version,
        })
        .collect();
    if moves.is_empty() {
        return Ok(PromoteOutcome {
            promoted,
            revision: view.info.revision,
            dry_run,
            compat_checker,
            jobs: Vec::new(),
        });
    }

    let proposed = proposed_versions(&view);
    let builtins = builtin_files(shared, &view.info.name);
    let linked = snapshot::link(proposed.iter(), &builtins)?;
    if view.info.name.is_builtins() {
        check_dependents_link(shared, &proposed)?;
    }
    // Findings of a schema staged by a forced rollback were accepted by an
    // admin when it was staged.
    let violations: Vec<Violation> = compat_violations(shared, &view, &proposed)
        .await?
        .into_iter()
        .filter(|v| {
            !view
                .schemas
                .get(v.schema.as_str())
                .is_some_and(|e| e.staged_forced)
        })
        .collect();
    if !violations.is_empty() {
        return Err(RegistryError::Incompatible {
            message: format!(
                "{} compatibility violation(s); nothing was promoted",
                violations.len()
            ),
            violations,
        });
    }
    if dry_run {
        return Ok(PromoteOutcome {
            promoted,
            revision: view.info.revision,
            dry_run,
            compat_checker,
            jobs: Vec::new(),
        });
    }

    let store_moves: Vec<PromoteMove> = moves
        .iter()
        .map(|(schema, entry, to)| PromoteMove {
            schema_row_id: entry.row_id,
            schema: schema.to_string(),
            from_version_id: entry.current.as_ref().map(|v| v.version_id),
            to_version_id: to.version_id,
        })
        .collect();
    let targets = crate::codegen::targets_of(&view.info.settings);
    let commit = shared
        .store
        .promote_enqueuing(
            view.info.row_id,
            view.info.name.as_str(),
            view.info.revision,
            &store_moves,
            &targets,
        )
        .await
        .map_err(|e| revision_conflict(shared, cell, e))?;
    let revision = commit.revision;

    let mut next = (*view).clone();
    next.info.revision = revision;
    next.info.updated_at = to_utc(commit.at);
    for (schema, _, to) in &moves {
        if let Some(entry) = next.schemas.get_mut(schema) {
            entry.current = Some(to.clone());
            entry.staged = None;
            entry.staged_forced = false;
            entry.updated_at = next.info.updated_at;
        }
    }
    next.current = Arc::new(linked);
    cell.store(Arc::new(next));
    if view.info.name.is_builtins() {
        shared.refresh_dependents_of_builtins();
    }
    if !commit.job_ids.is_empty() {
        shared.codegen_wake.notify_one();
    }
    Ok(PromoteOutcome {
        promoted,
        revision,
        dry_run,
        compat_checker,
        jobs: commit.job_ids,
    })
}

/// Before `__builtins__` changes: every namespace must still link with it.
fn check_dependents_link(
    shared: &Shared,
    proposed: &BTreeMap<SchemaId, Arc<VersionSnapshot>>,
) -> Result<()> {
    let new_builtins: Vec<RawFile> = proposed
        .values()
        .flat_map(|v| v.files.iter().cloned())
        .collect();
    for (name, entry) in shared.entries() {
        if name.is_builtins() {
            continue;
        }
        let view = entry.view.load();
        if let Err(err) = snapshot::link(view.current_files(), &new_builtins) {
            return Err(match err {
                RegistryError::CompileFailed { message, errors } => RegistryError::CompileFailed {
                    message: format!("namespace {name} would no longer link: {message}"),
                    errors,
                },
                other => other,
            });
        }
    }
    Ok(())
}

/// Rebuilds the current image after `__builtins__` changed.
pub fn relink_with_builtins(shared: &Shared, cell: &ArcSwap<NamespaceView>) -> Result<()> {
    let view = cell.load_full();
    let builtins = builtin_files(shared, &view.info.name);
    let linked = snapshot::link(view.current_files(), &builtins)?;
    let mut next = (*view).clone();
    next.current = Arc::new(linked);
    cell.store(Arc::new(next));
    Ok(())
}

pub async fn discard(shared: &Shared, cell: &ArcSwap<NamespaceView>) -> Result<Vec<SchemaId>> {
    let view = cell.load_full();
    let staged: Vec<(i64, String)> = view
        .staged()
        .map(|(id, e, _)| (e.row_id, id.to_string()))
        .collect();
    if staged.is_empty() {
        return Ok(Vec::new());
    }
    let (revision, at) = shared
        .store
        .discard(
            view.info.row_id,
            view.info.name.as_str(),
            view.info.revision,
            &staged,
        )
        .await
        .map_err(|e| revision_conflict(shared, cell, e))?;
    let mut next = (*view).clone();
    next.info.revision = revision;
    next.info.updated_at = to_utc(at);
    let mut discarded = Vec::new();
    for entry in next.schemas.iter_mut().filter(|(_, e)| e.staged.is_some()) {
        entry.1.staged = None;
        entry.1.staged_forced = false;
        entry.1.updated_at = to_utc(at);
        discarded.push(entry.0.clone());
    }
    cell.store(Arc::new(next));
    Ok(discarded)
}

pub async fn rollback(
    shared: &Shared,
    cell: &ArcSwap<NamespaceView>,
    schema: SchemaId,
    version: i32,
    force: bool,
) -> Result<RollbackOutcome> {
    let view = cell.load_full();
    let entry = view.schemas.get(&schema).ok_or_else(|| {
        RegistryError::NotFound(format!(
            "schema {schema} not found in namespace {}",
            view.info.name
        ))
    })?;
    if entry.staged.as_ref().is_some_and(|s| s.version == version) {
        return Ok(RollbackOutcome {
            version,
            revision: view.info.revision,
        });
    }
    let row = shared
        .store
        .version_of(entry.row_id, version)
        .await?
        .ok_or_else(|| {
            RegistryError::NotFound(format!("version {version} of schema {schema} not found"))
        })?;
    let names = HashMap::from([(entry.row_id, schema.clone())]);
    let snapshot = load_snapshots(&shared.store, &names, vec![row.clone()])
        .await?
        .remove(&row.id)
        .ok_or_else(|| {
            RegistryError::Internal(format!("version {version} of {schema} did not load"))
        })?;
    let builtins = builtin_files(shared, &view.info.name);
    check_ownership(&view, &schema, snapshot.paths(), &builtins, true)?;
    if !force {
        let mut proposed = proposed_versions(&view);
        proposed.insert(schema.clone(), snapshot.clone());
        let violations = compat_violations(shared, &view, &proposed).await?;
        if !violations.is_empty() {
            return Err(RegistryError::Incompatible {
                message: format!(
                    "{} compatibility violation(s); nothing was staged",
                    violations.len()
                ),
                violations,
            });
        }
    }
    let (revision, at) = shared
        .store
        .stage_existing(
            store::NamespaceAt::new(
                view.info.row_id,
                view.info.name.as_str(),
                view.info.revision,
            ),
            entry.row_id,
            schema.as_str(),
            &row,
            force,
        )
        .await
        .map_err(|e| revision_conflict(shared, cell, e))?;
    let mut next = (*view).clone();
    next.info.revision = revision;
    next.info.updated_at = to_utc(at);
    if let Some(e) = next.schemas.get_mut(&schema) {
        e.staged = Some(snapshot);
        e.staged_forced = force;
        e.updated_at = to_utc(at);
    }
    cell.store(Arc::new(next));
    Ok(RollbackOutcome { version, revision })
}

pub async fn update_namespace(
    shared: &Shared,
    cell: &ArcSwap<NamespaceView>,
    metadata: Option<Map<String, Value>>,
    settings: Option<Value>,
) -> Result<Arc<NamespaceView>> {
    let view = cell.load_full();
    if let Some(settings) = &settings {
        shared.compat.validate_settings(settings)?;
        crate::codegen::validate_settings(settings, &shared.plugins)?;
    }
    let metadata_text = metadata
        .as_ref()
        .map(|m| Value::Object(m.clone()).to_string());
    let settings_text = settings.as_ref().map(Value::to_string);
    let row = shared
        .store
        .update_namespace(
            view.info.row_id,
            view.info.name.as_str(),
            view.info.revision,
            metadata_text.as_deref(),
            settings_text.as_deref(),
        )
        .await
        .map_err(|e| revision_conflict(shared, cell, e))?;
    let mut next = (*view).clone();
    next.info = namespace_info(&row)?;
    let next = Arc::new(next);
    cell.store(next.clone());
    Ok(next)
}

pub async fn delete_namespace(shared: &Shared, cell: &ArcSwap<NamespaceView>) -> Result<()> {
    let view = cell.load_full();
    if view.info.name.is_builtins() {
        return Err(RegistryError::InvalidArgument(format!(
            "{} cannot be deleted",
            ids::BUILTINS
        )));
    }
    shared
        .store
        .delete_namespace(
            view.info.row_id,
            view.info.name.as_str(),
            view.info.revision,
        )
        .await
        .map_err(|e| revision_conflict(shared, cell, e))?;
    shared.remove_entry(&view.info.name);
    Ok(())
}

/// A revision conflict means another writer (another replica) changed the
/// namespace: reload it from the store so the next attempt starts fresh.
fn revision_conflict(
    shared: &Shared,
    cell: &ArcSwap<NamespaceView>,
    err: store::StoreError,
) -> RegistryError {
    if matches!(err, store::StoreError::Conflict(_)) {
        shared.request_reload(&cell.load().info.name);
    }
    err.into()
}

/// Rebuilds a namespace's view from the store (restore, or after a
/// revision conflict). Uses the stored compiled descriptors; no compiling.
pub async fn load_view(
    store: &Store,
    row: &NamespaceRow,
    builtins: &[RawFile],
) -> Result<NamespaceView> {
    let schema_rows: Vec<SchemaRow> = store.schemas_of(row.id).await?;
    let names = schema_names(&schema_rows)?;
    let wanted = pointed_versions(&schema_rows);
    let rows = store.versions_by_ids(&wanted).await?;
    let snapshots = load_snapshots(store, &names, rows).await?;
    view_from_rows(row, &schema_rows, &snapshots, builtins)
}

fn schema_names(schema_rows: &[SchemaRow]) -> Result<HashMap<i64, SchemaId>> {
    schema_rows
        .iter()
        .map(|s| Ok((s.id, SchemaId::parse(&s.name)?)))
        .collect()
}

/// The versions the schemas point at: current and staged.
fn pointed_versions(schema_rows: &[SchemaRow]) -> Vec<i64> {
    schema_rows
        .iter()
        .flat_map(|s| [s.current_version_id, s.staged_version_id])
        .flatten()
        .collect()
}

/// A namespace's view from its stored rows and its versions' snapshots.
fn view_from_rows(
    row: &NamespaceRow,
    schema_rows: &[SchemaRow],
    snapshots: &HashMap<i64, Arc<VersionSnapshot>>,
    builtins: &[RawFile],
) -> Result<NamespaceView> {
    let info = namespace_info(row)?;
    let mut schemas = BTreeMap::new();
    for s in schema_rows {
        let get = |id: Option<i64>| -> Result<Option<Arc<VersionSnapshot>>> {
            id.map(|id| {
                snapshots
                    .get(&id)
                    .cloned()
                    .ok_or_else(|| RegistryError::Internal(format!("version row {id} missing")))
            })
            .transpose()
        };
        schemas.insert(
            SchemaId::parse(&s.name)?,
            SchemaEntry {
                row_id: s.id,
                updated_at: to_utc(s.updated_at),
                current: get(s.current_version_id)?,
                staged: get(s.staged_version_id)?,
                staged_forced: s.staged_forced,
            },
        );
    }
    let current: Vec<(&SchemaId, &Arc<VersionSnapshot>)> = schemas
        .iter()
        .filter_map(|(id, e): (&SchemaId, &SchemaEntry)| e.current.as_ref().map(|v| (id, v)))
        .collect();
    // The stored current state linked when it was promoted: assemble it now
    // and link the pool on first use, so restore compiles and links nothing.
    let linked: LinkedImage = snapshot::assemble(current, builtins).map_err(|e| {
        RegistryError::Internal(format!(
            "stored current state of namespace {} does not link: {e}",
            info.name
        ))
    })?;
    Ok(NamespaceView {
        info,
        schemas,
        current: Arc::new(linked),
    })
}

/// What [`load_all_views`] restored.
#[derive(Debug)]
pub struct Restored {
    /// Every live namespace, `__builtins__` first.
    pub views: Vec<NamespaceView>,
    /// `(namespace row id, revision)` of each namespace whose stored
    /// restore checkpoint held all of its current state.
    pub checkpointed: Vec<(i64, i64)>,
    /// Current and staged versions restored, and how many of them came
    /// from checkpoints.
    pub versions: usize,
    pub from_checkpoints: usize,
    pub phases: RestorePhases,
}

/// Where [`load_all_views`] spent its time.
#[derive(Debug, Clone, Copy)]
pub struct RestorePhases {
    /// Namespaces, schemas (the pointers) and checkpoints, one connection.
    pub read_heads: Duration,
    /// Decoding the checkpoints (blocking threads).
    pub decode_checkpoints: Duration,
    /// Reading and decoding the versions no checkpoint held.
    pub read_versions: Duration,
    /// Building each namespace's view and current image.
    pub assemble: Duration,
}

/// Every live namespace's view, `__builtins__` first. The version pointers
/// come from the store (one connection); the versions come from the
/// namespaces' restore checkpoints where those hold them (see `checkpoint`),
/// else from a bulk read of their rows and descriptor blobs. Decoding and
/// assembling run on blocking threads, one per core. Nothing is compiled
/// or linked.
pub async fn load_all_views(store: &Store) -> Result<Restored> {
    let started = Instant::now();
    let heads = store.restore_heads().await?;
    let names = Arc::new(schema_names(&heads.schemas)?);
    // version id → schema row id, for every current and staged pointer.
    let pointers: Arc<HashMap<i64, i64>> = Arc::new(
        heads
            .schemas
            .iter()
            .flat_map(|s| {
                [s.current_version_id, s.staged_version_id]
                    .into_iter()
                    .flatten()
                    .map(move |v| (v, s.id))
            })
            .collect(),
    );
    let namespace_names: HashMap<i64, &str> = heads
        .namespaces
        .iter()
        .map(|n| (n.id, n.name.as_str()))
        .collect();
    let checkpoints: Vec<CheckpointRow> = heads
        .checkpoints
        .into_iter()
        .filter(|c| {
            let current = c.format == checkpoint::FORMAT;
            if !current {
                tracing::info!(namespace = namespace_names.get(&c.namespace_id).copied().unwrap_or_default(), format = c.format, "restore checkpoint of another format; reading the namespace's versions from the store");
            }
            current
        })
        .collect();
    let read_heads = started.elapsed();

    let (p, n) = (pointers.clone(), names.clone());
    let decoded = on_blocking_threads(checkpoints, move |c: CheckpointRow| {
        let snapshots = checkpoint::decode(bytes::Bytes::from(c.data), &p, &n);
        (c.namespace_id, c.revision, snapshots)
    })
    .await?;
    let mut snapshots: HashMap<i64, Arc<VersionSnapshot>> = HashMap::with_capacity(pointers.len());
    let mut checkpoint_revisions: HashMap<i64, i64> = HashMap::new();
    for (namespace_id, revision, result) in decoded {
        match result {
            Ok(list) => {
                snapshots.extend(list.into_iter().map(|v| (v.version_id, Arc::new(v))));
                checkpoint_revisions.insert(namespace_id, revision);
            }
            Err(err) => tracing::warn!(
                namespace = namespace_names.get(&namespace_id).copied().unwrap_or_default(),
                %err,
                "restore checkpoint unreadable; reading the namespace's versions from the store"
            ),
        }
    }
    let from_checkpoints = snapshots.len();
    let checkpoints_done = started.elapsed();

    let mut missing: Vec<i64> = pointers
        .keys()
        .filter(|id| !snapshots.contains_key(id))
        .copied()
        .collect();
    missing.sort_unstable();
    let rest = store.restore_versions(&missing).await?;
    snapshots.extend(decode_versions(rest, names.clone()).await?);
    let versions_done = started.elapsed();

    // Namespaces some of whose versions were not in their checkpoint.
    let schema_namespace: HashMap<i64, i64> = heads
        .schemas
        .iter()
        .map(|s| (s.id, s.namespace_id))
        .collect();
    let incomplete: std::collections::HashSet<i64> = missing
        .iter()
        .filter_map(|v| {
            pointers
                .get(v)
                .and_then(|s| schema_namespace.get(s))
                .copied()
        })
        .collect();
    let checkpointed = heads
        .namespaces
        .iter()
        .filter(|n| {
            checkpoint_revisions.get(&n.id) == Some(&n.revision) && !incomplete.contains(&n.id)
        })
        .map(|n| (n.id, n.revision))
        .collect();

    let mut schemas_by_namespace: HashMap<i64, Vec<SchemaRow>> = HashMap::new();
    for schema in heads.schemas {
        schemas_by_namespace
            .entry(schema.namespace_id)
            .or_default()
            .push(schema);
    }
    let (builtin_rows, other_rows): (Vec<_>, Vec<_>) = heads
        .namespaces
        .into_iter()
        .partition(|r| r.name == ids::BUILTINS);
    let snapshots = Arc::new(snapshots);
    let mut views = Vec::with_capacity(other_rows.len() + 1);
    let mut builtins: Vec<RawFile> = Vec::new();
    for row in builtin_rows {
        let schema_rows = schemas_by_namespace.remove(&row.id).unwrap_or_default();
        let view = view_from_rows(&row, &schema_rows, &snapshots, &[])?;
        builtins = view
            .current_files()
            .flat_map(|(_, v)| v.files.iter().cloned())
            .collect();
        views.push(view);
    }
    let builtins = Arc::new(builtins);
    let jobs: Vec<(NamespaceRow, Vec<SchemaRow>)> = other_rows
        .into_iter()
        .map(|row| {
            let schema_rows = schemas_by_namespace.remove(&row.id).unwrap_or_default();
            (row, schema_rows)
        })
        .collect();
    let total = snapshots.len();
    let assembled = on_blocking_threads(jobs, move |(row, schema_rows)| {
        view_from_rows(&row, &schema_rows, &snapshots, &builtins)
    })
    .await?;
    let mut others = assembled.into_iter().collect::<Result<Vec<_>>>()?;
    others.sort_by(|a, b| a.info.name.cmp(&b.info.name));
    views.extend(others);
    let phases = RestorePhases {
        read_heads,
        decode_checkpoints: checkpoints_done - read_heads,
        read_versions: versions_done - checkpoints_done,
        assemble: started.elapsed() - versions_done,
    };
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    tracing::info!(
        versions = total,
        from_checkpoints,
        read_heads_ms = ms(phases.read_heads),
        checkpoints_ms = ms(phases.decode_checkpoints),
        versions_ms = ms(phases.read_versions),
        assemble_ms = ms(phases.assemble),
        "restore read the store"
    );
    Ok(Restored {
        views,
        checkpointed,
        versions: total,
        from_checkpoints,
        phases,
    })
}

/// Snapshots of versions read from the store, decoded on blocking threads.
async fn decode_versions(
    rows: store::RestoreVersions,
    names: Arc<HashMap<i64, SchemaId>>,
) -> Result<Vec<(i64, Arc<VersionSnapshot>)>> {
    let blobs: Arc<HashMap<String, bytes::Bytes>> = Arc::new(
        rows.blobs
            .into_iter()
            .map(|(key, data)| (key, bytes::Bytes::from(data)))
            .collect(),
    );
    let mut files: HashMap<i64, BTreeMap<String, String>> = HashMap::new();
    for f in rows.files {
        files
            .entry(f.version_id)
            .or_default()
            .insert(f.path, f.source_sha256);
    }
    let jobs: Vec<(VersionRow, BTreeMap<String, String>)> = rows
        .versions
        .into_iter()
        .map(|v| {
            let own = files.remove(&v.id).unwrap_or_default();
            (v, own)
        })
        .collect();
    on_blocking_threads(jobs, move |(row, own)| {
        let snapshot = snapshot_of(row, &names, &blobs, own)?;
        Ok((snapshot.version_id, Arc::new(snapshot)))
    })
    .await?
    .into_iter()
    .collect()
}

/// Runs `f` on every item, spread over one blocking thread per core.
/// The results come in no particular order.
async fn on_blocking_threads<T, R>(
    items: Vec<T>,
    f: impl Fn(T) -> R + Send + Sync + 'static,
) -> Result<Vec<R>>
where
    T: Send + 'static,
    R: Send + 'static,
{
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(1, 8)
        .min(items.len().max(1));
    let mut groups: Vec<Vec<T>> = (0..threads).map(|_| Vec::new()).collect();
    for (i, item) in items.into_iter().enumerate() {
        groups[i % threads].push(item);
    }
    let f = Arc::new(f);
    let tasks: Vec<_> = groups
        .into_iter()
        .map(|group| {
            let f = f.clone();
            tokio::task::spawn_blocking(move || group.into_iter().map(|t| f(t)).collect::<Vec<R>>())
        })
        .collect();
    let mut out = Vec::new();
    for task in tasks {
        out.extend(
            task.await
                .map_err(|e| RegistryError::internal("restore task", e))?,
        );
    }
    Ok(out)
}

/// Builds snapshots of stored versions from their descriptor blobs.
pub async fn load_snapshots(
    store: &Store,
    schema_names: &HashMap<i64, SchemaId>,
    rows: Vec<VersionRow>,
) -> Result<HashMap<i64, Arc<VersionSnapshot>>> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let files = store.files_of_versions(&ids).await?;
    let keys: Vec<&str> = rows.iter().map(|r| r.descriptor_sha256.as_str()).collect();
    let blobs = store.blobs(&keys).await?.into_iter().collect();
    let loaded = store::RestoreVersions {
        versions: rows,
        files,
        blobs,
    };
    Ok(decode_versions(loaded, Arc::new(schema_names.clone()))
        .await?
        .into_iter()
        .collect())
}

fn snapshot_of(
    row: VersionRow,
    schema_names: &HashMap<i64, SchemaId>,
    blobs: &HashMap<String, bytes::Bytes>,
    source_hashes: BTreeMap<String, String>,
) -> Result<VersionSnapshot> {
    let descriptor_set = blobs.get(&row.descriptor_sha256).cloned().ok_or_else(|| {
        RegistryError::Internal(format!("descriptor blob {} missing", row.descriptor_sha256))
    })?;
    let own: Vec<RawFile> = descriptor::split_file_descriptor_set(descriptor_set.clone())?
        .into_iter()
        .filter(|f| source_hashes.contains_key(&f.name))
        .collect();
    let types = descriptor::collect_types(&own)?;
    let schema = schema_names
        .get(&row.schema_id)
        .cloned()
        .ok_or_else(|| RegistryError::Internal(format!("schema row {} unknown", row.schema_id)))?;
    Ok(VersionSnapshot {
        schema,
        version: row.version,
        version_id: row.id,
        fingerprint: row.fingerprint,
        created_by: row.created_by,
        created_at: to_utc(row.created_at),
        metadata: parse_json_object(&row.metadata),
        descriptor_set,
        descriptor_sha256: row.descriptor_sha256,
        files: own,
        source_hashes,
        types,
        pool: Default::default(),
    })
}
