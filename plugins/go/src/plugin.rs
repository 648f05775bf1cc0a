//! The generators as the `go` protoreg plugin: `go` (protoc-gen-go) and
//! `go-grpc` (protoc-gen-go-grpc).

use prost_types::compiler::CodeGeneratorResponse;
use protoreg_plugin_sdk::{CodeGenerator, Plugin, PluginError};

/// One generator: a name and the function behind it.
struct Go {
    name: &'static str,
    description: &'static str,
    generate: fn(&[u8]) -> CodeGeneratorResponse,
}

impl CodeGenerator for Go {
    fn name(&self) -> &str {
        self.name
    }

    fn description(&self) -> &str {
        self.description
    }

    fn generate(&self, request: &[u8]) -> Result<CodeGeneratorResponse, PluginError> {
        Ok((self.generate)(request))
    }
}

fn plugin() -> Plugin {
    Plugin::new("go", env!("CARGO_PKG_VERSION"))
        .description("Go code generation (messages and gRPC services)")
        .generator(Go {
            name: "go",
            description: "x.pb.go, byte-identical to protoc-gen-go v1.28.1",
            generate: crate::generate_go,
        })
        .generator(Go {
            name: "go-grpc",
            description: "x_grpc.pb.go, byte-identical to protoc-gen-go-grpc 1.0",
            generate: crate::generate_go_grpc,
        })
}

protoreg_plugin_sdk::export_plugin!(plugin);
