//! `protoreg compat check`: buf's breaking-change check on two sets of
//! `.proto` directories, offline, with the same findings and output formats
//! as `buf breaking NEW --against OLD --exclude-imports`.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Subcommand, ValueEnum};
use miette::Diagnostic;
use protoreg_compat::{Image, Policy, Violation};
use protox::file::{File, FileResolver, GoogleFileResolver};

/// Exit code when the check finds breaking changes (buf's).
const EXIT_BREAKING: u8 = 100;

#[derive(Debug, Args)]
pub struct CompatArgs {
    #[command(subcommand)]
    command: CompatCommand,
}

#[derive(Debug, Subcommand)]
enum CompatCommand {
    /// Check that the schemas under --root do not break those under
    /// --against, with buf's breaking-change rules.
    ///
    /// Exit status: 0 compatible, 100 breaking changes found, 1 error (e.g.
    /// a compile error, printed as FILE:LINE:COLUMN: MESSAGE on stderr).
    ///
    /// Policy: --config reads the `breaking:` section of a buf.yaml (v1 or
    /// v2); without it the FILE category runs. Flags then change it: --use
    /// replaces the config's `use` list; --except, --ignore and --ignore-only
    /// add to the config's lists; --ignore-unstable-packages turns the option
    /// on.
    Check(CheckArgs),
}

#[derive(Debug, Args)]
struct CheckArgs {
    /// Directory of the new schemas; every .proto file under it is checked,
    /// named by its path relative to the directory. Repeatable: imports
    /// resolve across all --root directories, then to the well-known types.
    #[arg(long = "root", value_name = "DIR", required = true)]
    roots: Vec<PathBuf>,
    /// Directory of the previous schemas, like --root. Repeatable.
    #[arg(long = "against", value_name = "DIR", required = true)]
    against: Vec<PathBuf>,
    /// Rule IDs or categories to run (FILE, PACKAGE, WIRE_JSON, WIRE);
    /// replaces the config's `use`.
    #[arg(long = "use", value_name = "ID_OR_CATEGORY", value_delimiter = ',')]
    use_: Vec<String>,
    /// Rule IDs or categories not to run; added to the config's `except`.
    #[arg(long, value_name = "ID", value_delimiter = ',')]
    except: Vec<String>,
    /// Files or directories (relative to the roots) whose findings are
    /// dropped; added to the config's `ignore`.
    #[arg(long, value_name = "PATH", value_delimiter = ',')]
    ignore: Vec<String>,
    /// ID=PATH: drop findings of a rule or category in a file or directory;
    /// added to the config's `ignore_only`.
    #[arg(long = "ignore-only", value_name = "ID=PATH", value_delimiter = ',', value_parser = parse_ignore_only)]
    ignore_only: Vec<(String, String)>,
    /// Drop findings in alpha, beta and test packages (foo.v1beta1, ...).
    #[arg(long)]
    ignore_unstable_packages: bool,
    /// A buf.yaml (v1 or v2) whose `breaking:` section is the base policy.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Output format of the findings on stdout.
    #[arg(long, value_enum, default_value_t = ErrorFormat::Text)]
    error_format: ErrorFormat,
    /// A rule plugin (a protoreg plugin library) whose rules run beside
    /// the built-in ones, selected by the same --use/--except. Repeatable.
    #[arg(long = "plugin", value_name = "PATH")]
    plugins: Vec<PathBuf>,
    /// Options for plugin rules, as a JSON object (e.g.
    /// '{"message_no_change_suffixes": ["Event"]}').
    #[arg(long = "plugin-options", value_name = "JSON")]
    plugin_options: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ErrorFormat {
    /// PATH:LINE:COLUMN:MESSAGE, like buf's default.
    Text,
    /// One JSON object per line, like `buf breaking --error-format json`.
    Json,
}

fn parse_ignore_only(value: &str) -> Result<(String, String), String> {
    match value.split_once('=') {
        Some((id, path)) if !id.trim().is_empty() && !path.trim().is_empty() => {
            Ok((id.trim().to_owned(), path.trim().to_owned()))
        }
        _ => Err(format!("expected ID=PATH, got {value:?}")),
    }
}

/// Why `compat check` could not run; printed on stderr, exit status 1.
#[derive(Debug)]
enum CliError {
    /// Compile errors, each already formatted as `file:line:column: message`.
    Compile(Vec<String>),
    Other(String),
}

impl From<protoreg_compat::CompatError> for CliError {
    fn from(err: protoreg_compat::CompatError) -> Self {
        CliError::Other(err.to_string())
    }
}

pub fn run(args: CompatArgs) -> ExitCode {
    let CompatCommand::Check(args) = args.command;
    match check(&args) {
        Ok(violations) => {
            for violation in &violations {
                match args.error_format {
                    ErrorFormat::Json => println!("{}", violation.to_buf_json()),
                    ErrorFormat::Text => println!("{}", violation.to_buf_text()),
                }
            }
            if violations.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(EXIT_BREAKING)
            }
        }
        Err(CliError::Compile(lines)) => {
            for line in lines {
                eprintln!("{line}");
            }
            ExitCode::FAILURE
        }
        Err(CliError::Other(message)) => {
            eprintln!("protoreg compat check: {message}");
            ExitCode::FAILURE
        }
    }
}

