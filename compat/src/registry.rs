//! The registry that runs rules under a [`Policy`]. The rules register
//! themselves into it (`rules`): it does not know them.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::CompatError;
use crate::image::Image;
use crate::model::Schema;
use crate::policy::{Policy, ResolvedPolicy};
use crate::rule::{CheckContext, Rule};
use crate::violation::{Finding, Violation};

/// The categories, strictest first.
pub const CATEGORIES: [&str; 4] = ["FILE", "PACKAGE", "WIRE_JSON", "WIRE"];

/// What the registry knows of a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleInfo {
    pub id: String,
    pub purpose: String,
    pub categories: Vec<String>,
    /// Runs when a policy names no rule (it is in `FILE`).
    pub default: bool,
}

struct Registered {
    rule: Box<dyn Rule>,
    categories: Vec<String>,
    default: bool,
}

/// The rules that can run, with their categories, and deprecated aliases.
#[derive(Default)]
pub struct RuleRegistry {
    rules: Vec<Registered>,
    deprecated: BTreeMap<String, Vec<String>>,
}

impl std::fmt::Debug for RuleRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuleRegistry")
            .field(
                "rules",
                &self.rules.iter().map(|r| r.rule.id()).collect::<Vec<_>>(),
            )
            .field("deprecated", &self.deprecated)
            .finish()
    }
}

impl RuleRegistry {
    /// A registry without rules.
    pub fn empty() -> Self {
        RuleRegistry::default()
    }

    /// Adds a rule with its categories (any of [`CATEGORIES`], or none) and
    /// whether it runs by default.
    pub fn register(
        &mut self,
        rule: Box<dyn Rule>,
        categories: &[&str],
        default: bool,
    ) -> Result<(), CompatError> {
        let id = rule.id().to_string();
        if self.rules.iter().any(|r| r.rule.id() == id) || self.deprecated.contains_key(&id) {
            return Err(CompatError::DuplicateRule(id));
        }
        self.rules.push(Registered {
            rule,
            categories: categories.iter().map(|c| c.to_string()).collect(),
            default,
        });
        Ok(())
    }

    /// Makes `deprecated` (an old ID) stand for `replacements` in policies.
    pub fn register_deprecated(&mut self, deprecated: &str, replacements: &[&str]) {
        self.deprecated.insert(
            deprecated.to_string(),
            replacements.iter().map(|r| r.to_string()).collect(),
        );
    }

    /// Every registered rule, in registration order.
    pub fn rules(&self) -> Vec<RuleInfo> {
        self.rules
            .iter()
            .map(|r| RuleInfo {
                id: r.rule.id().to_string(),
                purpose: r.rule.purpose().to_string(),
                categories: r.categories.clone(),
                default: r.default,
            })
            .collect()
    }

    /// Rule IDs for one rule ID, deprecated ID or category.
    fn expand(&self, name: &str) -> Result<Vec<String>, CompatError> {
        if let Some(replacements) = self.deprecated.get(name) {
            return Ok(replacements.clone());
        }
        if self.rules.iter().any(|r| r.rule.id() == name) {
            return Ok(vec![name.to_string()]);
        }
        let in_category: Vec<String> = self
            .rules
            .iter()
            .filter(|r| r.categories.iter().any(|c| c == name))
            .map(|r| r.rule.id().to_string())
            .collect();
        if in_category.is_empty() && !CATEGORIES.contains(&name) {
            return Err(CompatError::UnknownRule(name.to_string()));
        }
        Ok(in_category)
    }

    /// Expands categories and deprecated IDs of a policy into rule IDs.
    pub fn resolve(&self, policy: &Policy) -> Result<ResolvedPolicy, CompatError> {
        let mut rules = BTreeSet::new();
        if policy.use_.is_empty() {
            rules.extend(
                self.rules
                    .iter()
                    .filter(|r| r.default)
                    .map(|r| r.rule.id().to_string()),
            );
        }
        for name in &policy.use_ {
            rules.extend(self.expand(name)?);
        }
        for name in &policy.except {
            for id in self.expand(name)? {
                rules.remove(&id);
            }
        }
        let mut ignore_only: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (name, paths) in &policy.ignore_only {
            for id in self.expand(name)? {
                ignore_only
                    .entry(id)
                    .or_default()
                    .extend(paths.iter().cloned());
            }
        }
        Ok(ResolvedPolicy::new(
            rules,
            &policy.ignore,
            ignore_only,
            policy.ignore_unstable_packages,
        ))
    }

    /// Runs the rules of `policy` on `current` against `previous`, and
    /// returns the violations in buf's order.
    pub fn check(
        &self,
        previous: &Image,
        current: &Image,
        policy: &Policy,
    ) -> Result<Vec<Violation>, CompatError> {
        let resolved = self.resolve(policy)?;
        let previous_schema = Schema::new(previous);
        let current_schema = Schema::new(current);
        let ctx = CheckContext {
            previous: &previous_schema,
            current: &current_schema,
            previous_image: previous,
            current_image: current,
            options: &policy.plugin_options,
        };
        let mut violations = BTreeSet::new();
        for registered in &self.rules {
            let id = registered.rule.id();
            if !resolved.rules.contains(id) {
                continue;
            }
            let mut findings = Vec::new();
            registered.rule.check(&ctx, &mut findings)?;
            for finding in findings {
                if is_ignored(&resolved, id, &finding, &ctx) {
                    continue;
                }
                let (file, span) = match finding.location {
                    Some(location) => (location.file, location.span),
                    None => (String::new(), None),
                };
                let span = span.unwrap_or(crate::violation::Span {
                    start_line: 0,
                    start_column: 0,
                    end_line: 0,
                    end_column: 0,
                });
                violations.insert(Violation {
                    rule: id.to_string(),
                    categories: registered.categories.clone(),
                    file,
                    start_line: span.start_line,
                    start_column: span.start_column,
                    end_line: span.end_line,
                    end_column: span.end_column,
                    message: finding.message,
                    against_file: finding.against_file.unwrap_or_default(),
                });
            }
        }
        let mut out: Vec<Violation> = violations.into_iter().collect();
        out.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        Ok(out)
    }
}

/// Like buf: a finding is dropped when its file or its against file is an
/// import, is ignored (for all rules or this one), or is in an unstable
/// package when those are ignored.
fn is_ignored(
    policy: &ResolvedPolicy,
    rule: &str,
    finding: &Finding,
    ctx: &CheckContext<'_>,
) -> bool {
    let check = |schema: &Schema, name: &str| -> bool {
        match schema.file_by_name(name) {
            Some(id) => {
                let file = &schema.files[id];
                file.is_import || policy.ignores(rule, name, &file.package)
            }
            None => policy.ignores(rule, name, ""),
        }
    };
    if let Some(location) = &finding.location
        && check(ctx.current, &location.file)
    {
        return true;
    }
    if let Some(against) = &finding.against_file
        && check(ctx.previous, against)
    {
        return true;
    }
    false
}

impl PartialOrd for Violation {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Violation {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.sort_key()
            .cmp(&other.sort_key())
            .then_with(|| self.categories.cmp(&other.categories))
    }
}
