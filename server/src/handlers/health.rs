use actix_web::HttpResponse;
use serde_json::json;

use super::Reg;

/// The process is alive.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    responses(
        (status = 200, description = "`{status: ok}`", body = Object),
    )
)]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// The store is reachable and the restore has finished.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    responses(
        (status = 200, description = "`{status: ready}`", body = Object),
        (status = 503, description = "`{status}`: restoring, or the store is unreachable", body = Object),
    )
)]
pub async fn readyz(registry: Reg) -> HttpResponse {
    if !registry.is_ready() {
        return HttpResponse::ServiceUnavailable().json(json!({"status": "restoring"}));
    }
    match registry.store().ping().await {
        Ok(()) => HttpResponse::Ok().json(json!({"status": "ready"})),
        Err(err) => {
            tracing::warn!(%err, "readiness: store unreachable");
            HttpResponse::ServiceUnavailable().json(json!({"status": "store unreachable"}))
        }
    }
}
