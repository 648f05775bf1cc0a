//! The validate and transcode path: arbitrary bodies decoded by core
//! `dynamic` as JSON, text format or binary against a fixed schema (the first
//! byte picks the format and the message type). Decoding never panics; a
//! message that decodes encodes in every format without panicking, and its
//! binary encoding decodes again.
#![no_main]

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use prost_reflect::{DescriptorPool, MessageDescriptor};
use protoreg_core::compile::compile_schema;
use protoreg_core::dynamic::{self, Format};

const SCHEMA: &str = r#"syntax = "proto3";
package fuzz;
import "google/protobuf/any.proto";
import "google/protobuf/duration.proto";
import "google/protobuf/field_mask.proto";
import "google/protobuf/struct.proto";
import "google/protobuf/timestamp.proto";
import "google/protobuf/wrappers.proto";
enum Kind { KIND_UNSPECIFIED = 0; KIND_A = 1; KIND_B = 2; }
message Price { int64 units = 1; int32 nanos = 2; string currency = 3; }
message Item {
  string sku = 1;
  Price price = 2;
  repeated int32 sizes = 3;
  map<string, Price> by_region = 4;
  map<int64, string> labels = 5;
  oneof pick { string name = 6; bytes blob = 7; Kind kind = 8; }
  double weight = 9;
  float ratio = 10;
  uint64 big = 11;
  sint32 delta = 12;
  fixed64 mask = 13;
  bool on = 14;
  optional string note = 15;
}
message Order {
  repeated Item items = 1;
  Order parent = 2;
  google.protobuf.Any extra = 3;
  google.protobuf.Timestamp at = 4;
  google.protobuf.Duration ttl = 5;
  google.protobuf.Struct attrs = 6;
  google.protobuf.Value value = 7;
  google.protobuf.Int64Value count = 8;
  google.protobuf.StringValue label = 9;
  google.protobuf.FieldMask fields = 10;
  google.protobuf.ListValue list = 11;
}
"#;

const LEGACY: &str = r#"syntax = "proto2";
package fuzz.legacy;
message Record {
  required string id = 1;
  optional int32 size = 2 [default = 7];
  repeated group Part = 3 { required int32 n = 4; optional Record child = 5; }
  extensions 100 to 199;
}
extend Record { optional string tag = 100; }
"#;

const TYPES: [&str; 4] = ["fuzz.Order", "fuzz.Item", "fuzz.legacy.Record", "google.protobuf.Any"];
const FORMATS: [Format; 3] = [Format::Json, Format::Text, Format::Binary];

fn pool() -> &'static DescriptorPool {
    static POOL: OnceLock<DescriptorPool> = OnceLock::new();
    POOL.get_or_init(|| {
        let sources = BTreeMap::from([
            ("fuzz/order.proto".to_owned(), SCHEMA.to_owned()),
            ("fuzz/legacy.proto".to_owned(), LEGACY.to_owned()),
        ]);
        let compiled =
            compile_schema(Arc::new(sources), Arc::default()).expect("the fuzz schema compiles");
        DescriptorPool::decode(compiled.descriptor_set).expect("the fuzz schema links")
    })
}

fn message_type(selector: u8) -> MessageDescriptor {
    let name = TYPES[usize::from(selector >> 2) % TYPES.len()];
    pool().get_message_by_name(name).expect("a type of the schema")
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let descriptor = message_type(selector);
    let format = FORMATS[usize::from(selector & 3) % FORMATS.len()];
    let Ok((message, _problems)) = dynamic::decode(&descriptor, format, &Bytes::copy_from_slice(body))
    else {
        return;
    };
    for target in FORMATS {
        let _ = dynamic::encode(&message, target);
    }
    let binary = dynamic::encode(&message, Format::Binary).expect("binary always encodes");
    if let Err(errors) = dynamic::decode(&descriptor, Format::Binary, &binary) {
        panic!("its own binary encoding does not decode: {errors:?}");
    }
});
