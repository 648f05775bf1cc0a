//! A namespace's own changes: its metadata and settings, its deletion,
//! and reloading it after another writer changed it.

use std::sync::Arc;

use arc_swap::ArcSwap;
use serde_json::{Map, Value};

use super::effects::{Applied, Effects, revision_conflict};
use crate::error::{RegistryError, Result};
use crate::ids;
use crate::load::{load_view, namespace_info};
use crate::snapshot::NamespaceView;
use crate::state::Shared;
use crate::store::NamespaceAt;

/// The whole check of a namespace's settings: the compatibility policy
/// (the checker's) and the code generation targets (with the plugin host).
pub fn validate_settings(shared: &Shared, settings: &Value) -> Result<()> {
    shared.compat.validate_settings(settings)?;
    crate::codegen::validate_settings(settings, &shared.plugins)
}

pub async fn update_namespace(
    shared: &Shared,
    cell: &ArcSwap<NamespaceView>,
    metadata: Option<Map<String, Value>>,
    settings: Option<Value>,
) -> Applied<Arc<NamespaceView>> {
    let view = cell.load_full();
    if let Some(settings) = &settings {
        validate_settings(shared, settings)?;
    }
    let metadata_text = metadata
        .as_ref()
        .map(|m| Value::Object(m.clone()).to_string());
    let settings_text = settings.as_ref().map(Value::to_string);
    let row = shared
        .store
        .update_namespace(
            NamespaceAt::new(
                view.info.row_id,
                view.info.name.as_str(),
                view.info.revision,
            ),
            metadata_text.as_deref(),
            settings_text.as_deref(),
        )
        .await
        .map_err(revision_conflict)?;
    let mut next = (*view).clone();
    next.info = namespace_info(&row)?;
    let next = Arc::new(next);
    cell.store(next.clone());
    Ok((next, Effects::NONE))
}

pub async fn delete_namespace(shared: &Shared, cell: &ArcSwap<NamespaceView>) -> Applied<()> {
    let view = cell.load_full();
    if view.info.name.is_builtins() {
        return Err(
            RegistryError::InvalidArgument(format!("{} cannot be deleted", ids::BUILTINS)).into(),
        );
    }
    shared
        .store
        .delete_namespace(NamespaceAt::new(
            view.info.row_id,
            view.info.name.as_str(),
            view.info.revision,
        ))
        .await
        .map_err(revision_conflict)?;
    shared.remove_entry(&view.info.name);
    Ok(((), Effects::NONE))
}

/// Reloads the namespace's view from the store (another writer changed
/// it), or forgets the namespace if it is gone.
pub async fn reload(shared: &Shared, cell: &ArcSwap<NamespaceView>) -> Result<()> {
    let name = cell.load().info.name.clone();
    let Some(row) = shared.store.live_namespace(name.as_str()).await? else {
        shared.remove_entry(&name);
        return Ok(());
    };
    let builtins = shared.builtin_files(&name);
    let view = load_view(&shared.store, &row, &builtins).await?;
    cell.store(Arc::new(view));
    Ok(())
}
