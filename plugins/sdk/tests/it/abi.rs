//! The ABI table exported by `export_plugin!`, driven the way the host
//! drives it: raw pointers in, buffers out, freed with the table's `free`.
#![allow(unsafe_code)]

use prost::Message;
use protoreg_plugin_sdk::abi::*;
use protoreg_plugin_sdk::*;

struct NamesRule;

impl CompatRule for NamesRule {
    fn id(&self) -> &str {
        "TEST_NO_FILE_RENAME"
    }
    fn purpose(&self) -> &str {
        "Reports each file of previous missing from current."
    }
    fn categories(&self) -> &[&str] {
        &["FILE"]
    }
    fn check(&self, input: &CompatInput<'_>) -> Result<Vec<Violation>, PluginError> {
        if input.string_list("panic")?.iter().any(|v| v == "yes") {
            panic!("asked to panic");
        }
        let names = |set: &FileDescriptorSet| -> Vec<String> {
            set.file.iter().filter_map(|f| f.name.clone()).collect()
        };
        let current = names(input.current);
        Ok(names(input.previous)
            .into_iter()
            .filter(|name| !current.contains(name))
            .map(|name| Violation {
                message: format!("file {name:?} was deleted"),
                against_file: name,
                ..Default::default()
            })
            .collect())
    }
}

struct Echo;

impl CodeGenerator for Echo {
    fn name(&self) -> &str {
        "echo"
    }
    fn generate(&self, request: &[u8]) -> Result<CodeGeneratorResponse, PluginError> {
        let request = decode_request(request)?;
        Ok(CodeGeneratorResponse {
            file: request
                .file_to_generate
                .iter()
                .map(
                    |name| prost_types::compiler::code_generator_response::File {
                        name: Some(format!("{name}.txt")),
                        content: Some(request.parameter().to_string()),
                        ..Default::default()
                    },
                )
                .collect(),
            ..Default::default()
        })
    }
}

fn plugin() -> Plugin {
    Plugin::new("sdk-test", "1.2.3")
        .description("SDK test plugin")
        .rule(NamesRule)
        .generator(Echo)
}

export_plugin!(plugin);

/// Calls the table like a host: returns the status and the buffer's bytes.
fn call(kind: u32, target: &str, request: &[u8]) -> (i32, Vec<u8>) {
    let table = protoreg_plugin_v1();
    assert!(!table.is_null());
    // SAFETY: the table is static; buffers are read then freed once.
    unsafe {
        let table = &*table;
        let mut out = ProtoregBuffer::EMPTY;
        let status = (table.call)(
            kind,
            target.as_ptr(),
            target.len(),
            request.as_ptr(),
            request.len(),
            &mut out,
        );
        let bytes = std::slice::from_raw_parts(out.ptr, out.len).to_vec();
        (table.free)(out);
        (status, bytes)
    }
}

#[test]
fn table_reports_version_size_and_manifest() {
    // SAFETY: as in `call`.
    let manifest = unsafe {
        let table = &*protoreg_plugin_v1();
        assert_eq!(table.abi_version, PROTOREG_ABI_VERSION);
        assert_eq!(
            table.struct_size as usize,
            std::mem::size_of::<ProtoregPluginV1>()
        );
        let mut out = ProtoregBuffer::EMPTY;
        assert_eq!((table.manifest)(&mut out), PROTOREG_OK);
        let manifest =
            PluginManifest::decode(std::slice::from_raw_parts(out.ptr, out.len)).expect("manifest");
        (table.free)(out);
        manifest
    };
    assert_eq!(manifest.name, "sdk-test");
    assert_eq!(manifest.version, "1.2.3");
    assert_eq!(
        manifest.kinds,
        vec![
            PluginKind::CompatRule as i32,
            PluginKind::CodeGenerator as i32
        ]
    );
    assert_eq!(manifest.rules[0].id, "TEST_NO_FILE_RENAME");
    assert_eq!(manifest.rules[0].categories, vec!["FILE".to_string()]);
    assert_eq!(manifest.generators[0].name, "echo");
}

fn files(names: &[&str]) -> FileDescriptorSet {
    FileDescriptorSet {
        file: names
            .iter()
            .map(|n| prost_types::FileDescriptorProto {
                name: Some(n.to_string()),
                ..Default::default()
            })
            .collect(),
    }
}

#[test]
fn compat_call_runs_the_named_rules_and_fills_rule_ids() {
    let request = CompatRequest {
        previous: Some(files(&["a.proto", "b.proto"])),
        current: Some(files(&["a.proto"])),
        rule_ids: vec!["TEST_NO_FILE_RENAME".into()],
        options: None,
    };
    let (status, bytes) = call(PROTOREG_CALL_COMPAT, "", &request.encode_to_vec());
    assert_eq!(status, PROTOREG_OK, "{}", String::from_utf8_lossy(&bytes));
    let response = CompatResponse::decode(bytes.as_slice()).expect("response");
    assert_eq!(response.violations.len(), 1);
    assert_eq!(response.violations[0].rule_id, "TEST_NO_FILE_RENAME");
    assert_eq!(response.violations[0].against_file, "b.proto");
}

#[test]
fn a_panic_in_a_rule_is_an_error_response() {
    let request = CompatRequest {
        rule_ids: vec!["TEST_NO_FILE_RENAME".into()],
        options: Some(Struct {
            fields: [(
                "panic".to_string(),
                prost_types::Value {
                    kind: Some(prost_types::value::Kind::StringValue("yes".into())),
                },
            )]
            .into(),
        }),
        ..Default::default()
    };
    let (status, bytes) = call(PROTOREG_CALL_COMPAT, "", &request.encode_to_vec());
    assert_eq!(status, PROTOREG_ERROR);
    let message = String::from_utf8(bytes).expect("utf-8");
    assert!(message.contains("asked to panic"), "{message}");
}

#[test]
fn bad_requests_are_errors_not_crashes() {
    let (status, bytes) = call(PROTOREG_CALL_COMPAT, "", &[0xff, 0xff, 0xff]);
    assert_eq!(status, PROTOREG_ERROR);
    assert!(!bytes.is_empty());
    let (status, bytes) = call(PROTOREG_CALL_GENERATE, "nope", &[]);
    assert_eq!(status, PROTOREG_ERROR);
    assert!(String::from_utf8_lossy(&bytes).contains("unknown generator"));
    let (status, _) = call(99, "", &[]);
    assert_eq!(status, PROTOREG_ERROR);
    let request = CompatRequest {
        rule_ids: vec!["NOT_MINE".into()],
        ..Default::default()
    };
    let (status, bytes) = call(PROTOREG_CALL_COMPAT, "", &request.encode_to_vec());
    assert_eq!(status, PROTOREG_ERROR);
    assert!(String::from_utf8_lossy(&bytes).contains("unknown rule NOT_MINE"));
}

#[test]
fn generate_call_gets_the_request_bytes() {
    let request = CodeGeneratorRequest {
        file_to_generate: vec!["a.proto".into()],
        parameter: Some("x=1".into()),
        ..Default::default()
    };
    let (status, bytes) = call(PROTOREG_CALL_GENERATE, "echo", &request.encode_to_vec());
    assert_eq!(status, PROTOREG_OK);
    let response = CodeGeneratorResponse::decode(bytes.as_slice()).expect("response");
    assert_eq!(response.file[0].name(), "a.proto.txt");
    assert_eq!(response.file[0].content(), "x=1");
}
