//! Immutable, ready-to-serve views of a namespace. A view is built whole and
//! swapped in whole (`arc-swap`), so a reader always sees one consistent
//! namespace: every current version present, every import resolved.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use prost_reflect::DescriptorPool;
use serde_json::{Map, Value};

use crate::descriptor::{self, RawFile, TopLevelTypes};
use crate::error::{CompileError, RegistryError, Result};
use crate::ids::{NamespaceId, SchemaId};

/// One stored version of a schema, compiled and ready to serve.
#[derive(Debug)]
pub struct VersionSnapshot {
    pub schema: SchemaId,
    pub version: i32,
    /// `schema_versions.id`.
    pub version_id: i64,
    pub fingerprint: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub metadata: Map<String, Value>,
    /// The served `FileDescriptorSet`: own files plus every transitive
    /// import as resolved at publish time, dependencies first.
    pub descriptor_set: Bytes,
    /// SHA-256 of `descriptor_set`: its blob key and its ETag.
    pub descriptor_sha256: String,
    /// The schema's own files, dependencies first.
    pub files: Vec<RawFile>,
    /// `path → sha256` of each source file.
    pub source_hashes: BTreeMap<String, String>,
    pub types: TopLevelTypes,
    /// The version's own pool (own files and what they imported), built on
    /// first use.
    pub pool: OnceLock<DescriptorPool>,
}

impl VersionSnapshot {
    /// A pool of the version's served descriptor set.
    pub fn pool(&self) -> Result<&DescriptorPool> {
        if let Some(pool) = self.pool.get() {
            return Ok(pool);
        }
        let pool = build_pool(&self.descriptor_set)?;
        Ok(self.pool.get_or_init(|| pool))
    }

    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.source_hashes.keys().map(String::as_str)
    }
}

/// Namespace attributes kept with its view.
#[derive(Debug, Clone)]
pub struct NamespaceInfo {
    pub name: NamespaceId,
    pub row_id: i64,
    pub revision: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub metadata: Map<String, Value>,
    pub settings: Value,
}

/// A schema's pointers inside a view.
#[derive(Debug, Clone)]
pub struct SchemaEntry {
    pub row_id: i64,
    pub updated_at: DateTime<Utc>,
    pub current: Option<Arc<VersionSnapshot>>,
    pub staged: Option<Arc<VersionSnapshot>>,
    /// The staged version came from a forced rollback: its compatibility
    /// findings do not block the promote.
    pub staged_forced: bool,
}

impl SchemaEntry {
    /// The version a publish or promote builds on: staged, else current.
    pub fn proposed(&self) -> Option<&Arc<VersionSnapshot>> {
        self.staged.as_ref().or(self.current.as_ref())
    }
}

/// A set of files linked into one descriptor pool, with its encoded form.
#[derive(Debug, Clone)]
pub struct LinkedImage {
    /// Built by [`link`] (which is the link check), or on first use for an
    /// image restored from the store, whose state was linked when promoted.
    pool: OnceLock<DescriptorPool>,
    /// Every file of the image plus its imports, dependencies first.
    pub descriptor_set: Bytes,
    pub etag: String,
    /// `file path → owning schema` of the namespace's own files.
    pub owners: HashMap<String, SchemaId>,
}

/// The whole served state of one namespace.
#[derive(Debug, Clone)]
pub struct NamespaceView {
    pub info: NamespaceInfo,
    pub schemas: BTreeMap<SchemaId, SchemaEntry>,
    /// Current versions of every schema, linked with `__builtins__`.
    pub current: Arc<LinkedImage>,
}

impl NamespaceView {
    pub fn staged(&self) -> impl Iterator<Item = (&SchemaId, &SchemaEntry, &Arc<VersionSnapshot>)> {
        self.schemas
            .iter()
            .filter_map(|(id, e)| e.staged.as_ref().map(|s| (id, e, s)))
    }

    pub fn staged_count(&self) -> usize {
        self.staged().count()
    }

    /// Which schema owns `path` in the current or staged state, if any.
    pub fn owner_of(&self, path: &str) -> Option<&SchemaId> {
        self.schemas.iter().find_map(|(id, e)| {
            let owns = |v: &Option<Arc<VersionSnapshot>>| {
                v.as_ref()
                    .is_some_and(|v| v.source_hashes.contains_key(path))
            };
            (owns(&e.current) || owns(&e.staged)).then_some(id)
        })
    }

