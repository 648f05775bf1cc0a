//! Re-serializes descriptor messages the way protoc's C++ runtime does, so
//! the bytes embedded in `_pb2.py` match grpcio-tools exactly.
//!
//! protoc parses every option with the request's own descriptor pool
//! (custom options become known extensions) and serializes with known
//! fields and extensions in field-number order, repeated fields packed or
//! not as declared, singular message fields merged, and only truly unknown
//! fields (in arrival order) at the end. [`Node`] keeps a message in that
//! shape; [`Node::encode`] writes it.

use protoreg_plugin_sdk::wire::{self, DecodeError, Record, Result, WireType, field_type};

use crate::schema::{FieldSchema, Schema};

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Varint(u64),
    Fixed32([u8; 4]),
    Fixed64([u8; 8]),
    Bytes(Vec<u8>),
    Message(Node),
    Group(Node),
}

/// Every value of one field number.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub number: u32,
    pub packed: bool,
    pub values: Vec<Value>,
}

/// One message, canonical: entries sorted by number, unknown records last.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Node {
    pub entries: Vec<Entry>,
    pub unknown: Vec<u8>,
    /// Some source-retention field was dropped while parsing.
    stripped: bool,
}

/// How deep messages may nest, as protobuf's C++ parser allows by default.
const MAX_DEPTH: usize = 100;

/// Parses `bytes` as a message of type `type_name` (fully qualified, no
/// leading dot).
pub fn parse(schema: &Schema, type_name: &str, bytes: &[u8]) -> Result<Node> {
    parse_nested(schema, type_name, bytes, 0)
}

fn parse_nested(schema: &Schema, type_name: &str, bytes: &[u8], depth: usize) -> Result<Node> {
    if depth > MAX_DEPTH {
        return Err(DecodeError::new("messages nested too deeply"));
    }
    let mut pending: Vec<Pending<'_>> = Vec::new();
    let mut unknown = Vec::new();
    let mut stripped = false;
    for record in wire::records(bytes) {
        let record = record?;
        let Some(field) = schema.field(type_name, record.number) else {
            unknown.extend_from_slice(record.raw);
            continue;
        };
        if field.source_retention {
            stripped = true;
            continue;
        }
        if !accept(&mut pending, field, &record)? {
            unknown.extend_from_slice(record.raw);
        }
    }
    pending.sort_by_key(|p| p.number);
    let entries = pending
        .into_iter()
        .map(|p| p.finish(schema, depth))
        .collect::<Result<Vec<_>>>()?;
    Ok(Node {
        entries,
        unknown,
        stripped,
    })
}

/// Values collected for one field before nested messages are parsed:
/// a singular message may arrive in several records, which protobuf merges
/// (the same as parsing their concatenation).
struct Pending<'a> {
    number: u32,
    field: &'a FieldSchema,
    scalars: Vec<Value>,
    messages: Vec<Vec<u8>>,
}

impl<'a> Pending<'a> {
    fn finish(self, schema: &Schema, depth: usize) -> Result<Entry> {
        let mut values = self.scalars;
        let is_group = self.field.ty == field_type::GROUP;
        for body in &self.messages {
            let node = parse_nested(schema, &self.field.type_name, body, depth + 1)?;
            if node.is_emptied_by_stripping() {
                // protoc drops an options message that only held
                // source-retention options (checked with grpcio-tools).
                continue;
            }
            values.push(if is_group {
                Value::Group(node)
            } else {
                Value::Message(node)
            });
        }
        if !self.field.repeated {
            values.drain(..values.len().saturating_sub(1));
        }
        Ok(Entry {
            number: self.number,
            packed: self.field.packed,
            values,
        })
    }
}

/// Records `record` under its field; returns false when its wire type does
/// not fit the field (protobuf then keeps it as an unknown field).
fn accept<'a>(
    pending: &mut Vec<Pending<'a>>,
    field: &'a FieldSchema,
    record: &Record<'_>,
) -> Result<bool> {
    let is_message = matches!(field.ty, field_type::MESSAGE | field_type::GROUP);
    let expected = expected_wire_type(field.ty);
    let packed_input = record.wire_type == WireType::LengthDelimited
        && field.repeated
        && !is_message
        && crate::schema::is_packable(field.ty);
    if record.wire_type != expected && !packed_input {
        return Ok(false);
    }
    let slot = slot(pending, field, record.number);
    if is_message {
        if field.repeated || slot.messages.is_empty() {
            slot.messages.push(record.payload.to_vec());
        } else if let Some(last) = slot.messages.last_mut() {
            last.extend_from_slice(record.payload);
        }
    } else if packed_input {
        let mut payload = record.payload;
        while !payload.is_empty() {
            slot.scalars.push(read_packed(field.ty, &mut payload)?);
        }
    } else {
        slot.scalars.push(scalar(field.ty, record));
    }
    Ok(true)
}

