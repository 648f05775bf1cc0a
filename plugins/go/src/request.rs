//! Decoding a CodeGeneratorRequest while keeping the raw bytes of every
//! `proto_file`: prost-types drops unknown fields (custom options), but the
//! descriptor embedded in generated Go must contain them.

use prost::Message as _;
use prost_types::FileDescriptorProto;
use prost_types::compiler::{CodeGeneratorRequest, Version};

use protoreg_plugin_sdk::wire::{self, WireType};

/// `CodeGeneratorRequest.proto_file`.
const PROTO_FILE_FIELD: u32 = 15;

pub(crate) struct Request {
    pub file_to_generate: Vec<String>,
    pub parameter: Option<String>,
    pub compiler_version: Option<Version>,
    pub proto_files: Vec<FileDescriptorProto>,
    /// `proto_files[i]` exactly as encoded in the request.
    pub raw_files: Vec<Vec<u8>>,
}

pub(crate) fn decode(bytes: &[u8]) -> Result<Request, String> {
    let request = CodeGeneratorRequest::decode(bytes).map_err(|err| err.to_string())?;
    let mut raw_files = Vec::new();
    for record in wire::records(bytes) {
        let record = record.map_err(|err| err.to_string())?;
        if record.number == PROTO_FILE_FIELD && record.wire_type == WireType::LengthDelimited {
            raw_files.push(record.payload.to_vec());
        }
    }
    if raw_files.len() != request.proto_file.len() {
        return Err("proto_file entries could not be read back from the request".into());
    }
    Ok(Request {
        file_to_generate: request.file_to_generate,
        parameter: request.parameter,
        compiler_version: request.compiler_version,
        proto_files: request.proto_file,
        raw_files,
    })
}
