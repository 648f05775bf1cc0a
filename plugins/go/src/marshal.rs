//! Re-encoding a `FileDescriptorProto` exactly as Go's `proto.Marshal` does.
//!
//! protoc-gen-go embeds `proto.Marshal(file)` (without `source_code_info`)
//! in every `.pb.go`. Go decodes the request into `descriptorpb` types that
//! know only the fields of the `descriptor.proto` it was built with; every
//! other field (custom options, newer fields) is kept as raw unknown bytes.
//! Marshalling then writes the known fields ordered by field number, each
//! in canonical form, followed by the unknown fields in the order they were
//! read. This module reproduces that from the raw request bytes, because
//! prost-types drops the unknown fields.

use protoreg_plugin_sdk::wire::{self, WireType};

/// How Go's descriptorpb decodes and re-encodes one known field.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// int32/enum (sign-extended varint), int64, uint64 and bool.
    Int32,
    Int64,
    Uint64,
    Bool,
    Double,
    /// string and bytes: written back unchanged.
    Bytes,
    /// A nested message of the given schema.
    Message(Schema),
}

#[derive(Clone, Copy)]
struct KnownField {
    number: u32,
    kind: Kind,
    repeated: bool,
    /// Packed on output (descriptor.proto is proto2: only `[packed = true]`).
    packed: bool,
}

/// The descriptor.proto messages known to protoc-gen-go 1.28.1.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Schema {
    File,
    Message,
    ExtensionRange,
    ReservedRange,
    Field,
    Oneof,
    Enum,
    EnumReservedRange,
    EnumValue,
    Service,
    Method,
    FileOptions,
    MessageOptions,
    FieldOptions,
    OneofOptions,
    EnumOptions,
    EnumValueOptions,
    ServiceOptions,
    MethodOptions,
    ExtensionRangeOptions,
    Uninterpreted,
    NamePart,
    SourceCodeInfo,
    Location,
}

const fn f(number: u32, kind: Kind) -> KnownField {
    KnownField {
        number,
        kind,
        repeated: false,
        packed: false,
    }
}

const fn rep(number: u32, kind: Kind) -> KnownField {
    KnownField {
        number,
        kind,
        repeated: true,
        packed: false,
    }
}

const fn packed(number: u32, kind: Kind) -> KnownField {
    KnownField {
        number,
        kind,
        repeated: true,
        packed: true,
    }
}

use Kind::{Bool, Bytes, Double, Int32, Int64, Message as M, Uint64};

const UNINTERPRETED: KnownField = rep(999, M(Schema::Uninterpreted));

