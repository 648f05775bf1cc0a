use std::collections::BTreeMap;

use actix_web::{HttpRequest, HttpResponse, web};
use protoreg_core::{PublishRequest, VersionRef};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::{DescriptorQuery, Reg, descriptor_response, namespace_id, schema_id};
use crate::api_types::{self, CheckOutcome, DiffEntry, VersionInfo, Violation};
use crate::error::ApiResult;
use crate::extract::JsonBody;
use crate::metrics::Metrics;

#[derive(Serialize, ToSchema)]
pub struct SchemaSummary {
    id: String,
    current_version: Option<i32>,
    staged_version: Option<i32>,
    updated_at: chrono::DateTime<chrono::Utc>,
}

/// One page of `GET /v1/namespaces/{ns}/schemas`.
#[derive(Serialize, ToSchema)]
pub struct SchemaPage {
    schemas: Vec<SchemaSummary>,
    /// Absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_page_token: Option<String>,
}

/// A schema and every version of it.
#[derive(Serialize, ToSchema)]
pub struct SchemaDetail {
    id: String,
    current_version: Option<i32>,
    staged_version: Option<i32>,
    versions: Vec<VersionInfo>,
}

/// One page of `GET .../versions`.
#[derive(Serialize, ToSchema)]
pub struct VersionPage {
    versions: Vec<VersionInfo>,
    /// Absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_page_token: Option<String>,
}

/// The outcome of a publish.
#[derive(Serialize, ToSchema)]
pub struct Published {
    version: i32,
    fingerprint: String,
    /// The sources match the staged (else current) version: nothing written.
    no_change: bool,
    /// The version is the schema's staged one.
    staged: bool,
    files: Vec<String>,
    /// Full names of the top-level messages, enums and services.
    messages: Vec<String>,
    enums: Vec<String>,
    services: Vec<String>,
}

/// A version's `.proto` sources by path.
#[derive(Serialize, ToSchema)]
pub struct Sources {
    sources: BTreeMap<String, String>,
}

/// The outcome of a rollback: `version` is staged.
#[derive(Serialize, ToSchema)]
pub struct RolledBack {
    version: i32,
    staged: bool,
    revision: i64,
}

/// What changed between two versions, and the compatibility violations of
/// going from `from` to `to`.
#[derive(Serialize, ToSchema)]
pub struct DiffBody {
    violations: Vec<Violation>,
    added: Vec<DiffEntry>,
    removed: Vec<DiffEntry>,
    changed: Vec<DiffEntry>,
}

#[utoipa::path(
    get,
    path = "/v1/namespaces/{ns}/schemas",
    tag = "schemas",
    params(super::params::Ns, super::PageQuery),
    responses(
        (status = 200, description = "One page of the namespace's schemas", body = SchemaPage),
        (status = 400, description = "Invalid argument: a malformed path parameter, query or body"),
        (status = 404, description = "Not found"),
    )
)]
pub async fn list(
    registry: Reg,
    path: web::Path<String>,
    page: web::Query<super::PageQuery>,
) -> ApiResult<HttpResponse> {
    let view = registry.view(&path)?;
    let schemas: Vec<SchemaSummary> = view
        .schemas
        .iter()
        .map(|(id, entry)| SchemaSummary {
            id: id.to_string(),
            current_version: entry.current.as_ref().map(|v| v.version),
            staged_version: entry.staged.as_ref().map(|v| v.version),
            updated_at: entry.updated_at,
        })
        .collect();
    let (schemas, next_page_token) = super::paginate(&registry, schemas, |s| s.id.clone(), &page)?;
    Ok(HttpResponse::Ok().json(SchemaPage {
        schemas,
        next_page_token,
    }))
}

