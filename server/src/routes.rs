//! The route table: every route of the HTTP API, listed once in [`ROUTES`]
//! with its method, path template, handler and authorization need. Derived
//! from it:
//!
//! - the router ([`Dispatch`], the app's default service): one radix tree
//!   (`matchit`) of the table's paths, so a request is matched once,
//!   whatever the table's length, and its authorization knows the route;
//! - the authorization's requirement and the 405 `Allow` list (`auth`);
//! - the OpenAPI paths ([`Operations`], merged into the document by
//!   `openapi`), whose security and 401/403 responses follow each
//!   route's need.

use std::sync::LazyLock;

use std::rc::Rc;

use actix_web::dev::{Service, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::web;
use futures::future::LocalBoxFuture;
use protoreg_core::auth::Role::{Admin, Read, Write};

use crate::auth::Need::{self, Caller, GlobalAdmin, Namespace, Public, PublicBySetting};
use actix_web::HttpMessage;

use crate::error::ApiError;
use crate::handlers::{
    codegen, events, health, namespaces, plugins, schemas, sources, staging, tokens, types,
    webhooks,
};
use crate::metrics;

/// One route: `method` on the path template `path` (actix syntax, as the
/// OpenAPI document spells it too) runs `handler` for callers that meet
/// `need`.
pub struct Route {
    pub method: Method,
    pub path: &'static str,
    pub need: Need,
    /// The handler as an actix route (without its method guard).
    handler: fn() -> actix_web::Route,
}

impl std::fmt::Debug for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} ({:?})", self.method, self.path, self.need)
    }
}

/// `METHOD "path" => module::handler, need;` for each route: [`ROUTES`] and
/// [`Operations`] (the handlers' `#[utoipa::path]` operations).
macro_rules! routes {
    ($($method:ident $path:literal => $module:ident :: $handler:ident, $need:expr;)*) => {
        /// Every route of the HTTP API.
        pub static ROUTES: &[Route] = &[$(
            Route {
                method: Method::$method,
                path: $path,
                need: $need,
                handler: || web::route().to($module::$handler),
            },
        )*];

        /// The OpenAPI operations of [`ROUTES`], from each handler's
        /// `#[utoipa::path]` (tests check that they name the same method and
        /// path as the table).
        #[derive(utoipa::OpenApi)]
        #[openapi(paths($($module::$handler),*))]
        pub struct Operations;
    };
}

