//! The compatibility hook run at promote and rollback.
//!
//! The rule engine plugs in here through [`CompatCheck`]. Findings are data
//! (`Ok(violations)`); `Err` means the check itself could not run, and the
//! promote fails rather than passing unchecked.

use std::sync::Arc;

use serde_json::Value;

use crate::error::{Result, Violation};
use crate::ids::{NamespaceId, SchemaId};
use crate::snapshot::VersionSnapshot;

/// What a compatibility check compares: the namespace as it is and as it
/// would be after the promote, schema by schema.
#[derive(Debug)]
pub struct CompatRequest<'a> {
    pub namespace: &'a NamespaceId,
    /// The namespace's `settings` document (its `compat` policy).
    pub settings: &'a Value,
    pub current: Vec<(&'a SchemaId, &'a Arc<VersionSnapshot>)>,
    pub proposed: Vec<(&'a SchemaId, &'a Arc<VersionSnapshot>)>,
}

pub trait CompatCheck: Send + Sync + 'static {
    /// A short name for logs and for the promote response.
    fn name(&self) -> &str;
    fn check(&self, request: &CompatRequest<'_>) -> Result<Vec<Violation>>;
}

/// Checks nothing and says so: the promote response reports
/// `compat_checker: "none"`, and the server logs a warning at start, so that
/// no promote passes as "checked" when no rule ran.
#[derive(Debug, Default)]
pub struct NoCompatRules;

impl CompatCheck for NoCompatRules {
    fn name(&self) -> &str {
        "none"
    }

    fn check(&self, _request: &CompatRequest<'_>) -> Result<Vec<Violation>> {
        Ok(Vec::new())
    }
}
