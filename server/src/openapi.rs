//! `GET /openapi.json`: the OpenAPI 3.1 document of the HTTP API, generated
//! from the `#[utoipa::path]` annotations of the handlers. Security and the
//! 401/403/503 problem responses are filled in from [`auth::requirement`], so
//! they follow the one table that enforces them; a test checks that the
//! document and [`crate::routes::ROUTES`] list the same operations.

use std::sync::OnceLock;

use actix_web::HttpResponse;
use actix_web::http::Method;
use serde::Serialize;
use serde_json::Value;
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{Content, OpenApi as Document, Ref, RefOr, Response};
use utoipa::{Modify, OpenApi, PartialSchema, ToSchema};

use crate::auth::{self, Need};
use crate::handlers::{codegen, health, namespaces, plugins, schemas, staging, tokens, types};

/// An error, as `application/problem+json` (RFC 9457).
#[derive(Serialize, ToSchema)]
#[allow(dead_code)] // Documentation only: errors are rendered by `crate::error`.
pub struct Problem {
    /// `urn:protoreg:problem:<code>`.
    #[serde(rename = "type")]
    kind: String,
    title: String,
    status: u16,
    detail: String,
    /// Stable machine-readable code, e.g. `not_found`, `incompatible`.
    code: String,
    /// Compile errors (`compile_failed`) or field errors of a message that
    /// does not decode (`invalid_argument`).
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<Vec<Value>>,
    /// Compatibility violations (`incompatible`).
    #[serde(skip_serializing_if = "Option::is_none")]
    violations: Option<Vec<protoreg_core::Violation>>,
    /// Set on internal errors, to quote when reporting them.
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<String>,
}

/// Raw bytes of a body (an encoded protobuf message or descriptor set).
pub struct Binary;

impl PartialSchema for Binary {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
            .into()
    }
}

impl ToSchema for Binary {}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "protoreg",
        description = "A Protocol Buffers schema registry. See API.md for the full contract."
    ),
    paths(
        tokens::create,
        tokens::list,
        tokens::get,
        tokens::revoke,
        plugins::list,
        health::healthz,
        health::readyz,
        crate::metrics::scrape,
        serve,
        namespaces::list,
        namespaces::put,
        namespaces::get,
        namespaces::delete,
        namespaces::descriptor,
        namespaces::put_settings,
        staging::list,
        staging::discard,
        staging::promote,
        schemas::list,
        schemas::get,
        schemas::versions,
        schemas::publish,
        schemas::version,
        schemas::sources,
        schemas::descriptor,
        schemas::check,
        schemas::diff,
        schemas::rollback,
        types::get,
        types::validate,
        types::transcode,
        codegen::generated,
        codegen::job,
    ),
    components(schemas(Problem)),
    modifiers(&FromAuthTable)
)]
pub struct ApiDoc;

/// Adds the bearer scheme; on every operation that is not public, the
/// security requirement and 401/403; on every operation that takes a body,
/// 415 and 408; on every operation, a `Problem` body for each error response
/// that has none, and 503 where the store is used.
struct FromAuthTable;

const BEARER: &str = "bearer";

/// Routes that answer without the store.
const STORELESS: &[&str] = &["/healthz", "/readyz", "/metrics", "/openapi.json"];

impl Modify for FromAuthTable {
    fn modify(&self, openapi: &mut Document) {
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme(
                BEARER,
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .description(Some(
                            "A token from POST /v1/tokens, or the configured admin token.",
                        ))
                        .build(),
                ),
            );
        for (path, item) in openapi.paths.paths.iter_mut() {
            let operations = [
                (Method::GET, &mut item.get),
                (Method::PUT, &mut item.put),
                (Method::POST, &mut item.post),
                (Method::DELETE, &mut item.delete),
            ];
            for (method, operation) in operations {
                let Some(operation) = operation else { continue };
                // Handlers of different resources share names (`list`, `get`):
                // prefix the tag so that operation ids are unique.
                if let (Some(tag), Some(id)) = (
                    operation.tags.as_ref().and_then(|t| t.first()),
                    operation.operation_id.as_mut(),
                ) {
                    *id = format!("{tag}_{id}");
                }
                let responses = &mut operation.responses.responses;
                let mut add = |status: &str, description: &str| {
                    responses
                        .entry(status.to_owned())
                        .or_insert_with(|| RefOr::T(Response::new(description)));
                };
                if !STORELESS.contains(&path.as_str()) {
                    add(
                        "503",
                        "The store is unreachable or the registry is restoring",
                    );
                }
                if operation.request_body.is_some() {
                    add(
                        "415",
                        "The body's Content-Type or Content-Encoding is not one this route takes (`unsupported_media_type`)",
                    );
                    add(
                        "408",
                        "The request body did not arrive within the configured time",
                    );
                }
                // A route missing from the table is refused at the edge; the
                // drift test catches it, so document it as protected here.
                if auth::requirement(&method, path) != Some(Need::Public) {
                    operation.security = Some(vec![SecurityRequirement::new::<
                        &str,
                        [&str; 0],
                        &str,
                    >(BEARER, [])]);
                    add("401", "Missing, invalid, expired or revoked token");
                    add("403", "The caller lacks the role this route needs");
                }
                for (status, response) in responses.iter_mut() {
                    if let RefOr::T(response) = response
                        && status.as_str() >= "400"
                        && response.content.is_empty()
                    {
                        response.content.insert(
                            "application/problem+json".to_owned(),
                            Content::new(Some(Ref::from_schema_name("Problem"))),
                        );
                    }
                }
            }
        }
    }
}