#[utoipa::path(
    get,
    path = "/v1/namespaces/{ns}/schemas/{schema}",
    tag = "schemas",
    params(super::params::Ns, super::params::Schema),
    responses(
        (status = 200, description = "The schema with every version", body = SchemaDetail),
        (status = 400, description = "Invalid argument: a malformed path parameter, query or body"),
        (status = 404, description = "Not found"),
    )
)]
pub async fn get(registry: Reg, path: web::Path<(String, String)>) -> ApiResult<HttpResponse> {
    let (ns, schema) = path.into_inner();
    let versions = registry.versions(&ns, &schema).await?;
    let view = registry.view(&ns)?;
    let entry = view.schemas.get(schema.as_str());
    Ok(HttpResponse::Ok().json(SchemaDetail {
        current_version: entry.and_then(|e| e.current.as_ref()).map(|v| v.version),
        staged_version: entry.and_then(|e| e.staged.as_ref()).map(|v| v.version),
        id: schema,
        versions: api_types::all(versions),
    }))
}

#[utoipa::path(
    get,
    path = "/v1/namespaces/{ns}/schemas/{schema}/versions",
    tag = "schemas",
    params(super::params::Ns, super::params::Schema, super::PageQuery),
    responses(
        (status = 200, description = "One page of the schema's versions", body = VersionPage),
        (status = 400, description = "Invalid argument: a malformed path parameter, query or body"),
        (status = 404, description = "Not found"),
    )
)]
pub async fn versions(
    registry: Reg,
    path: web::Path<(String, String)>,
    page: web::Query<super::PageQuery>,
) -> ApiResult<HttpResponse> {
    let (ns, schema) = path.into_inner();
    let versions: Vec<VersionInfo> = api_types::all(registry.versions(&ns, &schema).await?);
    // Zero-padded, so that keys sort as the numbers do.
    let (versions, next_page_token) =
        super::paginate(&registry, versions, |v| format!("{:010}", v.version), &page)?;
    Ok(HttpResponse::Ok().json(VersionPage {
        versions,
        next_page_token,
    }))
}

/// A version of `billing` that adds a field: compiles, and is compatible.
const EXAMPLE_SOURCES: &str = "syntax = \"proto3\";\npackage billing;\nimport \"common/money.proto\";\nmessage Invoice {\n  string id = 1;\n  common.Money total = 2;\n  string note = 9;\n}\n";

fn example_sources() -> Value {
    serde_json::json!({ "sources": { "billing/invoice.proto": EXAMPLE_SOURCES } })
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = example_sources)]
pub struct PublishBody {
    /// `.proto` files by path.
    sources: BTreeMap<String, String>,
    #[serde(default)]
    created_by: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    metadata: Option<Map<String, Value>>,
    /// Skip the compatibility check; needs a global admin.
    #[serde(default)]
    force: bool,
}

#[utoipa::path(
    post,
    path = "/v1/namespaces/{ns}/schemas/{schema}/versions",
    tag = "schemas",
    params(super::params::Ns, super::params::Schema),
    request_body = PublishBody,
    responses(
        (status = 200, description = "No change: the sources match the staged (else current) version", body = Published),
        (status = 201, description = "Published: a new version, staged", body = Published),
        (status = 400, description = "Invalid argument: a malformed path parameter, query or body"),
        (status = 403, description = "`force` needs a global admin"),
        (status = 404, description = "Not found"),
        (status = 409, description = "A file path owned by another schema, a shadowed well-known or builtins file without `force`, or a concurrent change"),
        (status = 413, description = "The request body exceeds the configured limit"),
        (status = 422, description = "The sources do not compile (`errors`)"),
    )
)]
pub async fn publish(
    registry: Reg,
    metrics: web::Data<Metrics>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    JsonBody(body): JsonBody<PublishBody>,
) -> ApiResult<HttpResponse> {
    if body.force {
        crate::auth::require_global_admin(&req, "force")?;
    }
    let (ns, schema) = path.into_inner();
    let ns = namespace_id(&ns)?;
    let schema = schema_id(&schema)?;
    let outcome = registry
        .publish(
            &ns,
            PublishRequest {
                schema: schema.clone(),
                sources: body.sources,
                created_by: body.created_by.unwrap_or_default(),
                metadata: body.metadata.unwrap_or_default(),
                force: body.force,
            },
        )
        .await;
    let outcome = metrics.publish(outcome)?;
    let version = &outcome.version;
    let staged = registry
        .view(ns.as_str())?
        .schemas
        .get(&schema)
        .and_then(|e| e.staged.as_ref())
        .is_some_and(|s| s.version_id == version.version_id);
    let mut response = if outcome.no_change {
        HttpResponse::Ok()
    } else {
        HttpResponse::Created()
    };
    Ok(response.json(Published {
        version: version.version,
        fingerprint: version.fingerprint.clone(),
        no_change: outcome.no_change,
        staged,
        files: version.paths().map(str::to_owned).collect(),
        messages: version.types.messages.clone(),
        enums: version.types.enums.clone(),
        services: version.types.services.clone(),
    }))
}

