//! Protobuf wire-format primitives, for plugins that read descriptors as raw
//! bytes.
//!
//! A code generator that must keep what prost-types drops (custom options,
//! fields newer than its `descriptor.proto`) reads the request's
//! `FileDescriptorProto`s record by record instead of decoding them. This
//! module is that reader, shared by the first-party generators: [`records`]
//! walks one message body, yielding each field's [`Record`] (number, wire
//! type, payload and the record's exact bytes); the `read_*` functions
//! consume one value from the front of a slice; the `write_*` functions
//! append. Varints and keys are decoded and encoded by `prost::encoding`, so
//! they follow prost's checks (a varint of more than 10 bytes or one that
//! overflows 64 bits, a wire type over 5, field number 0 and a key over
//! 32 bits are errors; nested groups are skipped with prost's recursion
//! limit).
//!
//! It also holds two facts of `descriptor.proto` that generators need:
//! the [`field_type`] numbers and the default [`json_name`] rule.

use std::fmt;

use prost::encoding::{self, DecodeContext};

/// The wire type of a record (prost's).
pub use prost::encoding::WireType;

/// Input that is not a valid protobuf encoding (or that a reader refuses,
/// such as nesting deeper than it allows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(String);

impl DecodeError {
    pub fn new(message: impl Into<String>) -> Self {
        DecodeError(message.into())
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DecodeError {}

impl From<prost::DecodeError> for DecodeError {
    fn from(error: prost::DecodeError) -> Self {
        DecodeError(error.to_string())
    }
}

pub type Result<T> = std::result::Result<T, DecodeError>;

fn truncated() -> DecodeError {
    DecodeError::new("unexpected end of protobuf data")
}

/// `FieldDescriptorProto.Type`: the type numbers of `descriptor.proto`.
pub mod field_type {
    use prost_types::field_descriptor_proto::Type;

    pub const DOUBLE: i32 = Type::Double as i32;
    pub const FLOAT: i32 = Type::Float as i32;
    pub const INT64: i32 = Type::Int64 as i32;
    pub const UINT64: i32 = Type::Uint64 as i32;
    pub const INT32: i32 = Type::Int32 as i32;
    pub const FIXED64: i32 = Type::Fixed64 as i32;
    pub const FIXED32: i32 = Type::Fixed32 as i32;
    pub const BOOL: i32 = Type::Bool as i32;
    pub const STRING: i32 = Type::String as i32;
    pub const GROUP: i32 = Type::Group as i32;
    pub const MESSAGE: i32 = Type::Message as i32;
    pub const BYTES: i32 = Type::Bytes as i32;
    pub const UINT32: i32 = Type::Uint32 as i32;
    pub const ENUM: i32 = Type::Enum as i32;
    pub const SFIXED32: i32 = Type::Sfixed32 as i32;
    pub const SFIXED64: i32 = Type::Sfixed64 as i32;
    pub const SINT32: i32 = Type::Sint32 as i32;
    pub const SINT64: i32 = Type::Sint64 as i32;
}

/// The default `json_name` of a field, as protoc computes it (and as
/// protobuf-go's `strs.JSONCamelCase` does): every `_` is dropped and the
/// letter after it upper-cased (ASCII only), so `user_id` → `userId`,
/// `a__b` → `aB`, `foo_` → `foo`, `HTTPHeader` unchanged.
pub fn json_name(field_name: &str) -> String {
    let mut out = String::with_capacity(field_name.len());
    let mut capitalize_next = false;
    for c in field_name.chars() {
        if c == '_' {
            capitalize_next = true;
        } else if capitalize_next {
            out.push(c.to_ascii_uppercase());
            capitalize_next = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// Reads a varint from the front of `buf`.
pub fn read_varint(buf: &mut &[u8]) -> Result<u64> {
    Ok(encoding::decode_varint(buf)?)
}

/// Reads a record's key: its field number and wire type.
pub fn read_key(buf: &mut &[u8]) -> Result<(u32, WireType)> {
    Ok(encoding::decode_key(buf)?)
}

/// Reads a length-delimited payload (its length, then that many bytes).
pub fn read_len<'a>(buf: &mut &'a [u8]) -> Result<&'a [u8]> {
    let len = usize::try_from(read_varint(buf)?).map_err(|_| truncated())?;
    take(buf, len)
}

/// Reads the 4 bytes of a fixed32, float or sfixed32 (little-endian).
pub fn read_fixed32(buf: &mut &[u8]) -> Result<[u8; 4]> {
    let mut bytes = [0; 4];
    bytes.copy_from_slice(take(buf, 4)?);
    Ok(bytes)
}

/// Reads the 8 bytes of a fixed64, double or sfixed64 (little-endian).
pub fn read_fixed64(buf: &mut &[u8]) -> Result<[u8; 8]> {
    let mut bytes = [0; 8];
    bytes.copy_from_slice(take(buf, 8)?);
    Ok(bytes)
}

fn take<'a>(buf: &mut &'a [u8], len: usize) -> Result<&'a [u8]> {
    if len > buf.len() {
        return Err(truncated());
    }
    let (taken, rest) = buf.split_at(len);
    *buf = rest;
    Ok(taken)
}

/// Skips the value of a record whose key (`number`, `wire_type`) was just
/// read; a group is skipped through its end tag.
pub fn skip_value(number: u32, wire_type: WireType, buf: &mut &[u8]) -> Result<()> {
    Ok(encoding::skip_field(
        wire_type,
        number,
        buf,
        DecodeContext::default(),
    )?)
}

/// One field record of a message body, as it stands on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    pub number: u32,
    pub wire_type: WireType,
    /// The value's bytes without the key: the varint's bytes, the 4 or 8
    /// fixed bytes, the payload of a length-delimited record, or the body of
    /// a group (without its end tag).
    pub payload: &'a [u8],
    /// The whole record: key, value, and a group's end tag.
    pub raw: &'a [u8],
    /// The decoded value of a varint record (0 for other wire types).
    pub varint: u64,
}

