//! The request's files as canonical descriptor trees, normalized the way
//! protoc's `FileDescriptor::CopyTo` rebuilds them, plus an index of every
//! message and enum by full name.

use std::collections::HashMap;

use crate::canonical::{self, Node};
use crate::schema::{Schema, qualify};
use crate::text;
use protoreg_plugin_sdk::wire::{Result, field_type, json_name};

/// Field numbers of descriptor.proto used by the generators.
pub mod number {
    pub const FILE_NAME: u32 = 1;
    pub const FILE_PACKAGE: u32 = 2;
    pub const FILE_DEPENDENCY: u32 = 3;
    pub const FILE_MESSAGE_TYPE: u32 = 4;
    pub const FILE_ENUM_TYPE: u32 = 5;
    pub const FILE_SERVICE: u32 = 6;
    pub const FILE_EXTENSION: u32 = 7;
    pub const FILE_OPTIONS: u32 = 8;
    pub const FILE_SOURCE_CODE_INFO: u32 = 9;
    pub const FILE_PUBLIC_DEPENDENCY: u32 = 10;
    pub const FILE_SYNTAX: u32 = 12;
    pub const MESSAGE_NAME: u32 = 1;
    pub const MESSAGE_FIELD: u32 = 2;
    pub const MESSAGE_NESTED_TYPE: u32 = 3;
    pub const MESSAGE_ENUM_TYPE: u32 = 4;
    pub const MESSAGE_EXTENSION_RANGE: u32 = 5;
    pub const MESSAGE_EXTENSION: u32 = 6;
    pub const MESSAGE_OPTIONS: u32 = 7;
    pub const MESSAGE_ONEOF_DECL: u32 = 8;
    pub const FIELD_NAME: u32 = 1;
    pub const FIELD_LABEL: u32 = 4;
    pub const FIELD_TYPE: u32 = 5;
    pub const FIELD_TYPE_NAME: u32 = 6;
    pub const FIELD_DEFAULT_VALUE: u32 = 7;
    pub const FIELD_OPTIONS: u32 = 8;
    pub const FIELD_JSON_NAME: u32 = 10;
    pub const FIELD_PROTO3_OPTIONAL: u32 = 17;
    pub const ENUM_NAME: u32 = 1;
    pub const ENUM_VALUE: u32 = 2;
    pub const ENUM_OPTIONS: u32 = 3;
    pub const ENUM_VALUE_NAME: u32 = 1;
    pub const ENUM_VALUE_OPTIONS: u32 = 3;
    pub const ONEOF_NAME: u32 = 1;
    pub const ONEOF_OPTIONS: u32 = 2;
    pub const SERVICE_NAME: u32 = 1;
    pub const SERVICE_METHOD: u32 = 2;
    pub const SERVICE_OPTIONS: u32 = 3;
    pub const METHOD_NAME: u32 = 1;
    pub const METHOD_INPUT_TYPE: u32 = 2;
    pub const METHOD_OUTPUT_TYPE: u32 = 3;
    pub const METHOD_OPTIONS: u32 = 4;
    pub const METHOD_CLIENT_STREAMING: u32 = 5;
    pub const METHOD_SERVER_STREAMING: u32 = 6;
    pub const FILE_OPTIONS_PY_GENERIC_SERVICES: u32 = 18;
    pub const MESSAGE_OPTIONS_MAP_ENTRY: u32 = 7;
}
use number::*;

pub const LABEL_REPEATED: u64 = 3;

const FILE_DESCRIPTOR_PROTO: &str = "google.protobuf.FileDescriptorProto";

/// Comments attached to one element, from `source_code_info`.
#[derive(Debug, Clone, Default)]
pub struct Comments {
    pub leading_detached: Vec<String>,
    pub leading: Option<String>,
    pub trailing: Option<String>,
}

#[derive(Debug)]
pub struct File {
    pub name: String,
    /// Normalized as `CopyTo` and source-retention stripping leave it:
    /// what `_pb2.py` embeds.
    pub proto: Node,
    /// Comments by element path (the first location of a path wins).
    pub comments: HashMap<Vec<i32>, Comments>,
}

impl File {
    pub fn parse(schema: &Schema, bytes: &[u8]) -> Result<File> {
        let mut proto = canonical::parse(schema, FILE_DESCRIPTOR_PROTO, bytes)?;
        let comments = proto
            .message(FILE_SOURCE_CODE_INFO)
            .map(collect_comments)
            .unwrap_or_default();
        normalize_file(&mut proto);
        Ok(File {
            name: proto.str_or_empty(FILE_NAME).to_owned(),
            proto,
            comments,
        })
    }