/// Known fields of each message, sorted by number (Go's marshal order).
/// Taken from `types/descriptorpb/descriptor.pb.go` of protobuf-go 1.28.1.
fn known_fields(schema: Schema) -> &'static [KnownField] {
    match schema {
        Schema::File => {
            const {
                &[
                    f(1, Bytes),
                    f(2, Bytes),
                    rep(3, Bytes),
                    rep(4, M(Schema::Message)),
                    rep(5, M(Schema::Enum)),
                    rep(6, M(Schema::Service)),
                    rep(7, M(Schema::Field)),
                    f(8, M(Schema::FileOptions)),
                    f(9, M(Schema::SourceCodeInfo)),
                    rep(10, Int32),
                    rep(11, Int32),
                    f(12, Bytes),
                ]
            }
        }
        Schema::Message => {
            const {
                &[
                    f(1, Bytes),
                    rep(2, M(Schema::Field)),
                    rep(3, M(Schema::Message)),
                    rep(4, M(Schema::Enum)),
                    rep(5, M(Schema::ExtensionRange)),
                    rep(6, M(Schema::Field)),
                    f(7, M(Schema::MessageOptions)),
                    rep(8, M(Schema::Oneof)),
                    rep(9, M(Schema::ReservedRange)),
                    rep(10, Bytes),
                ]
            }
        }
        Schema::ExtensionRange => {
            const {
                &[
                    f(1, Int32),
                    f(2, Int32),
                    f(3, M(Schema::ExtensionRangeOptions)),
                ]
            }
        }
        Schema::ReservedRange | Schema::EnumReservedRange => const { &[f(1, Int32), f(2, Int32)] },
        Schema::Field => {
            const {
                &[
                    f(1, Bytes),
                    f(2, Bytes),
                    f(3, Int32),
                    f(4, Int32),
                    f(5, Int32),
                    f(6, Bytes),
                    f(7, Bytes),
                    f(8, M(Schema::FieldOptions)),
                    f(9, Int32),
                    f(10, Bytes),
                    f(17, Bool),
                ]
            }
        }
        Schema::Oneof => const { &[f(1, Bytes), f(2, M(Schema::OneofOptions))] },
        Schema::Enum => {
            const {
                &[
                    f(1, Bytes),
                    rep(2, M(Schema::EnumValue)),
                    f(3, M(Schema::EnumOptions)),
                    rep(4, M(Schema::EnumReservedRange)),
                    rep(5, Bytes),
                ]
            }
        }
        Schema::EnumValue => {
            const { &[f(1, Bytes), f(2, Int32), f(3, M(Schema::EnumValueOptions))] }
        }
        Schema::Service => {
            const {
                &[
                    f(1, Bytes),
                    rep(2, M(Schema::Method)),
                    f(3, M(Schema::ServiceOptions)),
                ]
            }
        }
        Schema::Method => {
            const {
                &[
                    f(1, Bytes),
                    f(2, Bytes),
                    f(3, Bytes),
                    f(4, M(Schema::MethodOptions)),
                    f(5, Bool),
                    f(6, Bool),
                ]
            }
        }
        Schema::FileOptions => {
            const {
                &[
                    f(1, Bytes),
                    f(8, Bytes),
                    f(9, Int32),
                    f(10, Bool),
                    f(11, Bytes),
                    f(16, Bool),
                    f(17, Bool),
                    f(18, Bool),
                    f(20, Bool),
                    f(23, Bool),
                    f(27, Bool),
                    f(31, Bool),
                    f(36, Bytes),
                    f(37, Bytes),
                    f(39, Bytes),
                    f(40, Bytes),
                    f(41, Bytes),
                    f(42, Bool),
                    f(44, Bytes),
                    f(45, Bytes),
                    UNINTERPRETED,
                ]
            }
        }
        Schema::MessageOptions => {
            const {
                &[
                    f(1, Bool),
                    f(2, Bool),
                    f(3, Bool),
                    f(7, Bool),
                    UNINTERPRETED,
                ]
            }
        }
        Schema::FieldOptions => {
            const {
                &[
                    f(1, Int32),
                    f(2, Bool),
                    f(3, Bool),
                    f(5, Bool),
                    f(6, Int32),
                    f(10, Bool),
                    UNINTERPRETED,
                ]
            }
        }
        Schema::OneofOptions | Schema::ExtensionRangeOptions => const { &[UNINTERPRETED] },
        Schema::EnumOptions => const { &[f(2, Bool), f(3, Bool), UNINTERPRETED] },
        Schema::EnumValueOptions => const { &[f(1, Bool), UNINTERPRETED] },
        Schema::ServiceOptions => const { &[f(33, Bool), UNINTERPRETED] },
        Schema::MethodOptions => const { &[f(33, Bool), f(34, Int32), UNINTERPRETED] },
        Schema::Uninterpreted => {
            const {
                &[
                    rep(2, M(Schema::NamePart)),
                    f(3, Bytes),
                    f(4, Uint64),
                    f(5, Int64),
                    f(6, Double),
                    f(7, Bytes),
                    f(8, Bytes),
                ]
            }
        }
        Schema::NamePart => const { &[f(1, Bytes), f(2, Bool)] },
        Schema::SourceCodeInfo => const { &[rep(1, M(Schema::Location))] },
        Schema::Location => {
            const {
                &[
                    packed(1, Int32),
                    packed(2, Int32),
                    f(3, Bytes),
                    f(4, Bytes),
                    rep(6, Bytes),
                ]
            }
        }
    }
}

