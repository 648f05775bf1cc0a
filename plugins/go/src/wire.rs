//! Minimal protobuf wire-format reading and writing.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WireType {
    Varint,
    Fixed64,
    Len,
    StartGroup,
    EndGroup,
    Fixed32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Error(pub &'static str);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

const TRUNCATED: Error = Error("unexpected end of protobuf data");

pub(crate) fn read_varint(buf: &mut &[u8]) -> Result<u64, Error> {
    let mut value = 0u64;
    for shift in (0..70).step_by(7) {
        let (&byte, rest) = buf.split_first().ok_or(TRUNCATED)?;
        *buf = rest;
        if shift < 64 {
            value |= u64::from(byte & 0x7f) << shift;
        }
        if byte < 0x80 {
            return Ok(value);
        }
    }
    Err(Error("varint too long"))
}

pub(crate) fn read_key(buf: &mut &[u8]) -> Result<(u32, WireType), Error> {
    let key = read_varint(buf)?;
    let wire_type = match key & 7 {
        0 => WireType::Varint,
        1 => WireType::Fixed64,
        2 => WireType::Len,
        3 => WireType::StartGroup,
        4 => WireType::EndGroup,
        5 => WireType::Fixed32,
        _ => return Err(Error("invalid wire type")),
    };
    let number = u32::try_from(key >> 3).map_err(|_| Error("field number too large"))?;
    if number == 0 {
        return Err(Error("invalid field number 0"));
    }
    Ok((number, wire_type))
}

pub(crate) fn read_len<'a>(buf: &mut &'a [u8]) -> Result<&'a [u8], Error> {
    let len = usize::try_from(read_varint(buf)?).map_err(|_| TRUNCATED)?;
    if len > buf.len() {
        return Err(TRUNCATED);
    }
    let (payload, rest) = buf.split_at(len);
    *buf = rest;
    Ok(payload)
}

pub(crate) fn read_fixed64(buf: &mut &[u8]) -> Result<u64, Error> {
    if buf.len() < 8 {
        return Err(TRUNCATED);
    }
    let (bytes, rest) = buf.split_at(8);
    *buf = rest;
    let mut array = [0u8; 8];
    array.copy_from_slice(bytes);
    Ok(u64::from_le_bytes(array))
}

/// Skips the value of a field whose key was just read.
pub(crate) fn skip_value(number: u32, wire_type: WireType, buf: &mut &[u8]) -> Result<(), Error> {
    match wire_type {
        WireType::Varint => {
            read_varint(buf)?;
        }
        WireType::Fixed64 => {
            read_fixed64(buf)?;
        }
        WireType::Len => {
            read_len(buf)?;
        }
        WireType::Fixed32 => {
            if buf.len() < 4 {
                return Err(TRUNCATED);
            }
            *buf = &buf[4..];
        }
        WireType::StartGroup => loop {
            let (inner, inner_type) = read_key(buf)?;
            if inner_type == WireType::EndGroup {
                if inner != number {
                    return Err(Error("mismatched end group"));
                }
                return Ok(());
            }
            skip_value(inner, inner_type, buf)?;
        },
        WireType::EndGroup => return Err(Error("unexpected end group")),
    }
    Ok(())
}

pub(crate) fn write_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

pub(crate) fn write_key(out: &mut Vec<u8>, number: u32, wire_type: WireType) {
    let code = match wire_type {
        WireType::Varint => 0,
        WireType::Fixed64 => 1,
        WireType::Len => 2,
        WireType::StartGroup => 3,
        WireType::EndGroup => 4,
        WireType::Fixed32 => 5,
    };
    write_varint(out, (u64::from(number) << 3) | code);
}

/// The raw payloads of every length-delimited occurrence of `number`.
pub(crate) fn raw_fields(mut buf: &[u8], number: u32) -> Result<Vec<&[u8]>, Error> {
    let mut found = Vec::new();
    while !buf.is_empty() {
        let (n, wire_type) = read_key(&mut buf)?;
        if n == number && wire_type == WireType::Len {
            found.push(read_len(&mut buf)?);
        } else {
            skip_value(n, wire_type, &mut buf)?;
        }
    }
    Ok(found)
}
