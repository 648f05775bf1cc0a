//! Loading namespace views and version snapshots from the store: one
//! namespace (`load_view`, on reload and create), a few versions
//! (`load_snapshots`: rollback, history, code generation, old versions),
//! and the pieces restore shares (`view_from_rows`, `decode_versions`).
//! Uses the stored compiled descriptors; compiles nothing.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::blocking::on_blocking_threads;
use crate::convert::{parse_json_object, to_utc};
use crate::descriptor::{self, RawFile};
use crate::error::{RegistryError, Result};
use crate::ids::{NamespaceId, SchemaId};
use crate::snapshot::{
    self, LinkedImage, NamespaceInfo, NamespaceView, SchemaEntry, VersionSnapshot,
};
use crate::store::{self, NamespaceRow, SchemaRow, Store, VersionRow};

/// A namespace's info from its stored row.
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

pub(crate) fn schema_names(schema_rows: &[SchemaRow]) -> Result<HashMap<i64, SchemaId>> {
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
pub(crate) fn view_from_rows(
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

/// Snapshots of versions read from the store, decoded on blocking threads.
pub(crate) async fn decode_versions(
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
