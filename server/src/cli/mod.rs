//! The command-line client: `protoreg push`, `load`, `promote`, `check`,
//! ... speak the HTTP API of a running registry (docs/API.md).
//!
//! Output: `--output text` prints a short summary, `--output json` the
//! server's JSON answer as is (pretty). Errors go to stderr: compile errors
//! as `file:line:column: message` (like protoc and buf), compatibility
//! violations as `file:line:column:message (RULE)`, anything else as
//! `protoreg: <detail> (<code>)`.
//!
//! Exit status: 0 success, 1 error, 100 when `check` finds breaking changes
//! (as `buf breaking` does).

mod client;
mod events;
mod export;
mod files;
mod namespace;
mod publish;
mod schema;
mod sources;
mod staging;
mod token;
mod types;
mod webhook;

use std::fmt;
use std::io::Write;
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use serde_json::Value;

use client::{Client, Problem};

/// Exit status of `check` when it finds breaking changes (buf's).
const EXIT_INCOMPATIBLE: u8 = 100;

/// Flags of every client command (also accepted after the subcommand).
#[derive(Debug, Args)]
#[command(next_help_heading = "Client options")]
pub struct GlobalArgs {
    /// URL of the registry: http://HOST:PORT or https://HOST:PORT (checked
    /// against the system roots and --ca-cert).
    #[arg(
        long,
        global = true,
        env = "PROTOREG_SERVER",
        default_value = "http://127.0.0.1:8080",
        value_name = "URL"
    )]
    server: String,
    /// Bearer token sent as `Authorization: Bearer TOKEN`.
    #[arg(
        long,
        global = true,
        env = "PROTOREG_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    token: Option<String>,
    /// PEM CA certificate(s) to trust for an https:// server, besides the
    /// system roots.
    #[arg(long, global = true, env = "PROTOREG_CA_CERT", value_name = "FILE")]
    ca_cert: Option<std::path::PathBuf>,
    /// PEM client certificate chain, for a server that requires one (mutual
    /// TLS); needs --client-key.
    #[arg(long, global = true, env = "PROTOREG_CLIENT_CERT", value_name = "FILE")]
    client_cert: Option<std::path::PathBuf>,
    /// PEM private key of --client-cert.
    #[arg(long, global = true, env = "PROTOREG_CLIENT_KEY", value_name = "FILE")]
    client_key: Option<std::path::PathBuf>,
    /// text: a short summary; json: the server's JSON answer as is.
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Text)]
    output: OutputFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Create, list, show and delete namespaces.
    #[command(subcommand, visible_alias = "ns")]
    Namespace(namespace::NamespaceCommand),
    /// Publish every .proto file under DIR as a new (staged) version of
    /// SCHEMA; paths are relative to DIR.
    Push(publish::PushArgs),
    /// Push each folder directly under DIR as a schema named after it,
    /// importers after the schemas they import.
    Load(publish::LoadArgs),
    /// Every current .proto of a namespace into a directory, one folder per
    /// schema (what `load` reads back).
    Export(export::ExportArgs),
    /// Dry run: would the .proto files under DIR publish, and be compatible
    /// with SCHEMA's current version?
    ///
    /// Exit status: 0 compatible, 100 breaking changes (printed as
    /// FILE:LINE:COLUMN:MESSAGE (RULE)), 1 error (e.g. a compile error).
    Check(publish::CheckArgs),
    /// Make every staged version of the namespace current, atomically.
    Promote(staging::PromoteArgs),
    /// Drop every staged version of the namespace.
    Discard(staging::DiscardArgs),
    /// Stage an earlier version of a schema (promote to make it current).
    Rollback(staging::RollbackArgs),
    /// Schemas and their versions, sources and descriptor sets.
    #[command(subcommand)]
    Schema(schema::SchemaCommand),
    /// What changed between two versions of a schema, and what of it breaks
    /// compatibility.
    Diff(schema::DiffArgs),
    /// Check a message (JSON, text format or binary) against a type.
    Validate(types::ValidateArgs),
    /// Convert a message between JSON, text format and binary.
    Transcode(types::TranscodeArgs),
    /// Print the registry's events (those of namespaces you may read);
    /// `--follow` keeps printing new ones as they happen.
    Events(events::EventsArgs),
    /// Create, list and revoke API tokens (admin).
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// Create, list and remove webhook subscriptions; deliveries,
    /// redeliver, ping (admin).
    #[command(subcommand)]
    Webhook(webhook::WebhookCommand),
    /// Register a service's repository (a source with a service) and run
    /// its first sync, printing the job's outcome.
    Register(sources::RegisterArgs),
    /// Repository sources: list, show, sync (waits for the job), rm.
    #[command(subcommand)]
    Sources(sources::SourcesCommand),
    /// Registered services with their schemas' current versions.
    Services(sources::ServicesArgs),
}

/// Why a command failed.
#[derive(Debug)]
pub enum CliError {
    /// The server's problem document.
    Problem(Problem),
    /// A local error, or a server that could not be reached or understood.
    Message(String),
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Problem(p) => write!(f, "{} ({})", p.detail, p.code),
            CliError::Message(m) => f.write_str(m),
        }
    }
}

