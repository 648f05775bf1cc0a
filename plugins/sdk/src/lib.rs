#![doc = include_str!("../README.md")]

pub mod abi;
pub mod messages;
mod plugin;
pub mod wire;

pub use messages::*;
pub use plugin::{
    CodeGenerator, CompatInput, CompatRule, EventSink, Plugin, PluginError, decode_request,
};
/// Re-exported so plugins use the same prost as the SDK.
pub use prost;
pub use prost_types;
