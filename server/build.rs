//! Generates the gRPC services (`protoregistry.v1`, `protoreg.v1`) from
//! the client crate's `proto/` (`client/proto`, the one copy both crates
//! compile) with protox as the compiler (no `protoc`), and writes the
//! encoded descriptor set that server reflection serves.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let include = "../client/proto";
    let files = [
        "protoregistry/v1/registry.proto",
        "protoreg/v1/registry.proto",
    ];
    for file in files {
        println!("cargo:rerun-if-changed={include}/{file}");
    }
    let mut compiler = protox::Compiler::new([include])?;
    compiler.include_imports(true).include_source_info(false);
    compiler.open_files(files)?;
    let set = compiler.file_descriptor_set();
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out.join("grpc_descriptor_set.bin"),
        prost::Message::encode_to_vec(&set),
    )?;
    tonic_prost_build::configure()
        .build_client(false)
        .build_server(true)
        // Served as the stored bytes, never decoded and re-encoded, so
        // unknown fields and extension options survive.
        .extern_path(
            ".google.protobuf.FileDescriptorSet",
            "::protoreg_client::RawFileDescriptorSet",
        )
        .bytes(".protoreg.v1.GetNamespaceDescriptorResponse.file_descriptor_set")
        .compile_fds(set)?;
    Ok(())
}
