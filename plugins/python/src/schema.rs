//! The message types and extensions declared by the request's files, read
//! straight from their raw bytes: what the canonical re-serialization needs
//! to know about every field (wire shape, packing, retention).

use std::collections::HashMap;

use protoreg_plugin_sdk::wire::{self, DecodeError, Record, Result, WireType, field_type};

const LABEL_REPEATED: u64 = 3;
/// Nested message declarations deeper than this are refused (protobuf's
/// parser refuses such descriptors anyway).
const MAX_NESTING: usize = 100;
const EDITION_PROTO3: u64 = 999;
const EDITION_2023: u64 = 1000;
const RETENTION_SOURCE: u64 = 2;
const REPEATED_FIELD_ENCODING_PACKED: u64 = 1;
const REPEATED_FIELD_ENCODING_EXPANDED: u64 = 2;

/// `google/protobuf/descriptor.proto` as compiled by libprotoc 35.1 (the
/// version grpcio-tools 1.85.1 links in). protoc falls back to it when the
/// request does not carry descriptor.proto itself. Regenerate with
/// `python3 -m grpc_tools.protoc -I<grpc_tools>/_proto
/// --descriptor_set_out=src/descriptor.fds google/protobuf/descriptor.proto`.
const BUILTIN_DESCRIPTOR_SET: &[u8] = include_bytes!("descriptor.fds");
pub const DESCRIPTOR_PROTO_NAME: &str = "google/protobuf/descriptor.proto";

/// How one field (or extension) is written on the wire.
#[derive(Debug, Clone)]
pub struct FieldSchema {
    pub ty: i32,
    pub repeated: bool,
    pub packed: bool,
    /// Fully qualified without the leading dot, for message and group fields.
    pub type_name: String,
    /// `retention = RETENTION_SOURCE`: protoc strips such options from the
    /// descriptors it embeds in generated code.
    pub source_retention: bool,
}

#[derive(Debug, Default)]
pub struct Schema {
    messages: HashMap<String, HashMap<u32, FieldSchema>>,
    extensions: HashMap<String, HashMap<u32, FieldSchema>>,
}

impl Schema {
    /// Reads every file; adds the built-in descriptor.proto when none of
    /// them is descriptor.proto.
    pub fn build<'a>(files: impl IntoIterator<Item = &'a [u8]>) -> Result<Schema> {
        let mut schema = Schema::default();
        let mut has_descriptor_proto = false;
        for file in files {
            has_descriptor_proto |= schema.add_file(file)?;
        }
        let builtin = Schema::builtin()?;
        if has_descriptor_proto {
            schema.take_retention_from(&builtin);
        } else {
            schema.messages.extend(builtin.messages);
            for (extendee, fields) in builtin.extensions {
                schema
                    .extensions
                    .entry(extendee)
                    .or_default()
                    .extend(fields);
            }
        }
        Ok(schema)
    }

    fn builtin() -> Result<Schema> {
        let mut builtin = Schema::default();
        for record in wire::records(BUILTIN_DESCRIPTOR_SET) {
            let record = record?;
            if record.number == 1 {
                builtin.add_file(record.payload)?;
            }
        }
        Ok(builtin)
    }

    /// protoc strips descriptor.proto's own source-retention fields (such
    /// as `ExtensionRangeOptions.verification`) as its built-in
    /// descriptor.proto declares them, even when the request carries a
    /// descriptor.proto without retention annotations (protox's does).
    fn take_retention_from(&mut self, builtin: &Schema) {
        for (message, fields) in &builtin.messages {
            let Some(ours) = self.messages.get_mut(message) else {
                continue;
            };
            for (number, _) in fields.iter().filter(|(_, f)| f.source_retention) {
                if let Some(our_field) = ours.get_mut(number) {
                    our_field.source_retention = true;
                }
            }
        }
    }

    pub fn field(&self, message: &str, number: u32) -> Option<&FieldSchema> {
        let known = self.messages.get(message).and_then(|m| m.get(&number));
        known.or_else(|| self.extensions.get(message).and_then(|m| m.get(&number)))
    }

    /// Returns whether the file is descriptor.proto.
    fn add_file(&mut self, file: &[u8]) -> Result<bool> {
        let records = collect(file)?;
        let name = string(&records, 1).unwrap_or_default();
        let package = string(&records, 2).unwrap_or_default();
        let edition = file_edition(&records);
        let file_encoding = options_feature(&records, 8, 50)?;
        let scope = Scope {
            edition,
            repeated_field_encoding: file_encoding,
        };
        for record in records.iter().filter(|r| r.number == 4) {
            self.add_message(record.payload, package, &scope, 0)?;
        }
        for record in records.iter().filter(|r| r.number == 7) {
            self.add_extension(record.payload, &scope)?;
        }
        Ok(name == DESCRIPTOR_PROTO_NAME)
    }

    fn add_message(
        &mut self,
        message: &[u8],
        parent: &str,
        scope: &Scope,
        depth: usize,
    ) -> Result<()> {
        if depth > MAX_NESTING {
            return Err(DecodeError::new("messages nested too deeply"));
        }
        let records = collect(message)?;
        let name = string(&records, 1).unwrap_or_default();
        let full_name = qualify(parent, name);
        let scope = Scope {
            edition: scope.edition,
            repeated_field_encoding: options_feature(&records, 7, 12)?
                .or(scope.repeated_field_encoding),
        };
        let mut fields = HashMap::new();
        for record in records.iter().filter(|r| r.number == 2) {
            let (number, field) = read_field(record.payload, &scope)?;
            fields.insert(number, field);
        }
        self.messages.insert(full_name.clone(), fields);
        for record in records.iter().filter(|r| r.number == 3) {
            self.add_message(record.payload, &full_name, &scope, depth + 1)?;
        }
        for record in records.iter().filter(|r| r.number == 6) {
            self.add_extension(record.payload, &scope)?;
        }
        Ok(())
    }

    fn add_extension(&mut self, field: &[u8], scope: &Scope) -> Result<()> {
        let records = collect(field)?;
        let extendee = string(&records, 2).unwrap_or_default();
        let extendee = extendee.strip_prefix('.').unwrap_or(extendee).to_owned();
        let (number, schema) = read_field(field, scope)?;
        self.extensions
            .entry(extendee)
            .or_default()
            .insert(number, schema);
        Ok(())
    }
}

