//! [`Snapshot`]: one immutable state of a namespace's descriptors, and the
//! message helpers that work on it.

use bytes::Bytes;
use prost::Message;
use prost_reflect::{
    DescriptorPool, DynamicMessage, EnumDescriptor, MessageDescriptor, ServiceDescriptor,
};

use crate::error::{Error, Result};

/// Where a snapshot came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Fetched from the registry.
    Server,
    /// Read from `cache_dir` (the registry was unreachable at start).
    Cache,
    /// Given by the program ([`Resolver::from_descriptor_set`]).
    ///
    /// [`Resolver::from_descriptor_set`]: crate::Resolver::from_descriptor_set
    Fixed,
}

/// An encoding of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The protobuf binary wire format.
    Binary,
    /// The proto3 JSON mapping.
    Json,
}

/// One state of a namespace's descriptors: a `DescriptorPool` that never
/// changes. [`Resolver::pin`] hands one out; newer states are new
/// snapshots.
///
/// [`Resolver::pin`]: crate::Resolver::pin
#[derive(Debug)]
pub struct Snapshot {
    pub(crate) namespace: String,
    pub(crate) pool: DescriptorPool,
    pub(crate) set: Bytes,
    pub(crate) etag: Option<String>,
    pub(crate) last_event_id: Option<i64>,
    pub(crate) origin: Origin,
    pub(crate) generation: u64,
}

impl Snapshot {
    /// A snapshot of the encoded `FileDescriptorSet` `set`.
    pub(crate) fn from_set(
        namespace: &str,
        set: Bytes,
        etag: Option<String>,
        last_event_id: Option<i64>,
        origin: Origin,
        generation: u64,
    ) -> Result<Self> {
        let pool =
            DescriptorPool::decode(set.clone()).map_err(|e| Error::Descriptor(e.to_string()))?;
        Ok(Self {
            namespace: namespace.to_owned(),
            pool,
            set,
            etag,
            last_event_id,
            origin,
            generation,
        })
    }

    /// The namespace.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The pool (cheap to clone; it never changes).
    pub fn pool(&self) -> &DescriptorPool {
        &self.pool
    }

    /// The encoded `google.protobuf.FileDescriptorSet` the pool was built
    /// from.
    pub fn descriptor_set(&self) -> &Bytes {
        &self.set
    }

    /// Where it came from.
    pub fn origin(&self) -> Origin {
        self.origin
    }

    /// Counts the snapshots a resolver installed: 1 for the first, one
    /// more for each swap.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The ETag of the namespace descriptor it was built from (none for a
    /// subset of schemas).
    pub fn etag(&self) -> Option<&str> {
        self.etag.as_deref()
    }

    /// The id of the last event seen when it was installed.
    pub fn last_event_id(&self) -> Option<i64> {
        self.last_event_id
    }

    /// The message type `full_name` (e.g. `billing.v1.Invoice`).
    pub fn message(&self, full_name: &str) -> Option<MessageDescriptor> {
        self.pool.get_message_by_name(full_name)
    }

    /// The enum type `full_name`.
    pub fn enum_type(&self, full_name: &str) -> Option<EnumDescriptor> {
        self.pool.get_enum_by_name(full_name)
    }

    /// The service `full_name`.
    pub fn service(&self, full_name: &str) -> Option<ServiceDescriptor> {
        self.pool.get_service_by_name(full_name)
    }

    fn require(&self, type_name: &str) -> Result<MessageDescriptor> {
        self.message(type_name)
            .ok_or_else(|| Error::UnknownType(type_name.to_owned()))
    }

    /// Decodes `input` (in `format`) as a `type_name` message.
    pub fn decode_as(
        &self,
        type_name: &str,
        input: &[u8],
        format: Format,
    ) -> Result<DynamicMessage> {
        let descriptor = self.require(type_name)?;
        let invalid = |detail: String| Error::InvalidMessage {
            type_name: type_name.to_owned(),
            detail,
        };
        match format {
            Format::Binary => {
                DynamicMessage::decode(descriptor, input).map_err(|e| invalid(e.to_string()))
            }
            Format::Json => {
                let mut deserializer = serde_json::Deserializer::from_slice(input);
                let message = DynamicMessage::deserialize(descriptor, &mut deserializer)
                    .map_err(|e| invalid(e.to_string()))?;
                deserializer.end().map_err(|e| invalid(e.to_string()))?;
                Ok(message)
            }
        }
    }

    /// Decodes binary `bytes` as a `type_name` message.
    pub fn decode(&self, type_name: &str, bytes: &[u8]) -> Result<DynamicMessage> {
        self.decode_as(type_name, bytes, Format::Binary)
    }

    /// Checks that `input` (in `format`) is a valid `type_name` message.
    pub fn validate(&self, type_name: &str, input: &[u8], format: Format) -> Result<()> {
        self.decode_as(type_name, input, format).map(drop)
    }

    /// Converts a `type_name` message from one encoding to the other (the
    /// same encoding re-encodes it).
    pub fn transcode(
        &self,
        type_name: &str,
        input: &[u8],
        from: Format,
        to: Format,
    ) -> Result<Vec<u8>> {
        let message = self.decode_as(type_name, input, from)?;
        match to {
            Format::Binary => Ok(message.encode_to_vec()),
            Format::Json => serde_json::to_vec(&message).map_err(|e| Error::InvalidMessage {
                type_name: type_name.to_owned(),
                detail: e.to_string(),
            }),
        }
    }
}
