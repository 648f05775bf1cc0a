//! End-to-end tests: the real `protoreg` binary, over HTTP, on SQLite and
//! PostgreSQL.

mod auth;
mod bad_input;
mod cli;
mod client;
mod codegen;
mod compat_cli;
mod crash;
mod db_restart;
mod deep_messages;
mod dynamic;
mod events;
mod gitsync;
mod grpc;
mod hostile;
mod hostile_http;
mod lifecycle;
mod openapi_fuzz;
mod operations;
mod plugins;
mod publish_fuzz;
mod replicas;
mod single_process;
mod support;
mod tls;
mod webhooks;