fn version_ref(raw: &str) -> ApiResult<VersionRef> {
    Ok(VersionRef::parse(raw)?)
}

#[utoipa::path(
    get,
    path = "/v1/namespaces/{ns}/schemas/{schema}/versions/{version}",
    tag = "schemas",
    params(super::params::Ns, super::params::Schema, super::params::Version),
    responses(
        (status = 200, description = "The version", body = VersionInfo),
        (status = 400, description = "Invalid argument: a malformed path parameter, query or body"),
        (status = 404, description = "Not found"),
    )
)]
pub async fn version(
    registry: Reg,
    path: web::Path<(String, String, String)>,
) -> ApiResult<HttpResponse> {
    let (ns, schema, version) = path.into_inner();
    let (snapshot, state) = registry
        .version(&ns, &schema, version_ref(&version)?)
        .await?;
    Ok(
        HttpResponse::Ok().json(VersionInfo::from(protoreg_core::VersionInfo::of(
            &snapshot, state,
        ))),
    )
}

#[utoipa::path(
    get,
    path = "/v1/namespaces/{ns}/schemas/{schema}/versions/{version}/sources",
    tag = "schemas",
    params(super::params::Ns, super::params::Schema, super::params::Version),
    responses(
        (status = 200, description = "The version's sources by path", body = Sources),
        (status = 400, description = "Invalid argument: a malformed path parameter, query or body"),
        (status = 404, description = "Not found"),
    )
)]
pub async fn sources(
    registry: Reg,
    path: web::Path<(String, String, String)>,
) -> ApiResult<HttpResponse> {
    let (ns, schema, version) = path.into_inner();
    let sources = registry
        .sources(&ns, &schema, version_ref(&version)?)
        .await?;
    Ok(HttpResponse::Ok().json(Sources { sources }))
}

#[utoipa::path(
    get,
    path = "/v1/namespaces/{ns}/schemas/{schema}/versions/{version}/descriptor",
    tag = "schemas",
    params(super::params::Ns, super::params::Schema, super::params::Version, DescriptorQuery),
    responses(
        (status = 200, description = "The `google.protobuf.FileDescriptorSet`: binary, or its JSON mapping with `?format=json`; with a strong ETag", content((inline(super::Binary) = "application/x-protobuf"), (Object = "application/json"))),
        (status = 304, description = "Not modified: `If-None-Match` matches the ETag"),
        (status = 400, description = "Invalid argument: a malformed path parameter, query or body"),
        (status = 404, description = "Not found"),
    )
)]
pub async fn descriptor(
    registry: Reg,
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
    query: web::Query<DescriptorQuery>,
) -> ApiResult<HttpResponse> {
    let (ns, schema, version) = path.into_inner();
    let (snapshot, _) = registry
        .version(&ns, &schema, version_ref(&version)?)
        .await?;
    descriptor_response(
        &req,
        &query,
        &snapshot.descriptor_set,
        &snapshot.descriptor_sha256,
    )
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"version": 1}))]
pub struct RollbackBody {
    version: i32,
    #[serde(default)]
    force: bool,
}

