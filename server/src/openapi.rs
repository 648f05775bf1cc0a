//! `GET /openapi.json`: the OpenAPI 3.1 document of the HTTP API, generated
//! from the `#[utoipa::path]` annotations of the handlers that the route
//! table lists ([`routes::Operations`]). Security and the 401/403/503 problem
//! responses are filled in from each route's `auth::Need` in
//! [`routes::ROUTES`], the table the auth guard enforces; a test checks that
//! the document and the table list the same operations.

use std::sync::OnceLock;

use actix_web::http::Method;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{Content, OpenApi as Document, Ref, RefOr, Response};
use utoipa::{Modify, OpenApi};

use crate::routes;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "protoreg",
        description = "A Protocol Buffers schema registry. The full contract is in docs/API.md of the protoreg repository."
    ),
    components(schemas(crate::error::Problem))
)]
pub struct ApiDoc;

/// The whole document: [`ApiDoc`] with the operations of the route table,
/// completed by [`FromAuthTable`].
pub fn openapi() -> Document {
    let mut doc = ApiDoc::openapi();
    doc.merge(routes::Operations::openapi());
    FromAuthTable.modify(&mut doc);
    doc
}

/// Adds the bearer scheme; on every operation that is not public, the
/// security requirement and 401/403; on every operation that takes a body,
/// 415 and 408; on every operation, a `Problem` body for each error response
/// that has none, and 503 where the store is used. Needs come from
/// [`routes::ROUTES`].
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
                (Method::PATCH, &mut item.patch),
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
                // An operation missing from the table (the drift test catches
                // it) is documented as protected.
                if !routes::route(&method, path).is_some_and(|route| route.need.is_public()) {
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

/// The document as served, encoded once.
pub fn document() -> &'static str {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        openapi()
            .to_json()
            .unwrap_or_else(|e| format!("{{\"error\": \"encoding the OpenAPI document: {e}\"}}"))
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::routes::ROUTES;

    /// Every (method, path) of the generated document.
    fn documented() -> BTreeSet<(String, String)> {
        let doc = openapi();
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

    fn routes() -> BTreeSet<(String, String)> {
        ROUTES
            .iter()
            .map(|route| (route.method.as_str().to_owned(), route.path.to_owned()))
            .collect()
    }

    /// Each route's handler documents the route's own method and path (the
    /// `#[utoipa::path]` annotation repeats them), and the document has no
    /// other operation.
    #[test]
    fn document_covers_every_route_and_nothing_else() {
        let documented = documented();
        let routes = routes();
        assert_eq!(routes.len(), ROUTES.len(), "a route is listed twice");
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
    fn security_follows_the_route_table() {
        let doc: serde_json::Value = serde_json::from_str(document()).unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
        let mut operation_ids = BTreeSet::new();
        for route in ROUTES {
            let (method, path) = (route.method.as_str().to_lowercase(), route.path);
            let op = &doc["paths"][path][&method];
            let id = op["operationId"].as_str();
            assert!(
                operation_ids.insert(id.unwrap_or_default().to_owned()),
                "{route:?}: operationId {id:?} missing or not unique"
            );
            let secured = op.get("security").is_some();
            assert_eq!(secured, !route.need.is_public(), "{route:?}");
            let responses = op["responses"].as_object().unwrap();
            assert!(
                responses.keys().any(|s| s.starts_with('2')),
                "{route:?} documents no success response"
            );
            if secured {
                assert!(
                    responses.contains_key("401") && responses.contains_key("403"),
                    "{route:?} is secured but documents no 401/403"
                );
            }
            if op.get("requestBody").is_some() {
                assert_eq!(
                    responses["415"]["content"]["application/problem+json"]["schema"]["$ref"],
                    "#/components/schemas/Problem",
                    "{route:?} takes a body but documents no 415"
                );
            }
            for (status, response) in responses {
                if status.as_str() >= "400" && !(path == "/readyz" && status == "503") {
                    assert!(
                        response["content"]["application/problem+json"].is_object(),
                        "{route:?} {status} is not a problem"
                    );
                }
            }
        }
    }
}
