//! Which rules run and which files they skip: the `breaking` section of a
//! buf.yaml.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::error::CompatError;

/// The breaking-change policy, shaped like the `breaking:` section of a
/// buf.yaml (v1 or v2).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    /// Rule IDs and/or categories to run; empty means `FILE`.
    #[serde(rename = "use")]
    pub use_: Vec<String>,
    /// Rule IDs and/or categories not to run.
    pub except: Vec<String>,
    /// Files or directories (by path segments) whose findings are dropped.
    pub ignore: Vec<String>,
    /// Rule ID or category → files or directories it skips.
    pub ignore_only: BTreeMap<String, Vec<String>>,
    /// Drop findings in packages whose last component is an alpha, beta or
    /// test version (`foo.v1beta1`, `foo.v1alpha`, `foo.v1test`).
    pub ignore_unstable_packages: bool,
    /// Options for rules loaded from plugins, by option name (for example
    /// `message_no_change_suffixes: ["Event"]`).
    pub plugin_options: BTreeMap<String, serde_json::Value>,
}

#[derive(Deserialize)]
struct BufYaml {
    version: Option<String>,
    #[serde(default)]
    breaking: Option<Policy>,
    #[serde(default)]
    modules: Vec<BufYamlModule>,
}

#[derive(Deserialize)]
struct BufYamlModule {
    #[serde(default)]
    breaking: Option<Policy>,
}

impl Policy {
    /// The default policy: the `FILE` category, nothing ignored.
    pub fn file_category() -> Self {
        Policy::default()
    }

    /// Reads the `breaking` section of a buf.yaml (`version: v1`, `v1beta1`
    /// or `v2`). A v2 file without a top-level section takes the section of
    /// its only module that has one. No section gives the default policy.
    pub fn from_buf_yaml(yaml: &str) -> Result<Self, CompatError> {
        let file: BufYaml =
            serde_norway::from_str(yaml).map_err(|e| CompatError::Config(e.to_string()))?;
        match file.version.as_deref() {
            Some("v1" | "v1beta1" | "v2") => {}
            Some(other) => return Err(CompatError::Config(format!("unknown version {other:?}"))),
            None => return Err(CompatError::Config("missing version".into())),
        }
        if let Some(policy) = file.breaking {
            return Ok(policy);
        }
        let mut module_policies = file.modules.into_iter().filter_map(|m| m.breaking);
        match (module_policies.next(), module_policies.next()) {
            (Some(policy), None) => Ok(policy),
            (None, _) => Ok(Policy::default()),
            (Some(_), Some(_)) => Err(CompatError::Config(
                "several modules have a breaking section; pass the one to use".into(),
            )),
        }
    }
}

/// A policy with categories and deprecated IDs expanded to rule IDs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResolvedPolicy {
    /// The rules to run.
    pub rules: BTreeSet<String>,
    pub(crate) ignore: Vec<String>,
    pub(crate) ignore_only: BTreeMap<String, Vec<String>>,
    pub(crate) ignore_unstable_packages: bool,
}

impl ResolvedPolicy {
    pub(crate) fn new(
        rules: BTreeSet<String>,
        ignore: &[String],
        ignore_only: BTreeMap<String, Vec<String>>,
        ignore_unstable_packages: bool,
    ) -> Self {
        ResolvedPolicy {
            rules,
            ignore: ignore.iter().map(|p| normalize(p)).collect(),
            ignore_only: ignore_only
                .into_iter()
                .map(|(k, v)| (k, v.iter().map(|p| normalize(p)).collect()))
                .collect(),
            ignore_unstable_packages,
        }
    }

    /// Whether findings of `rule` in `file` (of package `package`) are dropped.
    pub(crate) fn ignores(&self, rule: &str, file: &str, package: &str) -> bool {
        if self.ignore.iter().any(|p| path_contains(p, file)) {
            return true;
        }
        if self
            .ignore_only
            .get(rule)
            .is_some_and(|paths| paths.iter().any(|p| path_contains(p, file)))
        {
            return true;
        }
        self.ignore_unstable_packages && is_unstable_package(package)
    }
}

fn normalize(path: &str) -> String {
    let mut p = path.trim();
    while let Some(rest) = p.strip_prefix("./") {
        p = rest;
    }
    let p = p.trim_end_matches('/');
    if p.is_empty() { ".".into() } else { p.into() }
}

