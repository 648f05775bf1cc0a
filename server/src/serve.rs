//! `protoreg serve`: configuration, logging, the HTTP server, metrics,
//! SIGHUP reload, restore, and graceful shutdown.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use actix_web::dev::Service;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{App, HttpServer, web};
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
    let tls = start_tls(&config)?;
    // Held until the process exits.
    let sqlite_lock = lock_sqlite(&config.database.url)?;
    crate::memory::start_trimmer(&config.memory);
    let mut store_config = StoreConfig::new(config.database.url.clone());
    store_config.max_connections = config.database.max_connections.max(1);
    store_config.connect_timeout = Duration::from_secs(config.database.connect_timeout_secs);
    store_config.run_migrations = config.database.run_migrations;
    store_config.busy_timeout = Duration::from_millis(config.database.busy_timeout_ms);
    store_config.lease_ttl = Duration::from_millis(config.database.lease_ttl_ms);
    // The lock file proves no other process uses this SQLite database: the
    // leases a killed predecessor left are taken over at once.
    store_config.sole_process = sqlite_lock.is_some();
    let metrics = Arc::new(Metrics::new().context("registering metrics")?);
    let plugins = Arc::new(PluginHost::load(
        &config.webhooks.with_ca_file(config.plugins.clone()),
        metrics.clone(),
    ));
    let mut registry_config = RegistryConfig::new(store_config);
    registry_config.limits = config.limits.clone();
    registry_config.compat = Arc::new(BufRules::with_plugins(&plugins));
    registry_config.plugins = plugins;
    registry_config.checkpoint_interval = (config.database.checkpoint_interval_ms > 0)
        .then(|| Duration::from_millis(config.database.checkpoint_interval_ms));
    registry_config.replica_sync = Duration::from_millis(config.database.replica_sync_ms.max(1));
    // git asks this executable for credentials (repository sync and
    // generated-code pushes).
    let mut git_config = config.git.clone();
    git_config.askpass = std::env::current_exe().ok();
    registry_config.git = Arc::new(git_config.clone());
    registry_config.verify = Arc::new(config.codegen.verify.clone());
    tracing::info!(database = %store::redact(&config.database.url), "opening the store");
    let registry = Registry::connect(registry_config)
        .await
        .context("opening the store")?;
    if registry.compat_checker() == "none" {
        tracing::warn!(
            "no compatibility rules are configured: promotes are not compatibility-checked"
        );
    }

    let feed =
        protoreg_core::feed::EventFeed::start(registry.store().clone(), config.events.feed())
            .await
            .context("starting the event feed")?;
    release_held_requests_at_shutdown(feed.clone())?;
    let runtime = Arc::new(RuntimeConfig::new(config.clone()));
    Reloader {
        overrides,
        runtime: runtime.clone(),
        registry: registry.clone(),
        log,
        metrics: metrics.clone(),
    }
    .listen(hangups);

    let webhooks = protoreg_core::webhooks::Webhooks::new(
        registry.store().clone(),
        registry.plugins().clone(),
        config.webhooks.clone(),
        metrics.clone(),
    );
    webhooks.start();
    let webhooks = web::Data::new(webhooks);

    let git_sync = web::Data::new(crate::handlers::sources::GitSync::new(
        protoreg_core::sync::SyncWorker::start(registry.clone(), git_config),
        config.git.hook_rate_per_minute,
    ));

    let grpc_state = crate::grpc::Grpc {
        registry: registry.clone(),
        runtime: runtime.clone(),
        metrics: metrics.clone(),
        feed: feed.clone(),
        loopback: crate::config::is_loopback(&config.grpc.listen),
    };
    let grpc_tls = tls.clone().map(Arc::new);
    let data = web::Data::new(registry.clone());
    let feed_data = web::Data::new(feed.clone());
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
                .app_data(feed_data.clone())
                .app_data(webhooks.clone())
                .app_data(git_sync.clone())
                .app_data(metrics.clone())
                .app_data(openapi_json.clone())
                .app_data(runtime.clone())
                .app_data(web::PayloadConfig::new(request_limit))
                .app_data(web::QueryConfig::default().error_handler(|err, _| {
                    ApiError::invalid(format!("invalid query: {err}")).into()
                }))
                // The route table's dispatch authorizes each route (`routes::Dispatch`).
                .wrap_fn(metrics::track)
                .wrap(crate::edge::cors(allowed_origins.clone()))
                .wrap(actix_web::middleware::from_fn(crate::edge::edge))
                // Outermost (actix runs the last `wrap` first): every answer,
                // the edge's and CORS's refusals included, has a request id.
                .wrap_fn(|req, srv| {
                    let id = request_id(req.headers().get("x-request-id"));
                    REQUEST_ID.sync_scope(id.clone(), || {
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
                })
                // The API's routes and the 404 of no route (its default
                // service), and the console's files.
                .configure(routes::config)
        })
        .on_connect(crate::edge::on_connect(
            counts,
            config.http.max_connections_per_client,
        ))
        .shutdown_timeout(config.http.shutdown_timeout_secs);
    if config.http.workers > 0 {
        server = server.workers(config.http.workers);
    }
    let server = match tls {
        Some(tls) => server.bind_rustls_0_23(&config.listen, tls),
        None => server.bind(&config.listen),
    }
    .with_context(|| format!("listening on {}", config.listen))?;
    let scheme = if config.tls.files()?.is_some() {
        "https"
    } else {
        "http"
    };
    // Bound before the HTTP line is printed, so that a client that saw it
    // finds the gRPC port open too.
    let grpc = if config.grpc.listen.is_empty() {
        None
    } else {
        let running = crate::grpc::start(
            &config.grpc.listen,
            grpc_state,
            grpc_tls,
            config.limits.max_request_bytes,
        )
        .await?;
        println!("protoreg grpc listening on {scheme}://{}", running.addr);
        tracing::info!(addr = %running.addr, "gRPC listening");
        Some(running)
    };
    if let Some(grpc) = &grpc {
        stop_on_signal(grpc.stopper())?;
    }
    for addr in server.addrs() {
        // A stable line on stdout, so scripts and tests can find the port.
        println!("protoreg listening on {scheme}://{addr}");
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
    let served = server.await.context("HTTP server");
    feed.close();
    if let Some(grpc) = grpc {
        grpc.stop(Duration::from_secs(config.http.shutdown_timeout_secs))
            .await;
    }
    served?;
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
    // So that other replicas take this one's work over at once.
    match tokio::time::timeout(Duration::from_secs(5), registry.store().release_leases()).await {
        Ok(Ok(())) => {}
        Ok(Err(err)) => tracing::warn!(%err, "releasing leases at shutdown failed"),
        Err(_) => tracing::warn!("releasing leases at shutdown took over 5 s; stopped"),
    }
    tracing::info!("stopped");
    Ok(())
}

