//! `protoreg serve`: configuration, logging, the HTTP server, metrics,
//! SIGHUP reload, restore, and graceful shutdown.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use actix_web::dev::Service;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{App, HttpResponse, HttpServer, web};
use anyhow::Context;
use protoreg_core::plugin::PluginHost;
use protoreg_core::{BufRules, Registry, RegistryConfig, StoreConfig, store};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::{Config, Overrides};
use crate::error::{ApiError, REQUEST_ID};
use crate::metrics::{self, Metrics};
use crate::reload::{self, LogHandle, Reloader, RuntimeConfig};
use crate::routes;

pub fn run(overrides: Overrides) -> anyhow::Result<()> {
    let config = Config::load(&overrides).context("loading configuration")?;
    let log = init_logging(&config)?;
    actix_web::rt::System::new().block_on(serve(config, overrides, log))
}

/// Installs the global subscriber with its filter behind a reload handle,
/// so that SIGHUP can change the level.
fn init_logging(config: &Config) -> anyhow::Result<LogHandle> {
    let (filter, handle) =
        tracing_subscriber::reload::Layer::new(reload::parse_filter(&config.log.level)?);
    let output = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let subscriber = tracing_subscriber::registry().with(filter);
    if config.log.format == "json" {
        subscriber.with(output.json()).init();
    } else {
        subscriber.with(output).init();
    }
    Ok(handle)
}

async fn serve(config: Config, overrides: Overrides, log: LogHandle) -> anyhow::Result<()> {
    // Early, so that a SIGHUP sent while the store opens is not fatal.
    let hangups = reload::hangups().context("installing the SIGHUP handler")?;
    let mut store_config = StoreConfig::new(config.database.url.clone());
    store_config.max_connections = config.database.max_connections.max(1);
    store_config.connect_timeout = Duration::from_secs(config.database.connect_timeout_secs);
    store_config.run_migrations = config.database.run_migrations;
    store_config.busy_timeout = Duration::from_millis(config.database.busy_timeout_ms);
    let metrics = Arc::new(Metrics::new().context("registering metrics")?);
    let plugins = Arc::new(PluginHost::load(&config.plugins, metrics.clone()));
    let mut registry_config = RegistryConfig::new(store_config);
    registry_config.limits = config.limits.clone();
    registry_config.compat = Arc::new(BufRules::with_plugins(&plugins));
    registry_config.plugins = plugins;
    registry_config.checkpoint_interval = (config.database.checkpoint_interval_ms > 0)
        .then(|| Duration::from_millis(config.database.checkpoint_interval_ms));
    tracing::info!(database = %store::redact(&config.database.url), "opening the store");
    let registry = Registry::connect(registry_config)
        .await
        .context("opening the store")?;
    if registry.compat_checker() == "none" {
        tracing::warn!(
            "no compatibility rules are configured: promotes are not compatibility-checked"
        );
    }

    let runtime = Arc::new(RuntimeConfig::new(config.clone()));
    Reloader {
        overrides,
        runtime: runtime.clone(),
        registry: registry.clone(),
        log,
        metrics: metrics.clone(),
    }
    .listen(hangups);

    let data = web::Data::new(registry.clone());
    let metrics = web::Data::from(metrics);
    let runtime = web::Data::from(runtime);
    let openapi_json = web::Data::new(crate::handlers::health::OpenApiJson(
        crate::openapi::document(),
    ));
    // Only for actix's own body extractors: `extract` reads the live limit.
    let request_limit = config.limits.max_request_bytes;
    let allowed_origins = config.http.allowed_origins.clone();
    let counts = Arc::new(crate::edge::ConnectionCounts::default());
    let mut server =
        HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .app_data(metrics.clone())
                .app_data(openapi_json.clone())
                .app_data(runtime.clone())
                .app_data(web::PayloadConfig::new(request_limit))
                .app_data(web::QueryConfig::default().error_handler(|err, _| {
                    ApiError::invalid(format!("invalid query: {err}")).into()
                }))
                .wrap_fn(|req, srv| {
                    let id = request_id(req.headers().get("x-request-id"));
                    let call = srv.call(req);
                    REQUEST_ID.scope(id.clone(), async move {
                        let mut response = call.await?;
                        if let Ok(value) = HeaderValue::from_str(&id) {
                            response
                                .headers_mut()
                                .insert(HeaderName::from_static("x-request-id"), value);
                        }
                        Ok(response)
                    })
                })
                // The auth guard wraps each route's resource (`routes::config`).
                .wrap_fn(metrics::track)
                .wrap(crate::edge::cors(allowed_origins.clone()))
                .wrap(actix_web::middleware::from_fn(crate::edge::edge))
                .configure(routes::config)
                .default_service(web::to(|| async {
                    Err::<HttpResponse, _>(ApiError::not_found("no such route"))
                }))
        })
        .on_connect(crate::edge::on_connect(
            counts,
            config.http.max_connections_per_client,
        ))
        .shutdown_timeout(config.http.shutdown_timeout_secs);
    if config.http.workers > 0 {
        server = server.workers(config.http.workers);
    }
    let server = server
        .bind(&config.listen)
        .with_context(|| format!("listening on {}", config.listen))?;
    for addr in server.addrs() {
        // A stable line on stdout, so scripts and tests can find the port.
        println!("protoreg listening on http://{addr}");
        tracing::info!(%addr, "listening");
    }
    let server = server.run();
    let handle = server.handle();
    let restore_failed = Arc::new(AtomicBool::new(false));
    {
        let restore_failed = restore_failed.clone();
        let registry = registry.clone();
        actix_web::rt::spawn(async move {
            if let Err(err) = registry.restore().await {
                tracing::error!(%err, "restore failed; shutting down");
                restore_failed.store(true, Ordering::SeqCst);
                handle.stop(false).await;
            }
        });
    }
    server.await.context("HTTP server")?;
    anyhow::ensure!(!restore_failed.load(Ordering::SeqCst), "restore failed");
    // So that the next start reads one checkpoint per namespace.
    if registry.is_ready() {
        match tokio::time::timeout(Duration::from_secs(10), registry.write_checkpoints()).await {
            Ok(Ok(written)) => tracing::info!(written, "restore checkpoints written"),
            Ok(Err(err)) => tracing::warn!(%err, "writing restore checkpoints at shutdown failed"),
            Err(_) => {
                tracing::warn!("writing restore checkpoints at shutdown took over 10 s; stopped")
            }
        }
    }
    tracing::info!("stopped");
    Ok(())
}

/// The caller's `x-request-id` when it is a sane token, else a new one.
fn request_id(given: Option<&HeaderValue>) -> String {
    given
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 128
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        })
        .map(str::to_owned)
        .unwrap_or_else(|| format!("{:016x}", rand::random::<u64>()))
}
