//! The test corpus, compiled with protox the way the registry compiles a
//! schema, and turned into CodeGeneratorRequest bytes.

use std::path::PathBuf;

use prost::Message as _;
use prost_types::compiler::Version;
use protoreg_plugin_sdk::wire::{self, WireType};

/// Every corpus file; all have `option go_package`.
pub const FILES: &[&str] = &[
    "acme/common/v1/common.proto",
    "acme/shop/v1/options.proto",
    "acme/shop/v1/shop.proto",
    "acme/legacy/legacy.proto",
    "acme/legacy/comments.proto",
    "acme/legacy/names.proto",
    "acme/legacy/cross.proto",
    "acme/legacy/ext_only.proto",
    "acme/inventory/v1/inventory.proto",
    "acme/inventory/v1/only_service.proto",
];

/// How many of `FILES` declare services (get a `_grpc.pb.go`).
pub const FILES_WITH_SERVICES: usize = 3;

pub fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/it/corpus")
}

/// The files of `roots` and everything they import, dependencies first,
/// each one exactly as protox encodes it (custom options included).
pub fn compile(roots: &[&str]) -> Vec<(String, Vec<u8>)> {
    let mut compiler = protox::Compiler::new([corpus_dir()]).expect("corpus dir");
    compiler.include_source_info(true).include_imports(true);
    compiler.open_files(roots).expect("corpus compiles");
    let set = compiler.encode_file_descriptor_set();
    split_set(&set)
}

/// Splits an encoded FileDescriptorSet into (name, raw bytes) per file.
pub fn split_set(set: &[u8]) -> Vec<(String, Vec<u8>)> {
    wire::records(set)
        .map(|record| {
            let record = record.unwrap();
            assert_eq!(
                (record.number, record.wire_type),
                (1, WireType::LengthDelimited),
                "FileDescriptorSet.file"
            );
            let name = prost_types::FileDescriptorProto::decode(record.payload)
                .unwrap()
                .name()
                .to_string();
            (name, record.payload.to_vec())
        })
        .collect()
}

/// Encodes a CodeGeneratorRequest around raw file bytes.
pub fn request(files: &[(String, Vec<u8>)], to_generate: &[&str], parameter: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for name in to_generate {
        prost::encoding::string::encode(1, &name.to_string(), &mut out);
    }
    if !parameter.is_empty() {
        prost::encoding::string::encode(2, &parameter.to_string(), &mut out);
    }
    let version = Version {
        major: Some(3),
        minor: Some(21),
        patch: Some(12),
        suffix: Some(String::new()),
    };
    prost::encoding::message::encode(3, &version, &mut out);
    for (_, raw) in files {
        wire::write_len_delimited(&mut out, 15, raw);
    }
    out
}

/// The whole corpus as one request.
pub fn corpus_request(parameter: &str) -> Vec<u8> {
    request(&compile(FILES), FILES, parameter)
}
