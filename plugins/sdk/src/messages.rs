//! The messages of `proto/protoreg/plugin/v1/plugin.proto`, as prost types.
//!
//! Written out rather than generated so that building the SDK needs no
//! protobuf compiler; `tests/messages.rs` checks every field against the
//! `.proto` file.

pub use prost_types::compiler::{CodeGeneratorRequest, CodeGeneratorResponse};
pub use prost_types::{FileDescriptorSet, Struct};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum PluginKind {
    Unspecified = 0,
    CompatRule = 1,
    CodeGenerator = 2,
    EventSink = 3,
}

impl PluginKind {
    /// The lowercase name used in the HTTP API (`GET /v1/plugins`).
    pub fn api_name(self) -> &'static str {
        match self {
            PluginKind::Unspecified => "unspecified",
            PluginKind::CompatRule => "compat_rule",
            PluginKind::CodeGenerator => "codegen",
            PluginKind::EventSink => "event_sink",
        }
    }
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct PluginManifest {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(string, tag = "2")]
    pub version: String,
    #[prost(enumeration = "PluginKind", repeated, tag = "3")]
    pub kinds: Vec<i32>,
    #[prost(message, repeated, tag = "4")]
    pub rules: Vec<RuleInfo>,
    #[prost(string, tag = "5")]
    pub description: String,
    #[prost(message, repeated, tag = "6")]
    pub generators: Vec<GeneratorInfo>,
    #[prost(message, repeated, tag = "7")]
    pub sinks: Vec<SinkInfo>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct RuleInfo {
    #[prost(string, tag = "1")]
    pub id: String,
    #[prost(string, tag = "2")]
    pub purpose: String,
    #[prost(string, repeated, tag = "3")]
    pub categories: Vec<String>,
    #[prost(bool, tag = "4")]
    pub default: bool,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct GeneratorInfo {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(string, tag = "2")]
    pub description: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct SinkInfo {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(string, tag = "2")]
    pub description: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ConfigureRequest {
    #[prost(message, optional, tag = "1")]
    pub settings: Option<Struct>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ConfigureResponse {}

#[derive(Clone, PartialEq, prost::Message)]
pub struct CompatRequest {
    #[prost(message, optional, tag = "1")]
    pub previous: Option<FileDescriptorSet>,
    #[prost(message, optional, tag = "2")]
    pub current: Option<FileDescriptorSet>,
    #[prost(string, repeated, tag = "3")]
    pub rule_ids: Vec<String>,
    #[prost(message, optional, tag = "4")]
    pub options: Option<Struct>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct CompatResponse {
    #[prost(message, repeated, tag = "1")]
    pub violations: Vec<Violation>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Violation {
    #[prost(string, tag = "1")]
    pub rule_id: String,
    #[prost(string, tag = "2")]
    pub file: String,
    #[prost(int32, tag = "3")]
    pub start_line: i32,
    #[prost(int32, tag = "4")]
    pub start_column: i32,
    #[prost(int32, tag = "5")]
    pub end_line: i32,
    #[prost(int32, tag = "6")]
    pub end_column: i32,
    #[prost(string, tag = "7")]
    pub message: String,
    #[prost(string, tag = "8")]
    pub against_file: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Event {
    #[prost(int64, tag = "1")]
    pub id: i64,
    #[prost(string, tag = "2")]
    pub kind: String,
    #[prost(string, tag = "3")]
    pub namespace: String,
    #[prost(string, tag = "4")]
    pub payload_json: String,
    #[prost(string, tag = "5")]
    pub created_at: String,
    #[prost(string, tag = "6")]
    pub sink: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct EventAck {}
