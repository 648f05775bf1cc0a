//! Corpora shipped with Debian's Go packages, compared file by file with
//! both reference generators: protobuf-go's own test protos (written to
//! exercise protoc-gen-go's corner cases) and grpc-go's protos.

use std::path::{Path, PathBuf};

use prost_types::compiler::CodeGeneratorResponse;

use crate::compare::{Reference, assert_same_response, run_reference};
use crate::tools::{self, PROTOC_GEN_GO, PROTOC_GEN_GO_GRPC};

const PROTOBUF_GO: &str = "/usr/share/gocode/src/google.golang.org/protobuf";
const GRPC_GO: &str = "/usr/share/gocode/src/google.golang.org/grpc";

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
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
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

type Generator = fn(&[u8]) -> CodeGeneratorResponse;

/// Compares one file's output (or error) with the reference.
fn compare_one(plugin: &str, ours: Generator, request: &[u8]) -> Result<(), String> {
    let mine = ours(request);
    let outcome = std::panic::catch_unwind(|| match run_reference(plugin, request) {
        Reference::Response(theirs) => assert_same_response(&mine, &theirs),
        Reference::Failed { stderr } => {
            let name = plugin.rsplit('/').next().unwrap();
            let error = mine.error.clone().unwrap_or_default();
            assert_eq!(format!("{name}: {error}\n"), stderr, "error message");
        }
    });
    outcome.map_err(|panic| {
        panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default()
    })
}

/// Compiles each file of `files` (with imports from `includes`) on its own
/// and compares both generators; panics listing every difference.
fn compare_each(includes: &[PathBuf], files: &[String]) {
    let mut failures = Vec::new();
    let mut compared = 0;
    for file in files {
        let mut compiler = protox::Compiler::new(includes).unwrap();
        compiler.include_source_info(true).include_imports(true);
        if let Err(err) = compiler.open_files([file]) {
            failures.push(format!("{file}: protox: {err}"));
            continue;
        }
        let raw = crate::corpus::split_set(&compiler.encode_file_descriptor_set());
        let request = crate::corpus::request(&raw, &[file.as_str()], "paths=source_relative");
        for (plugin, ours) in [
            (PROTOC_GEN_GO, protoreg_plugin_go::generate_go as Generator),
            (PROTOC_GEN_GO_GRPC, protoreg_plugin_go::generate_go_grpc),
        ] {
            match compare_one(plugin, ours, &request) {
                Ok(()) => compared += 1,
                Err(message) => failures.push(format!("{file} ({plugin}): {message}")),
            }
        }
    }
    eprintln!("{compared} of {} comparisons identical", 2 * files.len());
    assert!(
        failures.is_empty(),
        "{} differ:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

fn reference_tools_present(corpus: &str, package: &str) -> bool {
    tools::require(PROTOC_GEN_GO, "Debian package protoc-gen-go").is_some()
        && tools::require(PROTOC_GEN_GO_GRPC, "Debian package protoc-gen-go-grpc").is_some()
        && tools::require(&format!("{corpus}/go.mod"), package).is_some()
}

#[test]
fn protobuf_go_test_protos_are_identical() {
    if !reference_tools_present(PROTOBUF_GO, "Debian package golang-google-protobuf-dev") {
        return;
    }
    let root = Path::new(PROTOBUF_GO);
    let mut files = Vec::new();
    for dir in ["cmd/protoc-gen-go/testdata", "internal/testprotos"] {
        proto_files(&root.join(dir), root, &mut files);
    }
    files.retain(|f| !UNSUPPORTED.iter().any(|(u, _)| u == f));
    assert!(files.len() > 60, "corpus found");
    compare_each(&[root.to_path_buf()], &files);
}

#[test]
fn grpc_go_protos_are_identical() {
    if !reference_tools_present(GRPC_GO, "Debian package golang-google-grpc-dev") {
        return;
    }
    let root = Path::new(GRPC_GO);
    // grpc-go's own protos, and the upstream grpc-proto and googleapis
    // files Debian ships beside them.
    let grpc_proto = root.join("debian/missing-sources/grpc/grpc-proto/master");
    let googleapis = root.join("debian/missing-sources/googleapis/googleapis/master");
    let mut files = Vec::new();
    for dir in ["reflection", "stats", "test"] {
        proto_files(&root.join(dir), root, &mut files);
    }
    let mut upstream = Vec::new();
    proto_files(&grpc_proto, &grpc_proto, &mut upstream);
    assert!(files.len() + upstream.len() > 15, "corpus found");
    compare_each(&[root.to_path_buf()], &files);
    compare_each(&[grpc_proto, googleapis], &upstream);
}
