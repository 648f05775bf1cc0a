//! `protoreg namespace create|list|get|delete`.

use clap::{Args, Subcommand};
use protoreg_client::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{
    CliResult, Context, Outcome, metadata, or_dash, parse_key_value, print_table, short_time,
};

#[derive(Debug, Subcommand)]
pub enum NamespaceCommand {
    /// Create a namespace, or update its metadata when it exists.
    Create(CreateArgs),
    /// Every namespace with its schema and staged counts.
    List,
    /// One namespace with its settings.
    Get(NamespaceArg),
    /// Delete a namespace (soft delete; admin).
    Delete(NamespaceArg),
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    namespace: String,
    /// KEY=VALUE metadata; repeatable.
    #[arg(long = "metadata", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    metadata: Vec<(String, String)>,
}

#[derive(Debug, Args)]
pub struct NamespaceArg {
    namespace: String,
}

#[derive(Debug, Deserialize)]
struct Namespace {
    id: String,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    schema_count: Option<u64>,
    #[serde(default)]
    staged_count: Option<u64>,
    #[serde(default)]
    revision: Option<i64>,
    #[serde(default)]
    metadata: Map<String, Value>,
    #[serde(default)]
    settings: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct NamespaceList {
    namespaces: Vec<Namespace>,
}

pub fn run(cx: &Context, command: NamespaceCommand) -> CliResult {
    match command {
        NamespaceCommand::Create(args) => create(cx, args),
        NamespaceCommand::List => list(cx),
        NamespaceCommand::Get(args) => get(cx, &args.namespace),
        NamespaceCommand::Delete(args) => delete(cx, &args.namespace),
    }
}

fn create(cx: &Context, args: CreateArgs) -> CliResult {
    let mut body = Map::new();
    if let Some(metadata) = metadata(&args.metadata) {
        body.insert("metadata".into(), metadata);
    }
    let reply = cx.client.send_json::<Namespace>(
        Method::PUT,
        &["v1", "namespaces", &args.namespace],
        &Value::Object(body),
    )?;
    if cx.json() {
        cx.print_json(&reply.raw);
    } else if reply.status == StatusCode::CREATED {
        println!("created namespace {}", reply.body.id);
    } else {
        println!("updated namespace {}", reply.body.id);
    }
    Ok(Outcome::Success)
}

fn list(cx: &Context) -> CliResult {
    let reply = cx
        .client
        .get_all::<NamespaceList>(&["v1", "namespaces"], "namespaces")?;
    if cx.json() {
        cx.print_json(&reply.raw);
        return Ok(Outcome::Success);
    }
    let rows: Vec<Vec<String>> = reply
        .body
        .namespaces
        .iter()
        .map(|ns| {
            vec![
                ns.id.clone(),
                or_dash(ns.schema_count),
                or_dash(ns.staged_count),
                or_dash(ns.revision),
                short_time(ns.created_at.as_deref()),
            ]
        })
        .collect();
    print_table(
        &["NAMESPACE", "SCHEMAS", "STAGED", "REVISION", "CREATED"],
        &rows,
    );
    Ok(Outcome::Success)
}

fn get(cx: &Context, namespace: &str) -> CliResult {
    let reply = cx
        .client
        .get::<Namespace>(&["v1", "namespaces", namespace], &[])?;
    if cx.json() {
        cx.print_json(&reply.raw);
        return Ok(Outcome::Success);
    }
    let ns = reply.body;
    println!("namespace: {}", ns.id);
    println!("created:   {}", short_time(ns.created_at.as_deref()));
    println!("schemas:   {}", or_dash(ns.schema_count));
    println!("staged:    {}", or_dash(ns.staged_count));
    println!("revision:  {}", or_dash(ns.revision));
    if !ns.metadata.is_empty() {
        println!("metadata:");
        for (key, value) in &ns.metadata {
            match value {
                Value::String(text) => println!("  {key}: {text}"),
                other => println!("  {key}: {other}"),
            }
        }
    }
    match ns.settings {
        Some(Value::Object(settings)) if !settings.is_empty() => {
            println!("settings:  {}", Value::Object(settings));
        }
        _ => println!("settings:  (defaults)"),
    }
    Ok(Outcome::Success)
}

fn delete(cx: &Context, namespace: &str) -> CliResult {
    let reply = cx
        .client
        .delete::<Value>(&["v1", "namespaces", namespace])?;
    if cx.json() {
        // 204 has no body; say what happened in JSON all the same.
        let raw = if reply.raw.is_null() {
            serde_json::json!({ "deleted": namespace })
        } else {
            reply.raw
        };
        cx.print_json(&raw);
    } else {
        println!("deleted namespace {namespace}");
    }
    Ok(Outcome::Success)
}