fn check(args: &CheckArgs) -> Result<Vec<Violation>, CliError> {
    let policy = policy(args)?;
    let rules = rules(&args.plugins)?;
    let previous = load_side(&args.against)?;
    let current = load_side(&args.roots)?;
    Ok(rules.check(&previous, &current, &policy)?)
}

/// The built-in rules plus those of `--plugin` libraries. A library that
/// cannot be loaded, or a rule it cannot register, is an error here (the
/// server logs and goes on; a one-off check should not silently run less).
fn rules(plugins: &[PathBuf]) -> Result<protoreg_compat::RuleRegistry, CliError> {
    use protoreg_core::plugin::{NoObserver, PluginConfig, PluginHost};
    let mut rules = protoreg_compat::RuleRegistry::builtin();
    if plugins.is_empty() {
        return Ok(rules);
    }
    for path in plugins {
        if !path.is_file() {
            return Err(CliError::Other(format!(
                "plugin {} not found",
                path.display()
            )));
        }
    }
    let config = PluginConfig {
        paths: plugins.to_vec(),
        ..PluginConfig::default()
    };
    let host = PluginHost::load(&config, std::sync::Arc::new(NoObserver));
    if !host.refused().is_empty() {
        let reasons: Vec<String> = host
            .refused()
            .iter()
            .map(|(path, reason)| format!("{}: {reason}", path.display()))
            .collect();
        return Err(CliError::Other(format!(
            "cannot load plugin {}",
            reasons.join("; ")
        )));
    }
    let expected: usize = host.plugins().iter().map(|p| p.manifest.rules.len()).sum();
    let origins = protoreg_core::plugin::register_plugin_rules(&host, &mut rules);
    if origins.len() != expected {
        return Err(CliError::Other(
            "a plugin rule clashes with a registered rule ID".into(),
        ));
    }
    Ok(rules)
}

/// The config's policy (or the default), changed by the flags.
fn policy(args: &CheckArgs) -> Result<Policy, CliError> {
    let mut policy = match &args.config {
        Some(path) => {
            let yaml = fs::read_to_string(path)
                .map_err(|e| CliError::Other(format!("cannot read {}: {e}", path.display())))?;
            Policy::from_buf_yaml(&yaml)?
        }
        None => Policy::default(),
    };
    if !args.use_.is_empty() {
        policy.use_ = args.use_.clone();
    }
    policy.except.extend(args.except.iter().cloned());
    policy.ignore.extend(args.ignore.iter().cloned());
    for (id, path) in &args.ignore_only {
        policy
            .ignore_only
            .entry(id.clone())
            .or_default()
            .push(path.clone());
    }
    policy.ignore_unstable_packages |= args.ignore_unstable_packages;
    if let Some(json) = &args.plugin_options {
        let options: BTreeMap<String, serde_json::Value> = serde_json::from_str(json)
            .map_err(|e| CliError::Other(format!("--plugin-options: not a JSON object: {e}")))?;
        policy.plugin_options.extend(options);
    }
    Ok(policy)
}

