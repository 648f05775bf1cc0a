//! Restore checkpoints: a cache that lets a restart read one row per
//! namespace instead of one descriptor set per version.
//!
//! A checkpoint holds, encoded once, every version snapshot a namespace's
//! view held at some revision (its current and staged versions, with their
//! served descriptor sets, own files, sources and top-level types). It is a
//! cache, never the truth:
//!
//! - versions are immutable, so an entry stays right for as long as a
//!   schema points at its version; restore takes from a checkpoint only the
//!   versions that the `schemas` rows point at (matching schema and
//!   version), and reads every other one from the store the usual way;
//! - a checkpoint that is missing, of another format or undecodable is
//!   skipped with a warning: restore then reads that namespace's versions
//!   from the store, as it would without checkpoints;
//! - it is written in the background after a namespace changed (once its
//!   revision has been still for one interval, or after a while when it
//!   keeps changing), at shutdown, and after a restore that had to read
//!   versions from the store; never inside a mutation's transaction, so it
//!   adds nothing to publish or promote latency. A checkpoint of an older
//!   revision never replaces a newer one ([`Store::put_checkpoint`]).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::DateTime;
use prost::Message;

use crate::descriptor::{self, RawFile, TopLevelTypes};
use crate::error::{RegistryError, Result};
use crate::ids::SchemaId;
use crate::snapshot::{NamespaceView, VersionSnapshot};
use crate::store::Store;

/// The encoding written now; a stored checkpoint of another format is
/// ignored (and rewritten).
pub const FORMAT: i32 = 1;

