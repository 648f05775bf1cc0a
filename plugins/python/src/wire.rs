//! Protobuf wire-format primitives: just enough to read and re-write
//! descriptors without losing unknown fields (custom options).

/// Wire types of the protobuf encoding.
pub const VARINT: u8 = 0;
pub const FIXED64: u8 = 1;
pub const LEN: u8 = 2;
pub const START_GROUP: u8 = 3;
pub const END_GROUP: u8 = 4;
pub const FIXED32: u8 = 5;

/// Malformed input: the request's bytes are not a valid protobuf encoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(pub String);

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

pub type Result<T> = std::result::Result<T, DecodeError>;

fn truncated() -> DecodeError {
    DecodeError("truncated protobuf input".to_owned())
}

/// One field record as it appears on the wire.
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    pub number: u32,
    pub wire_type: u8,
    /// The value's bytes, without the tag: the varint bytes, the 4 or 8
    /// fixed bytes, the payload of a length-delimited field, or the body of
    /// a group (without its end tag).
    pub payload: &'a [u8],
    /// The whole record including its tag (and the end tag of a group).
    pub raw: &'a [u8],
    /// The decoded varint for wire type 0.
    pub varint: u64,
}

pub fn read_varint(buf: &[u8], pos: &mut usize) -> Result<u64> {
    let mut value = 0u64;
    for shift in (0..70).step_by(7) {
        let byte = *buf.get(*pos).ok_or_else(truncated)?;
        *pos += 1;
        if shift < 64 {
            value |= u64::from(byte & 0x7f) << shift;
        }
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(DecodeError("varint longer than 10 bytes".to_owned()))
}

/// Iterates over the records of one message body.
pub struct Records<'a> {
    buf: &'a [u8],
    pos: usize,
}

pub fn records(buf: &[u8]) -> Records<'_> {
    Records { buf, pos: 0 }
}

impl<'a> Iterator for Records<'a> {
    type Item = Result<Record<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.buf.len() {
            return None;
        }
        let item = read_record(self.buf, &mut self.pos);
        if item.is_err() {
            self.pos = self.buf.len();
        }
        Some(item)
    }
}

fn read_record<'a>(buf: &'a [u8], pos: &mut usize) -> Result<Record<'a>> {
    let start = *pos;
    let tag = read_varint(buf, pos)?;
    let number =
        u32::try_from(tag >> 3).map_err(|_| DecodeError("field number too large".into()))?;
    if number == 0 {
        return Err(DecodeError("field number 0".to_owned()));
    }
    let wire_type = (tag & 7) as u8;
    let mut varint = 0;
    let payload = match wire_type {
        VARINT => {
            let value_start = *pos;
            varint = read_varint(buf, pos)?;
            &buf[value_start..*pos]
        }
        FIXED64 => take(buf, pos, 8)?,
        FIXED32 => take(buf, pos, 4)?,
        LEN => {
            let len = read_varint(buf, pos)?;
            let len = usize::try_from(len).map_err(|_| truncated())?;
            take(buf, pos, len)?
        }
        START_GROUP => {
            let body_start = *pos;
            loop {
                let inner_start = *pos;
                let inner_tag = read_varint(buf, pos)?;
                if inner_tag & 7 == u64::from(END_GROUP) {
                    if inner_tag >> 3 != u64::from(number) {
                        return Err(DecodeError("mismatched end group".to_owned()));
                    }
                    break &buf[body_start..inner_start];
                }
                *pos = inner_start;
                read_record(buf, pos)?;
            }
        }
        _ => return Err(DecodeError(format!("invalid wire type {wire_type}"))),
    };
    Ok(Record {
        number,
        wire_type,
        payload,
        raw: &buf[start..*pos],
        varint,
    })
}

fn take<'a>(buf: &'a [u8], pos: &mut usize, len: usize) -> Result<&'a [u8]> {
    let end = pos.checked_add(len).ok_or_else(truncated)?;
    let slice = buf.get(*pos..end).ok_or_else(truncated)?;
    *pos = end;
    Ok(slice)
}

pub fn write_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

pub fn write_tag(out: &mut Vec<u8>, number: u32, wire_type: u8) {
    write_varint(out, (u64::from(number) << 3) | u64::from(wire_type));
}

pub fn write_len_delimited(out: &mut Vec<u8>, number: u32, payload: &[u8]) {
    write_tag(out, number, LEN);
    write_varint(out, payload.len() as u64);
    out.extend_from_slice(payload);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_round_trips() {
        for value in [0, 1, 127, 128, 300, u64::MAX] {
            let mut out = Vec::new();
            write_varint(&mut out, value);
            let mut pos = 0;
            assert_eq!(read_varint(&out, &mut pos).unwrap(), value);
            assert_eq!(pos, out.len());
        }
    }

    #[test]
    fn groups_are_read_whole() {
        // field 1 start group, field 2 varint 5, field 1 end group, field 3 varint 1
        let buf = [0x0b, 0x10, 0x05, 0x0c, 0x18, 0x01];
        let recs: Vec<_> = records(&buf).collect::<Result<_>>().unwrap();
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[0].payload, &[0x10, 0x05]);
        assert_eq!(recs[0].raw.len(), 4);
        assert_eq!(recs[1].varint, 1);
    }
}