/// One decoded value of a known field.
#[derive(Clone)]
enum Value {
    Varint(u64),
    /// The 8 bytes of a double, as read.
    Fixed64([u8; 8]),
    Bytes(Vec<u8>),
}

/// A message as Go holds it after `proto.Unmarshal`.
struct Decoded {
    /// Values per known field, in the order of `known_fields`.
    known: Vec<Vec<Value>>,
    unknown: Vec<u8>,
}

/// Re-encodes `raw` (a FileDescriptorProto) as Go's
/// `proto.MarshalOptions{Deterministic: true}` would after clearing
/// `source_code_info`.
pub(crate) fn go_marshal_file_without_source_info(raw: &[u8]) -> wire::Result<Vec<u8>> {
    let mut decoded = decode(raw, Schema::File)?;
    let source_info = known_fields(Schema::File)
        .iter()
        .position(|k| k.number == 9)
        .unwrap_or_default();
    decoded.known[source_info].clear();
    let mut out = Vec::with_capacity(raw.len());
    encode(&decoded, Schema::File, &mut out)?;
    Ok(out)
}

fn decode(mut buf: &[u8], schema: Schema) -> wire::Result<Decoded> {
    let fields = known_fields(schema);
    let mut decoded = Decoded {
        known: vec![Vec::new(); fields.len()],
        unknown: Vec::new(),
    };
    while !buf.is_empty() {
        let start = buf;
        let (number, wire_type) = wire::read_key(&mut buf)?;
        let slot = fields.iter().position(|k| k.number == number);
        let accepted = slot.and_then(|i| read_known(&fields[i], wire_type, &mut buf).transpose());
        match (slot, accepted) {
            (Some(i), Some(values)) => {
                let values = values?;
                store(&mut decoded.known[i], &fields[i], values);
            }
            _ => {
                // Unknown field, or a known one with a wire type Go would
                // not accept: kept byte for byte.
                wire::skip_value(number, wire_type, &mut buf)?;
                let consumed = start.len() - buf.len();
                decoded.unknown.extend_from_slice(&start[..consumed]);
            }
        }
    }
    Ok(decoded)
}

/// Reads one occurrence of a known field; `None` if the wire type does not
/// match (then the caller treats it as unknown, as Go does).
fn read_known(
    field: &KnownField,
    wire_type: WireType,
    buf: &mut &[u8],
) -> wire::Result<Option<Vec<Value>>> {
    let values = match (field.kind, wire_type) {
        (Kind::Int32 | Kind::Int64 | Kind::Uint64 | Kind::Bool, WireType::Varint) => {
            vec![Value::Varint(wire::read_varint(buf)?)]
        }
        (Kind::Double, WireType::SixtyFourBit) => {
            vec![Value::Fixed64(wire::read_fixed64(buf)?)]
        }
        (Kind::Bytes | Kind::Message(_), WireType::LengthDelimited) => {
            vec![Value::Bytes(wire::read_len(buf)?.to_vec())]
        }
        (Kind::Int32 | Kind::Int64 | Kind::Uint64 | Kind::Bool, WireType::LengthDelimited)
            if field.repeated =>
        {
            let mut payload = wire::read_len(buf)?;
            let mut values = Vec::new();
            while !payload.is_empty() {
                values.push(Value::Varint(wire::read_varint(&mut payload)?));
            }
            values
        }
        _ => return Ok(None),
    };
    Ok(Some(values))
}

/// Go keeps every element of a repeated field, the last value of a scalar,
/// and merges repeated occurrences of a message field (equivalent to
/// decoding the concatenation of their payloads).
fn store(slot: &mut Vec<Value>, field: &KnownField, values: Vec<Value>) {
    if field.repeated {
        slot.extend(values);
        return;
    }
    match (field.kind, slot.last_mut(), values.into_iter().last()) {
        (Kind::Message(_), Some(Value::Bytes(existing)), Some(Value::Bytes(more))) => {
            existing.extend_from_slice(&more);
        }
        (_, _, Some(value)) => *slot = vec![value],
        _ => {}
    }
}