/// How a command that did its work ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    /// It ran, and what it found is a failure (an invalid message, a
    /// schema that does not compile in `check`).
    Failure,
    /// `check` found breaking changes.
    Incompatible,
}

pub type CliResult = Result<Outcome, CliError>;

/// What every command gets: the client and the output format.
#[derive(Debug)]
pub struct Context {
    client: Client,
    output: OutputFormat,
}

impl Context {
    fn json(&self) -> bool {
        self.output == OutputFormat::Json
    }

    /// Prints the server's answer, pretty.
    fn print_json(&self, value: &Value) {
        print_pretty(value);
    }
}

fn print_pretty(value: &Value) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => println!("{text}"),
        Err(_) => println!("{value}"),
    }
}

pub fn run(global: GlobalArgs, command: ClientCommand) -> ExitCode {
    let output = global.output;
    let tls = client::TlsOptions {
        ca_cert: global.ca_cert,
        client_cert: global.client_cert,
        client_key: global.client_key,
    };
    let result = Client::with_tls(&global.server, global.token, &tls)
        .and_then(|client| dispatch(&Context { client, output }, command));
    // A closed pipe (`protoreg schema list ns | head`) is not worth a panic.
    let _ = std::io::stdout().flush();
    match result {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::Failure) => ExitCode::FAILURE,
        Ok(Outcome::Incompatible) => ExitCode::from(EXIT_INCOMPATIBLE),
        Err(err) => {
            report(&err, output);
            ExitCode::FAILURE
        }
    }
}

fn dispatch(cx: &Context, command: ClientCommand) -> CliResult {
    match command {
        ClientCommand::Namespace(command) => namespace::run(cx, command),
        ClientCommand::Push(args) => publish::push(cx, args),
        ClientCommand::Load(args) => publish::load(cx, args),
        ClientCommand::Export(args) => export::export(cx, args),
        ClientCommand::Check(args) => publish::check(cx, args),
        ClientCommand::Promote(args) => staging::promote(cx, args),
        ClientCommand::Discard(args) => staging::discard(cx, args),
        ClientCommand::Rollback(args) => staging::rollback(cx, args),
        ClientCommand::Schema(command) => schema::run(cx, command),
        ClientCommand::Diff(args) => schema::diff(cx, args),
        ClientCommand::Validate(args) => types::validate(cx, args),
        ClientCommand::Transcode(args) => types::transcode(cx, args),
        ClientCommand::Token(command) => token::run(cx, command),
        ClientCommand::Events(args) => events::run(cx, args),
        ClientCommand::Webhook(command) => webhook::run(cx, command),
        ClientCommand::Register(args) => sources::register(cx, args),
        ClientCommand::Sources(command) => sources::run(cx, command),
        ClientCommand::Services(args) => sources::services(cx, args),
    }
}

/// Prints an error: with `--output json` the problem document goes to
/// stdout as well, so scripts get the server's answer whatever it was.
fn report(err: &CliError, output: OutputFormat) {
    match err {
        CliError::Problem(problem) => {
            if output == OutputFormat::Json {
                print_pretty(&problem.raw);
            }
            // Compile errors speak for themselves, one per line, like protoc.
            let compile_errors = problem.compile_errors();
            for error in &compile_errors {
                eprintln!("{error}");
            }
            if !compile_errors.is_empty() {
                return;
            }
            for violation in problem.violations() {
                eprintln!("{violation}");
            }
            for error in problem.field_errors() {
                eprintln!("{error}");
            }
            eprintln!("protoreg: {} ({})", problem.detail, problem.code);
        }
        CliError::Message(message) => eprintln!("protoreg: {message}"),
    }
}

/// Prints rows as left-aligned columns under a header, two spaces apart.
fn print_table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i > 0 {
                out.push_str("  ");
            }
            out.push_str(cell);
            let pad = widths[i].saturating_sub(cell.chars().count());
            out.extend(std::iter::repeat_n(' ', pad));
        }
        println!("{}", out.trim_end());
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}

/// An RFC 3339 time to the second (`2026-01-02T03:04:05Z`), or as given
/// when it does not parse; `-` when absent.
fn short_time(time: Option<&str>) -> String {
    match time {
        None => "-".to_owned(),
        Some(text) => chrono::DateTime::parse_from_rfc3339(text).map_or_else(
            |_| text.to_owned(),
            |t| {
                t.with_timezone(&chrono::Utc)
                    .format("%Y-%m-%dT%H:%M:%SZ")
                    .to_string()
            },
        ),
    }
}

/// `-` for an absent value.
fn or_dash<T: fmt::Display>(value: Option<T>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

/// Parses `KEY=VALUE` flags.
fn parse_key_value(value: &str) -> Result<(String, String), String> {
    match value.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => {
            Ok((key.trim().to_owned(), value.to_owned()))
        }
        _ => Err(format!("expected KEY=VALUE, got {value:?}")),
    }
}

/// `{"k": "v", ...}` from `KEY=VALUE` pairs, or `None` when there are none.
fn metadata(pairs: &[(String, String)]) -> Option<Value> {
    (!pairs.is_empty()).then(|| {
        Value::Object(
            pairs
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect(),
        )
    })
}
