//! Promote: every staged version becomes current, as one linked image, or
//! nothing does.

use std::collections::BTreeMap;
use std::sync::Arc;

use arc_swap::ArcSwap;

use super::check::{compat_violations, proposed_versions};
use super::effects::{Applied, Effects, revision_conflict};
use crate::convert::to_utc;
use crate::descriptor::RawFile;
use crate::error::{RegistryError, Result, Violation};
use crate::ids::SchemaId;
use crate::snapshot::{self, NamespaceView, SchemaEntry, VersionSnapshot};
use crate::state::Shared;
use crate::store::{NamespaceAt, PromoteMove};

#[derive(Debug, Clone, serde::Serialize)]
pub struct PromotedSchema {
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

pub async fn promote(
    shared: &Shared,
    cell: &ArcSwap<NamespaceView>,
    dry_run: bool,
) -> Applied<PromoteOutcome> {
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
    // Nothing changes: nothing staged, or a dry run that passed.
    let unchanged = |promoted, compat_checker| {
        Ok((
            PromoteOutcome {
                promoted,
                revision: view.info.revision,
                dry_run,
                compat_checker,
                jobs: Vec::new(),
            },
            Effects::NONE,
        ))
    };
    if moves.is_empty() {
        return unchanged(promoted, compat_checker);
    }

    let proposed = proposed_versions(&view);
    let builtins = shared.builtin_files(&view.info.name);
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
        }
        .into());
    }
    if dry_run {
        return unchanged(promoted, compat_checker);
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
            NamespaceAt::new(
                view.info.row_id,
                view.info.name.as_str(),
                view.info.revision,
            ),
            &store_moves,
            &targets,
        )
        .await
        .map_err(revision_conflict)?;
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
    let effects = Effects {
        relink_dependents: view.info.name.is_builtins(),
        wake_codegen: !commit.job_ids.is_empty(),
        ..Effects::NONE
    };
    Ok((
        PromoteOutcome {
            promoted,
            revision,
            dry_run,
            compat_checker,
            jobs: commit.job_ids,
        },
        effects,
    ))
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
    let builtins = shared.builtin_files(&view.info.name);
    let linked = snapshot::link(view.current_files(), &builtins)?;
    let mut next = (*view).clone();
    next.current = Arc::new(linked);
    cell.store(Arc::new(next));
    Ok(())
}
