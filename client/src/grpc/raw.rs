//! `google.protobuf.FileDescriptorSet` as the bytes the registry sent.
//!
//! The generated messages name this type for every `FileDescriptorSet`
//! field (`extern_path` in `build.rs`), so a descriptor set from
//! `GetDescriptor` reaches the caller byte for byte, as over HTTP: decoding
//! it into `prost_types` would drop extension options and unknown fields.

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
