//! `protoreg schema list|info|source|descriptor` and `protoreg diff`.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde::Deserialize;
use serde_json::Value;

use super::client::Violation;
use super::files;
use super::{CliError, CliResult, Context, Outcome, or_dash, print_table, short_time};

#[derive(Debug, Subcommand)]
pub enum SchemaCommand {
    /// The schemas of a namespace with their current and staged versions.
    List(ListArgs),
    /// A schema and every version of it.
    Info(SchemaArgs),
    /// The .proto sources of a version: printed, or written under --out.
    Source(SourceArgs),
    /// The FileDescriptorSet of a version (its files and every transitive
    /// import), binary unless --json.
    Descriptor(DescriptorArgs),
}

#[derive(Debug, Args)]
pub struct ListArgs {
    namespace: String,
}

#[derive(Debug, Args)]
pub struct SchemaArgs {
    namespace: String,
    schema: String,
}

#[derive(Debug, Args)]
pub struct SourceArgs {
    namespace: String,
    schema: String,
    /// A version number, `current` or `staged`.
    #[arg(long, value_name = "V", default_value = "current")]
    version: String,
    /// Write the files under DIR (by their paths) instead of printing them.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DescriptorArgs {
    namespace: String,
    schema: String,
    /// A version number, `current` or `staged`.
    #[arg(long, value_name = "V", default_value = "current")]
    version: String,
    /// Write to FILE instead of stdout.
    #[arg(short = 'o', long = "out", value_name = "FILE")]
    out: Option<PathBuf>,
    /// The JSON form of the set (also with --output json).
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    namespace: String,
    schema: String,
    /// The older version: a number, `current` or `staged`.
    from: String,
    /// The newer version: a number, `current` or `staged`.
    to: String,
}

#[derive(Debug, Deserialize)]
struct SchemaList {
    schemas: Vec<SchemaSummary>,
}

#[derive(Debug, Deserialize)]
struct SchemaSummary {
    id: String,
    #[serde(default)]
    current_version: Option<i64>,
    #[serde(default)]
    staged_version: Option<i64>,
    #[serde(default)]
    updated_at: Option<String>,
}

#[derive(Debug, Deserialize)]
struct SchemaInfo {
    id: String,
    #[serde(default)]
    current_version: Option<i64>,
    #[serde(default)]
    staged_version: Option<i64>,
    #[serde(default)]
    versions: Vec<VersionInfo>,
}

#[derive(Debug, Deserialize)]
struct VersionInfo {
    version: i64,
    #[serde(default)]
    fingerprint: String,
    #[serde(default)]
    created_by: String,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    files: Vec<String>,
    #[serde(default)]
    state: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Sources {
    sources: BTreeMap<String, String>,
}

pub fn run(cx: &Context, command: SchemaCommand) -> CliResult {
    match command {
        SchemaCommand::List(args) => list(cx, &args.namespace),
        SchemaCommand::Info(args) => info(cx, &args),
        SchemaCommand::Source(args) => source(cx, &args),
        SchemaCommand::Descriptor(args) => descriptor(cx, &args),
    }
}

fn list(cx: &Context, namespace: &str) -> CliResult {
    let reply = cx
        .client
        .get_all::<SchemaList>(&["v1", "namespaces", namespace, "schemas"], "schemas")?;
    if cx.json() {
        cx.print_json(&reply.raw);
        return Ok(Outcome::Success);
    }
    let rows: Vec<Vec<String>> = reply
        .body
        .schemas
        .iter()
        .map(|s| {
            vec![
                s.id.clone(),
                or_dash(s.current_version),
                or_dash(s.staged_version),
                short_time(s.updated_at.as_deref()),
            ]
        })
        .collect();
    print_table(&["SCHEMA", "CURRENT", "STAGED", "UPDATED"], &rows);
    Ok(Outcome::Success)
}

fn info(cx: &Context, args: &SchemaArgs) -> CliResult {
    let reply = cx.client.get::<SchemaInfo>(
        &["v1", "namespaces", &args.namespace, "schemas", &args.schema],
        &[],
    )?;
    if cx.json() {
        cx.print_json(&reply.raw);
        return Ok(Outcome::Success);
    }
    let info = reply.body;
    println!("schema:  {}/{}", args.namespace, info.id);
    println!("current: {}", or_dash(info.current_version));
    println!("staged:  {}", or_dash(info.staged_version));
    println!();
    let rows: Vec<Vec<String>> = info
        .versions
        .iter()
        .map(|v| {
            vec![
                v.version.to_string(),
                or_dash(v.state.as_deref()),
                short_time(v.created_at.as_deref()),
                if v.created_by.is_empty() {
                    "-".to_owned()
                } else {
                    v.created_by.clone()
                },
                v.files.len().to_string(),
                v.fingerprint.chars().take(12).collect(),
            ]
        })
        .collect();
    print_table(
        &[
            "VERSION",
            "STATE",
            "CREATED",
            "CREATED_BY",
            "FILES",
            "FINGERPRINT",
        ],
        &rows,
    );
    Ok(Outcome::Success)
}

/// The path of a version's sources or descriptor.
fn version_path<'a>(
    namespace: &'a str,
    schema: &'a str,
    version: &'a str,
    leaf: &'a str,
) -> [&'a str; 8] {
    [
        "v1",
        "namespaces",
        namespace,
        "schemas",
        schema,
        "versions",
        version,
        leaf,
    ]
}

