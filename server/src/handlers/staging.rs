use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Reg;
use crate::api_types::{self, PromotedSchema};
use crate::error::ApiResult;
use crate::extract::MaybeJson;
use crate::metrics::Metrics;

#[derive(Serialize, ToSchema)]
pub struct StagedBody {
    schema: String,
    version: i32,
    current_version: Option<i32>,
}

/// One page of `GET /v1/namespaces/{ns}/staging`.
#[derive(Serialize, ToSchema)]
pub struct StagedPage {
    staged: Vec<StagedBody>,
    /// Absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_page_token: Option<String>,
}

/// The schemas whose staged version was discarded.
#[derive(Serialize, ToSchema)]
pub struct Discarded {
    #[schema(value_type = Vec<String>)]
    discarded: Vec<protoreg_core::SchemaId>,
}

/// The outcome of a promote (or of its dry run).
#[derive(Serialize, ToSchema)]
pub struct Promoted {
    promoted: Vec<PromotedSchema>,
    revision: i64,
    dry_run: bool,
    /// Which compatibility checker judged the promote.
    compat_checker: String,
    /// Ids of the code generation jobs the promote queued.
    jobs: Vec<i64>,
}

#[utoipa::path(
    get,
    path = "/v1/namespaces/{ns}/staging",
    tag = "staging",
    params(super::params::Ns, super::PageQuery),
    responses(
        (status = 200, description = "One page of the staged versions", body = StagedPage),
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
    let (staged, next_page_token) =
        super::paginate(&registry, staged, |s| s.schema.clone(), &page)?;
    Ok(HttpResponse::Ok().json(StagedPage {
        staged,
        next_page_token,
    }))
}

#[utoipa::path(
    delete,
    path = "/v1/namespaces/{ns}/staging",
    tag = "staging",
    params(super::params::Ns),
    responses(
        (status = 200, description = "The schemas whose staged version was discarded", body = Discarded),
        (status = 400, description = "Invalid argument: a malformed path parameter, query or body"),
        (status = 404, description = "Not found"),
        (status = 409, description = "Conflict with a concurrent change or the current state"),
    )
)]
pub async fn discard(registry: Reg, path: web::Path<String>) -> ApiResult<HttpResponse> {
    let discarded = registry.discard(&path).await?;
    Ok(HttpResponse::Ok().json(Discarded { discarded }))
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
    params(super::params::Ns),
    request_body = Option<PromoteRequest>,
    responses(
        (status = 200, description = "What was (or, with `dry_run`, would be) promoted; `jobs`: the code generation jobs queued, one per promoted version and `settings.codegen` target (see `GET /v1/jobs/{id}`)", body = Promoted),
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
    Ok(HttpResponse::Ok().json(Promoted {
        promoted: api_types::all(outcome.promoted),
        revision: outcome.revision,
        dry_run: outcome.dry_run,
        compat_checker: outcome.compat_checker,
        jobs: outcome.jobs,
    }))
}
