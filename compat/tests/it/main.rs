//! Integration tests of protoreg-compat: the case corpus under
//! `tests/compat/` (findings must equal what buf recorded), the corpus
//! against a live buf (when available), and the public API.

mod api;
mod corpus;
mod fuzz;
mod fuzzgen;
mod oracle;
mod support;
