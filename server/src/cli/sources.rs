//! `protoreg register`, `protoreg sources list|show|sync|rm` and
//! `protoreg services`: repository sources (`/v1/sources`), their sync jobs
//! and registered services.

use std::time::{Duration, Instant};

use clap::{Args, Subcommand};
use protoreg_client::Method;
use serde_json::{Value, json};

use super::{CliError, CliResult, Context, Outcome, print_table, short_time};

#[derive(Debug, Args)]
pub struct RegisterArgs {
    /// The namespace the repository's schemas are published into.
    #[arg(long)]
    namespace: String,
    /// The repository (`https://`, `ssh://`, `file://` or `user@host:path`).
    #[arg(long)]
    repo: String,
    /// The service's name.
    #[arg(long)]
    name: String,
    /// The service's domain.
    #[arg(long)]
    domain: String,
    #[arg(long)]
    owner: Option<String>,
    #[arg(long, default_value = "main")]
    branch: String,
    /// The folder of the repository the schema folders are under.
    #[arg(long, default_value = ".")]
    root: String,
    /// `folders`: each folder under the root is a schema named after it.
    #[arg(long, default_value = "folders")]
    layout: String,
    /// Promote after each compatible sync.
    #[arg(long)]
    auto_promote: bool,
    /// The push webhook's secret (`POST /v1/hooks/git`).
    #[arg(long, env = "PROTOREG_SOURCE_SECRET", hide_env_values = true)]
    secret: Option<String>,
    /// Create the source without running the first sync.
    #[arg(long)]
    no_sync: bool,
}

#[derive(Debug, Subcommand)]
pub enum SourcesCommand {
    /// Every source you may read, with its last sync.
    List,
    /// One source.
    Show(IdArgs),
    /// Sync now and wait for the job's outcome.
    Sync(SyncArgs),
    /// Remove a source (published versions stay).
    Rm(IdArgs),
}

#[derive(Debug, Args)]
pub struct IdArgs {
    id: String,
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    id: String,
    /// A commit instead of the branch's head.
    #[arg(long)]
    commit: Option<String>,
    /// Return once the job is queued.
    #[arg(long)]
    no_wait: bool,
}

#[derive(Debug, Args)]
pub struct ServicesArgs {
    #[arg(long)]
    domain: Option<String>,
    #[arg(long)]
    namespace: Option<String>,
}

fn checked_id(id: &str) -> Result<&str, CliError> {
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CliError::Message(format!("invalid source id {id:?}")));
    }
    Ok(id)
}

