//! Option values from arbitrary text, in every position an option can
//! take: the bytes are the value of a message-typed custom option of a
//! file, message, field, oneof, enum, enum value, service and method, and
//! the template around them is fixed. Deep values in any form (`{…}`,
//! `<…>`, lists) once overflowed the compiler's stack; the bounds must
//! refuse them first, and everything else must compile or fail cleanly.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;

#[path = "shared/mod.rs"]
mod shared;

const HEADER: &str = "syntax = \"proto3\";\npackage o;\n\
import \"google/protobuf/descriptor.proto\";\n\
message Cfg { Cfg c = 1; int32 v = 2; repeated Cfg l = 3; string s = 4; map<string, Cfg> m = 5; }\n\
extend google.protobuf.FileOptions { Cfg file_cfg = 50000; }\n\
extend google.protobuf.MessageOptions { Cfg msg_cfg = 50000; }\n\
extend google.protobuf.FieldOptions { Cfg field_cfg = 50000; }\n\
extend google.protobuf.OneofOptions { Cfg oneof_cfg = 50000; }\n\
extend google.protobuf.EnumOptions { Cfg enum_cfg = 50000; }\n\
extend google.protobuf.EnumValueOptions { Cfg value_cfg = 50000; }\n\
extend google.protobuf.ServiceOptions { Cfg service_cfg = 50000; }\n\
extend google.protobuf.MethodOptions { Cfg method_cfg = 50000; }\n";

fuzz_target!(|data: &[u8]| {
    let Ok(value) = std::str::from_utf8(data) else {
        return;
    };
    // The first byte picks the position, so that each input is one file
    // (eight copies of a large value would only slow the fuzzer).
    let Some(first) = value.chars().next() else {
        return;
    };
    let value = &value[first.len_utf8()..];
    let body = match u32::from(first) % 8 {
        0 => format!("option (file_cfg) = {value};\n"),
        1 => format!("message M {{ option (msg_cfg) = {value}; }}\n"),
        2 => format!("message M {{ int32 f = 1 [(field_cfg) = {value}]; }}\n"),
        3 => format!("message M {{ oneof o {{ option (oneof_cfg) = {value}; int32 f = 1; }} }}\n"),
        4 => format!("enum E {{ option (enum_cfg) = {value}; E0 = 0; }}\n"),
        5 => format!("enum E {{ E0 = 0 [(value_cfg) = {value}]; }}\n"),
        6 => format!("service S {{ option (service_cfg) = {value}; }}\n"),
        _ => format!("service S {{ rpc R(Cfg) returns (Cfg) {{ option (method_cfg) = {value}; }} }}\n"),
    };
    let sources = BTreeMap::from([("fuzz/o.proto".to_owned(), format!("{HEADER}{body}"))]);
    shared::compile_and_check(sources, Default::default());
});
