//! Prometheus metrics: HTTP traffic (recorded by a middleware, labelled by
//! route template), publish and promote outcomes (recorded by their
//! handlers), store errors, and gauges computed from the registry's views
//! at scrape time. Served at `GET /metrics` in the text format.
//!
//! Every metric lives in a private `prometheus::Registry` owned by
//! [`Metrics`], never the process-global default, so tests and several
//! servers in one process do not share counters.

use std::future::Future;
use std::time::{Duration, Instant};

use actix_web::dev::{Service, ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode};
use actix_web::{HttpMessage, HttpResponse, web};
use prometheus::{
    Encoder, Gauge, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, TextEncoder,
};
use protoreg_core::{PromoteOutcome, PublishOutcome, Registry, RegistryError};

use crate::error::ApiError;

/// The `route` label of requests that matched no route: raw paths never
/// become label values, so a scanner cannot blow up the series count.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// Compilation takes from a millisecond (one small file) to seconds (a
/// large corpus: about 3 s for 3,216 files, docs/PERFORMANCE.md).
const COMPILE_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

pub struct Metrics {
    registry: prometheus::Registry,
    http_requests: IntCounterVec,
    http_duration: HistogramVec,
    publishes: IntCounterVec,
    compile_duration: Histogram,
    promotes: IntCounterVec,
    namespaces: IntGauge,
    schema_versions: IntGauge,
    restore_versions: IntGaugeVec,
    restore_duration: Gauge,
    store_errors: IntCounter,
    config_reloads: IntCounterVec,
    plugin_calls: IntCounterVec,
    plugin_duration: HistogramVec,
    events_held: IntGauge,
    webhooks: WebhookMetrics,
    grpc_requests: IntCounterVec,
    grpc_duration: HistogramVec,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    pub fn new() -> prometheus::Result<Self> {
        let registry = prometheus::Registry::new();
        let http_requests = IntCounterVec::new(
            Opts::new(
                "protoreg_http_requests_total",
                "HTTP requests served, by method, route template and status.",
            ),
            &["method", "route", "status"],
        )?;
        let http_duration = HistogramVec::new(
            HistogramOpts::new(
                "protoreg_http_request_duration_seconds",
                "Time to serve an HTTP request, by method and route template.",
            ),
            &["method", "route"],
        )?;
        let publishes = IntCounterVec::new(
            Opts::new(
                "protoreg_publish_total",
                "Publishes that reached the registry, by result: created, no_change or an error code.",
            ),
            &["result"],
        )?;
        let compile_duration = Histogram::with_opts(
            HistogramOpts::new(
                "protoreg_compile_duration_seconds",
                "Time spent compiling a published schema (publishes that changed something).",
            )
            .buckets(COMPILE_BUCKETS.to_vec()),
        )?;
        let promotes = IntCounterVec::new(
            Opts::new(
                "protoreg_promote_total",
                "Promotes, by result: ok, dry_run or an error code.",
            ),
            &["result"],
        )?;
        let namespaces = IntGauge::new(
            "protoreg_namespaces",
            "Live namespaces, __builtins__ included.",
        )?;
        let schema_versions = IntGauge::new(
            "protoreg_schema_versions",
            "Schema versions held in memory: every current plus every staged version.",
        )?;
        let restore_versions = IntGaugeVec::new(
            Opts::new(
                "protoreg_restore_versions",
                "Versions the restore at start rebuilt, by where it read them: checkpoint (a namespace's restore checkpoint) or store (version rows and descriptor blobs).",
            ),
            &["source"],
        )?;
        let restore_duration = Gauge::new(
            "protoreg_restore_duration_seconds",
            "How long the restore at start took.",
        )?;
        let store_errors = IntCounter::new(
            "protoreg_store_errors_total",
            "Registry errors answered as internal or unavailable.",
        )?;
        let config_reloads = IntCounterVec::new(
            Opts::new(
                "protoreg_config_reloads_total",
                "Configuration reloads on SIGHUP, by result: ok or error (old configuration kept).",
            ),
            &["result"],
        )?;
        let plugin_calls = IntCounterVec::new(
            Opts::new(
                "protoreg_plugin_calls_total",
                "Plugin calls, by plugin, kind (configure, compat, generate, event) and \
                 result (ok, error, invalid, timeout, unhealthy).",
            ),
            &["plugin", "kind", "result"],
        )?;
        let plugin_duration = HistogramVec::new(
            HistogramOpts::new(
                "protoreg_plugin_call_duration_seconds",
                "Plugin call latency, by plugin and kind.",
            )
            .buckets(COMPILE_BUCKETS.to_vec()),
            &["plugin", "kind"],
        )?;
        // Series that exist from the start read 0 rather than "no data".
        for result in ["created", "no_change"] {
            publishes.with_label_values(&[result]);
        }
        for result in ["ok", "dry_run"] {
            promotes.with_label_values(&[result]);
        }
        for result in ["ok", "error"] {
            config_reloads.with_label_values(&[result]);
        }
        registry.register(Box::new(http_requests.clone()))?;
        registry.register(Box::new(http_duration.clone()))?;
        registry.register(Box::new(publishes.clone()))?;
        registry.register(Box::new(compile_duration.clone()))?;
        registry.register(Box::new(promotes.clone()))?;
        registry.register(Box::new(namespaces.clone()))?;
        registry.register(Box::new(schema_versions.clone()))?;
        registry.register(Box::new(restore_versions.clone()))?;
        registry.register(Box::new(restore_duration.clone()))?;
        registry.register(Box::new(store_errors.clone()))?;
        registry.register(Box::new(config_reloads.clone()))?;
        registry.register(Box::new(plugin_calls.clone()))?;
        registry.register(Box::new(plugin_duration.clone()))?;
        let events_held = IntGauge::new(
            "protoreg_events_held_requests",
            "Event requests held now: long polls waiting and event streams open.",
        )?;
        registry.register(Box::new(events_held.clone()))?;
        let webhooks = WebhookMetrics::register(&registry)?;
        let grpc_requests = IntCounterVec::new(
            Opts::new(
                "protoreg_grpc_requests_total",
                "gRPC calls served, by method (`package.Service/Method`) and status code \
                 (`OK`, `NOT_FOUND`, ...).",
            ),
            &["method", "code"],
        )?;
        let grpc_duration = HistogramVec::new(
            HistogramOpts::new(
                "protoreg_grpc_request_duration_seconds",
                "Time to answer a gRPC call (for a stream: until it is open), by method.",
            ),
            &["method"],
        )?;
        registry.register(Box::new(grpc_requests.clone()))?;
        registry.register(Box::new(grpc_duration.clone()))?;
        Ok(Self {
            grpc_requests,
            grpc_duration,
            registry,
            http_requests,
            http_duration,
            publishes,
            compile_duration,
            promotes,
            namespaces,
            schema_versions,
            restore_versions,
            restore_duration,
            store_errors,
            config_reloads,
            plugin_calls,
            plugin_duration,
            events_held,
            webhooks,
        })
    }

