//! The JSON shapes of the HTTP API that mirror core's domain types: each is
//! built from its core type (`From`) and derives `ToSchema` for the OpenAPI
//! document, so that protoreg-core knows nothing of the document. The
//! handlers' own response types (pages, outcomes) live with their handlers;
//! these are the ones several modules share (`error` renders compile
//! errors, field errors and violations in every problem). A leaf: it
//! imports no module of the server.

use chrono::{DateTime, Utc};
use protoreg_core::auth as core_auth;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

/// One problem with a message, where it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// Field path such as `items[2].price.units`; empty for the message
    /// itself.
    pub path: String,
    pub message: String,
}

impl From<protoreg_core::dynamic::FieldError> for FieldError {
    fn from(error: protoreg_core::dynamic::FieldError) -> Self {
        Self {
            path: error.path,
            message: error.message,
        }
    }
}

/// One compiler diagnostic, with the position a person can act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct CompileError {
    pub file: String,
    /// 1-based; 0 when the compiler gave no position.
    pub line: u32,
    /// 1-based, in characters; 0 when the compiler gave no position.
    pub column: u32,
    pub message: String,
}

impl From<protoreg_core::CompileError> for CompileError {
    fn from(error: protoreg_core::CompileError) -> Self {
        Self {
            file: error.file,
            line: error.line,
            column: error.column,
            message: error.message,
        }
    }
}

/// A compatibility finding that blocks a promote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
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

impl From<protoreg_core::Violation> for Violation {
    fn from(v: protoreg_core::Violation) -> Self {
        Self {
            rule: v.rule,
            category: v.category,
            schema: v.schema,
            file: v.file,
            line: v.line,
            column: v.column,
            end_line: v.end_line,
            end_column: v.end_column,
            message: v.message,
            plugin: v.plugin,
        }
    }
}

/// Converts every element (`Vec<core type>` → `Vec<API type>`).
pub fn all<T, U: From<T>>(items: impl IntoIterator<Item = T>) -> Vec<U> {
    items.into_iter().map(U::from).collect()
}

/// The result of a dry-run publish: compile errors and compatibility
/// findings are data here.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CheckOutcome {
    pub compatible: bool,
    pub violations: Vec<Violation>,
    pub errors: Vec<CompileError>,
}