fn slot<'p, 'a>(
    pending: &'p mut Vec<Pending<'a>>,
    field: &'a FieldSchema,
    number: u32,
) -> &'p mut Pending<'a> {
    let index = match pending.iter().position(|p| p.number == number) {
        Some(index) => index,
        None => {
            pending.push(Pending {
                number,
                field,
                scalars: Vec::new(),
                messages: Vec::new(),
            });
            pending.len() - 1
        }
    };
    &mut pending[index]
}

fn expected_wire_type(ty: i32) -> WireType {
    use field_type::*;
    match ty {
        DOUBLE | FIXED64 | SFIXED64 => WireType::SixtyFourBit,
        FLOAT | FIXED32 | SFIXED32 => WireType::ThirtyTwoBit,
        STRING | BYTES | MESSAGE => WireType::LengthDelimited,
        GROUP => WireType::StartGroup,
        _ => WireType::Varint,
    }
}

/// A scalar as the C++ runtime stores it: 32-bit types are truncated, so
/// re-encoding gives the canonical varint.
fn normalize_varint(ty: i32, value: u64) -> u64 {
    use field_type::*;
    match ty {
        INT32 | ENUM => i64::from(value as i32) as u64,
        UINT32 | SINT32 => u64::from(value as u32),
        BOOL => u64::from(value != 0),
        _ => value,
    }
}

fn scalar(ty: i32, record: &Record<'_>) -> Value {
    match record.wire_type {
        WireType::Varint => Value::Varint(normalize_varint(ty, record.varint)),
        WireType::ThirtyTwoBit => Value::Fixed32(record.payload.try_into().unwrap_or_default()),
        WireType::SixtyFourBit => Value::Fixed64(record.payload.try_into().unwrap_or_default()),
        _ => Value::Bytes(record.payload.to_vec()),
    }
}

fn read_packed(ty: i32, buf: &mut &[u8]) -> Result<Value> {
    Ok(match expected_wire_type(ty) {
        WireType::ThirtyTwoBit => Value::Fixed32(wire::read_fixed32(buf)?),
        WireType::SixtyFourBit => Value::Fixed64(wire::read_fixed64(buf)?),
        _ => Value::Varint(normalize_varint(ty, wire::read_varint(buf)?)),
    })
}

impl Node {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_to(&mut out);
        out
    }

    fn encode_to(&self, out: &mut Vec<u8>) {
        for entry in &self.entries {
            entry.encode_to(out);
        }
        out.extend_from_slice(&self.unknown);
    }

    fn is_emptied_by_stripping(&self) -> bool {
        self.stripped && self.entries.iter().all(|e| e.values.is_empty()) && self.unknown.is_empty()
    }

    pub fn entry(&self, number: u32) -> Option<&Entry> {
        self.entries.iter().find(|e| e.number == number)
    }

    fn values(&self, number: u32) -> &[Value] {
        self.entry(number).map_or(&[], |e| e.values.as_slice())
    }

    pub fn has(&self, number: u32) -> bool {
        self.entry(number).is_some_and(|e| !e.values.is_empty())
    }

    pub fn string(&self, number: u32) -> Option<&str> {
        self.values(number).last().and_then(|v| match v {
            Value::Bytes(bytes) => std::str::from_utf8(bytes).ok(),
            _ => None,
        })
    }

    pub fn str_or_empty(&self, number: u32) -> &str {
        self.string(number).unwrap_or_default()
    }

    pub fn strings(&self, number: u32) -> impl Iterator<Item = &str> {
        self.values(number).iter().filter_map(|v| match v {
            Value::Bytes(bytes) => std::str::from_utf8(bytes).ok(),
            _ => None,
        })
    }

    pub fn varint(&self, number: u32) -> Option<u64> {
        self.values(number).last().and_then(|v| match v {
            Value::Varint(value) => Some(*value),
            _ => None,
        })
    }

    pub fn varints(&self, number: u32) -> impl Iterator<Item = u64> + '_ {
        self.values(number).iter().filter_map(|v| match v {
            Value::Varint(value) => Some(*value),
            _ => None,
        })
    }

    pub fn bool(&self, number: u32) -> bool {
        self.varint(number).is_some_and(|v| v != 0)
    }

    pub fn message(&self, number: u32) -> Option<&Node> {
        self.values(number).last().and_then(Value::as_node)
    }

    pub fn messages(&self, number: u32) -> impl Iterator<Item = &Node> {
        self.values(number).iter().filter_map(Value::as_node)
    }

    pub fn messages_mut(&mut self, number: u32) -> impl Iterator<Item = &mut Node> {
        self.entries
            .iter_mut()
            .filter(move |e| e.number == number)
            .flat_map(|e| e.values.iter_mut())
            .filter_map(|v| match v {
                Value::Message(node) | Value::Group(node) => Some(node),
                _ => None,
            })
    }

    pub fn remove(&mut self, number: u32) {
        self.entries.retain(|e| e.number != number);
    }

    pub fn set_string(&mut self, number: u32, value: String) {
        if let Some(entry) = self.entries.iter_mut().find(|e| e.number == number) {
            entry.values = vec![Value::Bytes(value.into_bytes())];
        }
    }
}

