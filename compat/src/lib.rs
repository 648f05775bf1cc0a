#![doc = include_str!("../README.md")]

pub mod descriptor;
mod error;
pub mod features;
mod image;
pub mod model;
pub mod pairs;
mod policy;
mod registry;
mod rules;
mod violation;

pub use error::CompatError;
pub use image::{Image, ImageFile};
pub use policy::{is_unstable_package, Policy, ResolvedPolicy};
pub use registry::{CheckContext, Rule, RuleInfo, RuleRegistry, CATEGORIES};
pub use violation::{Finding, Location, Span, Violation};

/// Checks `current` against `previous` with the built-in rules under
/// `policy`, and returns the violations in buf's order.
pub fn check(previous: &Image, current: &Image, policy: &Policy) -> Result<Vec<Violation>, CompatError> {
    RuleRegistry::builtin().check(previous, current, policy)
}
