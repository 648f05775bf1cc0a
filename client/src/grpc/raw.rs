//! `google.protobuf.FileDescriptorSet` as the bytes themselves.
//!
//! The generated messages of the client and of the server (`extern_path`
//! in both `build.rs`) name this type for every `FileDescriptorSet` field,
//! so a set goes out as stored and reaches the caller byte for byte, as
//! over HTTP: decoding it into `prost_types` and encoding it again would
//! drop what prost does not model (unknown fields, extension options) and
//! cost a decode per call.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use prost::DecodeError;
use prost::encoding::{DecodeContext, WireType};

/// An encoded `FileDescriptorSet` (the concatenation of its fields).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct RawFileDescriptorSet(pub Bytes);

impl std::fmt::Debug for RawFileDescriptorSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RawFileDescriptorSet({} bytes)", self.0.len())
    }
}

impl prost::Message for RawFileDescriptorSet {
    fn encode_raw(&self, buf: &mut impl BufMut) {
        buf.put_slice(&self.0);
    }

    /// Keeps each field as it came (`FileDescriptorSet` has one: `file`,
    /// length-delimited); other wire types are kept too, re-encoded as read.
    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: WireType,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> Result<(), DecodeError> {
        let mut out = BytesMut::from(&self.0[..]);
        prost::encoding::encode_key(tag, wire_type, &mut out);
        match wire_type {
            WireType::Varint => {
                let value = prost::encoding::decode_varint(buf)?;
                prost::encoding::encode_varint(value, &mut out);
            }
            WireType::LengthDelimited => {
                let mut value = Bytes::new();
                prost::encoding::bytes::merge(wire_type, &mut value, buf, ctx)?;
                prost::encoding::encode_varint(value.len() as u64, &mut out);
                out.put(value);
            }
            WireType::SixtyFourBit => {
                let mut value = 0u64;
                prost::encoding::fixed64::merge(wire_type, &mut value, buf, ctx)?;
                out.put_u64_le(value);
            }
            WireType::ThirtyTwoBit => {
                let mut value = 0u32;
                prost::encoding::fixed32::merge(wire_type, &mut value, buf, ctx)?;
                out.put_u32_le(value);
            }
            WireType::StartGroup | WireType::EndGroup => {
                // Groups are not part of a descriptor set; skip them.
                out.truncate(self.0.len());
                return prost::encoding::skip_field(wire_type, tag, buf, ctx);
            }
        }
        self.0 = out.freeze();
        Ok(())
    }

    fn encoded_len(&self) -> usize {
        self.0.len()
    }

    fn clear(&mut self) {
        self.0 = Bytes::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    #[test]
    fn round_trips_a_descriptor_set_byte_for_byte() {
        let set = prost_types::FileDescriptorSet {
            file: vec![prost_types::FileDescriptorProto {
                name: Some("a.proto".into()),
                package: Some("a".into()),
                ..Default::default()
            }],
        };
        let encoded = Bytes::from(set.encode_to_vec());
        let raw = RawFileDescriptorSet(encoded.clone());
        assert_eq!(raw.encode_to_vec(), encoded.to_vec());
        let decoded = RawFileDescriptorSet::decode(encoded.clone()).unwrap();
        assert_eq!(decoded, raw);
        let back = prost_types::FileDescriptorSet::decode(decoded.0).unwrap();
        assert_eq!(back, set);
    }
}
