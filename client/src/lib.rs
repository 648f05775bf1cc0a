//! Rust client of the protoreg schema registry.
//!
//! - [`Client`]: typed async calls of the HTTP API (namespaces, publish,
//!   promote, staging, versions, sources, descriptors, check, diff, the
//!   event long poll and stream), or of the gRPC API for the calls it has
//!   ([`Client::builder_grpc`], [`ClientBuilder::grpc`]); errors carry the
//!   server's problem `code` over both.
//! - [`Resolver`]: a namespace's `prost_reflect::DescriptorPool` behind an
//!   atomic pointer, kept current by the registry's event stream (a
//!   promote is pushed, not polled), with pinned snapshots, change
//!   callbacks, a stale-while-error policy and an on-disk cache.
//!
//! See `docs/CLIENT.md` in the repository and `examples/resolver.rs`.

#![warn(missing_docs)]

mod cache;
mod client;
mod error;
mod grpc;
mod resolver;
mod snapshot;
mod sse;

pub use client::{
    Answer, Body, Checked, Client, ClientBuilder, Descriptor, Diff, Event, EventPage, EventQuery,
    Namespace, Promoted, PromotedSchema, Published, Sources, Staged, VersionInfo,
};
pub use error::{Error, Result};
pub use grpc::raw::RawFileDescriptorSet;
pub use resolver::{Resolver, ResolverBuilder};
pub use snapshot::{Format, Origin, Snapshot};
pub use sse::{EventStream, StreamItem};

/// The `prost-reflect` this crate builds on (its descriptors and dynamic
/// messages are in the API).
pub use prost_reflect;
/// The HTTP types of [`Client::call`].
pub use reqwest::{Method, StatusCode, header};
