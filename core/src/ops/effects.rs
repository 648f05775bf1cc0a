//! What a mutation needs done after it returns, for the actor that ran it
//! to carry out: the mutations never call back up into the registry.

use crate::error::RegistryError;
use crate::store::StoreError;

/// What must happen next. The default is nothing.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub struct Effects {
    /// `__builtins__` changed: every other namespace rebuilds its current
    /// image against it.
    pub relink_dependents: bool,
    /// Another writer (another replica) changed the namespace: reload it
    /// from the store so the next attempt starts fresh.
    pub reload: bool,
    /// The mutation queued code generation jobs: wake the worker.
    pub wake_codegen: bool,
}

impl Effects {
    pub const NONE: Self = Self {
        relink_dependents: false,
        reload: false,
        wake_codegen: false,
    };
}

/// A mutation that did not happen, and what must happen anyway.
#[derive(Debug)]
pub struct Failed {
    pub error: RegistryError,
    pub effects: Effects,
}

impl From<RegistryError> for Failed {
    fn from(error: RegistryError) -> Self {
        Self {
            error,
            effects: Effects::NONE,
        }
    }
}

impl From<StoreError> for Failed {
    fn from(error: StoreError) -> Self {
        RegistryError::from(error).into()
    }
}

/// The result of a mutation: its outcome and effects, or its failure.
pub type Applied<T> = std::result::Result<(T, Effects), Failed>;

/// A revision conflict means another writer changed the namespace: the
/// failure asks for a reload.
pub(crate) fn revision_conflict(err: StoreError) -> Failed {
    let reload = matches!(err, StoreError::Conflict(_));
    Failed {
        error: err.into(),
        effects: Effects {
            reload,
            ..Effects::NONE
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_revision_conflict_asks_for_a_reload() {
        let failed = revision_conflict(StoreError::Conflict("revision moved".into()));
        assert!(failed.effects.reload);
        assert!(matches!(failed.error, RegistryError::Conflict(_)));
        let failed = revision_conflict(StoreError::Connection("down".into()));
        assert_eq!(failed.effects, Effects::NONE);
        assert!(matches!(failed.error, RegistryError::Unavailable(_)));
        let failed: Failed = RegistryError::InvalidArgument("bad".into()).into();
        assert_eq!(failed.effects, Effects::default());
    }
}