#[derive(Clone, PartialEq, prost::Message)]
struct Checkpoint {
    #[prost(message, repeated, tag = "1")]
    versions: Vec<CheckpointVersion>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct CheckpointVersion {
    /// `schema_versions.id`.
    #[prost(int64, tag = "1")]
    id: i64,
    /// `schemas.id` of the version's schema.
    #[prost(int64, tag = "2")]
    schema_id: i64,
    #[prost(int32, tag = "3")]
    version: i32,
    #[prost(string, tag = "4")]
    fingerprint: String,
    #[prost(string, tag = "5")]
    created_by: String,
    #[prost(int64, tag = "6")]
    created_at_seconds: i64,
    #[prost(uint32, tag = "7")]
    created_at_nanos: u32,
    /// The version's metadata as a JSON object.
    #[prost(string, tag = "8")]
    metadata: String,
    /// The served `FileDescriptorSet`, byte for byte.
    #[prost(bytes = "bytes", tag = "9")]
    descriptor_set: Bytes,
    #[prost(string, tag = "10")]
    descriptor_sha256: String,
    #[prost(message, repeated, tag = "11")]
    sources: Vec<Source>,
    /// The schema's own files, in order, as positions in `descriptor_set`.
    #[prost(message, repeated, tag = "12")]
    own_files: Vec<OwnFile>,
    #[prost(string, repeated, tag = "13")]
    messages: Vec<String>,
    #[prost(string, repeated, tag = "14")]
    enums: Vec<String>,
    #[prost(string, repeated, tag = "15")]
    services: Vec<String>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct Source {
    #[prost(string, tag = "1")]
    path: String,
    #[prost(string, tag = "2")]
    sha256: String,
}

#[derive(Clone, PartialEq, prost::Message)]
struct OwnFile {
    /// Position of the file in the served descriptor set.
    #[prost(uint32, tag = "1")]
    index: u32,
    #[prost(string, tag = "2")]
    name: String,
    #[prost(string, repeated, tag = "3")]
    dependencies: Vec<String>,
}

/// Encodes the version snapshots of a view (each once, even when a schema's
/// staged version is its current one).
pub fn encode(view: &NamespaceView) -> Result<Vec<u8>> {
    let mut versions = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for entry in view.schemas.values() {
        for snapshot in [&entry.current, &entry.staged].into_iter().flatten() {
            if seen.insert(snapshot.version_id) {
                versions.push(encode_version(entry.row_id, snapshot)?);
            }
        }
    }
    Ok(Checkpoint { versions }.encode_to_vec())
}

fn encode_version(schema_id: i64, v: &VersionSnapshot) -> Result<CheckpointVersion> {
    let served = descriptor::split_file_descriptor_set(v.descriptor_set.clone())?;
    let own_files = v
        .files
        .iter()
        .map(|file| {
            let index = served
                .iter()
                .position(|f| f.name == file.name)
                .ok_or_else(|| {
                    RegistryError::Internal(format!(
                        "version {} of {}: own file {} is not in its descriptor set",
                        v.version, v.schema, file.name
                    ))
                })?;
            Ok(OwnFile {
                index: index as u32,
                name: file.name.clone(),
                dependencies: file.dependencies.clone(),
            })
        })
        .collect::<Result<_>>()?;
    Ok(CheckpointVersion {
        id: v.version_id,
        schema_id,
        version: v.version,
        fingerprint: v.fingerprint.clone(),
        created_by: v.created_by.clone(),
        created_at_seconds: v.created_at.timestamp(),
        created_at_nanos: v.created_at.timestamp_subsec_nanos(),
        metadata: serde_json::Value::Object(v.metadata.clone()).to_string(),
        descriptor_set: v.descriptor_set.clone(),
        descriptor_sha256: v.descriptor_sha256.clone(),
        sources: v
            .source_hashes
            .iter()
            .map(|(path, sha256)| Source {
                path: path.clone(),
                sha256: sha256.clone(),
            })
            .collect(),
        own_files,
        messages: v.types.messages.clone(),
        enums: v.types.enums.clone(),
        services: v.types.services.clone(),
    })
}

/// The snapshots of a checkpoint that the schemas still point at:
/// `pointers` maps each pointed-at version id to its schema's row id, and
/// `names` schema row ids to names. Entries nothing points at are skipped.
pub fn decode(
    data: Bytes,
    pointers: &HashMap<i64, i64>,
    names: &HashMap<i64, SchemaId>,
) -> Result<Vec<VersionSnapshot>> {
    let checkpoint = Checkpoint::decode(data)
        .map_err(|e| RegistryError::internal("decoding a restore checkpoint", e))?;
    let mut out = Vec::with_capacity(checkpoint.versions.len());
    for v in checkpoint.versions {
        if pointers.get(&v.id) != Some(&v.schema_id) {
            continue;
        }
        let Some(schema) = names.get(&v.schema_id) else {
            continue;
        };
        out.push(decode_version(v, schema.clone())?);
    }
    Ok(out)
}

fn decode_version(v: CheckpointVersion, schema: SchemaId) -> Result<VersionSnapshot> {
    let corrupt = |what: &str| {
        RegistryError::Internal(format!(
            "restore checkpoint entry for version {} of {schema}: {what}",
            v.version
        ))
    };
    let served = descriptor::split_encoded_files(v.descriptor_set.clone())?;
    let files = v
        .own_files
        .into_iter()
        .map(|f| {
            let bytes = served
                .get(f.index as usize)
                .cloned()
                .ok_or_else(|| corrupt("an own file's position is out of range"))?;
            Ok(RawFile {
                name: f.name,
                dependencies: f.dependencies,
                bytes,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let created_at = DateTime::from_timestamp(v.created_at_seconds, v.created_at_nanos)
        .ok_or_else(|| corrupt("the creation time is out of range"))?;
    let source_hashes: BTreeMap<String, String> =
        v.sources.into_iter().map(|s| (s.path, s.sha256)).collect();
    Ok(VersionSnapshot {
        schema,
        version: v.version,
        version_id: v.id,
        fingerprint: v.fingerprint,
        created_by: v.created_by,
        created_at,
        metadata: crate::convert::parse_json_object(&v.metadata),
        descriptor_set: v.descriptor_set,
        descriptor_sha256: v.descriptor_sha256,
        files,
        source_hashes,
        types: TopLevelTypes {
            messages: v.messages,
            enums: v.enums,
            services: v.services,
        },
        pool: Default::default(),
    })
}

/// Which revision of each namespace (by row id) has its checkpoint stored,
/// as far as this process knows.
#[derive(Debug)]
pub(crate) struct Checkpoints {
    /// Background rewrites; `None`: only [`Checkpoints::write_behind`] writes.
    interval: Option<Duration>,
    written: Mutex<HashMap<i64, i64>>,
}

impl Checkpoints {
    pub(crate) fn new(interval: Option<Duration>) -> Self {
        Self {
            interval,
            written: Mutex::new(HashMap::new()),
        }
    }

    /// Records that the stored checkpoint of a namespace is of `revision`.
    pub(crate) fn mark_written(&self, namespace_row_id: i64, revision: i64) {
        self.written
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(namespace_row_id, revision);
    }

    fn is_written(&self, view: &NamespaceView) -> bool {
        self.written
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&view.info.row_id)
            == Some(&view.info.revision)
    }

    /// Writes the checkpoint of every namespace whose stored one is behind
    /// its view. Returns how many were written.
    pub(crate) async fn write_behind(
        &self,
        store: &Store,
        views: Vec<Arc<NamespaceView>>,
    ) -> Result<usize> {
        let mut written = 0;
        for view in views {
            if !self.is_written(&view) && self.write(store, view).await? {
                written += 1;
            }
        }
        Ok(written)
    }

    async fn write(&self, store: &Store, view: Arc<NamespaceView>) -> Result<bool> {
        let (row_id, revision) = (view.info.row_id, view.info.revision);
        let data = tokio::task::spawn_blocking(move || encode(&view))
            .await
            .map_err(|e| RegistryError::internal("encoding a restore checkpoint", e))??;
        let stored = store
            .put_checkpoint(row_id, revision, FORMAT, &data)
            .await?;
        self.mark_written(row_id, revision);
        Ok(stored)
    }
}

/// What the background writer reads: the registry's shared state, which
/// implements this (this module does not know it).
pub(crate) trait CheckpointSource: Send + Sync + 'static {
    fn checkpoints(&self) -> &Checkpoints;
    fn store(&self) -> &Store;
    /// Every live namespace's view.
    fn views(&self) -> Vec<Arc<NamespaceView>>;
}

/// Starts the background writer: every interval it writes the checkpoint
/// of each namespace whose revision is new and has not moved since the
/// previous tick, or has kept moving for `MAX_DEFERRALS` ticks. Stops when
/// the registry is dropped.
pub(crate) fn start<S: CheckpointSource>(shared: &Arc<S>) {
    let Some(interval) = shared.checkpoints().interval else {
        return;
    };
    const MAX_DEFERRALS: u32 = 15;
    let weak: Weak<S> = Arc::downgrade(shared);
    actix::spawn(async move {
        // namespace row id → (revision seen at the previous tick, ticks it
        // has waited for its checkpoint).
        let mut pending: HashMap<i64, (i64, u32)> = HashMap::new();
        loop {
            tokio::time::sleep(interval).await;
            let Some(shared) = weak.upgrade() else {
                return;
            };
            // One replica writes checkpoints at a time.
            match shared.store().hold_lease("checkpoints").await {
                Ok(true) => {}
                Ok(false) => continue,
                Err(err) => {
                    tracing::debug!(%err, "checkpoints: cannot take the lease; retrying later");
                    continue;
                }
            }
            let started = Instant::now();
            let mut due = Vec::new();
            let mut still_pending = HashMap::new();
            for view in shared.views() {
                if shared.checkpoints().is_written(&view) {
                    continue;
                }
                let (seen, waited) = pending.get(&view.info.row_id).copied().unwrap_or((-1, 0));
                if seen == view.info.revision || waited >= MAX_DEFERRALS {
                    due.push(view);
                } else {
                    still_pending.insert(view.info.row_id, (view.info.revision, waited + 1));
                }
            }
            pending = still_pending;
            let count = due.len();
            for view in due {
                let name = view.info.name.clone();
                if let Err(err) = shared.checkpoints().write(shared.store(), view).await {
                    tracing::warn!(namespace = %name, %err, "writing a restore checkpoint failed; restore reads this namespace's versions from the store until a later one succeeds");
                }
            }
            if count > 0 {
                tracing::debug!(
                    namespaces = count,
                    ms = started.elapsed().as_secs_f64() * 1e3,
                    "restore checkpoints written"
                );
            }
        }
    });
}
