//! protobuf-go's own test protos (shipped with Debian's
//! golang-google-protobuf-dev): dozens of files written to exercise
//! protoc-gen-go's corner cases, compared file by file.

use std::path::Path;

use crate::compare::{Reference, assert_same_response, run_reference};
use crate::tools::{self, PROTOC_GEN_GO};

const ROOT: &str = "/usr/share/gocode/src/google.golang.org/protobuf";

/// Files left out, with the reason.
const UNSUPPORTED: &[(&str, &str)] = &[
    (
        "cmd/protoc-gen-go/testdata/fieldnames/fieldnames.proto",
        "protox rejects it (JSON name conflict), so no request can be built",
    ),
    (
        "internal/testprotos/messageset/msetextpb/msetextpb.proto",
        "protox rejects MessageSet extension numbers",
    ),
    (
        "cmd/protoc-gen-go/testdata/import_public/c.proto",
        "protox does not resolve names through a chain of public imports",
    ),
];

fn proto_files(dir: &Path, root: &Path, out: &mut Vec<String>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            proto_files(&path, root, out);
        } else if path.extension().is_some_and(|e| e == "proto") {
            out.push(
                path.strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
            );
        }
    }
}

#[test]
fn protobuf_go_test_protos_are_identical() {
    if tools::require(PROTOC_GEN_GO, "Debian package protoc-gen-go").is_none()
        || tools::require(
            &format!("{ROOT}/go.mod"),
            "Debian package golang-google-protobuf-dev",
        )
        .is_none()
    {
        return;
    }
    let root = Path::new(ROOT);
    let mut files = Vec::new();
    for dir in ["cmd/protoc-gen-go/testdata", "internal/testprotos"] {
        proto_files(&root.join(dir), root, &mut files);
    }
    files.retain(|f| !UNSUPPORTED.iter().any(|(u, _)| u == f));
    let mut failures = Vec::new();
    let mut compared = 0;
    for file in &files {
        let mut compiler = protox::Compiler::new([root]).unwrap();
        compiler.include_source_info(true).include_imports(true);
        if let Err(err) = compiler.open_files([file]) {
            failures.push(format!("{file}: protox: {err}"));
            continue;
        }
        let set = compiler.encode_file_descriptor_set();
        let raw = crate::corpus::split_set(&set);
        let request = crate::corpus::request(&raw, &[file.as_str()], "paths=source_relative");
        let ours = protoreg_plugin_go::generate_go(&request);
        let outcome = std::panic::catch_unwind(|| match run_reference(PROTOC_GEN_GO, &request) {
            Reference::Response(theirs) => assert_same_response(&ours, &theirs),
            Reference::Failed { stderr } => {
                let error = ours.error.clone().unwrap_or_default();
                assert_eq!(format!("protoc-gen-go: {error}\n"), stderr, "error message");
            }
        });
        match outcome {
            Ok(()) => compared += 1,
            Err(panic) => {
                let message = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                failures.push(format!("{file}: {message}"));
            }
        }
    }
    eprintln!(
        "{compared} of {} protobuf-go test protos identical",
        files.len()
    );
    assert!(
        failures.is_empty(),
        "{} differ:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