    pub fn package(&self) -> &str {
        self.proto.str_or_empty(FILE_PACKAGE)
    }

    pub fn dependencies(&self) -> Vec<&str> {
        self.proto.strings(FILE_DEPENDENCY).collect()
    }

    pub fn public_dependencies(&self) -> Vec<&str> {
        let deps = self.dependencies();
        self.proto
            .varints(FILE_PUBLIC_DEPENDENCY)
            .filter_map(|i| deps.get(i as usize).copied())
            .collect()
    }

    pub fn has_generic_services(&self) -> bool {
        self.proto.has(FILE_SERVICE)
            && self
                .proto
                .message(FILE_OPTIONS)
                .is_some_and(|o| o.bool(FILE_OPTIONS_PY_GENERIC_SERVICES))
    }
}

fn collect_comments(info: &Node) -> HashMap<Vec<i32>, Comments> {
    let mut comments = HashMap::new();
    for location in info.messages(1) {
        let path: Vec<i32> = location.varints(1).map(|v| v as i32).collect();
        comments.entry(path).or_insert_with(|| Comments {
            leading: location.string(3).map(str::to_owned),
            trailing: location.string(4).map(str::to_owned),
            leading_detached: location.strings(6).map(str::to_owned).collect(),
        });
    }
    comments
}

/// What `FileDescriptor::CopyTo` leaves out or rewrites, compared with a
/// descriptor as another compiler (protox) writes it.
fn normalize_file(file: &mut Node) {
    file.remove(FILE_SOURCE_CODE_INFO);
    if matches!(file.string(FILE_SYNTAX), Some("proto2") | Some("")) {
        file.remove(FILE_SYNTAX);
    }
    if file.string(FILE_PACKAGE) == Some("") {
        file.remove(FILE_PACKAGE);
    }
    for message in file.messages_mut(FILE_MESSAGE_TYPE) {
        normalize_message(message);
    }
    for extension in file.messages_mut(FILE_EXTENSION) {
        normalize_field(extension);
    }
    for service in file.messages_mut(FILE_SERVICE) {
        for method in service.messages_mut(SERVICE_METHOD) {
            remove_if_false(method, METHOD_CLIENT_STREAMING);
            remove_if_false(method, METHOD_SERVER_STREAMING);
        }
    }
}

fn normalize_message(message: &mut Node) {
    for field in message.messages_mut(MESSAGE_FIELD) {
        normalize_field(field);
    }
    for field in message.messages_mut(MESSAGE_EXTENSION) {
        normalize_field(field);
    }
    for nested in message.messages_mut(MESSAGE_NESTED_TYPE) {
        normalize_message(nested);
    }
}

fn remove_if_false(node: &mut Node, number: u32) {
    if node.has(number) && !node.bool(number) {
        node.remove(number);
    }
}

fn normalize_field(field: &mut Node) {
    let name = field.str_or_empty(FIELD_NAME).to_owned();
    if field.string(FIELD_JSON_NAME) == Some(json_name(&name).as_str()) {
        // A computed json_name: protoc only keeps one written in the source.
        field.remove(FIELD_JSON_NAME);
    }
    remove_if_false(field, FIELD_PROTO3_OPTIONAL);
    if let Some(default) = field.string(FIELD_DEFAULT_VALUE) {
        let ty = field.varint(FIELD_TYPE).unwrap_or_default() as i32;
        let rewritten = default_value_as_protoc_writes(ty, default);
        field.set_string(FIELD_DEFAULT_VALUE, rewritten);
    }
}

/// `FieldDescriptor::DefaultValueAsString(false)` of the parsed default.
fn default_value_as_protoc_writes(ty: i32, default: &str) -> String {
    use field_type::*;
    match ty {
        DOUBLE => parse_float(default).map_or_else(|| default.to_owned(), text::simple_dtoa),
        FLOAT => {
            parse_float(default).map_or_else(|| default.to_owned(), |v| text::simple_ftoa(v as f32))
        }
        INT32 | INT64 | SINT32 | SINT64 | SFIXED32 | SFIXED64 => {
            parse_integer(default).map_or_else(|| default.to_owned(), |v| v.to_string())
        }
        UINT32 | UINT64 | FIXED32 | FIXED64 => parse_integer(default)
            .and_then(|v| u64::try_from(v).ok())
            .map_or_else(|| default.to_owned(), |v| v.to_string()),
        BYTES => text::c_escape(&text::c_unescape(default)),
        _ => default.to_owned(),
    }
}

