//! The compile path of a publish: arbitrary bytes become one to three
//! `.proto` files (split on NUL bytes), checked as the edge checks them and
//! compiled against a scope holding `common/money.proto`. Whatever the text,
//! the compiler answers a well-formed result or a `compile_failed` /
//! `invalid_argument` error — never a panic, never an internal error (a 500
//! in the API), and what compiles links into a descriptor pool.
#![no_main]

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use protoreg_core::compile::{ImportScope, compile_schema};

#[path = "shared/mod.rs"]
mod shared;

const MONEY: &str = "syntax = \"proto3\";\npackage common;\nmessage Money {\n  int64 units = 1;\n  string currency = 2;\n}\n";
const PATHS: [&str; 3] = ["fuzz/a.proto", "fuzz/b.proto", "c.proto"];

/// Another schema's compiled file, importable as `common/money.proto`.
fn scope() -> Arc<ImportScope> {
    static SCOPE: OnceLock<Arc<ImportScope>> = OnceLock::new();
    SCOPE
        .get_or_init(|| {
            let sources = BTreeMap::from([("common/money.proto".to_owned(), MONEY.to_owned())]);
            let compiled = compile_schema(Arc::new(sources), Arc::default())
                .expect("the scope's own file compiles");
            let mut scope = ImportScope::default();
            scope.add(&compiled.files, 1);
            Arc::new(scope)
        })
        .clone()
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return; // The JSON body of a publish cannot carry it.
    };
    let sources: BTreeMap<String, String> = text
        .split('\0')
        .zip(PATHS)
        .map(|(source, path)| (path.to_owned(), source.to_owned()))
        .collect();
    shared::compile_and_check(sources, scope());
});
