//! The one error type at the edge, rendered as `application/problem+json`
//! (RFC 9457) with a stable `code`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use protoreg_core::RegistryError;
use protoreg_core::dynamic::FieldError;
use serde::Serialize;
use utoipa::ToSchema;

use crate::api_types::{self, Violation};

tokio::task_local! {
    /// The id of the request being served (set by the request-id middleware).
    pub static REQUEST_ID: String;
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error("{0}")]
    NotModified(String),
    /// A message body that does not decode as its type: 400
    /// `invalid_argument` with every problem and its field path.
    #[error("the message does not decode: {}", .0.first().map(|e| e.message.as_str()).unwrap_or_default())]
    InvalidMessage(Vec<FieldError>),
    /// A code generator refused the input: 422 `invalid_argument` (the
    /// request was well-formed; the generator cannot work on this schema).
    #[error("{0}")]
    GeneratorRejected(String),
    /// The path names a route, but not with this method: 405
    /// `invalid_argument`, with the methods it has in `Allow`.
    #[error("{method} is not a method of this route; it has {}", .allow.join(", "))]
    MethodNotAllowed {
        method: String,
        allow: Vec<&'static str>,
    },
    /// A request body of a media type or content coding the route does not
    /// take: 415 `unsupported_media_type`.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The request body did not arrive within `http.body_timeout_ms`: 408
    /// `invalid_argument`.
    #[error("{0}")]
    BodyTimeout(String),
    /// The request head is over `http.max_header_bytes`: 431
    /// `payload_too_large`.
    #[error("{0}")]
    HeadersTooLarge(String),
    /// Over a rate limit (push webhooks per source): 429 `unavailable`.
    #[error("{0}")]
    TooManyRequests(String),
}

impl From<protoreg_core::codegen::GenerateError> for ApiError {
    fn from(err: protoreg_core::codegen::GenerateError) -> Self {
        use protoreg_core::codegen::GenerateError;
        match err {
            GenerateError::Registry(err) => Self::Registry(err),
            GenerateError::Rejected(message) => Self::GeneratorRejected(message),
            // The generator could not do the work: `unavailable`, 503.
            GenerateError::Unavailable(message) => {
                Self::Registry(RegistryError::Unavailable(message))
            }
            // Only queued jobs push; a download never does. Were one to
            // reach here, the remote is what failed.
            GenerateError::Push(message) => Self::Registry(RegistryError::Unavailable(message)),
            GenerateError::Verify(message) => Self::GeneratorRejected(message),
        }
    }
}

impl ApiError {
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::Registry(RegistryError::InvalidArgument(message.into()))
    }

    pub fn too_large(message: impl Into<String>) -> Self {
        Self::Registry(RegistryError::PayloadTooLarge(message.into()))
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::Registry(RegistryError::NotFound(message.into()))
    }

    pub fn unsupported_media_type(message: impl Into<String>) -> Self {
        Self::UnsupportedMediaType(message.into())
    }

    pub fn permission_denied(message: impl Into<String>) -> Self {
        Self::Registry(RegistryError::PermissionDenied(message.into()))
    }
}

// The body of every error response, and (through `ToSchema`) the schema of
// every error response in the OpenAPI document.
/// An error, as `application/problem+json` (RFC 9457).
#[derive(Serialize, ToSchema)]
pub struct Problem {
    /// `urn:protoreg:problem:<code>`.
    #[serde(rename = "type")]
    kind: String,
    #[schema(value_type = String)]
    title: &'static str,
    status: u16,
    detail: String,
    /// Stable machine-readable code, e.g. `not_found`, `incompatible`.
    #[schema(value_type = String)]
    code: &'static str,
    /// Compile errors (`compile_failed`) or field errors of a message that
    /// does not decode (`invalid_argument`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<serde_json::Value>>)]
    errors: Option<ProblemErrors>,
    /// Compatibility violations (`incompatible`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Violation>>)]
    violations: Option<Vec<Violation>>,
    /// Set on internal errors, to quote when reporting them.
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<String>,
}

/// The `errors` of a [`Problem`].
#[derive(Serialize)]
#[serde(untagged)]
enum ProblemErrors {
    Compile(Vec<api_types::CompileError>),
    Fields(Vec<api_types::FieldError>),
}

impl Problem {
    fn new(status: StatusCode, code: &'static str, detail: String) -> Self {
        Self {
            kind: format!("urn:protoreg:problem:{code}"),
            title: title_of(code),
            status: status.as_u16(),
            detail,
            code,
            errors: None,
            violations: None,
            request_id: None,
        }
    }
}