fn source(cx: &Context, args: &SourceArgs) -> CliResult {
    let path = version_path(&args.namespace, &args.schema, &args.version, "sources");
    let reply = cx.client.get::<Sources>(&path, &[])?;
    if let Some(out) = &args.out {
        files::write_sources(out, &reply.body.sources)?;
        if cx.json() {
            cx.print_json(&reply.raw);
        } else {
            eprintln!(
                "wrote {} files under {}",
                reply.body.sources.len(),
                out.display()
            );
        }
    } else if cx.json() {
        cx.print_json(&reply.raw);
    } else {
        // Each file under a `// path` header line, like `cat` of the tree.
        let mut first = true;
        for (path, text) in &reply.body.sources {
            if !first {
                println!();
            }
            first = false;
            println!("// ==> {path} <==");
            print!("{text}");
            if !text.ends_with('\n') {
                println!();
            }
        }
    }
    Ok(Outcome::Success)
}

fn descriptor(cx: &Context, args: &DescriptorArgs) -> CliResult {
    let path = version_path(&args.namespace, &args.schema, &args.version, "descriptor");
    let json = args.json || cx.json();
    let query: &[(&str, &str)] = if json { &[("format", "json")] } else { &[] };
    let reply = cx.client.get_bytes(&path, query)?;
    let bytes = if json {
        // Pretty, like every other JSON answer.
        let value: Value = serde_json::from_slice(&reply.bytes)
            .map_err(|e| CliError::Message(format!("the descriptor set is not valid JSON: {e}")))?;
        let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
        text.push('\n');
        text.into_bytes()
    } else {
        reply.bytes
    };
    match &args.out {
        Some(path) => {
            std::fs::write(path, &bytes)
                .map_err(|e| CliError::Message(format!("cannot write {}: {e}", path.display())))?;
            eprintln!("wrote {} bytes to {}", bytes.len(), path.display());
        }
        None if !json && std::io::stdout().is_terminal() => {
            return Err(CliError::Message(
                "the descriptor set is binary: use -o FILE, a pipe, or --json".into(),
            ));
        }
        None => write_stdout(&bytes)?,
    }
    Ok(Outcome::Success)
}

pub fn write_stdout(bytes: &[u8]) -> Result<(), CliError> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(bytes)
        .and_then(|()| stdout.flush())
        .map_err(|e| CliError::Message(format!("cannot write to stdout: {e}")))
}

#[derive(Debug, Deserialize)]
struct Diff {
    #[serde(default)]
    violations: Vec<Violation>,
    #[serde(default)]
    added: Vec<DiffEntry>,
    #[serde(default)]
    removed: Vec<DiffEntry>,
    #[serde(default)]
    changed: Vec<DiffEntry>,
}

#[derive(Debug, Deserialize)]
struct DiffEntry {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    file: String,
    #[serde(default)]
    line: u32,
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    to: Option<String>,
}

impl DiffEntry {
    fn line(&self, mark: char) -> String {
        let mut out = format!("{mark} {} {}", self.kind, self.name);
        if let (Some(from), Some(to)) = (&self.from, &self.to) {
            out.push_str(&format!(": {from} -> {to}"));
        }
        if !self.file.is_empty() {
            out.push_str(&format!("  ({}:{})", self.file, self.line.max(1)));
        }
        out
    }
}

pub fn diff(cx: &Context, args: DiffArgs) -> CliResult {
    let reply = cx.client.get::<Diff>(
        &[
            "v1",
            "namespaces",
            &args.namespace,
            "schemas",
            &args.schema,
            "diff",
        ],
        &[("from", &args.from), ("to", &args.to)],
    )?;
    if cx.json() {
        cx.print_json(&reply.raw);
        return Ok(Outcome::Success);
    }
    let diff = reply.body;
    if diff.added.is_empty() && diff.removed.is_empty() && diff.changed.is_empty() {
        println!("no changes");
    }
    for entry in &diff.added {
        println!("{}", entry.line('+'));
    }
    for entry in &diff.removed {
        println!("{}", entry.line('-'));
    }
    for entry in &diff.changed {
        println!("{}", entry.line('~'));
    }
    if !diff.violations.is_empty() {
        println!();
        println!("breaking changes:");
        for violation in &diff.violations {
            println!("{violation}");
        }
    }
    Ok(Outcome::Success)
}
