#![doc = include_str!("../README.md")]

mod api_types;
mod auth;
mod cli;
mod compat_cli;
mod config;
mod console;
mod edge;
mod error;
mod extract;
mod grpc;
mod handlers;
mod memory;
mod metrics;
mod openapi;
mod reload;
mod routes;
mod serve;
mod tls;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "protoreg",
    version,
    about = "A multi-namespace Protocol Buffers schema registry"
)]
struct Cli {
    #[command(flatten)]
    client: cli::GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the registry server.
    Serve(ServeArgs),
    /// Offline compatibility tools (buf's breaking-change rules).
    Compat(compat_cli::CompatArgs),
    /// Client commands: they talk to a running registry at --server.
    #[command(flatten)]
    Client(cli::ClientCommand),
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Configuration file (default: config/protoreg.toml when it exists).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Address to listen on, e.g. 127.0.0.1:8080 (port 0 picks a free port).
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
    /// sqlite://PATH or postgres://USER@HOST/DB.
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
}

fn main() -> ExitCode {
    // Run by git as `GIT_ASKPASS` during a repository sync: answer its
    // prompt with the credential the sync put in our environment (never on
    // a command line).
    if std::env::var_os(protoreg_core::git::ASKPASS_FLAG).is_some() {
        return askpass();
    }
    let cli = Cli::parse();
    match cli.command {
        Command::Compat(args) => compat_cli::run(args),
        Command::Client(command) => cli::run(cli.client, command),
        Command::Serve(args) => {
            let overrides = config::Overrides {
                config_file: args.config,
                listen: args.listen,
                database_url: args.database_url,
            };
            match serve::run(overrides) {
                Ok(()) => ExitCode::SUCCESS,
                Err(err) => {
                    eprintln!("protoreg: {err:#}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

/// Answers git's `Username for '…':` / `Password for '…':` prompt.
fn askpass() -> ExitCode {
    use protoreg_core::git::{ASKPASS_PASSWORD, ASKPASS_USERNAME};
    let prompt = std::env::args().nth(1).unwrap_or_default();
    let variable = if prompt.to_ascii_lowercase().starts_with("username") {
        ASKPASS_USERNAME
    } else {
        ASKPASS_PASSWORD
    };
    match std::env::var(variable) {
        Ok(value) => {
            println!("{value}");
            ExitCode::SUCCESS
        }
        Err(_) => ExitCode::FAILURE,
    }
}
