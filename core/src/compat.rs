//! The compatibility hook run at promote and rollback, and its default
//! implementation on top of `protoreg-compat` (buf's breaking rules).
//!
//! Findings are data (`Ok(violations)`); `Err` means the check itself could
//! not run, and the promote fails rather than passing unchecked.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use protoreg_compat::{Image, Policy, RuleRegistry};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::descriptor::{self, RawFile};
use crate::error::{RegistryError, Result, Violation};
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
    /// Current files of `__builtins__` (imports of both sides).
    pub builtins: &'a [RawFile],
    /// For `_TRANSITIVE` modes: every earlier version that was ever current
    /// of the schemas being changed (empty otherwise).
    pub history: &'a [Arc<VersionSnapshot>],
}

pub trait CompatCheck: Send + Sync + 'static {
    /// A short name for logs and for the promote response.
    fn name(&self) -> &str;
    /// Refuses settings the checker cannot apply (unknown rule, bad mode).
    fn validate_settings(&self, settings: &Value) -> Result<()>;
    /// Whether `check` needs [`CompatRequest::history`] for these settings.
    fn wants_history(&self, settings: &Value) -> bool;
    fn check(&self, request: &CompatRequest<'_>) -> Result<Vec<Violation>>;
}

/// Checks nothing and says so: the promote response reports
/// `compat_checker: "none"`, and the server logs a warning at start.
#[derive(Debug, Default)]
pub struct NoCompatRules;

impl CompatCheck for NoCompatRules {
    fn name(&self) -> &str {
        "none"
    }

    fn validate_settings(&self, _settings: &Value) -> Result<()> {
        Ok(())
    }

    fn wants_history(&self, _settings: &Value) -> bool {
        false
    }

    fn check(&self, _request: &CompatRequest<'_>) -> Result<Vec<Violation>> {
        Ok(Vec::new())
    }
}

/// Confluent-style compatibility modes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CompatMode {
    /// The proposed namespace must read what the current one wrote.
    #[default]
    Backward,
    BackwardTransitive,
    /// The current namespace must read what the proposed one writes.
    Forward,
    ForwardTransitive,
    Full,
    FullTransitive,
    None,
}

impl CompatMode {
    fn backward(self) -> bool {
        matches!(
            self,
            Self::Backward | Self::BackwardTransitive | Self::Full | Self::FullTransitive
        )
    }

    fn forward(self) -> bool {
        matches!(
            self,
            Self::Forward | Self::ForwardTransitive | Self::Full | Self::FullTransitive
        )
    }

    fn transitive(self) -> bool {
        matches!(
            self,
            Self::BackwardTransitive | Self::ForwardTransitive | Self::FullTransitive
        )
    }
}

/// The `compat` section of a namespace's settings: a mode plus buf's
/// `breaking` options (`use`, `except`, `ignore`, `ignore_only`,
/// `ignore_unstable_packages`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompatSettings {
    pub mode: CompatMode,
    pub policy: Policy,
}

impl CompatSettings {
    pub fn from_namespace_settings(settings: &Value) -> Result<Self> {
        let Some(section) = settings.get("compat") else {
            return Ok(Self::default());
        };
        let Value::Object(section) = section else {
            return Err(RegistryError::InvalidArgument(
                "settings.compat must be an object".into(),
            ));
        };
        let mut rest = section.clone();
        let mode = match rest.remove("mode") {
            None | Some(Value::Null) => CompatMode::default(),
            Some(mode) => serde_json::from_value(mode).map_err(|e| {
                RegistryError::InvalidArgument(format!(
                    "settings.compat.mode: {e} (one of BACKWARD, BACKWARD_TRANSITIVE, FORWARD, \
                     FORWARD_TRANSITIVE, FULL, FULL_TRANSITIVE, NONE)"
                ))
            })?,
        };
        let policy: Policy = serde_json::from_value(Value::Object(rest))
            .map_err(|e| RegistryError::InvalidArgument(format!("settings.compat: {e}")))?;
        Ok(Self { mode, policy })
    }
}