routes! {
    POST "/v1/tokens" => tokens::create, Caller;
    GET "/v1/tokens" => tokens::list, GlobalAdmin;
    GET "/v1/tokens/{id}" => tokens::get, GlobalAdmin;
    DELETE "/v1/tokens/{id}" => tokens::revoke, GlobalAdmin;
    // The caller's own roles (the web console hides what they forbid).
    GET "/v1/whoami" => tokens::whoami, Caller;
    GET "/v1/plugins" => plugins::list, Caller;
    // Any caller; each sees only the events of namespaces it may read.
    GET "/v1/events" => events::list, Caller;
    GET "/v1/events/stream" => events::stream, Caller;
    // Webhooks: a global admin, or admin of every namespace a subscription
    // lists (the handlers check; others get 403 / 404).
    POST "/v1/webhooks" => webhooks::create, Caller;
    GET "/v1/webhooks" => webhooks::list, Caller;
    GET "/v1/webhooks/{id}" => webhooks::get, Caller;
    PATCH "/v1/webhooks/{id}" => webhooks::update, Caller;
    DELETE "/v1/webhooks/{id}" => webhooks::delete, Caller;
    GET "/v1/webhooks/{id}/deliveries" => webhooks::deliveries, Caller;
    POST "/v1/webhooks/{id}/deliveries/{delivery}/redeliver" => webhooks::redeliver, Caller;
    POST "/v1/webhooks/{id}/ping" => webhooks::ping, Caller;
    // Repository sources: the handlers need admin (read for GETs, write
    // to sync) in the source's namespace, which the route cannot name.
    POST "/v1/sources" => sources::create, Caller;
    GET "/v1/sources" => sources::list, Caller;
    GET "/v1/sources/{id}" => sources::get, Caller;
    PATCH "/v1/sources/{id}" => sources::update, Caller;
    DELETE "/v1/sources/{id}" => sources::delete, Caller;
    POST "/v1/sources/{id}/sync" => sources::sync, Caller;
    GET "/v1/services" => sources::services, Caller;
    // The signature (HMAC of the body with a source's secret) is the
    // credential.
    POST "/v1/hooks/git" => sources::hook, Public;
    GET "/healthz" => health::healthz, Public;
    GET "/readyz" => health::readyz, Public;
    GET "/metrics" => metrics::scrape, PublicBySetting;
    GET "/openapi.json" => health::openapi_json, PublicBySetting;
    // Any caller here; the handler then needs read in the job's namespace
    // (`auth::require_namespace_role`), which the route cannot name.
    GET "/v1/jobs/{id}" => codegen::job, Caller;
    GET "/v1/namespaces" => namespaces::list, Caller;
    PUT "/v1/namespaces/{ns}" => namespaces::put, Namespace(Admin);
    GET "/v1/namespaces/{ns}" => namespaces::get, Namespace(Read);
    DELETE "/v1/namespaces/{ns}" => namespaces::delete, Namespace(Admin);
    GET "/v1/namespaces/{ns}/descriptor" => namespaces::descriptor, Namespace(Read);
    GET "/v1/namespaces/{ns}/export" => namespaces::export, Namespace(Read);
    PUT "/v1/namespaces/{ns}/settings" => namespaces::put_settings, Namespace(Admin);
    GET "/v1/namespaces/{ns}/staging" => staging::list, Namespace(Read);
    DELETE "/v1/namespaces/{ns}/staging" => staging::discard, Namespace(Admin);
    POST "/v1/namespaces/{ns}/promote" => staging::promote, Namespace(Admin);
    GET "/v1/namespaces/{ns}/schemas" => schemas::list, Namespace(Read);
    GET "/v1/namespaces/{ns}/schemas/{schema}" => schemas::get, Namespace(Read);
    GET "/v1/namespaces/{ns}/schemas/{schema}/versions" => schemas::versions, Namespace(Read);
    POST "/v1/namespaces/{ns}/schemas/{schema}/versions" => schemas::publish, Namespace(Write);
    GET "/v1/namespaces/{ns}/schemas/{schema}/versions/{version}" => schemas::version, Namespace(Read);
    GET "/v1/namespaces/{ns}/schemas/{schema}/versions/{version}/sources" => schemas::sources, Namespace(Read);
    GET "/v1/namespaces/{ns}/schemas/{schema}/versions/{version}/descriptor" => schemas::descriptor, Namespace(Read);
    GET "/v1/namespaces/{ns}/schemas/{schema}/versions/{version}/generated/{plugin}" => codegen::generated, Namespace(Read);
    POST "/v1/namespaces/{ns}/schemas/{schema}/check" => schemas::check, Namespace(Write);
    GET "/v1/namespaces/{ns}/schemas/{schema}/diff" => schemas::diff, Namespace(Read);
    POST "/v1/namespaces/{ns}/schemas/{schema}/rollback" => schemas::rollback, Namespace(Admin);
    GET "/v1/namespaces/{ns}/types/{full_name}" => types::get, Namespace(Read);
    // Validating and converting a message reads the namespace.
    POST "/v1/namespaces/{ns}/types/{full_name}/validate" => types::validate, Namespace(Read);
    POST "/v1/namespaces/{ns}/types/{full_name}/transcode" => types::transcode, Namespace(Read);
}

/// The route of `method` on `path`, if the table has one.
pub fn route(method: &Method, path: &str) -> Option<&'static Route> {
    ROUTES
        .iter()
        .find(|route| route.method == *method && route.path == path)
}

/// [`ROUTES`] grouped by path, in the table's order: one actix resource
/// each. Built once.
pub fn by_path() -> &'static [(&'static str, Vec<&'static Route>)] {
    static BY_PATH: LazyLock<Vec<(&'static str, Vec<&'static Route>)>> = LazyLock::new(|| {
        let mut out: Vec<(&'static str, Vec<&'static Route>)> = Vec::new();
        for route in ROUTES {
            match out.iter_mut().find(|(path, _)| *path == route.path) {
                Some((_, routes)) => routes.push(route),
                None => out.push((route.path, vec![route])),
            }
        }
        out
    });
    &BY_PATH
}

