//! `protoreg promote`, `discard` and `rollback`: the staging area of a
//! namespace.

use clap::Args;
use protoreg_client::Method;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{CliResult, Context, Outcome, or_dash};

#[derive(Debug, Args)]
pub struct PromoteArgs {
    namespace: String,
    /// Check that the promotion would succeed, without doing it.
    #[arg(long)]
    dry_run: bool,
}

#[derive(Debug, Args)]
pub struct DiscardArgs {
    namespace: String,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    namespace: String,
    schema: String,
    /// The earlier version to stage.
    #[arg(value_parser = clap::value_parser!(u32).range(1..=i32::MAX as i64))]
    version: u32,
    /// Skip the compatibility check (admin).
    #[arg(long)]
    force: bool,
}

#[derive(Debug, Deserialize)]
struct Promoted {
    #[serde(default)]
    promoted: Vec<PromotedSchema>,
    #[serde(default)]
    revision: Option<i64>,
}

#[derive(Debug, Deserialize)]
struct PromotedSchema {
    schema: String,
    #[serde(default)]
    from_version: Option<i64>,
    to_version: i64,
}

pub fn promote(cx: &Context, args: PromoteArgs) -> CliResult {
    let reply = cx.client.send_json::<Promoted>(
        Method::POST,
        &["v1", "namespaces", &args.namespace, "promote"],
        &json!({ "dry_run": args.dry_run }),
    )?;
    if cx.json() {
        cx.print_json(&reply.raw);
        return Ok(Outcome::Success);
    }
    let promoted = reply.body;
    if promoted.promoted.is_empty() {
        println!("{}: nothing staged to promote", args.namespace);
        return Ok(Outcome::Success);
    }
    let verb = if args.dry_run {
        "would promote"
    } else {
        "promoted"
    };
    for schema in &promoted.promoted {
        println!(
            "{verb} {}/{}: {} -> {}",
            args.namespace,
            schema.schema,
            or_dash(schema.from_version),
            schema.to_version
        );
    }
    if !args.dry_run {
        println!(
            "{}: revision {}",
            args.namespace,
            or_dash(promoted.revision)
        );
    }
    Ok(Outcome::Success)
}

#[derive(Debug, Deserialize)]
struct Discarded {
    #[serde(default)]
    discarded: Vec<String>,
}

pub fn discard(cx: &Context, args: DiscardArgs) -> CliResult {
    let reply = cx
        .client
        .delete::<Discarded>(&["v1", "namespaces", &args.namespace, "staging"])?;
    if cx.json() {
        cx.print_json(&reply.raw);
    } else if reply.body.discarded.is_empty() {
        println!("{}: nothing staged", args.namespace);
    } else {
        println!(
            "{}: discarded {}",
            args.namespace,
            reply.body.discarded.join(", ")
        );
    }
    Ok(Outcome::Success)
}

#[derive(Debug, Deserialize)]
struct RolledBack {
    version: i64,
}

pub fn rollback(cx: &Context, args: RollbackArgs) -> CliResult {
    let mut body = json!({ "version": args.version });
    if args.force {
        body["force"] = Value::Bool(true);
    }
    let reply = cx.client.send_json::<RolledBack>(
        Method::POST,
        &[
            "v1",
            "namespaces",
            &args.namespace,
            "schemas",
            &args.schema,
            "rollback",
        ],
        &body,
    )?;
    if cx.json() {
        cx.print_json(&reply.raw);
    } else {
        println!(
            "{}/{}: version {} staged (promote to make it current)",
            args.namespace, args.schema, reply.body.version
        );
    }
    Ok(Outcome::Success)
}