#[utoipa::path(
    post,
    path = "/v1/namespaces/{ns}/schemas/{schema}/rollback",
    tag = "schemas",
    params(super::params::Ns, super::params::Schema),
    request_body = RollbackBody,
    responses(
        (status = 200, description = "The version, now staged", body = RolledBack),
        (status = 400, description = "Invalid argument: a malformed path parameter, query or body"),
        (status = 404, description = "Not found"),
        (status = 409, description = "Incompatible with the current version (`violations`), or a concurrent change"),
        (status = 413, description = "The request body exceeds the configured limit"),
    )
)]
pub async fn rollback(
    registry: Reg,
    path: web::Path<(String, String)>,
    JsonBody(body): JsonBody<RollbackBody>,
) -> ApiResult<HttpResponse> {
    let (ns, schema) = path.into_inner();
    let schema = schema_id(&schema)?;
    if body.version <= 0 {
        return Err(crate::error::ApiError::invalid(
            "version must be a positive integer",
        ));
    }
    let outcome = registry
        .rollback(&ns, schema, body.version, body.force)
        .await?;
    Ok(HttpResponse::Ok().json(RolledBack {
        version: outcome.version,
        staged: true,
        revision: outcome.revision,
    }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = example_sources)]
pub struct CheckBody {
    sources: BTreeMap<String, String>,
    #[serde(default)]
    force: bool,
}

/// Dry-run publish: compile errors and compatibility violations against the
/// current version, with no effect.
#[utoipa::path(
    post,
    path = "/v1/namespaces/{ns}/schemas/{schema}/check",
    tag = "schemas",
    params(super::params::Ns, super::params::Schema),
    request_body = CheckBody,
    responses(
        (status = 200, description = "The outcome: compile errors and compatibility violations", body = CheckOutcome),
        (status = 400, description = "Invalid argument: a malformed path parameter, query or body"),
        (status = 403, description = "`force` needs a global admin"),
        (status = 404, description = "Not found"),
        (status = 413, description = "The request body exceeds the configured limit"),
        (status = 422, description = "The sources do not compile (`errors`)"),
    )
)]
pub async fn check(
    registry: Reg,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    JsonBody(body): JsonBody<CheckBody>,
) -> ApiResult<HttpResponse> {
    if body.force {
        crate::auth::require_global_admin(&req, "force")?;
    }
    let (ns, schema) = path.into_inner();
    let schema = schema_id(&schema)?;
    let outcome = registry
        .check(&ns, schema, body.sources, body.force)
        .await?;
    Ok(HttpResponse::Ok().json(CheckOutcome::from(outcome)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DiffQuery {
    /// A version number, `current` or `staged`.
    #[param(example = "1")]
    from: String,
    /// A version number, `current` or `staged`.
    #[param(example = "current")]
    to: String,
}

/// Added, removed and changed elements between two versions, plus the
/// compatibility violations of going from `from` to `to`.
#[utoipa::path(
    get,
    path = "/v1/namespaces/{ns}/schemas/{schema}/diff",
    tag = "schemas",
    params(super::params::Ns, super::params::Schema, DiffQuery),
    responses(
        (status = 200, description = "The changes and violations", body = DiffBody),
        (status = 400, description = "Invalid argument: a malformed path parameter, query or body"),
        (status = 404, description = "Not found"),
    )
)]
pub async fn diff(
    registry: Reg,
    path: web::Path<(String, String)>,
    query: web::Query<DiffQuery>,
) -> ApiResult<HttpResponse> {
    let (ns, schema) = path.into_inner();
    let (changes, violations) = registry
        .diff(
            &ns,
            &schema,
            version_ref(&query.from)?,
            version_ref(&query.to)?,
        )
        .await?;
    Ok(HttpResponse::Ok().json(DiffBody {
        violations: api_types::all(violations),
        added: api_types::all(changes.added),
        removed: api_types::all(changes.removed),
        changed: api_types::all(changes.changed),
    }))
}
