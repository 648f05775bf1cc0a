//! SIGHUP: load the configuration again, exactly as at start (file,
//! environment, the original command-line flags), and apply what can change
//! while running: the log filter and the limits. A configuration that does
//! not load or does not validate is logged and ignored; the old one stays in
//! force, whole.

use std::sync::Arc;

use arc_swap::ArcSwap;
use protoreg_core::Registry;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tracing_subscriber::EnvFilter;

use crate::config::{AuthSettings, Config, Overrides};
use crate::metrics::Metrics;

/// Changes the log filter of the running subscriber.
pub type LogHandle = tracing_subscriber::reload::Handle<EnvFilter, tracing_subscriber::Registry>;

/// The configuration in effect, swapped atomically on reload and shared
/// with the handlers through `web::Data<RuntimeConfig>`. Code that must
/// follow reloads reads [`RuntimeConfig::current`] per request instead of
/// keeping a copy: the hook for auth (anonymous mode, admin token).
/// Settings that need a restart keep their start-up values here.
#[derive(Debug)]
pub struct RuntimeConfig {
    current: ArcSwap<Live>,
}

/// A configuration and what every request derives from it, resolved once
/// when it comes into force rather than per request.
#[derive(Debug)]
pub struct Live {
    pub config: Arc<Config>,
    /// [`AuthSettings::from_config`] with `metrics_public` resolved; the
    /// error's text when the settings are invalid.
    pub auth: Result<AuthSettings, String>,
}

impl Live {
    fn of(config: Config) -> Self {
        let auth = AuthSettings::from_config(&config.auth, &config.listen)
            .map(|mut settings| {
                settings.metrics_public = config.metrics.is_public(&config.listen);
                settings
            })
            .map_err(|err| format!("{err:#}"));
        Self {
            config: Arc::new(config),
            auth,
        }
    }
}

impl RuntimeConfig {
    pub fn new(config: Config) -> Self {
        Self {
            current: ArcSwap::from_pointee(Live::of(config)),
        }
    }

    pub fn current(&self) -> Arc<Config> {
        self.current.load().config.clone()
    }

    /// The configuration in force with its derived settings.
    pub fn live(&self) -> Arc<Live> {
        self.current.load_full()
    }

    fn set(&self, config: Config) {
        self.current.store(Arc::new(Live::of(config)));
    }
}

/// Everything a reload touches.
pub struct Reloader {
    pub overrides: Overrides,
    pub runtime: Arc<RuntimeConfig>,
    pub registry: Registry,
    pub log: LogHandle,
    pub metrics: Arc<Metrics>,
}

impl Reloader {
    /// Reloads on every SIGHUP received by `hangups` (see [`hangups`]), on
    /// the current actix runtime.
    pub fn listen(self, mut hangups: Signal) {
        actix_web::rt::spawn(async move {
            while hangups.recv().await.is_some() {
                tracing::info!("SIGHUP: reloading the configuration");
                self.reload();
            }
        });
    }

    pub fn reload(&self) {
        let old = self.runtime.current();
        let loaded = Config::load(&self.overrides).and_then(|config| {
            let filter = parse_filter(&config.log.level)?;
            Ok((config, filter))
        });
        let (loaded, filter) = match loaded {
            Ok(loaded) => loaded,
            Err(err) => {
                tracing::error!(
                    error = format!("{err:#}"),
                    "configuration reload failed; keeping the current configuration"
                );
                self.metrics.config_reloaded(false);
                return;
            }
        };
        let (next, needs_restart) = runtime_part(&old, loaded);
        if !needs_restart.is_empty() {
            tracing::warn!(
                settings = needs_restart.join(", "),
                "changed settings that take effect only after a restart"
            );
        }
        if let Err(err) = self.log.reload(filter) {
            tracing::error!(%err, "could not change the log filter");
        }
        sync_log_crate_level();
        self.registry.set_limits(next.limits.clone());
        tracing::info!(
            log_level = %next.log.level,
            max_files = next.limits.max_files,
            max_file_bytes = next.limits.max_file_bytes,
            max_request_bytes = next.limits.max_request_bytes,
            "configuration reloaded"
        );
        self.runtime.set(next);
        self.metrics.config_reloaded(true);
    }
}

/// Installs the SIGHUP handler: from here on a SIGHUP no longer kills the
/// process (its default action), it waits in the returned stream.
pub fn hangups() -> anyhow::Result<Signal> {
    Ok(signal(SignalKind::hangup())?)
}

pub fn parse_filter(level: &str) -> anyhow::Result<EnvFilter> {
    EnvFilter::try_new(level).map_err(|err| anyhow::anyhow!("invalid log.level {level:?}: {err}"))
}

/// `loaded` with the settings that only a restart can change put back to
/// their values in `old`, and the names of those that differed.
fn runtime_part(old: &Config, mut loaded: Config) -> (Config, Vec<&'static str>) {
    let mut needs_restart = Vec::new();
    if loaded.listen != old.listen {
        needs_restart.push("listen");
    }
    if loaded.database != old.database {
        needs_restart.push("database");
    }
    if loaded.http != old.http {
        needs_restart.push("http");
    }
    if loaded.log.format != old.log.format {
        needs_restart.push("log.format");
    }
    // The certificate files themselves are re-read on SIGHUP (`tls`); which
    // files, and whether TLS is on, is fixed at start.
    if loaded.tls != old.tls {
        needs_restart.push("tls");
    }
    loaded.tls = old.tls.clone();
    loaded.listen = old.listen.clone();
    loaded.database = old.database.clone();
    loaded.http = old.http.clone();
    loaded.log.format = old.log.format.clone();
    (loaded, needs_restart)
}

/// Records from crates that log through `log` are bridged into tracing, but
/// `log`'s own level gate was fixed when logging started; follow the filter.
pub fn sync_log_crate_level() {
    use tracing::level_filters::LevelFilter;
    let level = match LevelFilter::current() {
        LevelFilter::OFF => log::LevelFilter::Off,
        LevelFilter::ERROR => log::LevelFilter::Error,
        LevelFilter::WARN => log::LevelFilter::Warn,
        LevelFilter::INFO => log::LevelFilter::Info,
        LevelFilter::DEBUG => log::LevelFilter::Debug,
        _ => log::LevelFilter::Trace,
    };
    log::set_max_level(level);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_runtime_settings_change_on_reload() {
        let old = Config::default();
        let mut loaded = Config {
            listen: "0.0.0.0:9999".into(),
            ..Config::default()
        };
        loaded.database.url = "postgres://elsewhere/db".into();
        loaded.http.workers = 7;
        loaded.log.format = "json".into();
        loaded.log.level = "debug".into();
        loaded.limits.max_files = 5;

        let (next, needs_restart) = runtime_part(&old, loaded);
        assert_eq!(needs_restart, ["listen", "database", "http", "log.format"]);
        assert_eq!(next.listen, old.listen);
        assert_eq!(next.database, old.database);
        assert_eq!(next.http, old.http);
        assert_eq!(next.log.format, old.log.format);
        assert_eq!(next.log.level, "debug");
        assert_eq!(next.limits.max_files, 5);
    }

    #[test]
    fn an_unchanged_configuration_needs_no_restart() {
        let (next, needs_restart) = runtime_part(&Config::default(), Config::default());
        assert!(needs_restart.is_empty());
        assert_eq!(next, Config::default());
    }

    #[test]
    fn a_bad_log_filter_is_refused() {
        assert!(parse_filter("info,protoreg_core=debug").is_ok());
        assert!(parse_filter("protoreg_core=loud").is_err());
    }
}
