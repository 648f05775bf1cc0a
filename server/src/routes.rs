//! Every route of the HTTP API, registered in one place.

use actix_web::web;

use crate::handlers::{codegen, health, namespaces, plugins, schemas, staging, tokens, types};

/// Every (method, path template) registered by [`config`]. Tests check it
/// against the text of [`config`] and against the OpenAPI document
/// (`crate::openapi`), so neither can drift from the routes; the auth guard
/// answers 405 from it.
pub const ROUTES: &[(&str, &str)] = &[
    ("POST", "/v1/tokens"),
    ("GET", "/v1/tokens"),
    ("GET", "/v1/tokens/{id}"),
    ("DELETE", "/v1/tokens/{id}"),
    ("GET", "/v1/plugins"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/openapi.json"),
    ("GET", "/v1/namespaces"),
    ("PUT", "/v1/namespaces/{ns}"),
    ("GET", "/v1/namespaces/{ns}"),
    ("DELETE", "/v1/namespaces/{ns}"),
    ("GET", "/v1/namespaces/{ns}/descriptor"),
    ("GET", "/v1/namespaces/{ns}/staging"),
    ("DELETE", "/v1/namespaces/{ns}/staging"),
    ("POST", "/v1/namespaces/{ns}/promote"),
    ("GET", "/v1/namespaces/{ns}/schemas"),
    ("GET", "/v1/namespaces/{ns}/schemas/{schema}"),
    ("GET", "/v1/namespaces/{ns}/schemas/{schema}/versions"),
    ("POST", "/v1/namespaces/{ns}/schemas/{schema}/versions"),
    (
        "GET",
        "/v1/namespaces/{ns}/schemas/{schema}/versions/{version}",
    ),
    (
        "GET",
        "/v1/namespaces/{ns}/schemas/{schema}/versions/{version}/sources",
    ),
    (
        "GET",
        "/v1/namespaces/{ns}/schemas/{schema}/versions/{version}/descriptor",
    ),
    ("POST", "/v1/namespaces/{ns}/schemas/{schema}/check"),
    ("GET", "/v1/namespaces/{ns}/schemas/{schema}/diff"),
    ("PUT", "/v1/namespaces/{ns}/settings"),
    ("GET", "/v1/namespaces/{ns}/types/{full_name}"),
    ("POST", "/v1/namespaces/{ns}/types/{full_name}/validate"),
    ("POST", "/v1/namespaces/{ns}/types/{full_name}/transcode"),
    ("POST", "/v1/namespaces/{ns}/schemas/{schema}/rollback"),
    (
        "GET",
        "/v1/namespaces/{ns}/schemas/{schema}/versions/{version}/generated/{plugin}",
    ),
    ("GET", "/v1/jobs/{id}"),
];

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/tokens", web::post().to(tokens::create))
        .route("/v1/tokens", web::get().to(tokens::list))
        .route("/v1/tokens/{id}", web::get().to(tokens::get))
        .route("/v1/tokens/{id}", web::delete().to(tokens::revoke))
        .route("/v1/plugins", web::get().to(plugins::list))
        .route("/healthz", web::get().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz))
        .route("/metrics", web::get().to(crate::metrics::scrape))
        .route("/openapi.json", web::get().to(crate::openapi::serve))
        .route("/v1/jobs/{id}", web::get().to(codegen::job))
        .service(
            web::scope("/v1/namespaces")
                .route("", web::get().to(namespaces::list))
                .route("/{ns}", web::put().to(namespaces::put))
                .route("/{ns}", web::get().to(namespaces::get))
                .route("/{ns}", web::delete().to(namespaces::delete))
                .route("/{ns}/descriptor", web::get().to(namespaces::descriptor))
                .route("/{ns}/staging", web::get().to(staging::list))
                .route("/{ns}/staging", web::delete().to(staging::discard))
                .route("/{ns}/promote", web::post().to(staging::promote))
                .route("/{ns}/schemas", web::get().to(schemas::list))
                .route("/{ns}/schemas/{schema}", web::get().to(schemas::get))
                .route(
                    "/{ns}/schemas/{schema}/versions",
                    web::get().to(schemas::versions),
                )
                .route(
                    "/{ns}/schemas/{schema}/versions",
                    web::post().to(schemas::publish),
                )
                .route(
                    "/{ns}/schemas/{schema}/versions/{version}",
                    web::get().to(schemas::version),
                )
                .route(
                    "/{ns}/schemas/{schema}/versions/{version}/sources",
                    web::get().to(schemas::sources),
                )
                .route(
                    "/{ns}/schemas/{schema}/versions/{version}/descriptor",
                    web::get().to(schemas::descriptor),
                )
                .route(
                    "/{ns}/schemas/{schema}/check",
                    web::post().to(schemas::check),
                )
                .route("/{ns}/schemas/{schema}/diff", web::get().to(schemas::diff))
                .route("/{ns}/settings", web::put().to(namespaces::put_settings))
                .route("/{ns}/types/{full_name}", web::get().to(types::get))
                .route(
                    "/{ns}/types/{full_name}/validate",
                    web::post().to(types::validate),
                )
                .route(
                    "/{ns}/types/{full_name}/transcode",
                    web::post().to(types::transcode),
                )
                .route(
                    "/{ns}/schemas/{schema}/rollback",
                    web::post().to(schemas::rollback),
                )
                .route(
                    "/{ns}/schemas/{schema}/versions/{version}/generated/{plugin}",
                    web::get().to(codegen::generated),
                ),
        );
}