impl From<protoreg_core::ops::CheckOutcome> for CheckOutcome {
    fn from(outcome: protoreg_core::ops::CheckOutcome) -> Self {
        Self {
            compatible: outcome.compatible,
            violations: all(outcome.violations),
            errors: all(outcome.errors),
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PromotedSchema {
    pub schema: String,
    pub from_version: Option<i32>,
    pub to_version: i32,
}

impl From<protoreg_core::PromotedSchema> for PromotedSchema {
    fn from(promoted: protoreg_core::PromotedSchema) -> Self {
        Self {
            schema: promoted.schema.to_string(),
            from_version: promoted.from_version,
            to_version: promoted.to_version,
        }
    }
}

/// One element of a schema in a diff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct DiffEntry {
    /// `message`, `field`, `enum`, `enum_value`, `service` or `method`.
    pub kind: String,
    /// Full name (`pkg.Msg`, `pkg.Msg.field`, `pkg.Enum.VALUE`, `pkg.Svc.Method`).
    pub name: String,
    pub file: String,
    /// 1-based line in the version that has the element (the newer one for
    /// a change), 0 without source info.
    pub line: u32,
    /// For a change: what it was and what it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
}

impl From<protoreg_core::diff::DiffEntry> for DiffEntry {
    fn from(entry: protoreg_core::diff::DiffEntry) -> Self {
        Self {
            kind: entry.kind.to_owned(),
            name: entry.name,
            file: entry.file,
            line: entry.line,
            from: entry.from,
            to: entry.to,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum VersionState {
    Current,
    Staged,
    Previous,
}

impl From<protoreg_core::VersionState> for VersionState {
    fn from(state: protoreg_core::VersionState) -> Self {
        use protoreg_core::VersionState as Core;
        match state {
            Core::Current => Self::Current,
            Core::Staged => Self::Staged,
            Core::Previous => Self::Previous,
        }
    }
}

/// `VersionInfo` of docs/API.md.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VersionInfo {
    pub version: i32,
    pub fingerprint: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    #[schema(value_type = Object)]
    pub metadata: Map<String, Value>,
    pub files: Vec<String>,
    pub state: VersionState,
}

impl From<protoreg_core::VersionInfo> for VersionInfo {
    fn from(info: protoreg_core::VersionInfo) -> Self {
        Self {
            version: info.version,
            fingerprint: info.fingerprint,
            created_by: info.created_by,
            created_at: info.created_at,
            metadata: info.metadata,
            files: info.files,
            state: info.state.into(),
        }
    }
}

/// A role in a namespace; each includes the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// GET.
    Read,
    /// Publish and check.
    Write,
    /// Promote, discard, rollback, settings, namespace administration.
    Admin,
}

impl From<core_auth::Role> for Role {
    fn from(role: core_auth::Role) -> Self {
        match role {
            core_auth::Role::Read => Self::Read,
            core_auth::Role::Write => Self::Write,
            core_auth::Role::Admin => Self::Admin,
        }
    }
}

impl From<Role> for core_auth::Role {
    fn from(role: Role) -> Self {
        match role {
            Role::Read => Self::Read,
            Role::Write => Self::Write,
            Role::Admin => Self::Admin,
        }
    }
}

/// A role in one namespace, or in every namespace (`"*"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Grant {
    pub namespace: String,
    pub role: Role,
}

impl From<core_auth::Grant> for Grant {
    fn from(grant: core_auth::Grant) -> Self {
        Self {
            namespace: grant.namespace,
            role: grant.role.into(),
        }
    }
}

impl From<Grant> for core_auth::Grant {
    fn from(grant: Grant) -> Self {
        Self {
            namespace: grant.namespace,
            role: grant.role.into(),
        }
    }
}

/// A token as listed: never its secret.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TokenInfo {
    pub id: i64,
    pub name: String,
    pub roles: Vec<Grant>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
}

impl From<core_auth::TokenInfo> for TokenInfo {
    fn from(token: core_auth::TokenInfo) -> Self {
        Self {
            id: token.id,
            name: token.name,
            roles: all(token.roles),
            created_at: token.created_at,
            expires_at: token.expires_at,
        }
    }
}

/// A code generation or repository sync job (`GET /v1/jobs/{id}`).
#[derive(Debug, Serialize, ToSchema)]
pub struct Job {
    pub id: i64,
    /// `codegen` or `sync`.
    pub kind: String,
    /// `queued`, `running`, `succeeded` or `failed`.
    pub status: String,
    pub namespace: String,
    /// Codegen jobs: the schema; empty for sync jobs.
    pub schema: String,
    /// Codegen jobs: the generated version (absent on sync jobs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<i32>,
    /// The generator (a plugin's generator or a `[[plugins.protoc]]` name);
    /// empty for sync jobs.
    pub plugin: String,
    /// The generator's parameter; empty when none.
    pub parameter: String,
    /// What the generator said, or the steps of a sync (each schema's
    /// outcome, compile errors, violations); the error of a failed job.
    pub log: String,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Sync jobs: the source.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<i64>,
    /// Sync jobs: the commit asked for, the one synced once the job ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// Sync jobs: the pushed ref (`refs/heads/<branch>`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub git_ref: Option<String>,
    /// Sync jobs: who pushed (the webhook's pusher), or `sync`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requested_by: Option<String>,
    /// Codegen jobs of a target with `verify: true`: `true` when the
    /// language's toolchain checked the files, `false` when it could not
    /// (the log says why: not installed, no runtime, no toolchain for the
    /// generator) or rejected them (the job failed). Absent when no
    /// verification was asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verified: Option<bool>,
}

impl From<protoreg_core::JobInfo> for Job {
    fn from(job: protoreg_core::JobInfo) -> Self {
        Self {
            id: job.id,
            kind: job.kind,
            status: job.status,
            namespace: job.namespace,
            schema: job.schema,
            version: job.version,
            plugin: job.plugin,
            parameter: job.parameter,
            log: job.log,
            created_at: job.created_at,
            started_at: job.started_at,
            finished_at: job.finished_at,
            source: job.source,
            commit: job.commit,
            git_ref: job.git_ref,
            requested_by: job.requested_by,
            verified: job.verified,
        }
    }
}

#[cfg(test)]
mod tests {
    //! Each API type serializes as its core type did (the JSON of the API
    //! did not change when the types moved to the edge).

    use serde_json::json;

    use super::*;

    fn same_json<C: Serialize + Clone, A: Serialize + From<C>>(core: C) {
        let before = serde_json::to_value(&core).unwrap();
        let after = serde_json::to_value(A::from(core)).unwrap();
        assert_eq!(before, after);
    }

