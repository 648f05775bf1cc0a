use prost::Message;
use protoreg_plugin_sdk::abi::PROTOREG_CALL_COMPAT;
use protoreg_plugin_sdk::{CompatRequest, CompatResponse, Struct};

use super::plugin;

fn compile(source: &str) -> prost_types::FileDescriptorSet {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.proto"), source).unwrap();
    let mut compiler = protox::Compiler::new([dir.path()]).unwrap();
    compiler.include_source_info(true);
    compiler.open_file("a.proto").unwrap();
    compiler.file_descriptor_set()
}

fn options(pairs: &[(&str, &[&str])]) -> Struct {
    use prost_types::value::Kind;
    Struct {
        fields: pairs
            .iter()
            .map(|(k, values)| {
                let list = prost_types::ListValue {
                    values: values
                        .iter()
                        .map(|v| prost_types::Value {
                            kind: Some(Kind::StringValue(v.to_string())),
                        })
                        .collect(),
                };
                (
                    k.to_string(),
                    prost_types::Value {
                        kind: Some(Kind::ListValue(list)),
                    },
                )
            })
            .collect(),
    }
}

fn run(
    rule: &str,
    before: &str,
    after: &str,
    opts: &[(&str, &[&str])],
) -> Vec<protoreg_plugin_sdk::Violation> {
    let request = CompatRequest {
        previous: Some(compile(before)),
        current: Some(compile(after)),
        rule_ids: vec![rule.into()],
        options: Some(options(opts)),
    };
    let bytes = plugin()
        .dispatch(PROTOREG_CALL_COMPAT, "", &request.encode_to_vec())
        .expect("call");
    CompatResponse::decode(bytes.as_slice())
        .expect("response")
        .violations
}

const BEFORE: &str = r#"syntax = "proto3";
package shop.v1;
message OrderEvent {
  string id = 1;
  message Line { int32 qty = 1; }
  enum KindCode { KIND_CODE_UNSPECIFIED = 0; }
}
message Order { string id = 1; }
enum StatusCode { STATUS_CODE_UNSPECIFIED = 0; }
service OrdersAPI { rpc Get(Order) returns (Order); }
"#;

#[test]
fn a_changed_message_with_a_suffix_is_reported_at_its_location() {
    let after = BEFORE.replace(
        "string id = 1;\n  message",
        "string id = 1;\n  int64 at = 2;\n  message",
    );
    let found = run(
        "MESSAGE_SUFFIXES_NO_CHANGE",
        BEFORE,
        &after,
        &[("message_no_change_suffixes", &["Event"])],
    );
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].rule_id, "MESSAGE_SUFFIXES_NO_CHANGE");
    assert_eq!(found[0].file, "a.proto");
    assert_eq!((found[0].start_line, found[0].start_column), (3, 1));
    assert!(
        found[0].message.contains("\"shop.v1.OrderEvent\""),
        "{}",
        found[0].message
    );
}

#[test]
fn other_messages_and_comment_edits_are_not_changes() {
    let after = BEFORE
        .replace(
            "message Order { string id = 1; }",
            "message Order { string id = 1; int32 n = 2; }",
        )
        .replace(
            "message OrderEvent {",
            "// Emitted on every order change.\nmessage OrderEvent {",
        );
    let found = run(
        "MESSAGE_SUFFIXES_NO_CHANGE",
        BEFORE,
        &after,
        &[("message_no_change_suffixes", &["Event"])],
    );
    assert!(found.is_empty(), "{found:?}");
}

#[test]
fn without_configured_suffixes_nothing_is_checked() {
    let after = BEFORE.replace("int32 qty = 1;", "int64 qty = 1;");
    assert!(run("MESSAGE_SUFFIXES_NO_CHANGE", BEFORE, &after, &[]).is_empty());
}

#[test]
fn nested_messages_and_enums_are_guarded_too() {
    let after = BEFORE.replace("int32 qty = 1;", "int64 qty = 1;").replace(
        "KIND_CODE_UNSPECIFIED = 0;",
        "KIND_CODE_UNSPECIFIED = 0; KIND_CODE_X = 1;",
    );
    let messages = run(
        "MESSAGE_SUFFIXES_NO_CHANGE",
        BEFORE,
        &after,
        &[("message_no_change_suffixes", &["Line"])],
    );
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(messages[0].message.contains("shop.v1.OrderEvent.Line"));
    let enums = run(
        "ENUM_SUFFIXES_NO_CHANGE",
        BEFORE,
        &after,
        &[("enum_no_change_suffixes", &["Code"])],
    );
    assert_eq!(enums.len(), 1, "{enums:?}");
    assert!(enums[0].message.contains("shop.v1.OrderEvent.KindCode"));
}

#[test]
fn a_deleted_service_with_a_suffix_is_reported_without_location() {
    let after = BEFORE.replace(
        "service OrdersAPI { rpc Get(Order) returns (Order); }\n",
        "",
    );
    let found = run(
        "SERVICE_SUFFIXES_NO_CHANGE",
        BEFORE,
        &after,
        &[("service_no_change_suffixes", &["API"])],
    );
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].file.is_empty());
    assert_eq!(found[0].against_file, "a.proto");
    assert!(found[0].message.contains("deleted"));
}

#[test]
fn a_changed_service_method_is_a_change() {
    let after = BEFORE.replace(
        "rpc Get(Order) returns (Order);",
        "rpc Get(Order) returns (OrderEvent);",
    );
    let found = run(
        "SERVICE_SUFFIXES_NO_CHANGE",
        BEFORE,
        &after,
        &[("service_no_change_suffixes", &["API"])],
    );
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].start_line, 10);
}
