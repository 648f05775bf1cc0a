//! A namespace's settings, typed: `compat`, the compatibility policy (the
//! [`crate::compat::CompatCheck`] in use reads and validates it), and
//! `codegen`, the code generation targets. The HTTP handler of
//! `PUT …/settings` builds one from its body and calls
//! [`NamespaceSettings::validate`]; the registry reads stored and given
//! settings with [`NamespaceSettings::from_json`] and validates them the
//! same way (with the plugin host, in `codegen::validate_settings`).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{RegistryError, Result};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamespaceSettings {
    /// `{mode, use, except, ignore, ignore_only, ignore_unstable_packages}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compat: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codegen: Option<Vec<CodegenTarget>>,
}

/// One `settings.codegen` entry: a generator and its parameter; `output` is
/// kept for consumers and does not change the artifact.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodegenTarget {
    pub plugin: String,
    #[serde(default)]
    pub parameter: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// Managed mode for Go: each file without a `go_package` option gets
    /// the import path `prefix/<the file's directory>`, passed to the
    /// generator as an `M<file>=<path>` parameter (as buf's managed mode
    /// does), so protos need no Go-specific option.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub go_package_prefix: Option<String>,
    /// Where the generated files are committed and pushed after each job
    /// of this target succeeds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push: Option<PushTarget>,
    /// Check each job's files with the language's own toolchain before
    /// they are stored or pushed (`codegen::verify`): Python byte-compiles
    /// and imports the modules, Go vets the packages.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub verify: bool,
}

/// `settings.codegen[].push`: a git branch that receives the generated
/// files of every version of the target, under `path`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushTarget {
    /// `https://`, `ssh://`, `file://` or `user@host:path`; credentials come
    /// from `git.credentials`, never the URL.
    pub url: String,
    pub branch: String,
    /// The folder of the repository the files go to (`""`: the top).
    /// `{schema}` and `{namespace}` in it stand for the job's; a path with
    /// `{schema}` is that schema's own folder, replaced whole by each push
    /// (files a newer version no longer generates go away); other paths
    /// are shared, and a push adds or replaces its files there.
    #[serde(default)]
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author_email: Option<String>,
}

impl PushTarget {
    const FIELDS: [&str; 5] = ["url", "branch", "path", "author_name", "author_email"];

    fn from_json(i: usize, value: &Value) -> Result<Self> {
        let Some(object) = value.as_object() else {
            return invalid(format!(
                "settings.codegen[{i}].push must be an object {{url, branch, path?, author_name?, author_email?}}"
            ));
        };
        if let Some(key) = object.keys().find(|k| !Self::FIELDS.contains(&k.as_str())) {
            return invalid(format!("settings.codegen[{i}].push: unknown field {key:?}"));
        }
        for key in Self::FIELDS {
            if object
                .get(key)
                .is_some_and(|v| !v.is_string() && !v.is_null())
            {
                return invalid(format!("settings.codegen[{i}].push.{key} must be a string"));
            }
        }
        let text = |key: &str| object.get(key).and_then(Value::as_str).map(str::to_owned);
        Ok(Self {
            url: text("url").unwrap_or_default(),
            branch: text("branch").unwrap_or_default(),
            path: text("path").unwrap_or_default(),
            author_name: text("author_name"),
            author_email: text("author_email"),
        })
    }

    /// The folder for a job of `schema` in `namespace` (placeholders
    /// replaced; not yet normalised).
    pub fn resolved_path(&self, namespace: &str, schema: &str) -> String {
        self.path
            .replace("{namespace}", namespace)
            .replace("{schema}", schema)
    }

    /// Whether each push replaces the folder whole (it is one schema's).
    pub fn owns_folder(&self) -> bool {
        self.path.contains("{schema}")
    }

    /// The URL, branch, path and author are usable by git.
    fn validate(&self, i: usize) -> Result<()> {
        let at = |why: String| invalid(format!("settings.codegen[{i}].push.{why}"));
        if let Err(why) = crate::git::validate_url(&self.url) {
            return at(format!("url: {why}"));
        }
        if let Err(why) = crate::git::validate_branch(&self.branch) {
            return at(format!("branch: {why}"));
        }
        if let Err(why) = crate::git::normalize_root(&self.resolved_path("namespace", "schema")) {
            return at(format!("path: {why}"));
        }
        if let Some(brace) = self
            .path
            .replace("{schema}", "")
            .replace("{namespace}", "")
            .find(['{', '}'])
        {
            return at(format!(
                "path: only {{schema}} and {{namespace}} may stand in braces (at byte {brace})"
            ));
        }
        for (key, value) in [
            ("author_name", &self.author_name),
            ("author_email", &self.author_email),
        ] {
            if let Some(value) = value
                && (value.trim().is_empty()
                    || value.len() > 200
                    || value
                        .chars()
                        .any(|c| c.is_control() || matches!(c, '<' | '>')))
            {
                return at(format!(
                    "{key} must be 1 to 200 characters without '<', '>' or control characters"
                ));
            }
        }
        Ok(())
    }
}

