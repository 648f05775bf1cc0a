//! Descriptor surgery for the tests, on the SDK's wire reader: enough to
//! splice fields out of descriptors without decoding them (decoding would
//! drop custom options).

use protoreg_plugin_sdk::wire::{self, Record, WireType};

/// The records of a message body; panics on a malformed one.
pub fn records(buf: &[u8]) -> impl Iterator<Item = Record<'_>> {
    wire::records(buf).map(|record| record.expect("a well-formed descriptor"))
}

/// Rewrites a message: `edit` gets each length-delimited record and returns
/// `Some(new payload)` to replace it, or `None` to keep the record as is.
/// `drop` removes records. Everything else is copied byte for byte.
pub fn rewrite(
    buf: &[u8],
    drop: &dyn Fn(&Record<'_>) -> bool,
    edit: &dyn Fn(&Record<'_>) -> Option<Vec<u8>>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(buf.len());
    for record in records(buf) {
        if drop(&record) {
            continue;
        }
        match (record.wire_type, edit(&record)) {
            (WireType::LengthDelimited, Some(payload)) => {
                wire::write_len_delimited(&mut out, record.number, &payload);
            }
            _ => out.extend_from_slice(record.raw),
        }
    }
    out
}

pub fn string_field(buf: &[u8], number: u32) -> Option<String> {
    records(buf)
        .filter(|r| r.number == number && r.wire_type == WireType::LengthDelimited)
        .last()
        .map(|r| String::from_utf8_lossy(r.payload).into_owned())
}

/// FieldDescriptorProto without a json_name equal to the computed default.
fn clear_field(field: &[u8]) -> Vec<u8> {
    let name = string_field(field, 1).unwrap_or_default();
    let computed = wire::json_name(&name);
    rewrite(
        field,
        &|r| {
            r.number == 10
                && r.wire_type == WireType::LengthDelimited
                && r.payload == computed.as_bytes()
        },
        &|_| None,
    )
}

/// DescriptorProto: fields (2), nested types (3), extensions (6).
fn clear_message(message: &[u8]) -> Vec<u8> {
    rewrite(message, &|_| false, &|r| match r.number {
        2 | 6 => Some(clear_field(r.payload)),
        3 => Some(clear_message(r.payload)),
        _ => None,
    })
}

/// FileDescriptorProto: messages (4), extensions (7).
pub fn clear_computed_json_names(file: &[u8]) -> Vec<u8> {
    rewrite(file, &|_| false, &|r| match r.number {
        4 => Some(clear_message(r.payload)),
        7 => Some(clear_field(r.payload)),
        _ => None,
    })
}