/// buf's breaking-change rules, from `protoreg-compat`.
pub struct BufRules {
    rules: RuleRegistry,
    /// Rule ID → the plugin it comes from (rules not built in).
    plugin_of: HashMap<String, String>,
}

impl std::fmt::Debug for BufRules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BufRules").finish_non_exhaustive()
    }
}

impl Default for BufRules {
    fn default() -> Self {
        Self {
            rules: RuleRegistry::builtin(),
            plugin_of: HashMap::new(),
        }
    }
}

impl BufRules {
    pub fn with_rules(rules: RuleRegistry) -> Self {
        Self {
            rules,
            plugin_of: HashMap::new(),
        }
    }

    /// The built-in rules plus every rule of the host's plugins.
    pub fn with_plugins(host: &crate::plugin::PluginHost) -> Self {
        let mut rules = RuleRegistry::builtin();
        let plugin_of = crate::plugin::register_plugin_rules(host, &mut rules);
        Self { rules, plugin_of }
    }

    /// Every rule that can run, built-in or from a plugin.
    pub fn rule_infos(&self) -> Vec<protoreg_compat::RuleInfo> {
        self.rules.rules()
    }

    fn run(
        &self,
        previous: &Image,
        current: &Image,
        policy: &Policy,
    ) -> Result<Vec<protoreg_compat::Violation>> {
        self.rules
            .check(previous, current, policy)
            .map_err(|e| match e {
                // A rule that could not run (a plugin that failed, timed
                // out, answered garbage) fails the check with its reason.
                protoreg_compat::CompatError::Rule { .. } => {
                    RegistryError::Unavailable(format!("compatibility check: {e}"))
                }
                e => RegistryError::internal("compatibility check", e),
            })
    }
}

impl CompatCheck for BufRules {
    fn name(&self) -> &str {
        "buf-breaking"
    }

    fn validate_settings(&self, settings: &Value) -> Result<()> {
        let parsed = CompatSettings::from_namespace_settings(settings)?;
        self.rules
            .resolve(&parsed.policy)
            .map(drop)
            .map_err(|e| RegistryError::InvalidArgument(format!("settings.compat: {e}")))
    }

    fn wants_history(&self, settings: &Value) -> bool {
        CompatSettings::from_namespace_settings(settings).is_ok_and(|s| s.mode.transitive())
    }

    fn check(&self, request: &CompatRequest<'_>) -> Result<Vec<Violation>> {
        let settings = CompatSettings::from_namespace_settings(request.settings)?;
        if settings.mode == CompatMode::None {
            return Ok(Vec::new());
        }
        let current = image_of(request.current.iter().map(|(_, v)| *v), request.builtins)?;
        let proposed = image_of(request.proposed.iter().map(|(_, v)| *v), request.builtins)?;
        let mut found = Vec::new();
        if settings.mode.backward() {
            found.extend(self.run(&current, &proposed, &settings.policy)?);
        }
        if settings.mode.forward() {
            found.extend(self.run(&proposed, &current, &settings.policy)?);
        }
        if settings.mode.transitive() {
            for old in request.history {
                let Some((_, new)) = request.proposed.iter().find(|(s, _)| **s == old.schema)
                else {
                    continue;
                };
                let old_image = image_of([old], request.builtins)?;
                let new_image = image_of([*new], request.builtins)?;
                if settings.mode.backward() {
                    found.extend(self.run(&old_image, &new_image, &settings.policy)?);
                }
                if settings.mode.forward() {
                    found.extend(self.run(&new_image, &old_image, &settings.policy)?);
                }
            }
        }
        let owners = owners(request);
        let mut seen = BTreeSet::new();
        Ok(found
            .into_iter()
            .filter(|v| seen.insert(v.clone()))
            .map(|v| Violation {
                schema: owner_of(&owners, &v),
                plugin: self.plugin_of.get(&v.rule).cloned(),
                rule: v.rule,
                category: v.categories,
                file: v.file,
                line: v.start_line,
                column: v.start_column,
                end_line: v.end_line,
                end_column: v.end_column,
                message: v.message,
            })
            .collect())
    }
}

