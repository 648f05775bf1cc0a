//! Byte-for-byte comparison with the reference generators.

use std::io::Write as _;
use std::process::{Command, Stdio};

use prost::Message as _;
use prost_types::compiler::CodeGeneratorResponse;
use protoreg_plugin_sdk::wire;

use crate::corpus;
use crate::tools::{self, PROTOC_GEN_GO, PROTOC_GEN_GO_GRPC};

/// What a reference plugin did with a request.
pub enum Reference {
    Response(CodeGeneratorResponse),
    /// protogen reports request-level errors on stderr and exits 1.
    Failed {
        stderr: String,
    },
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
            panic!(
                "{} differs:\n{}",
                mine.name(),
                first_difference(mine.content(), theirs.content())
            );
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
    assert_eq!(
        reference_failed,
        expect == Expect::Error,
        "reference outcome"
    );
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
            let error = mine
                .error
                .clone()
                .unwrap_or_else(|| panic!("reference failed ({stderr}) but we did not"));
            assert_eq!(format!("{name}: {error}\n"), stderr);
            assert!(mine.file.is_empty());
        }
    }
}

fn go(request: &[u8], expect: Expect) {
    if tools::require(PROTOC_GEN_GO, "Debian package protoc-gen-go").is_some() {
        check(
            PROTOC_GEN_GO,
            request,
            protoreg_plugin_go::generate_go,
            expect,
        );
    }
}

fn go_grpc(request: &[u8], expect: Expect) {
    if tools::require(PROTOC_GEN_GO_GRPC, "Debian package protoc-gen-go-grpc").is_some() {
        check(
            PROTOC_GEN_GO_GRPC,
            request,
            protoreg_plugin_go::generate_go_grpc,
            expect,
        );
    }
}

#[test]
fn go_output_is_identical_with_source_relative_paths() {
    go(
        &corpus::corpus_request("paths=source_relative"),
        Expect::Files,
    );
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
    go_grpc(
        &corpus::corpus_request("paths=source_relative"),
        Expect::Files,
    );
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
    go_grpc(
        &corpus::corpus_request("require_unimplemented_servers=maybe"),
        Expect::Error,
    );
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

/// The bytes of `<var>_rawDesc = []byte{...}` in generated Go.
fn embedded_raw_descriptor(go_source: &str) -> Vec<u8> {
    let start = go_source.find("_rawDesc = []byte{").expect("rawDesc var");
    let body = &go_source[start..];
    let body = &body[body.find('{').unwrap() + 1..body.find("\n}").unwrap()];
    body.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| u8::from_str_radix(s.trim_start_matches("0x"), 16).unwrap())
        .collect()
}

/// The top-level fields of an encoded message, in input order.
fn fields(raw: &[u8]) -> Vec<wire::Record<'_>> {
    wire::records(raw).map(Result::unwrap).collect()
}

/// Re-encodes `raw` with its fields stably sorted by descending number
/// (repeated elements keep their order), and the file options likewise:
/// valid protobuf that Go must put back into field-number order, with the
/// custom options after the known ones.
fn scramble_file(raw: &[u8]) -> Vec<u8> {
    let mut top = fields(raw);
    top.sort_by_key(|record| std::cmp::Reverse(record.number));
    let mut out = Vec::new();
    for record in top {
        if record.number != 8 {
            out.extend_from_slice(record.raw);
            continue;
        }
        let mut options = fields(record.payload);
        options.sort_by_key(|option| std::cmp::Reverse(option.number));
        let options: Vec<u8> = options.iter().flat_map(|o| o.raw).copied().collect();
        wire::write_len_delimited(&mut out, 8, &options);
    }
    out
}

#[test]
fn descriptor_fields_out_of_order_are_marshalled_like_go() {
    let mut files = corpus::compile(corpus::FILES);
    let shop = files
        .iter_mut()
        .find(|(name, _)| name == "acme/shop/v1/shop.proto")
        .unwrap();
    shop.1 = scramble_file(&shop.1);
    let scrambled = shop.1.clone();
    let request = corpus::request(
        &files,
        &["acme/shop/v1/shop.proto"],
        "paths=source_relative",
    );
    go(&request, Expect::Files);

    let ours = protoreg_plugin_go::generate_go(&request);
    let embedded = embedded_raw_descriptor(ours.file[0].content());
    let without_source_info: Vec<u8> = fields(&scrambled)
        .iter()
        .filter(|record| record.number != 9)
        .flat_map(|record| record.raw)
        .copied()
        .collect();
    // The comparison above only means something if the order changed.
    assert_eq!(embedded.len(), without_source_info.len());
    assert_ne!(embedded, without_source_info);
}

