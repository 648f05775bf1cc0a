//! The one error type of the crate.

use serde_json::Value;

/// What went wrong in a call or a resolver operation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The server answered with an error: its `application/problem+json`
    /// `code` (stable, e.g. `not_found`, `incompatible`) and `detail`.
    #[error("{status} {code}: {detail}")]
    Api {
        /// The HTTP status.
        status: u16,
        /// The problem's stable `code`.
        code: String,
        /// The problem's `detail`, for people.
        detail: String,
        /// The whole problem document (`errors`, `violations`, ...).
        body: Value,
    },
    /// The request did not get an answer: connection refused or reset,
    /// timeout, TLS failure.
    #[error("request failed: {0}")]
    Transport(#[from] reqwest::Error),
    /// A gRPC call got no answer from the registry: connection refused or
    /// lost, deadline passed, TLS failure (the status tonic made of it).
    #[error("gRPC call failed: {}", .0.message())]
    GrpcTransport(Box<tonic::Status>),
    /// The call has no gRPC method and the client has no HTTP base URL to
    /// send it to (see [`Client::builder_grpc`](crate::Client::builder_grpc)).
    #[error("{call} has no gRPC method; give the client an HTTP base URL for it")]
    Unsupported {
        /// The call (`GET /v1/namespaces/{ns}`, `Client::events`, ...).
        call: String,
    },
    /// The client was set up wrongly (bad URL, unreadable CA file).
    #[error("invalid client configuration: {0}")]
    Config(String),
    /// The server answered something this client does not understand.
    #[error("unexpected answer from the server: {0}")]
    Unexpected(String),
    /// A descriptor set that does not form a valid pool.
    #[error("invalid descriptor set: {0}")]
    Descriptor(String),
    /// The resolver's snapshot has no message type of this name.
    #[error("unknown message type {0}")]
    UnknownType(String),
    /// A message that does not decode or encode as its type.
    #[error("invalid {type_name} message: {detail}")]
    InvalidMessage {
        /// The message's full type name.
        type_name: String,
        /// What is wrong with it.
        detail: String,
    },
    /// No snapshot: the server is unreachable and there is no usable cache.
    #[error("no snapshot of namespace {namespace}: {detail}")]
    NoSnapshot {
        /// The resolver's namespace.
        namespace: String,
        /// Why neither the server nor the cache gave one.
        detail: String,
    },
}

impl Error {
    /// The server's problem `code` of an [`Error::Api`], else `None`: the
    /// same stable codes over HTTP and gRPC.
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::Api { code, .. } => Some(code),
            _ => None,
        }
    }

    /// The HTTP status of an [`Error::Api`], else `None`. Over gRPC it is
    /// the status HTTP answers for the same refusal (404 for `not_found`,
    /// 409 for `incompatible`, ...).
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