    /// Counts a publish outcome and hands it back unchanged, so a handler
    /// records it with one call: `metrics.publish(registry.publish(…).await)?`.
    pub fn publish(
        &self,
        result: Result<PublishOutcome, RegistryError>,
    ) -> Result<PublishOutcome, RegistryError> {
        let label = match &result {
            Ok(outcome) if outcome.no_change => "no_change",
            Ok(outcome) => {
                self.compile_duration
                    .observe(outcome.compile_time.as_secs_f64());
                "created"
            }
            Err(err) => err.code(),
        };
        self.publishes.with_label_values(&[label]).inc();
        result
    }

    /// Counts a promote outcome and hands it back unchanged.
    pub fn promote(
        &self,
        result: Result<PromoteOutcome, RegistryError>,
    ) -> Result<PromoteOutcome, RegistryError> {
        let label = match &result {
            Ok(outcome) if outcome.dry_run => "dry_run",
            Ok(_) => "ok",
            Err(err) => err.code(),
        };
        self.promotes.with_label_values(&[label]).inc();
        result
    }

    pub fn config_reloaded(&self, ok: bool) {
        let label = if ok { "ok" } else { "error" };
        self.config_reloads.with_label_values(&[label]).inc();
    }

    /// Counts and times one gRPC call.
    pub fn observe_grpc(&self, method: &str, code: tonic::Code, elapsed: Duration) {
        self.grpc_requests
            .with_label_values(&[method, grpc_code_name(code)])
            .inc();
        self.grpc_duration
            .with_label_values(&[method])
            .observe(elapsed.as_secs_f64());
        if matches!(code, tonic::Code::Internal | tonic::Code::Unavailable) {
            self.store_errors.inc();
        }
    }

