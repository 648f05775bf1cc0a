//! Work spread over blocking threads, one per core (decoding versions and
//! checkpoints, assembling views). A leaf: it imports only `error`.

use std::sync::Arc;

use crate::error::{RegistryError, Result};

/// Runs `f` on every item, spread over one blocking thread per core.
/// The results come in no particular order.
pub(crate) async fn on_blocking_threads<T, R>(
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
