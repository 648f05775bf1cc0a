#![doc = include_str!("../README.md")]

pub mod descriptor;
mod error;
pub mod features;
mod image;
pub mod model;
pub mod pairs;
mod policy;
mod registry;
mod rule;
mod rules;
mod violation;

pub use error::CompatError;
pub use image::{Image, ImageFile};
pub use policy::{Policy, ResolvedPolicy, is_unstable_package};
pub use registry::{CATEGORIES, RuleInfo, RuleRegistry};
pub use rule::{CheckContext, Rule};
pub use violation::{Finding, Location, Span, Violation};

/// Checks `current` against `previous` with the built-in rules under
/// `policy`, and returns the violations in buf's order.
pub fn check(
    previous: &Image,
    current: &Image,
    policy: &Policy,
) -> Result<Vec<Violation>, CompatError> {
    RuleRegistry::builtin().check(previous, current, policy)
}
