//! Generates the gRPC client stubs of `protoreg.v1.Registry` and
//! `protoregistry.v1.RegistryService` from `proto/` (the one copy of the
//! service definitions; the server compiles the same files) with protox as
//! the compiler: no `protoc`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = [
        "proto/protoregistry/v1/registry.proto",
        "proto/protoreg/v1/registry.proto",
    ];
    for file in files {
        println!("cargo:rerun-if-changed={file}");
    }
    let mut compiler = protox::Compiler::new(["proto"])?;
    compiler.include_imports(true).include_source_info(false);
    compiler.open_files(files)?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(false)
        .build_transport(false)
        // Descriptor sets arrive as the bytes the registry stores: decoding
        // them into prost types would drop extension options.
        .extern_path(
            ".google.protobuf.FileDescriptorSet",
            "crate::grpc::raw::RawFileDescriptorSet",
        )
        .bytes(".protoreg.v1.GetNamespaceDescriptorResponse.file_descriptor_set")
        .compile_fds(compiler.file_descriptor_set())?;
    Ok(())
}