/// `dir_or_file` equals `path` or is one of its parent directories.
fn path_contains(dir_or_file: &str, path: &str) -> bool {
    dir_or_file == "."
        || path == dir_or_file
        || path
            .strip_prefix(dir_or_file)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// buf's unstable package versions: `v\d+test.*`, `v\d+(alpha|beta)\d*`,
/// `v\d+p\d+(alpha|beta)\d*` as the last of at least two components.
pub fn is_unstable_package(package: &str) -> bool {
    let parts: Vec<&str> = package.split('.').collect();
    if parts.len() < 2 {
        return false;
    }
    let Some(version) = parts[parts.len() - 1].strip_prefix('v') else {
        return false;
    };
    let number = |s: &str, min: i64| -> bool {
        !s.is_empty() && s.parse::<i32>().is_ok_and(|v| i64::from(v) >= min)
    };
    if let Some((major, _)) = version.split_once("test") {
        return number(major, 1);
    }
    let (alpha, beta) = (version.contains("alpha"), version.contains("beta"));
    let level = match (alpha, beta) {
        (true, false) => "alpha",
        (false, true) => "beta",
        _ => return false,
    };
    let Some((head, minor)) = version.split_once(level) else {
        return false;
    };
    if !minor.is_empty() && !number(minor, 1) {
        return false;
    }
    match head.split_once('p') {
        Some((major, patch)) => number(major, 1) && number(patch, 1),
        None => number(head, 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_v2_breaking_section() {
        let policy = Policy::from_buf_yaml(
            "version: v2\nbreaking:\n  use: [FILE, WIRE]\n  except: [FIELD_SAME_NAME]\n  ignore: [foo/]\n  ignore_only:\n    FIELD_SAME_TYPE: [a.proto]\n  ignore_unstable_packages: true\n",
        )
        .unwrap();
        assert_eq!(policy.use_, vec!["FILE", "WIRE"]);
        assert_eq!(policy.except, vec!["FIELD_SAME_NAME"]);
        assert_eq!(policy.ignore, vec!["foo/"]);
        assert_eq!(policy.ignore_only["FIELD_SAME_TYPE"], vec!["a.proto"]);
        assert!(policy.ignore_unstable_packages);
    }

    #[test]
    fn parses_v1_and_module_sections() {
        let v1 = Policy::from_buf_yaml("version: v1\nbreaking:\n  use:\n    - PACKAGE\n").unwrap();
        assert_eq!(v1.use_, vec!["PACKAGE"]);
        let module = Policy::from_buf_yaml(
            "version: v2\nmodules:\n  - path: proto\n    breaking:\n      use: [WIRE_JSON]\n",
        )
        .unwrap();
        assert_eq!(module.use_, vec!["WIRE_JSON"]);
        assert_eq!(
            Policy::from_buf_yaml("version: v2\n").unwrap(),
            Policy::default()
        );
    }

    #[test]
    fn rejects_bad_yaml() {
        assert!(Policy::from_buf_yaml("version: v3\n").is_err());
        assert!(Policy::from_buf_yaml("breaking: {}\n").is_err());
        assert!(Policy::from_buf_yaml("version: v2\nbreaking:\n  uses: [FILE]\n").is_err());
    }

    #[test]
    fn ignore_paths_match_by_segments() {
        assert!(path_contains("foo", "foo/a.proto"));
        assert!(path_contains("foo/a.proto", "foo/a.proto"));
        assert!(!path_contains("fo", "foo/a.proto"));
        assert!(path_contains(".", "foo/a.proto"));
        assert_eq!(normalize("./foo/"), "foo");
    }

    #[test]
    fn unstable_packages_follow_buf() {
        for unstable in [
            "foo.v1beta1",
            "foo.v1alpha",
            "foo.v2test",
            "foo.v1testfoo",
            "a.b.v1p1beta1",
        ] {
            assert!(is_unstable_package(unstable), "{unstable}");
        }
        for stable in [
            "foo.v1",
            "v1beta1",
            "foo",
            "foo.v0beta1",
            "foo.v1alphabeta",
            "foo.bar",
            "",
        ] {
            assert!(!is_unstable_package(stable), "{stable}");
        }
    }
}
