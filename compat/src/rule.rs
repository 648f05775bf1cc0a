//! What a rule is: the [`Rule`] trait, what it sees ([`CheckContext`]),
//! and the built-in rules' shape ([`FnRule`]). Both the registry and the
//! rules import this; it imports neither.

use std::collections::BTreeMap;

use crate::error::CompatError;
use crate::image::Image;
use crate::model::Schema;
use crate::violation::Finding;

/// What a rule sees: both images, indexed.
#[derive(Debug, Clone, Copy)]
pub struct CheckContext<'a> {
    /// The image checked against (the old schema).
    pub previous: &'a Schema,
    /// The image being checked (the new schema).
    pub current: &'a Schema,
    /// The images the schemas were built from (rules run out of process,
    /// such as plugins, send them on).
    pub previous_image: &'a Image,
    pub current_image: &'a Image,
    /// Options for rules loaded from plugins (`plugin_options` of the policy).
    pub options: &'a BTreeMap<String, serde_json::Value>,
}

/// One breaking-change rule. Object-safe, so rules loaded at run time
/// (plugins) register beside the built-in ones as `Box<dyn Rule>`.
pub trait Rule: Send + Sync {
    /// The rule ID, e.g. `FIELD_SAME_TYPE`.
    fn id(&self) -> &str;
    /// One sentence on what the rule checks.
    fn purpose(&self) -> &str;
    /// Compares the images and appends what breaks. `Err` only when the
    /// images cannot be evaluated.
    fn check(&self, ctx: &CheckContext<'_>, findings: &mut Vec<Finding>)
    -> Result<(), CompatError>;
}

/// A built-in rule: an ID, a purpose and one function.
pub(crate) struct FnRule {
    pub id: &'static str,
    pub purpose: &'static str,
    pub check: fn(&CheckContext<'_>, &mut Vec<Finding>) -> Result<(), CompatError>,
}

impl Rule for FnRule {
    fn id(&self) -> &str {
        self.id
    }
    fn purpose(&self) -> &str {
        self.purpose
    }
    fn check(
        &self,
        ctx: &CheckContext<'_>,
        findings: &mut Vec<Finding>,
    ) -> Result<(), CompatError> {
        (self.check)(ctx, findings)
    }
}
