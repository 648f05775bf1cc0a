//! End-to-end tests: the real `protoreg` binary, over HTTP, on SQLite and
//! PostgreSQL.

mod auth;
mod bad_input;
mod cli;
mod codegen;
mod compat_cli;
mod crash;
mod dynamic;
mod lifecycle;
mod operations;
mod plugins;
mod support;
