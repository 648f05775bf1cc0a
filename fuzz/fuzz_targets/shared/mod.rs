//! What every compile target checks of an outcome.

use std::collections::BTreeMap;
use std::sync::Arc;

use prost_reflect::DescriptorPool;
use protoreg_core::compile::{ImportScope, compile_schema};
use protoreg_core::ops::validate_sources;
use protoreg_core::{Limits, RegistryError};

/// Checks `sources` as the edge does, compiles them against `scope`, and
/// requires a well-formed result or a `compile_failed` / `invalid_argument`
/// error: never a panic, a stack overflow or an internal error (a 500 in
/// the API); what compiles links into a descriptor pool.
pub fn compile_and_check(sources: BTreeMap<String, String>, scope: Arc<ImportScope>) {
    if validate_sources(&sources, &Limits::default()).is_err() {
        return;
    }
    match compile_schema(Arc::new(sources.clone()), scope) {
        Ok(compiled) => {
            assert_eq!(compiled.files.len(), sources.len(), "every own file is compiled");
            DescriptorPool::decode(compiled.descriptor_set.clone())
                .expect("a compiled schema links into a pool");
        }
        Err(RegistryError::CompileFailed { errors, .. }) => {
            assert!(!errors.is_empty(), "compile_failed carries its errors");
        }
        Err(RegistryError::InvalidArgument(_)) => {}
        Err(other) => panic!("compiling gave a non-input error: {other:?}"),
    }
}
