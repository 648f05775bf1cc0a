//! End-to-end tests: the real `protoreg` binary, over HTTP, on SQLite and
//! PostgreSQL.

mod auth;
mod bad_input;
mod cli;
mod codegen;
mod compat_cli;
mod crash;
mod deep_messages;
mod dynamic;
mod hostile;
mod hostile_http;
mod lifecycle;
mod openapi_fuzz;
mod operations;
mod plugins;
mod publish_fuzz;
mod support;
