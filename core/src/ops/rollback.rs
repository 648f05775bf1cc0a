//! Rollback (stage an earlier version again) and discard (drop what is
//! staged).

use std::collections::HashMap;
use std::sync::Arc;

use arc_swap::ArcSwap;

use super::check::{compat_violations, proposed_versions};
use super::effects::{Applied, Effects, revision_conflict};
use super::publish::check_ownership;
use crate::convert::to_utc;
use crate::error::RegistryError;
use crate::ids::SchemaId;
use crate::load::load_snapshots;
use crate::snapshot::NamespaceView;
use crate::state::Shared;
use crate::store::NamespaceAt;

#[derive(Debug, Clone)]
pub struct RollbackOutcome {
    pub version: i32,
    pub revision: i64,
}

pub async fn discard(shared: &Shared, cell: &ArcSwap<NamespaceView>) -> Applied<Vec<SchemaId>> {
    let view = cell.load_full();
    let staged: Vec<(i64, String)> = view
        .staged()
        .map(|(id, e, _)| (e.row_id, id.to_string()))
        .collect();
    if staged.is_empty() {
        return Ok((Vec::new(), Effects::NONE));
    }
    let (revision, at) = shared
        .store
        .discard(
            NamespaceAt::new(
                view.info.row_id,
                view.info.name.as_str(),
                view.info.revision,
            ),
            &staged,
        )
        .await
        .map_err(revision_conflict)?;
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
    Ok((discarded, Effects::NONE))
}

pub async fn rollback(
    shared: &Shared,
    cell: &ArcSwap<NamespaceView>,
    schema: SchemaId,
    version: i32,
    force: bool,
) -> Applied<RollbackOutcome> {
    let view = cell.load_full();
    let entry = view.schemas.get(&schema).ok_or_else(|| {
        RegistryError::NotFound(format!(
            "schema {schema} not found in namespace {}",
            view.info.name
        ))
    })?;
    if entry.staged.as_ref().is_some_and(|s| s.version == version) {
        return Ok((
            RollbackOutcome {
                version,
                revision: view.info.revision,
            },
            Effects::NONE,
        ));
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
    let builtins = shared.builtin_files(&view.info.name);
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
            }
            .into());
        }
    }
    let (revision, at) = shared
        .store
        .stage_existing(
            NamespaceAt::new(
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
        .map_err(revision_conflict)?;
    let mut next = (*view).clone();
    next.info.revision = revision;
    next.info.updated_at = to_utc(at);
    if let Some(e) = next.schemas.get_mut(&schema) {
        e.staged = Some(snapshot);
        e.staged_forced = force;
        e.updated_at = to_utc(at);
    }
    cell.store(Arc::new(next));
    Ok((RollbackOutcome { version, revision }, Effects::NONE))
}
