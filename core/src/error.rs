//! The registry's error type. Each variant maps to one stable API code; the
//! HTTP layer renders it, the core never speaks HTTP.

use serde::Serialize;

/// One compiler diagnostic, with the position a person can act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CompileError {
    pub file: String,
    /// 1-based; 0 when the compiler gave no position.
    pub line: u32,
    /// 1-based, in characters; 0 when the compiler gave no position.
    pub column: u32,
    pub message: String,
}

impl std::fmt::Display for CompileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.column, self.message
        )
    }
}

/// A compatibility finding that blocks a promote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    pub rule: String,
    pub category: Vec<String>,
    pub schema: String,
    pub file: String,
    pub line: u32,
    pub column: u32,
    pub end_line: u32,
    pub end_column: u32,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plugin: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("{0}")]
    InvalidArgument(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{message}")]
    CompileFailed {
        message: String,
        errors: Vec<CompileError>,
    },
    #[error("{message}")]
    Incompatible {
        message: String,
        violations: Vec<Violation>,
    },
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    PermissionDenied(String),
    /// Could not do the work for a reason that is not the caller's fault.
    /// The message is for logs only; clients see a generic text.
    #[error("internal error: {0}")]
    Internal(String),
}

impl RegistryError {
    /// The stable machine-readable code of docs/API.md.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidArgument(_) => "invalid_argument",
            Self::NotFound(_) => "not_found",
            Self::Conflict(_) => "conflict",
            Self::PayloadTooLarge(_) => "payload_too_large",
            Self::CompileFailed { .. } => "compile_failed",
            Self::Incompatible { .. } => "incompatible",
            Self::Unavailable(_) => "unavailable",
            Self::Unauthenticated(_) => "unauthenticated",
            Self::PermissionDenied(_) => "permission_denied",
            Self::Internal(_) => "internal",
        }
    }

    /// `compile_failed` with every diagnostic; the message names the first.
    /// `errors` must not be empty.
    pub fn compile_failed(errors: Vec<CompileError>) -> Self {
        let message = match errors.first() {
            Some(first) => format!("{} compile error(s); first: {first}", errors.len()),
            None => "compile failed".to_owned(),
        };
        Self::CompileFailed { message, errors }
    }

    pub fn internal(context: &str, err: impl std::fmt::Display) -> Self {
        Self::Internal(format!("{context}: {err}"))
    }
}

pub type Result<T, E = RegistryError> = std::result::Result<T, E>;