    fn observe_http(&self, method: &str, route: &str, status: StatusCode, elapsed: Duration) {
        self.http_requests
            .with_label_values(&[method, route, status.as_str()])
            .inc();
        self.http_duration
            .with_label_values(&[method, route])
            .observe(elapsed.as_secs_f64());
    }

    /// Store trouble surfaces as `internal` or `unavailable` whichever
    /// handler met it; counting it at the edge covers every route.
    fn observe_error(&self, error: &actix_web::Error) {
        if let Some(ApiError::Registry(err)) = error.as_error::<ApiError>()
            && matches!(err.code(), "internal" | "unavailable")
        {
            self.store_errors.inc();
        }
    }

    /// Sets the gauges from the registry's views. While the registry is
    /// still restoring they keep their last values.
    fn refresh_gauges(&self, registry: &Registry) {
        let Ok(views) = registry.views() else {
            return;
        };
        let versions: usize = views
            .iter()
            .flat_map(|view| view.schemas.values())
            .map(|entry| usize::from(entry.current.is_some()) + usize::from(entry.staged.is_some()))
            .sum();
        self.namespaces.set(gauge_value(views.len()));
        self.schema_versions.set(gauge_value(versions));
        if let Some(restored) = registry.restore_stats() {
            self.restore_versions
                .with_label_values(&["checkpoint"])
                .set(gauge_value(restored.from_checkpoints));
            self.restore_versions
                .with_label_values(&["store"])
                .set(gauge_value(restored.versions - restored.from_checkpoints));
            self.restore_duration.set(restored.duration.as_secs_f64());
        }
    }

    /// Every metric in the Prometheus text format.
    pub fn render(&self) -> prometheus::Result<String> {
        TextEncoder::new().encode_to_string(&self.registry.gather())
    }
}

/// The canonical name of a gRPC status code.
fn grpc_code_name(code: tonic::Code) -> &'static str {
    use tonic::Code;
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

fn gauge_value(count: usize) -> i64 {
    i64::try_from(count).unwrap_or(i64::MAX)
}

/// Methods outside the standard set share one label value, for the same
/// reason raw paths never become labels.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// The HTTP middleware (`App::wrap_fn(metrics::track)`): counts and times
/// every request under its route template and counts store errors.
pub fn track<S, B>(
    req: ServiceRequest,
    service: &S,
) -> impl Future<Output = Result<ServiceResponse<B>, actix_web::Error>> + use<S, B>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
    S::Future: 'static,
{
    let metrics = req.app_data::<web::Data<Metrics>>().cloned();
    let method = method_label(req.method());
    // The dispatch of the route matched names its path; nothing matches
    // the path again here.
    let matched = MatchedPath::default();
    req.extensions_mut().insert(matched.clone());
    let started = Instant::now();
    let call = service.call(req);
    async move {
        let result = call.await;
        if let Some(metrics) = metrics {
            let elapsed = started.elapsed();
            let route = matched.0.get().unwrap_or(UNMATCHED_ROUTE);
            match &result {
                Ok(response) => {
                    metrics.observe_http(method, route, response.status(), elapsed);
                    if let Some(error) = response.response().error() {
                        metrics.observe_error(error);
                    }
                }
                Err(error) => {
                    let status = error.as_response_error().status_code();
                    metrics.observe_http(method, route, status, elapsed);
                    metrics.observe_error(error);
                }
            }
        }
        result
    }
}

/// Where the dispatch of the route a request matched (`routes::Dispatch`) writes
/// that route's path template: the metrics put one in the request's extensions and read it
/// after the call, so nothing matches the path a second time. (A clone of
/// the request itself cannot be kept across routing: actix needs to own it
/// alone to record the match.)
#[derive(Debug, Clone, Default)]
pub struct MatchedPath(pub std::rc::Rc<std::cell::Cell<Option<&'static str>>>);

/// `GET /metrics`.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    responses(
        (status = 200, description = "Prometheus text exposition format", body = String, content_type = "text/plain; version=0.0.4"),
    )
)]
pub async fn scrape(
    req: actix_web::HttpRequest,
    metrics: web::Data<Metrics>,
    registry: web::Data<Registry>,
) -> HttpResponse {
    metrics.refresh_gauges(&registry);
    if let Some(feed) = req.app_data::<web::Data<protoreg_core::feed::EventFeed>>() {
        metrics.events_held.set(gauge_value(feed.held()));
    }
    match metrics.render() {
        Ok(text) => HttpResponse::Ok()
            .content_type(TextEncoder::new().format_type())
            .body(text),
        Err(err) => {
            tracing::error!(%err, "encoding metrics");
            HttpResponse::InternalServerError().finish()
        }
    }
}