fn invalid<T>(message: String) -> Result<T> {
    Err(RegistryError::InvalidArgument(message))
}

impl NamespaceSettings {
    /// Reads the settings of a namespace from their JSON: `codegen`, when
    /// present and not null, must be a list of `{plugin, parameter?,
    /// output?}` objects with string values; `compat` is taken as it is.
    /// Other keys are not settings of the registry and are ignored here.
    pub fn from_json(settings: &Value) -> Result<Self> {
        let compat = settings.get("compat").filter(|v| !v.is_null()).cloned();
        let codegen = match settings.get("codegen") {
            None | Some(Value::Null) => None,
            Some(Value::Array(entries)) => Some(
                entries
                    .iter()
                    .enumerate()
                    .map(|(i, entry)| CodegenTarget::from_json(i, entry))
                    .collect::<Result<Vec<_>>>()?,
            ),
            Some(_) => {
                return invalid(
                    "settings.codegen must be a list of {plugin, parameter, output}".into(),
                );
            }
        };
        Ok(Self { compat, codegen })
    }

    /// The settings as stored.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or_else(|_| Value::Object(Default::default()))
    }

    /// What the settings need regardless of the plugins loaded: every
    /// code generation target names a generator. (`compat` is the
    /// compatibility checker's to validate; that the generators exist, the
    /// plugin host's: both happen when the registry stores the settings.)
    pub fn validate(&self) -> Result<()> {
        for (i, target) in self.codegen.iter().flatten().enumerate() {
            if target.plugin.trim().is_empty() {
                return invalid(format!("settings.codegen[{i}] needs a plugin name"));
            }
            if let Some(prefix) = &target.go_package_prefix
                && let Err(why) = check_go_package_prefix(prefix)
            {
                return invalid(format!("settings.codegen[{i}].go_package_prefix {why}"));
            }
            if let Some(push) = &target.push {
                push.validate(i)?;
            }
        }
        Ok(())
    }
}

impl CodegenTarget {
    fn from_json(i: usize, entry: &Value) -> Result<Self> {
        let Some(object) = entry.as_object() else {
            return invalid(format!("settings.codegen[{i}] must be an object"));
        };
        if let Some(key) = object.keys().find(|k| {
            ![
                "plugin",
                "parameter",
                "output",
                "go_package_prefix",
                "push",
                "verify",
            ]
            .contains(&k.as_str())
        }) {
            return invalid(format!("settings.codegen[{i}]: unknown field {key:?}"));
        }
        for key in ["parameter", "output", "go_package_prefix"] {
            if object
                .get(key)
                .is_some_and(|v| !v.is_string() && !v.is_null())
            {
                return invalid(format!("settings.codegen[{i}].{key} must be a string"));
            }
        }
        let verify = match object.get("verify") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(verify)) => *verify,
            Some(_) => {
                return invalid(format!(
                    "settings.codegen[{i}].verify must be true or false"
                ));
            }
        };
        let text = |key: &str| object.get(key).and_then(Value::as_str).map(str::to_owned);
        Ok(Self {
            // A missing or non-string plugin is no plugin name: `validate`
            // refuses it.
            plugin: text("plugin").unwrap_or_default(),
            parameter: text("parameter").unwrap_or_default(),
            output: text("output"),
            go_package_prefix: text("go_package_prefix"),
            push: match object.get("push") {
                None | Some(Value::Null) => None,
                Some(push) => Some(PushTarget::from_json(i, push)?),
            },
            verify,
        })
    }
}

