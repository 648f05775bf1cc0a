#![doc = include_str!("../README.md")]

mod canonical;
mod descriptor;
mod grpc;
mod names;
mod pb2;
mod printer;
mod pyi;
mod schema;
mod text;

use prost_types::compiler::CodeGeneratorResponse;
use prost_types::compiler::code_generator_response::{Feature, File as OutputFile};
use protoreg_plugin_sdk::wire::{self, WireType};

use descriptor::{File, Pool};

/// `request` is an encoded google.protobuf.compiler.CodeGeneratorRequest.
/// Errors in the request are reported the protoc way: CodeGeneratorResponse.error set.
pub fn generate(request: &[u8]) -> CodeGeneratorResponse {
    let (file, error) = match try_generate(request) {
        Ok(files) => (files, None),
        Err(message) => (Vec::new(), Some(message)),
    };
    CodeGeneratorResponse {
        error,
        supported_features: Some(Feature::Proto3Optional as u64),
        file,
    }
}

/// Which files to write per input (the request's `parameter`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Outputs {
    pb2: bool,
    pyi: bool,
    grpc: bool,
}

fn parse_parameter(parameter: &str) -> Result<Outputs, String> {
    let mut outputs = Outputs {
        pb2: false,
        pyi: false,
        grpc: false,
    };
    let mut any = false;
    for option in parameter
        .split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
    {
        match option {
            "pb2" => outputs.pb2 = true,
            "pyi" => outputs.pyi = true,
            "grpc" => outputs.grpc = true,
            other => return Err(format!("Unknown generator option: {other}")),
        }
        any = true;
    }
    if !any {
        outputs = Outputs {
            pb2: true,
            pyi: true,
            grpc: true,
        };
    }
    Ok(outputs)
}

/// The parts of a CodeGeneratorRequest the generator reads. `proto_file`
/// stays raw: decoding it into prost-types would drop custom options.
struct Request<'a> {
    files_to_generate: Vec<String>,
    parameter: String,
    proto_files: Vec<&'a [u8]>,
}

fn parse_request(bytes: &[u8]) -> wire::Result<Request<'_>> {
    let mut request = Request {
        files_to_generate: Vec::new(),
        parameter: String::new(),
        proto_files: Vec::new(),
    };
    for record in wire::records(bytes) {
        let record = record?;
        if record.wire_type != WireType::LengthDelimited {
            continue;
        }
        let text = || String::from_utf8_lossy(record.payload).into_owned();
        match record.number {
            1 => request.files_to_generate.push(text()),
            2 => request.parameter = text(),
            15 => request.proto_files.push(record.payload),
            _ => {}
        }
    }
    Ok(request)
}

fn try_generate(bytes: &[u8]) -> Result<Vec<OutputFile>, String> {
    let request = parse_request(bytes).map_err(|e| format!("invalid CodeGeneratorRequest: {e}"))?;
    let outputs = parse_parameter(&request.parameter)?;
    let schema = schema::Schema::build(request.proto_files.iter().copied())
        .map_err(|e| format!("invalid proto_file: {e}"))?;
    let files = request
        .proto_files
        .iter()
        .map(|bytes| File::parse(&schema, bytes))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("invalid proto_file: {e}"))?;
    let pool = Pool::new(&files);
    let mut generated = Vec::new();
    for name in &request.files_to_generate {
        let file = pool
            .file(name)
            .ok_or_else(|| format!("{name}: not found in proto_file"))?;
        check_generatable(file, &pool)?;
        generated.extend(generate_file(file, &pool, outputs));
    }
    Ok(generated)
}

/// Refuses what grpcio-tools refuses, and descriptor.proto itself (its
/// `_pb2.py` is special-cased by protoc and not reproduced here).
fn check_generatable(file: &File, pool: &Pool<'_>) -> Result<(), String> {
    if file.name == schema::DESCRIPTOR_PROTO_NAME {
        return Err(format!(
            "{}: generating descriptor.proto is not supported",
            file.name
        ));
    }
    let mut to_check = vec![file.name.as_str()];
    to_check.extend(file.dependencies());
    for name in to_check {
        let module = names::module_name(name);
        if !names::is_safe_module_name(&module) {
            return Err(format!(
                "{}: Cannot generate Python code because the file name produces an invalid Python module name: {module}",
                name
            ));
        }
    }
    if let Some(public) = file
        .public_dependencies()
        .into_iter()
        .find(|p| pool.file(p).is_none())
    {
        return Err(format!(
            "{}: import public \"{public}\" not in proto_file",
            file.name
        ));
    }
    Ok(())
}

fn generate_file(file: &File, pool: &Pool<'_>, outputs: Outputs) -> Vec<OutputFile> {
    let mut out = Vec::new();
    let mut push = |name: String, content: String| {
        out.push(OutputFile {
            name: Some(name),
            content: Some(content),
            ..OutputFile::default()
        });
    };
    // The order grpcio-tools writes them in: the stub is produced first.
    if outputs.pyi {
        push(
            names::output_file_name(&file.name, ".pyi"),
            pyi::generate(file, pool),
        );
    }
    if outputs.pb2 {
        push(
            names::output_file_name(&file.name, ".py"),
            pb2::generate(file, pool),
        );
    }
    if outputs.grpc {
        let stem = file.name.strip_suffix(".proto").unwrap_or(&file.name);
        let grpc_name = format!("{}_pb2_grpc.py", stem.replace('-', "_").replace('.', "/"));
        push(grpc_name, grpc::generate(file, pool));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_select_outputs() {
        let all = Outputs {
            pb2: true,
            pyi: true,
            grpc: true,
        };
        assert_eq!(parse_parameter("").unwrap(), all);
        let pyi_only = parse_parameter("pyi").unwrap();
        assert!(pyi_only.pyi && !pyi_only.pb2 && !pyi_only.grpc);
        assert!(parse_parameter("pb2, grpc").unwrap().grpc);
        assert!(parse_parameter("java").is_err());
    }

    #[test]
    fn garbage_request_is_reported_as_error() {
        let response = generate(&[0xff, 0xff]);
        assert!(response.error.is_some());
        assert!(response.file.is_empty());
    }
}

/// The `python` generator as a protoreg plugin.
struct PythonGenerator;

impl protoreg_plugin_sdk::CodeGenerator for PythonGenerator {
    fn name(&self) -> &str {
        "python"
    }

    fn description(&self) -> &str {
        "_pb2.py, _pb2.pyi and _pb2_grpc.py, byte-identical to grpcio-tools 1.85.1"
    }

    fn generate(
        &self,
        request: &[u8],
    ) -> Result<CodeGeneratorResponse, protoreg_plugin_sdk::PluginError> {
        Ok(generate(request))
    }
}

fn plugin() -> protoreg_plugin_sdk::Plugin {
    protoreg_plugin_sdk::Plugin::new("python", env!("CARGO_PKG_VERSION"))
        .description("Python code generation (protobuf messages, type stubs, gRPC stubs)")
        .generator(PythonGenerator)
}

protoreg_plugin_sdk::export_plugin!(plugin);
