use std::collections::BTreeMap;

use actix_web::{HttpRequest, HttpResponse, web};
use protoreg_core::{PublishRequest, VersionInfo, VersionRef};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::{DescriptorQuery, Reg, descriptor_response, namespace_id, schema_id};
use crate::error::ApiResult;
use crate::extract::JsonBody;
use crate::metrics::Metrics;

#[derive(Serialize)]
struct SchemaSummary {
    id: String,
    current_version: Option<i32>,
    staged_version: Option<i32>,
    updated_at: chrono::DateTime<chrono::Utc>,
}

#[utoipa::path(
    get,
    path = "/v1/namespaces/{ns}/schemas",
    tag = "schemas",
    params(("ns" = String, Path, description = "Namespace id"), super::PageQuery),
    responses(
        (status = 200, description = "`{schemas: [...], next_page_token?}`", body = Object),
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
    let (schemas, next) = super::paginate(&registry, schemas, |s| s.id.clone(), &page)?;
    Ok(HttpResponse::Ok().json(super::page_body("schemas", schemas, next)))
}

#[utoipa::path(
    get,
    path = "/v1/namespaces/{ns}/schemas/{schema}",
    tag = "schemas",
    params(("ns" = String, Path, description = "Namespace id"), ("schema" = String, Path, description = "Schema id")),
    responses(
        (status = 200, description = "`{id, current_version, staged_version, versions}`", body = Object),
        (status = 400, description = "Invalid argument: a malformed path parameter, query or body"),
        (status = 404, description = "Not found"),
    )
)]
pub async fn get(registry: Reg, path: web::Path<(String, String)>) -> ApiResult<HttpResponse> {
    let (ns, schema) = path.into_inner();
    let versions = registry.versions(&ns, &schema).await?;
    let view = registry.view(&ns)?;
    let entry = view.schemas.get(schema.as_str());
    Ok(HttpResponse::Ok().json(json!({
        "id": schema,
        "current_version": entry.and_then(|e| e.current.as_ref()).map(|v| v.version),
        "staged_version": entry.and_then(|e| e.staged.as_ref()).map(|v| v.version),
        "versions": versions,
    })))
}

#[utoipa::path(
    get,
    path = "/v1/namespaces/{ns}/schemas/{schema}/versions",
    tag = "schemas",
    params(("ns" = String, Path, description = "Namespace id"), ("schema" = String, Path, description = "Schema id"), super::PageQuery),
    responses(
        (status = 200, description = "`{versions: [...], next_page_token?}`", body = Object),
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
    let versions: Vec<VersionInfo> = registry.versions(&ns, &schema).await?;
    // Zero-padded, so that keys sort as the numbers do.
    let (versions, next) =
        super::paginate(&registry, versions, |v| format!("{:010}", v.version), &page)?;
    Ok(HttpResponse::Ok().json(super::page_body("versions", versions, next)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
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
    params(("ns" = String, Path, description = "Namespace id"), ("schema" = String, Path, description = "Schema id")),
    request_body = PublishBody,
    responses(
        (status = 200, description = "No change: the sources match the staged (else current) version", body = Object),
        (status = 201, description = "Published: a new version, staged", body = Object),
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
    Ok(response.json(json!({
        "version": version.version,
        "fingerprint": version.fingerprint,
        "no_change": outcome.no_change,
        "staged": staged,
        "files": version.paths().collect::<Vec<_>>(),
        "messages": version.types.messages,
        "enums": version.types.enums,
        "services": version.types.services,
    })))
}

fn version_ref(raw: &str) -> ApiResult<VersionRef> {
    Ok(VersionRef::parse(raw)?)
}

#[utoipa::path(
    get,
    path = "/v1/namespaces/{ns}/schemas/{schema}/versions/{version}",
    tag = "schemas",
    params(("ns" = String, Path, description = "Namespace id"), ("schema" = String, Path, description = "Schema id"), ("version" = String, Path, description = "A version number, `current` or `staged`")),
    responses(
        (status = 200, description = "The version", body = Object),
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
    Ok(HttpResponse::Ok().json(VersionInfo::of(&snapshot, state)))
}

#[utoipa::path(
    get,
    path = "/v1/namespaces/{ns}/schemas/{schema}/versions/{version}/sources",
    tag = "schemas",
    params(("ns" = String, Path, description = "Namespace id"), ("schema" = String, Path, description = "Schema id"), ("version" = String, Path, description = "A version number, `current` or `staged`")),
    responses(
        (status = 200, description = "`{sources: {path: text}}`", body = Object),
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
    Ok(HttpResponse::Ok().json(json!({ "sources": sources })))
}

#[utoipa::path(
    get,
    path = "/v1/namespaces/{ns}/schemas/{schema}/versions/{version}/descriptor",
    tag = "schemas",
    params(("ns" = String, Path, description = "Namespace id"), ("schema" = String, Path, description = "Schema id"), ("version" = String, Path, description = "A version number, `current` or `staged`"), DescriptorQuery),
    responses(
        (status = 200, description = "The `google.protobuf.FileDescriptorSet`: binary, or its JSON mapping with `?format=json`; with a strong ETag", content((inline(crate::openapi::Binary) = "application/x-protobuf"), (Object = "application/json"))),
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
pub struct RollbackBody {
    version: i32,
    #[serde(default)]
    force: bool,
}

#[utoipa::path(
    post,
    path = "/v1/namespaces/{ns}/schemas/{schema}/rollback",
    tag = "schemas",
    params(("ns" = String, Path, description = "Namespace id"), ("schema" = String, Path, description = "Schema id")),
    request_body = RollbackBody,
    responses(
        (status = 200, description = "`{version, staged, revision}`", body = Object),
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
    Ok(HttpResponse::Ok().json(json!({
        "version": outcome.version,
        "staged": true,
        "revision": outcome.revision,
    })))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
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
    params(("ns" = String, Path, description = "Namespace id"), ("schema" = String, Path, description = "Schema id")),
    request_body = CheckBody,
    responses(
        (status = 200, description = "The outcome: compile errors and compatibility violations", body = Object),
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
    Ok(HttpResponse::Ok().json(outcome))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DiffQuery {
    /// A version number, `current` or `staged`.
    from: String,
    /// A version number, `current` or `staged`.
    to: String,
}

/// Added, removed and changed elements between two versions, plus the
/// compatibility violations of going from `from` to `to`.
#[utoipa::path(
    get,
    path = "/v1/namespaces/{ns}/schemas/{schema}/diff",
    tag = "schemas",
    params(("ns" = String, Path, description = "Namespace id"), ("schema" = String, Path, description = "Schema id"), DiffQuery),
    responses(
        (status = 200, description = "`{violations, added, removed, changed}`", body = Object),
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
    Ok(HttpResponse::Ok().json(json!({
        "violations": violations,
        "added": changes.added,
        "removed": changes.removed,
        "changed": changes.changed,
    })))
}