/// Reads one record from the front of `buf`.
pub fn read_record<'a>(buf: &mut &'a [u8]) -> Result<Record<'a>> {
    let start = *buf;
    let (number, wire_type) = read_key(buf)?;
    let value_start = *buf;
    let mut varint = 0;
    let payload = match wire_type {
        WireType::Varint => {
            varint = read_varint(buf)?;
            &value_start[..value_start.len() - buf.len()]
        }
        WireType::SixtyFourBit => take(buf, 8)?,
        WireType::ThirtyTwoBit => take(buf, 4)?,
        WireType::LengthDelimited => read_len(buf)?,
        WireType::StartGroup => loop {
            let body_end = value_start.len() - buf.len();
            let (inner, inner_type) = read_key(buf)?;
            if inner_type == WireType::EndGroup {
                if inner != number {
                    return Err(DecodeError::new("mismatched end group"));
                }
                break &value_start[..body_end];
            }
            skip_value(inner, inner_type, buf)?;
        },
        WireType::EndGroup => return Err(DecodeError::new("unexpected end group")),
    };
    Ok(Record {
        number,
        wire_type,
        payload,
        raw: &start[..start.len() - buf.len()],
        varint,
    })
}

/// The records of one message body, in order. After an error the iterator
/// ends.
pub fn records(buf: &[u8]) -> Records<'_> {
    Records { buf }
}

/// See [`records`].
#[derive(Debug, Clone)]
pub struct Records<'a> {
    buf: &'a [u8],
}

impl<'a> Iterator for Records<'a> {
    type Item = Result<Record<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.buf.is_empty() {
            return None;
        }
        let item = read_record(&mut self.buf);
        if item.is_err() {
            self.buf = &[];
        }
        Some(item)
    }
}

/// Appends a varint.
pub fn write_varint(out: &mut Vec<u8>, value: u64) {
    encoding::encode_varint(value, out);
}

/// Appends a record's key. `number` must be a valid field number
/// (1 to 2^29 - 1), as every number [`read_key`] returns is.
pub fn write_key(out: &mut Vec<u8>, number: u32, wire_type: WireType) {
    encoding::encode_key(number, wire_type, out);
}