#[test]
fn plain_well_known_types_are_identical() {
    // The well-known types without hand-written Go methods.
    let files = [
        "google/protobuf/empty.proto",
        "google/protobuf/api.proto",
        "google/protobuf/type.proto",
        "google/protobuf/source_context.proto",
        "google/protobuf/descriptor.proto",
        "google/protobuf/compiler/plugin.proto",
    ];
    let compiled = corpus::compile(&files);
    go(
        &corpus::request(&compiled, &files, "paths=source_relative"),
        Expect::Files,
    );
}

#[test]
fn well_known_types_with_hand_written_methods_are_refused() {
    let compiled = corpus::compile(&["google/protobuf/timestamp.proto"]);
    let request = corpus::request(&compiled, &["google/protobuf/timestamp.proto"], "");
    let response = protoreg_plugin_go::generate_go(&request);
    let error = response.error.expect("refused");
    assert!(
        error.contains("well-known type is not supported"),
        "{error}"
    );
    assert!(response.file.is_empty());
}

#[test]
fn garbage_requests_are_errors_not_panics() {
    for request in [&b"\xff\xff\xff"[..], b"\x7a\x05\x0a\x03abc\x0a"] {
        let response = protoreg_plugin_go::generate_go(request);
        assert!(response.error.is_some(), "{request:?}");
        assert!(response.file.is_empty());
        assert!(
            protoreg_plugin_go::generate_go_grpc(request)
                .error
                .is_some()
        );
    }
}

#[test]
fn a_map_entry_without_fields_is_an_error_not_a_panic() {
    use prost::Message as _;
    use prost_types::field_descriptor_proto::{Label, Type};
    use prost_types::{
        DescriptorProto, FieldDescriptorProto, FileDescriptorProto, FileOptions, MessageOptions,
    };
    let entry = DescriptorProto {
        name: Some("MEntry".into()),
        options: Some(MessageOptions {
            map_entry: Some(true),
            ..Default::default()
        }),
        ..Default::default()
    };
    let message = DescriptorProto {
        name: Some("M".into()),
        field: vec![FieldDescriptorProto {
            name: Some("m".into()),
            number: Some(1),
            label: Some(Label::Repeated as i32),
            r#type: Some(Type::Message as i32),
            type_name: Some(".p.M.MEntry".into()),
            ..Default::default()
        }],
        nested_type: vec![entry],
        ..Default::default()
    };
    let file = FileDescriptorProto {
        name: Some("bad.proto".into()),
        package: Some("p".into()),
        message_type: vec![message],
        options: Some(FileOptions {
            go_package: Some("example.com/bad".into()),
            ..Default::default()
        }),
        syntax: Some("proto3".into()),
        ..Default::default()
    };
    let request = corpus::request(
        &[("bad.proto".into(), file.encode_to_vec())],
        &["bad.proto"],
        "",
    );
    let response = protoreg_plugin_go::generate_go(&request);
    assert_eq!(
        response.error.as_deref(),
        Some("internal error: invalid descriptors in the request")
    );
}

#[test]
fn output_is_identical_for_descriptors_compiled_by_protoc() {
    // protoc encodes descriptors its own way (C++ field order, its own
    // descriptor.proto); the generators must follow whatever bytes they get.
    let Some(protoc) = tools::require("protoc", "Debian package protobuf-compiler") else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    let set_path = out.path().join("set.bin");
    let status = std::process::Command::new(protoc)
        .arg(format!("-I{}", corpus::corpus_dir().display()))
        .args(["--include_imports", "--include_source_info"])
        .arg(format!("--descriptor_set_out={}", set_path.display()))
        .args(corpus::FILES)
        .status()
        .unwrap();
    assert!(status.success(), "protoc compiles the corpus");
    let files = corpus::split_set(&std::fs::read(&set_path).unwrap());
    let request = corpus::request(&files, corpus::FILES, "paths=source_relative");
    go(&request, Expect::Files);
    go_grpc(&request, Expect::Files);
}