/// On SIGINT or SIGTERM (which also start actix's graceful stop), releases
/// the held event requests at once, so the stop need not wait out a long
/// poll or an open stream.
fn release_held_requests_at_shutdown(feed: protoreg_core::feed::EventFeed) -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate()).context("installing a SIGTERM handler")?;
    let mut interrupt = signal(SignalKind::interrupt()).context("installing a SIGINT handler")?;
    actix_web::rt::spawn(async move {
        tokio::select! {
            _ = terminate.recv() => {}
            _ = interrupt.recv() => {}
        }
        feed.close();
    });
    Ok(())
}

/// On SIGINT or SIGTERM, starts `stop` (the gRPC server's drain, next to
/// actix's own).
fn stop_on_signal(stop: impl Fn() + Send + Sync + 'static) -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate()).context("installing a SIGTERM handler")?;
    let mut interrupt = signal(SignalKind::interrupt()).context("installing a SIGINT handler")?;
    actix_web::rt::spawn(async move {
        tokio::select! {
            _ = terminate.recv() => {}
            _ = interrupt.recv() => {}
        }
        stop();
    });
    Ok(())
}

/// On SQLite, an exclusive lock on `<database file>.lock`, so that a second
/// server on the same file refuses to start instead of serving a view that
/// silently diverges from the first one's. The kernel drops the lock when
/// the process exits, however it exits.
fn lock_sqlite(url: &str) -> anyhow::Result<Option<std::fs::File>> {
    let Ok(store::DatabaseKind::Sqlite { path }) = store::database_kind(url) else {
        return Ok(None);
    };
    let path = path.strip_prefix("file:").unwrap_or(&path);
    let path = path.split_once('?').map_or(path, |(path, _)| path);
    let lock_path = std::path::PathBuf::from(format!("{path}.lock"));
    if let Some(dir) = lock_path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating the database directory {}", dir.display()))?;
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .with_context(|| format!("opening the lock file {}", lock_path.display()))?;
    match rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(Some(file)),
        Err(rustix::io::Errno::WOULDBLOCK) => anyhow::bail!(
            "the SQLite database {path} is in use by another protoreg server (it holds \
             {}); SQLite serves one process: stop the other server, or use PostgreSQL \
             to run several replicas",
            lock_path.display()
        ),
        Err(err) => Err(err).with_context(|| format!("locking {}", lock_path.display())),
    }
}

/// The listener's TLS configuration when `[tls]` is set, with the
/// certificate re-read on every SIGHUP (a pair that does not load is logged
/// and the old one kept).
fn start_tls(config: &Config) -> anyhow::Result<Option<rustls::ServerConfig>> {
    let Some((cert_file, key_file)) = config.tls.files()? else {
        return Ok(None);
    };
    let certs = Arc::new(crate::tls::CertStore::open(cert_file, key_file)?);
    let tls = crate::tls::server_config(&config.tls, certs.clone())?;
    let mut hangups = reload::hangups().context("installing the SIGHUP handler")?;
    actix_web::rt::spawn(async move {
        while hangups.recv().await.is_some() {
            match certs.reload() {
                Ok(()) => tracing::info!("SIGHUP: TLS certificate reloaded"),
                Err(err) => tracing::error!(
                    error = format!("{err:#}"),
                    "TLS certificate reload failed; keeping the current certificate"
                ),
            }
        }
    });
    Ok(Some(tls))
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