/// Reads every `.proto` under `roots` and compiles them with protox (source
/// info on); every file read is a target, well-known types are imports.
fn load_side(roots: &[PathBuf]) -> Result<Image, CliError> {
    let sources = Arc::new(read_sources(roots)?);
    let editions: Vec<&String> = sources
        .iter()
        .filter(|(_, source)| declares_edition(&source.text))
        .map(|(name, _)| name)
        .collect();
    if !editions.is_empty() {
        return Err(CliError::Other(format!(
            "editions files are not supported yet (protox 0.10 cannot compile them): {}",
            editions
                .iter()
                .map(|n| n.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let resolver = SourceResolver {
        sources: sources.clone(),
        well_known: GoogleFileResolver::new(),
    };
    let mut compiler = protox::Compiler::with_file_resolver(resolver);
    compiler.include_source_info(true).include_imports(true);
    compiler
        .open_files(sources.keys())
        .map_err(|err| CliError::Compile(compile_errors(&err, &sources)))?;
    let targets: BTreeSet<String> = sources.keys().cloned().collect();
    Ok(Image::from_file_descriptor_set_bytes_with_targets(
        &compiler.encode_file_descriptor_set(),
        &targets,
    )?)
}

struct Source {
    text: String,
    /// Where it was read, for messages about duplicates.
    path: PathBuf,
}

/// `.proto` files under each root, by path relative to their root.
fn read_sources(roots: &[PathBuf]) -> Result<BTreeMap<String, Source>, CliError> {
    let mut sources: BTreeMap<String, Source> = BTreeMap::new();
    for root in roots {
        if !root.is_dir() {
            return Err(CliError::Other(format!(
                "{} is not a directory",
                root.display()
            )));
        }
        for path in proto_files(root)? {
            let relative = path.strip_prefix(root).unwrap_or(&path);
            let name = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            let text = fs::read_to_string(&path)
                .map_err(|e| CliError::Other(format!("cannot read {}: {e}", path.display())))?;
            if let Some(other) = sources.get(&name) {
                return Err(CliError::Other(format!(
                    "{name} is in two roots: {} and {}",
                    other.path.display(),
                    path.display()
                )));
            }
            sources.insert(name, Source { text, path });
        }
    }
    Ok(sources)
}

fn proto_files(dir: &Path) -> Result<Vec<PathBuf>, CliError> {
    let mut out = Vec::new();
    let entries = fs::read_dir(dir)
        .map_err(|e| CliError::Other(format!("cannot read {}: {e}", dir.display())))?;
    for entry in entries {
        let path = entry
            .map_err(|e| CliError::Other(format!("cannot read {}: {e}", dir.display())))?
            .path();
        if path.is_dir() {
            out.extend(proto_files(&path)?);
        } else if path.extension().is_some_and(|e| e == "proto") {
            out.push(path);
        }
    }
    Ok(out)
}

/// Resolves imports to the files read from the roots, then to the
/// well-known types; nothing else is opened.
struct SourceResolver {
    sources: Arc<BTreeMap<String, Source>>,
    well_known: GoogleFileResolver,
}

impl FileResolver for SourceResolver {
    fn open_file(&self, name: &str) -> Result<File, protox::Error> {
        match self.sources.get(name) {
            Some(source) => File::from_source(name, &source.text),
            None => self.well_known.open_file(name),
        }
    }
}

/// Whether the file's first statement is `edition = ...`.
fn declares_edition(text: &str) -> bool {
    let mut rest = text.trim_start_matches('\u{feff}');
    loop {
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix("//") {
            rest = after.split_once('\n').map_or("", |(_, tail)| tail);
        } else if let Some(after) = rest.strip_prefix("/*") {
            rest = after.split_once("*/").map_or("", |(_, tail)| tail);
        } else {
            break;
        }
    }
    rest.strip_prefix("edition")
        .is_some_and(|after| after.trim_start().starts_with('='))
}

/// `file:line:column: message` for the error and each related diagnostic
/// (a parse error carries every syntax error of its file).
fn compile_errors(err: &protox::Error, sources: &BTreeMap<String, Source>) -> Vec<String> {
    let file = err.file().unwrap_or_default();
    let text = sources.get(file).map(|s| s.text.as_str());
    let mut lines = vec![format_diagnostic(file, text, err)];
    if let Some(related) = err.related() {
        lines.extend(related.map(|d| format_diagnostic(file, text, d)));
    }
    lines
}

fn format_diagnostic(file: &str, text: Option<&str>, diag: &dyn Diagnostic) -> String {
    let offset = diag
        .labels()
        .and_then(|mut labels| labels.next())
        .map(|label| label.offset());
    match (file, text, offset) {
        ("", _, _) => diag.to_string(),
        (_, Some(text), Some(offset)) => {
            let (line, column) = line_column(text, offset);
            format!("{file}:{line}:{column}: {diag}")
        }
        _ => format!("{file}: {diag}"),
    }
}

/// 1-based line and character column of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset.min(text.len())).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edition_is_found_after_comments_only_as_first_statement() {
        assert!(declares_edition("// c\n/* x */ edition = \"2023\";\n"));
        assert!(declares_edition("edition=\"2023\";"));
        assert!(!declares_edition(
            "syntax = \"proto3\";\n// edition = \"2023\";\n"
        ));
        assert!(!declares_edition(
            "syntax = \"proto2\";\nmessage edition {}\n"
        ));
    }

    #[test]
    fn ignore_only_needs_id_and_path() {
        assert_eq!(
            parse_ignore_only("FIELD_SAME_TYPE=a/b.proto"),
            Ok(("FIELD_SAME_TYPE".into(), "a/b.proto".into()))
        );
        assert!(parse_ignore_only("FIELD_SAME_TYPE").is_err());
        assert!(parse_ignore_only("=a.proto").is_err());
    }

    #[test]
    fn line_column_counts_characters() {
        assert_eq!(line_column("ab\ncé d", 7), (2, 4));
        assert_eq!(line_column("x", 0), (1, 1));
    }
}
