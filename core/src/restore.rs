//! Restore at start: every live namespace's view, from the version
//! pointers in the store and the namespaces' restore checkpoints (see
//! `checkpoint`), decoded and assembled on blocking threads.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::blocking::on_blocking_threads;
use crate::checkpoint;
use crate::descriptor::RawFile;
use crate::error::Result;
use crate::ids;
use crate::load::{decode_versions, schema_names, view_from_rows};
use crate::snapshot::{NamespaceView, VersionSnapshot};
use crate::store::{CheckpointRow, NamespaceRow, SchemaRow, Store};

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
        builtins = view.current_raw_files();
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
