//! `protoreg push`, `load` and `check`: directories of `.proto` files sent as
//! `{sources: {path: text}}`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use protoreg_client::Method;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::client::{CompileError, Violation};
use super::files::{self, ProtoTree};
use super::{
    CliError, CliResult, Context, Outcome, OutputFormat, metadata, parse_key_value, report,
};

#[derive(Debug, Args)]
pub struct PushArgs {
    namespace: String,
    schema: String,
    /// Directory whose .proto files (at any depth) make the schema.
    dir: PathBuf,
    /// Recorded as the version's author.
    #[arg(long, value_name = "NAME")]
    created_by: Option<String>,
    /// KEY=VALUE metadata of the version; repeatable.
    #[arg(long = "metadata", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    metadata: Vec<(String, String)>,
    /// Allow shadowing a well-known type's file path (global admin only).
    #[arg(long)]
    force: bool,
}

#[derive(Debug, Args)]
pub struct LoadArgs {
    namespace: String,
    /// Directory with one folder per schema.
    dir: PathBuf,
    /// Recorded as the author of every version.
    #[arg(long, value_name = "NAME")]
    created_by: Option<String>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    namespace: String,
    schema: String,
    /// Directory whose .proto files (at any depth) are the proposed schema.
    dir: PathBuf,
}

/// The publish answer of docs/API.md.
#[derive(Debug, Deserialize)]
struct Published {
    version: i64,
    #[serde(default)]
    fingerprint: String,
    #[serde(default)]
    no_change: bool,
    #[serde(default)]
    staged: bool,
    #[serde(default)]
    files: Vec<String>,
}

impl Published {
    fn summary(&self) -> String {
        let fingerprint: String = self.fingerprint.chars().take(12).collect();
        let files = match self.files.len() {
            1 => "1 file".to_owned(),
            n => format!("{n} files"),
        };
        if self.no_change {
            format!(
                "no change, version {} ({files}, {fingerprint})",
                self.version
            )
        } else if self.staged {
            format!("version {} staged ({files}, {fingerprint})", self.version)
        } else {
            format!(
                "version {} published ({files}, {fingerprint})",
                self.version
            )
        }
    }
}

/// The `.proto` files of `dir`, warning about links not followed; an error
/// when there are none.
fn read_dir_sources(dir: &Path) -> Result<ProtoTree, CliError> {
    let tree = files::collect_protos(dir)?;
    for link in &tree.skipped_links {
        eprintln!(
            "protoreg: warning: not following symbolic link {}",
            link.display()
        );
    }
    if tree.sources.is_empty() {
        return Err(CliError::Message(format!(
            "no .proto files under {}",
            dir.display()
        )));
    }
    Ok(tree)
}

fn publish_body(
    sources: BTreeMap<String, String>,
    created_by: Option<&str>,
    metadata: Option<Value>,
    force: bool,
) -> Value {
    let mut body = Map::new();
    body.insert("sources".into(), json!(sources));
    if let Some(created_by) = created_by {
        body.insert("created_by".into(), json!(created_by));
    }
    if let Some(metadata) = metadata {
        body.insert("metadata".into(), metadata);
    }
    if force {
        body.insert("force".into(), json!(true));
    }
    Value::Object(body)
}

fn publish(
    cx: &Context,
    namespace: &str,
    schema: &str,
    body: &Value,
) -> Result<super::client::Reply<Published>, CliError> {
    cx.client.send_json(
        Method::POST,
        &["v1", "namespaces", namespace, "schemas", schema, "versions"],
        body,
    )
}

pub fn push(cx: &Context, args: PushArgs) -> CliResult {
    let tree = read_dir_sources(&args.dir)?;
    let body = publish_body(
        tree.sources,
        args.created_by.as_deref(),
        metadata(&args.metadata),
        args.force,
    );
    let reply = publish(cx, &args.namespace, &args.schema, &body)?;
    if cx.json() {
        cx.print_json(&reply.raw);
    } else {
        println!(
            "{}/{}: {}",
            args.namespace,
            args.schema,
            reply.body.summary()
        );
    }
    Ok(Outcome::Success)
}

/// A schema folder of `load`, read.
struct SchemaDir {
    name: String,
    sources: BTreeMap<String, String>,
}

pub fn load(cx: &Context, args: LoadArgs) -> CliResult {
    let found = files::schema_folders(&args.dir)?;
    for path in found.ignored {
        eprintln!(
            "protoreg: warning: ignoring {}: load pushes each folder of {} as a schema",
            path.display(),
            args.dir.display()
        );
    }
    let mut schemas = Vec::new();
    for (name, path) in found.folders {
        let tree = read_dir_sources(&path)?;
        schemas.push(SchemaDir {
            name,
            sources: tree.sources,
        });
    }
    if schemas.is_empty() {
        return Err(CliError::Message(format!(
            "no schema folders under {}",
            args.dir.display()
        )));
    }
    let schemas = import_order(schemas);
    let progress = Progress::new(schemas.len() as u64);
    let mut results = Vec::new();
    let mut remaining = schemas.iter().map(|s| s.name.clone()).collect::<Vec<_>>();
    for schema in &schemas {
        remaining.remove(0);
        progress.start(&schema.name);
        let body = publish_body(
            schema.sources.clone(),
            args.created_by.as_deref(),
            None,
            false,
        );
        match publish(cx, &args.namespace, &schema.name, &body) {
            Ok(reply) => {
                if !cx.json() {
                    progress.println(format!(
                        "{}/{}: {}",
                        args.namespace,
                        schema.name,
                        reply.body.summary()
                    ));
                }
                results.push(json!({ "schema": schema.name, "result": reply.raw }));
                progress.done();
            }
            Err(err) => {
                progress.finish();
                if cx.json() {
                    let problem = match &err {
                        CliError::Problem(p) => p.raw.clone(),
                        CliError::Message(m) => json!({ "detail": m }),
                    };
                    cx.print_json(&json!({
                        "schemas": results,
                        "failed": { "schema": schema.name, "problem": problem },
                        "not_pushed": remaining,
                    }));
                }
                // The problem document is in the JSON above; stderr says it
                // for people.
                report(&err, OutputFormat::Text);
                let mut stopped = format!("protoreg: load stopped at schema {}", schema.name);
                if !remaining.is_empty() {
                    stopped.push_str(&format!("; not pushed: {}", remaining.join(", ")));
                }
                eprintln!("{stopped}");
                return Ok(Outcome::Failure);
            }
        }
    }
    progress.finish();
    if cx.json() {
        cx.print_json(&json!({ "schemas": results }));
    }
    Ok(Outcome::Success)
}

