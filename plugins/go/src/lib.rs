#![doc = include_str!("../README.md")]

mod comments;
mod gengo;
mod gofile;
mod gofmt;
mod grpc;
mod layout;
mod marshal;
mod model;
mod names;
mod plugin;
mod request;

use prost_types::compiler::CodeGeneratorResponse;
use prost_types::compiler::code_generator_response::{Feature, File as GeneratedFile};

/// protoc-gen-go: `request` is an encoded google.protobuf.compiler.CodeGeneratorRequest.
/// Errors are reported the protoc way: CodeGeneratorResponse.error set.
pub fn generate_go(request: &[u8]) -> CodeGeneratorResponse {
    respond(request, gengo::Generator::default())
}

/// protoc-gen-go-grpc (service stubs, `_grpc.pb.go`).
pub fn generate_go_grpc(request: &[u8]) -> CodeGeneratorResponse {
    respond(request, grpc::Generator::default())
}

/// One Go generator: flags it accepts and the files it writes.
pub(crate) trait Generate {
    /// Handles a parameter protogen itself does not know (a plugin flag).
    fn set_param(&mut self, name: &str, value: &str) -> Result<(), String>;
    /// Generates every requested file; `(file name, content)` pairs.
    fn generate(&self, plugin: &model::Plugin) -> Result<Vec<(String, String)>, String>;
}

fn respond(request: &[u8], mut generator: impl Generate) -> CodeGeneratorResponse {
    // A descriptor protoc would have rejected can still break an invariant
    // the port relies on; that must become an error, never a panic in the
    // host.
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        run(request, &mut generator)
    }))
    .unwrap_or_else(|_| Err("internal error: invalid descriptors in the request".to_string()));
    match outcome {
        Ok(files) => CodeGeneratorResponse {
            error: None,
            supported_features: Some(Feature::Proto3Optional as u64),
            file: files
                .into_iter()
                .map(|(name, content)| GeneratedFile {
                    name: Some(name),
                    content: Some(content),
                    ..GeneratedFile::default()
                })
                .collect(),
        },
        Err(error) => CodeGeneratorResponse {
            error: Some(error),
            ..CodeGeneratorResponse::default()
        },
    }
}

fn run(request: &[u8], generator: &mut impl Generate) -> Result<Vec<(String, String)>, String> {
    let request = request::decode(request)?;
    let plugin = model::Plugin::new(request, &mut |name, value| generator.set_param(name, value))?;
    let files = generator.generate(&plugin)?;
    files
        .into_iter()
        .map(|(name, content)| Ok((trim_module(&plugin.module, name)?, content)))
        .collect()
}

/// With `module=`, generated paths lose the module prefix.
fn trim_module(module: &str, filename: String) -> Result<String, String> {
    if module.is_empty() {
        return Ok(filename);
    }
    match filename.strip_prefix(&format!("{module}/")) {
        Some(rest) => Ok(rest.to_string()),
        None => Err(format!(
            "{filename}: generated file does not match prefix {}",
            gofmt::go_quote(module)
        )),
    }
}
