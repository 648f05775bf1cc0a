//! Registry errors as gRPC statuses (docs/API.md, gRPC): the code by the
//! table below, the JSON problem of the HTTP API as the message, and
//! `google.rpc` details: `ErrorInfo` (reason: the stable code, domain
//! `protoreg`) always, `BadRequest` with each compile error, and
//! `PreconditionFailure` with each compatibility violation.

use protoreg_core::RegistryError;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// At most this many compile errors or violations travel as details; a
/// status goes out in HTTP/2 headers, which clients cap (8 KiB by default
/// in grpc-core). The count is in `ErrorInfo.metadata.total`.
pub const MAX_DETAILS: usize = 20;
/// The message holds the whole JSON problem up to this size; past it, the
/// problem without its `errors` / `violations` lists.
const MAX_MESSAGE: usize = 4096;

pub fn code_of(err: &RegistryError) -> Code {
    match err {
        RegistryError::InvalidArgument(_) | RegistryError::CompileFailed { .. } => {
            Code::InvalidArgument
        }
        RegistryError::NotFound(_) => Code::NotFound,
        RegistryError::Incompatible { .. } => Code::FailedPrecondition,
        RegistryError::Conflict(_) => Code::Aborted,
        RegistryError::Unauthenticated(_) => Code::Unauthenticated,
        RegistryError::PermissionDenied(_) => Code::PermissionDenied,
        RegistryError::PayloadTooLarge(_) => Code::ResourceExhausted,
        RegistryError::Unavailable(_) => Code::Unavailable,
        RegistryError::Internal(_) => Code::Internal,
    }
}

/// The status of a registry error.
pub fn status(err: &RegistryError) -> Status {
    let mut message = crate::error::problem_json(err);
    if message.len() > MAX_MESSAGE {
        let short = match err {
            RegistryError::CompileFailed { message, .. }
            | RegistryError::Incompatible { message, .. } => serde_json::json!({
                "code": err.code(),
                "detail": message,
                "status": crate::error::http_status(err),
            }),
            other => serde_json::json!({"code": other.code(), "detail": other.to_string()}),
        };
        message = short.to_string();
    }
    let mut details = ErrorDetails::new();
    let total = match err {
        RegistryError::CompileFailed { errors, .. } => errors.len(),
        RegistryError::Incompatible { violations, .. } => violations.len(),
        _ => 0,
    };
    details.set_error_info(
        err.code(),
        "protoreg",
        std::collections::HashMap::from([("total".to_owned(), total.to_string())]),
    );
    match err {
        RegistryError::CompileFailed { errors, .. } => {
            for e in errors.iter().take(MAX_DETAILS) {
                details.add_bad_request_violation(
                    format!("{}:{}:{}", e.file, e.line, e.column),
                    e.message.clone(),
                );
            }
        }
        RegistryError::Incompatible { violations, .. } => {
            for v in violations.iter().take(MAX_DETAILS) {
                details.add_precondition_failure_violation(
                    v.rule.clone(),
                    format!("{}:{}:{}", v.file, v.line, v.column),
                    v.message.clone(),
                );
            }
        }
        _ => {}
    }
    Status::with_error_details(code_of(err), message, details)
}

/// A bad argument of a gRPC request (same code and problem as HTTP's).
pub fn invalid(message: impl Into<String>) -> Status {
    status(&RegistryError::InvalidArgument(message.into()))
}

impl From<crate::error::ApiError> for Status {
    fn from(err: crate::error::ApiError) -> Self {
        match err {
            crate::error::ApiError::Registry(err) => status(&err),
            other => invalid(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protoreg_core::{CompileError, Violation};

    #[test]
    fn codes_follow_the_api_table() {
        let cases = [
            (
                RegistryError::InvalidArgument("x".into()),
                Code::InvalidArgument,
            ),
            (RegistryError::NotFound("x".into()), Code::NotFound),
            (RegistryError::Conflict("x".into()), Code::Aborted),
            (
                RegistryError::PayloadTooLarge("x".into()),
                Code::ResourceExhausted,
            ),
            (RegistryError::Unavailable("x".into()), Code::Unavailable),
            (
                RegistryError::Unauthenticated("x".into()),
                Code::Unauthenticated,
            ),
            (
                RegistryError::PermissionDenied("x".into()),
                Code::PermissionDenied,
            ),
        ];
        for (err, code) in cases {
            let status = status(&err);
            assert_eq!(status.code(), code, "{err:?}");
            let problem: serde_json::Value = serde_json::from_str(status.message()).unwrap();
            assert_eq!(problem["code"], err.code());
            assert_eq!(status.get_details_error_info().unwrap().reason, err.code());
        }
    }

    #[test]
    fn compile_errors_and_violations_travel_as_details() {
        let errors: Vec<CompileError> = (0..30)
            .map(|i| CompileError {
                file: "a.proto".into(),
                line: i + 1,
                column: 3,
                message: format!("problem {i}"),
            })
            .collect();
        let compile = status(&RegistryError::compile_failed(errors));
        assert_eq!(compile.code(), Code::InvalidArgument);
        let bad = compile.get_details_bad_request().unwrap();
        assert_eq!(bad.field_violations.len(), MAX_DETAILS);
        assert_eq!(bad.field_violations[1].field, "a.proto:2:3");
        assert_eq!(bad.field_violations[1].description, "problem 1");
        let info = compile.get_details_error_info().unwrap();
        assert_eq!(info.metadata["total"], "30");

        let violation = Violation {
            rule: "FIELD_NO_DELETE".into(),
            category: vec!["WIRE".into()],
            schema: "s".into(),
            file: "a.proto".into(),
            line: 4,
            column: 1,
            end_line: 4,
            end_column: 9,
            message: "field 2 deleted".into(),
            plugin: None,
        };
        let incompatible = status(&RegistryError::Incompatible {
            message: "1 violation".into(),
            violations: vec![violation],
        });
        assert_eq!(incompatible.code(), Code::FailedPrecondition);
        let failure = incompatible.get_details_precondition_failure().unwrap();
        assert_eq!(failure.violations[0].r#type, "FIELD_NO_DELETE");
        assert_eq!(failure.violations[0].subject, "a.proto:4:1");
        let problem: serde_json::Value = serde_json::from_str(incompatible.message()).unwrap();
        assert_eq!(problem["violations"][0]["rule"], "FIELD_NO_DELETE");
    }
}