/// A bar on a terminal; nothing otherwise (the result lines are the plain
/// progress then).
struct Progress(Option<ProgressBar>);

impl Progress {
    fn new(len: u64) -> Self {
        if !std::io::stderr().is_terminal() {
            return Self(None);
        }
        let bar = ProgressBar::new(len);
        if let Ok(style) = ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} {msg}") {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.enable_steady_tick(Duration::from_millis(120));
        Self(Some(bar))
    }

    fn start(&self, schema: &str) {
        if let Some(bar) = &self.0 {
            bar.set_message(format!("pushing {schema}"));
        }
    }

    fn println(&self, line: String) {
        match &self.0 {
            Some(bar) => bar.suspend(|| println!("{line}")),
            None => println!("{line}"),
        }
    }

    fn done(&self) {
        if let Some(bar) = &self.0 {
            bar.inc(1);
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

/// Schemas ordered so that each comes after the schemas whose files it
/// imports (a publish only resolves imports to what the namespace already
/// has), by name otherwise; a cycle falls back to name order.
fn import_order(schemas: Vec<SchemaDir>) -> Vec<SchemaDir> {
    let owner: BTreeMap<&str, &str> = schemas
        .iter()
        .flat_map(|s| {
            s.sources
                .keys()
                .map(move |path| (path.as_str(), s.name.as_str()))
        })
        .collect();
    let mut needs: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for schema in &schemas {
        let deps = schema
            .sources
            .values()
            .flat_map(|text| files::imports(text))
            .filter_map(|import| owner.get(import.as_str()).copied())
            .filter(|dep| *dep != schema.name)
            .map(str::to_owned)
            .collect();
        needs.insert(schema.name.clone(), deps);
    }
    let mut by_name: BTreeMap<String, SchemaDir> =
        schemas.into_iter().map(|s| (s.name.clone(), s)).collect();
    let mut ordered = Vec::new();
    while !by_name.is_empty() {
        let next = by_name
            .keys()
            .find(|name| needs[*name].iter().all(|dep| !by_name.contains_key(dep)))
            .or_else(|| by_name.keys().next())
            .cloned();
        let Some(next) = next else { break };
        if let Some(schema) = by_name.remove(&next) {
            ordered.push(schema);
        }
    }
    ordered
}

/// The check answer of docs/API.md.
#[derive(Debug, Deserialize)]
struct Checked {
    compatible: bool,
    #[serde(default)]
    violations: Vec<Violation>,
    #[serde(default)]
    errors: Vec<CompileError>,
}

pub fn check(cx: &Context, args: CheckArgs) -> CliResult {
    let tree = read_dir_sources(&args.dir)?;
    let reply = cx.client.send_json::<Checked>(
        Method::POST,
        &[
            "v1",
            "namespaces",
            &args.namespace,
            "schemas",
            &args.schema,
            "check",
        ],
        &json!({ "sources": tree.sources }),
    )?;
    let checked = reply.body;
    if cx.json() {
        cx.print_json(&reply.raw);
    }
    if !checked.errors.is_empty() {
        for error in &checked.errors {
            eprintln!("{error}");
        }
        return Ok(Outcome::Failure);
    }
    if checked.compatible && checked.violations.is_empty() {
        if !cx.json() {
            println!(
                "{}/{}: compatible with the current version",
                args.namespace, args.schema
            );
        }
        return Ok(Outcome::Success);
    }
    if !cx.json() {
        for violation in &checked.violations {
            println!("{violation}");
        }
    }
    Ok(Outcome::Incompatible)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(name: &str, files: &[(&str, &str)]) -> SchemaDir {
        SchemaDir {
            name: name.to_owned(),
            sources: files
                .iter()
                .map(|(p, t)| (p.to_string(), t.to_string()))
                .collect(),
        }
    }

    fn names(schemas: &[SchemaDir]) -> Vec<&str> {
        schemas.iter().map(|s| s.name.as_str()).collect()
    }

    #[test]
    fn load_pushes_imported_schemas_first_then_by_name() {
        let ordered = import_order(vec![
            schema(
                "a-billing",
                &[("billing/invoice.proto", "import \"common/money.proto\";")],
            ),
            schema("b-other", &[("other/x.proto", "syntax = \"proto3\";")]),
            schema(
                "z-common",
                &[("common/money.proto", "syntax = \"proto3\";")],
            ),
        ]);
        assert_eq!(names(&ordered), ["b-other", "z-common", "a-billing"]);
    }

    #[test]
    fn an_import_cycle_falls_back_to_name_order() {
        let ordered = import_order(vec![
            schema("b", &[("b.proto", "import \"a.proto\";")]),
            schema("a", &[("a.proto", "import \"b.proto\";")]),
        ]);
        assert_eq!(names(&ordered), ["a", "b"]);
    }
}
