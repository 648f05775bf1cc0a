//! End-to-end tests: the real `protoreg` binary, over HTTP, on SQLite and
//! PostgreSQL.

mod bad_input;
mod compat_cli;
mod crash;
mod lifecycle;
mod support;
