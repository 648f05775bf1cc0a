//! The `protobuf:"..."` struct tag (`internal/encoding/tag`).

use super::*;

/// `tag.Marshal`: the `protobuf:"..."` struct tag value.
pub(crate) fn field_protobuf_tag_value(plugin: &Plugin, field: &Field) -> String {
    let mut tag: Vec<String> = Vec::new();
    let wire = match field.kind() {
        Type::Bool | Type::Enum | Type::Int32 | Type::Uint32 | Type::Int64 | Type::Uint64 => {
            "varint"
        }
        Type::Sint32 => "zigzag32",
        Type::Sint64 => "zigzag64",
        Type::Sfixed32 | Type::Fixed32 | Type::Float => "fixed32",
        Type::Sfixed64 | Type::Fixed64 | Type::Double => "fixed64",
        Type::String | Type::Bytes | Type::Message => "bytes",
        Type::Group => "group",
    };
    tag.push(wire.into());
    tag.push(field.proto.number().to_string());
    tag.push(
        match field.proto.label() {
            Label::Optional => "opt",
            Label::Required => "req",
            Label::Repeated => "rep",
        }
        .into(),
    );
    if field.is_packed() {
        tag.push("packed".into());
    }
    let mut name = field.proto.name().to_string();
    if field.kind() == Type::Group {
        name = plugin.messages[field.message_type.unwrap_or_default()]
            .proto
            .name()
            .to_string();
    }
    tag.push(format!("name={name}"));
    let json_name = field
        .proto
        .json_name
        .clone()
        .unwrap_or_else(|| json_name(field.proto.name()));
    if !json_name.is_empty() && json_name != name && !field.is_extension {
        tag.push(format!("json={json_name}"));
    }
    if field.proto3 && !field.is_extension {
        tag.push("proto3".into());
    }
    if field.kind() == Type::Enum {
        tag.push(format!("enum={}", legacy_enum_name(plugin, field)));
    }
    if field.proto.oneof_index.is_some() {
        tag.push("oneof".into());
    }
    if field.has_default()
        && let Some(default) = parse_default(plugin, field)
    {
        tag.push(format!(
            "def={}",
            default_tag_value(&default, plugin, field)
        ));
    }
    tag.join(",")
}

/// `LegacyEnumName`: `pkg.Outer_Inner`.
pub(crate) fn legacy_enum_name(plugin: &Plugin, field: &Field) -> String {
    let e = &plugin.enums[field.enum_type.unwrap_or_default()];
    let package = &e.package;
    let name = e
        .full_name
        .strip_prefix(&format!("{package}."))
        .filter(|_| !package.is_empty())
        .unwrap_or(&e.full_name);
    let camel = crate::names::go_camel_case(name);
    if package.is_empty() {
        camel
    } else {
        format!("{package}.{camel}")
    }
}

/// `defval.Marshal(..., GoTag)`.
pub(crate) fn default_tag_value(default: &Default, plugin: &Plugin, field: &Field) -> String {
    match default {
        Default::Bool(b) => if *b { "1" } else { "0" }.into(),
        Default::Int(i) => i.to_string(),
        Default::Uint(u) => u.to_string(),
        Default::Float(v) if v.is_nan() => "nan".into(),
        Default::Float(v) if v.is_infinite() => if *v > 0.0 { "inf" } else { "-inf" }.into(),
        Default::Float(v) => format_float_g(*v, if field.kind() == Type::Float { 32 } else { 64 }),
        Default::String(s) => s.clone(),
        Default::Bytes(b) => escape_c_bytes(b),
        Default::Enum(name) => plugin.enums[field.enum_type.unwrap_or_default()]
            .values
            .iter()
            .find(|v| v.proto.name() == name)
            .map(|v| v.proto.number().to_string())
            .unwrap_or_default(),
    }
}