/// The router of [`by_path`]: a path to its index there. Built once.
fn router() -> &'static matchit::Router<usize> {
    static ROUTER: LazyLock<matchit::Router<usize>> = LazyLock::new(|| {
        let mut router = matchit::Router::new();
        for (index, (path, _)) in by_path().iter().enumerate() {
            if let Err(err) = router.insert(*path, index) {
                panic!("the route table's path {path} does not fit the router: {err}");
            }
        }
        router
    });
    &ROUTER
}

/// Registers the API: [`Dispatch`] as the app's default service, so that a
/// request is matched once against the whole table (a radix tree) instead
/// of against actix's resources one by one; and the web console's files,
/// which actix matches before it.
pub fn config(cfg: &mut web::ServiceConfig) {
    // Public static files, outside the API's table (no auth guard, not in
    // the OpenAPI document); the API it calls stays guarded route by route.
    crate::console::config(cfg);
    cfg.default_service(Dispatch);
}

/// The API's service: finds the route of a request's path in [`router`],
/// puts the path's parameters where actix's extractors (`web::Path`) read
/// them, answers 405 for a method the path lacks (with `Allow`), authorizes
/// the caller for the route's [`Need`], and calls the route's handler. A
/// path of no route is 404 `not_found`.
pub struct Dispatch;

type Handler = <actix_web::Route as ServiceFactory<ServiceRequest>>::Service;

impl ServiceFactory<ServiceRequest> for Dispatch {
    type Response = ServiceResponse;
    type Error = actix_web::Error;
    type Config = ();
    type Service = DispatchService;
    type InitError = ();
    type Future = LocalBoxFuture<'static, Result<DispatchService, ()>>;

    fn new_service(&self, _: ()) -> Self::Future {
        // The handler services of each path's routes, indexed like
        // [`by_path`].
        let handlers = by_path()
            .iter()
            .map(|(_, routes)| {
                futures::future::try_join_all(
                    routes.iter().map(|route| (route.handler)().new_service(())),
                )
            })
            .collect::<Vec<_>>();
        Box::pin(async move {
            let handlers = futures::future::try_join_all(handlers).await?;
            Ok(DispatchService {
                handlers: Rc::from(handlers),
            })
        })
    }
}