fn parse_float(text: &str) -> Option<f64> {
    match text {
        "inf" => Some(f64::INFINITY),
        "-inf" => Some(f64::NEG_INFINITY),
        "nan" => Some(f64::NAN),
        _ => text.parse().ok(),
    }
}

/// `strtoll(text, 0)`-style: decimal, `0x` hex or leading-zero octal.
fn parse_integer(text: &str) -> Option<i128> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let magnitude = if let Some(hex) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        i128::from_str_radix(hex, 16).ok()?
    } else if digits.len() > 1 && digits.starts_with('0') {
        i128::from_str_radix(&digits[1..], 8).ok()?
    } else {
        digits.parse().ok()?
    };
    Some(if negative { -magnitude } else { magnitude })
}

/// Where a message or enum is declared.
#[derive(Debug, Clone)]
pub struct TypeInfo<'a> {
    pub file: &'a str,
    /// Names from the top-level type down to this one.
    pub nesting: Vec<&'a str>,
    /// The message itself; `None` for an enum.
    pub message: Option<&'a Node>,
}

/// Every file of the request and every type they declare.
#[derive(Debug)]
pub struct Pool<'a> {
    files: HashMap<&'a str, &'a File>,
    types: HashMap<String, TypeInfo<'a>>,
}

impl<'a> Pool<'a> {
    pub fn new(files: &'a [File]) -> Pool<'a> {
        let mut pool = Pool {
            files: HashMap::new(),
            types: HashMap::new(),
        };
        for file in files {
            pool.files.insert(&file.name, file);
            for message in file.proto.messages(FILE_MESSAGE_TYPE) {
                pool.index_message(file, file.package(), Vec::new(), message);
            }
            for enumeration in file.proto.messages(FILE_ENUM_TYPE) {
                pool.index_enum(file, file.package(), Vec::new(), enumeration);
            }
        }
        pool
    }

    fn index_message(
        &mut self,
        file: &'a File,
        scope: &str,
        parents: Vec<&'a str>,
        message: &'a Node,
    ) {
        let name = message.str_or_empty(MESSAGE_NAME);
        let full_name = qualify(scope, name);
        let mut nesting = parents;
        nesting.push(name);
        for nested in message.messages(MESSAGE_NESTED_TYPE) {
            self.index_message(file, &full_name, nesting.clone(), nested);
        }
        for enumeration in message.messages(MESSAGE_ENUM_TYPE) {
            self.index_enum(file, &full_name, nesting.clone(), enumeration);
        }
        let info = TypeInfo {
            file: &file.name,
            nesting,
            message: Some(message),
        };
        self.types.insert(full_name, info);
    }

    fn index_enum(
        &mut self,
        file: &'a File,
        scope: &str,
        parents: Vec<&'a str>,
        enumeration: &'a Node,
    ) {
        let name = enumeration.str_or_empty(ENUM_NAME);
        let mut nesting = parents;
        nesting.push(name);
        let info = TypeInfo {
            file: &file.name,
            nesting,
            message: None,
        };
        self.types.insert(qualify(scope, name), info);
    }

    pub fn file(&self, name: &str) -> Option<&'a File> {
        self.files.get(name).copied()
    }

    /// Looks up a `type_name` as descriptors write it (`.pkg.Type`).
    pub fn type_info(&self, type_name: &str) -> Option<&TypeInfo<'a>> {
        self.types
            .get(type_name.strip_prefix('.').unwrap_or(type_name))
    }

    /// Whether a message is a synthesized map entry.
    pub fn is_map_entry(message: &Node) -> bool {
        message
            .message(MESSAGE_OPTIONS)
            .is_some_and(|o| o.bool(MESSAGE_OPTIONS_MAP_ENTRY))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_rewritten_like_protoc() {
        use field_type::*;
        assert_eq!(
            default_value_as_protoc_writes(DOUBLE, "1.5e10"),
            "15000000000"
        );
        assert_eq!(default_value_as_protoc_writes(FLOAT, "-inf"), "-inf");
        assert_eq!(default_value_as_protoc_writes(FIXED32, "0x10"), "16");
        assert_eq!(
            default_value_as_protoc_writes(BYTES, "\\x01\\377"),
            "\\001\\377"
        );
        assert_eq!(default_value_as_protoc_writes(STRING, "a\\b"), "a\\b");
    }
}