/// The file-level context of a field's wire shape.
struct Scope {
    edition: u64,
    repeated_field_encoding: Option<u64>,
}

fn read_field(field: &[u8], scope: &Scope) -> Result<(u32, FieldSchema)> {
    let records = collect(field)?;
    let number = varint(&records, 3).unwrap_or_default() as u32;
    let ty = varint(&records, 5).unwrap_or_default() as i32;
    let repeated = varint(&records, 4) == Some(LABEL_REPEATED);
    let type_name = string(&records, 6).unwrap_or_default();
    let type_name = type_name.strip_prefix('.').unwrap_or(type_name).to_owned();
    let options = message(&records, 8).map(collect).transpose()?;
    let packed_option = options.as_ref().and_then(|o| varint(o, 2)).map(|v| v != 0);
    let retention = options.as_ref().and_then(|o| varint(o, 17));
    let encoding = match &options {
        Some(o) => feature(o, 21)?.or(scope.repeated_field_encoding),
        None => scope.repeated_field_encoding,
    };
    let packed = repeated && is_packable(ty) && is_packed(scope.edition, packed_option, encoding);
    let schema = FieldSchema {
        ty,
        repeated,
        packed,
        type_name,
        source_retention: retention == Some(RETENTION_SOURCE),
    };
    Ok((number, schema))
}

fn is_packed(edition: u64, packed_option: Option<bool>, encoding: Option<u64>) -> bool {
    if edition >= EDITION_2023 {
        return encoding != Some(REPEATED_FIELD_ENCODING_EXPANDED);
    }
    if edition == EDITION_PROTO3 {
        return packed_option != Some(false);
    }
    packed_option == Some(true) || encoding == Some(REPEATED_FIELD_ENCODING_PACKED)
}

pub fn is_packable(ty: i32) -> bool {
    !matches!(
        ty,
        field_type::STRING | field_type::BYTES | field_type::MESSAGE | field_type::GROUP
    )
}

fn file_edition(records: &[Record<'_>]) -> u64 {
    match string(records, 12) {
        Some("proto3") => EDITION_PROTO3,
        Some("editions") => varint(records, 14).unwrap_or(EDITION_2023),
        _ => 998,
    }
}

/// `repeated_field_encoding` of the `features` (field `features_number`) of
/// the options (field `options_number`) of a descriptor.
fn options_feature(
    records: &[Record<'_>],
    options_number: u32,
    features_number: u32,
) -> Result<Option<u64>> {
    match message(records, options_number) {
        Some(options) => feature(&collect(options)?, features_number),
        None => Ok(None),
    }
}

fn feature(options: &[Record<'_>], features_number: u32) -> Result<Option<u64>> {
    match message(options, features_number) {
        Some(features) => Ok(varint(&collect(features)?, 3)),
        None => Ok(None),
    }
}

pub fn qualify(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_owned()
    } else {
        format!("{parent}.{name}")
    }
}

fn collect(buf: &[u8]) -> Result<Vec<Record<'_>>> {
    wire::records(buf).collect()
}

/// The last occurrence wins, as when protobuf parses a singular field.
fn last<'r, 'a>(records: &'r [Record<'a>], number: u32) -> Option<&'r Record<'a>> {
    records.iter().rev().find(|r| r.number == number)
}

fn string<'a>(records: &[Record<'a>], number: u32) -> Option<&'a str> {
    last(records, number)
        .filter(|r| r.wire_type == WireType::LengthDelimited)
        .and_then(|r| std::str::from_utf8(r.payload).ok())
}

fn varint(records: &[Record<'_>], number: u32) -> Option<u64> {
    last(records, number)
        .filter(|r| r.wire_type == WireType::Varint)
        .map(|r| r.varint)
}

fn message<'a>(records: &[Record<'a>], number: u32) -> Option<&'a [u8]> {
    last(records, number)
        .filter(|r| r.wire_type == WireType::LengthDelimited)
        .map(|r| r.payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_descriptor_proto_knows_field_options() {
        let schema = Schema::build(std::iter::empty()).unwrap();
        let packed = schema.field("google.protobuf.FieldOptions", 2).unwrap();
        assert_eq!(packed.ty, field_type::BOOL);
        let targets = schema.field("google.protobuf.FieldOptions", 19).unwrap();
        assert!(targets.repeated && !targets.packed);
        let file = schema
            .field("google.protobuf.FileDescriptorProto", 4)
            .unwrap();
        assert_eq!(file.type_name, "google.protobuf.DescriptorProto");
    }
}
