use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::Reg;
use crate::error::ApiResult;
use crate::extract::MaybeJson;
use crate::metrics::Metrics;

#[derive(Serialize)]
struct StagedBody {
    schema: String,
    version: i32,
    current_version: Option<i32>,
}

#[utoipa::path(
    get,
    path = "/v1/namespaces/{ns}/staging",
    tag = "staging",
    params(("ns" = String, Path, description = "Namespace id"), super::PageQuery),
    responses(
        (status = 200, description = "`{staged: [{schema, version, current_version}], next_page_token?}`", body = Object),
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
    let staged: Vec<StagedBody> = view
        .staged()
        .map(|(schema, entry, version)| StagedBody {
            schema: schema.to_string(),
            version: version.version,
            current_version: entry.current.as_ref().map(|v| v.version),
        })
        .collect();
    let (staged, next) = super::paginate(&registry, staged, |s| s.schema.clone(), &page)?;
    Ok(HttpResponse::Ok().json(super::page_body("staged", staged, next)))
}

#[utoipa::path(
    delete,
    path = "/v1/namespaces/{ns}/staging",
    tag = "staging",
    params(("ns" = String, Path, description = "Namespace id")),
    responses(
        (status = 200, description = "`{discarded}`", body = Object),
        (status = 400, description = "Invalid argument: a malformed path parameter, query or body"),
        (status = 404, description = "Not found"),
        (status = 409, description = "Conflict with a concurrent change or the current state"),
    )
)]
pub async fn discard(registry: Reg, path: web::Path<String>) -> ApiResult<HttpResponse> {
    let discarded = registry.discard(&path).await?;
    Ok(HttpResponse::Ok().json(json!({ "discarded": discarded })))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PromoteRequest {
    /// Report what would be promoted, without promoting.
    #[serde(default)]
    dry_run: bool,
}

#[utoipa::path(
    post,
    path = "/v1/namespaces/{ns}/promote",
    tag = "staging",
    params(("ns" = String, Path, description = "Namespace id")),
    request_body = Option<PromoteRequest>,
    responses(
        (status = 200, description = "`{promoted, revision, dry_run, compat_checker, jobs}`; `jobs`: ids of the code generation jobs queued, one per promoted version and `settings.codegen` target (see `GET /v1/jobs/{id}`)", body = Object),
        (status = 400, description = "Invalid argument: a malformed path parameter, query or body"),
        (status = 404, description = "Not found"),
        (status = 409, description = "Incompatible with the current versions (`violations`), or a concurrent change"),
        (status = 413, description = "The request body exceeds the configured limit"),
    )
)]
pub async fn promote(
    registry: Reg,
    metrics: web::Data<Metrics>,
    path: web::Path<String>,
    MaybeJson(request): MaybeJson<PromoteRequest>,
) -> ApiResult<HttpResponse> {
    let outcome = metrics.promote(registry.promote(&path, request.dry_run).await)?;
    Ok(HttpResponse::Ok().json(json!({
        "promoted": outcome.promoted,
        "revision": outcome.revision,
        "dry_run": outcome.dry_run,
        "compat_checker": outcome.compat_checker,
        "jobs": outcome.jobs,
    })))
}
