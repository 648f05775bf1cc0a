//! Publish: compile a schema's sources in the namespace and stage them.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use serde_json::{Map, Value};

use super::effects::{Applied, Effects, revision_conflict};
use crate::compile::{self, ImportScope};
use crate::convert::to_utc;
use crate::descriptor::RawFile;
use crate::error::{RegistryError, Result};
use crate::fingerprint::{fingerprint, sha256_hex};
use crate::ids::{self, SchemaId};
use crate::snapshot::{NamespaceView, SchemaEntry, VersionSnapshot};
use crate::state::Shared;
use crate::store::{BlobRef, NamespaceAt, PublishRecord};

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

/// Refuses a path another schema owns, or one that shadows a well-known
/// type or a `__builtins__` file without `force`.
pub(super) fn check_ownership(
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
) -> Applied<PublishOutcome> {
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
        return Ok((
            PublishOutcome {
                version: existing.clone(),
                no_change: true,
                compile_time: Duration::ZERO,
            },
            Effects::NONE,
        ));
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
        namespace: NamespaceAt::new(
            view.info.row_id,
            view.info.name.as_str(),
            view.info.revision,
        ),
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
        .map_err(revision_conflict)?;

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
    Ok((
        PublishOutcome {
            version: snapshot,
            no_change: false,
            compile_time,
        },
        Effects::NONE,
    ))
}

/// Compiles a schema's sources against the namespace's proposed state
/// (other schemas' staged-else-current files, current `__builtins__`, the
/// well-known types) after the path-ownership checks. Changes nothing.
pub(super) async fn compile_in_namespace(
    shared: &Shared,
    view: &NamespaceView,
    schema: &SchemaId,
    sources: Arc<BTreeMap<String, String>>,
    force: bool,
) -> Result<(compile::CompiledSchema, Duration)> {
    let builtins = shared.builtin_files(&view.info.name);
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
