//! Check: would these sources publish, and would promoting them be
//! compatible? Also the compatibility run promote and rollback share.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::Utc;
use serde_json::Map;

use super::publish::{compile_in_namespace, validate_sources};
use crate::compat::CompatRequest;
use crate::error::{RegistryError, Result, Violation};
use crate::fingerprint::{fingerprint, sha256_hex};
use crate::ids::SchemaId;
use crate::load::load_snapshots;
use crate::snapshot::{self, NamespaceView, VersionSnapshot};
use crate::state::Shared;
use crate::store::VersionRow;

/// The result of a dry-run publish: compile errors and compatibility
/// findings are data here.
#[derive(Debug, Clone, serde::Serialize)]
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
    let builtins = shared.builtin_files(&view.info.name);
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
pub(super) async fn compat_violations(
    shared: &Shared,
    view: &NamespaceView,
    proposed: &BTreeMap<SchemaId, Arc<VersionSnapshot>>,
) -> Result<Vec<Violation>> {
    let builtins = shared.builtin_files(&view.info.name);
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

pub(super) fn proposed_versions(view: &NamespaceView) -> BTreeMap<SchemaId, Arc<VersionSnapshot>> {
    view.schemas
        .iter()
        .filter_map(|(id, e)| e.proposed().map(|v| (id.clone(), v.clone())))
        .collect()
}
