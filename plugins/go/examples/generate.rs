//! Runs a generator like a protoc plugin: CodeGeneratorRequest on stdin,
//! CodeGeneratorResponse on stdout. For timing against protoc-gen-go:
//!
//! ```sh
//! cargo run --release -p protoreg-plugin-go --example generate [-- --grpc] < request.bin > response.bin
//! ```

use std::io::{Read, Write};

use prost::Message;

fn main() -> std::io::Result<()> {
    let mut request = Vec::new();
    std::io::stdin().read_to_end(&mut request)?;
    let response = if std::env::args().any(|a| a == "--grpc") {
        protoreg_plugin_go::generate_go_grpc(&request)
    } else {
        protoreg_plugin_go::generate_go(&request)
    };
    std::io::stdout().write_all(&response.encode_to_vec())
}