    #[test]
    fn api_types_serialize_as_their_core_types() {
        same_json::<_, FieldError>(protoreg_core::dynamic::FieldError {
            path: "items[2].price".into(),
            message: "bad".into(),
        });
        same_json::<_, CompileError>(protoreg_core::CompileError {
            file: "a.proto".into(),
            line: 1,
            column: 2,
            message: "m".into(),
        });
        let violation = protoreg_core::Violation {
            rule: "FIELD_NO_DELETE".into(),
            category: vec!["FILE".into()],
            schema: "s".into(),
            file: "a.proto".into(),
            line: 1,
            column: 2,
            end_line: 3,
            end_column: 4,
            message: "m".into(),
            plugin: None,
        };
        same_json::<_, Violation>(violation.clone());
        same_json::<_, Violation>(protoreg_core::Violation {
            plugin: Some("p".into()),
            ..violation.clone()
        });
        same_json::<_, CheckOutcome>(protoreg_core::ops::CheckOutcome {
            compatible: false,
            violations: vec![violation],
            errors: Vec::new(),
        });
        same_json::<_, PromotedSchema>(protoreg_core::PromotedSchema {
            schema: protoreg_core::SchemaId::parse("billing").unwrap(),
            from_version: None,
            to_version: 1,
        });
        for (from, to) in [(None, None), (Some("a".to_owned()), Some("b".to_owned()))] {
            same_json::<_, DiffEntry>(protoreg_core::diff::DiffEntry {
                kind: "field",
                name: "pkg.Msg.f".into(),
                file: "a.proto".into(),
                line: 3,
                from,
                to,
            });
        }
        for state in [
            protoreg_core::VersionState::Current,
            protoreg_core::VersionState::Staged,
            protoreg_core::VersionState::Previous,
        ] {
            same_json::<_, VersionState>(state);
        }
        for role in [
            core_auth::Role::Read,
            core_auth::Role::Write,
            core_auth::Role::Admin,
        ] {
            same_json::<_, Role>(role);
            assert_eq!(core_auth::Role::from(Role::from(role)), role);
        }
        let grant: Grant =
            serde_json::from_value(json!({"namespace": "*", "role": "write"})).unwrap();
        assert_eq!(
            core_auth::Grant::from(grant),
            core_auth::Grant {
                namespace: "*".into(),
                role: core_auth::Role::Write
            }
        );
        assert!(
            serde_json::from_value::<Grant>(json!({"namespace": "*", "role": "read", "x": 1}))
                .is_err()
        );
        let mut metadata = Map::new();
        metadata.insert("ticket".into(), json!("T-1"));
        same_json::<_, VersionInfo>(protoreg_core::VersionInfo {
            version: 2,
            fingerprint: "f".into(),
            created_by: "me".into(),
            created_at: Utc::now(),
            metadata,
            files: vec!["a.proto".into()],
            state: protoreg_core::VersionState::Staged,
        });
        for finished_at in [None, Some(Utc::now())] {
            same_json::<_, Job>(protoreg_core::JobInfo {
                id: 1,
                kind: "codegen".into(),
                status: "queued".into(),
                namespace: "billing".into(),
                schema: "s".into(),
                version: Some(1),
                plugin: "python".into(),
                parameter: String::new(),
                log: String::new(),
                created_at: Utc::now(),
                started_at: None,
                finished_at,
                source: None,
                commit: None,
                git_ref: None,
                requested_by: None,
                verified: None,
            });
        }
        same_json::<_, Job>(protoreg_core::JobInfo {
            id: 2,
            kind: "sync".into(),
            status: "succeeded".into(),
            namespace: "billing".into(),
            schema: String::new(),
            version: None,
            plugin: String::new(),
            parameter: String::new(),
            log: "published".into(),
            created_at: Utc::now(),
            started_at: None,
            finished_at: None,
            source: Some(3),
            commit: Some("abc".into()),
            git_ref: Some("refs/heads/main".into()),
            requested_by: Some("git:me".into()),
            verified: None,
        });
        for expires_at in [None, Some(Utc::now())] {
            same_json::<_, TokenInfo>(core_auth::TokenInfo {
                id: 7,
                name: "ci".into(),
                roles: vec![core_auth::Grant {
                    namespace: "billing".into(),
                    role: core_auth::Role::Read,
                }],
                created_at: Utc::now(),
                expires_at,
            });
        }
    }
}