/// A Go import path prefix: non-empty, no `,` or `=` (they separate
/// parameter options), no spaces, no leading or trailing `/`.
pub fn check_go_package_prefix(prefix: &str) -> std::result::Result<(), String> {
    if prefix.is_empty()
        || prefix.starts_with('/')
        || prefix.ends_with('/')
        || prefix
            .chars()
            .any(|c| c == ',' || c == '=' || c == ';' || c.is_whitespace() || c.is_control())
    {
        return Err(format!(
            "must be a Go import path (like example.com/gen), not {prefix:?}"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn settings_read_from_json_and_validate() {
        let settings = NamespaceSettings::from_json(&json!({
            "compat": {"mode": "FULL"},
            "codegen": [{"plugin": "python", "parameter": "x", "output": "gen/"}],
            "other": 1,
        }))
        .unwrap();
        assert_eq!(settings.compat, Some(json!({"mode": "FULL"})));
        assert_eq!(
            settings.codegen,
            Some(vec![CodegenTarget {
                plugin: "python".into(),
                parameter: "x".into(),
                output: Some("gen/".into()),
                go_package_prefix: None,
                push: None,
                verify: false,
            }])
        );
        settings.validate().unwrap();
        assert_eq!(
            settings.to_json(),
            json!({
                "compat": {"mode": "FULL"},
                "codegen": [{"plugin": "python", "parameter": "x", "output": "gen/"}],
            })
        );
        assert_eq!(
            NamespaceSettings::from_json(&json!({})).unwrap(),
            NamespaceSettings::default()
        );
        assert_eq!(NamespaceSettings::default().to_json(), json!({}));
        for (bad, expected) in [
            (json!({"codegen": [{"plugin": " "}]}), "needs a plugin name"),
            (
                json!({"codegen": [{"parameter": "x"}]}),
                "needs a plugin name",
            ),
            (json!({"codegen": [{"plugin": 3}]}), "needs a plugin name"),
            (json!({"codegen": {"plugin": "x"}}), "must be a list"),
            (json!({"codegen": ["x"]}), "must be an object"),
            (
                json!({"codegen": [{"plugin": "x", "out": "y"}]}),
                "unknown field",
            ),
            (
                json!({"codegen": [{"plugin": "x", "output": 1}]}),
                "must be a string",
            ),
            (
                json!({"codegen": [{"plugin": "x", "verify": "yes"}]}),
                "verify must be true or false",
            ),
            (
                json!({"codegen": [{"plugin": "x", "verify": 1}]}),
                "verify must be true or false",
            ),
            (
                json!({"codegen": [{"plugin": "x", "push": {"url": "git://h/r", "branch": "m"}}]}),
                "push.url",
            ),
            (
                json!({"codegen": [{"plugin": "x", "push": {"url": "file:///r", "branch": "a..b"}}]}),
                "push.branch",
            ),
            (
                json!({"codegen": [{"plugin": "x", "push": {"url": "file:///r", "branch": "m", "path": "/abs"}}]}),
                "push.path",
            ),
            (
                json!({"codegen": [{"plugin": "x", "push": {"url": "file:///r", "branch": "m", "path": "{x}"}}]}),
                "braces",
            ),
            (
                json!({"codegen": [{"plugin": "x", "push": {"url": "file:///r", "branch": "m", "author_name": "<a>"}}]}),
                "author_name",
            ),
            (
                json!({"codegen": [{"plugin": "x", "push": {"url": "file:///r", "branch": 1}}]}),
                "must be a string",
            ),
        ] {
            let err = NamespaceSettings::from_json(&bad)
                .and_then(|s| s.validate())
                .unwrap_err();
            assert_eq!(err.code(), "invalid_argument");
            assert!(err.to_string().contains(expected), "{bad}: {err}");
        }
    }

    #[test]
    fn verify_reads_as_a_bool_and_is_stored_only_when_set() {
        let settings = NamespaceSettings::from_json(&json!({"codegen": [
            {"plugin": "python", "verify": true},
            {"plugin": "go", "verify": false},
            {"plugin": "go-grpc", "verify": null},
        ]}))
        .unwrap();
        settings.validate().unwrap();
        let verify: Vec<bool> = settings
            .codegen
            .iter()
            .flatten()
            .map(|t| t.verify)
            .collect();
        assert_eq!(verify, [true, false, false]);
        assert_eq!(
            settings.to_json()["codegen"],
            json!([
                {"plugin": "python", "parameter": "", "verify": true},
                {"plugin": "go", "parameter": ""},
                {"plugin": "go-grpc", "parameter": ""},
            ])
        );
    }

    #[test]
    fn push_targets_read_with_placeholders() {
        let settings = NamespaceSettings::from_json(&json!({"codegen": [{
            "plugin": "python",
            "push": {"url": "file:///srv/gen.git", "branch": "gen", "path": "py/{namespace}/{schema}"},
        }]}))
        .unwrap();
        settings.validate().unwrap();
        let push = settings.codegen.as_ref().unwrap()[0].push.clone().unwrap();
        assert_eq!(push.resolved_path("shop", "stock"), "py/shop/stock");
        assert!(push.owns_folder());
        let shared = PushTarget {
            path: "py".into(),
            ..push.clone()
        };
        assert!(!shared.owns_folder());
        assert_eq!(
            settings.to_json()["codegen"][0]["push"],
            json!({"url": "file:///srv/gen.git", "branch": "gen", "path": "py/{namespace}/{schema}"})
        );
    }
}
