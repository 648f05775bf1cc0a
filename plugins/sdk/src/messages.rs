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
    /// Delivers to per-event destinations (webhook subscriptions); the host
    /// calls it only for those.
    #[prost(bool, tag = "3")]
    pub destinations: bool,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ConfigureRequest {
    #[prost(message, optional, tag = "1")]
    pub settings: Option<Struct>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ConfigureResponse {
    /// Sinks not started with these settings.
    #[prost(message, repeated, tag = "1")]
    pub disabled_sinks: Vec<DisabledSink>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct DisabledSink {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(string, tag = "2")]
    pub reason: String,
}

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
    /// Where this delivery goes, for sinks with `SinkInfo::destinations`.
    #[prost(message, optional, tag = "7")]
    pub destination: Option<Destination>,
}

#[derive(Clone, PartialEq, prost::Message)]
#[prost(skip_debug)]
pub struct Destination {
    #[prost(string, tag = "1")]
    pub url: String,
    /// `ip:port` resolved and checked by the host: connect only there.
    #[prost(string, tag = "2")]
    pub address: String,
    #[prost(string, tag = "3")]
    pub secret: String,
    #[prost(int64, tag = "4")]
    pub delivery_id: i64,
    #[prost(uint32, tag = "5")]
    pub timeout_ms: u32,
    #[prost(int64, tag = "6")]
    pub subscription_id: i64,
}

impl std::fmt::Debug for Destination {
    // The secret stays out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Destination")
            .field("url", &self.url)
            .field("address", &self.address)
            .field("delivery_id", &self.delivery_id)
            .field("timeout_ms", &self.timeout_ms)
            .field("subscription_id", &self.subscription_id)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum DeliveryOutcome {
    /// What sinks older than the field answer: delivered.
    Unspecified = 0,
    Delivered = 1,
    Retry = 2,
    Failed = 3,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct EventAck {
    #[prost(enumeration = "DeliveryOutcome", tag = "1")]
    pub outcome: i32,
    #[prost(int32, tag = "2")]
    pub status_code: i32,
    #[prost(string, tag = "3")]
    pub error: String,
    #[prost(uint64, tag = "4")]
    pub retry_after_ms: u64,
}

impl EventAck {
    pub fn delivered(status_code: i32) -> Self {
        EventAck {
            outcome: DeliveryOutcome::Delivered as i32,
            status_code,
            ..Default::default()
        }
    }

    pub fn retry(status_code: i32, error: impl Into<String>, retry_after_ms: u64) -> Self {
        EventAck {
            outcome: DeliveryOutcome::Retry as i32,
            status_code,
            error: error.into(),
            retry_after_ms,
        }
    }

    pub fn failed(status_code: i32, error: impl Into<String>) -> Self {
        EventAck {
            outcome: DeliveryOutcome::Failed as i32,
            status_code,
            error: error.into(),
            retry_after_ms: 0,
        }
    }
}