    /// Current files of every schema, by path.
    pub fn current_files(&self) -> impl Iterator<Item = (&SchemaId, &Arc<VersionSnapshot>)> {
        self.schemas
            .iter()
            .filter_map(|(id, e)| e.current.as_ref().map(|v| (id, v)))
    }

    /// The files of every current version: of `__builtins__`, what every
    /// other namespace may import.
    pub fn current_raw_files(&self) -> Vec<RawFile> {
        self.current_files()
            .flat_map(|(_, v)| v.files.iter().cloned())
            .collect()
    }
}

/// Orders the given versions' files (and the `builtins` and well-known
/// files they import) and encodes them, without building a pool. Files of
/// the versions take precedence over builtins, builtins over the well-known
/// types. An import that resolves nowhere is a `compile_failed` error.
pub fn assemble<'a>(
    versions: impl IntoIterator<Item = (&'a SchemaId, &'a Arc<VersionSnapshot>)>,
    builtins: &'a [RawFile],
) -> Result<LinkedImage> {
    let mut owners = HashMap::new();
    let mut own: Vec<&RawFile> = Vec::new();
    // file name → hash of the version it came with (its content is fixed by
    // that version's descriptor set).
    let mut hashes: HashMap<&str, &str> = HashMap::new();
    for (schema, version) in versions {
        for file in &version.files {
            owners.insert(file.name.clone(), schema.clone());
            hashes.insert(&file.name, &version.descriptor_sha256);
            own.push(file);
        }
    }
    own.sort_by(|a, b| a.name.cmp(&b.name));
    let ordered = descriptor::with_imports_in_layers(&own, &[builtins]).map_err(|message| {
        RegistryError::CompileFailed {
            message: format!("the namespace does not link: {message}"),
            errors: vec![CompileError {
                file: message.split(':').next().unwrap_or_default().to_owned(),
                line: 0,
                column: 0,
                message: message.clone(),
            }],
        }
    })?;
    // The encoded set is a pure function of the files it holds, in order;
    // hashing their names and byte hashes is cheaper than hashing the set.
    let etag = image_etag(&ordered, &hashes);
    let descriptor_set = descriptor::encode_file_descriptor_set(ordered);
    Ok(LinkedImage {
        pool: OnceLock::new(),
        etag,
        descriptor_set,
        owners,
    })
}

fn image_etag(files: &[&RawFile], version_hashes: &HashMap<&str, &str>) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for file in files {
        hasher.update((file.name.len() as u64).to_be_bytes());
        hasher.update(file.name.as_bytes());
        match version_hashes.get(file.name.as_str()) {
            // A namespace file: fixed by its version's descriptor set, plus
            // its position in that set's own files.
            Some(version) => hasher.update(version.as_bytes()),
            // An import (builtins or well-known): hash its bytes, they are few.
            None => hasher.update(Sha256::digest(&file.bytes)),
        }
    }
    hex::encode(hasher.finalize())
}

/// [`assemble`], then link every file into one pool: a reference to a type
/// that no longer exists is a `compile_failed` error.
pub fn link<'a>(
    versions: impl IntoIterator<Item = (&'a SchemaId, &'a Arc<VersionSnapshot>)>,
    builtins: &'a [RawFile],
) -> Result<LinkedImage> {
    let image = assemble(versions, builtins)?;
    let pool = build_pool(&image.descriptor_set)?;
    let _ = image.pool.set(pool);
    Ok(image)
}

fn build_pool(descriptor_set: &Bytes) -> Result<DescriptorPool> {
    let mut pool = DescriptorPool::new();
    pool.decode_file_descriptor_set(descriptor_set.clone())
        .map_err(|err| RegistryError::CompileFailed {
            message: format!("the namespace does not link: {err}"),
            errors: vec![CompileError {
                file: err.file().unwrap_or_default().to_owned(),
                line: err.line().map_or(0, |l| l as u32 + 1),
                column: err.column().map_or(0, |c| c as u32 + 1),
                message: err.to_string(),
            }],
        })?;
    Ok(pool)
}

impl LinkedImage {
    /// The linked pool of the image's files.
    pub fn pool(&self) -> Result<&DescriptorPool> {
        if let Some(pool) = self.pool.get() {
            return Ok(pool);
        }
        let pool = build_pool(&self.descriptor_set)?;
        Ok(self.pool.get_or_init(|| pool))
    }
}