/// The image of some versions: their own files are the targets. Imports
/// resolve to the other versions' files, then `__builtins__`, then the
/// files each version was compiled with (its served descriptor set), then
/// the well-known types.
fn image_of<'a>(
    versions: impl IntoIterator<Item = &'a Arc<VersionSnapshot>>,
    builtins: &[RawFile],
) -> Result<Image> {
    let versions: Vec<&Arc<VersionSnapshot>> = versions.into_iter().collect();
    let own: Vec<&RawFile> = versions.iter().flat_map(|v| v.files.iter()).collect();
    let targets: BTreeSet<String> = own.iter().map(|f| f.name.clone()).collect();
    let compiled_with: Vec<RawFile> = versions
        .iter()
        .map(|v| descriptor::split_file_descriptor_set(v.descriptor_set.clone()))
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .flatten()
        .collect();
    let ordered = descriptor::with_imports_in_layers(&own, &[builtins, &compiled_with]).map_err(
        |message| RegistryError::Internal(format!("building a compatibility image: {message}")),
    )?;
    let bytes = descriptor::encode_file_descriptor_set(ordered);
    Image::from_file_descriptor_set_bytes_with_targets(&bytes, &targets)
        .map_err(|e| RegistryError::internal("building a compatibility image", e))
}

fn owners<'a>(request: &'a CompatRequest<'_>) -> HashMap<&'a str, &'a SchemaId> {
    let mut owners = HashMap::new();
    for (schema, version) in request.current.iter().chain(&request.proposed) {
        for path in version.paths() {
            owners.insert(path, *schema);
        }
    }
    owners
}

/// The schema a finding belongs to: the owner of its file, or for a finding
/// without a location (a deleted file), the owner of the file it was found
/// against in the previous image.
fn owner_of(owners: &HashMap<&str, &SchemaId>, v: &protoreg_compat::Violation) -> String {
    [v.file.as_str(), v.against_file.as_str()]
        .into_iter()
        .filter(|file| !file.is_empty())
        .find_map(|file| owners.get(file))
        .map(|schema| schema.to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(file: &str, against_file: &str, message: &str) -> protoreg_compat::Violation {
        protoreg_compat::Violation {
            rule: "FILE_NO_DELETE".into(),
            categories: vec!["FILE".into()],
            file: file.into(),
            start_line: 0,
            start_column: 0,
            end_line: 0,
            end_column: 0,
            message: message.into(),
            against_file: against_file.into(),
        }
    }

    #[test]
    fn a_finding_belongs_to_the_owner_of_its_file_then_of_its_against_file() {
        let billing = SchemaId::parse("billing").unwrap();
        let common = SchemaId::parse("common").unwrap();
        let owners: HashMap<&str, &SchemaId> =
            HashMap::from([("billing/a.proto", &billing), ("common/b.proto", &common)]);
        // Located: the file's owner, whatever the message says.
        let located = finding(
            "billing/a.proto",
            "common/b.proto",
            "field moved from \"common/b.proto\"",
        );
        assert_eq!(owner_of(&owners, &located), "billing");
        // No location: the file in the previous image, not a path the
        // message happens to quote.
        let deleted = finding(
            "",
            "common/b.proto",
            "Previously present file \"billing/a.proto\" was renamed.",
        );
        assert_eq!(owner_of(&owners, &deleted), "common");
        // A message naming no path at all.
        let unnamed = finding(
            "",
            "common/b.proto",
            "Previously present package was deleted.",
        );
        assert_eq!(owner_of(&owners, &unnamed), "common");
        assert_eq!(owner_of(&owners, &finding("", "", "nothing")), "");
    }
}