/// Appends a length-delimited record: key, length, payload.
pub fn write_len_delimited(out: &mut Vec<u8>, number: u32, payload: &[u8]) {
    write_key(out, number, WireType::LengthDelimited);
    write_varint(out, payload.len() as u64);
    out.extend_from_slice(payload);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_round_trips() {
        for value in [0, 1, 127, 128, 300, u64::from(u32::MAX), u64::MAX] {
            let mut out = Vec::new();
            write_varint(&mut out, value);
            let mut buf = out.as_slice();
            assert_eq!(read_varint(&mut buf).unwrap(), value);
            assert!(buf.is_empty());
        }
    }

    #[test]
    fn bad_varints_are_errors() {
        assert!(read_varint(&mut &[][..]).is_err());
        assert!(read_varint(&mut &[0x80, 0x80][..]).is_err());
        assert!(read_varint(&mut &[0xff; 11][..]).is_err());
    }

    #[test]
    fn keys_round_trip_and_bad_keys_are_errors() {
        let mut out = Vec::new();
        write_key(&mut out, 50020, WireType::LengthDelimited);
        assert_eq!(out, [0xa2, 0xb6, 0x18]);
        let mut buf = out.as_slice();
        assert_eq!(
            read_key(&mut buf).unwrap(),
            (50020, WireType::LengthDelimited)
        );
        // Field number 0; wire type 6.
        assert!(read_key(&mut &[0x00][..]).is_err());
        assert!(read_key(&mut &[0x0e][..]).is_err());
    }

    #[test]
    fn records_give_payload_raw_and_varint() {
        // 1: varint 300, 2: "hi", 3: fixed32, 4: fixed64.
        let buf = [
            0x08, 0xac, 0x02, 0x12, 2, b'h', b'i', 0x1d, 1, 2, 3, 4, 0x21, 1, 2, 3, 4, 5, 6, 7, 8,
        ];
        let recs: Vec<_> = records(&buf).collect::<Result<_>>().unwrap();
        assert_eq!(recs.len(), 4);
        assert_eq!((recs[0].number, recs[0].varint), (1, 300));
        assert_eq!(recs[0].payload, [0xac, 0x02]);
        assert_eq!(recs[0].raw, [0x08, 0xac, 0x02]);
        assert_eq!(recs[1].wire_type, WireType::LengthDelimited);
        assert_eq!(recs[1].payload, b"hi");
        assert_eq!(recs[1].raw, [0x12, 2, b'h', b'i']);
        assert_eq!(recs[2].payload, [1, 2, 3, 4]);
        assert_eq!(recs[3].payload, [1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(recs[3].varint, 0);
    }

    #[test]
    fn groups_are_read_whole() {
        // field 1 start group { field 2 varint 5, field 5 group {} }, field 1
        // end group, field 3 varint 1
        let buf = [0x0b, 0x10, 0x05, 0x2b, 0x2c, 0x0c, 0x18, 0x01];
        let recs: Vec<_> = records(&buf).collect::<Result<_>>().unwrap();
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[0].wire_type, WireType::StartGroup);
        assert_eq!(recs[0].payload, [0x10, 0x05, 0x2b, 0x2c]);
        assert_eq!(recs[0].raw, &buf[..6]);
        assert_eq!(recs[1].varint, 1);
    }

    #[test]
    fn malformed_records_end_the_iteration() {
        for buf in [
            &[0x12, 5, b'a'][..], // payload shorter than its length
            &[0x1d, 1, 2][..],    // fixed32 cut short
            &[0x0b, 0x14][..],    // group 1 closed by end group 2
            &[0x0c][..],          // end group without a start
            &[0x0b, 0x10, 0x05][..],
        ] {
            let mut iter = records(buf);
            assert!(iter.next().unwrap().is_err(), "{buf:?}");
            assert!(iter.next().is_none());
        }
    }

    #[test]
    fn skip_value_skips_each_wire_type() {
        let mut buf = &[0xac, 0x02, 0xff][..];
        skip_value(1, WireType::Varint, &mut buf).unwrap();
        assert_eq!(buf, [0xff]);
        let mut buf = &[2, b'h', b'i', 0xff][..];
        skip_value(1, WireType::LengthDelimited, &mut buf).unwrap();
        assert_eq!(buf, [0xff]);
        let mut buf = &[0x10, 0x05, 0x0c, 0xff][..];
        skip_value(1, WireType::StartGroup, &mut buf).unwrap();
        assert_eq!(buf, [0xff]);
        assert!(skip_value(1, WireType::EndGroup, &mut &[][..]).is_err());
        assert!(skip_value(1, WireType::SixtyFourBit, &mut &[0; 7][..]).is_err());
    }

    #[test]
    fn fixed_values_and_lengths() {
        let mut buf = &[1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 3, b'a', b'b', b'c'][..];
        assert_eq!(read_fixed32(&mut buf).unwrap(), [1, 0, 0, 0]);
        assert_eq!(u64::from_le_bytes(read_fixed64(&mut buf).unwrap()), 2);
        assert_eq!(read_len(&mut buf).unwrap(), b"abc");
        assert!(buf.is_empty());
        assert!(read_fixed64(&mut &[0; 4][..]).is_err());
    }

    #[test]
    fn write_len_delimited_writes_key_length_payload() {
        let mut out = Vec::new();
        write_len_delimited(&mut out, 15, b"xyz");
        assert_eq!(out, [0x7a, 3, b'x', b'y', b'z']);
    }

    #[test]
    fn field_types_are_descriptor_proto_numbers() {
        assert_eq!(field_type::DOUBLE, 1);
        assert_eq!(field_type::GROUP, 10);
        assert_eq!(field_type::MESSAGE, 11);
        assert_eq!(field_type::ENUM, 14);
        assert_eq!(field_type::SINT64, 18);
    }

    #[test]
    fn json_name_matches_protoc() {
        assert_eq!(json_name("user_id"), "userId");
        assert_eq!(json_name("foo_bar_baz"), "fooBarBaz");
        assert_eq!(json_name("field_with__double"), "fieldWithDouble");
        assert_eq!(json_name("a__b"), "aB");
        assert_eq!(json_name("neg_inf"), "negInf");
        assert_eq!(json_name("foo_"), "foo");
        assert_eq!(json_name("Foo"), "Foo");
        assert_eq!(json_name("HTTPHeader"), "HTTPHeader");
        assert_eq!(json_name("f_1_x"), "f1X");
        assert_eq!(json_name("_leading"), "Leading");
    }
}
