//! Raw protobuf helpers for the tests: enough to splice fields out of
//! descriptors without decoding them (decoding would drop custom options).

pub fn read_varint(buf: &[u8], pos: &mut usize) -> u64 {
    let mut value = 0u64;
    let mut shift = 0;
    loop {
        let byte = buf[*pos];
        *pos += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return value;
        }
        shift += 7;
    }
}

pub fn write_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

pub fn write_bytes(out: &mut Vec<u8>, number: u32, payload: &[u8]) {
    write_varint(out, (u64::from(number) << 3) | 2);
    write_varint(out, payload.len() as u64);
    out.extend_from_slice(payload);
}

pub fn write_string(out: &mut Vec<u8>, number: u32, text: &str) {
    write_bytes(out, number, text.as_bytes());
}

/// One record: (field number, wire type, payload, whole record).
pub struct Record<'a> {
    pub number: u32,
    pub wire_type: u8,
    pub payload: &'a [u8],
    pub raw: &'a [u8],
}

pub fn records(buf: &[u8]) -> Vec<Record<'_>> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < buf.len() {
        let start = pos;
        let tag = read_varint(buf, &mut pos);
        let wire_type = (tag & 7) as u8;
        let payload_start;
        match wire_type {
            0 => {
                payload_start = pos;
                read_varint(buf, &mut pos);
            }
            1 => {
                payload_start = pos;
                pos += 8;
            }
            5 => {
                payload_start = pos;
                pos += 4;
            }
            2 => {
                let len = read_varint(buf, &mut pos) as usize;
                payload_start = pos;
                pos += len;
            }
            other => panic!("unexpected wire type {other} in a descriptor"),
        }
        out.push(Record {
            number: (tag >> 3) as u32,
            wire_type,
            payload: &buf[payload_start..pos],
            raw: &buf[start..pos],
        });
    }
    out
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
            (2, Some(payload)) => write_bytes(&mut out, record.number, &payload),
            _ => out.extend_from_slice(record.raw),
        }
    }
    out
}

pub fn string_field(buf: &[u8], number: u32) -> Option<String> {
    records(buf)
        .into_iter()
        .rev()
        .find(|r| r.number == number && r.wire_type == 2)
        .map(|r| String::from_utf8_lossy(r.payload).into_owned())
}

fn default_json_name(name: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// FieldDescriptorProto without a json_name equal to the computed default.
fn clear_field(field: &[u8]) -> Vec<u8> {
    let name = string_field(field, 1).unwrap_or_default();
    let computed = default_json_name(&name);
    rewrite(
        field,
        &|r| r.number == 10 && r.wire_type == 2 && r.payload == computed.as_bytes(),
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
