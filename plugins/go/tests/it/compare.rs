//! Byte-for-byte comparison with the reference generators.

use std::io::Write as _;
use std::process::{Command, Stdio};

use prost::Message as _;
use prost_types::compiler::CodeGeneratorResponse;

use crate::corpus;
use crate::tools::{self, PROTOC_GEN_GO, PROTOC_GEN_GO_GRPC};

/// What a reference plugin did with a request.
pub enum Reference {
    Response(CodeGeneratorResponse),
    /// protogen reports request-level errors on stderr and exits 1.
    Failed { stderr: String },
}

pub fn run_reference(plugin: &str, request: &[u8]) -> Reference {
    let mut child = Command::new(plugin)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("reference plugin starts");
    child.stdin.take().unwrap().write_all(request).unwrap();
    let output = child.wait_with_output().unwrap();
    if !output.status.success() {
        return Reference::Failed {
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        };
    }
    Reference::Response(CodeGeneratorResponse::decode(output.stdout.as_slice()).unwrap())
}

/// Panics with the first differing lines of the first differing file.
pub fn assert_same_response(ours: &CodeGeneratorResponse, reference: &CodeGeneratorResponse) {
    assert_eq!(ours.error, reference.error, "error field");
    assert_eq!(ours.supported_features, reference.supported_features);
    let names = |r: &CodeGeneratorResponse| -> Vec<String> {
        r.file.iter().map(|f| f.name().to_string()).collect()
    };
    assert_eq!(names(ours), names(reference), "generated file names");
    for (mine, theirs) in ours.file.iter().zip(&reference.file) {
        if mine.content() != theirs.content() {
            panic!("{} differs:\n{}", mine.name(), first_difference(mine.content(), theirs.content()));
        }
    }
}

fn first_difference(ours: &str, reference: &str) -> String {
    let ours: Vec<&str> = ours.lines().collect();
    let reference: Vec<&str> = reference.lines().collect();
    let line = ours
        .iter()
        .zip(&reference)
        .position(|(a, b)| a != b)
        .unwrap_or(ours.len().min(reference.len()));
    let context = |lines: &[&str]| {
        lines
            .iter()
            .enumerate()
            .skip(line.saturating_sub(3))
            .take(8)
            .map(|(i, l)| format!("{:5}: {l:?}", i + 1))
            .collect::<Vec<_>>()
            .join("\n")
    };
    format!(
        "first difference at line {} (ours {} lines, reference {} lines)\n--- ours\n{}\n--- reference\n{}",
        line + 1,
        ours.len(),
        reference.len(),
        context(&ours),
        context(&reference)
    )
}

/// What a comparison expects of the reference, so that a test meant to
/// compare generated code cannot pass by both sides failing alike.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Expect {
    Files,
    Error,
}

/// Runs both generators on `request` and compares everything.
fn check(plugin: &str, request: &[u8], ours: fn(&[u8]) -> CodeGeneratorResponse, expect: Expect) {
    let mine = ours(request);
    let reference = run_reference(plugin, request);
    let reference_failed = match &reference {
        Reference::Response(theirs) => theirs.error.is_some(),
        Reference::Failed { .. } => true,
    };
    assert_eq!(reference_failed, expect == Expect::Error, "reference outcome");
    match reference {
        Reference::Response(theirs) => {
            if expect == Expect::Files {
                assert!(!theirs.file.is_empty(), "reference produced no files");
                eprintln!("compared {} files from {plugin}", theirs.file.len());
            }
            assert_same_response(&mine, &theirs);
        }
        Reference::Failed { stderr } => {
            let name = plugin.rsplit('/').next().unwrap();
            let error = mine.error.clone().unwrap_or_else(|| panic!("reference failed ({stderr}) but we did not"));
            assert_eq!(format!("{name}: {error}\n"), stderr);
            assert!(mine.file.is_empty());
        }
    }
}

fn go(request: &[u8], expect: Expect) {
    if tools::require(PROTOC_GEN_GO, "Debian package protoc-gen-go").is_some() {
        check(PROTOC_GEN_GO, request, protoreg_plugin_go::generate_go, expect);
    }
}

fn go_grpc(request: &[u8], expect: Expect) {
    if tools::require(PROTOC_GEN_GO_GRPC, "Debian package protoc-gen-go-grpc").is_some() {
        check(PROTOC_GEN_GO_GRPC, request, protoreg_plugin_go::generate_go_grpc, expect);
    }
}

#[test]
fn go_output_is_identical_with_source_relative_paths() {
    go(&corpus::corpus_request("paths=source_relative"), Expect::Files);
}

#[test]
fn go_output_is_identical_with_default_import_paths() {
    go(&corpus::corpus_request(""), Expect::Files);
}

#[test]
fn go_output_is_identical_with_module_prefix_and_m_flags() {
    let parameter = "module=example.com/acme,Macme/legacy/legacy.proto=example.com/acme/old;oldpb";
    go(&corpus::corpus_request(parameter), Expect::Files);
}

#[test]
fn go_grpc_output_is_identical() {
    go_grpc(&corpus::corpus_request("paths=source_relative"), Expect::Files);
    go_grpc(&corpus::corpus_request(""), Expect::Files);
}

#[test]
fn go_grpc_output_is_identical_without_required_unimplemented_servers() {
    go_grpc(
        &corpus::corpus_request("paths=source_relative,require_unimplemented_servers=false"),
        Expect::Files,
    );
}

#[test]
fn parameter_errors_match_the_reference() {
    for parameter in [
        "paths=bogus",
        "module=example.com,paths=source_relative",
        "unknown_flag=1",
        "plugins=grpc",
        "module=other.org/x",
    ] {
        go(&corpus::corpus_request(parameter), Expect::Error);
    }
    go_grpc(&corpus::corpus_request("require_unimplemented_servers=maybe"), Expect::Error);
}

#[test]
fn missing_go_import_path_is_reported_like_the_reference() {
    let files = corpus::compile(&["acme/errors/no_go_package.proto"]);
    let request = corpus::request(&files, &["acme/errors/no_go_package.proto"], "");
    go(&request, Expect::Error);
    // A bare package name is not an import path.
    let request = corpus::request(
        &files,
        &["acme/errors/no_go_package.proto"],
        "Macme/errors/no_go_package.proto=nopath",
    );
    go(&request, Expect::Error);
    // An M flag supplies the missing path.
    let request = corpus::request(
        &files,
        &["acme/errors/no_go_package.proto"],
        "Macme/errors/no_go_package.proto=example.com/errors",
    );
    go(&request, Expect::Files);
}
