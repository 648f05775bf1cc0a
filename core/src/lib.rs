#![doc = include_str!("../README.md")]

pub mod actor;
pub mod auth;
mod blocking;
pub mod bounds;
pub mod checkpoint;
pub mod codegen;
pub mod compat;
pub mod compile;
pub mod convert;
pub mod descriptor;
pub mod diff;
pub mod dynamic;
pub mod error;
pub mod events;
pub mod feed;
pub mod fingerprint;
pub mod git;
pub mod ids;
pub mod limits;
pub mod load;
pub mod ops;
pub mod plugin;
pub mod position;
pub mod registry;
pub mod restore;
pub mod settings;
pub mod snapshot;
pub mod state;
pub mod store;
pub mod sync;
#[cfg(test)]
pub(crate) mod test_support;
pub mod verify;
pub mod webhooks;

pub use compat::{BufRules, CompatCheck, CompatMode, CompatRequest, CompatSettings, NoCompatRules};
pub use error::{CompileError, RegistryError, Result, Violation};
pub use ids::{BUILTINS, NamespaceId, SchemaId};
pub use limits::Limits;
pub use ops::{PromoteOutcome, PromotedSchema, PublishOutcome, PublishRequest, RollbackOutcome};
pub use registry::{
    JobInfo, Registry, RegistryConfig, RestoreStats, TypeScope, VersionInfo, VersionRef,
    VersionState,
};
pub use settings::NamespaceSettings;
pub use snapshot::{NamespaceView, VersionSnapshot};
pub use store::{Store, StoreConfig};
