//! The hand-written prost types against `proto/.../plugin.proto`: every
//! message, populated in full, decodes under the `.proto` descriptor with
//! every field present and nothing unknown, and prints the expected JSON.

use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage};
use protoreg_plugin_sdk::*;
use serde_json::json;

fn pool() -> DescriptorPool {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/proto");
    let files = protox::compile(["protoreg/plugin/v1/plugin.proto"], [root]).expect("compile");
    DescriptorPool::from_file_descriptor_set(files).expect("pool")
}

fn check<M: Message>(name: &str, value: &M, expected: serde_json::Value) {
    let pool = pool();
    let descriptor = pool
        .get_message_by_name(&format!("protoreg.plugin.v1.{name}"))
        .unwrap_or_else(|| panic!("{name} is not in plugin.proto"));
    let bytes = value.encode_to_vec();
    let decoded = DynamicMessage::decode(descriptor.clone(), bytes.as_slice()).expect("decode");
    assert_eq!(
        decoded.unknown_fields().count(),
        0,
        "{name}: fields the .proto lacks"
    );
    for field in descriptor.fields() {
        assert!(
            decoded.has_field(&field),
            "{name}.{}: set in Rust, absent under the .proto",
            field.name()
        );
    }
    let json = serde_json::to_value(&decoded).expect("json");
    assert_eq!(json, expected, "{name}");
}

#[test]
fn messages_match_the_proto_file() {
    check(
        "PluginManifest",
        &PluginManifest {
            name: "n".into(),
            version: "1".into(),
            kinds: vec![PluginKind::CompatRule as i32, PluginKind::EventSink as i32],
            rules: vec![RuleInfo {
                id: "R".into(),
                purpose: "p".into(),
                categories: vec!["FILE".into()],
                default: true,
            }],
            description: "d".into(),
            generators: vec![GeneratorInfo {
                name: "g".into(),
                description: "gd".into(),
            }],
            sinks: vec![SinkInfo {
                name: "s".into(),
                description: "sd".into(),
                destinations: true,
            }],
        },
        json!({"name": "n", "version": "1",
               "kinds": ["PLUGIN_KIND_COMPAT_RULE", "PLUGIN_KIND_EVENT_SINK"],
               "rules": [{"id": "R", "purpose": "p", "categories": ["FILE"], "default": true}],
               "description": "d",
               "generators": [{"name": "g", "description": "gd"}],
               "sinks": [{"name": "s", "description": "sd", "destinations": true}]}),
    );
    let set = FileDescriptorSet {
        file: vec![prost_types::FileDescriptorProto {
            name: Some("a.proto".into()),
            ..Default::default()
        }],
    };
    let options = Struct {
        fields: [(
            "k".to_string(),
            prost_types::Value {
                kind: Some(prost_types::value::Kind::StringValue("v".into())),
            },
        )]
        .into(),
    };
    check(
        "CompatRequest",
        &CompatRequest {
            previous: Some(set.clone()),
            current: Some(set),
            rule_ids: vec!["R".into()],
            options: Some(options.clone()),
        },
        json!({"previous": {"file": [{"name": "a.proto"}]},
               "current": {"file": [{"name": "a.proto"}]},
               "ruleIds": ["R"], "options": {"k": "v"}}),
    );
    check(
        "Violation",
        &Violation {
            rule_id: "R".into(),
            file: "a.proto".into(),
            start_line: 1,
            start_column: 2,
            end_line: 3,
            end_column: 4,
            message: "m".into(),
            against_file: "b.proto".into(),
        },
        json!({"ruleId": "R", "file": "a.proto", "startLine": 1, "startColumn": 2,
               "endLine": 3, "endColumn": 4, "message": "m", "againstFile": "b.proto"}),
    );
    check(
        "Event",
        &Event {
            id: 7,
            kind: "promoted".into(),
            namespace: "ns".into(),
            payload_json: "{}".into(),
            created_at: "2026-01-01T00:00:00Z".into(),
            sink: "s".into(),
            destination: Some(Destination {
                url: "https://example.com/hook".into(),
                address: "93.184.216.34:443".into(),
                secret: "k".into(),
                delivery_id: 3,
                timeout_ms: 1000,
                subscription_id: 2,
            }),
        },
        json!({"id": "7", "kind": "promoted", "namespace": "ns", "payloadJson": "{}",
               "createdAt": "2026-01-01T00:00:00Z", "sink": "s",
               "destination": {"url": "https://example.com/hook", "address": "93.184.216.34:443",
                               "secret": "k", "deliveryId": "3", "timeoutMs": 1000,
                               "subscriptionId": "2"}}),
    );
    check(
        "EventAck",
        &EventAck {
            outcome: DeliveryOutcome::Retry as i32,
            status_code: 503,
            error: "busy".into(),
            retry_after_ms: 2000,
        },
        json!({"outcome": "DELIVERY_OUTCOME_RETRY", "statusCode": 503, "error": "busy",
               "retryAfterMs": "2000"}),
    );
    check(
        "ConfigureResponse",
        &ConfigureResponse {
            disabled_sinks: vec![DisabledSink {
                name: "s".into(),
                reason: "no path".into(),
            }],
        },
        json!({"disabledSinks": [{"name": "s", "reason": "no path"}]}),
    );
    check(
        "ConfigureRequest",
        &ConfigureRequest {
            settings: Some(options),
        },
        json!({"settings": {"k": "v"}}),
    );
}