fn status_of(err: &RegistryError) -> StatusCode {
    match err {
        RegistryError::InvalidArgument(_) => StatusCode::BAD_REQUEST,
        RegistryError::NotFound(_) => StatusCode::NOT_FOUND,
        RegistryError::Conflict(_) | RegistryError::Incompatible { .. } => StatusCode::CONFLICT,
        RegistryError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
        RegistryError::CompileFailed { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        RegistryError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        RegistryError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
        RegistryError::PermissionDenied(_) => StatusCode::FORBIDDEN,
        RegistryError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn title_of(code: &str) -> &'static str {
    match code {
        "invalid_argument" => "Invalid argument",
        "not_found" => "Not found",
        "conflict" => "Conflict",
        "incompatible" => "Incompatible change",
        "payload_too_large" => "Payload too large",
        "compile_failed" => "Compilation failed",
        "unavailable" => "Unavailable",
        "unauthenticated" => "Unauthenticated",
        "permission_denied" => "Permission denied",
        "unsupported_media_type" => "Unsupported media type",
        _ => "Internal error",
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Registry(err) => status_of(err),
            Self::NotModified(_) => StatusCode::NOT_MODIFIED,
            Self::InvalidMessage(_) => StatusCode::BAD_REQUEST,
            Self::GeneratorRejected(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::BodyTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            Self::HeadersTooLarge(_) => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Self::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let problem = match self {
            Self::Registry(err) => registry_problem(err),
            Self::NotModified(etag) => {
                return HttpResponse::NotModified()
                    .insert_header(("ETag", etag.as_str()))
                    .finish();
            }
            Self::InvalidMessage(errors) => Problem {
                errors: Some(ProblemErrors::Fields(api_types::all(
                    errors.iter().cloned(),
                ))),
                ..Problem::new(status, "invalid_argument", self.to_string())
            },
            Self::GeneratorRejected(message) => Problem::new(
                status,
                "invalid_argument",
                format!("the code generator refused this schema: {message}"),
            ),
            Self::MethodNotAllowed { .. } => {
                Problem::new(status, "invalid_argument", self.to_string())
            }
            Self::UnsupportedMediaType(message) => {
                Problem::new(status, "unsupported_media_type", message.clone())
            }
            Self::BodyTimeout(message) => Problem::new(status, "invalid_argument", message.clone()),
            Self::HeadersTooLarge(message) => {
                Problem::new(status, "payload_too_large", message.clone())
            }
            Self::TooManyRequests(message) => Problem::new(status, "unavailable", message.clone()),
        };
        let mut response = HttpResponse::build(status);
        if let Self::MethodNotAllowed { allow, .. } = self {
            response.insert_header((actix_web::http::header::ALLOW, allow.join(", ")));
        }
        response
            .content_type("application/problem+json")
            .json(problem)
    }
}

/// The problem of a registry error; an internal one shows only the request
/// id (its details go to the log).
fn registry_problem(err: &RegistryError) -> Problem {
    let request_id = REQUEST_ID.try_with(String::clone).ok();
    let detail = match err {
        RegistryError::Internal(message) => {
            // The details stay in the log, keyed by the request id.
            tracing::error!(request_id = request_id.as_deref().unwrap_or("-"), %message, "internal error");
            "internal error; quote the request id when reporting it".to_owned()
        }
        other => other.to_string(),
    };
    Problem {
        errors: match err {
            RegistryError::CompileFailed { errors, .. } => Some(ProblemErrors::Compile(
                api_types::all(errors.iter().cloned()),
            )),
            _ => None,
        },
        violations: match err {
            RegistryError::Incompatible { violations, .. } => {
                Some(api_types::all(violations.iter().cloned()))
            }
            _ => None,
        },
        request_id: matches!(err, RegistryError::Internal(_))
            .then_some(request_id)
            .flatten(),
        ..Problem::new(status_of(err), err.code(), detail)
    }
}

/// The HTTP status of a registry error.
pub fn http_status(err: &RegistryError) -> u16 {
    status_of(err).as_u16()
}

/// The `application/problem+json` body of a registry error, as text (the
/// gRPC status message carries it).
pub fn problem_json(err: &RegistryError) -> String {
    serde_json::to_string(&registry_problem(err)).unwrap_or_else(|_| err.to_string())
}

pub type ApiResult<T> = Result<T, ApiError>;
