use actix_web::HttpResponse;
use serde::Serialize;
use utoipa::ToSchema;

use super::Reg;

/// `{status}`: `ok`, `ready`, `restoring` or `store unreachable`.
#[derive(Serialize, ToSchema)]
pub struct Status {
    status: &'static str,
}

fn status(status: &'static str) -> Status {
    Status { status }
}

/// The process is alive.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    responses(
        (status = 200, description = "`{status: ok}`", body = Status),
    )
)]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(status("ok"))
}

/// The store is reachable and writable within its bounds (on SQLite: the
/// write lock can be had within `database.busy_timeout_ms`), and the restore
/// has finished.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    responses(
        (status = 200, description = "`{status: ready}`", body = Status),
        (status = 503, description = "`{status}`: restoring, or the store is unreachable or locked", body = Status),
    )
)]
pub async fn readyz(registry: Reg) -> HttpResponse {
    if !registry.is_ready() {
        return HttpResponse::ServiceUnavailable().json(status("restoring"));
    }
    match registry.store().probe_writable().await {
        Ok(()) => HttpResponse::Ok().json(status("ready")),
        Err(err) => {
            tracing::warn!(%err, "readiness: store unreachable");
            HttpResponse::ServiceUnavailable().json(status("store unreachable"))
        }
    }
}

/// The OpenAPI document, encoded once at start-up (app data).
#[derive(Debug, Clone)]
pub struct OpenApiJson(pub &'static str);

/// This document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "operations",
    responses((status = 200, description = "The OpenAPI 3.1 document of this API", body = Object))
)]
pub async fn openapi_json(document: actix_web::web::Data<OpenApiJson>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(document.0)
}