/// The index in [`by_path`] of the request's path, whose parameters are
/// then where `web::Path` reads them; `None` when no route has the path.
fn match_path(req: &mut ServiceRequest) -> Option<usize> {
    let (index, params) = {
        let matched = router().at(req.match_info().as_str()).ok()?;
        let params: Vec<(&'static str, String)> = matched
            .params
            .iter()
            .map(|(name, value)| (name, value.to_owned()))
            .collect();
        (*matched.value, params)
    };
    for (name, value) in params {
        req.match_info_mut().add_static(name, value);
    }
    Some(index)
}

/// The running [`Dispatch`] of one worker.
pub struct DispatchService {
    /// For each path of [`by_path`], its routes' handlers.
    handlers: Rc<[Vec<Handler>]>,
}

impl Service<ServiceRequest> for DispatchService {
    type Response = ServiceResponse;
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<ServiceResponse, actix_web::Error>>;

    actix_web::dev::always_ready!();

    fn call(&self, mut req: ServiceRequest) -> Self::Future {
        let Some(index) = match_path(&mut req) else {
            return Box::pin(std::future::ready(Ok(
                req.error_response(ApiError::not_found("no such route"))
            )));
        };
        let routes: &'static [&'static Route] = &by_path()[index].1;
        if let (Some(route), Some(matched)) = (
            routes.first(),
            req.extensions().get::<crate::metrics::MatchedPath>(),
        ) {
            matched.0.set(Some(route.path));
        }
        let Some((which, route)) = routes
            .iter()
            .enumerate()
            .find(|(_, route)| route.method == *req.method())
        else {
            let err = ApiError::MethodNotAllowed {
                method: req.method().as_str().to_owned(),
                allow: routes.iter().map(|route| route.method.as_str()).collect(),
            };
            return Box::pin(std::future::ready(Ok(req.error_response(err))));
        };
        let handlers = Rc::clone(&self.handlers);
        Box::pin(async move {
            let namespaced = route.path.starts_with("/v1/namespaces/{ns}");
            match crate::auth::check(route.need, namespaced, &req).await {
                Ok(()) => handlers[index][which].call(req).await,
                Err(err) => Ok(req.error_response(err)),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use actix_web::http::StatusCode;
    use actix_web::test as actix_test;
    use actix_web::{App, FromRequest};

    use super::*;

    #[test]
    fn each_method_and_path_is_one_route() {
        let mut seen = BTreeSet::new();
        for route in ROUTES {
            assert!(
                seen.insert((route.method.as_str(), route.path)),
                "{route:?} is listed twice"
            );
            assert!(
                !route.path.contains("{ns}") || route.path.starts_with("/v1/namespaces/{ns}"),
                "{route:?}: the guard reads `{{ns}}` as the fourth path segment"
            );
            assert_eq!(
                matches!(route.need, Need::Namespace(_)),
                route.path.starts_with("/v1/namespaces/{ns}"),
                "{route:?}: a namespace role needs a `{{ns}}` route, and `{{ns}}` routes need one"
            );
        }
        assert_eq!(
            by_path().iter().map(|(_, r)| r.len()).sum::<usize>(),
            ROUTES.len()
        );
    }

    /// A concrete path of a template: each `{param}` becomes `x`.
    fn concrete(template: &str) -> String {
        template
            .split('/')
            .map(|segment| {
                if segment.starts_with('{') {
                    "x"
                } else {
                    segment
                }
            })
            .collect::<Vec<_>>()
            .join("/")
    }

    /// What [`config`] registers is the table: each route reaches its
    /// authorization (which, without the app's data, refuses with 500), and every other
    /// method on its path is 405 with the table's methods in `Allow`.
    #[actix_web::test]
    async fn config_registers_the_table() {
        let app = actix_test::init_service(App::new().configure(config)).await;
        for route in ROUTES {
            let req = actix_test::TestRequest::default()
                .method(route.method.clone())
                .uri(&concrete(route.path))
                .to_request();
            let response = actix_test::call_service(&app, req).await;
            assert_eq!(
                response.status(),
                StatusCode::INTERNAL_SERVER_ERROR,
                "{route:?} did not reach its authorization"
            );
        }
        for (path, routes) in by_path() {
            let req = actix_test::TestRequest::default()
                .method(Method::TRACE)
                .uri(&concrete(path))
                .to_request();
            let response = actix_test::call_service(&app, req).await;
            assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED, "{path}");
            let allow: Vec<&str> = routes.iter().map(|r| r.method.as_str()).collect();
            assert_eq!(
                response.headers().get("allow").unwrap().to_str().unwrap(),
                allow.join(", "),
                "{path}"
            );
        }
        let req = actix_test::TestRequest::get()
            .uri("/v1/nothing")
            .to_request();
        assert_eq!(
            actix_test::call_service(&app, req).await.status(),
            StatusCode::NOT_FOUND
        );
        for path in [
            "/v1/namespaces/",
            "/v1/namespaces/x/",
            "/healthz/",
            "/v1/namespacesx",
        ] {
            let req = actix_test::TestRequest::get().uri(path).to_request();
            assert_eq!(
                actix_test::call_service(&app, req).await.status(),
                StatusCode::NOT_FOUND,
                "{path}"
            );
        }
    }

    /// The dispatch puts a path's parameters where `web::Path` reads them,
    /// percent-decoded as actix's own routing would.
    #[actix_web::test]
    async fn parameters_reach_the_extractors() {
        let mut req = actix_test::TestRequest::get()
            .uri("/v1/namespaces/a%2Fb/schemas/s%20t/versions/3/descriptor")
            .to_srv_request();
        let index = match_path(&mut req).expect("a route of the table");
        let (req, _) = req.into_parts();
        let path = web::Path::<(String, String, String)>::extract(&req)
            .await
            .unwrap();
        assert_eq!(
            path.into_inner(),
            ("a/b".to_owned(), "s t".to_owned(), "3".to_owned())
        );
        assert_eq!(
            by_path()[index].0,
            "/v1/namespaces/{ns}/schemas/{schema}/versions/{version}/descriptor"
        );
    }
}