impl protoreg_core::plugin::PluginObserver for Metrics {
    fn observe(&self, plugin: &str, kind: &str, result: &str, elapsed: Duration) {
        self.plugin_calls
            .with_label_values(&[plugin, kind, result])
            .inc();
        self.plugin_duration
            .with_label_values(&[plugin, kind])
            .observe(elapsed.as_secs_f64());
    }
}

/// Webhook deliveries (`protoreg_core::webhooks`).
struct WebhookMetrics {
    deliveries: IntCounterVec,
    latency: Histogram,
    failing: IntGauge,
}

impl WebhookMetrics {
    fn register(registry: &prometheus::Registry) -> prometheus::Result<Self> {
        let deliveries = IntCounterVec::new(
            Opts::new(
                "protoreg_webhook_deliveries_total",
                "Webhook delivery attempts, by result: delivered, retrying or failed.",
            ),
            &["result"],
        )?;
        let latency = Histogram::with_opts(
            HistogramOpts::new(
                "protoreg_webhook_delivery_latency_seconds",
                "From an event's commit to the receiver's 2xx, for delivered events.",
            )
            .buckets(vec![
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 30.0, 300.0, 3600.0,
            ]),
        )?;
        let failing = IntGauge::new(
            "protoreg_webhook_subscriptions_failing",
            "Active webhook subscriptions whose last attempt did not deliver.",
        )?;
        for result in ["delivered", "retrying", "failed"] {
            deliveries.with_label_values(&[result]);
        }
        registry.register(Box::new(deliveries.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(failing.clone()))?;
        Ok(Self {
            deliveries,
            latency,
            failing,
        })
    }
}

impl protoreg_core::webhooks::WebhookObserver for Metrics {
    fn delivery(&self, result: &str, since_event: Option<Duration>) {
        self.webhooks.deliveries.with_label_values(&[result]).inc();
        if let Some(latency) = since_event {
            self.webhooks.latency.observe(latency.as_secs_f64());
        }
    }

    fn failing(&self, subscriptions: usize) {
        self.webhooks.failing.set(gauge_value(subscriptions));
    }
}

#[cfg(test)]
mod tests {
    use actix_web::App;
    use actix_web::test::{TestRequest, call_service, init_service};

    use super::*;

    #[actix_web::test]
    async fn requests_are_labelled_by_route_template_not_raw_path() {
        // The real route table: its dispatch names the route it matched. (No
        // registry in this app, so authorization answers 500 after that.)
        let metrics = web::Data::new(Metrics::new().unwrap());
        let app = init_service(
            App::new()
                .app_data(metrics.clone())
                .wrap_fn(track)
                .configure(crate::routes::config),
        )
        .await;
        for path in [
            "/v1/namespaces/shop/schemas/billing/versions",
            "/v1/namespaces/other/schemas/common/versions",
        ] {
            let response = call_service(&app, TestRequest::post().uri(path).to_request()).await;
            assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        }
        let response =
            call_service(&app, TestRequest::get().uri("/no/such/route").to_request()).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);

        let text = metrics.render().unwrap();
        assert!(
            text.contains(
                "protoreg_http_requests_total{method=\"POST\",route=\"/v1/namespaces/{ns}/schemas/{schema}/versions\",status=\"500\"} 2"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "protoreg_http_request_duration_seconds_count{method=\"POST\",route=\"/v1/namespaces/{ns}/schemas/{schema}/versions\"} 2"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "protoreg_http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"} 1"
            ),
            "{text}"
        );
        for raw in ["shop", "billing", "/no/such/route"] {
            assert!(
                !text.contains(raw),
                "raw path {raw:?} leaked into labels:\n{text}"
            );
        }
    }

    #[test]
    fn only_internal_and_unavailable_errors_count_as_store_errors() {
        let metrics = Metrics::new().unwrap();
        for err in [
            RegistryError::Internal("disk on fire".into()),
            RegistryError::Unavailable("pool timed out".into()),
            RegistryError::NotFound("nope".into()),
            RegistryError::InvalidArgument("bad".into()),
        ] {
            metrics.observe_error(&ApiError::Registry(err).into());
        }
        assert_eq!(metrics.store_errors.get(), 2);
    }
}
