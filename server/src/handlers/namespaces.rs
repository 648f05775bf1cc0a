use actix_web::{HttpRequest, HttpResponse, web};
use protoreg_core::NamespaceView;
use protoreg_core::settings::{self, NamespaceSettings};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{DescriptorQuery, Reg, descriptor_response, namespace_id};
use crate::error::ApiResult;
use crate::extract::MaybeJson;

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Namespace)]
pub struct NamespaceBody {
    id: String,
    created_at: chrono::DateTime<chrono::Utc>,
    updated_at: chrono::DateTime<chrono::Utc>,
    #[schema(value_type = Object)]
    metadata: Map<String, Value>,
    schema_count: usize,
    staged_count: usize,
    revision: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    settings: Option<Value>,
}

/// One page of `GET /v1/namespaces`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct NamespacePage {
    namespaces: Vec<NamespaceBody>,
    /// Absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_page_token: Option<String>,
}

fn body(view: &NamespaceView, with_settings: bool) -> NamespaceBody {
    NamespaceBody {
        id: view.info.name.to_string(),
        created_at: view.info.created_at,
        updated_at: view.info.updated_at,
        metadata: view.info.metadata.clone(),
        schema_count: view.schemas.len(),
        staged_count: view.staged_count(),
        revision: view.info.revision,
        settings: with_settings.then(|| view.info.settings.clone()),
    }
}

/// The namespaces the caller may read.
#[utoipa::path(
    get,
    path = "/v1/namespaces",
    tag = "namespaces",
    params(super::PageQuery),
    responses(
        (status = 200, description = "One page of the namespaces the caller may read", body = NamespacePage),
        (status = 400, description = "Invalid argument: a malformed path parameter, query or body"),
    )
)]
pub async fn list(
    registry: Reg,
    req: actix_web::HttpRequest,
    page: web::Query<super::PageQuery>,
) -> ApiResult<HttpResponse> {
    let caller = crate::auth::caller(&req);
    let namespaces: Vec<NamespaceBody> = registry
        .views()?
        .iter()
        .filter(|v| {
            v.info.name.is_builtins()
                || caller.can(v.info.name.as_str(), protoreg_core::auth::Role::Read)
        })
        .map(|v| body(v, false))
        .collect();
    let (namespaces, next_page_token) =
        super::paginate(&registry, namespaces, |n| n.id.clone(), &page)?;
    Ok(HttpResponse::Ok().json(NamespacePage {
        namespaces,
        next_page_token,
    }))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutNamespace {
    #[schema(value_type = Option<Object>)]
    metadata: Option<Map<String, Value>>,
    #[schema(value_type = Option<Object>)]
    settings: Option<Value>,
}

#[utoipa::path(
    put,
    path = "/v1/namespaces/{ns}",
    tag = "namespaces",
    params(super::params::Ns),
    request_body = Option<PutNamespace>,
    responses(
        (status = 200, description = "Updated", body = NamespaceBody),
        (status = 201, description = "Created", body = NamespaceBody),
        (status = 400, description = "Invalid argument: a malformed path parameter, query or body"),
        (status = 409, description = "Conflict with a concurrent change or the current state"),
        (status = 413, description = "The request body exceeds the configured limit"),
    )
)]
pub async fn put(
    registry: Reg,
    path: web::Path<String>,
    MaybeJson(request): MaybeJson<PutNamespace>,
) -> ApiResult<HttpResponse> {
    let ns = namespace_id(&path)?;
    if ns.is_builtins() && !registry.views()?.iter().any(|v| v.info.name == ns) {
        return Err(crate::error::ApiError::invalid("__builtins__ is reserved"));
    }
    if let Some(settings) = &request.settings
        && !settings.is_object()
    {
        return Err(crate::error::ApiError::invalid(
            "settings must be a JSON object",
        ));
    }
    let (view, created) = registry
        .put_namespace(&ns, request.metadata, request.settings)
        .await?;
    let mut response = if created {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    Ok(response.json(body(&view, true)))
}

#[utoipa::path(
    get,
    path = "/v1/namespaces/{ns}",
    tag = "namespaces",
    params(super::params::Ns),
    responses(
        (status = 200, description = "The namespace with its settings", body = NamespaceBody),
        (status = 400, description = "Invalid argument: a malformed path parameter, query or body"),
        (status = 404, description = "Not found"),
    )
)]
pub async fn get(registry: Reg, path: web::Path<String>) -> ApiResult<HttpResponse> {
    let view = registry.view(&path)?;
    Ok(HttpResponse::Ok().json(body(&view, true)))
}