fn encode(decoded: &Decoded, schema: Schema, out: &mut Vec<u8>) -> wire::Result<()> {
    for (field, values) in known_fields(schema).iter().zip(&decoded.known) {
        if values.is_empty() {
            continue;
        }
        if field.packed {
            let mut payload = Vec::new();
            for value in values {
                if let Value::Varint(v) = value {
                    wire::write_varint(&mut payload, canonical_varint(field.kind, *v));
                }
            }
            wire::write_len_delimited(out, field.number, &payload);
            continue;
        }
        for value in values {
            encode_value(field, value, out)?;
        }
    }
    out.extend_from_slice(&decoded.unknown);
    Ok(())
}

fn encode_value(field: &KnownField, value: &Value, out: &mut Vec<u8>) -> wire::Result<()> {
    match value {
        Value::Varint(v) => {
            wire::write_key(out, field.number, WireType::Varint);
            wire::write_varint(out, canonical_varint(field.kind, *v));
        }
        Value::Fixed64(v) => {
            wire::write_key(out, field.number, WireType::SixtyFourBit);
            out.extend_from_slice(v);
        }
        Value::Bytes(payload) => {
            if let Kind::Message(schema) = field.kind {
                let mut nested = Vec::with_capacity(payload.len());
                encode(&decode(payload, schema)?, schema, &mut nested)?;
                wire::write_len_delimited(out, field.number, &nested);
            } else {
                wire::write_len_delimited(out, field.number, payload);
            }
        }
    }
    Ok(())
}

/// The varint Go writes back for a decoded value: int32 is truncated and
/// sign-extended, bool becomes 0 or 1.
fn canonical_varint(kind: Kind, v: u64) -> u64 {
    match kind {
        Kind::Int32 => i64::from(v as i32) as u64,
        Kind::Bool => u64::from(v != 0),
        _ => v,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_fields_are_sorted_by_number() {
        for schema in [
            Schema::File,
            Schema::Message,
            Schema::Field,
            Schema::FileOptions,
            Schema::FieldOptions,
            Schema::MethodOptions,
            Schema::Location,
        ] {
            let numbers: Vec<u32> = known_fields(schema).iter().map(|k| k.number).collect();
            let mut sorted = numbers.clone();
            sorted.sort_unstable();
            assert_eq!(numbers, sorted);
        }
    }

    #[test]
    fn unknown_fields_move_after_known_ones() {
        // FileOptions: unknown 50020 "x" first, then go_package (11) "p".
        let mut options = Vec::new();
        wire::write_key(&mut options, 50020, WireType::LengthDelimited);
        options.extend_from_slice(&[1, b'x']);
        wire::write_key(&mut options, 11, WireType::LengthDelimited);
        options.extend_from_slice(&[1, b'p']);
        let mut file = Vec::new();
        wire::write_key(&mut file, 8, WireType::LengthDelimited);
        file.push(options.len() as u8);
        file.extend_from_slice(&options);
        wire::write_key(&mut file, 1, WireType::LengthDelimited);
        file.extend_from_slice(&[1, b'a']);

        let out = go_marshal_file_without_source_info(&file).unwrap();
        let expected: Vec<u8> = vec![
            0x0a, 1, b'a', // name first
            0x42, 8, // options
            0x5a, 1, b'p', // go_package
            0xa2, 0xb6, 0x18, 1, b'x', // the unknown option, appended
        ];
        assert_eq!(out, expected);
    }

    #[test]
    fn packed_public_dependency_is_written_unpacked() {
        let file = vec![0x52, 2, 0, 1];
        let out = go_marshal_file_without_source_info(&file).unwrap();
        assert_eq!(out, vec![0x50, 0, 0x50, 1]);
    }
}