impl Value {
    fn as_node(&self) -> Option<&Node> {
        match self {
            Value::Message(node) | Value::Group(node) => Some(node),
            _ => None,
        }
    }
}

impl Entry {
    fn encode_to(&self, out: &mut Vec<u8>) {
        if self.packed {
            if self.values.is_empty() {
                return;
            }
            let mut body = Vec::new();
            for value in &self.values {
                encode_bare(value, &mut body);
            }
            wire::write_len_delimited(out, self.number, &body);
            return;
        }
        for value in &self.values {
            match value {
                Value::Varint(_) => wire::write_key(out, self.number, WireType::Varint),
                Value::Fixed32(_) => wire::write_key(out, self.number, WireType::ThirtyTwoBit),
                Value::Fixed64(_) => wire::write_key(out, self.number, WireType::SixtyFourBit),
                Value::Bytes(bytes) => {
                    wire::write_len_delimited(out, self.number, bytes);
                    continue;
                }
                Value::Message(node) => {
                    wire::write_len_delimited(out, self.number, &node.encode());
                    continue;
                }
                Value::Group(node) => {
                    wire::write_key(out, self.number, WireType::StartGroup);
                    node.encode_to(out);
                    wire::write_key(out, self.number, WireType::EndGroup);
                    continue;
                }
            }
            encode_bare(value, out);
        }
    }
}

/// A scalar's bytes without a tag (also the element format of packed fields).
fn encode_bare(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Varint(v) => wire::write_varint(out, *v),
        Value::Fixed32(bytes) => out.extend_from_slice(bytes),
        Value::Fixed64(bytes) => out.extend_from_slice(bytes),
        Value::Bytes(_) | Value::Message(_) | Value::Group(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> Schema {
        Schema::build(std::iter::empty()).unwrap()
    }

    #[test]
    fn known_fields_are_sorted_and_unknown_kept_last() {
        // FieldOptions: unknown 51000 (varint 1), deprecated=true (3), packed=false (2)
        let input = [0xc0, 0x8f, 0x19, 0x01, 0x18, 0x01, 0x10, 0x00];
        let node = parse(&schema(), "google.protobuf.FieldOptions", &input).unwrap();
        assert_eq!(
            node.encode(),
            [0x10, 0x00, 0x18, 0x01, 0xc0, 0x8f, 0x19, 0x01]
        );
    }

    #[test]
    fn singular_messages_merge_and_scalars_keep_the_last() {
        // FileDescriptorProto.options twice: java_package "a", then "b" + java_multiple_files
        let input = [
            0x42, 0x03, 0x0a, 0x01, b'a', 0x42, 0x05, 0x0a, 0x01, b'b', 0x50, 0x01,
        ];
        let node = parse(&schema(), "google.protobuf.FileDescriptorProto", &input).unwrap();
        assert_eq!(node.encode(), [0x42, 0x05, 0x0a, 0x01, b'b', 0x50, 0x01]);
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        // DescriptorProto.nested_type (3) inside itself, 200 levels deep.
        let mut message = vec![0x0a, 0x01, b'x'];
        for _ in 0..200 {
            let mut outer = Vec::new();
            wire::write_len_delimited(&mut outer, 3, &message);
            message = outer;
        }
        let result = parse(&schema(), "google.protobuf.DescriptorProto", &message);
        assert!(result.is_err());
    }

    #[test]
    fn packed_input_of_an_unpacked_field_is_expanded() {
        // FieldOptions.targets (19, repeated enum, not packed) sent packed [1, 2]
        let input = [0x9a, 0x01, 0x02, 0x01, 0x02];
        let node = parse(&schema(), "google.protobuf.FieldOptions", &input).unwrap();
        assert_eq!(node.encode(), [0x98, 0x01, 0x01, 0x98, 0x01, 0x02]);
    }
}