#[utoipa::path(
    delete,
    path = "/v1/namespaces/{ns}",
    tag = "namespaces",
    params(super::params::NsToDelete),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "Invalid argument: a malformed path parameter, query or body"),
        (status = 404, description = "Not found"),
        (status = 409, description = "Conflict with a concurrent change or the current state"),
    )
)]
pub async fn delete(registry: Reg, path: web::Path<String>) -> ApiResult<HttpResponse> {
    registry.delete_namespace(&path).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Every current file of the namespace with its imports.
#[utoipa::path(
    get,
    path = "/v1/namespaces/{ns}/descriptor",
    tag = "namespaces",
    params(super::params::Ns, DescriptorQuery),
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
    path: web::Path<String>,
    query: web::Query<DescriptorQuery>,
) -> ApiResult<HttpResponse> {
    let view = registry.view(&path)?;
    descriptor_response(
        &req,
        &query,
        &view.current.descriptor_set,
        &view.current.etag,
    )
}

/// Every current `.proto` of the namespace as a deterministic gzip tar.
#[utoipa::path(
    get,
    path = "/v1/namespaces/{ns}/export",
    tag = "namespaces",
    params(super::params::Ns),
    responses(
        (status = 200, description = "Every current `.proto` of the namespace as a gzip tar: one folder per schema with its files at their published paths (`<schema>/<path>`), sorted entries, mode 0644, mtime 0, so the same namespace state gives the same bytes; `ETag` is the archive's SHA-256. Staged versions are not included", content((inline(super::Binary) = "application/gzip"))),
        (status = 400, description = "Invalid argument: a malformed path parameter, query or body"),
        (status = 404, description = "Not found"),
    )
)]
pub async fn export(registry: Reg, path: web::Path<String>) -> ApiResult<HttpResponse> {
    let archive = registry.export(&path).await?;
    let etag = protoreg_core::fingerprint::sha256_hex(&archive);
    Ok(HttpResponse::Ok()
        .content_type("application/gzip")
        .insert_header((actix_web::http::header::ETAG, format!("\"{etag}\"")))
        .insert_header((
            actix_web::http::header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{}.tar.gz\"", path.as_str()),
        ))
        .body(archive))
}

/// `PUT /v1/namespaces/{ns}/settings`: the compatibility policy and the code
/// generation targets, replaced as a whole.
#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `{mode, use, except, ignore, ignore_only, ignore_unstable_packages}`;
    /// validated by the registry's compatibility checker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    compat: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    codegen: Option<Vec<CodegenTarget>>,
}

#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodegenTarget {
    plugin: String,
    #[serde(default)]
    parameter: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    output: Option<String>,
    /// Go managed mode: files without `go_package` get the import path
    /// `<prefix>/<the file's directory>` (`M` mappings to the generator).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    go_package_prefix: Option<String>,
    /// Commit and push each job's files to a git branch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    push: Option<PushTarget>,
    /// Check each job's files with the language's toolchain (Python:
    /// compile and import; Go: `go vet`) before they are stored or pushed;
    /// files it rejects fail the job.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    verify: bool,
}

/// `settings.codegen[].push`: where generated files are committed.
#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PushTarget {
    /// `https://`, `ssh://`, `file://` or `user@host:path`, no password
    /// (credentials come from `git.credentials`).
    url: String,
    branch: String,
    /// The folder in the repository (`""`: the top); `{schema}` and
    /// `{namespace}` stand for the job's, and a folder with `{schema}` is
    /// replaced whole by each push.
    #[serde(default)]
    path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    author_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    author_email: Option<String>,
}

impl From<Settings> for NamespaceSettings {
    fn from(settings: Settings) -> Self {
        Self {
            compat: settings.compat,
            codegen: settings.codegen.map(|targets| {
                targets
                    .into_iter()
                    .map(|t| settings::CodegenTarget {
                        plugin: t.plugin,
                        parameter: t.parameter,
                        output: t.output,
                        go_package_prefix: t.go_package_prefix,
                        push: t.push.map(|p| settings::PushTarget {
                            url: p.url,
                            branch: p.branch,
                            path: p.path,
                            author_name: p.author_name,
                            author_email: p.author_email,
                        }),
                        verify: t.verify,
                    })
                    .collect()
            }),
        }
    }
}

#[utoipa::path(
    put,
    path = "/v1/namespaces/{ns}/settings",
    tag = "namespaces",
    params(super::params::Ns),
    request_body = Settings,
    responses(
        (status = 200, description = "The namespace with its new settings", body = NamespaceBody),
        (status = 400, description = "Invalid argument: a malformed path parameter, query or body"),
        (status = 404, description = "Not found"),
        (status = 409, description = "Conflict with a concurrent change or the current state"),
        (status = 413, description = "The request body exceeds the configured limit"),
    )
)]
pub async fn put_settings(
    registry: Reg,
    path: web::Path<String>,
    crate::extract::JsonBody(settings): crate::extract::JsonBody<Settings>,
) -> ApiResult<HttpResponse> {
    let ns = namespace_id(&path)?;
    registry.view(ns.as_str())?;
    let settings = NamespaceSettings::from(settings);
    settings.validate()?;
    let (view, _) = registry
        .put_namespace(&ns, None, Some(settings.to_json()))
        .await?;
    Ok(HttpResponse::Ok().json(body(&view, true)))
}
