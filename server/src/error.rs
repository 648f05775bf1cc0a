//! The one error type at the edge, rendered as `application/problem+json`
//! (RFC 9457) with a stable `code`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use protoreg_core::dynamic::FieldError;
use protoreg_core::{CompileError, RegistryError, Violation};
use serde::Serialize;

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

#[derive(Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'static str,
    status: u16,
    detail: String,
    code: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<&'a [CompileError]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    violations: Option<&'a [Violation]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<String>,
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
        }
    }

    fn error_response(&self) -> HttpResponse {
        let err = match self {
            Self::Registry(err) => err,
            Self::NotModified(etag) => {
                return HttpResponse::NotModified()
                    .insert_header(("ETag", etag.as_str()))
                    .finish();
            }
            Self::InvalidMessage(errors) => {
                return HttpResponse::BadRequest()
                    .content_type("application/problem+json")
                    .json(serde_json::json!({
                        "type": "urn:protoreg:problem:invalid_argument",
                        "title": title_of("invalid_argument"),
                        "status": 400,
                        "detail": self.to_string(),
                        "code": "invalid_argument",
                        "errors": errors,
                    }));
            }
            Self::GeneratorRejected(message) => {
                return HttpResponse::UnprocessableEntity()
                    .content_type("application/problem+json")
                    .json(serde_json::json!({
                        "type": "urn:protoreg:problem:invalid_argument",
                        "title": title_of("invalid_argument"),
                        "status": 422,
                        "detail": format!("the code generator refused this schema: {message}"),
                        "code": "invalid_argument",
                    }));
            }
            Self::MethodNotAllowed { allow, .. } => {
                return HttpResponse::MethodNotAllowed()
                    .insert_header((actix_web::http::header::ALLOW, allow.join(", ")))
                    .content_type("application/problem+json")
                    .json(serde_json::json!({
                        "type": "urn:protoreg:problem:invalid_argument",
                        "title": title_of("invalid_argument"),
                        "status": 405,
                        "detail": self.to_string(),
                        "code": "invalid_argument",
                    }));
            }
            Self::UnsupportedMediaType(message) => {
                return simple_problem(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported_media_type",
                    message,
                );
            }
            Self::BodyTimeout(message) => {
                return simple_problem(StatusCode::REQUEST_TIMEOUT, "invalid_argument", message);
            }
        };
        let request_id = REQUEST_ID.try_with(String::clone).ok();
        let code = err.code();
        let detail = match err {
            RegistryError::Internal(message) => {
                // The details stay in the log, keyed by the request id.
                tracing::error!(request_id = request_id.as_deref().unwrap_or("-"), %message, "internal error");
                "internal error; quote the request id when reporting it".to_owned()
            }
            other => other.to_string(),
        };
        let problem = Problem {
            kind: format!("urn:protoreg:problem:{code}"),
            title: title_of(code),
            status: status_of(err).as_u16(),
            detail,
            code,
            errors: match err {
                RegistryError::CompileFailed { errors, .. } => Some(errors),
                _ => None,
            },
            violations: match err {
                RegistryError::Incompatible { violations, .. } => Some(violations),
                _ => None,
            },
            request_id: matches!(err, RegistryError::Internal(_))
                .then_some(request_id)
                .flatten(),
        };
        HttpResponse::build(status_of(err))
            .content_type("application/problem+json")
            .json(problem)
    }
}

fn simple_problem(status: StatusCode, code: &'static str, detail: &str) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("application/problem+json")
        .json(serde_json::json!({
            "type": format!("urn:protoreg:problem:{code}"),
            "title": title_of(code),
            "status": status.as_u16(),
            "detail": detail,
            "code": code,
        }))
}

pub type ApiResult<T> = Result<T, ApiError>;
