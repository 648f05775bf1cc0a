//! Runs the generator like a protoc plugin: CodeGeneratorRequest on stdin,
//! CodeGeneratorResponse on stdout (used by `benches/codegen`).

use std::io::{Read, Write};

use prost::Message;

fn main() -> std::io::Result<()> {
    let mut request = Vec::new();
    std::io::stdin().read_to_end(&mut request)?;
    let response = protoreg_plugin_python::generate(&request);
    std::io::stdout().write_all(&response.encode_to_vec())
}