fn field(value: &Value, name: &str) -> String {
    match &value[name] {
        Value::Null => "-".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub fn register(cx: &Context, args: RegisterArgs) -> CliResult {
    let mut service = json!({"name": args.name, "domain": args.domain});
    if let Some(owner) = args.owner {
        service["owner"] = json!(owner);
    }
    let mut body = json!({
        "namespace": args.namespace, "url": args.repo, "branch": args.branch,
        "root": args.root, "layout": args.layout, "auto_promote": args.auto_promote,
        "service": service,
    });
    if let Some(secret) = args.secret {
        body["secret"] = json!(secret);
    }
    let created = cx
        .client
        .send_json::<Value>(Method::POST, &["v1", "sources"], &body)?;
    let id = field(&created.body, "id");
    if args.no_sync {
        if cx.json() {
            cx.print_json(&created.raw);
        } else {
            println!("source {id} registered");
        }
        return Ok(Outcome::Success);
    }
    if !cx.json() {
        println!("source {id} registered; syncing");
    }
    let outcome = sync_and_wait(cx, &id, None)?;
    if cx.json() {
        cx.print_json(&json!({"source": created.raw, "job": outcome.1}));
    }
    Ok(outcome.0)
}

/// Queues a sync and waits for its job; prints its log (text output).
fn sync_and_wait(
    cx: &Context,
    id: &str,
    commit: Option<String>,
) -> Result<(Outcome, Value), CliError> {
    let body = match commit {
        Some(commit) => json!({"commit": commit}),
        None => json!({}),
    };
    let queued =
        cx.client
            .send_json::<Value>(Method::POST, &["v1", "sources", id, "sync"], &body)?;
    let job = field(&queued.body, "job");
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let reply = cx.client.get::<Value>(&["v1", "jobs", &job], &[])?;
        let status = field(&reply.body, "status");
        if status == "succeeded" || status == "failed" {
            if !cx.json() {
                print!("{}", field(&reply.body, "log"));
                println!("job {job} {status} at {}", field(&reply.body, "commit"));
            }
            let outcome = if status == "succeeded" {
                Outcome::Success
            } else {
                Outcome::Failure
            };
            return Ok((outcome, reply.raw));
        }
        if Instant::now() > deadline {
            return Err(CliError::Message(format!(
                "job {job} did not finish within 10 minutes (status {status})"
            )));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

pub fn run(cx: &Context, command: SourcesCommand) -> CliResult {
    match command {
        SourcesCommand::List => list(cx),
        SourcesCommand::Show(args) => {
            let reply = cx
                .client
                .get::<Value>(&["v1", "sources", checked_id(&args.id)?], &[])?;
            cx.print_json(&reply.raw);
            Ok(Outcome::Success)
        }
        SourcesCommand::Sync(args) => {
            let id = checked_id(&args.id)?;
            if args.no_wait {
                let body = match args.commit {
                    Some(commit) => json!({"commit": commit}),
                    None => json!({}),
                };
                let queued = cx.client.send_json::<Value>(
                    Method::POST,
                    &["v1", "sources", id, "sync"],
                    &body,
                )?;
                if cx.json() {
                    cx.print_json(&queued.raw);
                } else {
                    println!("job {} queued", field(&queued.body, "job"));
                }
                return Ok(Outcome::Success);
            }
            let (outcome, job) = sync_and_wait(cx, id, args.commit)?;
            if cx.json() {
                cx.print_json(&job);
            }
            Ok(outcome)
        }
        SourcesCommand::Rm(args) => {
            let id = checked_id(&args.id)?;
            cx.client.delete::<Value>(&["v1", "sources", id])?;
            if cx.json() {
                cx.print_json(&json!({"removed": id}));
            } else {
                println!("source {id} removed");
            }
            Ok(Outcome::Success)
        }
    }
}

fn list(cx: &Context) -> CliResult {
    let reply = cx.client.get::<Value>(&["v1", "sources"], &[])?;
    if cx.json() {
        cx.print_json(&reply.raw);
        return Ok(Outcome::Success);
    }
    let empty = Vec::new();
    let rows: Vec<Vec<String>> = reply.raw["sources"]
        .as_array()
        .unwrap_or(&empty)
        .iter()
        .map(|s| {
            let last = &s["last_sync"];
            vec![
                field(s, "id"),
                field(s, "namespace"),
                field(s, "url"),
                field(s, "branch"),
                if last.is_null() {
                    "-".into()
                } else {
                    field(last, "status")
                },
                if last.is_null() {
                    "-".into()
                } else {
                    field(last, "commit").chars().take(12).collect()
                },
                short_time(last["finished_at"].as_str()),
            ]
        })
        .collect();
    print_table(
        &[
            "ID",
            "NAMESPACE",
            "URL",
            "BRANCH",
            "LAST SYNC",
            "COMMIT",
            "AT",
        ],
        &rows,
    );
    Ok(Outcome::Success)
}

pub fn services(cx: &Context, args: ServicesArgs) -> CliResult {
    let mut query = Vec::new();
    if let Some(domain) = &args.domain {
        query.push(("domain", domain.as_str()));
    }
    if let Some(namespace) = &args.namespace {
        query.push(("namespace", namespace.as_str()));
    }
    let reply = cx.client.get::<Value>(&["v1", "services"], &query)?;
    if cx.json() {
        cx.print_json(&reply.raw);
        return Ok(Outcome::Success);
    }
    let empty = Vec::new();
    let rows: Vec<Vec<String>> = reply.raw["services"]
        .as_array()
        .unwrap_or(&empty)
        .iter()
        .map(|s| {
            let schemas = s["schemas"]
                .as_array()
                .unwrap_or(&empty)
                .iter()
                .map(|x| format!("{}@{}", field(x, "schema"), field(x, "current_version")))
                .collect::<Vec<_>>()
                .join(",");
            vec![
                field(s, "name"),
                field(s, "domain"),
                field(s, "owner"),
                field(s, "namespace"),
                schemas,
                field(&s["last_sync"], "status"),
            ]
        })
        .collect();
    print_table(
        &[
            "NAME",
            "DOMAIN",
            "OWNER",
            "NAMESPACE",
            "SCHEMAS",
            "LAST SYNC",
        ],
        &rows,
    );
    Ok(Outcome::Success)
}