fn document() -> &'static str {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        ApiDoc::openapi()
            .to_json()
            .unwrap_or_else(|e| format!("{{\"error\": \"encoding the OpenAPI document: {e}\"}}"))
    })
}

/// This document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "operations",
    responses((status = 200, description = "The OpenAPI 3.1 document of this API", body = Object))
)]
pub async fn serve() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(document())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::routes::ROUTES;

    /// Every (method, path) of the generated document.
    fn documented() -> BTreeSet<(String, String)> {
        let doc = ApiDoc::openapi();
        let mut out = BTreeSet::new();
        for (path, item) in &doc.paths.paths {
            for (method, op) in [
                ("GET", &item.get),
                ("PUT", &item.put),
                ("POST", &item.post),
                ("DELETE", &item.delete),
                ("PATCH", &item.patch),
                ("HEAD", &item.head),
                ("OPTIONS", &item.options),
                ("TRACE", &item.trace),
            ] {
                if op.is_some() {
                    out.insert((method.to_owned(), path.clone()));
                }
            }
        }
        out
    }

    /// The (method, path) pairs registered in routes.rs, read from its text:
    /// each `.route("..", web::<method>()...)`, prefixed by the
    /// `web::scope("..")` it follows.
    fn registered_in_source() -> BTreeSet<(String, String)> {
        let source = include_str!("routes.rs");
        let body = &source[source.find("pub fn config").expect("config in routes.rs")..];
        let mut out = BTreeSet::new();
        let mut prefix = String::new();
        let mut rest = body;
        loop {
            let scope = rest.find("web::scope(\"");
            let route = rest.find(".route(");
            let at = match (scope, route) {
                (Some(s), Some(r)) => s.min(r),
                (Some(s), None) => s,
                (None, Some(r)) => r,
                (None, None) => break,
            };
            let tail = &rest[at..];
            let open = tail.find('"').unwrap() + 1;
            let close = open + tail[open..].find('"').unwrap();
            let literal = &tail[open..close];
            if Some(at) == scope {
                prefix = literal.to_owned();
            } else {
                let after = &tail[close..];
                let method = after[after.find("web::").unwrap() + 5..]
                    .split("()")
                    .next()
                    .unwrap()
                    .to_uppercase();
                out.insert((method, format!("{prefix}{literal}")));
            }
            rest = &tail[close..];
        }
        out
    }

    fn routes() -> BTreeSet<(String, String)> {
        ROUTES
            .iter()
            .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
            .collect()
    }

    #[test]
    fn routes_list_matches_registration() {
        let registered = registered_in_source();
        assert!(
            registered.len() > 20,
            "parsed too few routes: {registered:?}"
        );
        assert_eq!(
            routes(),
            registered,
            "routes::ROUTES and routes::config differ"
        );
    }

    #[test]
    fn document_covers_every_route_and_nothing_else() {
        let documented = documented();
        let routes = routes();
        let undocumented: Vec<_> = routes.difference(&documented).collect();
        assert!(
            undocumented.is_empty(),
            "routes missing from the OpenAPI document: {undocumented:?}"
        );
        let unknown: Vec<_> = documented.difference(&routes).collect();
        assert!(
            unknown.is_empty(),
            "documented operations with no route: {unknown:?}"
        );
    }

    #[test]
    fn security_follows_the_auth_table() {
        let doc: serde_json::Value = serde_json::from_str(document()).unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
        let mut operation_ids = BTreeSet::new();
        for (method, path) in ROUTES {
            let id = doc["paths"][path][method.to_lowercase()]["operationId"].as_str();
            assert!(
                operation_ids.insert(id.unwrap_or_default().to_owned()),
                "{method} {path}: operationId {id:?} missing or not unique"
            );
            let need = auth::requirement(&Method::from_bytes(method.as_bytes()).unwrap(), path);
            assert!(
                need.is_some(),
                "{method} {path} has no entry in auth::requirement"
            );
            let op = &doc["paths"][path][method.to_lowercase()];
            let secured = op.get("security").is_some();
            assert_eq!(secured, need != Some(Need::Public), "{method} {path}");
            let responses = op["responses"].as_object().unwrap();
            assert!(
                responses.keys().any(|s| s.starts_with('2')),
                "{method} {path} documents no success response"
            );
            if op.get("requestBody").is_some() {
                assert_eq!(
                    responses["415"]["content"]["application/problem+json"]["schema"]["$ref"],
                    "#/components/schemas/Problem",
                    "{method} {path} takes a body but documents no 415"
                );
            }
            for (status, response) in responses {
                if status.as_str() >= "400" && !(*path == "/readyz" && status == "503") {
                    assert!(
                        response["content"]["application/problem+json"].is_object(),
                        "{method} {path} {status} is not a problem"
                    );
                }
            }
        }
    }
}
